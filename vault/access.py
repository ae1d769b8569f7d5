"""Giving and taking access: documents granted to an access level or taken
back from it, and a level given a new key (``vault access``, ``vault key
remove``, ``vault rotate --level``).

Who can open a document is who its files are encrypted to (``vault.levels``),
so a change of access writes each of its files again, as new objects (they
are write-once and named by their hash), and a new manifest naming them:

- **grant**: the header alone is rewritten (``rekey.rewrap``): the same
  file key wrapped to the data key, the keys of the levels it had, and the
  new level's; the payload is copied unchanged. It gives the level what
  the file key opens, which is what granting means; nothing new is sealed
  under that key.
- **revoke**, and a level's **new key** (a key of it removed, or ``vault
  rotate --level``): each file is sealed again under a new file key
  (``rekey.reseal``), to the data key and the levels it keeps (with the
  level's new key). A header rewrite would not do: whoever held the
  level's key could have kept the old file key, which would open the new
  file too.

The new files are written under ``access/`` first; the catalog, its head
and the level catalogs (``vault.level_catalog``) then name them, and the old
files are removed here; the next ``vault sync`` sends the new ones and
removes the old ones from each remote, as after a key rotation.

It runs holding the vault lock, and survives a kill or a power cut at any
point (the state is in ``access/`` in the vault folder, 0700):

1. ``job.json``: what was asked (grant, revoke or a new key; the level; the
   documents), written before anything else; for a new key, the level's new
   identity first, encrypted to the data key, in ``new-level.age``.
2. Each document's new files go to ``staged/``; once a group of them is
   durable, a line per document (``done.jsonl``: its old and new manifest,
   its new files) is appended and fsynced, and only then are the files
   moved into the vault's stores. A file in ``staged/`` that no line names
   was cut short: it is removed. A resumed run skips each document whose
   line names the manifest it still has.
3. Finishing: the new manifests go into the catalog, which is saved under a
   new head (a new key's files first take the level's old ones' place), the
   old files are removed, and ``access/`` last. Each step can run again:
   a document whose manifest changed meanwhile (an edit, an erasure after a
   kill) is done again from its new manifest, or left out.

Nothing of it is lost or doubled: before the head moves, the old files are
the vault's and the new ones are only named by ``access/``; after it, the
old ones are no longer named by anything and are removed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from vault import clock, crypto, key_register, parts, rekey, rotation
from vault import levels as access_levels
from vault import manifest as manifests
from vault.errors import IntegrityError, UsageError
from vault.fsutil import (
    atomic_write,
    fsync_dir,
    make_private_dir,
    private_temp_path,
    remove_quietly,
)
from vault.group_commit import PendingFiles
from vault.keys import DataKey, vault_id_of

if TYPE_CHECKING:
    from vault.levels import LevelKey
    from vault.repository import Vault

FOLDER = "access"
JOB = "job.json"
DONE = "done.jsonl"
STAGED = "staged"
NEW_LEVEL = "new-level.age"
GRANT, REVOKE, NEW_KEY = "grant", "revoke", "new-key"
KINDS = (GRANT, REVOKE, NEW_KEY)
GROUP_DOCUMENTS = 64  # documents made durable together
GROUP_BYTES = 256 * 1024 * 1024  # ... or fewer, once this much is written
STOP_AT = "VAULT_TEST_ACCESS_STOP_AT"

Progress = Callable[[int, int], None]  # documents done, of


def _checkpoint(point: str) -> None:
    """Tests only: die here (SIGKILL) when ``VAULT_TEST_ACCESS_STOP_AT`` names this point."""
    if os.environ.get(STOP_AT) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


@dataclass(frozen=True)
class Job:
    """A change of access under way, as ``access/job.json`` records it."""

    kind: str  # grant, revoke, new-key
    level: str
    documents: tuple[str, ...]
    started: str
    new_recipient: str | None = None  # new-key: the level's new public key
    old_recipient: str | None = None  # new-key: the one it replaces
    why: str | None = None  # new-key: "key-remove" or "rotate"

    def record(self) -> dict[str, Any]:
        return {
            "format": 1,
            "kind": self.kind,
            "level": self.level,
            "documents": list(self.documents),
            "started": self.started,
            "new_recipient": self.new_recipient,
            "old_recipient": self.old_recipient,
            "why": self.why,
        }


@dataclass
class Changed:
    """What a change of access did, for the command's last words and the tests."""

    kind: str
    level: str
    changed: list[str] = field(default_factory=list)  # documents whose files were written again
    already: list[str] = field(default_factory=list)  # asked for, but already so
    bytes: int = 0  # of the old files read
    removed: int = 0  # old objects and manifests removed here
    resumed: bool = False  # a change cut short was finished first
    old_key: str | None = None  # new-key: the level's old and new key ids
    new_key: str | None = None


def folder(root: Path) -> Path:
    return root / FOLDER


def read_job(root: Path) -> Job | None:
    """The change of access under way in the vault at ``root``, or None."""
    try:
        data = json.loads((folder(root) / JOB).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IntegrityError(
            f"the record of a change of access ({FOLDER}/{JOB}) is damaged",
            hint=f"move the folder {FOLDER}/ out of the vault and run 'vault verify'",
        ) from exc
    try:
        job = Job(
            kind=str(data["kind"]),
            level=str(data["level"]),
            documents=tuple(str(d) for d in data["documents"]),
            started=str(data["started"]),
            new_recipient=data.get("new_recipient"),
            old_recipient=data.get("old_recipient"),
            why=data.get("why"),
        )
    except (KeyError, TypeError) as exc:
        raise IntegrityError(
            f"the record of a change of access ({FOLDER}/{JOB}) is damaged"
        ) from exc
    if job.kind not in KINDS or not access_levels.valid_name(job.level):
        raise IntegrityError(f"the record of a change of access ({FOLDER}/{JOB}) is damaged")
    return job


def refuse_during_rotation(vault: Vault) -> None:
    if rotation.read_state(vault.root) is not None:
        raise UsageError(
            "a key rotation is under way: access cannot change until it is finished",
            hint="run 'vault rotate' to finish it (it gives every level a new key too)",
        )


# --- starting -------------------------------------------------------------------


def begin(vault: Vault, kind: str, level: str, doc_ids: Iterable[str]) -> tuple[Job, list[str]]:
    """Record a grant or revoke of ``doc_ids`` for ``level`` (the lock held,
    a full key unlocked); returns the job and the documents already so."""
    key = vault.unlocked_key()
    refuse_during_rotation(vault)
    if read_job(vault.root) is not None:
        raise UsageError("a change of access is under way", hint="run 'vault access resume'")
    level = access_levels.check_level(vault.config, level)
    register = key_register.load_register(vault.key_paths, vault.config, key)
    if kind == GRANT and level not in register.levels:
        key_register.ensure_level(vault.key_paths, vault.config, key, register, level)
        key_register.save_register(vault.key_paths, register, key)
    rows = [vault.document(doc_id) for doc_id in doc_ids]  # an unknown id: nothing written
    todo: list[str] = []
    already: list[str] = []
    for row in dict((r["id"], r) for r in rows).values():
        has = level in row["levels"]
        (already if has == (kind == GRANT) else todo).append(row["id"])
    job = Job(kind, level, tuple(todo), clock.stamp())
    if todo:
        _start(vault.root, job)
    return job, already


def begin_new_key(vault: Vault, level: str, why: str) -> Job:
    """Record a new key for ``level`` (the lock held, a full key unlocked):
    its identity made now, kept encrypted to the data key until the switch."""
    key = vault.unlocked_key()
    refuse_during_rotation(vault)
    if read_job(vault.root) is not None:
        raise UsageError("a change of access is under way", hint="run 'vault access resume'")
    register = key_register.load_register(vault.key_paths, vault.config, key)
    if level not in register.levels:
        raise UsageError(f"the access level '{level}' has no key yet: nothing to replace")
    made = access_levels.new_level(level)
    job = Job(
        NEW_KEY,
        level,
        tuple(vault.catalog.at_level(level)),
        clock.stamp(),
        new_recipient=made.recipient,
        old_recipient=register.levels[level],
        why=why,
    )
    work = folder(vault.root)
    shutil.rmtree(work, ignore_errors=True)  # a start cut short before its record was written
    make_private_dir(work)
    atomic_write(
        work / NEW_LEVEL,
        crypto.encrypt_bytes((made.secret + "\n").encode(), [key.identity.to_public()]),
    )
    _start(vault.root, job)
    return job


def _start(root: Path, job: Job) -> None:
    work = folder(root)
    make_private_dir(work)
    make_private_dir(work / STAGED)
    atomic_write(work / JOB, (json.dumps(job.record(), indent=2, sort_keys=True) + "\n").encode())
    _checkpoint("begun")


def _new_level_key(vault: Vault, job: Job, key: DataKey) -> LevelKey:
    """The new key of a new-key job, opened with the data key."""
    blob = (folder(vault.root) / NEW_LEVEL).read_bytes()
    made = access_levels.LevelKey.from_secret(
        job.level, crypto.decrypt_bytes(blob, [key.identity]).decode()
    )
    if made.recipient != job.new_recipient:
        raise IntegrityError(
            f"the new key of the access level '{job.level}' ({FOLDER}/{NEW_LEVEL}) is not "
            "the one its record names"
        )
    return made


# --- running --------------------------------------------------------------------


def done_lines(root: Path) -> list[dict[str, Any]]:
    """Every whole line of ``access/done.jsonl``, in order (a document done
    again after a change meanwhile has several: its last one counts)."""
    found: list[dict[str, Any]] = []
    try:
        data = (folder(root) / DONE).read_bytes()
    except FileNotFoundError:
        return found
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # torn by a kill: that document is done again
        if isinstance(record, dict) and isinstance(record.get("doc"), str):
            found.append(record)
    return found


def last_lines(root: Path) -> dict[str, dict[str, Any]]:
    """{document id: its last line} of ``access/done.jsonl``."""
    return {line["doc"]: line for line in done_lines(root)}


def run(vault: Vault, job: Job, progress: Progress | None = None) -> Changed:
    """Do (or go on with) ``job`` and finish it (the lock held, a full key unlocked)."""
    key = vault.unlocked_key()
    result = Changed(job.kind, job.level)
    level_keys = _recipients(vault, job, key)
    work = folder(vault.root)
    staged = work / STAGED
    make_private_dir(staged)
    for noted in done_lines(vault.root):  # noted, not yet moved when it was cut short
        _place(vault, noted)
    for leftover in staged.iterdir():  # cut short before a line named it
        remove_quietly(leftover)
    todo = _todo(vault, job)
    with _lines(work / DONE) as note:
        group: list[dict[str, Any]] = []
        pending = PendingFiles()
        written = 0
        for n, doc_id in enumerate(todo, 1):
            line = _write_document(vault, job, key, level_keys, doc_id, staged, pending)
            if line is None:
                continue
            group.append(line)
            written += int(line["read"])
            result.bytes += int(line["read"])
            if len(group) >= GROUP_DOCUMENTS or written >= GROUP_BYTES:
                _record(vault, note, group, pending)
                group, written = [], 0
            if progress:
                progress(n, len(todo))
            _checkpoint(f"doc:{n}")
        _record(vault, note, group, pending)
    _finish(vault, job, key, result)
    return result


def _recipients(vault: Vault, job: Job, key: DataKey) -> dict[str, str]:
    """Each access level's public key, as the job's new files are encrypted to
    them (a new-key job: its level's new one)."""
    register = key_register.load_register(vault.key_paths, vault.config, key)
    found = dict(register.levels)
    for name, recipient in found.items():
        if access_levels.read_recipient(vault.key_paths, name) not in (
            recipient,
            job.new_recipient,
        ):
            raise IntegrityError(
                f"keys/levels/{name}.pub is not the key the list of keys names for the "
                f"access level '{name}'",
                hint="restore the keys folder from a backup ('vault repair NAME')",
            )
    if job.kind == NEW_KEY:
        found[job.level] = _new_level_key(vault, job, key).recipient
    return found


def _todo(vault: Vault, job: Job) -> list[str]:
    """The job's documents still to do: those the catalog holds, with no line
    naming the manifest they have now (and, for a new key, every document of
    the level: one stored meanwhile was encrypted to the old key)."""
    done = last_lines(vault.root)
    wanted = list(job.documents)
    if job.kind == NEW_KEY:
        wanted += [d for d in vault.catalog.at_level(job.level) if d not in set(wanted)]
    todo = []
    for doc_id in wanted:
        row = vault.catalog.get(doc_id)
        if row is None:
            continue  # erased since
        line = done.get(doc_id)
        if line is not None and row["manifest"] in (line["old"], line["new"]):
            continue
        todo.append(doc_id)
    return todo


def _write_document(
    vault: Vault,
    job: Job,
    key: DataKey,
    level_keys: dict[str, str],
    doc_id: str,
    staged: Path,
    pending: PendingFiles,
) -> dict[str, Any] | None:
    """Write document ``doc_id``'s new files into ``staged``; its line."""
    row = vault.catalog.get(doc_id)
    if row is None:
        return None
    doc, signed = manifests.parse(
        vault.manifests.get_bytes(row["manifest"], [key.identity]), check_mac=key.check_mac
    )
    if not signed or doc.fingerprint is None:
        raise IntegrityError(f"the manifest of {doc_id} is not verified")
    levels = set(doc.levels)
    if job.kind == GRANT:
        levels.add(job.level)
    elif job.kind == REVOKE:
        levels.discard(job.level)
    granted = sorted(levels)
    recipients = [key.recipient, *(level_keys[name] for name in granted if name in level_keys)]
    missing = [name for name in granted if name not in level_keys]
    if missing:
        raise UsageError(f"the access level '{missing[0]}' has no key", hint="see 'vault key list'")
    rewrite = rekey.rewrap if job.kind == GRANT else rekey.reseal
    objects: dict[str, int] = {}
    read = 0

    def moved(ref: str) -> str:
        nonlocal read
        new_ids = []
        for object_id in parts.split_ref(ref):
            source = vault.objects.path(object_id)
            if not source.is_file():
                raise IntegrityError(
                    f"object {object_id[:12]} is missing", hint="run 'vault verify'"
                )
            done = _staged_write(
                staged,
                pending,
                functools.partial(
                    rewrite, source, object_id, secret=key.secret, recipients=recipients
                ),
            )
            objects[done.id] = done.size
            read += done.old_size
            new_ids.append(done.id)
        return parts.join_ref(new_ids)

    old_objects = parts.split_ref(doc.original)
    if doc.searchable:
        old_objects += parts.split_ref(doc.searchable)
    original = moved(doc.original)
    searchable = moved(doc.searchable) if doc.searchable else None
    new_doc = replace(doc, original=original, searchable=searchable, levels=granted)
    data = new_doc.signed(doc.fingerprint, key.mac)
    blob = crypto.encrypt_bytes(data, [crypto.parse_recipient(r) for r in recipients])
    new_manifest = _staged_bytes(staged, pending, blob)
    return {
        "doc": doc_id,
        "old": row["manifest"],
        "new": new_manifest,
        "manifest_size": len(blob),
        "objects": objects,
        "old_objects": old_objects,
        "read": read,
    }


def _staged_write(
    staged: Path, pending: PendingFiles, write: Callable[[BinaryIO], rekey.Rekeyed]
) -> rekey.Rekeyed:
    tmp = private_temp_path(staged)
    try:
        with open(tmp, "wb") as out:
            done = write(out)
            out.flush()
            _start_writeback(out.fileno())
        final = staged / done.id
        os.replace(tmp, final)
        pending.renamed(final)
        return done
    finally:
        remove_quietly(tmp)


def _staged_bytes(staged: Path, pending: PendingFiles, blob: bytes) -> str:
    digest = hashlib.sha256(blob).hexdigest()

    def write(out: BinaryIO) -> rekey.Rekeyed:
        out.write(blob)
        return rekey.Rekeyed(digest, len(blob), 0)

    return _staged_write(staged, pending, write).id


def _start_writeback(fd: int) -> None:
    """Have the system start writing a new file out now (Linux), so that the
    group's flush (``PendingFiles.make_durable``) finds little left to write:
    the disk works while the next documents are read. It waits for nothing."""
    start = getattr(os, "sync_file_range", None)
    if start is not None:
        with contextlib.suppress(OSError):
            start(fd, 0, 0, getattr(os, "SYNC_FILE_RANGE_WRITE", 2))


@contextlib.contextmanager
def _lines(path: Path) -> Any:
    """``access/done.jsonl`` open to append (after a line torn by a kill, a new
    line begins on a line of its own)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as f:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            f.write(b"\n")
            f.flush()
        yield f


def _record(
    vault: Vault, note: BinaryIO, group: list[dict[str, Any]], pending: PendingFiles
) -> None:
    """Make a group's staged files durable, note its lines (fsynced), then
    move the files into the vault's stores."""
    if not group:
        return
    pending.make_durable()
    for line in group:
        note.write(json.dumps(line, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    note.flush()
    os.fsync(note.fileno())
    _checkpoint("noted")
    for line in group:
        _place(vault, line)


def _place(vault: Vault, line: dict[str, Any]) -> None:
    """Move a noted document's staged files into the stores (those already
    moved are left); their folders are made durable before the head names them."""
    staged = folder(vault.root) / STAGED
    wanted = [(vault.objects, object_id) for object_id in line["objects"]]
    wanted.append((vault.manifests, line["new"]))
    for store, object_id in wanted:
        source = staged / object_id
        final = store.path(object_id)
        if source.is_file():
            make_private_dir(final.parent)
            os.replace(source, final)
        elif not final.is_file():
            raise IntegrityError(
                f"a new file of document {line['doc']} ({object_id[:12]}) is missing "
                "(it was noted as written)",
                hint=f"move the folder {FOLDER}/ out of the vault, then run the same command again",
            )


# --- finishing ------------------------------------------------------------------


def _finish(vault: Vault, job: Job, key: DataKey, result: Changed) -> None:
    lines = done_lines(vault.root)
    last = {line["doc"]: line for line in lines}
    folders: set[Path] = set()
    adopted: list[str] = []
    taken = 0  # taken up by this run (the others before a kill)
    dropped: list[str] = []  # old files, and new ones nothing took up
    for line in lines:
        if last[line["doc"]] is not line:  # done again since: its new files are nobody's
            dropped += [line["new"], *line["objects"]]
    for doc_id, line in sorted(last.items()):
        row = vault.catalog.get(doc_id)
        current = row["manifest"] if row is not None else None
        if current == line["old"]:
            _place(vault, line)
            folders |= {vault.objects.path(i).parent for i in line["objects"]}
            folders.add(vault.manifests.path(line["new"]).parent)
            data = vault.manifests.get_bytes(line["new"], [key.identity])
            doc, signed = manifests.parse(data, check_mac=key.check_mac)
            if not signed:
                raise IntegrityError(f"the new manifest of {doc_id} is not signed")
            vault.catalog.rewritten(doc, line["new"])
            adopted.append(doc_id)
            taken += 1
            dropped += [line["old"], *line["old_objects"]]
        elif current == line["new"]:
            adopted.append(doc_id)  # taken up before a kill: its old files may be left
            dropped += [line["old"], *line["old_objects"]]
        else:  # changed or erased meanwhile: its new files are nobody's
            dropped += [line["new"], *line["objects"]]
    if folders:  # (a store's folder made for them: its name too)
        folders |= {vault.objects.root, vault.manifests.root}
    durable = PendingFiles(folders=folders)  # their names in the stores (one syncfs)
    durable.make_durable()
    if job.kind == NEW_KEY:
        result.old_key, result.new_key = _switch_level(vault, job, key)
        _checkpoint("switched")
    event = {GRANT: "grant", REVOKE: "revoke", NEW_KEY: "level-rotate"}[job.kind]
    if (adopted or job.kind == NEW_KEY) and not _logged(vault, event, job):
        detail: dict[str, Any] = {"for_level": job.level, "documents": len(adopted)}
        if job.kind == NEW_KEY:
            detail.update(old=result.old_key, new=result.new_key, why=job.why)
        detail["begun"] = job.started
        vault.audit.append(event, adopted if job.kind != NEW_KEY else [], **detail)
    if taken or job.kind == NEW_KEY:
        vault.save_catalog()
    _checkpoint("saved")
    wanted = sorted(set(dropped))
    there = [i for i in wanted if vault.objects.exists(i) or vault.manifests.exists(i)]
    vault.drop_unreferenced(there)
    result.removed = sum(
        1 for i in there if not (vault.objects.exists(i) or vault.manifests.exists(i))
    )
    result.changed = adopted
    shutil.rmtree(folder(vault.root), ignore_errors=True)
    fsync_dir(vault.root)


def _logged(vault: Vault, event: str, job: Job) -> bool:
    """Whether the audit log has this job's entry already (one cut short after it)."""
    return any(
        e.event == event and e.detail.get("begun") == job.started for e in vault.audit.entries()
    )


def _switch_level(vault: Vault, job: Job, key: DataKey) -> tuple[str, str]:
    """Put a new-key job's key in its level's place: its files written to the
    data key and the level's keyholders, the register naming it. Runs again
    after a kill. Returns the old and the new key ids."""
    made = _new_level_key(vault, job, key)
    register = key_register.load_register(vault.key_paths, vault.config, key)
    old_id = vault_id_of(job.old_recipient) if job.old_recipient else ""
    access_levels.write_level(
        vault.key_paths, made, key.recipient, key_register.people_of(register, job.level)
    )
    register.levels[job.level] = made.recipient
    key_register.save_register(vault.key_paths, register, key)
    from vault import anchor

    anchor.record_levels(vault.root, register.levels)
    return old_id, made.key_id


# --- the whole of it ------------------------------------------------------------------


def change(
    vault: Vault, kind: str, level: str, doc_ids: Iterable[str], progress: Progress | None = None
) -> Changed:
    """Grant ``doc_ids`` to ``level``, or revoke them (the lock held, a full key unlocked)."""
    job, already = begin(vault, kind, level, doc_ids)
    if not job.documents:
        return Changed(kind, job.level, already=already)
    result = run(vault, job, progress)
    result.already = already
    return result


def new_key(vault: Vault, level: str, why: str, progress: Progress | None = None) -> Changed:
    """Give ``level`` a new key and seal its documents again to it."""
    job = begin_new_key(vault, access_levels.check_level(vault.config, level), why)
    return run(vault, job, progress)


def resume(vault: Vault, progress: Progress | None = None) -> Changed | None:
    """Finish the change of access cut short, if any."""
    job = read_job(vault.root)
    if job is None:
        shutil.rmtree(folder(vault.root), ignore_errors=True)  # a start cut short
        return None
    refuse_during_rotation(vault)
    result = run(vault, job, progress)
    result.resumed = True
    return result
