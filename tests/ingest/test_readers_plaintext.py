"""Plain text, Markdown and CSV: encodings found by the rules, text as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.detect import detect_media_type
from ingest.readers import Limits, read_document
from ingest.readers.encoding import decode_text, sniff_encoding
from tests.ingest.documents import cp1252_text, utf16_text
from vault.errors import UnreadableInputError


def test_windows_1252_with_smart_quotes_and_pounds(tmp_path: Path) -> None:
    path = cp1252_text(tmp_path / "note.txt")
    assert detect_media_type(path) == "text/plain"
    (text,) = read_document(path, "text/plain").sections
    assert "The “marmot” fee is £12 — café visit for family F-0042.\nSecond line yak." in text
    assert "\r" not in text


def test_utf16_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = utf16_text(tmp_path / "letter.txt")
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert detect_media_type(path) == "text/plain"
    (text,) = read_document(path, "text/plain").sections
    assert text == "Letter in UTF-16 from Zoë about the zebra.\n"


def test_utf8_with_and_without_a_mark(tmp_path: Path) -> None:
    plain = tmp_path / "a.txt"
    plain.write_text("Zoë’s notes\n", encoding="utf-8")
    marked = tmp_path / "b.txt"
    marked.write_bytes("\ufeffZoë’s notes\n".encode())
    for path, encoding in ((plain, "utf-8"), (marked, "utf-8-sig")):
        assert decode_text(path.read_bytes()) == ("Zoë’s notes\n", encoding)


def test_markdown_and_csv_are_text_named_by_their_extension(tmp_path: Path) -> None:
    md = tmp_path / "minutes.md"
    md.write_text("# Minutes\n\n* contact at the *centre*\n")
    csv = tmp_path / "rota.csv"
    csv.write_text("name,day\nHaddock,Monday\n")
    same_csv = tmp_path / "rota.dat"
    same_csv.write_bytes(csv.read_bytes())
    assert detect_media_type(md) == "text/markdown"
    assert detect_media_type(csv) == "text/csv"
    assert detect_media_type(same_csv) == "text/plain"  # the content says text, no more
    assert read_document(csv, "text/csv").sections == ["name,day\nHaddock,Monday\n"]


def test_a_form_feed_starts_a_new_section(tmp_path: Path) -> None:
    path = tmp_path / "print.txt"
    path.write_text("page one\fpage two\n")
    assert read_document(path, "text/plain").sections == ["page one", "page two\n"]


@pytest.mark.parametrize(
    "data",
    [
        b"abc\x00def",  # a NUL: binary
        bytes(range(256)) * 4,  # every byte: controls, and bytes cp1252 leaves undefined
        b"text" + b"\x01\x02\x03\x04" * 10,  # too many control characters
        b"\x81\x8d\x8f" * 20,  # not UTF-8, and undefined in Windows-1252
    ],
)
def test_binary_is_not_text(data: bytes) -> None:
    assert sniff_encoding(data, complete=True) is None


def test_a_character_cut_at_the_end_of_the_sample_is_not_held_against_it() -> None:
    sample = ("é" * 100).encode()[:-1]
    assert sniff_encoding(sample, complete=False) == "utf-8"
    assert sniff_encoding(sample, complete=True) == "cp1252"  # whole: not valid UTF-8


def test_size_and_text_limits(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("word " * 1000)
    with pytest.raises(UnreadableInputError, match="more than 100 characters"):
        read_document(path, "text/plain", Limits(max_chars=100))
    with pytest.raises(UnreadableInputError, match="MB"):
        read_document(path, "text/plain", Limits(max_file_bytes=1000))


def test_a_typed_memo_is_text_and_a_mail_programs_message_an_email(tmp_path: Path) -> None:
    memo = tmp_path / "memo.txt"
    memo.write_text("To: Sarah\nFrom: Jo\nSubject: rota\n\nPlease cover Saturday.\n")
    mail = tmp_path / "saved.txt"
    mail.write_text(
        "Return-Path: <jo@example.org>\nFrom: Jo <jo@example.org>\nMessage-ID: <1@example.org>\n"
        "Subject: rota\n\nPlease cover Saturday.\n"
    )
    assert detect_media_type(memo) == "text/plain"
    assert detect_media_type(mail) == "message/rfc822"
