"""End to end in a real headless chromium: unlock, store a scanned PDF by
upload, find it by a misspelt surname with the keyboard alone, open it,
download it, lock; the committee page without a passphrase. Each page's
screenshot goes to tests.web.browser.SCREENSHOTS."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import PASSPHRASE
from tests.scans import scan, write_image_pdf
from tests.web.browser import browser, running_ui, screenshot

TIMEOUT = 180_000  # ms: OCR of a scan on a slow machine


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
    with running_ui(vault_dir) as url, browser(tmp_path / "profile") as context:
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
        page.locator("#files").set_input_files(str(scanned))
        page.locator("#progress li.done").wait_for(timeout=TIMEOUT)
        assert "stored" in page.locator("#progress li").inner_text()
        screenshot(page, "02-store")

        page.get_by_role("link", name="Find").click()
        _wait_for_focus(page, "q")
        page.keyboard.type("Przybylsky")  # misspelt, typed into the focused box
        hit = page.locator("a.hit").first
        try:
            hit.wait_for()
        finally:
            screenshot(page, "03-search")
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


def test_the_committee_page_needs_no_passphrase(vault_dir: Path, tmp_path: Path) -> None:
    with running_ui(vault_dir) as url, browser(tmp_path / "profile") as context:
        page = context.new_page()  # type: ignore[attr-defined]
        page.goto(url)
        page.get_by_role("link", name="Committee", exact=True).click()
        page.get_by_role("heading", name="Backup status for the committee").wait_for()
        assert page.get_by_role("heading", name="For the minutes").is_visible()
        screenshot(page, "06-committee")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the report (PDF)").click()
        assert Path(download_info.value.path()).read_bytes().startswith(b"%PDF")
        for name, link in (("07-backups", "Backups"), ("08-quarantine", "Not stored")):
            page.get_by_role("link", name=link, exact=True).click()
            page.get_by_role("heading", level=1).wait_for()
            screenshot(page, name)


def test_pages_are_readable_at_200_percent_zoom(vault_dir: Path, tmp_path: Path) -> None:
    with running_ui(vault_dir) as url, browser(tmp_path / "profile") as context:
        page = context.new_page()  # type: ignore[attr-defined]
        page.set_viewport_size({"width": 600, "height": 450})  # 1200x900 at 200%
        page.goto(url)
        page.get_by_label("Passphrase").fill(PASSPHRASE)
        page.get_by_role("button", name="Unlock").click()
        page.locator("#q").wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 600, "the page scrolls sideways at 200% zoom"
        screenshot(page, "09-search-200-percent")
        page.goto(url.split("?")[0] + "committee")
        assert page.evaluate("document.documentElement.scrollWidth") <= 600
        screenshot(page, "10-committee-200-percent")
