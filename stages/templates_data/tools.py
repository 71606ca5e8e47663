"""The tools the built-in process templates refer to by slug (a stage lists its `tools`)."""

from __future__ import annotations

from stages.process_templates import ToolDefinition

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
