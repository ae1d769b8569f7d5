"""OCR called as a library, with VAULT_PASSPHRASE in the caller's
environment: its worker processes and their tesseract runs are started
without it (read from their real /proc/PID/environ)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from ocr import ocr_document
from tests import scans
from tests.processes import descendants_of, environ_of, program_of

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_workers_and_tesseract_are_started_without_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_PASSPHRASE", "Correct Horse 42")
    pdf = scans.write_image_pdf(tmp_path / "two.pdf", [scans.scan("clean"), scans.scan("clean")])
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    seen: dict[int, tuple[str, dict[bytes, bytes]]] = {}
    earlier = descendants_of(os.getpid())  # helpers started by earlier tests
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for pid in descendants_of(os.getpid()) - seen.keys() - earlier:
                program, environ = program_of(pid), environ_of(pid)
                if program and environ is not None:
                    seen[pid] = (program, environ)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = ocr_document(pdf, "application/pdf", work, jobs=2)
    finally:
        done.set()
        watcher.join()
    assert len(result.pages) == 2
    programs = {program for program, _ in seen.values()}
    assert "tesseract" in programs and any(p.startswith("python") for p in programs), programs
    leaking = sorted(p for p, environ in seen.values() if b"VAULT_PASSPHRASE" in environ)
    assert not leaking, leaking
    assert os.environ["VAULT_PASSPHRASE"] == "Correct Horse 42"  # the caller's is untouched
