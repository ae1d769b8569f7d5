"""Ingest and the fold killed at every file operation they make.

``strace`` stops the child (SIGKILL, delivered as the system call starts, so
the call never runs) at the N-th rename, unlink, positioned write, truncate
or fsync, for every N the uninterrupted run makes. After each kill the next
command must list every document it recorded, export each byte-identical,
and find ``verify`` and the audit chain clean; running the job again then
finishes it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import Template, make_pdf
from vault import manifest as manifests
from vault.keys import DataKey
from vault.repository import Vault

SYSCALLS = (
    "rename", "renameat", "renameat2", "unlink", "unlinkat",
    "pwrite64", "ftruncate", "fsync", "fdatasync",
)  # fmt: skip
_CALL = re.compile(r"^(?:\d+\s+)?([a-z0-9_]+)\(")
VAULT_CMD = str(Path(sys.executable).with_name("vault"))

_FOLD_CHILD = r"""
import os, sys
from pathlib import Path
from vault import manifest as manifests
from vault.keys import DataKey
from vault.repository import Vault

vault = Vault.open(Path(sys.argv[1]))
with vault.lock:
    vault.key = DataKey.from_secret(os.environ["TEST_DATA_SECRET"])
    vault.catalog  # opening the catalog folds the journal in
"""


def _env(template: Template) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VAULT_PASSPHRASE", "VAULT_DIR")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["TEST_DATA_SECRET"] = template.data_secret
    return env


def _count_calls(argv: list[str], env: dict[str, str], log: Path) -> Counter[str]:
    subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), "-e", "trace=" + ",".join(SYSCALLS), *argv],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    counts: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        found = _CALL.match(line)
        if found:
            counts[found.group(1)] += 1
    return counts


def _killed_at(call: str, n: int, argv: list[str], env: dict[str, str]) -> bool:
    done = subprocess.run(
        ["strace", "-f", "-qq", "-o", os.devnull, "-e", f"trace={call}",
         "-e", f"inject={call}:signal=KILL:when={n}", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
    )  # fmt: skip
    if done.returncode == 0:
        return False  # that call came fewer times this run
    assert done.returncode in (137, -9), done.stderr.decode(errors="replace")
    return True


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorded(vault: Vault, key: DataKey, work: Path) -> set[str]:
    """The contents of every document the journal records (read before the fold)."""
    found = set()
    for entry in vault.journal_entries():
        data = vault.manifests.get_bytes(entry["manifest"], [key.identity])
        doc, _ = manifests.parse(data, check_mac=None)
        vault.objects.get_file(doc.original, work / "recorded", [key.identity])
        found.add(_sha(work / "recorded"))
    return found


def _check_next_command(
    root: Path, template: Template, sources: dict[str, str], work: Path
) -> set[str]:
    """What the next unlocked command finds; returns the contents listed."""
    vault = Vault.open(root)
    with vault.lock:
        vault.key = DataKey.from_secret(template.data_secret)
        recorded = _recorded(vault, vault.key, work)
        docs = list(vault.documents())
        assert not getattr(vault, "set_aside", []), "a journal entry was set aside"
        contents = []
        for n, doc in enumerate(docs):
            out = work / f"export-{n}"
            vault.export(doc["id"], out)
            contents.append(_sha(out))
            out.unlink()
        assert set(contents) <= set(sources.values()), "a listed document does not export whole"
        assert len(contents) == len(set(contents)), "a document is listed twice"
        assert recorded <= set(contents), "a recorded document is not listed"
        result = vault.verify()
        assert result.ok, result.bad
        assert vault.audit.verify(vault.audit_anchor()) == []
    return set(contents)


def _finish(root: Path, template: Template, sources: dict[str, str], work: Path) -> None:
    """Run the job again (each source is still at hand): every document is in, once."""
    vault = Vault.open(root)
    with vault.lock:
        vault.key = DataKey.from_secret(template.data_secret)
        vault.fold_journal()
        for name in sources:
            vault.store_file(work / name, name=name, media_type="application/pdf")
        vault.fold_journal()
    assert _check_next_command(root, template, sources, work) == set(sources.values())


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, str]:
    made = {
        "a.pdf": make_pdf(tmp_path / "a.pdf", "sweep letter a"),
        "b.pdf": make_pdf(tmp_path / "b.pdf", "sweep letter b"),
    }
    shutil.copy(made["a.pdf"], tmp_path / "c.pdf")  # the same letter scanned twice
    return {name: _sha(tmp_path / name) for name in ("a.pdf", "b.pdf", "c.pdf")}


def _sweep(
    argv: list[str], start: Path, template: Template, sources: dict[str, str], work: Path
) -> int:
    env = _env(template)

    def fresh(name: str) -> tuple[Path, list[str]]:
        # A folder of its own each time: the per-user anchor of a vault is
        # kept by folder, and a copy of an older state in the same folder
        # would rightly be taken for a rollback.
        root = work / name
        shutil.copytree(start, root)
        return root, [str(root) if a == "ROOT" else a for a in argv]

    root, run = fresh("vault-count")
    counts = _count_calls(run, env, work / "trace")
    shutil.rmtree(root)
    assert counts["rename"] and counts["fsync"], counts
    recorded_before = _recorded(Vault.open(start), DataKey.from_secret(template.data_secret), work)
    kills = 0
    for call in SYSCALLS:
        for n in range(1, counts[call] + 1):
            root, run = fresh(f"vault-{call}-{n}")
            if _killed_at(call, n, run, env):
                kills += 1
                listed = _check_next_command(root, template, sources, work)
                assert listed >= recorded_before, "a document recorded before the run was lost"
                _finish(root, template, sources, work)
            shutil.rmtree(root)
    return kills


def test_ingest_killed_at_every_file_operation(
    template_vault: Template, sources: dict[str, str], tmp_path: Path
) -> None:
    argv = [VAULT_CMD, "--vault", "ROOT", "ingest", "--quiet",
            *(str(tmp_path / name) for name in sources)]  # fmt: skip
    kills = _sweep(argv, template_vault.path, template_vault, sources, tmp_path)
    assert kills > 20


def test_fold_killed_at_every_file_operation(
    template_vault: Template, sources: dict[str, str], tmp_path: Path
) -> None:
    start = tmp_path / "journaled"
    shutil.copytree(template_vault.path, start)
    vault = Vault.open(start)
    with vault.lock:
        for name in sources:  # without the key: journaled, unsigned, c.pdf a duplicate
            vault.store_file(tmp_path / name, name=name, media_type="application/pdf")
    argv = [sys.executable, "-c", _FOLD_CHILD, "ROOT"]
    kills = _sweep(argv, start, template_vault, sources, tmp_path)  # a and b: never lost
    assert kills > 10
