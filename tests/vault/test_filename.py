"""File names for documents written outside the vault: from the title (or
the stored name), safe on any file system, with the right extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.filename import document_filename, extension_matches, with_extension


@pytest.mark.parametrize(
    ("row", "media_type", "expected"),
    [
        ({"title": "Court order F-0042 04/12/2026", "name": "SCAN0001.pdf"}, "application/pdf",
         "Court order F-0042 04-12-2026.pdf"),
        ({"title": None, "name": "SCAN0001.jpg"}, "image/jpeg", "SCAN0001.jpg"),
        ({"name": "SCAN0001.jpg"}, "application/pdf", "SCAN0001.pdf"),
        ({"name": "a\x1b[2J:b?.pdf"}, "application/pdf", "a-[2J-b.pdf"),
        ({"name": "../../etc/passwd"}, "image/png", "etc-passwd.png"),
        ({"name": "CON.pdf"}, "application/pdf", "document CON.pdf"),
        ({"name": "   "}, "application/pdf", "document.pdf"),
        ({"title": "x" * 300}, "application/pdf", "x" * 100 + ".pdf"),
    ],
)  # fmt: skip
def test_document_filename(row: dict[str, object], media_type: str, expected: str) -> None:
    assert document_filename(row, media_type) == expected


def test_extensions() -> None:
    assert extension_matches(Path("a.JPEG"), "image/jpeg")
    assert not extension_matches(Path("a.pdf"), "image/jpeg")
    assert with_extension(Path("court-order.pdf"), "image/jpeg") == Path("court-order.jpg")
    assert with_extension(Path("letter"), "application/pdf") == Path("letter.pdf")
    assert with_extension(Path("v1.2"), "application/pdf") == Path("v1.2.pdf")
