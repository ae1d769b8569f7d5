"""``vault drill``: a restore rehearsal that proves a backup restores, without
touching the live vault.

1. Under the vault lock, briefly: unlock the live vault (the passphrase, or
   the emergency key, whose use is recorded) and note what it holds: its
   documents from the catalog snapshot and the journal (read, never folded
   or saved), and every object the head and the journal name.
2. Recover from the remote exactly as ``vault recover`` does, into a
   private temporary folder on disk (0700, removed on every path).
3. Compare: the same documents, each with the same objects (their ids are
   their SHA-256, re-hashed as they arrived), every object there, and the
   decrypted bytes of a random sample of documents (``sample``; None: all)
   identical on both sides.
4. Record the result in the live vault's audit log: time, duration, remote,
   pass or fail and why (ids only, never names).

The live vault's files are only read; the audit log gains the drill's entry.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from recovery.restore import RecoverResult, recover
from recovery.trust import Credentials
from vault import anchor
from vault import manifest as manifests
from vault.errors import IntegrityError, RemoteError, VaultError, WrongKeyError
from vault.fsutil import new_private_dir, private_workdir, remove_quietly
from vault.head import SnapshotError, load_catalog
from vault.keys import DataKey
from vault.objects import ObjectStore
from vault.repository import Vault

DEFAULT_SAMPLE = 5


@dataclass(frozen=True)
class _Document:
    original: str
    searchable: str | None
    name: str


@dataclass
class DrillResult:
    remote: str
    ok: bool = False
    reason: str = ""  # why it failed, in plain words (no names)
    documents: int = 0  # in the live vault
    objects: int = 0  # objects compared
    sampled: int = 0  # documents decrypted on both sides and compared
    problems: list[tuple[str, str]] = field(default_factory=list)  # (doc id, what), for the user
    names: dict[str, str] = field(default_factory=dict)  # doc id -> file name, for the user
    seconds: float = 0.0


def run_drill(
    vault: Vault,
    name: str,
    path: str,
    credentials: Credentials,
    *,
    sample: int | None = DEFAULT_SAMPLE,
    rng: random.Random | None = None,
) -> DrillResult:
    """Rehearse recovering remote ``name`` (rclone ``path``) and compare with ``vault``.

    Returns the result (also recorded in the audit log); raises
    ``RemoteError`` (after recording it) when the remote cannot be reached.
    """
    started = time.monotonic()
    result = DrillResult(name)
    key, documents, objects = _live(vault, credentials)
    result.documents = len(documents)
    result.names = {doc_id: doc.name for doc_id, doc in documents.items()}
    folder = new_private_dir(tmpfs=False)  # a whole vault: too big for memory
    copies = [
        *anchor.anchor_paths(folder / "vault", vault.vault_id),
        anchor.recipient_path(folder / "vault"),
    ]
    failure: VaultError | None = None
    try:
        recovered = recover(
            path, folder / "vault", lambda: credentials, remote_name=name, vault_id=vault.vault_id
        )
        _compare(vault, key, recovered, documents, objects, result, sample, rng)
    except (RemoteError, WrongKeyError, IntegrityError) as error:
        # The remote by its name: a folder's path may hold a person's name.
        result.ok, result.reason = False, error.message.replace(path, name)
        failure = error if not isinstance(error, IntegrityError) else None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for copy in copies:
            remove_quietly(copy)  # what is kept about it outside the (removed) folder
    result.seconds = time.monotonic() - started
    with vault.lock:
        vault.audit.append(
            "drill",
            sorted({doc_id for doc_id, _ in result.problems}),
            remote=name,
            ok=result.ok,
            reason=result.reason,
            seconds=round(result.seconds, 1),
            documents=result.documents,
            sampled=result.sampled,
        )
    if failure is not None:
        raise failure
    return result


def _live(vault: Vault, credentials: Credentials) -> tuple[DataKey, dict[str, _Document], set[str]]:
    """The live vault's documents and objects, read under its lock (nothing written
    but the record of an emergency key's use)."""
    with vault.lock:
        if credentials.emergency_key:
            vault.unlock_with_emergency_key(credentials.emergency_key, credentials.reason or "")
        else:
            vault.unlock(credentials.passphrase or "", note_use=False)
        key = vault.unlocked_key()  # a key of an access level is refused
        documents, objects = _holdings(vault, key)
    return key, documents, objects


def _holdings(vault: Vault, key: DataKey) -> tuple[dict[str, _Document], set[str]]:
    """A vault's documents (catalog snapshot and journal, read: never folded or
    saved) and the objects they name."""
    documents: dict[str, _Document] = {}
    objects: set[str] = set()
    try:
        catalog, _ = load_catalog(
            vault.layout.catalog,
            vault.layout.local,
            vault.layout.head,
            key,
            vault.vault_id,
            vault.manifest_texts(key),
        )
    except SnapshotError:
        catalog = None  # a new vault, or one to rebuild: the journal still counts
    if catalog is not None:
        for row in catalog.documents():
            documents[row["id"]] = _Document(row["original"], row["searchable"], row["name"])
        objects |= catalog.object_ids()
    for entry in vault.journal_entries():
        objects |= set(entry["objects"])
        try:
            data = vault.manifests.get_bytes(entry["manifest"], [key.identity])
            doc = manifests.parse(data, check_mac=None)[0]
        except VaultError:
            continue
        if doc.doc_id not in documents:
            documents[doc.doc_id] = _Document(doc.original, doc.searchable, doc.name)
    return documents, objects


def _compare(
    vault: Vault,
    key: DataKey,
    recovered: RecoverResult,
    documents: dict[str, _Document],
    objects: set[str],
    result: DrillResult,
    sample: int | None,
    rng: random.Random | None,
) -> None:
    if recovered.key is None or recovered.key.recipient != key.recipient:
        result.reason = "the backup is of another vault (its data key differs)"
        return
    drilled = Vault(recovered.root)
    restored, _ = _holdings(drilled, recovered.key)
    for damage in recovered.damaged:
        result.problems.append((damage.doc_id or damage.id, f"{damage.problem} in the backup"))
        if damage.doc_id and damage.name:
            result.names.setdefault(damage.doc_id, damage.name)
    for doc_id in sorted(documents.keys() - restored.keys()):
        result.problems.append((doc_id, "not in the backup"))
    for doc_id in sorted(restored.keys() - documents.keys()):
        result.problems.append((doc_id, "in the backup but not in this vault"))
        result.names.setdefault(doc_id, restored[doc_id].name)
    common = sorted(documents.keys() & restored.keys())
    for doc_id in common:
        here, there = documents[doc_id], restored[doc_id]
        if (here.original, here.searchable) != (there.original, there.searchable):
            result.problems.append((doc_id, "stored differently in the backup"))
    present = {object_id for object_id in objects if drilled.objects.exists(object_id)}
    result.objects = len(objects)
    for object_id in sorted(objects - present):
        result.problems.append((object_id, "object not restored"))
    bad = {doc_id for doc_id, _ in result.problems}
    candidates = [doc_id for doc_id in common if doc_id not in bad]
    chosen = candidates if sample is None else _pick(candidates, sample, rng)
    with private_workdir() as work:
        for doc_id in chosen:
            if not _same_bytes(vault.objects, drilled.objects, documents[doc_id], key, work):
                result.problems.append((doc_id, "decrypts to different bytes from the backup"))
            result.sampled += 1
    result.ok = not result.problems
    if result.problems:
        result.reason = f"{len(result.problems)} differences from this vault"


def _pick(candidates: list[str], count: int, rng: random.Random | None) -> list[str]:
    if count >= len(candidates):
        return candidates
    return sorted((rng or random.SystemRandom()).sample(candidates, count))


def _same_bytes(
    live: ObjectStore, drilled: ObjectStore, doc: _Document, key: DataKey, work: Path
) -> bool:
    refs = [doc.original] + ([doc.searchable] if doc.searchable else [])
    for ref in refs:
        digests = []
        for n, store in enumerate((live, drilled)):
            out = work / f"side-{n}"
            try:
                store.get_file(ref, out, [key.identity])
            except IntegrityError:
                return False
            with open(out, "rb") as f:
                digests.append(hashlib.file_digest(f, "sha256").digest())
            out.unlink()
        if digests[0] != digests[1]:
            return False
    return True
