"""Storing dropped files in the background, the quarantine and 'back up now'."""

from __future__ import annotations

import os
import time
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import make_pdf
from tests.web.conftest import Web
from vault.cli import cli


def _wait(web: Web, path: str, done: callable, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        found = web.client.get(path).json()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _upload(web: Web, name: str, body: bytes, **params: str):
    return web.client.put(
        "/store/upload",
        params={"name": name, **params},
        content=body,
        headers={"x-csrf-token": web.csrf()},
    )


def test_a_dropped_file_is_stored_in_the_background_and_found(web: Web, tmp_path: Path) -> None:
    web.unlock()
    source = make_pdf(tmp_path / "dropped.pdf", "Wisniewska contact arrangements")
    answer = _upload(web, "dropped.pdf", source.read_bytes(), type="court-order", family="F-0099")
    assert answer.status_code == 200
    progress = _wait(
        web, "/store/progress", lambda p: p["files"] and p["files"][-1]["state"] == "stored"
    )
    job = progress["files"][-1]
    assert job["state"] == "stored", job
    assert len(job["documents"]) == 1
    hits = web.client.get("/results", params={"q": "Wisniewska"}).text
    assert job["documents"][0] in hits
    assert "court-order" in hits and "F-0099" in hits


def test_uploading_needs_the_vault_unlocked(web: Web) -> None:
    answer = _upload(web, "a.pdf", b"%PDF-1.4")
    assert answer.status_code == 401


def test_a_file_that_cannot_be_read_goes_to_the_quarantine_with_its_reason(web: Web) -> None:
    web.unlock()
    assert "Nothing is waiting here" in web.client.get("/quarantine").text
    assert _upload(web, "<b>empty.pdf", b"").status_code == 200
    progress = _wait(
        web, "/store/progress", lambda p: p["files"] and p["files"][-1]["state"] == "not stored"
    )
    assert progress["files"][-1]["state"] == "not stored"
    page = web.client.get("/quarantine").text
    assert "&lt;b&gt;empty.pdf" in page
    assert "empty" in page.split("<tbody>")[1]


def test_backups_page_and_back_up_now(web: Web, tmp_path: Path) -> None:
    assert "No backup is set up" in web.client.get("/backups").text
    runner = CliRunner()
    added = runner.invoke(
        cli, ["--vault", str(web.root), "remote", "add", "usb", str(tmp_path / "usb"), "--create"]
    )
    assert added.exit_code == 0, added.output
    page = web.client.get("/backups").text
    assert "usb" in page and "Back up now" in page
    answer = web.client.post(
        "/backups/run", headers={"x-csrf-token": web.csrf(), "x-requested-with": "fetch"}
    )
    assert answer.json() == {"started": True}
    progress = _wait(web, "/backups/progress", lambda p: not p["running"])
    assert not progress["running"]
    assert any(m.startswith("usb: backed up") for m in progress["messages"]), progress
    assert "never" not in web.client.get("/backups").text.split("Last backed up")[1][:80]


def test_stopping_the_page_ends_its_storing_within_a_limit(web: Web, tmp_path: Path) -> None:
    """A scan being read stops after the page it is on, a file waiting is
    given up; neither leaves a work folder, and the thread ends in time."""
    from tests.scans import scan, write_image_pdf
    from vault.fsutil import tmpfs_root

    web.unlock()
    scanned = write_image_pdf(tmp_path / "long.pdf", [scan(), scan(), scan(), scan()])
    assert _upload(web, "long.pdf", scanned.read_bytes()).status_code == 200
    assert _upload(web, "waiting.pdf", b"%PDF-1.4 not begun").status_code == 200
    _wait(web, "/store/progress", lambda p: p["files"][0]["state"] == "reading", seconds=30)
    started = time.monotonic()
    assert web.jobs.close(timeout=60)  # the page stops (its lifespan calls this)
    assert time.monotonic() - started < 60
    files = web.client.get("/store/progress").json()["files"]
    assert files[1]["state"] == "not stored" and "closed" in files[1]["message"]
    assert files[0]["state"] in ("stored", "not stored")
    if files[0]["state"] == "not stored":
        assert files[0]["page"] < 4  # stopped after a page, not read to the end
    leftovers = [p for p in (tmpfs_root() or tmp_path).glob(f"centre-vault-{os.getpid()}-*")]
    assert not leftovers
    assert _upload(web, "late.pdf", b"%PDF-1.4").status_code == 503
