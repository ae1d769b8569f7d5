"""The progress line of commands that work through documents (rotate, bundle)."""

from __future__ import annotations

import io
import sys

import pytest

from vault.cli import common
from vault.cli.common import DocumentProgress


def test_the_line_names_the_command_and_says_the_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    now = [100.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: now[0])
    bar = DocumentProgress("rotate")
    bar(1, 4, 5_000_000, 20_000_000)  # at once: no guess of the time left yet
    assert stream.getvalue() == "\rrotate: 1/4 documents, 5.0 MB/20.0 MB"
    now[0] += 10  # a quarter in 10 s: 30 s to go
    bar(2, 4, 5_000_000, 20_000_000)
    assert stream.getvalue().endswith("\rrotate: 2/4 documents, 5.0 MB/20.0 MB, about 0:30 left")
    bar.clear()
    assert stream.getvalue().endswith("\r")
