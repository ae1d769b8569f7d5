"""``vault sync``: send the vault's new ciphertext to a remote, head last.

Needs no key: only encrypted objects, the encrypted catalog, the public
keys, the age-wrapped data keys and the plain logs are moved. The remote
mirrors the vault's layout.

A sync starts one ``rclone rcd`` and makes every step a call to it (see
``rcd.py``): starting rclone costs about as much as sending a few small
files, so it is started once, first, and boots while the snapshot is taken.
In order (each step starts only when the one before succeeded):

1. **Snapshot** under the vault lock (see ``snapshot.py``: after a sync that
   finished in full, only what changed since is read) and the plan: the
   write-once files the state file does not list, and the replaceable files
   whose bytes changed.
2. **Preflight**: list the remote's replaceable files (the top folder and
   ``keys/``) with their hashes, with one try and short network timeouts,
   so an unreachable remote or refused credentials fail in seconds with one
   line (``RemoteError``, exit 5). If any of them is not byte for byte what
   the state file says was sent (the remote was emptied, an older head put
   back, a head, journal line or key forged: see ``replaceable.py``), this
   becomes a ``--full`` sync, which sends this computer's copy of every
   replaceable file again, and the snapshot is taken again. Nothing new
   means nothing is sent; otherwise a remote that turns out to be the vault
   folder itself is refused, and a "sync" event is added to the audit log
   (a second, short hold of the lock) so the copy sent has it.
3. **Write-once files and the files nothing names**: objects, manifests, the
   catalog snapshot and index, keys and ``config.json``, in one copy of a list
   of files that neither lists nor asks the remote first (the cost does not
   grow with the size of the remote); then the new segments of the audit log
   and the journal (``segments.py``: only what was added to them since the
   last sync, as write-once files ``audit/<sha>``, ``journal/<sha>``), and
   the list ``segments.json`` that names them in order, replaced in one step
   as the head is. The audit log goes before the head: the head records its
   tip. When the journal only grew, its new segment goes in the same list.
4. **Head**: uploaded straight over ``head.json``, and always sent (never
   skipped as "same size and time"). The remote's head is replaced in one
   step: rclone writes it under a temporary name and renames it over the
   old one on file-like backends (a local folder, SFTP, FTP, SMB), and
   object stores replace an object whole. (A rename on the remote would not
   do: rclone's ``moveto`` deletes the old file first, so for a moment there
   would be no head at all.)
5. **Journal**: when the journal did not simply grow, the list that names its
   new segments goes after the head (the list of step 3 still named the
   journal the remote had). The journal and the head together name every
   document; a fold empties the local journal as it writes the new head, so
   sending the emptied journal first would, for a moment, leave documents
   named by neither on the remote. While the last list goes, the new state
   is written beside the state file; it is renamed into place once it arrived.
6. **Removals**: write-once files that neither the new head nor the journal
   name any more (erased records, dropped duplicates, old catalog snapshots),
   segments the list no longer names (a journal emptied, segments merged),
   the key files of removed personal keys, and the whole ``audit.log`` and
   ``journal.log`` an earlier version sent (the first sync after an upgrade
   sends both logs as segments) are deleted only now.
   After a key rotation (``vault rotate``: the vault's public key changed
   since the remote got it), the new key files do not go in step 3: once
   the segment list is in place, they and the head go to ``rotation/`` first
   (every file they name is there by then), then the head, then the key
   files to their own names; ``rotation/`` is removed with the rest in step
   6, after which the remote's trash or old versions are emptied
   (``rclone cleanup``) where its backend can, else the user is told to.
   At every instant the old passphrase opens the old state whole, or the new
   one the new state (``recovery.trust`` tries ``rotation/`` when the
   remote's own keys and head do not fit together).
7. **Read-back**: a few files the remote already held are downloaded and
   re-hashed (``sample.py``), on every sync, also one with nothing to send;
   the result is a check in the audit log, and a damaged file fails the
   sync (exit 4) once the rest is done.

The audit log alone is no reason to sync: when the only change since the
last sync is entries that record a look at the vault (``replaceable.LOOKS``: syncs,
checks, reports, drills), the log waits for the next sync that sends
something else, and ``vault status`` counts nothing as waiting. Any other
entry (an unlock, a document shown, an emergency-key use) is sent. (A remote
still in the layout of an earlier version, whole ``audit.log`` and
``journal.log``, is moved to segments by the next sync in any case.)

An interrupted sync leaves the remote's previous head valid (everything it
names is still there: nothing it names is removed before step 6) and the next
run sends what is missing; files that did arrive before a copy failed are
recorded, so they are not sent again. ``--full`` first lists the whole remote
and rebuilds the state from what is really there. A remote that holds a
different vault's backup is refused, and so is a folder remote whose disk is
not plugged in (``marker.py``): before the first step, so the folder is never
made again on the computer's own disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync import rclone, sample, segments
from sync.marker import MARKER, check_folder, marked_when_added, read_marker
from sync.remotes import local_folder, refuse_vault_folder
from sync.replaceable import (
    HASHES,
    LISTED,
    Difference,
    compare,
    compare_fetched,
    describe,
    only_looks,
    record,
)
from sync.snapshot import (
    AUDIT,
    CONFIG,
    HEAD,
    JOURNAL,
    ROTATION,
    Snapshot,
    is_write_once,
    require_complete,
    stage,
    take_snapshot,
)

if TYPE_CHECKING:
    from sync.rcd import Daemon
from sync.state import (
    PendingState,
    RemoteState,
    load_state,
    prepare_state,
    save_state,
    state_dir,
)
from vault import clock
from vault.errors import LockedError, RemoteError, UsageError, VaultError
from vault.fsutil import make_private_dir
from vault.key_register import is_personal_key_path
from vault.lock import VaultLock
from vault.repository import Vault

HEAD_TEMP = "head.json.new"  # where earlier versions uploaded the head first

StatsCallback = Callable[[dict[str, Any]], None]


@dataclass
class SyncResult:
    name: str
    uploaded: int = 0
    bytes: int = 0
    deleted: int = 0
    head: str | None = None
    head_seq: int | None = None
    documents: int = 0
    full: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    read_back: int = 0  # files downloaded and re-hashed at the end (``sample.py``)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (path, problem) of those

    @property
    def up_to_date(self) -> bool:
        return self.uploaded == 0 and self.deleted == 0


@dataclass
class Plan:
    stored: list[str]  # write-once paths to send
    early: list[str]  # replaceable files sent with them (keys, config)
    head: bool
    logs: segments.Plan  # the audit log's and journal's new segments and lists
    delete: list[str]  # write-once paths to remove, last
    drop: list[str] = field(default_factory=list)  # replaced segments and whole logs, last
    # The vault's key was rotated since the remote got its public key (``vault
    # rotate``): the key files must not replace the remote's before the head
    # that needs them (see ``_send``).
    rotating: bool = False

    @property
    def empty(self) -> bool:
        return (
            not (self.stored or self.early or self.head or self.delete or self.drop)
            and self.logs.empty
        )


def now_utc() -> str:
    return clock.stamp()


def remote_lock(vault: Vault, name: str) -> VaultLock:
    """One sync (or repair) per remote at a time."""
    make_private_dir(state_dir(vault.root))
    return VaultLock(state_dir(vault.root) / f"{name}.lock", wait=0)


def sync_remote(
    vault: Vault,
    name: str,
    path: str,
    *,
    full: bool = False,
    on_stats: StatsCallback | None = None,
) -> SyncResult:
    """Bring remote ``name`` (rclone ``path``) up to date with the vault."""
    started = time.monotonic()
    what = f"sync to remote {name!r}"
    from sync.rcd import Daemon  # http.client: only when a sync runs

    with Daemon(what) as remote:  # first: rclone starts while the rest is done
        lock = remote_lock(vault, name)
        try:
            lock.acquire()
        except LockedError as exc:
            raise LockedError(f"a sync to remote {name!r} is already running") from exc
        try:
            result = _sync(vault, remote, name, path, full=full, on_stats=on_stats)
        finally:
            lock.release()
    result.seconds = time.monotonic() - started
    return result


def _sync(
    vault: Vault,
    remote: Daemon,
    name: str,
    path: str,
    *,
    full: bool,
    on_stats: StatsCallback | None,
) -> SyncResult:
    result = SyncResult(name)
    folder = local_folder(path)
    if folder is not None:
        refuse_vault_folder(folder, vault.root)  # the vault may have moved since 'remote add'
    work = vault.layout.tmp / f"sync-{name}"
    shutil.rmtree(work, ignore_errors=True)
    make_private_dir(work)
    try:
        state = load_state(vault.root, name, path)
        if folder is not None:  # a USB disk: plugged in, and this vault's? (``marker.py``)
            _check_marker(vault, folder, name, not state.fresh, result)
        with vault.lock:
            snap = take_snapshot(vault, state.stored, sent=state.since())
        plan = make_plan(snap, state)
        top = remote.list_files(
            path,
            recursive=True,
            include=LISTED,
            hashes=_hash_kinds(state),
            timeout=rclone.PREFLIGHT_TIMEOUT,
            preflight=True,
        )
        md5 = not any("sha256" in e.hashes for e in top or [])  # remember what it can give
        differ = [] if state.fresh else _remote_changed(remote, path, state, top, work)
        if not full and (state.fresh or differ):
            if differ:
                result.notes.append(
                    f"the remote is not as last left ({describe(differ)}); "
                    "checked all of it and sent this computer's copies"
                )
            full = True
        result.full = full
        if full:
            _reconcile(vault, remote, path, state, top, work)
            with vault.lock:
                snap = take_snapshot(vault, state.stored)
        # Segments a sync killed before its record left there, and key files the
        # register does not name (removed at the end).
        if _strays(state, top, snap.named_keys) or full:
            plan = make_plan(snap, state)
        require_complete(snap)
        disk: Path | None = None
        if not plan.empty:
            disk = _check_local_folder(vault, remote, path, name, not state.fresh, result)
            if not top:  # nothing listed to tell which hashes the remote gives
                md5 = "sha256" not in remote.hash_kinds(path)
            with vault.lock:
                vault.audit.append("sync", [], remote=name)
                snap.set_file(AUDIT, vault.layout.audit.read_bytes())
            plan.logs, plan.drop = plan_logs(snap, state)  # the audit log grew
            stage(snap, [HEAD] if plan.head else [], work)
            segments.stage(plan.logs, work)
        result.head = snap.head.short if snap.head else None
        result.head_seq = snap.head.seq if snap.head else None
        result.documents = snap.documents
        pending: PendingState | None = None

        def prepare() -> None:  # while rclone sends the last file, if it is the journal
            nonlocal pending
            pending = prepare_state(
                vault.root, name, state, summary=_summary(result), complete=snap.journaled
            )

        if not plan.empty:
            try:
                _send(
                    remote,
                    snap,
                    plan,
                    state,
                    path,
                    work,
                    result,
                    on_stats,
                    prepare,
                    md5,
                    before_head=None if disk is None else lambda: _still_marked(vault, disk, name),
                )
            except BaseException:
                if pending is not None:
                    pending.discard()
                save_state(vault.root, name, state)  # keep what did arrive
                raise
        if pending is None:
            prepare()
        assert pending is not None
        pending.commit()
        _read_back(vault, remote, name, path, state, plan, work, result)
        remote.finish()  # every call answered: rclone ends while the work folder goes
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _read_back(
    vault: Vault,
    remote: Daemon,
    name: str,
    path: str,
    state: RemoteState,
    plan: Plan,
    work: Path,
    result: SyncResult,
) -> None:
    """Read back a few files the remote holds (``sample.py``) and record the check."""

    logs = segments.paths(state.logs)  # the log segments are read back too

    def size_of(rel: str) -> int | None:
        if rel in logs:
            return logs[rel]
        try:
            return vault.root.joinpath(*rel.split("/")).stat().st_size
        except OSError:
            return None  # gone here (to be removed there): not one to compare

    just_sent = {*plan.stored, *plan.logs.upload}
    chosen = sample.choose([*state.stored, *logs], size_of, just_sent=just_sent)
    if not chosen:
        return
    found = sample.read_back(remote, path, chosen, work)
    result.read_back = len(chosen)
    result.damaged = sorted(found.items())
    with vault.lock:
        vault.audit.append(
            "verify",
            sorted(_shown_id(rel) for rel in found),
            ok=not found,
            remote=name,
            read=len(chosen),
            scope="sample",
            corrupt=sum(1 for problem in found.values() if problem == "corrupt"),
        )


def _shown_id(rel: str) -> str:
    """The object id of an object or manifest; else the file's path."""
    return rel.rsplit("/", 1)[-1] if rel.startswith(("objects/", "manifests/")) else rel


def _summary(result: SyncResult) -> dict[str, Any]:
    return {
        "time": now_utc(),
        "uploaded": result.uploaded,
        "bytes": result.bytes,
        "deleted": result.deleted,
        "head": result.head,
        "head_seq": result.head_seq,
        "documents": result.documents,
        "full": result.full,
    }


def make_plan(snap: Snapshot, state: RemoteState) -> Plan:
    changed = [rel for rel in snap.files if rel not in LOCAL_LOGS and _changed(state, snap, rel)]
    logs, drop = plan_logs(snap, state)
    plan = Plan(
        stored=sorted(snap.stored.keys() - state.stored),
        early=sorted(rel for rel in changed if rel != HEAD),
        head=HEAD in changed,
        logs=logs,
        delete=sorted(state.stored - snap.stored.keys()),
        drop=drop,
        rotating=ROTATION_SIGN in changed and ROTATION_SIGN in state.files,
    )
    others = plan.stored or plan.early or plan.head or plan.delete or plan.drop
    if not others and not logs.empty and _only_looks(snap, state, logs):
        plan.logs = segments.Plan(dict(state.logs))  # see "The audit log alone" above
    return plan


LOCAL_LOGS = {AUDIT: segments.AUDIT, JOURNAL: segments.JOURNAL}  # snapshot file -> list key
ROTATION_SIGN = "keys/data.pub"  # changes only when the key is rotated


def plan_logs(snap: Snapshot, state: RemoteState) -> tuple[segments.Plan, list[str]]:
    """The audit log's and journal's segments to send (``segments.py``), and the
    files of the remote to remove once the list that replaces them is in place:
    segments no list names any more, the whole logs of an earlier version, and
    the key files of keys removed here (``vault key remove``)."""
    data = {key: snap.files.get(rel, b"") for rel, key in LOCAL_LOGS.items()}
    logs = segments.plan(state.logs, state.files, data, lambda rel: _held(state, rel))
    final = logs.after or logs.before or logs.logs
    named = segments.paths(final)
    drop = [rel for rel in state.files if segments.is_segment(rel) and rel not in named]
    if all(key in final for key in segments.LOGS):
        drop += [rel for rel in (AUDIT, JOURNAL) if rel in state.files]
    # A personal key file the register (its MAC checked) no longer names: a
    # removed key. The fixed key files (data.pub, passphrase.age, emergency.*)
    # and the register itself are never removed from the remote: one missing
    # here by mistake must still be in the backup.
    if snap.named_keys is not None:
        drop += [
            rel for rel in state.files if is_personal_key_path(rel) and rel not in snap.named_keys
        ]
    drop += [rel for rel in state.files if rel.startswith(ROTATION)]  # a rotation's, sent before
    return logs, sorted(drop)


def _strays(
    state: RemoteState, top: list[rclone.Entry] | None, named_keys: frozenset[str] | None
) -> bool:
    """Record, by size alone, the log segments the remote holds that ``state`` does
    not know of (sent by a sync killed before it saved its record): the plan then
    removes them at the end, or sends them again if the new list names them. So
    too a personal key file there that the key register does not name (put
    there by another hand): removed at the end."""
    found = False
    for entry in top or []:
        stray_key = (
            named_keys is not None
            and is_personal_key_path(entry.path)
            and entry.path not in named_keys
        )
        ours = segments.is_segment(entry.path) or entry.path.startswith(ROTATION)
        if (ours or stray_key) and entry.path not in state.files:
            state.files[entry.path] = {"size": entry.size}
            found = True
    return found


def _held(state: RemoteState, rel: str) -> bool:
    """The remote holds segment ``rel`` as it was sent (its hash is its name)."""
    return (state.files.get(rel) or {}).get("sha256") == rel.rsplit("/", 1)[-1]


def _only_looks(snap: Snapshot, state: RemoteState, logs: segments.Plan) -> bool:
    """Since the last sync, the audit log gained only ``LOOKS`` entries and nothing
    else changed (a remote still in the old layout is moved to the new one)."""
    sent = state.logs.get(segments.AUDIT)
    if sent is None or state.logs.get(segments.JOURNAL) != logs.logs[segments.JOURNAL]:
        return False
    if not all(_held(state, rel) for rel in segments.paths(state.logs)):
        return False
    found = {"size": sent.size, "sha256": sent.sha256}
    return only_looks(found, snap.files.get(AUDIT, b""))


def _send(
    remote: Daemon,
    snap: Snapshot,
    plan: Plan,
    state: RemoteState,
    path: str,
    work: Path,
    result: SyncResult,
    on_stats: StatsCallback | None,
    last: Callable[[], None],
    md5: bool,
    *,
    before_head: Callable[[], None] | None = None,
) -> None:
    """Steps 3-6; ``state`` and ``result`` are updated after each step that succeeded.

    The files of step 3 are sent straight from the vault folder: write-once
    files never change, and a newer key or settings file than the
    snapshot's is harmless (none of them names an object). The head, the
    segments and their lists are sent from the snapshot's copies in ``work``.

    ``last`` runs while rclone sends the segment list when that is the last
    step (the usual sync: new documents, nothing to remove); the list is
    recorded first so that it sees ``state`` and ``result`` as they will be
    if it arrives, and is put back if it does not. ``md5``: record
    each replaceable file's MD5 as well (the remote gives no SHA-256).
    ``before_head`` runs between steps 3 and 4: a folder remote's disk pulled
    out meanwhile (rclone then makes the folder again on this computer's own
    disk) gets no head, so it is never taken for a backup.
    """
    # After a key rotation the remote's key files are replaced only once the
    # head that needs them is in place; before the head, they and the head go
    # to rotation/ (what a recovery tries when the remote's own do not fit).
    keys_after = [rel for rel in plan.early if rel.startswith("keys/")] if plan.rotating else []
    early = [rel for rel in plan.early if rel not in keys_after]
    first = [*plan.stored, *early]
    logs = plan.logs
    failed: list[BaseException] = []

    def send_segments() -> None:  # while rclone copies the new files: no wait of their own
        try:
            _send_segments(remote, logs.upload, state, path, work, result, md5)
        except Exception as error:  # raised once the copy it overlaps is over
            failed.append(error)

    def meanwhile() -> None:
        _remember_all({}, snap, early, md5)  # digests, cached
        send_segments()

    if first:
        size = sum(max(snap.stored.get(rel, 0), 0) for rel in plan.stored)
        size += sum(len(snap.files[rel]) for rel in early)
        copied: list[str] = []
        try:
            sent = remote.copy_files(
                snap.root,
                path,
                first,
                work,
                timeout=rclone.transfer_timeout(size, len(first)),
                on_stats=on_stats,
                copied=copied,
                meanwhile=meanwhile,
            )
        except RemoteError:
            # Keep what did arrive, so the next run does not send it again.
            state.stored.update(rel for rel in copied if rel in snap.stored)
            for rel in copied:
                if rel in early:
                    _remember(state.files, snap, rel, md5)
            raise
        _check_sent(sent, snap, first, remote.what)
        state.stored.update(plan.stored)
        for rel in early:
            _remember(state.files, snap, rel, md5)
        result.uploaded += len(first)
        result.bytes += size
    else:
        send_segments()
    if failed:
        raise failed[0]
    last_list = logs.after if logs.after is not None else (None if plan.head else logs.before)
    staging = [f"{ROTATION}{rel}" for rel in [*keys_after, HEAD]] if keys_after else []
    removals = [*plan.delete, *plan.drop, *(rel for rel in staging if rel not in plan.drop)]
    if before_head is not None and (plan.head or logs.before is not None or logs.after is not None):
        before_head()
    if logs.before is not None:
        finish = last if logs.before is last_list and not removals else None
        _send_list(remote, logs.before, state, path, work, result, md5, finish)
    staged = _send_rotation(remote, snap, keys_after, state, path, work, result, md5)
    if staged:
        _checkpoint("rotation")
    if plan.head:
        timeout = rclone.transfer_timeout(len(snap.files[HEAD]), 1)
        remote.copy_file(work, HEAD, path, HEAD, timeout=timeout)
        _remember(state.files, snap, HEAD, md5)
        result.uploaded += 1
        result.bytes += len(snap.files[HEAD])
        if staged:
            _checkpoint("head")
    if keys_after:
        size = sum(len(snap.files[rel]) for rel in keys_after)
        timeout = rclone.transfer_timeout(size, len(keys_after))
        sent = remote.copy_files(snap.root, path, keys_after, work, timeout=timeout)
        _check_sent(sent, snap, keys_after, remote.what)
        for rel in keys_after:
            _remember(state.files, snap, rel, md5)
        result.uploaded += len(keys_after)
        result.bytes += size
        _checkpoint("keys")
    if logs.after is not None:
        finish = last if not removals else None
        _send_list(remote, logs.after, state, path, work, result, md5, finish)
    if removals:
        remote.delete_files(path, removals, work, timeout=rclone.transfer_timeout(0, len(removals)))
        state.stored.difference_update(plan.delete)
        for rel in [*plan.drop, *staged]:
            state.files.pop(rel, None)
        result.deleted += len(removals)
    if plan.rotating or any(rel.startswith(("objects/", "manifests/")) for rel in plan.delete):
        _empty_trash(remote, path, result)


STOP_AT = "VAULT_TEST_SYNC_STOP_AT"


def _checkpoint(point: str) -> None:
    """Tests only: die here (SIGKILL) when ``VAULT_TEST_SYNC_STOP_AT`` names this point."""
    if os.environ.get(STOP_AT) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _send_rotation(
    remote: Daemon,
    snap: Snapshot,
    keys: list[str],
    state: RemoteState,
    path: str,
    work: Path,
    result: SyncResult,
    md5: bool,
) -> list[str]:
    """Send the rotated key files and the head to ``rotation/`` (after every
    file the head names, before the head): from then on the remote holds a
    whole set the new keys open, while its own still open the old state."""
    if not keys:
        return []
    staged = [f"{ROTATION}{rel}" for rel in [*keys, HEAD]]
    for rel, source in zip(staged, [*keys, HEAD], strict=True):
        target = work.joinpath(*rel.split("/"))
        make_private_dir(target.parent)
        target.write_bytes(snap.files[source])
    size = sum(len(snap.files[rel]) for rel in [*keys, HEAD])
    sent = remote.copy_files(work, path, staged, work, timeout=rclone.transfer_timeout(size, 3))
    if sent < len(staged):
        raise RemoteError(f"{remote.what} failed: rclone sent {sent} of {len(staged)} files")
    for rel, source in zip(staged, [*keys, HEAD], strict=True):
        state.files[rel] = _record(snap.files[source], md5)  # removed at the end, or next time
    result.uploaded += len(staged)
    result.bytes += size
    return staged


def _empty_trash(remote: Daemon, path: str, result: SyncResult) -> None:
    """After documents or files were deleted on the remote (erased, corrected,
    or a key rotation's old files): they must not stay in a trash or as old
    versions, where whoever can read the account (or holds an old key) finds
    them."""
    if remote.local_folder(path) is not None:
        return  # a folder deletes for good
    try:
        cleaned = remote.clean_up(path, timeout=rclone.transfer_timeout(0, 1000))
    except RemoteError:
        cleaned = False  # the backend offers it but refused (a server that lacks it)
    if cleaned:
        result.notes.append("files were deleted, and the remote's trash or old versions emptied")
        return
    result.notes.append(
        "files were deleted; if this remote keeps deleted files or old versions "
        "(a trash, version history), empty them in its web page: they can still be read there"
    )


def _send_segments(
    remote: Daemon,
    upload: dict[str, bytes],
    state: RemoteState,
    path: str,
    work: Path,
    result: SyncResult,
    md5: bool,
) -> None:
    """Step 3, the logs' part: their new segments, staged in ``work``
    (``segments.stage``), one call each; each is recorded as it arrives, so
    the next sync need not send it again if a later one fails."""
    for rel in sorted(upload):
        data = upload[rel]
        remote.put_file(work, rel, path, rel, timeout=rclone.transfer_timeout(len(data), 1))
        state.files[rel] = _record(data, md5)
        result.uploaded += 1
        result.bytes += len(data)


def _send_list(
    remote: Daemon,
    logs: dict[str, segments.Log],
    state: RemoteState,
    path: str,
    work: Path,
    result: SyncResult,
    md5: bool,
    meanwhile: Callable[[], None] | None,
) -> None:
    """Put the segment list ``logs`` in place on the remote, in one step (as the head).

    It is recorded in ``state`` first, so that ``meanwhile`` (the new state,
    written while rclone sends) sees it as it will be; put back if it fails."""
    data = segments.dump(logs)
    staged = f"{segments.LIST}.{hashlib.sha256(data).hexdigest()[:16]}"
    (work / staged).write_bytes(data)
    before_file, before_logs = state.files.get(segments.LIST), state.logs
    state.files[segments.LIST] = _record(data, md5)
    state.logs = dict(logs)
    result.uploaded += 1
    result.bytes += len(data)
    try:
        remote.copy_file(
            work,
            staged,
            path,
            segments.LIST,
            timeout=rclone.transfer_timeout(len(data), 1),
            meanwhile=meanwhile,
        )
    except BaseException:
        state.logs = before_logs
        if before_file is None:
            state.files.pop(segments.LIST, None)
        else:
            state.files[segments.LIST] = before_file
        raise


def _record(data: bytes, md5: bool) -> dict[str, Any]:
    found = record(data)
    if not md5:
        del found["md5"]
    return found


def _check_sent(count: int, snap: Snapshot, paths: list[str], what: str) -> None:
    """rclone skips a listed file that does not exist: make sure none was skipped."""
    if count >= len(paths):
        return
    vanished = [rel for rel in paths if not snap.root.joinpath(*rel.split("/")).exists()]
    if vanished:
        raise VaultError(
            f"{what} stopped: {len(vanished)} files changed in the vault while it ran",
            hint="run 'vault sync' again",
        )
    raise RemoteError(
        f"{what} failed: rclone sent {count} of {len(paths)} files",
        hint="run 'vault sync' again",
    )


def _changed(state: RemoteState, snap: Snapshot, rel: str) -> bool:
    """True when the remote's copy of a replaceable file is not the snapshot's."""
    sent = state.files.get(rel)
    if sent is None or sent.get("size") != len(snap.files[rel]):
        return True  # (a different size spares hashing a long log)
    return bool(sent.get("sha256") != snap.digest(rel))


def _remember(files: dict[str, dict[str, Any]], snap: Snapshot, rel: str, md5: bool) -> None:
    """Record in ``files`` what the remote holds of ``rel`` once it is sent
    (digests are cached by ``snap``: computing them early is no extra work)."""
    found: dict[str, Any] = {"sha256": snap.digest(rel), "size": len(snap.files[rel])}
    if md5:
        found["md5"] = snap.md5(rel)
    files[rel] = found


def _hash_kinds(state: RemoteState) -> tuple[str, ...]:
    """The hashes to ask the remote for. One that gave SHA-256 before (its
    records have no MD5) is asked for that alone: a local folder computes
    each kind asked for, and MD5 would double the work. Any other, both
    (an S3-like store has its MD5s at hand, and gives no SHA-256)."""
    if all("md5" in sent for sent in state.files.values()):
        return HASHES
    return ("sha256",)


def _remember_all(
    files: dict[str, dict[str, Any]], snap: Snapshot, paths: list[str], md5: bool
) -> None:
    for rel in paths:
        _remember(files, snap, rel, md5)


def _remote_changed(
    remote: Daemon, path: str, state: RemoteState, top: list[rclone.Entry] | None, work: Path
) -> list[Difference]:
    """The replaceable files on the remote that are not what was last sent there.

    Judged by the hashes in the listing; a file the remote gives no usable
    hash for is downloaded and hashed (a local folder and S3-like stores
    never need it)."""
    differ, unknown = compare(state.files, top or [])
    if unknown:
        fetched = work / "remote-files"
        make_private_dir(fetched)
        remote.copy_files(
            path,
            str(fetched),
            unknown,
            work,
            timeout=rclone.transfer_timeout(sum(state.files[r]["size"] for r in unknown), 1),
        )
        differ += compare_fetched(state.files, fetched, unknown)
    return differ


def _check_marker(
    vault: Vault, folder: Path, name: str, synced_before: bool, result: SyncResult
) -> None:
    expected = synced_before or marked_when_added(vault.config, name)
    if check_folder(folder, vault.vault_id, name, synced_before=expected, may_mark=True):
        result.notes.append(f"marked the folder as this vault's backup ({MARKER})")


def _still_marked(vault: Vault, folder: Path, name: str) -> None:
    if read_marker(folder) != vault.vault_id:
        raise RemoteError(
            f"the backup disk of remote {name!r} was unplugged during the sync "
            f"({folder} lost its {MARKER})",
            hint="plug the disk in and run 'vault sync' again; a folder the sync may have "
            "made on this computer meanwhile can be deleted",
        )


def _check_local_folder(
    vault: Vault, remote: Daemon, path: str, name: str, synced_before: bool, result: SyncResult
) -> Path | None:
    """Before anything is written to a remote that rclone says is a local folder
    (a plain path, ``:local:``, a named remote of the local type): refuse one
    that overlaps the vault, or is not this vault's plugged-in backup disk
    (``marker.py``), and make the folder private (0700) if an earlier
    version left it open to others (rclone now writes with the umask 077)."""
    folder = remote.local_folder(path)
    if folder is None:
        return None
    refuse_vault_folder(folder, vault.root)
    _check_marker(vault, folder, name, synced_before, result)
    try:
        mode = folder.stat().st_mode
        if mode & 0o077:
            folder.chmod(stat.S_IMODE(mode) & 0o700)
    except OSError:
        pass  # not ours to change
    return folder


def _reconcile(
    vault: Vault,
    remote: Daemon,
    path: str,
    state: RemoteState,
    top: list[rclone.Entry] | None,
    work: Path,
) -> None:
    """Rebuild ``state`` from a real listing of the remote (``--full``).

    The logs' segments and whole files found there are recorded by size
    alone: each is sent again if the new list names it, else removed at the
    end. The remote's own list is taken as what it names (trusted for
    nothing else), so that its journal stays in force until the head."""
    state.files = {}
    state.logs = {}
    if top is None:
        state.stored = set()
        return
    if state.fresh and any(e.path == CONFIG for e in top):
        # Only where this computer never synced: on a remote it did, a changed
        # config.json is a file to put back, not a reason to stop backing up.
        _refuse_other_vault(vault, remote, path, work)
    listing = remote.list_files(path, recursive=True, timeout=rclone.transfer_timeout(0, 100_000))
    present = {e.path: e.size for e in listing or []}
    for rel, size in present.items():
        if segments.is_segment(rel) or rel in (AUDIT, JOURNAL):
            state.files[rel] = {"size": size}
    if segments.LIST in present:
        state.logs = _remote_list(remote, path, work)
    stored = set()
    for rel, size in present.items():
        if not is_write_once(rel):
            continue
        local = vault.root.joinpath(*rel.split("/"))
        try:
            local_size = local.stat().st_size
        except FileNotFoundError:
            stored.add(rel)  # not ours any more (or never): removed after the head moves
            continue
        if local_size == size:
            stored.add(rel)  # a wrong size is left out, so it is sent again
    state.stored = stored
    if HEAD_TEMP in present:
        state.stored.add(HEAD_TEMP)  # a leftover of an interrupted sync: removed at the end


def _remote_list(remote: Daemon, path: str, work: Path) -> dict[str, segments.Log]:
    fetched = work / "remote-list"
    make_private_dir(fetched)
    remote.download_file(path, segments.LIST, fetched, timeout=rclone.PREFLIGHT_TIMEOUT)
    try:
        return segments.parse((fetched / segments.LIST).read_bytes())
    except (OSError, ValueError):
        return {}


def _refuse_other_vault(vault: Vault, remote: Daemon, path: str, work: Path) -> None:
    fetched = work / "remote-config"
    make_private_dir(fetched)
    remote.download_file(path, CONFIG, fetched, timeout=rclone.PREFLIGHT_TIMEOUT)
    try:
        theirs = json.loads((fetched / CONFIG).read_text("utf-8")).get("vault_id")
    except (OSError, ValueError, AttributeError):
        return
    if theirs and theirs != vault.vault_id:
        raise UsageError(
            f"the remote at {path} holds the backup of another vault ({theirs})",
            hint="give each vault its own remote folder",
        )
