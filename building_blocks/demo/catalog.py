"""The curated discovery catalog loaded by `manage.py load_catalog` (and by the demo seed).

Top-down, an SA starts from a business challenge heard from the account and follows the links to
the technical needs it implies; bottom-up, from a technical need the customer asked for to the
business challenges that make it matter. Each link says why (narrative) and how the customer
would measure progress (KPIs). Observability and security come first, as the pre-sales team
does; search has a small starter set.
"""

OBS, SEC, SEARCH = "observability", "security", "search"

CHALLENGES = [
    # --- observability ---
    {
        "slug": "downtime-unknown-cause",
        "use_case": OBS,
        "title": "Outages with an unknown cause hurt customer satisfaction",
        "description": (
            "Customers notice failures before the operations team does, and when a service goes "
            "down nobody can say why for hours. Satisfaction scores and renewals suffer."
        ),
        "keywords": "downtime, outage, cause of downtime, unknown, customer satisfaction, incident",
    },
    {
        "slug": "slow-incident-resolution",
        "use_case": OBS,
        "title": "Incidents take too long to resolve",
        "description": (
            "Every major incident becomes a war room: teams argue over whose component is at "
            "fault because no one can follow a request from the front end to the database."
        ),
        "keywords": "war room, end to end, mttr, slow, resolve, request",
    },
    {
        "slug": "monitoring-tool-sprawl",
        "use_case": OBS,
        "title": "Monitoring is spread over too many tools",
        "description": (
            "Each team bought its own monitoring product. Licences add up, data sits in silos and "
            "correlating a symptom in one tool with a cause in another is manual work."
        ),
        "keywords": "tools, five tools, consolidation, silos, licence, sprawl",
    },
    {
        "slug": "risky-releases",
        "use_case": OBS,
        "title": "Releases break production without anyone noticing",
        "description": (
            "Deployments are frequent, but the impact of a release is only discovered when "
            "customers complain, so teams slow down releases out of caution."
        ),
        "keywords": "release, deployment, deploy, change, rollback",
    },
    {
        "slug": "cloud-migration-visibility",
        "use_case": OBS,
        "title": "Moving to containers and cloud loses the visibility teams had",
        "description": (
            "Workloads move to Kubernetes and managed services; the old host-based monitoring no "
            "longer shows what runs where, and short-lived containers vanish before anyone looks."
        ),
        "keywords": "kubernetes, cloud, migration, containers, moving",
    },
    {
        "slug": "slow-digital-experience",
        "use_case": OBS,
        "title": "Slow digital journeys cost revenue",
        "description": (
            "Pages and apps are slow for some users, checkout is abandoned, and the business "
            "cannot tell which part of the journey loses customers."
        ),
        "keywords": "checkout, conversion, web shop, slow, booking, mobile app, portal",
    },
    # --- security ---
    {
        "slug": "limited-visibility-blind-spots",
        "use_case": SEC,
        "title": "Limited visibility and blind spots across the estate",
        "description": (
            "Security cannot see large parts of the environment: some systems send no logs, "
            "laptops and cloud accounts are unmonitored, and attackers hide in the gaps."
        ),
        "keywords": "blind spots, visibility, limited visibility, unmonitored, audit",
    },
    {
        "slug": "late-threat-detection",
        "use_case": SEC,
        "title": "Threats are detected late and investigations take days",
        "description": (
            "Intrusions are found weeks after they started, often by a third party, and each "
            "investigation means exporting data from several consoles by hand."
        ),
        "keywords": "detected late, investigation, investigations, dwell, threats",
    },
    {
        "slug": "alert-fatigue",
        "use_case": SEC,
        "title": "Analysts drown in alerts",
        "description": (
            "Thousands of low-value alerts a day bury the few that matter; analysts burn out and "
            "real attacks go unanswered."
        ),
        "keywords": "alerts, separate consoles, noise, fatigue, false positives",
    },
    {
        "slug": "audit-compliance-pressure",
        "use_case": SEC,
        "title": "Audits demand evidence the team cannot produce quickly",
        "description": (
            "Regulators and auditors ask who accessed what and when; answering takes weeks of "
            "manual work and findings keep coming back."
        ),
        "keywords": "audit, compliance, regulation, material risk, regulator",
    },
    {
        "slug": "ransomware-exposure",
        "use_case": SEC,
        "title": "Endpoints and servers are exposed to ransomware",
        "description": (
            "A single infected laptop could encrypt shared drives before anyone reacts; the board "
            "asks how fast an attack would be stopped."
        ),
        "keywords": "ransomware, endpoint, laptops, malware",
    },
    {
        "slug": "cloud-misconfiguration",
        "use_case": SEC,
        "title": "Cloud accounts grow faster than security can check them",
        "description": (
            "New cloud accounts and services appear every week; open buckets and over-broad "
            "permissions are found by accident, if at all."
        ),
        "keywords": "cloud, misconfiguration, posture, buckets, permissions",
    },
    # --- search ---
    {
        "slug": "irrelevant-search-results",
        "use_case": SEARCH,
        "title": "Users cannot find what they look for",
        "description": "Search returns irrelevant results, and conversion or self-service drops.",
        "keywords": "irrelevant results, search, conversion, find",
    },
    {
        "slug": "scattered-knowledge",
        "use_case": SEARCH,
        "title": "Knowledge is scattered over many systems",
        "description": "Staff search five systems to answer one question, and still miss things.",
        "keywords": "cannot search in one place, documents, knowledge",
    },
]

NEEDS = [
    # --- observability ---
    {
        "slug": "distributed-tracing",
        "use_case": OBS,
        "title": "Distributed tracing",
        "area": "Request handling across services",
        "description": "Follow each request through every service, queue and database call.",
    },
    {
        "slug": "log-correlation",
        "use_case": OBS,
        "title": "Log correlation with traces and metrics",
        "area": "Incident investigation",
        "description": "Jump from a slow trace or a metric spike to the exact log lines behind it.",
    },
    {
        "slug": "slos-error-budgets",
        "use_case": OBS,
        "title": "Service level objectives and error budgets",
        "area": "Service level management",
        "description": "Agree what 'good' means per service and alert on burning the budget.",
    },
    {
        "slug": "anomaly-detection",
        "use_case": OBS,
        "title": "Anomaly detection on metrics and logs",
        "area": "Alerting and on-call",
        "description": "Learn normal behaviour and flag deviations before thresholds are hit.",
    },
    {
        "slug": "synthetic-monitoring",
        "use_case": OBS,
        "title": "Synthetic monitoring of key journeys",
        "area": "Availability checks",
        "description": "Scripted checks of login, search and checkout from several locations.",
    },
    {
        "slug": "real-user-monitoring",
        "use_case": OBS,
        "title": "Real user monitoring",
        "area": "Digital experience",
        "description": "Measure page loads and errors as real users experience them.",
    },
    {
        "slug": "kubernetes-observability",
        "use_case": OBS,
        "title": "Kubernetes and cloud infrastructure metrics",
        "area": "Platform operations",
        "description": "Nodes, pods and managed services with their metadata, auto-discovered.",
    },
    {
        "slug": "unified-platform",
        "use_case": OBS,
        "title": "One platform for logs, metrics and traces",
        "area": "Tool consolidation",
        "description": "A single store and UI instead of one tool per signal and per team.",
    },
    {
        "slug": "deployment-tracking",
        "use_case": OBS,
        "title": "Deployment markers and version comparison",
        "area": "Release management",
        "description": "See each release on the charts and compare error rates before and after.",
    },
    {
        "slug": "alert-routing",
        "use_case": OBS,
        "title": "Alert routing to on-call and chat",
        "area": "Alerting and on-call",
        "description": "Send the right alert to the right team with context attached.",
    },
    # --- security ---
    {
        "slug": "siem-coverage",
        "use_case": SEC,
        "title": "SIEM with broad data-source coverage",
        "area": "Security monitoring",
        "description": "Collect and normalise logs from every system class into one place.",
    },
    {
        "slug": "endpoint-telemetry",
        "use_case": SEC,
        "title": "Endpoint telemetry and response",
        "area": "Endpoint protection",
        "description": "Process, file and network events from every laptop and server.",
    },
    {
        "slug": "network-visibility",
        "use_case": SEC,
        "title": "Network flow and DNS visibility",
        "area": "Network security",
        "description": "Flow logs, DNS and proxy data to see lateral movement and exfiltration.",
    },
    {
        "slug": "prebuilt-detections",
        "use_case": SEC,
        "title": "Prebuilt detection rules mapped to MITRE ATT&CK",
        "area": "Threat detection",
        "description": "Maintained rules with known coverage instead of hand-written queries.",
    },
    {
        "slug": "threat-hunting",
        "use_case": SEC,
        "title": "Fast search over long retention for threat hunting",
        "area": "Threat hunting",
        "description": "Months of data searchable in seconds, to test ideas and scope attacks.",
    },
    {
        "slug": "entity-risk-scoring",
        "use_case": SEC,
        "title": "Entity risk scoring and alert correlation",
        "area": "Alert triage",
        "description": "Group related alerts per host and user and rank them by risk.",
    },
    {
        "slug": "case-automation",
        "use_case": SEC,
        "title": "Case management and automated response",
        "area": "Incident response",
        "description": "Open cases with evidence attached and isolate hosts automatically.",
    },
    {
        "slug": "compliant-retention",
        "use_case": SEC,
        "title": "Compliant retention and audit reporting",
        "area": "Compliance",
        "description": "Tamper-evident storage for the required period and ready-made reports.",
    },
    {
        "slug": "cloud-posture-management",
        "use_case": SEC,
        "title": "Cloud security posture management",
        "area": "Cloud security",
        "description": "Continuous checks of cloud configuration against benchmarks.",
    },
    # --- search ---
    {
        "slug": "relevance-tuning",
        "use_case": SEARCH,
        "title": "Relevance tuning and analytics",
        "area": "Site search",
        "description": "Synonyms, boosting and click analytics to improve results.",
    },
    {
        "slug": "federated-connectors",
        "use_case": SEARCH,
        "title": "Connectors to content sources",
        "area": "Workplace search",
        "description": "Index wikis, drives and ticketing systems with their permissions.",
    },
    {
        "slug": "semantic-search",
        "use_case": SEARCH,
        "title": "Semantic (vector) search",
        "area": "Site search",
        "description": "Match meaning, not only words, for natural-language questions.",
    },
]

LINKS = [
    # --- observability: downtime with an unknown cause ---
    {
        "challenge": "downtime-unknown-cause",
        "need": "distributed-tracing",
        "narrative": (
            "When an outage starts, tracing shows which service in the chain fails or slows "
            "down, so the root cause is found in minutes instead of being guessed at."
        ),
        "kpis": ["Mean time to identify the cause", "Share of incidents with a known root cause"],
    },
    {
        "challenge": "downtime-unknown-cause",
        "need": "log-correlation",
        "narrative": (
            "Logs tied to the failing trace explain the error itself: the exception, the bad "
            "configuration value, the exhausted pool. That turns 'something is down' into a fix."
        ),
        "kpis": ["Mean time to resolve (MTTR)", "Incidents escalated to another team"],
    },
    {
        "challenge": "downtime-unknown-cause",
        "need": "slos-error-budgets",
        "narrative": (
            "Objectives on what customers experience make degradation visible before it is an "
            "outage, and give the business a number to talk about instead of anecdotes."
        ),
        "kpis": ["SLO attainment per service", "Customer satisfaction (CSAT) after incidents"],
    },
    {
        "challenge": "downtime-unknown-cause",
        "need": "anomaly-detection",
        "narrative": (
            "Learning normal behaviour catches the slow drift that precedes many outages, so the "
            "team hears about it before customers do."
        ),
        "kpis": ["Incidents detected by monitoring before a customer report"],
    },
    {
        "challenge": "downtime-unknown-cause",
        "need": "synthetic-monitoring",
        "narrative": (
            "Scripted checks of the journeys customers depend on reveal an outage the moment it "
            "happens, including at night and in regions with little traffic."
        ),
        "kpis": ["Mean time to detect (MTTD)", "Availability of key journeys"],
    },
    # --- observability: slow incident resolution ---
    {
        "challenge": "slow-incident-resolution",
        "need": "distributed-tracing",
        "narrative": (
            "A shared end-to-end view ends the blame game in the war room: everyone sees the "
            "same request and the same slow hop."
        ),
        "kpis": ["MTTR", "People involved per major incident"],
    },
    {
        "challenge": "slow-incident-resolution",
        "need": "log-correlation",
        "narrative": (
            "Moving from a trace to its logs without copying IDs between tools removes most of "
            "the manual steps of an investigation."
        ),
        "kpis": ["Time from alert to first useful finding"],
    },
    {
        "challenge": "slow-incident-resolution",
        "need": "alert-routing",
        "narrative": (
            "Alerts that reach the owning team with context attached start the right people "
            "working at once instead of after a round of forwarding."
        ),
        "kpis": ["Time to acknowledge", "Alerts reassigned to another team"],
    },
    # --- observability: tool sprawl ---
    {
        "challenge": "monitoring-tool-sprawl",
        "need": "unified-platform",
        "narrative": (
            "One platform for all signals cuts licence and operating cost and lets a symptom "
            "and its cause be correlated in one place."
        ),
        "kpis": ["Number of monitoring tools", "Yearly monitoring spend"],
    },
    {
        "challenge": "monitoring-tool-sprawl",
        "need": "log-correlation",
        "narrative": (
            "Correlation only works when logs, metrics and traces share a store and a schema; "
            "consolidation is what makes it possible."
        ),
        "kpis": ["Investigations needing more than one tool"],
    },
    # --- observability: risky releases ---
    {
        "challenge": "risky-releases",
        "need": "deployment-tracking",
        "narrative": (
            "Release markers and before/after comparison show within minutes whether a "
            "deployment raised errors or latency, so a bad release is rolled back early."
        ),
        "kpis": ["Change failure rate", "Time to detect a bad release"],
    },
    {
        "challenge": "risky-releases",
        "need": "slos-error-budgets",
        "narrative": (
            "Error budgets turn release caution into a rule the teams agree on: ship while the "
            "budget lasts, slow down when it burns."
        ),
        "kpis": ["Deployment frequency", "Error budget remaining"],
    },
    {
        "challenge": "risky-releases",
        "need": "real-user-monitoring",
        "narrative": (
            "Real user data shows the impact of a release on actual customers, by browser, "
            "device and country, not only on the servers."
        ),
        "kpis": ["Front-end error rate after releases"],
    },
    # --- observability: cloud migration ---
    {
        "challenge": "cloud-migration-visibility",
        "need": "kubernetes-observability",
        "narrative": (
            "Auto-discovered cluster and cloud metrics with their labels show what runs where, "
            "even for containers that live for minutes."
        ),
        "kpis": ["Share of workloads monitored", "Migration incidents"],
    },
    {
        "challenge": "cloud-migration-visibility",
        "need": "distributed-tracing",
        "narrative": (
            "As monoliths are split into services during the move, tracing keeps the request "
            "path understandable."
        ),
        "kpis": ["Latency of migrated services against the old baseline"],
    },
    # --- observability: digital experience ---
    {
        "challenge": "slow-digital-experience",
        "need": "real-user-monitoring",
        "narrative": (
            "Measuring load times per page and step shows which part of the journey loses "
            "customers, and the business can put a revenue figure on it."
        ),
        "kpis": ["Checkout conversion rate", "Core Web Vitals"],
    },
    {
        "challenge": "slow-digital-experience",
        "need": "synthetic-monitoring",
        "narrative": (
            "Scripted journeys from the customers' regions catch slow third-party scripts and "
            "regional problems before the campaign traffic arrives."
        ),
        "kpis": ["Journey duration per region"],
    },
    # --- security: blind spots ---
    {
        "challenge": "limited-visibility-blind-spots",
        "need": "siem-coverage",
        "narrative": (
            "Bringing every class of system into one SIEM closes the gaps attackers hide in and "
            "gives the team a coverage figure it can report on."
        ),
        "kpis": ["Share of critical assets sending logs", "Data sources onboarded"],
    },
    {
        "challenge": "limited-visibility-blind-spots",
        "need": "endpoint-telemetry",
        "narrative": (
            "Laptops and servers are where most attacks land; telemetry from each of them "
            "removes the largest blind spot."
        ),
        "kpis": ["Endpoints with an active agent"],
    },
    {
        "challenge": "limited-visibility-blind-spots",
        "need": "network-visibility",
        "narrative": (
            "Flow and DNS data show movement between systems that endpoint and application logs "
            "miss, including devices that cannot run an agent."
        ),
        "kpis": ["Network segments monitored"],
    },
    {
        "challenge": "limited-visibility-blind-spots",
        "need": "cloud-posture-management",
        "narrative": (
            "Cloud accounts created outside IT are a classic blind spot; posture checks find them "
            "and show what is exposed."
        ),
        "kpis": ["Cloud accounts under monitoring", "Open critical misconfigurations"],
    },
    # --- security: late detection ---
    {
        "challenge": "late-threat-detection",
        "need": "prebuilt-detections",
        "narrative": (
            "Maintained detection rules mapped to attacker techniques catch known behaviour on "
            "day one, without the team writing every query itself."
        ),
        "kpis": ["Mean time to detect", "ATT&CK techniques covered"],
    },
    {
        "challenge": "late-threat-detection",
        "need": "threat-hunting",
        "narrative": (
            "Fast search over months of data lets analysts scope an intrusion in hours and find "
            "the first compromised host."
        ),
        "kpis": ["Time to scope an incident", "Days of searchable retention"],
    },
    {
        "challenge": "late-threat-detection",
        "need": "endpoint-telemetry",
        "narrative": (
            "Process-level events from endpoints show what an attacker actually ran, which is "
            "what an investigation needs first."
        ),
        "kpis": ["Investigations closed within a day"],
    },
    # --- security: alert fatigue ---
    {
        "challenge": "alert-fatigue",
        "need": "entity-risk-scoring",
        "narrative": (
            "Grouping alerts per user and host and ranking them by risk lets analysts start with "
            "the few that matter."
        ),
        "kpis": ["Alerts per analyst per day", "Share of alerts closed as false positives"],
    },
    {
        "challenge": "alert-fatigue",
        "need": "case-automation",
        "narrative": (
            "Automating enrichment and the obvious responses takes routine work off the queue "
            "and keeps evidence in one case."
        ),
        "kpis": ["Mean time to respond", "Manual steps per case"],
    },
    {
        "challenge": "alert-fatigue",
        "need": "prebuilt-detections",
        "narrative": (
            "Tuned, maintained rules produce fewer false positives than home-grown ones written "
            "under time pressure."
        ),
        "kpis": ["False-positive rate per rule"],
    },
    # --- security: audits ---
    {
        "challenge": "audit-compliance-pressure",
        "need": "compliant-retention",
        "narrative": (
            "Tamper-evident retention for the required period and ready-made reports turn weeks "
            "of audit preparation into a query."
        ),
        "kpis": ["Time to answer an audit request", "Repeat audit findings"],
    },
    {
        "challenge": "audit-compliance-pressure",
        "need": "siem-coverage",
        "narrative": (
            "Auditors ask about access to regulated systems; having their logs in one place is "
            "the precondition for any answer."
        ),
        "kpis": ["Regulated systems covered"],
    },
    # --- security: ransomware ---
    {
        "challenge": "ransomware-exposure",
        "need": "endpoint-telemetry",
        "narrative": (
            "Behavioural protection on endpoints spots mass encryption early and stops the "
            "process before shared drives are hit."
        ),
        "kpis": ["Time from first malicious process to containment"],
    },
    {
        "challenge": "ransomware-exposure",
        "need": "case-automation",
        "narrative": (
            "Isolating an infected host automatically, at any hour, limits the damage to one "
            "machine; the board wants to hear exactly that."
        ),
        "kpis": ["Hosts affected per incident", "Mean time to contain"],
    },
    # --- security: cloud misconfiguration ---
    {
        "challenge": "cloud-misconfiguration",
        "need": "cloud-posture-management",
        "narrative": (
            "Continuous checks against benchmarks find open buckets and broad permissions as "
            "they are created, not at the next audit."
        ),
        "kpis": ["Open critical findings", "Time to fix a misconfiguration"],
    },
    {
        "challenge": "cloud-misconfiguration",
        "need": "siem-coverage",
        "narrative": (
            "Cloud audit logs in the SIEM show who changed a configuration and whether it was "
            "abused while it was open."
        ),
        "kpis": ["Cloud audit log sources onboarded"],
    },
    # --- search ---
    {
        "challenge": "irrelevant-search-results",
        "need": "relevance-tuning",
        "narrative": "Synonyms, boosts and click analytics fix the top failing queries first.",
        "kpis": ["Search conversion rate", "Queries with no click"],
    },
    {
        "challenge": "irrelevant-search-results",
        "need": "semantic-search",
        "narrative": "Matching meaning answers the long, natural questions keyword search misses.",
        "kpis": ["Zero-result queries"],
    },
    {
        "challenge": "scattered-knowledge",
        "need": "federated-connectors",
        "narrative": "One search over every source, respecting permissions, ends system hopping.",
        "kpis": ["Time to find an answer", "Tickets solved by self-service"],
    },
]

CATALOG = {"challenges": CHALLENGES, "needs": NEEDS, "links": LINKS}
