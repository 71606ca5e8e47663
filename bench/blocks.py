"""Bench: the building-block library and the opportunity-page panel.

`blocks_search`: server time of the library page (`/blocks/`, full-text search, the five facets
with their counts, one page of results, rendered) through django.test.Client, on 10,000
blocks, as an SA (published blocks only) and as a curator (every status), plus the API list
with `q`. Target: p50 ≤ 100 ms in every variant, and the same query count for every variant.

`blocks_panel`: the recommended blocks and the discovery panel of the opportunity page for
open deals, rendered on their own. Target: 3 queries whatever the deal; p50 reported.

The blocks (and their tags, first versions and some uses on the bench deals) are generated once
with bulk inserts and a single search-vector UPDATE, and kept for the next run.

Registered by importing this module: bench/scenarios/__init__.py needs `from bench import
blocks`. Until then, `python -m bench.blocks [bench.run options]` runs just these scenarios.
Model imports stay inside functions, so the module can be imported before Django is set up.
"""

from __future__ import annotations

import random
import re
import sys
import time

from bench.registry import latency_summary, measure, scenario

BLOCK_COUNT = 10_000
USAGE_COUNT = 20_000
SEARCH_TARGET_MS = 100.0
PANEL_QUERIES = 3
WARM_UP = 10
REPEAT = 60
PANEL_DEALS = 30
SEED = 4242
CURATOR = "bench-curator"
# Bumped when the generated library changes; a library of another version is rebuilt.
DATASET_VERSION = "2"

KINDS = (
    "discovery_guide", "question_set", "demo_script", "architecture", "white_paper",
    "comparison", "case_study", "solution_template", "contract_template", "sizing_sheet",
    "training", "other",
)  # fmt: skip
STAGES = (
    ("preparation", "Preparation"), ("discovery", "Discovery"), ("demo-d2w", "Demo (D2W)"),
    ("proof-of-concept", "Proof of concept"), ("technical-qa", "Technical Q&A"),
    ("sizing", "Sizing"),
)  # fmt: skip
USE_CASES = (("observability", "Observability"), ("security", "Security"), ("search", "Search"))
INDUSTRIES = (
    "Banking", "Insurance", "Retail", "E-commerce", "Telecommunications", "Healthcare",
    "Logistics", "Manufacturing", "Public sector", "Energy", "Media", "Software",
)  # fmt: skip
PRODUCTS = ("Elastic Observability", "Elastic Security", "Elasticsearch", "Elastic Cloud")
# Each topic brings its own words, so a search term matches the blocks about it and a few that
# mention it in passing, as in a real library; GENERAL words appear everywhere ("customer" is
# the broad, worst-case search).
TOPICS = {
    "distributed tracing": "trace span latency instrumentation propagation sampling waterfall",
    "log correlation": "log correlation parsing pipeline field message ingest",
    "service level objectives": "slo objective budget burn availability reliability target",
    "anomaly detection": "anomaly baseline deviation seasonality outlier model forecast",
    "synthetic monitoring": "synthetic journey browser probe uptime location scripted",
    "real user monitoring": "rum pageload vitals session browser frontend conversion",
    "Kubernetes monitoring": "kubernetes pod node cluster container namespace helm",
    "SIEM migration": "siem migration detection rule parser correlation ingest",
    "endpoint telemetry": "endpoint agent process malware ransomware isolation laptop",
    "threat hunting": "hunting hypothesis adversary lateral persistence query timeline",
    "alert triage": "alert triage analyst noise priority risk queue",
    "compliance reporting": "compliance audit evidence regulation retention report control",
    "cloud posture": "posture misconfiguration bucket permission benchmark account cloud",
    "site search relevance": "relevance ranking synonym boost query click catalogue",
    "workplace search": "connector wiki drive permission document intranet",
    "vector search": "vector embedding semantic similarity model nearest",
    "data retention tiers": "retention tier frozen snapshot storage cost archive",
    "high availability": "availability replica zone failover snapshot upgrade",
    "capacity sizing": "sizing capacity throughput shard memory disk growth",
    "OpenTelemetry rollout": "opentelemetry collector exporter instrumentation sdk semantic",
}
GENERAL = (
    "customer team project meeting outcome value business risk cost plan week goal owner "
    "decision process service platform result question answer example step option approach "
    "requirement stakeholder sponsor champion timeline budget criteria success workshop demo"
).split()
FORMS = (
    "{topic} discovery questions", "{topic} demo script", "{topic} reference architecture",
    "{topic} for {industry}: case study", "{topic} sizing notes", "{topic} objection handling",
    "{topic} POC success plan", "{topic} comparison sheet", "{topic} one-pager",
)  # fmt: skip


def _sentence(rng: random.Random, topic_words: list[str], length: int) -> str:
    words = []
    for _ in range(length):
        draw = rng.random()
        if draw < 0.35:
            words.append(rng.choice(topic_words))
        elif draw < 0.97:
            words.append(rng.choice(GENERAL))
        else:  # a word of another topic, in passing
            words.append(rng.choice(rng.choice(list(TOPICS.values())).split()))
    return " ".join(words).capitalize() + "."


def ensure_blocks(log=print) -> dict:
    """10,000 blocks with tags and a first version; uses on the bench deals. Idempotent."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone
    from django.utils.text import slugify

    from building_blocks.models import BlockUsage, BlockVersion, BuildingBlock, Tag
    from building_blocks.services import catalog_load, search_vectors_refresh
    from epos.lib.roles import CURATOR as CURATOR_ROLE
    from epos.lib.roles import assign_role
    from opportunities.models import Opportunity

    rng = random.Random(SEED)
    report = {"generated_blocks": False, "generated_usages": False}
    marker = f"Curator v{DATASET_VERSION}"
    curator, created = get_user_model().objects.get_or_create(
        username=CURATOR, defaults={"first_name": "Bench", "last_name": marker}
    )
    if created:
        assign_role(curator, CURATOR_ROLE)
    current = curator.last_name == marker and not created
    if BuildingBlock.objects.count() < BLOCK_COUNT or not current:
        started = time.perf_counter()
        with transaction.atomic():
            BuildingBlock.objects.all().delete()
            tags = {}
            wanted = (
                [("stage", slug, name) for slug, name in STAGES]
                + [("use_case", slug, name) for slug, name in USE_CASES]
                + [("industry", slugify(name), name) for name in INDUSTRIES]
                + [("product", slugify(name), name) for name in PRODUCTS]
            )
            for kind, slug, name in wanted:
                tags[(kind, slug)], _ = Tag.objects.get_or_create(
                    kind=kind, slug=slug, defaults={"name": name}
                )
            now = timezone.now()
            blocks = []
            for _ in range(BLOCK_COUNT):
                topic, industry = rng.choice(list(TOPICS)), rng.choice(INDUSTRIES)
                topic_words = TOPICS[topic].split()
                status = rng.choices(
                    ("published", "draft", "in_review", "archived"), weights=(85, 5, 5, 5)
                )[0]
                body = "\n\n".join(
                    _sentence(rng, topic_words, rng.randint(12, 30))
                    for _ in range(rng.randint(3, 8))
                )
                blocks.append(
                    BuildingBlock(
                        title=rng.choice(FORMS).format(topic=topic, industry=industry)[:200],
                        kind=rng.choice(KINDS),
                        summary=f"About {topic}. "
                        + _sentence(rng, topic_words, rng.randint(8, 20)),
                        body=f"## {topic.capitalize()}\n\n{body}",
                        status=status,
                        owner=curator,
                        published_at=now if status in ("published", "archived") else None,
                        review_due=(now + timezone.timedelta(days=rng.randint(-60, 180))).date(),
                        version=1,
                    )
                )
            BuildingBlock.objects.bulk_create(blocks, batch_size=2000)
            through = BuildingBlock.tags.through
            links = []
            for block in blocks:
                chosen = {("stage", slug) for slug, _ in rng.sample(STAGES, rng.randint(0, 2))}
                chosen |= {
                    ("use_case", slug) for slug, _ in rng.sample(USE_CASES, rng.randint(1, 2))
                }
                chosen |= {
                    ("industry", slugify(name))
                    for name in rng.sample(INDUSTRIES, rng.randint(0, 2))
                }
                chosen |= {
                    ("product", slugify(name)) for name in rng.sample(PRODUCTS, rng.randint(0, 1))
                }
                links += [through(buildingblock_id=block.pk, tag_id=tags[key].pk) for key in chosen]
            through.objects.bulk_create(links, batch_size=5000)
            BlockVersion.objects.bulk_create(
                [
                    BlockVersion(
                        block=block, number=1, title=block.title, kind=block.kind,
                        summary=block.summary, body=block.body, status=block.status,
                        note="Created", created_at=now, created_by=curator,
                    )
                    for block in blocks
                ],
                batch_size=2000,
            )  # fmt: skip
            search_vectors_refresh()
            catalog_load()
            get_user_model().objects.filter(pk=curator.pk).update(last_name=marker)
        report["generated_blocks"] = True
        log(f"Generated {BLOCK_COUNT:,} blocks in {time.perf_counter() - started:.1f}s")
    if report["generated_blocks"]:
        BlockUsage.objects.all().delete()
    if not BlockUsage.objects.exists():
        # The bench generator truncates deals (and with them every use) when it regenerates.
        published = list(
            BuildingBlock.objects.filter(status="published").values_list("pk", flat=True)
        )
        deals = list(Opportunity.objects.values_list("pk", "stage_id", "owner_id"))
        if deals and published:
            now = timezone.now()
            seen, usages = set(), []
            for _ in range(USAGE_COUNT):
                block_id = rng.choice(published)
                deal_id, stage_id, owner_id = rng.choice(deals)
                if (block_id, deal_id, stage_id) in seen:
                    continue
                seen.add((block_id, deal_id, stage_id))
                usages.append(
                    BlockUsage(
                        block_id=block_id, opportunity_id=deal_id, stage_id=stage_id,
                        user_id=owner_id, at=now,
                    )
                )  # fmt: skip
            BlockUsage.objects.bulk_create(usages, batch_size=5000)
            report["generated_usages"] = True
            log(f"Recorded {len(usages):,} block uses on {len(deals):,} bench deals")
    with connection.cursor() as cursor:
        # VACUUM also flushes the GIN pending list that the bulk insert filled: until then
        # every search rechecks most of the table (autovacuum does the same in production).
        for model in (BuildingBlock, BuildingBlock.tags.through, BlockUsage):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    report["blocks"] = BuildingBlock.objects.count()
    report["published"] = BuildingBlock.objects.filter(status="published").count()
    report["usages"] = BlockUsage.objects.count()
    return report


def _session_client(user):
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    return client


def _count_queries(call) -> int:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # a full query log (9,000) would make captures count none
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


SEARCHES = {
    "q=tracing": {"q": "tracing"},
    "q=kubernetes demo, use_case": {"q": "kubernetes demo", "use_case": "observability"},
    "q=sizing, sort=popular": {"q": "sizing", "sort": "popular"},
    "q=retention, stage, page 2": {"q": "retention", "stage": "technical-qa", "page": "2"},
    "stage + kind, no q": {"stage": "discovery", "kind": "demo_script"},
    "everything, page 1": {},
    "q=customer (in most blocks)": {"q": "customer"},
}


@scenario(
    "blocks_search",
    target=f"p50 ≤ {SEARCH_TARGET_MS:.0f} ms with facets on {BLOCK_COUNT:,} blocks; "
    "same query count in every variant",
)
def blocks_search(ctx) -> dict:
    from django.contrib.auth import get_user_model

    from bench.board import _ensure_static_collected

    _ensure_static_collected()
    dataset = ensure_blocks()
    sa = ctx.sas()[0]
    curator = get_user_model().objects.get(username=CURATOR)
    api = ctx.client(sa)
    clients = {"sa": _session_client(sa), "curator": _session_client(curator)}
    results = {}
    for who, client in clients.items():
        for name, params in SEARCHES.items():
            results[f"{who} html {name}"] = _time_get(client, "/blocks/", params)
    for name in ("q=tracing", "q=kubernetes demo, use_case"):
        results[f"sa api {name}"] = _time_get(api, "/api/v1/building-blocks/", SEARCHES[name])
    worst = max(results.values(), key=lambda summary: summary["p50_ms"])
    html_queries = {s["queries"] for n, s in results.items() if " html " in n}
    met = all(s["p50_ms"] <= SEARCH_TARGET_MS for s in results.values()) and len(html_queries) == 1
    return {
        "p50_ms": worst["p50_ms"],
        "cpu_p50_ms": worst.get("cpu_p50_ms"),
        "p95_ms": max(s["p95_ms"] for s in results.values()),
        "queries": max(html_queries),
        "n": sum(s["n"] for s in results.values()),
        "met": met,
        "summary": f"worst variant; html queries {sorted(html_queries)}; "
        f"{dataset['published']:,} of {dataset['blocks']:,} blocks published",
        "variants": results,
        "dataset": dataset,
    }


def _time_get(client, url: str, params: dict) -> dict:
    for _ in range(WARM_UP):
        client.get(url, params)
    walls, cpus = [], []
    response = None
    for _ in range(REPEAT):
        wall, cpu, response = measure(lambda: client.get(url, params))
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} {params} answered {response.status_code}")
        walls.append(wall)
        cpus.append(cpu)
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        rows, total = len(body["results"]), body["count"]
    else:
        html = response.content.decode()
        rows = html.count('class="bb-card" data-block-id=')
        found = re.search(r'data-testid="result-count">([\d,]+) block', html)
        total = int(found.group(1).replace(",", "")) if found else 0
    return latency_summary(walls, cpus) | {
        "queries": _count_queries(lambda: client.get(url, params)),
        "rows": rows,
        "total": total,
    }


@scenario("blocks_panel", target=f"≤ {PANEL_QUERIES} queries for any deal; p50 reported")
def blocks_panel(ctx) -> dict:
    from django.db import connection, reset_queries
    from django.template import Context, Template
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from epos.lib.roles import user_roles
    from opportunities.models import Opportunity
    from opportunities.permissions import can_edit_opportunity
    from opportunities.selectors import opportunity_get

    ensure_blocks()
    template = Template('{% include "building_blocks/partials/_opportunity_panel.html" %}')
    deals = list(
        Opportunity.objects.filter(outcome="open", owner__isnull=False)
        .order_by("pk")
        .values_list("pk", "owner_id")[:PANEL_DEALS]
    )
    from django.contrib.auth import get_user_model

    owners = {
        user.pk: user for user in get_user_model().objects.filter(pk__in={o for _, o in deals})
    }
    walls, cpus, queries = [], [], set()
    for round_ in range(3):
        for deal_id, owner_id in deals:
            user = owners[owner_id]
            request = RequestFactory().get(f"/opportunities/{deal_id}/")
            request.user, request.htmx = user, False
            # What the opportunity page has loaded before it includes the panel.
            opportunity = opportunity_get(user=user, pk=deal_id)
            user_roles(user), can_edit_opportunity(user, opportunity)
            context = Context({"request": request, "opportunity": opportunity})
            reset_queries()  # a full query log (9,000) would make captures count none
            with CaptureQueriesContext(connection) as captured:
                wall, cpu, html = measure(lambda c=context: template.render(c))
            if round_:  # the first round warms up
                walls.append(wall)
                cpus.append(cpu)
            queries.add(len(captured.captured_queries))
            if 'id="blocks-panel"' not in html:
                raise RuntimeError("The panel did not render")
    summary = latency_summary(walls, cpus)
    return summary | {
        "queries": max(queries),
        "met": max(queries) <= PANEL_QUERIES,
        "summary": f"{len(deals)} open deals, queries per render {sorted(queries)}",
    }


if __name__ == "__main__":
    # `python -m bench.blocks [--scale 0.05] [...]`: these two scenarios through bench.run.
    sys.modules.setdefault("bench.blocks", sys.modules["__main__"])
    from bench import run

    arguments = sys.argv[1:]
    if "--only" not in arguments:
        arguments += ["--only", "blocks_search,blocks_panel"]
    sys.exit(run.main(arguments))
