"""RTF (striprtf) and Word 97-2003 .doc (antiword; or stored with a note)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.detect import detect_media_type
from ingest.readers import read_document
from ingest.readers.msword import NOT_INSTALLED
from tests.ingest.documents import WORD97, not_really_word, rtf_file, word97_doc
from vault.errors import UnreadableInputError

RTF = "application/rtf"
DOC = "application/msword"


def test_rtf_text_with_code_page_and_unicode_escapes(tmp_path: Path) -> None:
    path = rtf_file(tmp_path / "letter.rtf")
    assert detect_media_type(path) == RTF
    (text,) = read_document(path, RTF).sections
    assert "RTF body heron, fee £12." in text
    assert "Second paragraph € euro." in text
    assert "Helvetica" not in text and "infoword" not in text  # font table, document info


def test_damaged_rtf_does_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "bad.rtf"
    path.write_bytes(b"{\\rtf1 {{{{{{\\'zz\\u99999999999999999999 \\bin999999999 x")
    with pytest.raises(UnreadableInputError, match="its RTF is damaged"):
        read_document(path, RTF)


def test_doc_is_found_by_its_word_stream(tmp_path: Path) -> None:
    path = not_really_word(tmp_path / "renamed.bin")
    assert detect_media_type(path) == DOC


def test_a_word_97_document_is_read_by_antiword(tmp_path: Path) -> None:
    # antiword is installed by scripts/setup: without it this fails, as it should
    path = word97_doc(tmp_path / "letter.doc")
    assert detect_media_type(path) == DOC
    document = read_document(path, DOC)
    assert document.note is None and document.has_text
    lines = [line for line in "".join(document.sections).splitlines() if line.strip()]
    assert lines == list(WORD97)  # "£" and the dash too: read as Windows-1252


@pytest.mark.skipif(shutil.which("antiword") is None, reason="antiword is installed by setup")
def test_doc_antiword_cannot_read_is_kept_with_a_note(tmp_path: Path) -> None:
    path = not_really_word(tmp_path / "old.doc")
    document = read_document(path, DOC)
    assert document.sections == [] and not document.has_text
    assert document.note is not None and document.note.startswith("no text could be taken")
    assert str(tmp_path) not in document.note  # antiword's message, without the path


def test_doc_without_antiword_is_kept_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    document = read_document(not_really_word(tmp_path / "old.doc"), DOC)
    assert (document.sections, document.note) == ([], NOT_INSTALLED)
