"""The built-in revenue bow-tie process template."""

from __future__ import annotations

from stages.process_templates import (
    GROW,
    IMPACT,
    LOST,
    MARKETING,
    ONBOARDING,
    WON,
    ProcessTemplate,
    StageDefinition,
    call_to_action,
    deliverable,
    exit_criterion,
    markdown,
    prerequisite,
)

# The bow-tie's knot is the commitment: Trade (commit) is where the deal closes, and Onboarding,
# Impact and Grow are what happens to a customer afterwards. So the Won stage sits right after
# Trade and the post-sale stages come after it: MTTC ends at the commitment instead of months
# later at a renewal, and a deal that gets lost in trade never shows up as "lost in Grow".
# Marketing's stages (Prospect, MQL) are left out of the clock; it starts at SQL, when sales
# accepts the lead.

REVENUE_BOW_TIE = ProcessTemplate(
    slug="revenue-bow-tie",
    name="Revenue bow-tie",
    description=markdown(
        """
        The customer-centric bow-tie: marketing and sales narrow down to a mutual commitment,
        then onboarding, impact and growth widen out into recurring revenue and lifetime
        value. Its words are chosen on purpose: trade, not negotiation; commit, not win; grow,
        not expand.
        """
    ),
    stages=(
        StageDefinition(
            name="Prospect",
            slug="prospect",
            phase=MARKETING,
            goal="Reach the right people through inbound, outbound or targeted (ABM) motions.",
            guidance=markdown(
                """
                - **Inbound**: they found us (SEO, content, nurture).
                - **Outbound**: one person in each of many companies.
                - **Target** (account-based): four or five people inside one chosen company.
                - Record which motion produced the prospect; when SQLs run short, that is where
                  to look first.
                """
            ),
            probability=2,
            target_days=30,
            items=(
                call_to_action("Choose the motion: inbound, outbound or target (ABM)"),
                call_to_action("Nurture with content relevant to the prospect's situation"),
                deliverable("Prospect in the CRM with its source", required=True),
                exit_criterion("Prospect engaged with content or outreach", required=True),
            ),
            tools=("crm", "zapier"),
        ),
        StageDefinition(
            name="MQL",
            slug="mql",
            phase=MARKETING,
            goal="A marketing-qualified lead: enough interest to be worth sales' time.",
            guidance=markdown(
                """
                - Elastic stage: outbound and targeted prospects may go straight to SQL.
                - Apply the agreed MQL definition; do not pass on leads "just in case".
                - Keep the campaign attribution, so the funnel shows which campaigns work.
                """
            ),
            probability=5,
            target_days=14,
            is_optional=True,
            items=(
                deliverable("Campaign attribution recorded"),
                exit_criterion("Lead meets the MQL definition", required=True),
            ),
            tools=("crm", "zapier"),
        ),
        StageDefinition(
            name="SQL",
            slug="sql",
            goal="Sales accepts the lead and commits to working it.",
            guidance=markdown(
                """
                - The MTTC clock starts when a deal first enters this stage.
                - Accept or send back the lead quickly; a stale SQL cools down.
                - Name an owner and book the discovery call before leaving this stage.
                """
            ),
            probability=10,
            target_days=7,
            starts_clock=True,
            items=(
                prerequisite("Lead history from marketing reviewed"),
                exit_criterion("Lead accepted by sales with an owner", required=True),
                exit_criterion("Discovery call booked", required=True),
            ),
            tools=("crm", "google-calendar"),
        ),
        StageDefinition(
            name="Discovery",
            slug="discovery",
            goal="Understand the customer's situation and the impact they need.",
            guidance=markdown(
                """
                - Ask about the outcome the customer needs, in their words, before talking
                  about our product.
                - Find out who else is affected and who decides.
                """
            ),
            probability=20,
            target_days=14,
            items=(
                call_to_action(
                    "Run the discovery call",
                    evidence=("activity.recorded", {"kind": ["call", "meeting"]}),
                ),
                deliverable("Discovery notes", required=True),
                exit_criterion("Desired impact stated in the customer's words", required=True),
            ),
            tools=("google-docs", "google-calendar", "crm"),
        ),
        StageDefinition(
            name="Demo",
            slug="demo",
            goal="Show how the customer gets to the impact they described.",
            guidance=markdown(
                """
                - Demo the path to their impact, not every feature.
                - Invite the people who will use the solution and the person who decides.
                """
            ),
            probability=35,
            target_days=14,
            items=(
                call_to_action("Prepare the demo around the impact from discovery"),
                call_to_action("Send the ESAT survey after the demo", evidence=("esat.sent", {})),
                exit_criterion("Customer confirms the demo shows a path to impact", required=True),
            ),
            tools=("google-docs", "google-calendar", "esat-survey"),
        ),
        StageDefinition(
            name="Proposal",
            slug="proposal",
            goal="Put the offer in writing: scope, price, and the impact it buys.",
            guidance=markdown(
                """
                - Tie every line of the proposal to the impact from discovery.
                - Review it with the decision maker, not only with the champion.
                """
            ),
            probability=55,
            target_days=14,
            items=(
                deliverable("Proposal", required=True),
                exit_criterion("Proposal reviewed with the decision maker", required=True),
            ),
            tools=("google-docs", "crm"),
        ),
        StageDefinition(
            name="Trade (commit)",
            slug="trade",
            goal="Reach a mutual commitment by trading value for value.",
            guidance=markdown(
                """
                - Trade, not negotiation: every concession is exchanged for something (scope,
                  timing, a reference), never simply given.
                - Commitment goes both ways: the customer commits to buy, we commit to the
                  impact. It is the start of the relationship, not the end of a sale.
                - For technical products, let a sales engineer pre-board the customer now, so
                  onboarding does not discover surprises.
                """
            ),
            probability=75,
            target_days=14,
            items=(
                call_to_action("Agree a mutual action plan up to signature"),
                call_to_action("Pre-board: confirm technical readiness with a sales engineer"),
                deliverable("Signed order or agreement", required=True),
                exit_criterion("Onboarding owner and start date agreed", required=True),
            ),
            tools=("crm", "google-docs"),
        ),
        StageDefinition(
            name="Won (committed)",
            slug="won",
            kind=WON,
            goal="Mutual commitment reached: recurring revenue starts here.",
            probability=100,
            items=(call_to_action("Hand over to onboarding with the mutual action plan"),),
            tools=("crm", "zapier"),
        ),
        StageDefinition(
            name="Onboarding",
            slug="onboarding",
            phase=ONBOARDING,
            goal="Take the customer live.",
            guidance=markdown(
                """
                - Post-sale stage: the deal is already won.
                - Start from the pre-boarding notes and the commitments made in trade.
                """
            ),
            probability=100,
            target_days=30,
            items=(
                prerequisite("Handover notes from trade reviewed", required=True),
                call_to_action("Hold the onboarding kickoff"),
                exit_criterion("Customer is live", required=True),
            ),
            tools=("google-docs", "google-calendar"),
        ),
        StageDefinition(
            name="Impact",
            slug="impact",
            phase=IMPACT,
            goal="The customer achieves the promised impact through usage.",
            guidance=markdown(
                """
                - Impact comes from usage: watch it, and act when it drops.
                - When the customer reports a problem, help them recover fast; an unhappy
                  customer who stays unhappy is offboarded sooner or later.
                """
            ),
            probability=100,
            target_days=90,
            items=(
                call_to_action("Review usage with the customer"),
                deliverable("Impact review against the goals agreed in trade", required=True),
                exit_criterion("Customer confirms the impact", required=True),
            ),
            tools=("google-docs", "esat-survey"),
        ),
        StageDefinition(
            name="Grow",
            slug="grow",
            phase=GROW,
            goal="Grow the relationship: renew, upsell or cross-sell.",
            guidance=markdown(
                """
                - **Renew**: the same customer keeps the same solution; the most common case.
                - **Upsell**: the same customer takes more.
                - **Cross-sell**: a further solution joins the relationship.
                - Each growth deal is a new opportunity with its own clock.
                """
            ),
            probability=100,
            target_days=90,
            items=(
                call_to_action("Start the renewal conversation well before the term ends"),
                deliverable("Growth plan: renewal, upsell or cross-sell", required=True),
                exit_criterion("Next growth opportunity opened or renewal signed", required=True),
            ),
            tools=("crm",),
        ),
        StageDefinition(
            name="Lost",
            slug="lost",
            kind=LOST,
            goal="Record why there was no commitment.",
            probability=0,
            items=(call_to_action("Record the loss reason"),),
            tools=("crm",),
        ),
    ),
)
