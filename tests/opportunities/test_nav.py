import pytest

from epos.templatetags.epos_ui import nav_section


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/", "board"),
        ("/board/epos-presales/", "board"),
        ("/opportunities/12/", "opportunities"),
        ("/accounts/", "accounts"),
        ("/accounts/7/", "accounts"),
        ("/accounts/login/", ""),
        ("/blocks/", "blocks"),
        ("/catalog/manage/", "blocks"),
        ("/training/paths/3/edit/", "blocks"),
        ("/dashboards/", "dashboards"),
        ("/pilots/2/", "pilots"),
        ("/imports/", "imports"),
        ("/api/docs/", ""),
    ],
)
def test_each_page_lights_up_its_top_navigation_entry(path, section):
    assert nav_section(path) == section
