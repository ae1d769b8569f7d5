"""Word .docx: body, tables, headers and footers; hostile zips refused."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ingest.detect import detect_media_type, unsupported_reason
from ingest.readers import Limits, read_document
from tests.ingest.documents import (
    docx_by_hand,
    lying_docx,
    paragraph_xml,
    truncated_docx,
    word_docx,
)
from vault.errors import UnreadableInputError

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_body_tables_headers_and_footers(tmp_path: Path) -> None:
    path = word_docx(tmp_path / "referral.docx")
    assert detect_media_type(path) == DOCX
    sections = read_document(path, DOCX).sections
    assert sections[0].splitlines() == [
        "Referral form",
        "Docx body walrus",
        "cell penguin",
        "Family reference F-0042",
    ]
    assert "header otter" in sections and "footer badger" in sections


def test_tabs_breaks_and_what_word_does_not_show(tmp_path: Path) -> None:
    body = (
        "<w:p><w:r><w:t>one</w:t><w:tab/><w:t>two</w:t><w:br/><w:t>three</w:t></w:r></w:p>"
        "<w:p><w:del><w:r><w:delText>deletedword</w:delText></w:r></w:del>"
        "<w:r><w:instrText>MERGEFIELD codeword</w:instrText></w:r><w:r><w:t>kept</w:t></w:r></w:p>"
    )
    xml = paragraph_xml().replace(b"<w:body>", f"<w:body>{body}".encode())
    path = docx_by_hand(tmp_path / "a.docx", xml)
    (text,) = read_document(path, DOCX).sections
    assert text == "one\ttwo\nthree\nkept"


def test_truncated(tmp_path: Path) -> None:
    path = truncated_docx(tmp_path / "cut.docx")
    media = detect_media_type(path)
    assert media == "application/zip"
    assert "damaged or cut short" in unsupported_reason(path, media)
    with pytest.raises(UnreadableInputError, match="damaged or cut short"):
        read_document(path, DOCX)


def test_zip_bomb_refused_before_unpacking(tmp_path: Path, zip_bomb: Path) -> None:
    path = tmp_path / "bomb.docx"
    shutil.copyfile(zip_bomb, path)
    start = time.monotonic()
    assert "a zip bomb" in unsupported_reason(path, detect_media_type(path))
    with pytest.raises(
        UnreadableInputError, match="a zip bomb: its parts would unpack to 1,024 MB"
    ):
        read_document(path, DOCX)
    assert time.monotonic() - start < 1  # the directory, not the gigabyte, was read


def test_a_part_packed_too_tightly(tmp_path: Path) -> None:
    path = docx_by_hand(tmp_path / "tight.docx", paragraph_xml("x") + b" " * (4 * 1024 * 1024))
    with pytest.raises(UnreadableInputError, match="to one"):
        read_document(path, DOCX, Limits(max_ratio=50))


def test_a_directory_that_lies_about_sizes(tmp_path: Path) -> None:
    path = lying_docx(tmp_path / "liar.docx")
    with pytest.raises(UnreadableInputError, match=r"zip bomb|damaged"):
        read_document(path, DOCX)


def test_xml_entities_are_refused(tmp_path: Path) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    path = docx_by_hand(tmp_path / "laughs.docx", laughs)
    with pytest.raises(UnreadableInputError, match="XML is damaged or hostile"):
        read_document(path, DOCX)


def test_deep_nesting_and_time_limit(tmp_path: Path) -> None:
    deep = b"<w:p>" * 50_000 + b"<w:r><w:t>deep</w:t></w:r>" + b"</w:p>" * 50_000
    xml = paragraph_xml().replace(b"<w:body>", b"<w:body>" + deep)
    path = docx_by_hand(tmp_path / "deep.docx", xml)
    (text,) = read_document(path, DOCX).sections  # no recursion error
    assert text.strip() == "deep"
    with pytest.raises(UnreadableInputError, match="longer than 0 seconds"):
        read_document(path, DOCX, Limits(seconds=0))
