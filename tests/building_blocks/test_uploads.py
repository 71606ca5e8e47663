import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from building_blocks.models import BuildingBlock
from building_blocks.uploads import MAX_UPLOAD_BYTES, check_upload, detect_file_type, sanitize_name
from tests.building_blocks.helpers import EXE, JPEG, PDF, PNG, office, plain_zip, upload


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("deck.pdf", PDF, "pdf"),
        ("logo.png", PNG, "png"),
        ("photo.jpeg", JPEG, "jpg"),
        ("proposal.docx", office("word"), "docx"),
        ("slides.pptx", office("ppt"), "pptx"),
        ("sizing.xlsx", office("xl"), "xlsx"),
        ("notes.md", "# Über\n\nUTF-8 text".encode(), "md"),
        ("notes.txt", b"plain text\n", "txt"),
        # The content decides, not the name.
        ("looks-like-a-word-file.docx", PDF, "pdf"),
        ("no-extension", b"hello", "txt"),
    ],
)
def test_allowed_types_are_detected_by_content(name, content, expected):
    assert detect_file_type(io.BytesIO(content), name) == expected


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", EXE, "program or script"),
        ("setup.docx", b"#!/bin/sh\nrm -rf /\n", "program or script"),
        ("archive.docx", plain_zip(), "not a Word, PowerPoint or Excel"),
        (
            "macro.docx",
            office("word", "application/vnd.ms-word.document.macroEnabled.main+xml"),
            "not a Word, PowerPoint or Excel",
        ),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "not of an allowed type"),
        ("binary.txt", b"abc\x00def", "not of an allowed type"),
    ],
)
def test_other_content_is_refused_whatever_its_name(name, content, message):
    with pytest.raises(ValidationError, match=message):
        detect_file_type(io.BytesIO(content), name)


def test_files_over_25_mb_are_refused_before_reading_them():
    big = upload("big.pdf", PDF)
    big.size = MAX_UPLOAD_BYTES + 1
    with pytest.raises(ValidationError, match="limit is 25 MB"):
        check_upload(big)


def test_a_file_of_exactly_25_mb_is_accepted():
    exact = upload("exact.pdf", PDF + b" " * (MAX_UPLOAD_BYTES - len(PDF)))
    assert check_upload(exact).size == MAX_UPLOAD_BYTES


@pytest.mark.parametrize(
    ("name", "file_type", "expected"),
    [
        ("../../etc/passwd.pdf", "pdf", "passwd.pdf"),
        ("C:\\Users\\me\\Deck final (v2).pptx", "pptx", "Deck-final-v2.pptx"),
        ("Überblick für Kunden.docx", "pdf", "Uberblick-fur-Kunden.pdf"),
        ("<script>.png", "png", "script.png"),
        ("...", "txt", "file.txt"),
        ("a" * 300 + ".md", "md", "a" * 80 + ".md"),
    ],
)
def test_names_are_sanitised_and_get_the_detected_extension(name, file_type, expected):
    assert sanitize_name(name, file_type) == expected


def test_a_renamed_executable_is_refused_with_a_form_error_and_nothing_is_saved(client, erin):
    client.force_login(erin)
    response = client.post(
        reverse("building_blocks:block-create"),
        {"title": "Totally a PDF", "kind": "white_paper", "file": upload("whitepaper.pdf", EXE)},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["file"]
    assert any("program or script" in error for error in errors)
    assert "program or script" in response.content.decode()
    assert not BuildingBlock.objects.exists()


def test_an_accepted_upload_is_stored_under_a_sanitised_name(client, erin, settings):
    client.force_login(erin)
    response = client.post(
        reverse("building_blocks:block-create"),
        {"title": "Deck", "kind": "white_paper", "file": upload("../Deck (final).pdf", PDF)},
    )
    assert response.status_code == 302
    block = BuildingBlock.objects.get()
    assert (block.file_name, block.file_type) == ("Deck-final.pdf", "pdf")
    assert block.file_size == len(PDF)
    assert block.file.name.startswith("blocks/") and block.file.name.endswith("/Deck-final.pdf")
    assert (settings.MEDIA_ROOT / block.file.name).read_bytes() == PDF
