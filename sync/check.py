"""``vault verify --remote``: is the copy on a remote complete and intact?

Needs no key. The remote is judged by its own head and journal, the ones a
recovery would use:

1. list the remote (one quick try first, then ``lsjson -R --fast-list``);
2. fetch its ``head.json``, ``journal.log`` and the object index the head
   names (its SHA-256 must match the name);
3. every object and manifest they name, the catalog snapshot, the keys needed
   for recovery and ``config.json`` must be there, objects with the size the
   index records;
4. with ``read_data`` (a fraction: 1.0 for ``--read-data``, 0.1 for
   ``--read-data-subset 10%``) the files, or a random sample of them as
   restic samples, are downloaded and re-hashed with SHA-256 (``rclone
   checksum sha256 --download``: S3-like remotes keep only MD5s).

A head older than the last one this computer sent there is reported as a
rollback. Each problem names the object id (or file) and what is wrong.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sync import rclone
from sync.snapshot import (
    CONFIG,
    HEAD,
    JOURNAL,
    expected_digest,
    object_path,
    parse_journal,
)
from sync.state import load_state
from vault.errors import IntegrityError
from vault.fsutil import make_private_dir
from vault.head import Head, read_head, read_index
from vault.repository import Vault

RECOVERY_KEYS = ("keys/data.pub", "keys/passphrase.age", "keys/emergency.age")


@dataclass(frozen=True)
class Problem:
    path: str
    problem: str  # "missing", "wrong size", "corrupt", "unreadable", "rolled back"

    @property
    def id(self) -> str:
        """The object id for objects and manifests; else the file's path."""
        if self.path.startswith(("objects/", "manifests/")):
            return self.path.rsplit("/", 1)[-1]
        return self.path


@dataclass
class RemoteView:
    """A remote as a recovery would find it."""

    present: dict[str, int] = field(default_factory=dict)
    head: Head | None = None
    needed: dict[str, int] = field(default_factory=dict)  # path -> size (-1: unknown)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class CheckResult:
    name: str
    checked: int = 0
    read: int = 0
    head: str | None = None
    documents: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def inspect_remote(path: str, work: Path, what: str) -> RemoteView:
    """List the remote and work out what its head and journal need."""
    view = RemoteView()
    top = rclone.list_files(
        path, what=what, recursive=False, timeout=rclone.PREFLIGHT_TIMEOUT, preflight=True
    )
    if top is None:
        view.problems.append(Problem(HEAD, "missing"))
        return view
    listing = rclone.list_files(
        path, what=what, recursive=True, timeout=rclone.transfer_timeout(0, 100_000)
    )
    view.present = {e.path: e.size for e in listing or []}
    fetched = work / "remote"
    make_private_dir(fetched)
    meta = [rel for rel in (HEAD, JOURNAL) if rel in view.present]
    if meta:
        rclone.fetch_files(path, meta, fetched, work, what=what, timeout=rclone.PREFLIGHT_TIMEOUT)
    for rel in (*RECOVERY_KEYS, CONFIG):
        if view.present.get(rel, 0) <= 0:
            view.problems.append(Problem(rel, "missing"))
    try:
        found = read_head(fetched / HEAD) if HEAD in view.present else None
    except IntegrityError:
        view.problems.append(Problem(HEAD, "corrupt"))
        found = None
    if found is None:
        if HEAD not in view.present:
            view.problems.append(Problem(HEAD, "missing"))
    else:
        view.head = found[0]
        _need_head(view, path, fetched, work, what)
    for entry in parse_journal((fetched / JOURNAL).read_bytes() if JOURNAL in meta else b""):
        for object_id, size in entry.get("objects", {}).items():
            view.needed[object_path("objects", object_id)] = int(size)
        view.needed[object_path("manifests", entry["manifest"])] = int(entry["size"])
    for rel, size in sorted(view.needed.items()):
        if rel not in view.present:
            view.problems.append(Problem(rel, "missing"))
        elif size >= 0 and view.present[rel] != size:
            view.problems.append(Problem(rel, "wrong size"))
    return view


def _need_head(view: RemoteView, path: str, fetched: Path, work: Path, what: str) -> None:
    head = view.head
    assert head is not None
    catalog = f"catalog/{head.catalog}.age"
    index = f"catalog/{head.index}.idx"
    view.needed[catalog] = -1
    view.needed[index] = -1
    if index not in view.present:
        return  # reported missing with the rest
    rclone.fetch_files(path, [index], fetched, work, what=what, timeout=rclone.PREFLIGHT_TIMEOUT)
    try:
        ids = read_index(fetched / "catalog", head)
    except IntegrityError:
        view.problems.append(Problem(index, "corrupt"))
        return
    for object_id, size in ids.items():
        candidates = [object_path(store, object_id) for store in ("objects", "manifests")]
        rel = next((c for c in candidates if c in view.present), candidates[0])
        view.needed[rel] = int(size)


def sample(paths: list[str], fraction: float, rng: random.Random | None = None) -> list[str]:
    """A random ``fraction`` of ``paths`` (at least one when there are any)."""
    if fraction >= 1.0:
        return list(paths)
    if not paths or fraction <= 0:
        return []
    count = max(1, round(len(paths) * fraction))
    return sorted((rng or random.SystemRandom()).sample(paths, count))


def check_remote(
    vault: Vault,
    name: str,
    path: str,
    *,
    read_data: float | None = None,
    rng: random.Random | None = None,
) -> CheckResult:
    """Check remote ``name``; with ``read_data``, re-hash that fraction of its files."""
    what = f"verify of remote {name!r}"
    result = CheckResult(name)
    work = vault.layout.tmp / f"verify-{name}"
    shutil.rmtree(work, ignore_errors=True)
    make_private_dir(work)
    try:
        view = inspect_remote(path, work, what)
        result.problems.extend(view.problems)
        result.checked = len(view.needed)
        if view.head is not None:
            result.head = view.head.short
            result.documents = view.head.documents
            _check_rollback(vault, name, path, view.head, result)
        if read_data:
            bad = {p.path for p in view.problems}
            readable = [rel for rel in view.needed if rel in view.present and rel not in bad]
            chosen = sample(sorted(readable), read_data, rng)
            sums = {rel: digest for rel in chosen if (digest := expected_digest(rel))}
            found = rclone.check_sha256(
                path,
                sums,
                work,
                what=what,
                timeout=rclone.transfer_timeout(sum(view.present[rel] for rel in sums), len(sums)),
            )
            result.read = len(sums)
            result.problems.extend(Problem(rel, problem) for rel, problem in sorted(found.items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _check_rollback(vault: Vault, name: str, path: str, head: Head, result: CheckResult) -> None:
    state = load_state(vault.root, name, path)
    sent = (state.last_sync or {}).get("head_seq")
    if isinstance(sent, int) and head.seq < sent:
        result.problems.append(Problem(HEAD, f"rolled back (head {head.seq}, sent {sent})"))
