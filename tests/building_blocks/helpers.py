"""Builders for building-block tests: blocks through the real services, and sample files."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from building_blocks import services

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
# The start of a Windows executable: "MZ", a DOS stub, NUL bytes.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
OOXML = "application/vnd.openxmlformats-officedocument."
MAIN_PARTS = {
    "word": OOXML + "wordprocessingml.document.main+xml",
    "ppt": OOXML + "presentationml.presentation.main+xml",
    "xl": OOXML + "spreadsheetml.sheet.main+xml",
}


def office(folder: str, main_type: str | None = None) -> bytes:
    """A minimal Office Open XML package with its content types and main part."""
    main_type = main_type or MAIN_PARTS[folder]
    part = {"word": "word/document.xml", "ppt": "ppt/presentation.xml", "xl": "xl/workbook.xml"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'content-types"><Override PartName="/{part[folder]}" ContentType="{main_type}"/>'
            "</Types>",
        )
        archive.writestr(part[folder], "<xml/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes/readme.txt", "hello")
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def make_block(actor, *, publish_by=None, title="Block", kind="demo_script", **fields):
    """A block written by `actor`; with `publish_by`, submitted and approved by that curator."""
    fields.setdefault("body", f"Body of {title}")
    block = services.block_create(actor=actor, title=title, kind=kind, **fields)
    if publish_by is not None:
        services.block_submit(block=block, actor=actor)
        block = services.block_approve(block=block, actor=publish_by)
    return block
