"""The built-in process templates, as plain data.

`manage.py load_processes` turns these into Process / Stage / StageItem rows through
`stages.services.processes_load_builtin`. Editing a template here and reloading either rewrites
the latest version in place (no deals on it yet) or creates a new version (deals exist), so the
history of running deals is never rewritten.

Stage positions come from the order of `stages`; a template lists its stages in board order.
"""

from __future__ import annotations

from dataclasses import dataclass
from inspect import cleandoc

from stages.models import Stage, StageItem

OPEN, WON, LOST = Stage.Kind.OPEN.value, Stage.Kind.WON.value, Stage.Kind.LOST.value
MARKETING = Stage.Phase.MARKETING.value
SALES = Stage.Phase.SALES.value
ONBOARDING = Stage.Phase.ONBOARDING.value
IMPACT = Stage.Phase.IMPACT.value
GROW = Stage.Phase.GROW.value


@dataclass(frozen=True)
class ToolDefinition:
    slug: str
    name: str
    url: str = ""
    description: str = ""


@dataclass(frozen=True)
class ItemDefinition:
    kind: str
    title: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class StageDefinition:
    name: str
    slug: str
    kind: str = OPEN
    phase: str = SALES
    goal: str = ""
    guidance: str = ""
    probability: int = 0
    target_days: int | None = None
    is_optional: bool = False
    starts_clock: bool = False
    items: tuple[ItemDefinition, ...] = ()
    tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessTemplate:
    slug: str
    name: str
    description: str
    stages: tuple[StageDefinition, ...]

    @property
    def item_count(self) -> int:
        return sum(len(stage.items) for stage in self.stages)


def prerequisite(title: str, description: str = "", *, required: bool = False) -> ItemDefinition:
    return ItemDefinition(StageItem.Kind.PREREQUISITE.value, title, description, required)


def call_to_action(title: str, description: str = "", *, required: bool = False) -> ItemDefinition:
    return ItemDefinition(StageItem.Kind.CALL_TO_ACTION.value, title, description, required)


def deliverable(title: str, description: str = "", *, required: bool = False) -> ItemDefinition:
    return ItemDefinition(StageItem.Kind.DELIVERABLE.value, title, description, required)


def exit_criterion(title: str, description: str = "", *, required: bool = False) -> ItemDefinition:
    return ItemDefinition(StageItem.Kind.EXIT_CRITERION.value, title, description, required)


def _md(text: str) -> str:
    return cleandoc(text)


TOOLS: tuple[ToolDefinition, ...] = (
    ToolDefinition(
        "vivun",
        "Vivun",
        "https://www.vivun.com/",
        "Pre-sales platform where SAs log deal support, activities and product gaps; "
        "EPOS imports its data so effort per deal is visible next to the stage path.",
    ),
    ToolDefinition(
        "zapier",
        "Zapier",
        "https://zapier.com/",
        "Automation between EPOS and the rest of the stack: stage changes, wins, losses and "
        "ESAT answers trigger Zaps (CRM updates, chat messages, follow-up tasks).",
    ),
    ToolDefinition(
        "google-docs",
        "Google Docs",
        "https://docs.google.com/",
        "Working documents of a deal (call plans, discovery notes, POC plans, sizing), copied "
        "from the stage's templates into the opportunity's Drive folder.",
    ),
    ToolDefinition(
        "google-calendar",
        "Google Calendar",
        "https://calendar.google.com/",
        "Customer meetings; synced events become activities on the opportunity.",
    ),
    ToolDefinition(
        "esat-survey",
        "ESAT survey",
        "",
        "Engagement satisfaction survey (score 1-5 and a comment) sent to the customer after a "
        "demo, a proof of concept or the close.",
    ),
    ToolDefinition(
        "crm",
        "CRM",
        "",
        "The system of record for accounts and deals (Salesforce, HubSpot or a home-grown CRM); "
        "amounts, owners and close dates stay aligned with it.",
    ),
    ToolDefinition(
        "airtable",
        "Airtable",
        "https://airtable.com/",
        "Customer and contract records used to manage engagements and provisioning.",
    ),
    ToolDefinition(
        "asana",
        "Asana",
        "https://asana.com/",
        "Shared task tracking between business development and the delivery team.",
    ),
    ToolDefinition(
        "hellosign",
        "Dropbox Sign (HelloSign)",
        "https://sign.dropbox.com/",
        "Electronic signature of agreements, memoranda of understanding and statements of work.",
    ),
)


# --- EPOS pre-sales -----------------------------------------------------------------------------
# Preparation is the SA's homework before the customer is involved, so its duration says nothing
# about how fast we close; the MTTC clock starts at Discovery, the first customer conversation.

EPOS_PRESALES = ProcessTemplate(
    slug="epos-presales",
    name="EPOS pre-sales (observability first)",
    description=_md(
        """
        The guided pre-sales path EPOS was built for: prepare, discover, demo to win, prove,
        answer the technical questions and size the deal. Proof of concept and technical Q&A
        are elastic: skip them when the deal does not need them. Written with observability
        deals in mind first; security deals follow the same path.
        """
    ),
    stages=(
        StageDefinition(
            name="Preparation",
            slug="preparation",
            goal="Walk into the first customer conversation knowing the account, its business "
            "and what we need to learn.",
            guidance=_md(
                """
                - Read the account profile and the CRM history: industry, size, own
                  infrastructure, earlier deals.
                - Choose the approach. **Top-down**: company and business context → the process
                  to improve → the data and requirements behind it. **Bottom-up**: a concrete
                  technical need → the service it supports → why it matters to the business.
                - Take the discovery guide and question set for the use case from the building
                  blocks instead of starting from a blank page.
                - Agree with the account executive who leads which part of the first call.
                """
            ),
            probability=5,
            target_days=7,
            items=(
                prerequisite(
                    "Opportunity is in the CRM with an account executive assigned", required=True
                ),
                call_to_action(
                    "Research the account: products and services, size, recent news",
                    "Fill in the account profile so discovery can start top-down.",
                ),
                call_to_action("Choose the top-down or bottom-up approach and note why"),
                deliverable(
                    "Call plan: attendees, hypotheses, questions to ask",
                    "Start from the discovery guide for the use case.",
                    required=True,
                ),
                exit_criterion("Discovery meeting booked with the customer", required=True),
            ),
            tools=("crm", "google-docs", "google-calendar"),
        ),
        StageDefinition(
            name="Discovery",
            slug="discovery",
            goal="Map the customer's business challenges to technical needs and decide whether "
            "the deal is worth pursuing.",
            guidance=_md(
                """
                - The MTTC clock starts when a deal first enters this stage.
                - Start from impact. Observability: downtime with an unknown cause hurts customer
                  satisfaction and revenue. Security: limited visibility leaves blind spots an
                  attacker can use.
                - Link every business challenge to the technical need behind it; that link is
                  what the demo has to show.
                - Collect budget, authority, need and timeline during the conversation, not as
                  a questionnaire.
                """
            ),
            probability=10,
            target_days=14,
            starts_clock=True,
            items=(
                prerequisite("Call plan shared with the account executive"),
                call_to_action("Run the discovery calls and log them as activities"),
                call_to_action(
                    "Link business challenges to technical needs",
                    "Top-down or bottom-up, as chosen in preparation.",
                ),
                deliverable(
                    "Discovery summary: current state, pain, business impact, success criteria",
                    required=True,
                ),
                exit_criterion(
                    "At least one business challenge is linked to a technical need", required=True
                ),
                exit_criterion("Qualification (BANT) recorded with a verdict", required=True),
                exit_criterion("Customer agreed to a tailored demo and named the attendees"),
            ),
            tools=("google-docs", "google-calendar", "vivun", "crm"),
        ),
        StageDefinition(
            name="Demo (D2W)",
            slug="demo-d2w",
            goal="Demo to win: show the customer their own problem solved, not a feature tour.",
            guidance=_md(
                """
                - Every scene of the demo answers a need from the discovery summary; cut the
                  rest.
                - Start from a demo script in the building blocks and adapt data sources and
                  dashboards to the customer's stack.
                - Rehearse end to end and keep a recording as fallback.
                - End with an agreed next step: proof of concept, technical Q&A or sizing.
                """
            ),
            probability=25,
            target_days=14,
            items=(
                prerequisite(
                    "Discovery summary reviewed with the account executive", required=True
                ),
                call_to_action("Adapt a demo script to the customer's use case and data"),
                call_to_action("Rehearse the demo in the demo environment"),
                deliverable("Demo recording or slides shared with the customer"),
                call_to_action("Send the ESAT survey after the demo"),
                exit_criterion("Customer confirms the demo covered their key needs", required=True),
                exit_criterion(
                    "Next step agreed: proof of concept, technical Q&A or sizing", required=True
                ),
            ),
            tools=("google-docs", "google-calendar", "esat-survey", "vivun"),
        ),
        StageDefinition(
            name="Proof of concept",
            slug="proof-of-concept",
            goal="Prove on the customer's own data that the solution meets success criteria "
            "agreed in advance.",
            guidance=_md(
                """
                - Elastic stage: skip it when the demo convinced and nobody asks for a POC.
                - No POC without written success criteria, a time box and a named owner on the
                  customer's side.
                - Hold a short weekly check-in and log POC work as activities, so the effort
                  shows up in the metrics.
                - Record every missing capability as a product gap with its severity.
                """
            ),
            probability=45,
            target_days=30,
            is_optional=True,
            items=(
                prerequisite("Written success criteria agreed with the customer", required=True),
                prerequisite("Time box and a customer-side owner agreed"),
                call_to_action("Set up the POC environment and ingest the customer's data"),
                call_to_action("Hold a weekly POC check-in"),
                call_to_action("Record product gaps found during the POC"),
                deliverable("POC report against each success criterion", required=True),
                call_to_action("Send the ESAT survey at the end of the POC"),
                exit_criterion("Customer signs off the success criteria as met", required=True),
            ),
            tools=("google-docs", "google-calendar", "esat-survey", "vivun", "zapier"),
        ),
        StageDefinition(
            name="Technical Q&A",
            slug="technical-qa",
            goal="Clear the remaining technical objections: features, architecture, security "
            "and operations.",
            guidance=_md(
                """
                - Elastic stage: skip it when no technical question is open.
                - Keep all questions in one shared document and answer in writing, with a link
                  to the source (documentation, white paper, reference architecture).
                - Bring a specialist for deep topics rather than guessing.
                - Security questionnaires take longest: start them as soon as they arrive.
                """
            ),
            probability=60,
            target_days=14,
            is_optional=True,
            items=(
                call_to_action("Collect the open questions in one shared document"),
                call_to_action("Answer every question in writing, with references"),
                deliverable("Reference architecture for the customer's environment", required=True),
                deliverable("Security or compliance questionnaire, if the customer asked"),
                exit_criterion("No open technical blocker remains", required=True),
            ),
            tools=("google-docs", "google-calendar", "vivun"),
        ),
        StageDefinition(
            name="Sizing",
            slug="sizing",
            goal="Size the deployment so the account executive can price it and the customer "
            "can budget it.",
            guidance=_md(
                """
                - Size from measured numbers: daily ingest, retention, hosts, users, growth.
                - Write the assumptions down; a sizing without assumptions gets reopened later.
                - Have a second SA review it before it goes to the customer.
                """
            ),
            probability=75,
            target_days=14,
            items=(
                prerequisite(
                    "Data volumes, retention and growth confirmed by the customer", required=True
                ),
                call_to_action("Fill in the sizing sheet from the building blocks"),
                call_to_action("Have another SA review the sizing"),
                deliverable(
                    "Sizing with assumptions, shared with the account executive", required=True
                ),
                exit_criterion(
                    "Customer accepts the sizing as the basis of the commercial offer",
                    required=True,
                ),
            ),
            tools=("google-docs", "crm", "vivun"),
        ),
        StageDefinition(
            name="Won",
            slug="won",
            kind=WON,
            goal="The customer bought. Hand over cleanly and keep what can be reused.",
            probability=100,
            items=(
                call_to_action(
                    "Hand over discovery, demo, POC and sizing documents to delivery",
                ),
                call_to_action("Send the final ESAT survey"),
                call_to_action("Publish reusable material as building blocks"),
            ),
            tools=("crm", "esat-survey", "zapier"),
        ),
        StageDefinition(
            name="Lost",
            slug="lost",
            kind=LOST,
            goal="Record why the deal was lost so the next one goes better.",
            probability=0,
            items=(
                call_to_action("Record the loss reason and the competitor, if any"),
                call_to_action("Close the open activities and tell the customer"),
            ),
            tools=("crm",),
        ),
    ),
)


# --- B2B sales with BANT ------------------------------------------------------------------------
# Prospecting is lead generation with no customer commitment yet; the MTTC clock starts at
# Qualification, the first real conversation with a prospect.

B2B_BANT = ProcessTemplate(
    slug="b2b-bant",
    name="B2B sales with BANT",
    description=_md(
        """
        A classic business-to-business sales cycle: find and qualify prospects with BANT
        (budget, authority, need, timeline), understand their requirements, design and propose
        a solution, negotiate the contract.
        """
    ),
    stages=(
        StageDefinition(
            name="Prospecting",
            slug="prospecting",
            phase=MARKETING,
            goal="Find potential customers that fit our profile.",
            guidance=_md(
                """
                - Work from market research on the target segment, not from a random list.
                - Mix channels: outreach campaigns, events, referrals.
                - A lead is worth handing on once a real person has confirmed interest.
                """
            ),
            probability=5,
            target_days=30,
            items=(
                call_to_action("Research the target market and accounts"),
                call_to_action("Reach out: campaign, event or referral"),
                deliverable("Lead in the CRM with contact details", required=True),
                exit_criterion("Contact confirmed initial interest", required=True),
            ),
            tools=("crm", "zapier"),
        ),
        StageDefinition(
            name="Qualification",
            slug="qualification",
            goal="Decide whether there is a fit and real interest, using BANT.",
            guidance=_md(
                """
                - **Budget**: is money approved, or does it still have to be found?
                - **Authority**: is the person who decides involved?
                - **Need**: can the prospect state a clear business need?
                - **Timeline**: is there a date the prospect is working towards?
                - A "no" on need ends the deal; an "unknown" becomes a question for the next
                  meeting. Name the stakeholders as you learn them.
                """
            ),
            probability=15,
            target_days=14,
            starts_clock=True,
            items=(
                call_to_action("Hold the first discovery call"),
                call_to_action("Identify the stakeholders"),
                exit_criterion("Budget: approved, or the path to it known"),
                exit_criterion("Authority: decision maker identified and engaged", required=True),
                exit_criterion("Need: a clear business need is stated", required=True),
                exit_criterion("Timeline: a target date is defined"),
                exit_criterion("Next steps agreed and the next meeting scheduled", required=True),
            ),
            tools=("crm", "google-calendar"),
        ),
        StageDefinition(
            name="Discovery",
            slug="discovery",
            goal="Understand the requirements in depth.",
            guidance=_md(
                """
                - Go from needs to technical requirements, and map the current process.
                - Meet every stakeholder at least once; note who cares about what.
                - Validate the business case with the prospect's own numbers.
                """
            ),
            probability=25,
            target_days=21,
            items=(
                call_to_action("Analyse needs and gather technical requirements"),
                call_to_action("Map the current process and its pain points"),
                deliverable("Discovery summary", required=True),
                deliverable("Requirements document", required=True),
                deliverable("Stakeholder map"),
                exit_criterion("Business case validated with the prospect", required=True),
                exit_criterion("All stakeholders identified"),
            ),
            tools=("google-docs", "google-calendar", "crm"),
        ),
        StageDefinition(
            name="Solution design",
            slug="solution-design",
            goal="Design a solution tailored to the requirements, with a price.",
            guidance=_md(
                """
                - Design the architecture and the integrations first, then the implementation
                  approach.
                - Back the price with a return-on-investment estimate.
                - Confirm technical feasibility before anything goes to the prospect.
                """
            ),
            probability=40,
            target_days=21,
            items=(
                call_to_action("Plan integrations and customisation"),
                call_to_action("Estimate the return on investment"),
                deliverable("Technical architecture", required=True),
                deliverable("Implementation plan"),
                deliverable("Pricing proposal", required=True),
                exit_criterion("Technical feasibility confirmed", required=True),
            ),
            tools=("google-docs", "crm"),
        ),
        StageDefinition(
            name="Proposal",
            slug="proposal",
            goal="Present the formal proposal and get it accepted.",
            guidance=_md(
                """
                - Present the proposal live; do not just email it.
                - Offer a demo or trial and reference customers where they remove doubt.
                - Answer open questions in writing.
                """
            ),
            probability=60,
            target_days=14,
            items=(
                call_to_action("Present the proposal to the decision makers"),
                call_to_action("Set up a demo or trial and reference calls if asked"),
                deliverable("Formal proposal document", required=True),
                deliverable("Contract terms and service-level documentation"),
                exit_criterion("Proposal accepted", required=True),
            ),
            tools=("google-docs", "google-calendar", "crm"),
        ),
        StageDefinition(
            name="Negotiation",
            slug="negotiation",
            goal="Finalise the agreement and get it signed.",
            guidance=_md(
                """
                - Involve legal early; a review started late is the usual slip.
                - Settle price, terms and service levels together, not one at a time.
                - Schedule the project kickoff before the signature, so delivery can start.
                """
            ),
            probability=80,
            target_days=21,
            items=(
                call_to_action("Negotiate the contract and run the legal review"),
                call_to_action("Agree pricing and service levels"),
                exit_criterion("Terms finalised", required=True),
                exit_criterion("Contract signed", required=True),
                exit_criterion("Project kickoff scheduled"),
            ),
            tools=("crm", "google-docs"),
        ),
        StageDefinition(
            name="Won",
            slug="won",
            kind=WON,
            goal="The contract is signed: hand over to customer success.",
            probability=100,
            items=(
                call_to_action("Hand over to customer success"),
                call_to_action("Hold the kickoff meeting and plan the implementation"),
            ),
            tools=("crm",),
        ),
        StageDefinition(
            name="Lost",
            slug="lost",
            kind=LOST,
            goal="Record why the deal was lost.",
            probability=0,
            items=(call_to_action("Record the loss reason and the competitor, if any"),),
            tools=("crm",),
        ),
    ),
)


# --- Revenue bow-tie ----------------------------------------------------------------------------
# The bow-tie's knot is the commitment: Trade (commit) is where the deal closes, and Onboarding,
# Impact and Grow are what happens to a customer afterwards. So the Won stage sits right after
# Trade and the post-sale stages come after it: MTTC ends at the commitment instead of months
# later at a renewal, and a deal that gets lost in trade never shows up as "lost in Grow".
# Marketing's stages (Prospect, MQL) are left out of the clock; it starts at SQL, when sales
# accepts the lead.

REVENUE_BOW_TIE = ProcessTemplate(
    slug="revenue-bow-tie",
    name="Revenue bow-tie",
    description=_md(
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
            guidance=_md(
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
            guidance=_md(
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
            guidance=_md(
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
            guidance=_md(
                """
                - Ask about the outcome the customer needs, in their words, before talking
                  about our product.
                - Find out who else is affected and who decides.
                """
            ),
            probability=20,
            target_days=14,
            items=(
                call_to_action("Run the discovery call"),
                deliverable("Discovery notes", required=True),
                exit_criterion("Desired impact stated in the customer's words", required=True),
            ),
            tools=("google-docs", "google-calendar", "crm"),
        ),
        StageDefinition(
            name="Demo",
            slug="demo",
            goal="Show how the customer gets to the impact they described.",
            guidance=_md(
                """
                - Demo the path to their impact, not every feature.
                - Invite the people who will use the solution and the person who decides.
                """
            ),
            probability=35,
            target_days=14,
            items=(
                call_to_action("Prepare the demo around the impact from discovery"),
                call_to_action("Send the ESAT survey after the demo"),
                exit_criterion("Customer confirms the demo shows a path to impact", required=True),
            ),
            tools=("google-docs", "google-calendar", "esat-survey"),
        ),
        StageDefinition(
            name="Proposal",
            slug="proposal",
            goal="Put the offer in writing: scope, price, and the impact it buys.",
            guidance=_md(
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
            guidance=_md(
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
            guidance=_md(
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
            guidance=_md(
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
            guidance=_md(
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


# --- Open-source services (2i2c-style) ----------------------------------------------------------
# As in the bow-tie, the deal closes when the agreement is signed and invoiced: Won follows
# Invoicing, and delivery (Provisioning, Ongoing services, Milestone reporting) and Renewal are
# post-sale stages after it. Leads is community outreach with no commitment; the clock starts at
# Qualifying, when a community becomes a possible sales opportunity.

OPEN_SOURCE_SERVICES = ProcessTemplate(
    slug="open-source-services",
    name="Open-source services (2i2c-style)",
    description=_md(
        """
        Business development for an organisation that runs open-source infrastructure as a
        service for research and education communities: leads, a CRM pipeline from qualifying
        to invoicing, delivery with the products and services team, and renewals.
        """
    ),
    stages=(
        StageDefinition(
            name="Leads",
            slug="leads",
            phase=MARKETING,
            goal="Tell the market and the communities what we offer, and share knowledge back "
            "into the open-source and science ecosystem.",
            guidance=_md(
                """
                - Create and curate content: shareable assets and social media posts.
                - Connecting communities is a goal in itself, not only a route to sales.
                """
            ),
            probability=5,
            target_days=30,
            items=(
                call_to_action("Create or curate content for the community"),
                deliverable("Shareable assets and social media posts"),
                exit_criterion("Interested community recorded as a lead", required=True),
            ),
            tools=("crm",),
        ),
        StageDefinition(
            name="Qualifying",
            slug="qualifying",
            goal="Establish whether the community presents a sales opportunity.",
            guidance=_md(
                """
                - The MTTC clock starts when a deal first enters this stage.
                - Find out who the community is, what they need and how they would pay (budget,
                  grant, institution).
                """
            ),
            probability=10,
            target_days=14,
            starts_clock=True,
            items=(
                call_to_action("Hold a first conversation with the community"),
                exit_criterion("Community, need and funding source identified", required=True),
                exit_criterion("Recorded as an opportunity in the CRM pipeline", required=True),
            ),
            tools=("crm", "google-calendar"),
        ),
        StageDefinition(
            name="Prospecting",
            slug="prospecting",
            goal="Decide whether the opportunity benefits from our products and services and "
            "could become a customer.",
            guidance=_md(
                """
                - Do this early: the sooner the fit is clear, the likelier the conversion.
                - Map the community's needs to concrete offerings before writing a proposal.
                """
            ),
            probability=25,
            target_days=21,
            items=(
                call_to_action("Map the community's needs to our offerings"),
                deliverable("Proposal", required=True),
                exit_criterion("Community wants to agree a scope of work", required=True),
            ),
            tools=("google-docs", "crm"),
        ),
        StageDefinition(
            name="Partnering",
            slug="partnering",
            goal="Agree the statement of work we deliver so the community realises value.",
            guidance=_md(
                """
                - Write the scope with the community, not for it.
                - Start partner onboarding and the shared task board now, so delivery is ready.
                """
            ),
            probability=50,
            target_days=21,
            items=(
                deliverable("Quote", required=True),
                deliverable("Statement of work agreed with the community", required=True),
                call_to_action("Start partner onboarding"),
                call_to_action("Open the shared task board with the delivery team"),
            ),
            tools=("google-docs", "asana"),
        ),
        StageDefinition(
            name="Invoicing",
            slug="invoicing",
            goal="Sign the contract or memorandum of understanding and invoice it: the "
            "community becomes a customer.",
            guidance=_md(
                """
                - Send the agreement for electronic signature and keep the record in Airtable.
                - Issue the invoice as soon as the agreement is signed; payment may follow on
                  the agreed terms.
                """
            ),
            probability=80,
            target_days=30,
            items=(
                deliverable("Signed agreement or memorandum of understanding", required=True),
                deliverable("Invoice issued", required=True),
                call_to_action("Record the contract in Airtable"),
                exit_criterion("Payment received", "May arrive after the deal is marked won."),
            ),
            tools=("hellosign", "airtable", "asana", "crm"),
        ),
        StageDefinition(
            name="Won",
            slug="won",
            kind=WON,
            goal="The community is a customer: hand over to delivery.",
            probability=100,
            items=(call_to_action("Hand over to the products and services team"),),
            tools=("asana", "airtable"),
        ),
        StageDefinition(
            name="Provisioning",
            slug="provisioning",
            phase=ONBOARDING,
            goal="Set up the project management of our contractual obligations.",
            guidance="Post-sale stage. Engagement management starts from the Airtable record "
            "and the statement of work.",
            probability=100,
            target_days=14,
            items=(
                deliverable("Airtable record of the engagement", required=True),
                deliverable("Statement of work filed with the engagement", required=True),
            ),
            tools=("airtable", "asana"),
        ),
        StageDefinition(
            name="Ongoing services",
            slug="ongoing-services",
            phase=IMPACT,
            goal="Deliver the services: tasks through the delivery process, infrastructure "
            "monitoring and support.",
            guidance="Post-sale stage. Every commitment in the statement of work becomes a "
            "backlog item the delivery team can plan.",
            probability=100,
            target_days=90,
            items=(
                deliverable("Backlog items for the delivery team", required=True),
                deliverable("Delivery commitments agreed with the customer"),
                exit_criterion("Monitoring and support in place", required=True),
            ),
            tools=("asana",),
        ),
        StageDefinition(
            name="Milestone reporting",
            slug="milestone-reporting",
            phase=IMPACT,
            goal="Show the customer and their community whether the goals of the contract or "
            "grant were met.",
            guidance="Post-sale stage. Report against the goals in the agreement, with usage "
            "numbers where they exist.",
            probability=100,
            target_days=30,
            items=(deliverable("Impact report", required=True),),
            tools=("google-docs",),
        ),
        StageDefinition(
            name="Renewal",
            slug="renewal",
            phase=GROW,
            goal="Renew or extend the partnership, or close it properly.",
            guidance="Post-sale stage. Bring usage reports to the conversation; a decommission "
            "request is a valid outcome too.",
            probability=100,
            target_days=60,
            items=(
                deliverable("Usage report", required=True),
                exit_criterion(
                    "Decision recorded: agreement renewed or decommission requested",
                    required=True,
                ),
            ),
            tools=("google-docs", "hellosign", "crm"),
        ),
        StageDefinition(
            name="Lost",
            slug="lost",
            kind=LOST,
            goal="Record why the community did not become a customer.",
            probability=0,
            items=(call_to_action("Record the loss reason"),),
            tools=("crm",),
        ),
    ),
)


# --- Consultation-led (Shopnc-style) ------------------------------------------------------------
# The contract is the close; Delivery is after-sales and follows Won, as in the bow-tie. The
# first consultation is already a customer conversation, so the clock starts there.

CONSULTATION_LED = ProcessTemplate(
    slug="consultation-led",
    name="Consultation-led (Shopnc-style)",
    description=_md(
        """
        Pre-sales for a software vendor whose customers call or chat first: qualify in the
        first consultation, insist on written requirements, let the customer compare with the
        standard documents, sign a standard contract with a precise customisation appendix,
        then hand over to delivery and after-sales.
        """
    ),
    stages=(
        StageDefinition(
            name="First consultation",
            slug="first-consultation",
            goal="Learn who the customer is and whether they really intend to buy.",
            guidance=_md(
                """
                Find out in the first call or chat:

                1. Is the customer an individual or an enterprise?
                2. What kind of organisation, and how large: does it run its own servers, is it
                   state-owned or private, in which city? From this, estimate the edition and
                   version they need.
                3. Who is calling: their level, their job and what they may decide. The
                   technical department, operations, or the owner of a private company?
                4. Do they have their requirements in writing?

                A customer who is vague on most of these, avoids them and only asks for the
                price is unlikely to buy soon: give the price list and do not spend time on
                discounts or reseller terms.
                """
            ),
            probability=10,
            target_days=7,
            starts_clock=True,
            items=(
                exit_criterion("Customer type known: individual or enterprise", required=True),
                exit_criterion(
                    "Organisation profile recorded: own servers, ownership, city, size",
                ),
                exit_criterion("Contact's level, role and decision rights known", required=True),
                call_to_action("Estimate the edition and version of interest"),
                call_to_action("Ask for the requirements in writing"),
                exit_criterion(
                    "Intent judged: written requirements requested, or qualified out as price-only",
                    required=True,
                ),
            ),
            tools=("crm",),
        ),
        StageDefinition(
            name="Written requirements",
            slug="written-requirements",
            goal="Get the requirements in writing: only then is the intention clear enough to "
            "follow up.",
            guidance=_md(
                """
                - Follow up on written requirements only; they show a real intention.
                - Go through them with the customer and estimate a price together.
                """
            ),
            probability=25,
            target_days=14,
            items=(
                deliverable("Written requirements received from the customer", required=True),
                call_to_action("Clarify open points with the customer"),
                exit_criterion(
                    "Price estimate discussed and the customer wants to continue", required=True
                ),
            ),
            tools=("crm", "google-docs"),
        ),
        StageDefinition(
            name="Documents & comparison",
            slug="documents-comparison",
            goal="Let the customer compare their needs with our products, and sort out what "
            "must be customised.",
            guidance=_md(
                """
                - Elastic stage: a customer buying a standard edition as is can go straight to
                  the contract.
                - Send the standard documents, lightly adapted: help manuals per edition,
                  technical white paper, comparison with other products, product description,
                  company information, case studies, the standard solution template.
                - Collect the customisations; the project manager estimates development time
                  and price.
                """
            ),
            probability=45,
            target_days=14,
            is_optional=True,
            items=(
                deliverable("Adapted document pack sent to the customer", required=True),
                deliverable("List of custom requirements"),
                call_to_action("Project manager estimates development time and price"),
                exit_criterion(
                    "Customer has chosen an edition and the scope of customisation", required=True
                ),
            ),
            tools=("google-docs", "crm"),
        ),
        StageDefinition(
            name="Contract",
            slug="contract",
            goal="Sign the purchase contract from the standard templates.",
            guidance=_md(
                """
                - Pick the standard contract for the edition (professional, enterprise,
                  cluster), with or without customised services, and the matching appendices.
                - Customisation is the risky part: write its scope and form precisely into the
                  appendix.
                - In the main contract, check payment method, payment milestones and
                  acceptance criteria.
                """
            ),
            probability=75,
            target_days=21,
            items=(
                call_to_action("Select the contract template for the edition and services"),
                deliverable("Customisation appendix with scope and form, if customised"),
                exit_criterion(
                    "Payment method, payment milestones and acceptance criteria agreed",
                    required=True,
                ),
                exit_criterion("Contract signed", required=True),
            ),
            tools=("crm", "google-docs"),
        ),
        StageDefinition(
            name="Won",
            slug="won",
            kind=WON,
            goal="The contract is signed: prepare delivery.",
            probability=100,
            items=(call_to_action("Brief the project manager on the contract and appendix"),),
            tools=("crm",),
        ),
        StageDefinition(
            name="Delivery",
            slug="delivery",
            phase=ONBOARDING,
            goal="Deliver as contracted and hand the customer over to after-sales, with "
            "pre-sales staying on as their account manager.",
            guidance=_md(
                """
                - Post-sale stage. The project manager hands over the source code and the
                  development documents.
                - Technical issues go to after-sales technical services from now on.
                - New business from this customer still goes through pre-sales, who becomes
                  the customer's dedicated account manager.
                """
            ),
            probability=100,
            target_days=30,
            items=(
                deliverable("Source code and development documents handed over", required=True),
                call_to_action("Hand technical support over to after-sales"),
                exit_criterion(
                    "Customer accepts the delivery against the acceptance criteria", required=True
                ),
            ),
            tools=("crm",),
        ),
        StageDefinition(
            name="Lost",
            slug="lost",
            kind=LOST,
            goal="Record why the customer did not buy.",
            probability=0,
            items=(call_to_action("Record the loss reason"),),
            tools=("crm",),
        ),
    ),
)


PROCESS_TEMPLATES: tuple[ProcessTemplate, ...] = (
    EPOS_PRESALES,
    B2B_BANT,
    REVENUE_BOW_TIE,
    OPEN_SOURCE_SERVICES,
    CONSULTATION_LED,
)
