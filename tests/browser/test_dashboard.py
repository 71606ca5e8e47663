"""The manager dashboard in real Chromium: charts drawn with data, filters, CSV export and the
drill-down behind a bar."""

import pytest

from metrics.tasks import dashboard_refresh
from tests.browser.conftest import login, screenshot
from tests.metrics.conftest import build_pipeline, win_g

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pipeline(team, other_team, alice, bob, carol, dave, root):
    return build_pipeline(
        team=team, other_team=other_team, alice=alice, bob=bob, carol=carol, dave=dave, root=root
    )


def open_dashboard(page, pipeline, query="period=all"):
    page.goto(f"/dashboards/?process={pipeline.process.pk}&{query}")
    page.wait_for_function("window.eposCharts && window.eposCharts['chart-funnel']")


def chart_data(page, chart_id, dataset=0):
    return page.evaluate(
        "([id, index]) => window.eposCharts[id].data.datasets[index].data", [chart_id, dataset]
    )


def test_dashboard_draws_its_charts_with_data(page, pipeline, carol):
    login(page, "carol")
    open_dashboard(page, pipeline, "period=custom&start=2025-01-01&end=2025-06-30")

    charts = page.evaluate("Object.keys(window.eposCharts).sort()")
    assert {"chart-funnel", "chart-time_in_stage", "chart-mttc_trend", "chart-pipeline"} <= set(
        charts
    )
    assert chart_data(page, "chart-funnel") == [7, 4, 3, 3]  # entered Discovery, Demo, ...
    assert chart_data(page, "chart-funnel", 1)[:3] == [5, 2, 3]
    assert chart_data(page, "chart-pipeline") == [8000, 40000]
    kpi = page.inner_text('[data-kpi="mttc"]')
    assert "27.3" in kpi and "3 won" in kpi
    # The canvases were drawn on, not left blank.
    painted = page.evaluate(
        """() => {
            const canvas = document.querySelector('canvas[data-chart="chart-funnel"]');
            const context = canvas.getContext('2d');
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let inked = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
            return inked;
        }"""
    )
    assert painted > 1000
    screenshot(page, "dashboard-first-half-2025")


def test_a_filter_changes_the_figures(page, pipeline, carol):
    login(page, "carol")
    open_dashboard(page, pipeline)
    # All time: A, B, C and I, (12 + 30 + 35 + 40) / 4 = 29.25, shown to one decimal.
    assert "29.2 days" in page.inner_text('[data-kpi="mttc"]')
    assert page.is_hidden("#dashboard-filters .custom-dates >> nth=0")

    page.select_option("#dashboard-filters select[name=period]", "custom")
    assert page.is_visible("#dashboard-filters .custom-dates >> nth=0")
    page.fill("#dashboard-filters input[name=start]", "2025-01-01")
    page.fill("#dashboard-filters input[name=end]", "2025-06-30")
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_function("window.eposCharts && window.eposCharts['chart-funnel']")

    assert "27.3" in page.inner_text('[data-kpi="mttc"]')  # I closed in 2024
    assert "period=custom" in page.url
    page.select_option("#dashboard-filters select[name=segment]", "enterprise")
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "0 won" in page.inner_text('[data-kpi="win-rate"]')
    screenshot(page, "dashboard-filtered-enterprise")


def test_csv_export_downloads(page, pipeline, carol):
    login(page, "carol")
    open_dashboard(page, pipeline, "period=custom&start=2025-01-01&end=2025-06-30")

    with page.expect_download() as download_info:
        page.click("#funnel a.csv")
    download = download_info.value
    assert download.suggested_filename.startswith("epos-funnel-")
    with open(download.path(), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "Stage,Entered,Moved past,Conversion"
    assert lines[2] == "Demo,4,2,0.5000"


def test_clicking_a_bar_lists_the_deals_behind_it(page, pipeline, carol):
    login(page, "carol")
    open_dashboard(page, pipeline, "period=custom&start=2025-01-01&end=2025-06-30")
    page.locator('canvas[data-chart="chart-funnel"]').scroll_into_view_if_needed()
    point = page.evaluate(
        """() => {
            const chart = window.eposCharts['chart-funnel'];
            const bar = chart.getDatasetMeta(0).data[1];  // "Entered" of Demo
            const box = chart.canvas.getBoundingClientRect();
            return {x: box.left + bar.x - 3, y: box.top + bar.y};
        }"""
    )
    with page.expect_navigation():
        page.mouse.click(point["x"], point["y"])

    assert "/dashboards/opportunities/" in page.url and "drill=stage_entered" in page.url
    assert "Entered the stage in the period: Demo" in page.inner_text("h1")
    rows = page.locator("#drilldown tbody tr td:first-child a").all_inner_texts()
    assert sorted(rows) == ["A", "C", "D", "F"]
    screenshot(page, "dashboard-drilldown-demo")


def test_after_a_change_the_page_shows_its_last_figures_then_reloads_with_new_ones(
    page, pipeline, carol, with_worker
):
    # Production's set-up (`with_worker`): a broker (the queued refresh is recorded there and
    # run below, as the worker would) and a cache the worker shares with the web process.
    queued = with_worker
    login(page, "carol")
    open_dashboard(page, pipeline)
    won_before = int(page.inner_text('[data-kpi="win-rate"] .kpi-sub').split(" won")[0])
    assert page.locator("#stale-figures").count() == 0

    win_g(pipeline, carol)
    open_dashboard(page, pipeline)
    banner = page.locator("#stale-figures")
    assert banner.is_visible()
    assert "before the latest changes" in banner.inner_text()
    assert f"{won_before} won" in page.inner_text('[data-kpi="win-rate"] .kpi-sub')
    screenshot(page, "dashboard-stale-figures")
    assert len(queued) == 1

    dashboard_refresh.run(*queued[0])  # the worker's turn
    # The banner polls; once the figures are ready the page reloads itself with them.
    page.wait_for_selector("#stale-figures", state="detached", timeout=10_000)
    page.wait_for_function("window.eposCharts && window.eposCharts['chart-funnel']")
    assert f"{won_before + 1} won" in page.inner_text('[data-kpi="win-rate"] .kpi-sub')
