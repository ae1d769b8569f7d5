"""``vault repair NAME``: mend the vault and a remote from each other.

Needs no key. Every write-once file that the local head and journal name is
re-hashed on both sides (the remote's by downloading it). Then:

- missing or corrupt on the remote, good here: uploaded again (overwriting);
- missing or corrupt here, good on the remote: downloaded into a private
  folder inside the vault, re-hashed, and only then moved into place;
- bad on both sides: reported (exit status 4); another remote may have it.

The segments of the audit log and journal this computer sent there (the
ones its record of the remote's list names, ``segments.py``) are re-hashed
on the remote too, and one missing or damaged is sent again, cut from this
computer's own log (never downloaded: the logs here are the truth).

Only what this computer's own head and journal name is ever brought into
the vault, and only with the bytes its name promises: whatever else the
remote holds, or its head and journal name (an older catalog snapshot put
back, an object and a journal line forged by someone holding only the
public key), is never downloaded. Replaceable files (head, journal, keys,
settings) are the job of ``vault sync``, which puts this computer's copies
back and is suggested afterwards. The vault stays locked throughout. A
folder remote whose disk is not plugged in is refused first (``marker.py``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sync import rclone, segments
from sync.backup import remote_lock
from sync.check import Problem, inspect_remote, judge_head, recovery_keys
from sync.marker import check_folder, marked_when_added
from sync.remotes import local_folder, refuse_vault_folder
from sync.snapshot import JOURNAL, Snapshot, expected_digest, take_snapshot
from sync.state import RemoteState, load_state, save_state
from vault import key_register
from vault.errors import LockedError
from vault.fsutil import commit_temp, make_private_dir
from vault.objects import hash_file
from vault.repository import Vault

STORES = ("objects/", "manifests/")
REGISTER_MAX = 1 << 20  # bytes: a list of keys is a few kilobytes


@dataclass
class RepairResult:
    name: str
    checked: int = 0
    uploaded: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unrepaired: list[Problem] = field(default_factory=list)
    head: Problem | None = None  # the remote's head is not this computer's (sync mends it)

    @property
    def ok(self) -> bool:
        return not self.unrepaired


def repair_remote(vault: Vault, name: str, path: str) -> RepairResult:
    what = f"repair with remote {name!r}"
    folder = local_folder(path)
    if folder is not None:  # repair writes there, as sync does: the same refusal
        refuse_vault_folder(folder, vault.root)
    try:
        with remote_lock(vault, name), vault.lock:
            return _repair(vault, name, path, what)
    except LockedError as exc:
        raise LockedError(
            f"a sync or repair with remote {name!r} is running", hint=exc.hint
        ) from exc


def _repair(vault: Vault, name: str, path: str, what: str) -> RepairResult:
    result = RepairResult(name)
    folder = local_folder(path)
    if folder is not None:  # a USB disk: plugged in, and this vault's? (``marker.py``)
        synced_before = not load_state(vault.root, name, path).fresh
        synced_before = synced_before or marked_when_added(vault.config, name)
        check_folder(folder, vault.vault_id, name, synced_before=synced_before, may_mark=True)
    work = vault.layout.tmp / f"repair-{name}"
    shutil.rmtree(work, ignore_errors=True)
    make_private_dir(work)
    try:
        snap = take_snapshot(vault)
        view = inspect_remote(path, work, what, keys=recovery_keys(vault))
        index = sorted({r for r in snap.missing if r.endswith(".idx") and r in view.present})
        if index:  # the head's index first: it names the rest
            _restore(vault, path, index, view.present[index[0]], work, what, result)
            snap = take_snapshot(vault)
        paths = _one_path_per_object(_named_here(snap), vault, set(view.present))
        state = load_state(vault.root, name, path)
        logs = {} if state.fresh else segments.paths(state.logs)  # the log segments sent there
        result.checked = len(paths) + len(logs)
        remote_bad = {rel: "missing" for rel in [*paths, *logs] if rel not in view.present}
        sums = {rel: expected_digest(rel) or "" for rel in [*paths, *logs] if rel in view.present}
        remote_bad.update(
            rclone.check_sha256(
                path,
                sums,
                work,
                what=what,
                timeout=rclone.transfer_timeout(sum(view.present[r] for r in sums), len(sums)),
            )
        )
        logs_bad = {rel: remote_bad.pop(rel) for rel in logs if rel in remote_bad}
        if logs_bad:
            _send_segments(vault, path, state, logs_bad, work, what, result)
        local_bad = {}
        for rel in paths:
            local = vault.root.joinpath(*rel.split("/"))
            if not local.is_file():
                local_bad[rel] = "missing"
            elif hash_file(local) != expected_digest(rel):
                local_bad[rel] = "corrupt"
        upload = [rel for rel in remote_bad if rel not in local_bad]
        restore = [rel for rel in local_bad if rel not in remote_bad]
        result.unrepaired += [
            Problem(rel, f"{local_bad[rel]} here, {remote_bad[rel]} on the remote")
            for rel in paths
            if rel in local_bad and rel in remote_bad
        ]
        if upload:
            size = sum((vault.root / rel).stat().st_size for rel in upload)
            rclone.copy_files(
                vault.root,
                path,
                upload,
                work,
                what=what,
                timeout=rclone.transfer_timeout(size, len(upload)),
            )
            result.uploaded += upload
        if restore:
            size = sum(view.present[rel] for rel in restore)
            _restore(vault, path, restore, size, work, what, result)
        _restore_register(vault, path, view.present, work, what, result)
        result.head = judge_head(vault, state, view, None)
        if not state.fresh:
            state.stored.update(upload)
            state.stored.difference_update(p.path for p in result.unrepaired)
            save_state(vault.root, name, state)
        vault.audit.append(
            "repair",
            [expected_digest(rel) or rel for rel in [*upload, *result.restored]],
            remote=name,
            ok=result.ok,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _restore_register(
    vault: Vault,
    path: str,
    present: dict[str, int],
    work: Path,
    what: str,
    result: RepairResult,
) -> None:
    """Bring back the list of keys (``keys/people.json``) from the remote when the
    one here cannot be read: the remote's copy must read as a register; its MAC
    is checked, as always, by the next command that unlocks."""
    rel = f"keys/{key_register.REGISTER}"
    here = key_register.register_path(vault.key_paths)
    if not here.exists() or key_register.register_readable(vault.key_paths):
        return
    if rel not in present or present[rel] > REGISTER_MAX:
        result.unrepaired.append(Problem(rel, "damaged here, missing on the remote"))
        return
    download = vault.layout.tmp / f"restore-{result.name}"
    shutil.rmtree(download, ignore_errors=True)
    make_private_dir(download)
    try:
        timeout = rclone.transfer_timeout(present[rel], 1)
        rclone.fetch_files(path, [rel], download, work, what=what, timeout=timeout)
        fetched = download.joinpath(*rel.split("/"))
        if not fetched.is_file() or not key_register.parses(fetched.read_bytes()):
            result.unrepaired.append(Problem(rel, "damaged here and on the remote"))
            return
        fetched.chmod(0o600)
        commit_temp(fetched, here)
        result.restored.append(rel)
    finally:
        shutil.rmtree(download, ignore_errors=True)


def _send_segments(
    vault: Vault,
    path: str,
    state: RemoteState,
    bad: dict[str, str],
    work: Path,
    what: str,
    result: RepairResult,
) -> None:
    """Send again the log segments ``bad`` on the remote, cut from this computer's
    audit log and journal while they still begin with what the list names;
    one this computer no longer holds is left to the next ``vault sync``, which
    sends the log afresh (reported here as not repaired)."""
    local = {segments.AUDIT: vault.layout.audit, segments.JOURNAL: vault.root / JOURNAL}
    pieces: dict[str, bytes] = {}
    for kind, log in state.logs.items():
        try:
            data = local[kind].read_bytes()
        except FileNotFoundError:
            data = b""
        if not segments.extends(log, data):
            continue
        offset = 0
        for piece in log.segments:
            rel = segments.segment_path(kind, piece.sha256)
            if rel in bad:
                pieces[rel] = data[offset : offset + piece.size]
            offset += piece.size
    for rel, problem in sorted(bad.items()):
        if rel not in pieces:
            result.unrepaired.append(
                Problem(rel, f"{problem} on the remote, and changed here since: run 'vault sync'")
            )
    if not pieces:
        return
    staged = work / "segments"
    segments.stage(segments.Plan({}, upload=pieces), staged)
    rclone.copy_files(
        staged,
        path,
        sorted(pieces),
        work,
        what=what,
        timeout=rclone.transfer_timeout(sum(map(len, pieces.values())), len(pieces)),
    )
    result.uploaded += sorted(pieces)


def _named_here(snap: Snapshot) -> set[str]:
    """The write-once files the local head and journal name: the only ones repair
    touches. A file missing here whose store is not known (named by the head's
    index, found in neither folder) may be an object or a manifest: both are tried."""
    named = {*snap.stored, *snap.missing}
    for rel in snap.missing:
        if rel.startswith("objects/"):
            named.add("manifests/" + rel.removeprefix("objects/"))
    return named


def _one_path_per_object(candidates: set[str], vault: Vault, remote: set[str]) -> list[str]:
    """The files to check, sorted; when only an id is known (an index entry found
    on neither side), an object and a manifest path may both be guessed: keep
    the one that exists somewhere."""
    chosen: dict[str, str] = {}
    for rel in sorted(candidates):
        if not expected_digest(rel):
            continue
        key = rel.split("/", 1)[1] if rel.startswith(STORES) else rel
        exists = rel in remote or vault.root.joinpath(*rel.split("/")).is_file()
        if key not in chosen or exists:
            chosen[key] = rel
    return sorted(chosen.values())


def _restore(
    vault: Vault,
    path: str,
    paths: list[str],
    size: int,
    work: Path,
    what: str,
    result: RepairResult,
) -> None:
    """Download good copies into the vault's tmp, re-hash, then move into place."""
    download = vault.layout.tmp / f"restore-{result.name}"
    shutil.rmtree(download, ignore_errors=True)
    make_private_dir(download)
    try:
        timeout = rclone.transfer_timeout(size, len(paths))
        rclone.fetch_files(path, paths, download, work, what=what, timeout=timeout)
        for rel in paths:
            fetched = download.joinpath(*rel.split("/"))
            if not fetched.is_file() or hash_file(fetched) != expected_digest(rel):
                result.unrepaired.append(Problem(rel, "damaged here, changed while downloading"))
                continue
            final = vault.root.joinpath(*rel.split("/"))
            make_private_dir(final.parent)
            fetched.chmod(0o600)
            commit_temp(fetched, final)
            result.restored.append(rel)
    finally:
        shutil.rmtree(download, ignore_errors=True)
