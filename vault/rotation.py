"""Key rotation (``vault rotate``): every document under a new data key.

``vault passwd`` and ``vault key remove`` change who can unwrap the data
key, not the key itself: whoever held it (a coordinator who left, a copied
key file and its passphrase) still opens every object. A rotation makes a
new data identity and encrypts everything again to it: each object, each
manifest (naming the new objects, with the keyed fingerprint under the new
key), the catalog and its head. The key files are made anew: the
coordinator's with a new passphrase, each personal key whose holder typed
their passphrase (the others are dropped), and the emergency key, whose new
sheet is printed before anything else is written. The old files are removed
at the switch, and the next ``vault sync`` does the same on the remote.

It runs in three stages, each of which survives Ctrl-C, a kill or a power
cut (the state is in ``rotation/`` in the vault folder, 0700):

1. **Begin** (under the vault lock): the new keys, in ``rotation/new/keys/``;
   the new data identity itself age-encrypted to the *old* data key in
   ``rotation/new-key.age`` (so whoever can open the vault now can resume,
   and nobody else), and ``rotation/state.json`` written last.
2. **Move** (without the lock, so storing and reading go on): each batch
   scan documents were split from (``vault.batches``) is encrypted again
   once, first, then each document the catalog names (``vault.reencrypt``;
   several at once, in worker processes), its new manifest naming the moved
   batch; a line naming each new batch object and each new manifest is
   appended to ``rotation/moved.jsonl``; a resumed rotation skips what a
   line names.
   New files are write-once objects no head names yet: until the switch the
   vault is the old one, whole.
3. **Finish** (under the lock): the journal is folded in, documents stored
   or corrected meanwhile are moved too, the new catalog is made from the
   new manifests and saved, with its head (the state number goes on), in
   ``rotation/new/``; then ``state.json`` says ``switching`` and the switch
   (``complete_switch``) puts the new catalog, keys and head in place,
   removes every old object, manifest and catalog file, notes the old key
   files as taken back (``revoked_keys``) and removes ``rotation/``. Each of
   its steps can run again; a switch cut short is completed by the next
   command that takes the vault lock, before it does anything else, so the
   vault is never seen half old, half new.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from vault import anchor, clock, crypto, key_register, parts, revoked_keys
from vault import levels as access_levels
from vault import manifest as manifests
from vault.config import Layout, read_config, write_config
from vault.errors import IntegrityError, LockedError, UsageError, VaultError, WrongKeyError
from vault.fsutil import atomic_write, clean_stale_temps, fsync_dir, make_private_dir
from vault.head import SaveContext, parse_head, read_head, read_index, save_catalog
from vault.keys import DataKey, KeyPaths, vault_id_of, wrap_secret
from vault.lock import VaultLock
from vault.reencrypt import Moved, MovedBatch, move_batch_in_worker, move_in_worker

if TYPE_CHECKING:
    from vault.repository import Vault

FOLDER = "rotation"
STATE = "state.json"
NEW_KEY = "new-key.age"
MOVED = "moved.jsonl"
NEW = "new"
OLD_KEYS = "old-keys"
TMP = "tmp"  # the move's temp files: a command taking the vault lock cleans tmp/
MOVER_LOCK = "rotate.lock"  # in local/: held by the one 'vault rotate' moving documents
COPYING = "copying"
SWITCHING = "switching"

Progress = Callable[[int, int, int, int], None]  # documents done, of, bytes done, of
STOP_AT = "VAULT_TEST_ROTATE_STOP_AT"


def _checkpoint(point: str) -> None:
    """Tests only: die here (SIGKILL) when ``VAULT_TEST_ROTATE_STOP_AT`` names this point."""
    if os.environ.get(STOP_AT) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


@dataclass(frozen=True)
class Rotation:
    """A rotation under way, as ``rotation/state.json`` records it."""

    started: str
    old: str  # key id (``vault_id_of``) of the old data key
    new: str  # key id of the new one
    recipient: str  # the new public key
    phase: str = COPYING
    database: str | None = None  # the new catalog's database file, once made
    dropped: tuple[str, ...] = ()  # personal keys not kept
    kept: tuple[tuple[str, str], ...] = ()  # (label, SHA-256 of its key file) of those kept

    def record(self) -> dict[str, Any]:
        return {
            "format": 1,
            "started": self.started,
            "old": self.old,
            "new": self.new,
            "recipient": self.recipient,
            "phase": self.phase,
            "database": self.database,
            "dropped": list(self.dropped),
            "kept": dict(self.kept),
        }


@dataclass
class Finished:
    """What a rotation did, for the command's last words and the tests."""

    documents: int = 0
    moved_bytes: int = 0
    removed: int = 0  # old objects and manifests removed
    old: str = ""
    new: str = ""
    kept_keys: list[str] = field(default_factory=list)
    dropped_keys: list[str] = field(default_factory=list)


def folder(root: Path) -> Path:
    return root / FOLDER


def read_state(root: Path) -> Rotation | None:
    """The rotation under way in the vault at ``root``, or None."""
    try:
        data = json.loads((folder(root) / STATE).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IntegrityError(
            f"the key rotation's record ({FOLDER}/{STATE}) is damaged",
            hint="run 'vault rotate' again: it starts afresh once the record is removed",
        ) from exc
    try:
        return Rotation(
            started=str(data["started"]),
            old=str(data["old"]),
            new=str(data["new"]),
            recipient=str(data["recipient"]),
            phase=str(data["phase"]),
            database=data.get("database"),
            dropped=tuple(str(label) for label in data.get("dropped", [])),
            kept=tuple((str(k), str(v)) for k, v in data.get("kept", {}).items()),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise IntegrityError(f"the key rotation's record ({FOLDER}/{STATE}) is damaged") from exc


def _write_state(root: Path, state: Rotation) -> None:
    data = json.dumps(state.record(), indent=2, sort_keys=True) + "\n"
    atomic_write(folder(root) / STATE, data.encode())


def key_id(key: DataKey) -> str:
    """A key's public fingerprint, as the audit log names it (never key material)."""
    return vault_id_of(key.recipient)


# --- 1. begin ------------------------------------------------------------------


def begin(
    vault: Vault,
    new_passphrase: str,
    keep: dict[str, str],
    deliver: Callable[[str], None],
) -> DataKey:
    """Start a rotation of the unlocked ``vault`` (its lock held): make the
    new keys and return the new data key.

    ``new_passphrase``: the coordinator's key's new passphrase (the policy is
    checked first); ``keep``: personal key label to its holder's passphrase
    (each must open that key now); the other personal keys are dropped.
    ``deliver`` receives the new emergency secret and must print the sheet;
    if it fails, nothing is left behind.
    """
    from vault.passphrase_policy import check_passphrase

    old = vault.unlocked_key()
    if read_state(vault.root) is not None:
        raise UsageError(
            "a key rotation is under way already", hint="run 'vault rotate' to finish it"
        )
    check_passphrase(new_passphrase)
    register = key_register.load_register(vault.key_paths, vault.config, old)
    _check_kept(vault, register, keep, new_passphrase)
    work = folder(vault.root)
    shutil.rmtree(work, ignore_errors=True)  # a begin cut short before its state was written
    make_private_dir(work)
    try:
        secret, public = crypto.generate_identity()
        new = DataKey.from_secret(secret)
        atomic_write(
            work / NEW_KEY,
            crypto.encrypt_bytes((secret + "\n").encode(), [old.identity.to_public()]),
        )
        keys = KeyPaths(work / NEW / "keys")
        make_private_dir(work / NEW)
        make_private_dir(keys.root)
        atomic_write(keys.public, (public + "\n").encode())
        now = clock.stamp()
        records, kept = [], []
        for record in register.keys:
            if record.level is not None:  # wraps its holder's own key: carried over as it is
                make_private_dir(keys.root / key_register.PEOPLE)
                data = (vault.key_paths.root / record.file).read_bytes()
                atomic_write(keys.root / record.file, data)
                kept.append((record.label, revoked_keys.digest(data)))
                records.append(record)
                continue
            if record.label == key_register.COORDINATOR:
                passphrase = new_passphrase
            elif record.label in keep:
                passphrase = keep[record.label]
                kept.append((record.label, _digest(vault.key_paths.root / record.file)))
                make_private_dir(keys.root / key_register.PEOPLE)
            else:
                continue
            factor = wrap_secret(keys.root / record.file, secret, passphrase)
            changed = now if record.label == key_register.COORDINATOR else record.passphrase_changed
            records.append(
                replace(record, work_factor=factor, wraps=key_id(new), passphrase_changed=changed)
            )
        if register.find(key_register.COORDINATOR) is None:  # removed: made again
            factor = wrap_secret(keys.passphrase, secret, new_passphrase)
            coordinator = key_register.COORDINATOR
            made = (now, now, None, factor, key_id(new))
            records.append(
                key_register.KeyRecord(coordinator, key_register.file_of(coordinator), *made)
            )
        new_register = key_register.Register(records, rotated=now)
        for level in register.levels:  # whoever held the old data key could open them
            fresh = access_levels.new_level(level)
            access_levels.write_level(
                keys, fresh, public, key_register.people_of(new_register, level)
            )
            new_register.levels[level] = fresh.recipient
        key_register.save_register(keys, new_register, new)
        emergency_secret, emergency_public = crypto.generate_identity()
        atomic_write(
            keys.emergency,
            crypto.encrypt_bytes(
                (secret + "\n").encode(), [crypto.parse_recipient(emergency_public)]
            ),
        )
        deliver(emergency_secret)
        atomic_write(keys.emergency_public, (emergency_public + "\n").encode())
        dropped = tuple(
            r.label
            for r in register.keys
            if r.label not in keep and r.label != key_register.COORDINATOR and r.level is None
        )
        anchor.record_pending(vault.root, public)  # outside the folder: see complete_switch
        _write_state(
            vault.root,
            Rotation(now, key_id(old), key_id(new), public, dropped=dropped, kept=tuple(kept)),
        )
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    vault.audit.append("rotate-start", [], old=key_id(old), new=key_id(new))
    _checkpoint("begun")
    return new


def _check_kept(
    vault: Vault, register: key_register.Register, keep: dict[str, str], new_passphrase: str
) -> None:
    from vault.keys import unlock_file
    from vault.passphrase_policy import check_passphrase

    for label, passphrase in keep.items():
        record = register.find(label)
        if record is None or label == key_register.COORDINATOR:
            raise UsageError(f"no personal key is labelled '{label}'")
        check_passphrase(passphrase)
        if passphrase == new_passphrase:
            raise UsageError(
                f"the key '{label}' and the coordinator's key would have the same passphrase",
                hint="each key needs a passphrase of its own",
            )
        try:
            unlock_file(vault.key_paths.root / record.file, vault.key_paths, passphrase)
        except WrongKeyError as exc:
            raise WrongKeyError(
                f"the passphrase given for the key '{label}' does not open it",
                hint=f"its holder checks it (--keep-key {label}=FILE); leave the key out "
                "to remove it",
            ) from exc


def new_key(vault: Vault) -> DataKey:
    """The new data key of the rotation under way, opened with the old one."""
    state = read_state(vault.root)
    if state is None:
        raise UsageError("no key rotation is under way")
    old = vault.unlocked_key()
    if key_id(old) != state.old:
        raise IntegrityError("the key rotation under way was not started from this vault's key")
    anchor.check_switch(vault.root, state.recipient)
    blob = (folder(vault.root) / NEW_KEY).read_bytes()
    key = DataKey.from_secret(crypto.decrypt_bytes(blob, [old.identity]).decode())
    if key.recipient != state.recipient:
        raise IntegrityError(
            f"the key rotation's new key ({FOLDER}/{NEW_KEY}) is not the one it began with"
        )
    return key


# --- 2. move -------------------------------------------------------------------


def hold_mover(vault: Vault) -> VaultLock:
    """The lock of the process moving documents (taken holding the vault
    lock, kept while it is let go): a second ``vault rotate`` meanwhile is
    refused, not let loose on the same documents. The caller releases it."""
    lock = VaultLock(vault.layout.local / MOVER_LOCK, wait=0)
    try:
        lock.acquire()
    except LockedError:
        raise LockedError(
            "a key rotation is running already (another 'vault rotate')",
            hint="wait for it to finish",
        ) from None
    return lock


def moved(root: Path) -> dict[str, dict[str, Any]]:
    """{old manifest id: line} of the documents moved so far (a line torn by a
    crash is not one: that document is moved again)."""
    return {str(r["old"]): r for r in _noted(root) if "old" in r and "batch" not in r}


def moved_batches(root: Path) -> dict[str, dict[str, Any]]:
    """{old batch reference: line} of the batch scans moved so far."""
    return {str(r["batch"]): r for r in _noted(root) if "batch" in r and "new" in r}


def _noted(root: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    try:
        data = (folder(root) / MOVED).read_bytes()
    except FileNotFoundError:
        return found
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            found.append(record)
    return found


Todo = tuple[str, str, int, str]  # doc id, manifest id, bytes, batch reference ("": none)


def to_move(vault: Vault) -> list[Todo]:
    """(doc id, manifest id, bytes, batch) of each document the catalog names
    that is not moved yet (the vault's lock held: the catalog is read here);
    the bytes are the document's own, not its batch scan's."""
    done = moved(vault.root)
    sizes = vault.indexed_sizes()
    todo = []
    for row in vault.catalog.documents():
        line = done.get(row["manifest"])
        if line is not None and _there(vault, line.get("new")):
            continue
        refs = [row["original"], row["searchable"] or ""]
        size = sum(sizes.get(i, 0) for ref in refs if ref for i in parts.split_ref(ref))
        todo.append((row["id"], row["manifest"], size, manifests.batch_ref(row.get("batch")) or ""))
    return todo


def _batch_there(vault: Vault, line: dict[str, Any]) -> bool:
    """Whether a moved batch scan's new objects are all here."""
    try:
        ids = parts.split_ref(str(line["new"]))
        return all(vault.objects.exists(i) for i in ids)
    except (VaultError, KeyError, ValueError):
        return False


def _there(vault: Vault, manifest_id: Any) -> bool:
    """Whether a moved document's new manifest is here (else it is moved again)."""
    try:
        return isinstance(manifest_id, str) and vault.manifests.exists(manifest_id)
    except VaultError:
        return False


def move(
    vault: Vault,
    old: DataKey,
    new: DataKey,
    todo: Iterable[Todo],
    progress: Progress | None = None,
    *,
    meanwhile: bool = False,
) -> int:
    """Move each document of ``todo`` (see ``to_move``); return the bytes read.

    The vault's lock need not be held (``hold_mover``'s must be): new
    objects are written through temp files in ``rotation/tmp/``, which no
    other command cleans up (they clean the vault's own temp folder when they
    take the lock), and committed to the stores under their hashes.
    ``meanwhile``: without the vault lock, while other commands run: a
    document whose manifest is gone (an edit replaced it) is left to
    ``finish``, which moves the new one.

    The documents are moved by worker processes, one a core
    (``parts.default_jobs``; the encryption holds Python's lock, so threads
    would share one core), each given the two keys through its pipe, never
    through a file. Each document is noted here as it is done, in no fixed
    order, without an fsync of its own: its new files are durable before its
    line is written, and a line lost to a power cut only means that document
    is moved again. The first failure stops the rest: those under way
    finish first, and their new files, which no line names, are removed at
    the switch.

    A batch scan several documents name (``vault.batches``) is moved once,
    before them, as a job of its own; each document's new manifest then
    names its new object (``reencrypt.move_document``'s ``batches``).
    """

    todo = list(todo)
    path = folder(vault.root) / MOVED
    # Temp files of their own: any command that takes the vault lock meanwhile
    # removes what it finds in the vault's tmp/, as left by a killed writer.
    tmp = folder(vault.root) / TMP
    make_private_dir(tmp)
    clean_stale_temps(tmp)
    roots = (str(vault.objects.root), str(vault.manifests.root), str(tmp))
    secrets = (old.secret, new.secret)
    batches = {
        ref: (str(line["new"]), str(line.get("fingerprint", "")))
        for ref, line in moved_batches(vault.root).items()
        if _batch_there(vault, line)
    }
    refs = sorted({ref for *_, ref in todo if ref and ref not in batches})
    batch_calls = [
        ((roots, vault.objects.part_size, ref, secrets), _stored_size(vault, ref)) for ref in refs
    ]
    calls: list[tuple[tuple[Any, ...], int]] = [
        ((roots, vault.objects.part_size, manifest_id, secrets, meanwhile), size)
        for _, manifest_id, size, _ in todo
    ]
    total = sum(size for _, size in (*batch_calls, *calls))
    done_bytes = 0
    jobs = min(parts.default_jobs(), max(len(calls), len(batch_calls)))
    with _lines(path) as note, contextlib.ExitStack() as stack:
        pool = None
        if jobs > 1:
            pool = parts.process_pool(jobs)
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        for n, (result, size) in enumerate(_run(pool, move_batch_in_worker, batch_calls), 1):
            _batch_done(note, result, n)
            batches[result.old_ref] = (result.new_ref, result.fingerprint)
            done_bytes += size
            if progress:
                progress(0, len(todo), done_bytes, total)
        levels = new_levels(vault.root)
        calls = [((*args, batches, levels), size) for args, size in calls]
        for n, (moved_doc, size) in enumerate(_run(pool, move_in_worker, calls), 1):
            _done(note, moved_doc, n)
            done_bytes += size
            if progress:
                progress(n, len(todo), done_bytes, total)
    return done_bytes


def new_levels(root: Path) -> dict[str, str]:
    """Each access level's new public key (``vault.levels``), as the rotation's
    new list of keys names it."""
    paths = KeyPaths(folder(root) / NEW / "keys")
    return dict(key_register.read_register(paths, {}).levels)


def _new_level_keys(root: Path, new: DataKey) -> dict[str, access_levels.LevelKey]:
    """Each access level's new key, opened with the new data key."""
    paths = KeyPaths(folder(root) / NEW / "keys")
    listed = key_register.load_register(paths, {}, new).levels
    return access_levels.level_keys(paths, new, listed)


def _stored_size(vault: Vault, ref: str) -> int:
    total = 0
    for object_id in parts.split_ref(ref):
        with contextlib.suppress(OSError, VaultError):
            total += vault.objects.path(object_id).stat().st_size
    return total


def _run(
    pool: Any, function: Callable[..., Any], calls: list[tuple[tuple[Any, ...], int]]
) -> Iterator[tuple[Any, int]]:
    """(result, size) of ``function(*args)`` for each call, as each is done:
    in ``pool``'s workers, or here when it is None."""
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    from vault.workers import workers_starting

    if pool is None:
        for args, size in calls:
            yield function(*args), size
        return
    try:
        with workers_starting():
            futures = {pool.submit(function, *args): size for args, size in calls}
        for future in as_completed(futures):
            yield future.result(), futures[future]
    except BrokenProcessPool:  # a worker killed (the out-of-memory killer, say)
        raise VaultError(
            "a worker process of the key rotation stopped (killed, or out of memory)",
            hint="nothing is lost: run 'vault rotate' again (with the same passphrase) to go on",
        ) from None


@contextlib.contextmanager
def _lines(path: Path) -> Iterator[BinaryIO]:
    """``rotation/moved.jsonl`` open to append (after a line torn by a crash, a
    new line begins on a line of its own), fsynced once at the end."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as f:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            f.write(b"\n")
        try:
            yield f
        finally:
            f.flush()
            os.fsync(fd)


def _batch_done(note: BinaryIO, result: MovedBatch, n: int) -> None:
    line = {
        "batch": result.old_ref,
        "new": result.new_ref,
        "fingerprint": result.fingerprint,
        "objects": result.objects,
    }
    note.write(json.dumps(line, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    note.flush()
    _checkpoint(f"batch:{n}")


def _done(note: BinaryIO, result: Moved | None, n: int) -> None:
    if result is None:
        return
    line = {
        "doc": result.doc_id,
        "old": result.old_manifest,
        "new": result.new_manifest,
        "objects": result.objects,
    }
    note.write(json.dumps(line, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    note.flush()
    _checkpoint(f"moved:{n}")


# --- 3. finish -------------------------------------------------------------------


def finish(vault: Vault, old: DataKey, new: DataKey, progress: Progress | None = None) -> Finished:
    """Move what is left, make the new catalog and switch (the lock held)."""
    state = read_state(vault.root)
    if state is None:
        raise UsageError(
            f"the key rotation is gone (its folder {FOLDER}/ was removed meanwhile)",
            hint="run 'vault rotate' again",
        )
    if state.phase == COPYING:
        vault.fold_journal()
        if vault.journal_entries():
            vault.save_catalog()  # the fold's documents into a head: the journal empties
        if vault.journal_entries():
            raise IntegrityError(
                "the journal still names documents the catalog does not hold",
                hint="run 'vault verify', then 'vault rotate' again",
            )
        move(vault, old, new, to_move(vault), progress)
        state = _follow_key_changes(vault, state, new)
        state = _save_new_catalog(vault, state, old, new)
    result = Finished(old=state.old, new=state.new, dropped_keys=list(state.dropped))
    register = key_register.read_register(KeyPaths(folder(vault.root) / NEW / "keys"), {})
    result.kept_keys = [k.label for k in register.keys]
    result.documents, result.removed = complete_switch(vault.root)
    vault.adopt_rotated_key(new)
    return result


def _digest(path: Path) -> str:
    try:
        return revoked_keys.digest(path.read_bytes())
    except OSError:
        return ""


def _follow_key_changes(vault: Vault, state: Rotation, new: DataKey) -> Rotation:
    """Personal keys changed while the documents moved (without the lock): a
    kept key removed meanwhile, or given a new passphrase (its file is not
    the one the rotation began with), is not carried over (its holder left,
    or the old passphrase leaked); a key added meanwhile cannot be (its
    passphrase is not known here), but for a key of an access level, which
    wraps its holder's own key, not the data key. Those still in the vault
    are dropped."""
    now = {k.label: k for k in key_register.read_register(vault.key_paths, vault.config).keys}
    paths = KeyPaths(folder(vault.root) / NEW / "keys")
    register = key_register.load_register(paths, {}, new)
    kept = dict(state.kept)
    gone = [
        k.label
        for k in register.keys
        if k.label != key_register.COORDINATOR
        and (k.label not in now or _digest(vault.key_paths.root / k.file) != kept.get(k.label))
    ]
    # A key of an access level added meanwhile wraps its holder's own key: it
    # is carried over (the level's new key is encrypted to it too).
    added = [
        k
        for label, k in now.items()
        if k.level is not None and k.level in register.levels and register.find(label) is None
    ]
    for record in added:
        data = (vault.key_paths.root / record.file).read_bytes()
        make_private_dir(paths.root / key_register.PEOPLE)
        atomic_write(paths.root / record.file, data)
    if gone or added:
        levels = {k.level for k in register.keys if k.label in gone and k.level}
        levels |= {k.level for k in added if k.level}
        register.keys = [k for k in register.keys if k.label not in gone]
        for record in added:
            register.put(record)
        for level in sorted(levels):
            opened = access_levels.open_level(paths, level, new.identity, register.levels[level])
            people = key_register.people_of(register, level)
            access_levels.write_level(paths, opened, new.recipient, people)
        key_register.save_register(paths, register, new)  # (removes their files)
    carried = {k.label for k in register.keys}
    dropped = {*state.dropped, *(label for label in now if label not in carried)}
    if dropped == set(state.dropped):
        return state
    state = replace(state, dropped=tuple(sorted(dropped)))
    _write_state(vault.root, state)
    return state


def _save_new_catalog(vault: Vault, state: Rotation, old: DataKey, new: DataKey) -> Rotation:
    from vault import catalog_db
    from vault.catalog import Catalog

    done = moved(vault.root)
    old_catalog = vault.catalog
    head = vault.head()
    seq = head.seq if head is not None else 0
    path = catalog_db.fresh(vault.layout.local)
    catalog = Catalog.opened(catalog_db.open_database(path, new.catalog_key))
    try:
        for row in old_catalog.documents():
            new_manifest = done[row["manifest"]]["new"]
            doc, signed = manifests.parse(
                vault.manifests.get_bytes(new_manifest, [new.identity]), check_mac=new.check_mac
            )
            if not signed:
                raise IntegrityError(f"the new manifest of {row['id']} is not signed")
            catalog.add(doc, new_manifest)
        for doc_id, copy_of in old_catalog.conn.execute(
            "SELECT id, duplicate_of FROM duplicates"
        ).fetchall():
            catalog.note_duplicate(doc_id, copy_of)
        for incident in old_catalog.incidents():  # the notes of data breaches
            catalog.put_incident(incident)
        for expectation in old_catalog.expectations():  # expected post: family, sender
            catalog.put_expectation(expectation)
        staging = folder(vault.root) / NEW
        make_private_dir(staging / "catalog")
        documents = catalog.count()
        if not _logged(vault, state, documents):
            vault.audit.append("rotate", [], old=state.old, new=state.new, documents=documents)
        ctx = SaveContext(
            snapshots=staging / "catalog",
            head_path=staging / "head.json",
            key=new,
            vault_id=vault.vault_id,
            audit_tip=vault.audit.tip(),
            signer=vault.signing_public(),
            sizes=vault.file_sizes(),
            texts=lambda _manifest_id: None,
            levels=_new_level_keys(vault.root, new),
        )
        save_catalog(ctx, catalog, None, seq, compact=True)
    finally:
        catalog.conn.close()
    _checkpoint("catalog")
    switching = replace(state, phase=SWITCHING, database=path.name)
    _write_state(vault.root, switching)
    _checkpoint("switching")
    return switching


def _logged(vault: Vault, state: Rotation, documents: int) -> bool:
    """Whether the audit log has this rotation's ``rotate`` entry already (one
    cut short after its new catalog was made, resumed with nothing new)."""
    return any(
        e.event == "rotate" and e.detail.get("new") == state.new
        and e.detail.get("documents") == documents
        for e in vault.audit.entries()
    )  # fmt: skip


# --- the switch ------------------------------------------------------------------


def complete_switch(root: Path) -> tuple[int, int]:
    """Put the new catalog, keys and head in place and remove the old files;
    each step may run again (a switch cut short). No key is needed. Returns
    (documents under the new head, old files removed)."""
    from vault import catalog_db

    state = read_state(root)
    if state is None or state.phase != SWITCHING:
        return 0, 0
    anchor.check_switch(root, state.recipient)  # not a record planted without the key
    layout = Layout(root)
    work = folder(root)
    staging = work / NEW
    # The catalog: its base files (write-once names), then its database.
    if (staging / "catalog").is_dir():
        make_private_dir(layout.catalog)
        for item in (staging / "catalog").iterdir():
            os.replace(item, layout.catalog / item.name)
        fsync_dir(layout.catalog)
    if state.database and (layout.local / state.database).is_file():
        catalog_db.make_current(layout.local, layout.local / state.database)
    # The keys: the whole folder at once (two renames; a crash between them is
    # caught here: keys/ missing, old-keys/ there).
    if (staging / "keys").is_dir():
        if layout.keys.exists() and not (work / OLD_KEYS).exists():
            os.replace(layout.keys, work / OLD_KEYS)
            _checkpoint("switch:keys")
        if not layout.keys.exists():
            os.replace(staging / "keys", layout.keys)
        fsync_dir(root)
    new_head = staging / "head.json"
    if new_head.is_file():
        data = new_head.read_bytes()
        head, _ = parse_head(data)
        config = read_config(layout)
        config["data_key"] = state.new
        config["rotated"] = state.started
        config["passphrase_changed"] = state.started
        _note_work_factor(layout, config)
        write_config(layout, config)
        anchor.record_recipient(root, state.recipient)
        atomic_write(layout.head, data)
        for path in anchor.anchor_paths(root, str(config.get("vault_id", ""))):
            with contextlib.suppress(OSError):
                if path.parent != root:
                    make_private_dir(path.parent)
                atomic_write(path, data)
        new_head.unlink()
        _checkpoint("switch:head")
    found = read_head(layout.head)
    if found is None:
        raise IntegrityError("the key rotation's switch found no head")
    head = found[0]
    keep = set(read_index(layout.catalog, head))
    removed = _remove_old(root, layout, keep, set(head.catalog_files()))
    _checkpoint("switch:removed")
    _revoke_old_keys(root, work / OLD_KEYS)
    _remove_folder(work)
    fsync_dir(root)
    with contextlib.suppress(OSError):
        anchor.pending_path(root).unlink()
    return head.documents, removed


def _remove_folder(work: Path) -> None:
    """Remove ``rotation/``, its record (``state.json``) last. The folder holds
    the new data key encrypted to the old one (``new-key.age``) and the old
    key files: a removal cut short (a kill, a power cut) must not leave them
    with no record to say the switch is unfinished, for no command would
    remove them then. While the record is there, the next command's switch
    removes the rest."""
    for item in sorted(work.iterdir()):
        if item.name == STATE:
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()
    fsync_dir(work)
    with contextlib.suppress(FileNotFoundError):
        (work / STATE).unlink()
    work.rmdir()


def _note_work_factor(layout: Layout, config: dict[str, Any]) -> None:
    with contextlib.suppress(OSError, VaultError):
        register = key_register.read_register(KeyPaths(layout.keys), config)
        record = register.find(key_register.COORDINATOR)
        if record is not None and record.work_factor:
            config["scrypt_work_factor"] = record.work_factor


def _remove_old(root: Path, layout: Layout, keep: set[str], chain_files: set[str]) -> int:
    """Remove every object and manifest the new head does not name (but the
    files the journal names, and those of entries set aside, kept on
    purpose), and the old catalog files."""
    from vault import journal as journals

    aside: set[str] = set()
    entries = journals.read(root / journals.JOURNAL).records  # empty here; kept if not
    for entry in [*entries, *journals.read_set_aside(root / journals.SET_ASIDE)]:
        if journals.is_entry(entry):
            aside |= {entry["manifest"], *entry["objects"]}
    removed = 0
    for store in (layout.objects, layout.manifests):
        if not store.is_dir():
            continue
        for sub in store.iterdir():
            if not sub.is_dir():
                continue
            for item in sub.iterdir():
                if item.name not in keep and item.name not in aside and len(item.name) == 64:
                    item.unlink()
                    removed += 1
    for item in layout.catalog.iterdir():
        if item.name not in chain_files and not item.name.startswith("."):
            item.unlink()
    return removed


def _revoke_old_keys(root: Path, old_keys: Path) -> None:
    """Note every old key file as taken back: a copy put back never opens here
    (but one carried over as it is: a key of an access level, which wraps
    its holder's own key, ``vault.levels``)."""
    if not old_keys.is_dir():
        return
    kept = set()
    for path in (Layout(root).keys / key_register.PEOPLE).glob("*.age"):
        with contextlib.suppress(OSError):
            kept.add(revoked_keys.digest(path.read_bytes()))
    for path in sorted(old_keys.rglob("*.age")):
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if revoked_keys.digest(data) not in kept:
                revoked_keys.revoke(root, data)
