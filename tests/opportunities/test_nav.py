import re

import pytest
from django.urls import reverse

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
        ("/catalog/", "catalog"),
        ("/catalog/manage/", "catalog"),
        ("/training/", "training"),
        ("/training/paths/3/edit/", "training"),
        ("/dashboards/", "dashboards"),
        ("/pilots/2/", "pilots"),
        ("/imports/", "imports"),
        ("/api/docs/", ""),
    ],
)
def test_each_page_lights_up_its_top_navigation_entry(path, section):
    assert nav_section(path) == section


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["alice", "erin"])
def test_sas_and_curators_reach_the_catalog_and_training_from_the_top_navigation(
    client, request, user
):
    client.force_login(request.getfixturevalue(user))
    html = client.get(reverse("building_blocks:training")).content.decode()
    nav = re.search(r'<nav class="topnav".*?</nav>', html, re.S).group(0)
    assert re.search(rf'<a href="{reverse("building_blocks:catalog")}"\s*>Catalog</a>', nav)
    training = reverse("building_blocks:training")
    assert re.search(rf'<a href="{training}"\s+aria-current="page">Training</a>', nav)


@pytest.mark.django_db
def test_managers_reach_them_from_the_building_block_tabs(client, carol):
    client.force_login(carol)
    html = client.get(reverse("building_blocks:block-list")).content.decode()
    nav = re.search(r'<nav class="topnav".*?</nav>', html, re.S).group(0)
    assert ">Catalog</a>" not in nav and ">Training</a>" not in nav
    html = client.get(reverse("building_blocks:training")).content.decode()
    nav = re.search(r'<nav class="topnav".*?</nav>', html, re.S).group(0)
    assert re.search(r'<a href="/blocks/"\s+aria-current="page">Building blocks</a>', nav)
    tabs = re.search(r'<nav class="bb-nav".*?</nav>', html, re.S).group(0)
    assert reverse("building_blocks:catalog") in tabs
    assert reverse("building_blocks:training") in tabs
