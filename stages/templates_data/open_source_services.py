"""The built-in open-source services process template (2i2c-style)."""

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
)

# As in the bow-tie, the deal closes when the agreement is signed and invoiced: Won follows
# Invoicing, and delivery (Provisioning, Ongoing services, Milestone reporting) and Renewal are
# post-sale stages after it. Leads is community outreach with no commitment; the clock starts at
# Qualifying, when a community becomes a possible sales opportunity.

OPEN_SOURCE_SERVICES = ProcessTemplate(
    slug="open-source-services",
    name="Open-source services (2i2c-style)",
    description=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
