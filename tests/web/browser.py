"""A real headless browser for the web page's end-to-end tests: Debian's
chromium driven by Playwright (never a browser Playwright downloads). A
missing chromium fails the tests, never skips them: scripts/setup installs it.

Everything here stops on every path, within a time limit, and says so when
it does not: ``running_ui`` ends 'vault ui' (SIGTERM, as Ctrl-C or logging
out would, then SIGKILL for its whole process group) and fails the test if
it did not stop by itself or left a process behind; ``browser`` sets
Playwright's default time limit for every action and kills chromium if it
will not close. When a wait in the browser fails, the note added to the
error holds what the server printed and where each of its threads was.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.web.processes import (
    alive,
    children,
    descendants,
    group_members,
    group_of,
    kill_all,
    shown,
)

REPO = Path(__file__).resolve().parents[2]
# The screenshots of each page, written by every run (README: "The vault in a browser").
SCREENSHOTS = Path(os.environ.get("VAULT_SCREENSHOTS", REPO / "test-screenshots" / "web"))
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip

START_SECONDS = 60.0  # for 'vault ui' to print its address (imports on a loaded machine)
STOP_SECONDS = 20.0  # for 'vault ui' to stop after SIGTERM (lock, end its jobs)
GONE_SECONDS = 5.0  # for what it started to be gone after it
ACTION_MS = 20_000  # Playwright's limit for each click, wait, navigation, download
LAUNCH_MS = 60_000  # for chromium to start
CLOSE_SECONDS = 20.0  # for chromium to close

# 'vault ui' as the tests run it: the vault command itself, with a thread dump
# on SIGUSR1 (so that a test that waits in vain can say where the server was),
# sent SIGTERM if the tests' process dies, however it dies (PR_SET_PDEATHSIG).
SERVER = """
import ctypes, faulthandler, os, signal, sys
ctypes.CDLL(None).prctl(1, signal.SIGTERM)
if os.getppid() != {parent}:
    sys.exit("the tests ended before vault ui started")
faulthandler.register(signal.SIGUSR1, all_threads=True)
sys.argv[0] = "vault"
from vault.cli import main
main()
"""


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "chromium is not installed: run scripts/setup (Debian package 'chromium')"
    return path


class Output:
    """A pipe read to its end by a thread of its own (so the writer never blocks)."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:  # type: ignore[attr-defined]
            self.lines.append(line)

    def wait_for(self, pattern: str, seconds: float) -> re.Match[str] | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if not self._thread.is_alive() and not any(re.search(pattern, x) for x in self.lines):
                return None
            time.sleep(0.05)
        return None

    def text(self) -> str:
        return "".join(self.lines)

    def close(self) -> None:
        self._thread.join(timeout=5)


class Server:
    """A running 'vault ui' (its own process group) and what it printed."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.url = ""
        assert process.stdout is not None and process.stderr is not None
        self.stdout = Output(process.stdout)
        self.stderr = Output(process.stderr)

    def threads(self) -> str:
        """Where each of the server's threads is now (faulthandler on SIGUSR1)."""
        if self.process.poll() is not None:
            return f"(it had ended, status {self.process.returncode})"
        before = len(self.stderr.lines)
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        return "".join(self.stderr.lines[before:]) or "(no thread dump came)"

    def note(self) -> str:
        said = self.stderr.text()[-4000:]
        return f"vault ui wrote:\n{said or '(nothing)'}\nits threads now:\n{self.threads()}"

    def stop(self) -> str | None:
        """End it and everything it started; what went wrong, or None."""
        process, problems = self.process, []
        if process.poll() is None:
            process.terminate()  # SIGTERM: it locks the vault, ends its jobs, stops
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                problems.append(
                    f"vault ui did not stop within {STOP_SECONDS:g} s of SIGTERM; "
                    f"its threads:\n{self.threads()}"
                )
        deadline = time.monotonic() + GONE_SECONDS
        while group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = group_members(process.pid)
        if left and not problems:
            problems.append(f"vault ui left processes running: {shown(left)}")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.stdout.close()
        self.stderr.close()
        return "\n".join(problems) or None


@contextmanager
def running_ui(root: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Run 'vault ui --no-browser' on a free port; yield it with ``url`` set to
    the address it prints. It is stopped on every path; a test that passed
    fails if it did not stop by itself."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER.format(parent=os.getpid()),
            "--vault",
            str(root),
            "ui",
            "--no-browser",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # its own process group: all it starts is found and ended
    )
    server = Server(process)
    try:
        found = server.stdout.wait_for(r"http://127\.0\.0\.1:\d+/\?token=\S+", START_SECONDS)
        if found is None:
            raise AssertionError(
                f"vault ui printed no address within {START_SECONDS:g} s: "
                f"{server.stdout.text()!r}\n{server.note()}"
            )
        server.url = found.group(0)
        yield server
    except BaseException as exc:
        if process.poll() is None and isinstance(exc, Exception):
            exc.add_note(server.note())  # a wait failed: what did the server say, where was it?
        server.stop()
        raise
    problem = server.stop()
    assert problem is None, problem


@contextmanager
def browser(profile: Path) -> Iterator[object]:
    """A headless chromium with a new, empty profile in ``profile``; every
    action waits at most ``ACTION_MS`` unless told otherwise. Closed on every
    path (killed if it will not close within ``CLOSE_SECONDS``); the test
    fails if Playwright's driver or chromium outlive it."""
    from playwright.sync_api import sync_playwright

    before = children(os.getpid())
    started: set[int] = set()
    groups: set[int] = set()

    def kill_browser() -> None:
        kill_all(_left(started, groups))

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            accept_downloads=True,
            viewport={"width": 1200, "height": 900},
            timeout=LAUNCH_MS,
        )
        context.set_default_timeout(ACTION_MS)
        context.set_default_navigation_timeout(ACTION_MS)
        for driver in children(os.getpid()) - before:  # Playwright's driver, and chromium
            started |= {driver} | descendants(driver)
        groups = _groups(started)
        watchdog = threading.Timer(CLOSE_SECONDS, kill_browser)
        try:
            yield context
        finally:
            watchdog.start()  # kills chromium if closing it hangs
            try:
                context.close()
            finally:
                watchdog.cancel()
    deadline = time.monotonic() + GONE_SECONDS
    while _left(started, groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left := _left(started, groups):
        kill_browser()
        raise AssertionError(f"the browser left processes running: {shown(left)}")


def _groups(pids: set[int]) -> set[int]:
    """The process groups of ``pids`` other than the tests' own (chromium has its own)."""
    own = os.getpgrp()
    return {g for p in pids if (g := group_of(p)) is not None and g != own}


def _left(started: set[int], groups: set[int]) -> set[int]:
    return alive(started) | {p for g in groups for p in group_members(g)}


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
