"""``vault verify --remote``: is the copy on a remote complete, intact and ours?

Needs no key. Nothing on the remote is trusted for being there: it is
judged by what this computer sent, and by its own head and journal, the
ones a recovery would use:

1. list the remote (one quick try first, then ``lsjson -R --fast-list``);
2. fetch its replaceable files (head, journal, audit log, settings, keys)
   and the object index the head names (its SHA-256 must match the name);
3. the head must be the one this computer last sent there, or the one this
   computer has now; or, when the key is at hand (``unlock``), a newer one
   whose MAC is right. Anything else is a forged or rolled-back head. The
   other replaceable files must be, byte for byte, what was last sent or
   what this computer has now (a sync cut off before it saved its record);
4. everything the local head and journal name that the state file says was
   sent must be there with its size (the catalog snapshot with the size it
   has here), and so must every object and manifest the remote's own head
   and journal name, the catalog snapshot, the keys needed for recovery
   and ``config.json``;
5. with ``read_data`` (a fraction: 1.0 for ``--read-data``, 0.1 for
   ``--read-data-subset 10%``) the files, or a random sample of them as
   restic samples, are downloaded and re-hashed with SHA-256 (``rclone
   checksum sha256 --download``: S3-like remotes keep only MD5s).

Each problem names the object id (or file) and what is wrong. A folder
remote whose disk is not plugged in is refused first (``marker.py``, exit 5),
rather than reported as a backup with everything missing.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sync import rclone, segments
from sync.marker import check_folder, marked_when_added
from sync.remotes import local_folder
from sync.replaceable import compare_fetched, only_looks
from sync.snapshot import (
    AUDIT,
    CONFIG,
    HEAD,
    JOURNAL,
    expected_digest,
    is_write_once,
    object_path,
    parse_journal,
)
from sync.state import RemoteState, load_state
from vault import key_register
from vault.audit import AuditLog
from vault.errors import IntegrityError
from vault.fsutil import make_private_dir
from vault.head import Head, read_head, read_index
from vault.keys import DataKey
from vault.repository import Vault

Unlock = Callable[[], DataKey | None]  # the data key, if it can be had without asking

RECOVERY_KEYS = ("keys/data.pub", "keys/passphrase.age", "keys/emergency.age")


def recovery_keys(vault: Vault) -> tuple[str, ...]:
    """The key files a remote must hold for a recovery: the public key, the
    emergency copy, and every key of the register (``vault.key_register``:
    the coordinator's passphrase file, each personal key, the register)."""
    try:
        register = key_register.read_register(vault.key_paths, vault.config)
    except (IntegrityError, OSError):  # damaged here: the remote's copy is wanted
        register = key_register.found_files(vault.key_paths, vault.config)
        register.stored = True
    keys = [f"keys/{k.file}" for k in sorted(register.keys, key=lambda k: k.label)]
    if register.stored:
        keys.append(f"keys/{key_register.REGISTER}")
    for level in sorted(register.levels):  # each access level's keys (``vault.levels``)
        keys += [f"keys/levels/{level}.pub", f"keys/levels/{level}.age"]
    return ("keys/data.pub", "keys/emergency.age", *keys)


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
    mac: str = ""
    fetched: Path | None = None  # where its head, journal (and ``also``) were downloaded
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


def inspect_remote(
    path: str,
    work: Path,
    what: str,
    also: Iterable[str] = (),
    keys: Iterable[str] = RECOVERY_KEYS,
) -> RemoteView:
    """List the remote and work out what its head and journal need; ``also``:
    more small files to download beside them; ``keys``: the key files it must
    hold (``recovery_keys``)."""
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
    fetched = view.fetched = work / "remote"
    make_private_dir(fetched)
    meta = [rel for rel in (HEAD, *also) if rel in view.present]

    def fetch(paths: Sequence[str]) -> None:
        size = sum(view.present[rel] for rel in paths)
        timeout = rclone.transfer_timeout(size, len(paths))
        rclone.fetch_files(path, list(paths), fetched, work, what=what, timeout=timeout)

    if meta:
        fetch(meta)
    logs = segments.read_logs(view.present, fetched, fetch)  # the list, segments, whole logs
    view.problems += [Problem(rel, problem) for rel, problem in sorted(logs.problems.items())]
    view.needed.update(segments.paths(logs.logs or {}))
    for rel in (*keys, CONFIG):
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
        view.head, view.mac = found
        _need_head(view, path, fetched, work, what)
    if not any(rel.startswith(f"{segments.AUDIT}/") for rel in logs.problems):
        view.problems += audit_chain(logs, view.head, work)
    for entry in parse_journal(logs.data.get(segments.JOURNAL, b"")):
        for object_id, size in entry.get("objects", {}).items():
            view.needed[object_path("objects", object_id)] = int(size)
        view.needed[object_path("manifests", entry["manifest"])] = int(entry["size"])
    for rel, size in sorted(view.needed.items()):
        if rel not in view.present:
            view.problems.append(Problem(rel, "missing"))
        elif size >= 0 and view.present[rel] != size:
            view.problems.append(Problem(rel, "wrong size"))
    return view


def audit_chain(logs: segments.Found, head: Head | None, work: Path) -> list[Problem]:
    """The remote's audit log must be an unbroken chain that holds the tip its
    head records (its anchor): the first break, named by the segment it is in."""
    data = logs.data.get(segments.AUDIT)
    if data is None:
        return []
    joined = work / "remote-audit.log"
    joined.write_bytes(data)
    anchor = head.audit if head is not None else None
    found = AuditLog(joined).verify(anchor)
    joined.unlink()
    if not found:
        return []
    first = found[0]
    where = _segment_of(logs, first.seq) if logs.logs else AUDIT
    if anchor is not None and first.seq == anchor[0] and first.problem.startswith("entries "):
        return [Problem(where, "audit log cut short: the head's audit tip is not in it")]
    return [Problem(where, f"audit chain broken at entry {first.seq}: {first.problem}")]


def _segment_of(logs: segments.Found, seq: int) -> str:
    """The audit segment that holds entry ``seq`` (else the list itself)."""
    log = (logs.logs or {}).get(segments.AUDIT)
    data = logs.data.get(segments.AUDIT, b"")
    if log is None:
        return segments.LIST
    offset = 0
    for piece in log.segments:
        for line in data[offset : offset + piece.size].splitlines():
            try:
                found = json.loads(line).get("seq")
            except (ValueError, AttributeError):
                continue
            if found == seq:
                return segments.segment_path(segments.AUDIT, piece.sha256)
        offset += piece.size
    return segments.LIST


def _need_head(view: RemoteView, path: str, fetched: Path, work: Path, what: str) -> None:
    head = view.head
    assert head is not None
    files = [f"catalog/{name}" for name in head.catalog_files()]
    for rel in files:
        view.needed[rel] = -1
    indexes = [rel for rel in files if rel.endswith(".idx")]
    if any(rel not in view.present for rel in indexes):
        return  # reported missing with the rest
    rclone.fetch_files(path, indexes, fetched, work, what=what, timeout=rclone.PREFLIGHT_TIMEOUT)
    try:
        ids = read_index(fetched / "catalog", head)
    except IntegrityError:
        view.problems.append(Problem(indexes[0], "corrupt"))
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
    unlock: Unlock | None = None,
) -> CheckResult:
    """Check remote ``name``; with ``read_data``, re-hash that fraction of its files.

    ``unlock`` gives the data key when it is at hand (else None): then a head
    newer than the one last sent is accepted if its MAC is right.
    """
    what = f"verify of remote {name!r}"
    result = CheckResult(name)
    work = vault.layout.tmp / f"verify-{name}"
    shutil.rmtree(work, ignore_errors=True)
    make_private_dir(work)
    try:
        state = load_state(vault.root, name, path)
        folder = local_folder(path)
        if folder is not None:  # a USB disk: plugged in, and this vault's? (``marker.py``)
            synced_before = not state.fresh or marked_when_added(vault.config, name)
            check_folder(folder, vault.vault_id, name, synced_before=synced_before, may_mark=False)
        sent = {} if state.fresh else dict(state.files)
        view = inspect_remote(path, work, what, also=sorted(sent), keys=recovery_keys(vault))
        problems = {p.path: p for p in view.problems}
        if view.head is not None:
            result.head = view.head.short
            result.documents = view.head.documents
        head = judge_head(vault, state, view, unlock)
        if head is not None:
            problems.setdefault(HEAD, head)
        newer = head is None and view.head is not None and _is_newer(vault, state, view.head)
        if not newer and view.fetched is not None:  # else whoever sent it sent the rest
            others = {rel: mine for rel, mine in sent.items() if rel != HEAD}
            for diff in compare_fetched(others, view.fetched, sorted(others)):
                if diff.problem == "changed" and _as_here(vault, state, view.fetched, diff.path):
                    continue  # this computer's copy, sent and the record of it lost
                problems.setdefault(diff.path, Problem(diff.path, diff.problem))
        expected = {} if newer else _named_here(vault, state, view, head is None)
        for rel, size in sorted(expected.items()):
            if rel not in view.present:
                problems.setdefault(rel, Problem(rel, "missing"))
            elif size >= 0 and view.present[rel] != size:
                problems.setdefault(rel, Problem(rel, "wrong size"))
            known = view.needed.get(rel, -1)
            view.needed[rel] = size if size >= 0 else known
        result.problems.extend(problems.values())
        result.checked = len(view.needed)
        if read_data:
            bad = set(problems)
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


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _as_here(vault: Vault, state: RemoteState, fetched: Path, rel: str) -> bool:
    """The remote's copy of replaceable file ``rel`` is byte for byte this computer's
    (for the audit log: was, with only looks added here since).

    A sync cut off after a file arrived but before the record of it was saved
    (killed, a power cut) leaves the remote holding what this computer has,
    not what the record says was sent: that is no forgery."""
    if rel == segments.LIST:
        return _list_as_here(vault, state, fetched)
    local = _digest(vault.root.joinpath(*rel.split("/")))
    theirs = _digest(fetched.joinpath(*rel.split("/")))
    if local is not None and local == theirs:
        return True
    if rel != AUDIT or theirs is None:
        return False
    # The log grows here after a sync (its read-back is recorded): a copy this
    # computer had, followed here by nothing but such looks, is no forgery.
    sent = fetched.joinpath(*rel.split("/")).stat().st_size
    try:
        mine = vault.layout.audit.read_bytes()
    except FileNotFoundError:
        return False
    return only_looks({"size": sent, "sha256": theirs}, mine)


def _list_as_here(vault: Vault, state: RemoteState, fetched: Path) -> bool:
    """Each log the remote's list names is the one last recorded as sent, or
    this computer's (the audit log: with only looks added here since). A sync
    cut off between sending the list and saving its record leaves that."""
    try:
        theirs = segments.parse((fetched / segments.LIST).read_bytes())
    except (OSError, ValueError):
        return False
    local = {segments.AUDIT: vault.layout.audit, segments.JOURNAL: vault.root / JOURNAL}
    for kind in segments.LOGS:
        log = theirs.get(kind)
        if log == state.logs.get(kind):
            continue  # as recorded (or, both none: the whole legacy file)
        if log is None:
            return False
        try:
            data = local[kind].read_bytes()
        except FileNotFoundError:
            data = b""
        if len(data) == log.size and segments.extends(log, data):
            continue
        if kind == segments.AUDIT and only_looks({"size": log.size, "sha256": log.sha256}, data):
            continue
        return False
    return True


def _sent_seq(state: RemoteState) -> int | None:
    seq = (state.last_sync or {}).get("head_seq")
    return seq if isinstance(seq, int) else None


def _local_head(vault: Vault) -> Head | None:
    try:
        found = read_head(vault.layout.head)
    except IntegrityError:
        return None
    return found[0] if found else None


def _is_newer(vault: Vault, state: RemoteState, head: Head) -> bool:
    """The remote's head is later than any this computer sent or has (a head
    found authentic by ``judge_head``: its sequence number can be believed)."""
    local = _local_head(vault)
    return head.seq > max(_sent_seq(state) or 0, local.seq if local else 0)


def judge_head(
    vault: Vault, state: RemoteState, view: RemoteView, unlock: Unlock | None
) -> Problem | None:
    """A problem with the remote's head, if it is not one this computer can vouch for."""
    if view.fetched is None or HEAD not in view.present:
        return None  # a missing head is reported with the rest
    theirs = _digest(view.fetched / HEAD)
    if theirs is None:
        return Problem(HEAD, "missing")
    if not state.fresh and theirs == (state.files.get(HEAD) or {}).get("sha256"):
        return None  # the head last sent
    if theirs == _digest(vault.layout.head):
        return None  # the head this computer has (sent, and the record of it lost)
    if view.head is not None and unlock is not None and _is_newer(vault, state, view.head):
        key = unlock()
        if key is not None:
            try:
                key.check_mac(view.head.body(), view.mac, "the remote's head")
                return None  # newer, and made by someone holding the key
            except IntegrityError:
                pass
    sent = _sent_seq(state)
    if view.head is not None and sent is not None and view.head.seq < sent:
        return Problem(HEAD, f"rolled back (head {view.head.seq}, sent {sent})")
    return Problem(HEAD, "not the head this computer sent")


def _named_here(
    vault: Vault, state: RemoteState, view: RemoteView, head_ok: bool
) -> dict[str, int]:
    """What the remote must hold by this computer's own record: the write-once
    files the local head and journal name that were sent there, with their
    sizes (-1: unknown). Without a record of what was sent, the files the
    local head names when the remote holds that very head."""
    layout = vault.layout
    try:
        found = read_head(layout.head)
    except IntegrityError:
        found = None
    named: dict[str, int] = {}
    if found is not None:
        head = found[0]
        for name in head.catalog_files():
            local = layout.catalog / name
            named[f"catalog/{name}"] = local.stat().st_size if local.is_file() else -1
        try:
            index = read_index(layout.catalog, head)
        except (IntegrityError, ValueError):
            index = {}
        for object_id, size in index.items():
            paths = [object_path(store, object_id) for store in ("objects", "manifests")]
            rel = next((p for p in paths if p in state.stored or p in view.present), paths[0])
            named[rel] = int(size)
    if state.fresh:
        local_digest = _digest(layout.head)
        remote_digest = _digest(view.fetched / HEAD) if view.fetched is not None else None
        same = head_ok and local_digest is not None and local_digest == remote_digest
        return named if same else {}
    journal = layout.root / JOURNAL
    for entry in parse_journal(journal.read_bytes() if journal.is_file() else b""):
        for object_id, size in entry.get("objects", {}).items():
            named[object_path("objects", object_id)] = int(size)
        named[object_path("manifests", entry["manifest"])] = int(entry["size"])
    return {rel: size for rel, size in named.items() if rel in state.stored}


def is_replaceable(path: str) -> bool:
    """True for the files a sync replaces (head, journal, logs, keys, settings)."""
    return not is_write_once(path)
