"""A real headless browser for the web page's end-to-end tests: Debian's
chromium driven by Playwright (never a browser Playwright downloads). A
missing chromium fails the tests, never skips them: scripts/setup installs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The screenshots of each page, written by every run (README: "The vault in a browser").
SCREENSHOTS = Path(os.environ.get("VAULT_SCREENSHOTS", REPO / "test-screenshots" / "web"))
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed: run scripts/setup (Debian package 'chromium')"
    return path


@contextmanager
def running_ui(root: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run 'vault ui --no-browser' on a free port; yield the address it prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vault", "--vault", str(root), "ui", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", line)
        if not found:
            process.kill()
            said = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"vault ui printed no address: {line!r} {said}")
        yield found.group(0)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def browser(profile: Path) -> Iterator[object]:
    """A headless chromium with a new, empty profile in ``profile``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
