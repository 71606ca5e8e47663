"""Which uploaded files a block may carry, decided by their content rather than their name.

A file is accepted when its bytes are one of: PDF (`%PDF-`), PNG or JPEG (their signatures), an
Office Open XML package (a zip with `[Content_Types].xml` declaring a Word, PowerPoint or Excel
main part, and the matching `word/`, `ppt/` or `xl/` folder), or text (valid UTF-8 without NUL
bytes, stored as .md or .txt). The stored name is sanitised and always ends with the extension of
the detected type, so a PDF uploaded as `deck.docx` is stored as `deck.pdf` and an executable
renamed `report.pdf` is refused.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from django.core.exceptions import ValidationError

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
ALLOWED_LABEL = "PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx), PNG, JPEG, Markdown or text"
_CONTENT_TYPES_LIMIT = 512 * 1024  # a real [Content_Types].xml is a few kB
_TEXT_EXTENSIONS_AS_MARKDOWN = {".md", ".markdown"}

# Office main-part content types, without the macro-enabled variants (.docm/.pptm/.xlsm).
_OOXML = "application/vnd.openxmlformats-officedocument."
_OFFICE = {
    "docx": ("word/", _OOXML + "wordprocessingml.document.main+xml"),
    "pptx": ("ppt/", _OOXML + "presentationml.presentation.main+xml"),
    "xlsx": ("xl/", _OOXML + "spreadsheetml.sheet.main+xml"),
}

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": _OOXML + "wordprocessingml.document",
    "pptx": _OOXML + "presentationml.presentation",
    "xlsx": _OOXML + "spreadsheetml.sheet",
    "png": "image/png",
    "jpg": "image/jpeg",
    "md": "text/markdown; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
# Shown in the browser; everything else is downloaded.
INLINE_TYPES = {"pdf", "png", "jpg"}


@dataclass(frozen=True)
class CheckedUpload:
    file_type: str
    name: str
    size: int


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, code="file_type")


def _read_all(upload) -> bytes:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def _office_type(upload) -> str | None:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" not in names:
                return None
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > _CONTENT_TYPES_LIMIT:
                return None
            declared = archive.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        return None
    finally:
        upload.seek(0)
    for file_type, (folder, main_part) in _OFFICE.items():
        if main_part in declared and any(name.startswith(folder) for name in names):
            return file_type
    return None


def detect_file_type(upload, name: str = "") -> str:
    """The allowed type the bytes of `upload` are, or a ValidationError saying why not."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"PK\x03\x04"):
        office = _office_type(upload)
        if office:
            return office
        raise _refuse(
            "This zip file is not a Word, PowerPoint or Excel document (macro-enabled Office "
            f"files are not accepted either). Allowed: {ALLOWED_LABEL}."
        )
    if head.startswith((b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")):
        raise _refuse(
            f"This file is a program or script, whatever its name says. Allowed: {ALLOWED_LABEL}."
        )
    data = _read_all(upload)
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            suffix = PurePath(name).suffix.lower()
            return "md" if suffix in _TEXT_EXTENSIONS_AS_MARKDOWN else "txt"
    raise _refuse(
        f"The content of this file is not of an allowed type, whatever its name says. "
        f"Allowed: {ALLOWED_LABEL}."
    )


def sanitize_name(name: str, file_type: str) -> str:
    """A safe stored name: no path, ASCII letters, digits, dashes, dots; the detected extension."""
    stem = PurePath(name.replace("\\", "/")).stem or "file"
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")
    stem = re.sub(r"-{2,}", "-", stem)[:80].strip(".-_") or "file"
    return f"{stem}.{file_type}"


def check_upload(upload) -> CheckedUpload:
    size = upload.size if getattr(upload, "size", None) is not None else len(_read_all(upload))
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB.",
            code="file_size",
        )
    if size == 0:
        raise ValidationError("The file is empty.", code="file_empty")
    original = getattr(upload, "name", "") or "file"
    file_type = detect_file_type(upload, original)
    return CheckedUpload(file_type=file_type, name=sanitize_name(original, file_type), size=size)
