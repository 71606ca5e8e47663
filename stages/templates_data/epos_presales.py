"""The built-in EPOS pre-sales process template (observability first)."""

from __future__ import annotations

from stages.process_templates import (
    LOST,
    WON,
    ProcessTemplate,
    StageDefinition,
    call_to_action,
    deliverable,
    exit_criterion,
    markdown,
    prerequisite,
)

# Preparation is the SA's homework before the customer is involved, so its duration says nothing
# about how fast we close; the MTTC clock starts at Discovery, the first customer conversation.

EPOS_PRESALES = ProcessTemplate(
    slug="epos-presales",
    name="EPOS pre-sales (observability first)",
    description=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
                call_to_action(
                    "Run the discovery calls and log them as activities",
                    evidence=("activity.recorded", {"kind": ["call", "meeting"]}),
                ),
                call_to_action(
                    "Link business challenges to technical needs",
                    "Top-down or bottom-up, as chosen in preparation.",
                    evidence=("discovery.recorded", {}),
                ),
                deliverable(
                    "Discovery summary: current state, pain, business impact, success criteria",
                    required=True,
                ),
                exit_criterion(
                    "At least one business challenge is linked to a technical need",
                    required=True,
                    evidence=("discovery.recorded", {}),
                ),
                exit_criterion(
                    "Qualification (BANT) recorded with a verdict",
                    required=True,
                    evidence=(
                        "qualification.recorded",
                        {"verdict": ["qualified", "nurture", "price_only"]},
                    ),
                ),
                exit_criterion("Customer agreed to a tailored demo and named the attendees"),
            ),
            tools=("google-docs", "google-calendar", "vivun", "crm"),
        ),
        StageDefinition(
            name="Demo (D2W)",
            slug="demo-d2w",
            goal="Demo to win: show the customer their own problem solved, not a feature tour.",
            guidance=markdown(
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
                call_to_action(
                    "Adapt a demo script to the customer's use case and data",
                    evidence=("building_block.used", {"block_kind": "demo_script"}),
                ),
                call_to_action("Rehearse the demo in the demo environment"),
                deliverable("Demo recording or slides shared with the customer"),
                call_to_action("Send the ESAT survey after the demo", evidence=("esat.sent", {})),
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
            guidance=markdown(
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
                call_to_action(
                    "Hold a weekly POC check-in",
                    evidence=("activity.recorded", {"kind": ["meeting", "poc_work"]}),
                ),
                call_to_action(
                    "Record product gaps found during the POC", evidence=("gap.recorded", {})
                ),
                deliverable("POC report against each success criterion", required=True),
                call_to_action(
                    "Send the ESAT survey at the end of the POC", evidence=("esat.sent", {})
                ),
                exit_criterion("Customer signs off the success criteria as met", required=True),
            ),
            tools=("google-docs", "google-calendar", "esat-survey", "vivun", "zapier"),
        ),
        StageDefinition(
            name="Technical Q&A",
            slug="technical-qa",
            goal="Clear the remaining technical objections: features, architecture, security "
            "and operations.",
            guidance=markdown(
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
            guidance=markdown(
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
                call_to_action("Send the final ESAT survey", evidence=("esat.sent", {})),
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
