"""Fixtures for the web page: a vault with documents, the app and a test
client; and, for every test here, a time limit and a check that it leaves
no thread or process running."""

from __future__ import annotations

import faulthandler
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import PASSPHRASE, Template, make_pdf
from tests.web.processes import descendants, is_resource_tracker, kill_all, shown
from vault.repository import Vault
from vault.web.app import build
from vault.web.guard import Guard
from vault.web.jobs import Jobs
from vault.web.keeper import Keeper

TEST_SECONDS = 120.0  # any one test here (the slowest takes about 15 s)
GONE_SECONDS = 10.0  # for its threads and processes to end once it is over
PORT = 8123
BASE = f"http://127.0.0.1:{PORT}"
HOSTILE = '<script>window.hacked = 1</script><img src=x onerror="alert(1)">'


@pytest.fixture(autouse=True)
def ends_in_time() -> Iterator[None]:
    """The test ends within ``TEST_SECONDS`` and leaves nothing running.

    At the limit, where each thread is is noted and every process the test
    started (vault ui, chromium, Playwright's driver) is killed, so that
    what it waits on fails at once; if it still waits, it is interrupted
    (Ctrl-C), and if even that does not end it, the run ends with the
    threads' places printed.
    Afterwards, a thread or process it started that is still there after
    ``GONE_SECONDS`` fails it (the processes are killed)."""
    me = os.getpid()
    processes = descendants(me)
    threads = set(threading.enumerate())
    stacks: list[str] = []

    def expire() -> None:
        with tempfile.TemporaryFile("w+") as f:
            faulthandler.dump_traceback(f, all_threads=True)
            f.seek(0)
            stacks.append(f.read())
        kill_all(descendants(me) - processes)
        if done.wait(15):
            return
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        if not done.wait(30):  # a thread that never ends keeps even the exit waiting
            os.write(2, f"\nA web test ran past its limit and stayed stuck:\n{stacks[0]}".encode())
            os._exit(3)

    done = threading.Event()
    timer = threading.Timer(TEST_SECONDS, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        done.set()
        timer.cancel()
    assert not stacks, (
        f"the test ran past {TEST_SECONDS:g} s; every process it started was killed. "
        f"Where its threads were:\n{stacks[0]}"
    )
    deadline = time.monotonic() + GONE_SECONDS
    left_threads: list[threading.Thread] = []
    left_processes: set[int] = set()
    while time.monotonic() < deadline:
        left_threads = [t for t in threading.enumerate() if t not in threads and t.is_alive()]
        left_processes = {p for p in descendants(me) - processes if not is_resource_tracker(p)}
        if not left_threads and not left_processes:
            return
        time.sleep(0.02)
    kill_all(left_processes)
    assert not left_threads and not left_processes, (
        f"the test left threads running: {[t.name for t in left_threads]}; "
        f"processes (killed): {shown(left_processes)}"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(root: Path, tmp: Path, name: str, pages: list[str], **kwargs: object) -> str:
    """Store a document whose text pages are ``pages`` (as OCR would give them)."""
    source = make_pdf(tmp / "source.pdf", pages[0][:40].replace("(", "").replace(")", ""))
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        stored = vault.store_file(
            source, name=name, media_type="application/pdf", text=pages, **kwargs
        )
        vault.fold_journal()
    source.unlink()
    return stored.doc_id


@dataclass
class Web:
    client: TestClient
    guard: Guard
    keeper: Keeper
    jobs: Jobs
    clock: Clock
    root: Path
    docs: dict[str, str]

    def csrf(self) -> str:
        page = self.client.get("/").text  # any page carries it; this one costs least
        marker = 'name="csrf-token" content="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]

    def unlock(self) -> None:
        answer = self.client.post("/unlock", data={"passphrase": PASSPHRASE, "csrf": self.csrf()})
        assert answer.status_code in (200, 303), answer.text


@pytest.fixture(scope="session")
def web_template(
    template_vault: Template, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A vault with the two documents of the web tests, made once: each test
    gets a copy (``web``); their ids."""
    root = tmp_path_factory.mktemp("web-template") / "vault"
    shutil.copytree(template_vault.path, root)
    docs = {
        "letter": store(
            root,
            root.parent,
            "referral.pdf",
            ["Referral for the Przybylski family", "Contact on Saturdays at the centre"],
            doc_type="referral",
            family="F-0042",
            fields={"case number": "NT26P00412"},
        ),
        "hostile": store(
            root,
            root.parent,
            'evil"<b>name</b>.pdf',
            [f"Hostile page {HOSTILE} Kowalczyk"],
            fields={"note": HOSTILE},
        ),
    }
    return root, docs


@pytest.fixture
def web(web_template: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[Web]:
    source, docs = web_template
    vault_dir = tmp_path / "vault"
    shutil.copytree(source, vault_dir)
    guard = Guard(PORT, token="the-token-of-this-run")
    clock = Clock()
    keeper = Keeper(vault_dir, idle_minutes=10, clock=clock)
    jobs = Jobs(vault_dir, keeper)
    app = build(vault_dir, guard, keeper, jobs)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        answer = client.get(f"/?token={guard.token}")
        assert answer.status_code == 303
        yield Web(client, guard, keeper, jobs, clock, vault_dir, docs)
    keeper.close()
