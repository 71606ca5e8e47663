"""The demo library: about forty building blocks across the EPOS stages, in our own words.

Each entry: title, kind, stages (slugs), use cases, industries, products, catalog needs,
summary, body (markdown), and `lift`: how much likelier a deal that uses it is to be a won one
in the demo data (so the effectiveness figures have something to show).
"""

OBS, SEC, SEARCH = "observability", "security", "search"
APM, LOGS, SIEM, ENDPOINT, SEARCH_PRODUCT = (
    "Kestrel APM",
    "Kestrel Logs",
    "Kestrel SIEM",
    "Kestrel Endpoint",
    "Kestrel Search",
)


def _block(title, kind, stages, use_cases, summary, body, **extra):
    return {
        "title": title,
        "kind": kind,
        "stages": stages,
        "use_cases": use_cases,
        "summary": summary,
        "body": body.strip() + "\n",
        "industries": extra.get("industries", []),
        "products": extra.get("products", []),
        "needs": extra.get("needs", []),
        "lift": extra.get("lift", 0.0),
        "external_url": extra.get("external_url", ""),
    }


BLOCKS = [
    # --- Preparation ---------------------------------------------------------------------------
    _block(
        "Account research checklist",
        "discovery_guide",
        ["preparation", "prospecting", "first-consultation"],
        [OBS, SEC, SEARCH],
        "Thirty minutes of homework before the first call: business model, recent news, tech "
        "stack, who is who.",
        """
## Before the first call
- Read the last annual report or funding news: what does the company promise its customers?
- Note the **systems the business depends on** (web shop, booking engine, claims platform).
- Check job ads for the tech stack: Kubernetes, cloud provider, current monitoring or SIEM.
- Map the people: executive sponsor, the technical owner, operations.

## Write down
1. Three hypotheses about what hurts.
2. One question per hypothesis that would confirm or kill it.
""",
        lift=0.05,
    ),
    _block(
        "First consultation: the four questions",
        "question_set",
        ["preparation", "first-consultation", "qualification"],
        [OBS, SEC, SEARCH],
        "Customer type, company profile, who is asking, and whether written requirements "
        "exist: what to learn in the first conversation.",
        """
Answer these four before spending more time on a lead:

1. **Person or company?** A private individual buys differently from an enterprise.
2. **What kind of company?** Size, ownership (private, public, state-owned), where it is,
   whether it runs its own infrastructure.
3. **Who is asking?** The technical department, operations, or the owner; and what they may
   decide.
4. **Is there a written requirement?** A document means the intent is real; a request for a
   price alone rarely is.

If the answers stay vague and only the price matters, keep the follow-up short.
""",
        lift=0.08,
    ),
    _block(
        "Pre-call brief template",
        "solution_template",
        ["preparation"],
        [OBS, SEC],
        "One page the SA and the account executive fill in together before meeting the customer.",
        """
| Field | Notes |
| --- | --- |
| Goal of the meeting | What must be true when we hang up? |
| Attendees and roles | Ours and theirs |
| Known pains | From research and the AE |
| Hypotheses | Which challenge from the discovery catalog? |
| Risks | Competitor in place, budget timing |
""",
    ),
    # --- Discovery -----------------------------------------------------------------------------
    _block(
        "Observability discovery guide",
        "discovery_guide",
        ["discovery"],
        [OBS],
        "A structured discovery conversation for observability: from outages and their cost to "
        "the signals the team is missing.",
        """
## Open with the business
- When did customers last notice a problem before you did? What did it cost?
- Which services matter most to revenue?

## Then the operations
- How is an incident detected, who is paged, how long until the cause is known?
- How many tools does an engineer open during an incident?

## Close with success criteria
Agree on two or three measurable outcomes (MTTD, MTTR, SLO attainment) to carry into the demo.
""",
        products=[APM, LOGS],
        needs=["distributed-tracing", "log-correlation", "slos-error-budgets"],
        lift=0.18,
    ),
    _block(
        "Security discovery guide",
        "discovery_guide",
        ["discovery"],
        [SEC],
        "Discovery for security operations: coverage gaps, detection speed, analyst workload "
        "and audit pressure.",
        """
## Coverage
- Which systems send no logs today? Laptops, cloud accounts, network devices?
- What did the last audit or penetration test find?

## Detection and response
- How was the last real incident found, and how long had it been going on?
- How many alerts does an analyst handle per day; how many are noise?

## Outcomes
Agree on coverage, mean time to detect and respond, and audit effort as the yardsticks.
""",
        products=[SIEM, ENDPOINT],
        needs=["siem-coverage", "endpoint-telemetry", "prebuilt-detections"],
        lift=0.15,
    ),
    _block(
        "Top-down discovery: from business profile to technical need",
        "discovery_guide",
        ["discovery", "qualification"],
        [OBS, SEC],
        "How to walk from the company's business and profile to the process worth improving "
        "and the data it needs.",
        """
1. **Company profile**: what it sells, to whom, through which channels.
2. **Business context**: which process, if it fails, hurts revenue or reputation the most?
3. **The challenge**: pick it from the discovery catalog and say it in the customer's words.
4. **Technical needs**: the capabilities the challenge implies.
5. **Data**: which logs, metrics, traces or events prove progress.

Record the challenge → need pairs on the opportunity so the demo and the POC aim at them.
""",
        lift=0.12,
    ),
    _block(
        "Bottom-up discovery: from a technical ask to business importance",
        "discovery_guide",
        ["discovery"],
        [OBS, SEC],
        "When the customer opens with a feature request, find the process it serves and why "
        "that process matters to the business.",
        """
The engineer asks for *distributed tracing* or *a SIEM with 90 days of retention*. Before
answering with features:

- Which **process or service** is this for? (checkout, claims, the SOC's triage)
- What happens to the business when that process fails or slows down?
- Who outside IT would notice an improvement?

A need without a business reason rarely survives the budget round.
""",
        lift=0.1,
    ),
    _block(
        "Observability question bank",
        "question_set",
        ["discovery", "technical-qa"],
        [OBS],
        "Forty questions grouped by theme: incidents, tooling, cloud migration, releases, "
        "service levels.",
        """
### Incidents
- Walk me through your last major incident, minute by minute.
- Where did the first signal come from?

### Tooling
- Which tools hold logs, metrics and traces today? Who pays for each?

### Releases
- How often do you deploy; how do you know a release went well?

### Service levels
- Do you have written SLOs? Who reads them?
""",
        products=[APM, LOGS],
        needs=["deployment-tracking", "unified-platform"],
        lift=0.06,
    ),
    _block(
        "Security question bank",
        "question_set",
        ["discovery", "technical-qa"],
        [SEC],
        "Questions on coverage, detection, response, compliance and cloud, ready to paste into "
        "meeting notes.",
        """
- Which log sources does the SOC consider mandatory, and which are missing?
- How long is data kept, and how fast can you search the oldest month?
- Which regulations apply (PCI DSS, ISO 27001, NIS2) and who prepares the evidence?
- How are new cloud accounts brought under monitoring?
""",
        products=[SIEM],
        needs=["compliant-retention", "cloud-posture-management"],
    ),
    _block(
        "BANT qualification worksheet",
        "question_set",
        ["qualification", "discovery"],
        [OBS, SEC, SEARCH],
        "Budget, authority, need, timeline: the questions and what counts as a yes.",
        """
| | Question | A real yes |
| --- | --- | --- |
| Budget | Is money set aside this year? | An amount or a budget line |
| Authority | Who signs? Have we met them? | A named person we spoke to |
| Need | What breaks if nothing changes? | A cost or a risk in their words |
| Timeline | What event forces a date? | A renewal, an audit, a launch |
""",
        lift=0.07,
    ),
    _block(
        "Stakeholder map template",
        "solution_template",
        ["discovery", "solution-design"],
        [OBS, SEC, SEARCH],
        "Who decides, who influences, who uses: one slide to keep the whole account team aligned.",
        """
Draw four quadrants: **decides / influences** × **for us / against us**. Place every person
met, with their main concern. Review it before each stage move.
""",
    ),
    _block(
        "Discovery summary template",
        "solution_template",
        ["discovery"],
        [OBS, SEC],
        "The document sent after discovery: what we heard, what we propose to prove, and how "
        "success will be measured.",
        """
1. What we heard (in the customer's words)
2. Business challenges and the technical needs they imply
3. What the demo will show, and what the POC would prove
4. Success criteria and who confirms them
5. Next steps with dates
""",
        lift=0.14,
    ),
    # --- Demo (D2W) ----------------------------------------------------------------------------
    _block(
        "D2W demo script: from alert to root cause in five minutes",
        "demo_script",
        ["demo-d2w", "demo"],
        [OBS],
        "The flagship observability demo: an alert fires, a trace shows the slow service, the "
        "correlated log names the cause.",
        """
## Storyline
1. The SLO burn-rate alert fires for checkout.
2. Open the service map: payment is red.
3. Open a slow trace; the database span dominates.
4. Jump to the correlated logs: connection pool exhausted after the last deployment.
5. The deployment marker on the chart ties it together.

## Tips
- Ask the customer to name the service first; rename the demo services to match.
- Stop after the root cause; do not tour every screen.
""",
        products=[APM, LOGS],
        needs=["distributed-tracing", "log-correlation", "deployment-tracking"],
        lift=0.22,
    ),
    _block(
        "Demo script: Kubernetes observability",
        "demo_script",
        ["demo-d2w", "demo"],
        [OBS],
        "Show a cluster from nodes to pods to the services running in them, and catch a "
        "crash-looping pod.",
        """
- Start from the cluster overview; filter by namespace of the customer's team.
- Drill into a node under memory pressure; show the pods it evicted.
- Jump from the crash-looping pod to its logs and the deployment that introduced it.
""",
        products=[APM],
        needs=["kubernetes-observability"],
        lift=0.1,
    ),
    _block(
        "Demo script: SOC triage with risk scoring",
        "demo_script",
        ["demo-d2w", "demo"],
        [SEC],
        "An analyst's morning: a hundred alerts become five risky entities, one becomes a "
        "case with a contained host.",
        """
1. Alerts grouped per host and user, sorted by risk score.
2. Open the riskiest host: the process tree shows a suspicious script.
3. Pivot to network data: outbound connection to a rare domain.
4. Open a case, isolate the host, attach the timeline.
""",
        products=[SIEM, ENDPOINT],
        needs=["entity-risk-scoring", "case-automation", "endpoint-telemetry"],
        lift=0.2,
    ),
    _block(
        "Demo script: ransomware stopped on the endpoint",
        "demo_script",
        ["demo-d2w", "demo"],
        [SEC],
        "A safe, recorded ransomware simulation: detection, automatic isolation, and the "
        "evidence left for the investigation.",
        """
Use the recorded run unless the customer insists on live. Highlight the seconds between the
first encryption and the isolation, then the evidence trail.
""",
        products=[ENDPOINT],
        needs=["endpoint-telemetry", "case-automation"],
        lift=0.12,
    ),
    _block(
        "Demo environment setup guide",
        "training",
        ["demo-d2w"],
        [OBS, SEC],
        "How to spin up, reset and personalise the shared demo environment in fifteen minutes.",
        """
1. Request a demo space in the SA portal.
2. Load the dataset matching the customer's industry.
3. Rename services and hosts to the customer's vocabulary.
4. Reset after the call so the next SA starts clean.
""",
    ),
    _block(
        "Real user monitoring demo for retail",
        "demo_script",
        ["demo-d2w", "demo"],
        [OBS],
        "Tie page speed to revenue: slow product pages in one region, and the third-party "
        "script behind it.",
        """
Show conversion by page-load bucket first; the business audience remembers that chart.
Then the waterfall of one slow session, and the third-party script that blocks rendering.
""",
        industries=["Retail", "E-commerce"],
        products=[APM],
        needs=["real-user-monitoring", "synthetic-monitoring"],
        lift=0.16,
    ),
    _block(
        "Search relevance demo",
        "demo_script",
        ["demo-d2w", "demo"],
        [SEARCH],
        "Before and after: the customer's own top failing queries, fixed with synonyms and "
        "boosts in front of them.",
        """
Ask for their top twenty zero-result queries before the call. Fix five live.
""",
        products=[SEARCH_PRODUCT],
        needs=["relevance-tuning"],
    ),
    # --- Proof of concept ----------------------------------------------------------------------
    _block(
        "POC success plan template",
        "solution_template",
        ["proof-of-concept", "solution-design"],
        [OBS, SEC, SEARCH],
        "Scope, success criteria, data sources, dates and sign-off: agree on it before any "
        "data is shipped.",
        """
| Item | Agreed |
| --- | --- |
| Use cases in scope (max. three) | |
| Success criteria, each measurable | |
| Data sources and volumes | |
| Start and end dates | |
| Who signs off | |

A POC without written success criteria is a free trial; do not start one.
""",
        lift=0.25,
    ),
    _block(
        "POC onboarding runbook: logs and traces",
        "architecture",
        ["proof-of-concept"],
        [OBS],
        "Step by step: agents, OpenTelemetry collectors, index templates and dashboards for a "
        "two-week observability POC.",
        """
1. Deploy the collector as a DaemonSet; point it at the POC cluster.
2. Instrument two services with OpenTelemetry auto-instrumentation.
3. Ship application logs with trace IDs in the message.
4. Import the POC dashboards; check the service map fills.
""",
        products=[APM, LOGS],
        needs=["distributed-tracing", "log-correlation"],
        lift=0.15,
    ),
    _block(
        "POC onboarding runbook: SIEM data sources",
        "architecture",
        ["proof-of-concept"],
        [SEC],
        "Which sources to onboard first for a SIEM POC, in which order, with the parsing "
        "checks for each.",
        """
Order: identity provider → endpoints → firewall → cloud audit logs. For each, check field
mapping against the common schema and that prebuilt rules fire on test events.
""",
        products=[SIEM],
        needs=["siem-coverage", "prebuilt-detections"],
        lift=0.13,
    ),
    _block(
        "POC weekly status report",
        "solution_template",
        ["proof-of-concept"],
        [OBS, SEC, SEARCH],
        "A short weekly note: criteria met, blockers, decisions needed. Keeps the champion "
        "armed for internal meetings.",
        """
- Criteria met this week
- Blockers and who owns them
- Decisions needed from the customer
- Next week's plan
""",
    ),
    _block(
        "Kubernetes reference architecture",
        "architecture",
        ["proof-of-concept", "technical-qa"],
        [OBS],
        "Collectors, storage tiers and network paths for monitoring large Kubernetes estates.",
        """
- One collector per node, a gateway tier per cluster.
- Hot tier for seven days, warm for thirty, frozen beyond.
- Cross-cluster search for the central team.
""",
        products=[APM, LOGS],
        needs=["kubernetes-observability", "unified-platform"],
        industries=["Software", "Telecommunications"],
    ),
    # --- Technical Q&A -------------------------------------------------------------------------
    _block(
        "Security and compliance FAQ",
        "white_paper",
        ["technical-qa", "documents-comparison"],
        [OBS, SEC],
        "Encryption, data residency, access control, certifications: the answers procurement "
        "and security teams ask for.",
        """
**Encryption**: in transit with TLS 1.2+, at rest with AES-256.

**Data residency**: choose the region; data does not leave it.

**Access control**: SSO with SAML or OIDC, role-based access down to fields.

**Certifications**: ask the compliance team for the current list and reports under NDA.
""",
        needs=["compliant-retention"],
        lift=0.08,
    ),
    _block(
        "High availability architecture",
        "architecture",
        ["technical-qa", "solution-design"],
        [OBS, SEC, SEARCH],
        "Zones, replicas and snapshots: how the platform stays up and what the customer's "
        "team has to run themselves.",
        """
Three availability zones, one replica per primary shard, snapshots every thirty minutes to
object storage. Rolling upgrades without downtime.
""",
    ),
    _block(
        "Comparison: Kestrel Observability against self-run open source",
        "comparison",
        ["technical-qa", "documents-comparison", "proposal"],
        [OBS],
        "An honest comparison with running Prometheus, Loki and Jaeger in-house: where each "
        "wins, and the staff time behind it.",
        """
| | Self-run open source | Kestrel |
| --- | --- | --- |
| Licence cost | None | Subscription |
| Staff to operate | 1–3 engineers | A fraction of one |
| Correlation across signals | Manual | Built in |
| Long retention | Costly to scale | Tiered storage |

Lead with staff time; licence cost alone favours open source.
""",
        products=[APM, LOGS],
        needs=["unified-platform"],
        lift=0.09,
    ),
    _block(
        "Comparison: Kestrel SIEM against legacy SIEMs",
        "comparison",
        ["technical-qa", "documents-comparison", "proposal"],
        [SEC],
        "Ingest pricing, search speed on long retention, detection content, and migration "
        "effort compared.",
        """
Legacy SIEMs price by ingest and slow down past thirty days. Show a ninety-day search live,
then the detection rule coverage map.
""",
        products=[SIEM],
        needs=["threat-hunting", "prebuilt-detections"],
        lift=0.11,
    ),
    _block(
        "Data retention and tiering explained",
        "white_paper",
        ["technical-qa", "sizing"],
        [OBS, SEC],
        "Hot, warm, cold and frozen tiers: what each costs, how fast it answers, and how to "
        "pick retention per data type.",
        """
Keep the last week hot for troubleshooting, a month warm, and a year frozen for audits and
hunting. Searchable snapshots make the frozen tier usable, not just archived.
""",
        needs=["compliant-retention", "threat-hunting"],
    ),
    _block(
        "OpenTelemetry adoption FAQ",
        "white_paper",
        ["technical-qa"],
        [OBS],
        "What OpenTelemetry is, how it avoids lock-in, and what instrumenting a Java or Node "
        "service takes.",
        """
OpenTelemetry is a vendor-neutral standard for traces, metrics and logs. Instrument once,
send anywhere. Auto-instrumentation covers most frameworks without code changes.
""",
        products=[APM],
        needs=["distributed-tracing"],
    ),
    # --- Sizing --------------------------------------------------------------------------------
    _block(
        "Observability sizing calculator",
        "sizing_sheet",
        ["sizing"],
        [OBS],
        "From hosts, services and log volume to storage and subscription size; the sheet the "
        "account team quotes from.",
        """
Inputs: hosts, containers, services traced, daily log volume, retention per tier.
Outputs: storage per tier, memory, and the subscription tier.

Always size with the customer's own numbers from the POC, not the discovery estimates.
""",
        products=[APM, LOGS],
        external_url="https://docs.google.com/spreadsheets/d/epos-demo-observability-sizing",
        lift=0.1,
    ),
    _block(
        "SIEM sizing calculator",
        "sizing_sheet",
        ["sizing"],
        [SEC],
        "Events per second, retention and rule count to cluster size and price.",
        """
Count events per second per source class, multiply by retention days, add twenty percent
headroom for incident spikes.
""",
        products=[SIEM],
        external_url="https://docs.google.com/spreadsheets/d/epos-demo-siem-sizing",
        lift=0.08,
    ),
    _block(
        "Sizing review checklist",
        "question_set",
        ["sizing"],
        [OBS, SEC, SEARCH],
        "Ten checks before a quote leaves the building: volumes, growth, retention, "
        "environments, support level.",
        """
- Volumes measured, not guessed
- Growth for the contract term
- Non-production environments counted
- Retention agreed per data type
- Support level matches the business hours of the customer
""",
    ),
    # --- Proposal and contract ------------------------------------------------------------------
    _block(
        "Business case template with ROI",
        "solution_template",
        ["proposal", "solution-design", "sizing"],
        [OBS, SEC],
        "Turn discovery findings into money: downtime avoided, staff time saved, tools retired.",
        """
1. Cost of downtime per hour × hours avoided per year
2. Engineer hours saved per incident × incidents per year
3. Licences of retired tools
4. Minus the subscription and the rollout effort
""",
        needs=["unified-platform", "slos-error-budgets"],
        lift=0.17,
    ),
    _block(
        "Standard subscription agreement",
        "contract_template",
        ["negotiation", "contract"],
        [OBS, SEC, SEARCH],
        "The standard agreement with its annexes; what may be changed without legal review "
        "and what may not.",
        """
May change without legal: start date, term (1–3 years), payment schedule.
Needs legal: liability caps, data processing terms, custom SLAs.
Custom development always goes into an annex with scope and acceptance criteria.
""",
    ),
    _block(
        "Statement of work template for onboarding services",
        "contract_template",
        ["proposal", "partnering", "contract"],
        [OBS, SEC, SEARCH],
        "Scope, deliverables, acceptance and timeline for professional services sold with the "
        "subscription.",
        """
Name deliverables as outcomes ("checkout traced end to end"), not hours. Acceptance is a
demo of each deliverable to the customer's owner.
""",
    ),
    # --- Case studies --------------------------------------------------------------------------
    _block(
        "Case study: a retail bank halves its time to resolve",
        "case_study",
        ["discovery", "demo-d2w", "proposal"],
        [OBS],
        "Tracing and correlated logs across online banking cut mean time to resolve from four "
        "hours to under two.",
        """
**Situation**: outages of online banking with causes found hours later.
**What changed**: tracing on twenty services, logs correlated by trace ID, SLOs per journey.
**Result**: MTTR down by more than half within three months; two tools retired.
""",
        industries=["Banking", "Insurance"],
        products=[APM, LOGS],
        needs=["distributed-tracing", "log-correlation"],
        lift=0.2,
    ),
    _block(
        "Case study: a telecom operator closes its blind spots",
        "case_study",
        ["discovery", "demo-d2w", "proposal"],
        [SEC],
        "From forty percent to ninety-five percent of critical assets monitored in six months, "
        "with detection time down to hours.",
        """
**Situation**: an audit found large parts of the network unmonitored.
**What changed**: endpoint agents everywhere, network flow data, SIEM with prebuilt rules.
**Result**: coverage at 95 %, mean time to detect from weeks to hours.
""",
        industries=["Telecommunications", "Energy"],
        products=[SIEM, ENDPOINT],
        needs=["siem-coverage", "endpoint-telemetry", "network-visibility"],
        lift=0.18,
    ),
    _block(
        "Case study: an online retailer wins back checkout conversion",
        "case_study",
        ["demo-d2w", "proposal"],
        [OBS],
        "Real user monitoring found the slow third-party script that cost two points of "
        "conversion.",
        """
A single tag-manager script delayed rendering on mobile. Removing it restored conversion
within a week; the business now watches page speed next to revenue.
""",
        industries=["Retail", "E-commerce"],
        products=[APM],
        needs=["real-user-monitoring"],
        lift=0.12,
    ),
    _block(
        "Case study: a public agency passes its audit",
        "case_study",
        ["proposal", "technical-qa"],
        [SEC],
        "Audit preparation went from six weeks to two days with compliant retention and "
        "ready-made reports.",
        """
Twelve months of logs in a frozen tier, searchable in minutes; auditors received reports
instead of spreadsheets.
""",
        industries=["Public sector", "Healthcare"],
        products=[SIEM],
        needs=["compliant-retention"],
    ),
    # --- Training and company information ---------------------------------------------------------
    _block(
        "The EPOS path explained",
        "training",
        ["preparation"],
        [OBS, SEC, SEARCH],
        "Why the pre-sales path has the stages it has, what each stage must produce, and how "
        "MTTC is measured.",
        """
Preparation → Discovery → Demo (D2W) → Proof of concept → Technical Q&A → Sizing.

Each stage has prerequisites, calls to action and deliverables; required items gate the next
move. MTTC runs from engagement to close and is the number the process is judged by.
""",
        lift=0.04,
    ),
    _block(
        "Product overview for new SAs",
        "training",
        [],
        [OBS, SEC, SEARCH],
        "The product family in one page: what each product does and which use case it serves.",
        """
- **Kestrel APM**: traces, service maps, real user monitoring
- **Kestrel Logs**: log ingest, search, correlation
- **Kestrel SIEM**: detection rules, cases, threat hunting
- **Kestrel Endpoint**: endpoint telemetry and protection
- **Kestrel Search**: site and workplace search
""",
        products=[APM, LOGS, SIEM, ENDPOINT, SEARCH_PRODUCT],
    ),
    _block(
        "Company information sheet",
        "other",
        [],
        [OBS, SEC, SEARCH],
        "Who we are in numbers: customers, regions, support hours, certifications contact.",
        """
Use the latest figures from the investor page; never quote customer names without written
permission.
""",
    ),
]

# Edits replayed on some blocks before publishing, so their history has several versions.
EDITS = {
    "Observability discovery guide": [
        ("summary", "Tightened the opening questions after pilot feedback"),
        ("body", "Added the success-criteria section"),
    ],
    "D2W demo script: from alert to root cause in five minutes": [
        ("body", "Shortened the storyline to five steps"),
    ],
    "POC success plan template": [("body", "Added the sign-off row"), ("summary", "Clarified")],
    "Security discovery guide": [("body", "Added audit questions")],
    "Business case template with ROI": [("body", "Added tool retirement savings")],
    "Case study: a retail bank halves its time to resolve": [("summary", "Updated figures")],
    "Observability sizing calculator": [("body", "Use POC numbers, not estimates")],
    "Top-down discovery: from business profile to technical need": [
        ("body", "Linked to the discovery catalog")
    ],
}

# Statuses other than published, for a realistic curator queue.
IN_REVIEW = {"Search relevance demo", "Statement of work template for onboarding services"}
DRAFTS = {"Sizing review checklist", "Demo environment setup guide"}
ARCHIVED = {"Company information sheet"}
REVIEW_OVERDUE = {
    "Security and compliance FAQ",
    "High availability architecture",
    "OpenTelemetry adoption FAQ",
    "Kubernetes reference architecture",
}

TRAINING_PATHS = [
    {
        "slug": "sa-onboarding",
        "name": "SA onboarding: the EPOS path",
        "role": "sa",
        "description": "Your first two weeks: the path, discovery, the flagship demo, a POC plan.",
        "steps": [
            "The EPOS path explained",
            "Product overview for new SAs",
            "First consultation: the four questions",
            "Observability discovery guide",
            "D2W demo script: from alert to root cause in five minutes",
            "POC success plan template",
        ],
    },
    {
        "slug": "security-specialist",
        "name": "Security deals",
        "role": "sa",
        "description": "Discovery, demo and proof for SIEM and endpoint deals.",
        "steps": [
            "Security discovery guide",
            "Demo script: SOC triage with risk scoring",
            "POC onboarding runbook: SIEM data sources",
            "Comparison: Kestrel SIEM against legacy SIEMs",
        ],
    },
    {
        "slug": "manager-coaching",
        "name": "Managers: coaching on the path",
        "role": "manager",
        "description": "What to look for in each stage when reviewing your team's deals.",
        "steps": [
            "The EPOS path explained",
            "BANT qualification worksheet",
            "POC success plan template",
            "Business case template with ROI",
        ],
    },
    {
        "slug": "curator-library",
        "name": "Curators: keeping the library healthy",
        "role": "curator",
        "description": "Writing blocks that get used, and retiring those that do not.",
        "steps": [
            "The EPOS path explained",
            "Discovery summary template",
            "Observability question bank",
        ],
    },
]
