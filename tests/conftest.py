"""Shared fixtures: one real vault made per session (scrypt is slow on
purpose), copied fresh for each test that needs one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from vault import scrypt_file
from vault.config import Layout, write_config
from vault.keys import NewKeys
from vault.repository import Vault

PASSPHRASE = "Correct Horse 42"
CANARY = "CANARY-Przybylski-7Q"


@dataclass(frozen=True)
class Template:
    path: Path
    emergency_secret: str
    data_secret: str


@pytest.fixture(scope="session", autouse=True)
def private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The per-user state folder (vault anchors) of this test session, not the
    real one; children started by tests inherit it."""
    state = tmp_path_factory.mktemp("state-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(state))
        yield state


@pytest.fixture(scope="session")
def template_vault(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("template") / "vault"
    captured: dict[str, NewKeys] = {}

    def deliver(keys: NewKeys, config: dict[str, object]) -> None:
        captured["keys"] = keys

    Vault.create(root, PASSPHRASE, deliver_emergency_key=deliver)
    keys = captured["keys"]
    _cheapen_passphrase_file(root, keys.data.secret)
    return Template(root, keys.emergency_secret, keys.data.secret)


# The passphrase file of the tests' vaults is written at a low scrypt cost:
# every unlocking command would otherwise spend about a second of CPU on it,
# hundreds of times a run. The real cost (``scrypt_file.WORK_FACTOR``) is
# tested on vaults made for that (tests/vault/test_scrypt_file.py).
TEST_WORK_FACTOR = 10


def _cheapen_passphrase_file(root: Path, data_secret: str) -> None:
    blob = scrypt_file.encrypt(
        (data_secret + "\n").encode(), PASSPHRASE, work_factor=TEST_WORK_FACTOR
    )
    (root / "keys" / "passphrase.age").write_bytes(blob)
    layout = Layout(root)
    config = json.loads(layout.config.read_text())
    config["scrypt_work_factor"] = TEST_WORK_FACTOR
    write_config(layout, config)


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .docx whose body unpacks to 1 GB of zeros (about 4.5 MB; made once,
    in 3 s): copy it, never change it."""
    from tests.ingest.documents import zip_bomb_docx

    return zip_bomb_docx(tmp_path_factory.mktemp("bomb") / "bomb.docx")


@pytest.fixture
def vault_dir(template_vault: Template, tmp_path: Path) -> Path:
    dest = tmp_path / "vault"
    shutil.copytree(template_vault.path, dest)
    return dest


@pytest.fixture
def unlocked_vault(vault_dir: Path) -> Iterator[Vault]:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        yield vault


def make_pdf(path: Path, text: str) -> Path:
    """A small, valid one-page PDF whose text stream is uncompressed, so a
    plaintext leak of it would show up in a byte search."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>\nstream\n" % len(content) + content + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("VAULT_PASSPHRASE", raising=False)
    monkeypatch.delenv("VAULT_DIR", raising=False)
    return CliRunner()


@pytest.fixture
def own_reader_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per file given to ``vault.age_x25519.decrypt_into``: True
    when the vault's own reader read it, False when it left it to pyrage."""
    from vault import age_x25519

    calls: list[bool] = []
    real = age_x25519.decrypt_into

    def spy(*args: Any) -> tuple[int, str] | None:
        done = real(*args)
        calls.append(done is not None)
        return done

    monkeypatch.setattr(age_x25519, "decrypt_into", spy)
    return calls
