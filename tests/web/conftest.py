"""Fixtures for the web page: a vault with documents, the app and a test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import PASSPHRASE, make_pdf
from vault.repository import Vault
from vault.web.app import build
from vault.web.guard import Guard
from vault.web.keeper import Keeper

PORT = 8123
BASE = f"http://127.0.0.1:{PORT}"
HOSTILE = '<script>window.hacked = 1</script><img src=x onerror="alert(1)">'


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
    clock: Clock
    root: Path
    docs: dict[str, str]

    def csrf(self) -> str:
        page = self.client.get("/committee").text
        marker = 'name="csrf-token" content="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]

    def unlock(self) -> None:
        answer = self.client.post("/unlock", data={"passphrase": PASSPHRASE, "csrf": self.csrf()})
        assert answer.status_code in (200, 303), answer.text


@pytest.fixture
def web(vault_dir: Path, tmp_path: Path) -> Iterator[Web]:
    docs = {
        "letter": store(
            vault_dir,
            tmp_path,
            "referral.pdf",
            ["Referral for the Przybylski family", "Contact on Saturdays at the centre"],
            doc_type="referral",
            family="F-0042",
            fields={"case number": "NT26P00412"},
        ),
        "hostile": store(
            vault_dir,
            tmp_path,
            'evil"<b>name</b>.pdf',
            [f"Hostile page {HOSTILE} Kowalczyk"],
            fields={"note": HOSTILE},
        ),
    }
    guard = Guard(PORT, token="the-token-of-this-run")
    clock = Clock()
    keeper = Keeper(vault_dir, idle_minutes=10, clock=clock)
    app = build(vault_dir, guard, keeper)
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        answer = client.get(f"/?token={guard.token}")
        assert answer.status_code == 303
        yield Web(client, guard, keeper, clock, vault_dir, docs)
    keeper.close()
