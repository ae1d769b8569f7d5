"""End to end in a real headless chromium: unlock, store a scanned PDF by
upload and a folder by dragging it onto the page, find the scan by a
misspelt surname with the keyboard alone, open it, download it, lock; the
committee page without a passphrase; 200% zoom. Each page's screenshot goes
to tests.web.browser.SCREENSHOTS."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import PASSPHRASE, make_pdf
from tests.scans import scan, write_image_pdf
from tests.web.browser import browser, running_ui, screenshot
from vault.cli import cli

OCR_MS = 60_000  # OCR of a one-page scan on a slow machine


def _letters_folder(folder: Path) -> Path:
    """A folder as a scanner or a colleague leaves it: two letters (one in a
    folder inside), and hidden files that are not documents."""
    (folder / "older").mkdir(parents=True)
    make_pdf(folder / "letter-kowalczyk.pdf", "Letter from the Kowalczyk family")
    (folder / "older" / "note.txt").write_text("Phone note: Nowak family asked for Saturdays\n")
    (folder / ".DS_Store").write_bytes(b"\0\1 not a document")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "thumb.txt").write_text("not a document\n")
    return folder


def drop_folder(context: object, page: object, folder: Path) -> None:
    """Drag ``folder`` from the computer onto the drop area, as a person would:
    chromium's own drag and drop (DevTools' Input.dispatchDragEvent with the
    folder's path), so the page reads it through the browser's file entries."""
    box = page.locator("#drop").bounding_box()  # type: ignore[attr-defined]
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    session = context.new_cdp_session(page)  # type: ignore[attr-defined]
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 1}  # 1: copy
    for kind in ("dragEnter", "dragOver", "drop"):
        session.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})
    session.detach()


def _wait_for_focus(page: object, element_id: str, seconds: float = 30) -> None:
    """Wait until the element has the keyboard's focus (the page gives it by itself)."""
    deadline = time.monotonic() + seconds
    while page.evaluate("() => document.activeElement.id") != element_id:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"#{element_id} never got the focus"
        time.sleep(0.05)


def test_a_coordinator_stores_finds_opens_downloads_and_locks(
    vault_dir: Path, tmp_path: Path
) -> None:
    scanned = write_image_pdf(tmp_path / "referral-scan.pdf", [scan()])
    with running_ui(vault_dir) as server, browser(tmp_path / "profile") as context:
        url = server.url
        page = context.new_page()  # type: ignore[attr-defined]
        page.goto(url)
        assert "token=" not in page.url  # the token leaves the address bar at once
        page.get_by_label("Passphrase").wait_for()
        _wait_for_focus(page, "passphrase")
        screenshot(page, "01-unlock")
        page.keyboard.type(PASSPHRASE)  # the box has the focus
        page.keyboard.press("Enter")
        page.locator("#q").wait_for()

        page.get_by_role("link", name="Store files").click()
        page.locator("#drop[data-ready]").wait_for()  # the page listens for files now
        page.locator("#files").set_input_files(str(scanned))
        page.locator("#progress li.done").wait_for(timeout=OCR_MS)
        assert "stored" in page.locator("#progress li").inner_text()
        drop_folder(context, page, _letters_folder(tmp_path / "letters"))
        page.locator("#progress li.done").nth(2).wait_for()
        rows = page.locator("#progress li")
        assert rows.count() == 3, rows.all_inner_texts()  # the hidden files were left out
        assert [row.get_attribute("class") for row in rows.all()] == ["done"] * 3
        assert "Kowalczyk" in rows.nth(1).inner_text() or "Kowalczyk" in rows.nth(2).inner_text()
        screenshot(page, "02-store")

        page.get_by_role("link", name="Find").click()
        page.locator("#search[data-ready]").wait_for()
        _wait_for_focus(page, "q")
        page.keyboard.type("Przybylsky")  # misspelt, typed into the focused box
        hit = page.locator("a.hit").first
        hit.wait_for()
        assert "referral-scan" in hit.inner_text() or "Przybylski" in hit.inner_text()
        assert page.locator("a.hit mark").count() >= 1
        screenshot(page, "03-search")
        for _ in range(12):  # the keyboard alone: Tab to the first result, Enter
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('hit')"):
                break
        else:
            raise AssertionError("Tab never reached a result")
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Text").wait_for()
        assert "Przybylski" in page.locator("pre.text").first.inner_text()
        screenshot(page, "04-document")

        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download a copy").click()
        download = download_info.value
        assert Path(download.path()).read_bytes() == scanned.read_bytes()

        original = context.new_page()  # type: ignore[attr-defined]
        response = original.request.get(page.url + "/file/original")
        assert response.ok
        assert response.headers["content-type"] == "application/pdf"
        assert response.body() == scanned.read_bytes()
        original.close()

        document_url = page.url
        page.get_by_role("button", name="Lock").click()
        page.get_by_label("Passphrase").wait_for()
        screenshot(page, "05-locked")
        page.goto(document_url)
        page.get_by_label("Passphrase").wait_for()  # locked: no document without it


def test_the_committee_page_needs_no_passphrase_and_pages_read_at_200_percent(
    vault_dir: Path, tmp_path: Path
) -> None:
    # Two backups, on the 2nd and 9th day of the vault, and the page seen on
    # the 10th: old enough for the report's charts.
    now = datetime.now(UTC)
    runner = CliRunner()
    vault = ["--vault", str(vault_dir)]
    added = runner.invoke(cli, [*vault, "remote", "add", "usb", str(tmp_path / "usb"), "--create"])
    assert added.exit_code == 0, added.output
    for days in (2, 9):
        later = {"VAULT_TEST_NOW": (now + timedelta(days=days)).isoformat()}
        assert runner.invoke(cli, [*vault, "sync"], env=later).exit_code == 0
    seen = {"VAULT_TEST_NOW": (now + timedelta(days=10)).isoformat()}
    with running_ui(vault_dir, seen) as server, browser(tmp_path / "profile") as context:
        base = server.url.split("?")[0]
        page = context.new_page()  # type: ignore[attr-defined]
        page.goto(server.url)
        page.get_by_role("link", name="Committee", exact=True).click()
        page.get_by_role("heading", name="Backup status for the committee").wait_for()
        assert page.get_by_role("heading", name="For the minutes").is_visible()
        assert page.get_by_role("heading", name="Daily backups").is_visible()
        assert page.locator(".chart svg").count() >= 1
        screenshot(page, "06-committee")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the report (PDF)").click()
        assert Path(download_info.value.path()).read_bytes().startswith(b"%PDF")
        for name, link, path in (("07-backups", "Backups", "backups"),
                                 ("08-quarantine", "Not stored", "quarantine")):  # fmt: skip
            page.get_by_role("link", name=link, exact=True).click()
            page.wait_for_url(base + path)
            page.get_by_role("heading", level=1).wait_for()
            screenshot(page, name)

        # At 200% zoom a window of 1200x900 lays pages out in 600x450: none
        # may scroll sideways.
        page.set_viewport_size({"width": 600, "height": 450})
        for name, path in (("09-committee-200-percent", "committee"),
                           ("10-unlock-200-percent", "")):  # fmt: skip
            page.goto(base + path)
            page.get_by_role("heading", level=1).wait_for()
            assert page.evaluate("document.documentElement.scrollWidth") <= 600, path
            screenshot(page, name)
        page.get_by_label("Passphrase").fill(PASSPHRASE)
        page.get_by_role("button", name="Unlock").click()
        page.locator("#search[data-ready]").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 600
        screenshot(page, "11-search-200-percent")
        page.get_by_role("link", name="Store files").click()
        page.locator("#drop[data-ready]").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 600
        screenshot(page, "12-store-200-percent")
