"""The built-in consultation-led process template (Shopnc-style)."""

from __future__ import annotations

from stages.process_templates import (
    LOST,
    ONBOARDING,
    WON,
    ProcessTemplate,
    StageDefinition,
    call_to_action,
    deliverable,
    exit_criterion,
    markdown,
)

# The contract is the close; Delivery is after-sales and follows Won, as in the bow-tie. The
# first consultation is already a customer conversation, so the clock starts there.

CONSULTATION_LED = ProcessTemplate(
    slug="consultation-led",
    name="Consultation-led (Shopnc-style)",
    description=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
            guidance=markdown(
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
