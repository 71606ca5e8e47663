"""The demo's vocabulary: places, names, industries, pains, reasons and summaries to draw from.

Plain tables; `plan` decides which entries each person, account and deal gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACES = {
    "EMEA": (
        ("Germany", "Berlin"),
        ("Germany", "Munich"),
        ("France", "Paris"),
        ("United Kingdom", "London"),
        ("United Kingdom", "Manchester"),
        ("Netherlands", "Amsterdam"),
        ("Spain", "Madrid"),
        ("Sweden", "Stockholm"),
        ("Poland", "Warsaw"),
        ("United Arab Emirates", "Dubai"),
        ("Italy", "Milan"),
    ),
    "Americas": (
        ("United States", "New York"),
        ("United States", "Austin"),
        ("United States", "Chicago"),
        ("United States", "Seattle"),
        ("United States", "Atlanta"),
        ("Canada", "Toronto"),
        ("Brazil", "São Paulo"),
        ("Mexico", "Mexico City"),
        ("Chile", "Santiago"),
    ),
    "APAC": (
        ("Singapore", "Singapore"),
        ("Australia", "Sydney"),
        ("Australia", "Melbourne"),
        ("Japan", "Tokyo"),
        ("India", "Bengaluru"),
        ("South Korea", "Seoul"),
        ("New Zealand", "Auckland"),
        ("Indonesia", "Jakarta"),
    ),
}

FIRST_NAMES = (
    "Amelia", "Noah", "Sofia", "Lucas", "Hannah", "Mateo", "Chloe", "Elias", "Priya", "Kenji",
    "Fatima", "Oliver", "Ingrid", "Rafael", "Mei", "Tomasz", "Leila", "Jonas", "Aisha", "Diego",
    "Freya", "Arjun", "Yuki", "Marco", "Nadia", "Samuel", "Elena", "Kwame", "Isabel", "Henrik",
    "Zara", "Pablo", "Anika", "Omar", "Clara", "Daniel", "Sakura", "Luca", "Maya", "Victor",
    "Grace", "Ibrahim", "Julia", "Ethan", "Nora", "Ravi", "Lina", "Felix", "Camila", "Hugo",
)  # fmt: skip
LAST_NAMES = (
    "Schneider", "Okafor", "Martin", "Nakamura", "Kowalski", "Fernández", "Johansson", "Patel",
    "Rossi", "Dubois", "Kim", "Silva", "Müller", "Haddad", "O'Brien", "Novak", "Tanaka", "Larsen",
    "García", "Mensah", "Chen", "Lindqvist", "Moreau", "Singh", "Costa", "Weber", "Ahmed", "Park",
    "Jansen", "Russo", "Kaya", "Nguyen", "Bauer", "Herrera", "Walsh", "Ivanova", "Sato", "Brown",
    "Petrov", "Almeida",
)  # fmt: skip

ACCOUNT_WORDS = (
    "Northwind", "Bluefin", "Harbor", "Alpine", "Crescent", "Ironbridge", "Lakeside", "Meridian",
    "Nordlicht", "Orchid", "Pinecrest", "Quantum", "Redwood", "Silverline", "Tidewater", "Vantage",
    "Westport", "Zenith", "Aurora", "Brightwater", "Cobalt", "Driftwood", "Evergreen", "Fjord",
    "Granite", "Helix", "Juniper", "Keystone", "Lumos", "Monarch", "Nimbus", "Oakridge", "Polaris",
    "Sable", "Summit", "Terra", "Verdant", "Atlas", "Beacon", "Cedar", "Delta", "Ember", "Falcon",
    "Glacier", "Horizon", "Indigo", "Jade", "Bayside", "Lighthouse", "Magnolia", "Neptune",
    "Onyx", "Pioneer", "Quarry", "Riverstone", "Sequoia", "Trident", "Unity", "Vista", "Willow",
    "Yarrow", "Zephyr", "Amber", "Boreal", "Cascade", "Dune", "Equinox", "Foxglove", "Greystone",
    "Halcyon",
)  # fmt: skip

# industry: (weight, name suffixes, systems the business depends on, ownerships to draw from)
INDUSTRIES = {
    "Banking": (
        8, ("Bank", "Capital", "Financial"),
        ("online banking platform", "card payment gateway"), ("public", "private", "state_owned"),
    ),
    "Insurance": (
        5, ("Insurance", "Assurance"), ("claims platform", "policy portal"), ("public", "private"),
    ),
    "Retail": (
        7, ("Retail", "Stores", "Markets"), ("web shop", "point-of-sale network"),
        ("public", "private"),
    ),
    "E-commerce": (6, ("Shop", "Commerce"), ("checkout", "marketplace"), ("private", "public")),
    "Telecommunications": (
        6, ("Telecom", "Networks"), ("subscriber portal", "5G core network"),
        ("public", "state_owned"),
    ),
    "Healthcare": (
        5, ("Health", "Clinics", "Care"), ("patient portal", "clinical systems"),
        ("non_profit", "private", "state_owned"),
    ),
    "Logistics": (
        6, ("Logistics", "Freight"), ("shipment tracking platform", "warehouse management system"),
        ("private", "public"),
    ),
    "Manufacturing": (
        6, ("Industries", "Manufacturing"), ("plant-floor systems", "supplier portal"),
        ("private", "public"),
    ),
    "Public sector": (
        4, ("Agency", "Authority"), ("citizen services portal", "tax filing platform"),
        ("state_owned",),
    ),
    "Energy": (
        4, ("Energy", "Power"), ("smart-meter platform", "grid control systems"),
        ("state_owned", "public"),
    ),
    "Media": (
        4, ("Media", "Broadcasting"), ("streaming platform", "ad-serving stack"),
        ("private", "public"),
    ),
    "Software": (
        7, ("Software", "Labs", "Cloud"), ("SaaS platform", "public developer API"),
        ("private", "public"),
    ),
    "Education": (
        3, ("University", "Academy"), ("learning management system", "student portal"),
        ("non_profit", "state_owned"),
    ),
    "Travel": (
        4, ("Travel", "Airways"), ("booking engine", "mobile app"), ("public", "private"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class SegmentSpec:
    weight: int
    employees: tuple[int, int]
    median_amount: int  # USD
    deal_weight: float  # how many deals an account of the segment attracts, relatively
    own_infrastructure: float  # share running their own data centres


SEGMENTS = {
    "smb": SegmentSpec(3, (25, 250), 16000, 1.0, 0.3),
    "mid_market": SegmentSpec(4, (250, 5000), 65000, 2.0, 0.55),
    "enterprise": SegmentSpec(3, (5000, 120000), 260000, 3.2, 0.8),
}

PAINS = {
    "observability": (
        "Unexplained outages of its {system} hurt customer satisfaction: customers report "
        "incidents before the on-call team sees them, and **the cause of downtime stays unknown** "
        "for hours.",
        "Monitoring is spread over five tools, so every slowdown of its {system} turns into a "
        "war room where **nobody can follow a request end to end**.",
    ),
    "security": (
        "The security team has **limited visibility and blind spots** across its {system}, "
        "which the last audit flagged as a material risk.",
        "Alerts from the {system} land in separate consoles, so **threats are detected late** and "
        "investigations take days instead of hours.",
    ),
    "search": (
        "Users struggle to find what they need: the search behind its {system} returns "
        "**irrelevant results**, and the conversion rate shows it.",
        "The records behind its {system} run into the millions, and staff **cannot search them "
        "in one place**.",
    ),
}
INFRASTRUCTURE = {
    True: (
        "It runs its own data centres and is moving the first workloads to Kubernetes.",
        "Most systems run on premises, operated by an in-house platform team.",
    ),
    False: (
        "Everything runs on a public cloud, with a small platform team owning the shared tooling.",
        "It buys managed services wherever it can and has no data centre of its own.",
    ),
}

CONTACT_TITLES = {
    "executive": ("CTO", "CIO", "CISO", "VP Engineering", "Chief Digital Officer"),
    "management": (
        "Head of SRE", "IT Operations Manager", "Security Operations Lead",
        "Director of Platform Engineering",
    ),
    "technical": ("Staff SRE", "Platform Engineer", "Security Engineer", "Solutions Architect"),
    "operations": ("NOC Lead", "Service Desk Manager", "Head of Customer Operations"),
}  # fmt: skip

USE_CASES = (("observability", 50), ("security", 32), ("search", 12), ("other", 6))
PRODUCTS = {
    "observability": ("Kestrel APM", "Kestrel Logs"),
    "security": ("Kestrel SIEM", "Kestrel Endpoint", "Kestrel Logs"),
    "search": ("Kestrel Search",),
    "other": ("Kestrel Logs",),
}
DEAL_TOPICS = {
    "observability": (
        "APM rollout", "Log consolidation", "Kubernetes monitoring", "SLO dashboards",
        "Tracing for checkout", "Monitoring tool consolidation",
    ),
    "security": (
        "SIEM migration", "Endpoint visibility", "SOC modernisation", "Cloud security posture",
        "Threat hunting platform",
    ),
    "search": ("Site search", "Knowledge base search", "Catalogue search relaunch"),
    "other": ("Data platform consolidation", "Log retention review"),
}  # fmt: skip
SOURCES = (("inbound", 30), ("outbound", 25), ("target_abm", 18), ("referral", 12), ("partner", 15))
OUTCOMES = (("won", 35), ("lost", 25), ("qualified_out", 5), ("open", 35))
WIN_BIAS = {"referral": 1.35, "partner": 1.15, "inbound": 1.05, "outbound": 0.8, "target_abm": 1.0}

LOSS_REASONS = (
    "Lost to a competitor on price",
    "Customer stayed with the incumbent vendor",
    "No decision: project postponed",
    "Budget cut after reorganisation",
    "Proof of concept missed the success criteria",
    "Procurement chose a bundled suite",
    "Champion left the company",
    "Missing capability was a deal breaker",
)
QUALIFIED_OUT_REASONS = (
    "No budget this fiscal year",
    "Only asked for a price list",
    "Not a fit: needs a fully air-gapped appliance",
    "Too small for a guided evaluation; sent to self-service",
)
OVERRIDE_REASONS = (
    "Customer signed off verbally; the written summary follows next week.",
    "Deal desk approved moving on without the formal sizing sheet.",
    "End of quarter: approved to proceed while the architecture review is pending.",
    "Executive sponsor asked to skip ahead; the checklist will be completed retroactively.",
)
BACK_NOTES = (
    "A new stakeholder joined and asked to see this part again.",
    "Requirements changed after their reorganisation; repeating this step.",
    "The first attempt did not convince the security team; going back.",
)

ACTIVITY_KINDS = (
    # stage slug keyword, activity kinds that fit it
    ("prep", ("note", "email", "call")),
    ("prospect", ("email", "call", "note")),
    ("qualif", ("call", "meeting")),
    ("discover", ("call", "meeting", "workshop")),
    ("demo", ("demo", "meeting")),
    ("proof", ("poc_work", "workshop", "call")),
    ("poc", ("poc_work", "workshop", "call")),
    ("qa", ("call", "email", "meeting")),
    ("solution", ("workshop", "meeting")),
    ("sizing", ("meeting", "email")),
    ("proposal", ("meeting", "email")),
    ("negotiat", ("call", "meeting", "email")),
)
ACTIVITY_SUMMARIES = {
    "call": ("Call with {contact} about {topic}", "Follow-up call on open questions ({topic})"),
    "meeting": ("Meeting with {contact} and team on {topic}", "Status meeting: {topic}"),
    "demo": ("Demo of {product} for {contact}", "Tailored {product} demo on their own data"),
    "workshop": ("Discovery workshop: {topic}", "Architecture workshop with {contact}"),
    "email": ("Sent recap and next steps to {contact}", "Shared reference material on {topic}"),
    "poc_work": (
        "POC: onboarding their staging cluster to {product}",
        "POC: success criteria review",
    ),
    "note": ("Research notes on {account}", "Prepared account plan for {account}"),
}
ACTIVITY_MINUTES = {
    "call": (30, 45),
    "meeting": (45, 60),
    "demo": (60, 90),
    "workshop": (120, 180, 240),
    "poc_work": (60, 120, 240, 480),
    "email": (None,),
    "note": (None,),
}
ESAT_COMMENTS = {
    5: ("Best vendor demo we have had this year.", "Very well prepared, on our own use case."),
    4: ("Good session, a few questions left for the follow-up.", "Helpful and to the point."),
    3: ("OK, but too generic for our environment.",),
    2: ("The demo environment did not match our setup.",),
    1: ("Not what we asked for.",),
}
GAPS = {
    "Kestrel APM": (
        "No auto-instrumentation for mainframe transactions",
        "Missing agent for .NET Framework 3.5",
        "Sampling rules cannot be set per tenant",
    ),
    "Kestrel Logs": (
        "No native ingestion of IBM MQ logs",
        "Retention beyond two years needs manual tiering",
        "Field-level PII masking at ingest",
    ),
    "Kestrel SIEM": (
        "No out-of-the-box SAP audit log parser",
        "Missing FedRAMP High authorisation",
        "Behaviour analytics cannot be tuned per business unit",
    ),
    "Kestrel Endpoint": ("No agent for AIX", "Isolation mode for air-gapped plants"),
    "Kestrel Search": ("No Thai language analyzer", "No A/B testing of relevance tuning"),
}
GAP_SEVERITIES = {
    "lost": (("deal_breaker", 45), ("deal_challenge", 35), ("nice_to_have", 20)),
    "other": (("deal_breaker", 8), ("deal_challenge", 42), ("nice_to_have", 50)),
}
ESAT_STAGE = re.compile(r"demo|proof|poc|solution")
