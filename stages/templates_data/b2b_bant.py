"""The built-in B2B sales process template, qualified with BANT."""

from __future__ import annotations

from stages.process_templates import (
    LOST,
    MARKETING,
    WON,
    ProcessTemplate,
    StageDefinition,
    call_to_action,
    deliverable,
    exit_criterion,
    markdown,
)

# Prospecting is lead generation with no customer commitment yet; the MTTC clock starts at
# Qualification, the first real conversation with a prospect.

B2B_BANT = ProcessTemplate(
    slug="b2b-bant",
    name="B2B sales with BANT",
    description=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
                call_to_action(
                    "Hold the first discovery call",
                    evidence=("activity.recorded", {"kind": ["call", "meeting"]}),
                ),
                call_to_action("Identify the stakeholders"),
                exit_criterion(
                    "Budget: approved, or the path to it known",
                    evidence=("qualification.recorded", {"budget": "yes"}),
                ),
                exit_criterion(
                    "Authority: decision maker identified and engaged",
                    required=True,
                    evidence=("qualification.recorded", {"authority": "yes"}),
                ),
                exit_criterion(
                    "Need: a clear business need is stated",
                    required=True,
                    evidence=("qualification.recorded", {"need": "yes"}),
                ),
                exit_criterion(
                    "Timeline: a target date is defined",
                    evidence=("qualification.recorded", {"timeline": "yes"}),
                ),
                exit_criterion("Next steps agreed and the next meeting scheduled", required=True),
            ),
            tools=("crm", "google-calendar"),
        ),
        StageDefinition(
            name="Discovery",
            slug="discovery",
            goal="Understand the requirements in depth.",
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
