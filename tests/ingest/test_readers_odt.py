"""OpenDocument text: body, tables, headings, page headers and footers."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ingest.detect import detect_media_type
from ingest.readers import read_document
from tests.ingest.documents import open_odt
from vault.errors import UnreadableInputError

ODT = "application/vnd.oasis.opendocument.text"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def test_body_tables_headers_and_footers(tmp_path: Path) -> None:
    path = open_odt(tmp_path / "order.odt")
    assert detect_media_type(path) == ODT
    body, pages = read_document(path, ODT).sections
    assert body.splitlines() == ["Court order", "Odt body llama", "odt cell koala"]
    assert pages.splitlines() == ["odt header hedgehog", "odt footer fox"]


def _odt_by_hand(path: Path, body: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", ODT, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "content.xml",
            f'<office:document-content xmlns:office="{OFFICE_NS}" xmlns:text="{TEXT_NS}">'
            f"<office:body><office:text>{body}</office:text></office:body>"
            "</office:document-content>",
        )
    return path


def test_spaces_tabs_spans_and_what_is_not_shown(tmp_path: Path) -> None:
    body = (
        '<text:p>a<text:s text:c="3"/>b<text:tab/>c<text:span>span</text:span>tail'
        "<text:line-break/>next</text:p>"
        "<text:p>kept<office:annotation><text:p>commentword</text:p></office:annotation>"
        " after</text:p>"
        '<text:p><text:s text:c="999999999"/>capped</text:p>'
    )
    path = _odt_by_hand(tmp_path / "a.odt", body)
    assert detect_media_type(path) == ODT
    (text,) = read_document(path, ODT).sections
    lines = text.splitlines()
    assert lines[:3] == ["a   b\tcspantail", "next", "kept after"]
    assert lines[3] == " " * 100 + "capped"


def test_missing_body(tmp_path: Path) -> None:
    path = tmp_path / "empty.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", ODT)
    with pytest.raises(UnreadableInputError, match=r"content\.xml"):
        read_document(path, ODT)
