"""One markdown policy for every text people write: the same tags, headings, links and images
wherever it is rendered (stage guidance, account context, block bodies, the editor's preview)."""

import re
import time

import pytest
from django.template import Context, Template

from epos.lib.markdown import render_markdown

PIXEL = "![](https://tracker.example/pixel.gif?reader=1)"
TEXT = f"""# Title

Some *text* with a [link](https://example.com) and a [bad one](javascript:alert(1)).

{PIXEL}

![diagram](/media/blocks/diagram.png)

<script>alert(1)</script><img src=x onerror=alert(2)>
"""


def test_remote_images_are_dropped_and_local_ones_kept():
    html = render_markdown(TEXT)

    assert "tracker.example" not in html
    [image] = re.findall(r"<img[^>]*>", html)
    assert 'src="/media/blocks/diagram.png"' in image
    assert 'alt="diagram"' in image
    assert "onerror" not in html
    assert "<img>" not in html


@pytest.mark.parametrize(
    "src", ["//tracker.example/p.gif", "http://x/p.gif", "data:image/png;base64,AA=="]
)
def test_protocol_relative_and_data_images_are_remote_too(src):
    assert "<img" not in render_markdown(f"![]({src})")


def test_headings_start_at_h2_links_are_safe_and_scripts_gone():
    html = render_markdown(TEXT)

    assert "<h2>Title</h2>" in html
    assert "<h1" not in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">link</a>' in html
    assert "javascript:" not in html
    assert "<script" not in html


@pytest.mark.parametrize("library", ["blocks", "epos_ui"])
def test_every_template_filter_is_the_one_policy(library):
    rendered = Template(f"{{% load {library} %}}{{{{ text|markdown }}}}").render(
        Context({"text": TEXT})
    )

    assert rendered == render_markdown(TEXT)


def test_the_block_preview_follows_the_same_policy(client, db):
    from tests.factories import UserFactory

    curator = UserFactory(username="cu", role="curator")
    client.force_login(curator)

    response = client.post("/blocks/preview/", {"body": TEXT})

    assert response.status_code == 200
    assert response.content.decode() == render_markdown(TEXT)


ADVERSARIAL = {
    "open brackets": "[" * 100_000,
    "image openers": "![" * 50_000,
    "link openers": "[a](<" * 20_000,
    "nested brackets": "[" * 50_000 + "]" * 50_000,
    "emphasis runs": "*a**" * 25_000,
    "underscores": "_a" * 50_000,
    "angle brackets": "<" * 100_000,
    "deep quotes": ">" * 100_000,
    "deep lists": ("- " * 40 + "x\n") * 1_200,
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_100_kb_of_adversarial_markdown_renders_in_well_under_a_second(name):
    text = ADVERSARIAL[name]
    assert len(text) >= 96_000

    # CPU time of this process, not wall time: other processes on a busy machine do not count,
    # a renderer that is not linear in its input still does (a quadratic one takes minutes).
    started = time.process_time()
    render_markdown(text)
    elapsed = time.process_time() - started

    assert elapsed < 0.5, f"{name}: {elapsed:.2f} s of CPU"
