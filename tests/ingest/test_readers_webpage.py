"""Web pages: the visible text only, nothing fetched."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ingest.detect import detect_media_type
from ingest.readers import Limits, read_document
from tests.ingest.documents import hostile_html
from vault.errors import UnreadableInputError

HTML = "text/html"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_visible_text_only(tmp_path: Path, no_network: None) -> None:
    path = hostile_html(tmp_path / "visit.html")
    assert detect_media_type(path) == HTML
    text = "\n".join(read_document(path, HTML).sections)
    assert text.splitlines()[0] == "Visit note"  # the title first
    for shown in ("Contact visit", "The giraffe & the emu visited.", "cell ibis F-0042"):
        assert shown in text
    for hidden in ("scriptword", "steal", "stylecolour", "noscriptword", "templateword",
                   "commentword", "altword", "127.0.0.1"):  # fmt: skip
        assert hidden not in text


@pytest.mark.parametrize(
    "start",
    [
        "<!doctype html><p>sniffed</p>",
        "  \n<HTML lang='en'><body>sniffed</body></HTML>",
        "<!-- saved page --><html><body>sniffed</body></html>",
        '<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body>sniffed</body></html>',
        "\ufeff<!DOCTYPE HTML><body>sniffed",
    ],
)
def test_found_by_content(tmp_path: Path, start: str) -> None:
    path = tmp_path / "page.txt"  # the name does not matter
    path.write_text(start, encoding="utf-8")
    assert detect_media_type(path) == HTML
    assert "sniffed" in "\n".join(read_document(path, HTML).sections)


def test_text_that_mentions_html_is_text(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("Send it as <html> please.\n")
    assert detect_media_type(path) == "text/plain"


def test_unclosed_head_and_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes("<html><head><title>Old</title><body><p>Fee £5 “paid”</p>".encode("cp1252"))
    assert read_document(path, HTML).sections == ["Old", "Fee £5 “paid”"]


def test_text_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.html"
    path.write_text("<html><body>" + "<p>word</p>" * 1000)
    with pytest.raises(UnreadableInputError, match="characters"):
        read_document(path, HTML, Limits(max_chars=500))
