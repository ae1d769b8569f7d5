"""``vault recover``: rebuild the vault on a new computer from one of its backups.

In order; nothing is written into the new vault folder before step 3:

1. **Small files.** List the remote (one quick try first: an unreachable
   remote fails in seconds) and copy its head, settings and keys into a
   private work folder (0700, removed on every path), with its journal and
   audit log: their segments, each checked against its name and joined in
   the order the remote's ``segments.json`` gives (``sync.segments``), or
   the whole files of a backup an earlier version made. The audit log must
   then be an unbroken chain holding the tip the authenticated head records
   (``sync.check.audit_chain``): a list rolled back or a log cut short is
   reported as a damaged audit log (the documents are still restored).
2. **Trust** (``trust.py``). Unlock the data key from those key files
   (passphrase or emergency key); check the head's MAC, ``expect_state``,
   the object index's hash and the catalog snapshot's hash (a snapshot that
   is missing, or of an older schema, is rebuilt from the manifests later;
   one that does not match the head is refused). Only what the authenticated
   index names, and the journal entries ``journal.trusted_entries`` accepts,
   is brought in.
3. **Objects.** The folder is made (0700) with a marker in ``tmp/recover``.
   Files an interrupted run left (in place or in the staging folder) are
   re-hashed and kept; the rest come in one rclone copy into
   ``tmp/recover/``, and each is re-hashed (SHA-256 = its name) as it arrives,
   while rclone goes on; then the checked files are renamed into place (a
   first run moves each store's folder in one rename). A resumed run never
   downloads again what was checked. A missing or corrupt file is reported
   with its document (``damage.py``) and the rest is restored.
4. **The vault.** Keys, the catalog snapshot and index, the head, the journal
   and the audit log are put in place, the remote is configured with a sync
   state that records what it holds (so the next ``vault sync`` sends only
   what changes here), the vault is opened and unlocked, the catalog rebuilt
   if needed and the journal folded in.
5. ``config.json`` last: its presence means the vault is ready.

Every use of the emergency key is recorded in the new vault's audit log with
its reason, and so is the recovery.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recovery.damage import Damage, name_damage
from recovery.fetch import (
    KEY_FILES,
    SMALL_FILES,
    Source,
    fetched_level_keys,
    named_personal_keys,
)
from recovery.progress import DocumentTracker, Progress, ProgressCallback
from recovery.trust import Credentials, Verified, verify_backup
from sync import replaceable, segments
from sync.check import audit_chain
from sync.marker import check_source_folder
from sync.remotes import CONFIG_KEY, local_folder, normalise_path, remotes
from sync.snapshot import AUDIT, HEAD, JOURNAL, object_path
from sync.state import RemoteState, save_state
from vault import anchor
from vault import levels as access_levels
from vault.chain import MissingManifestError
from vault.config import Layout, write_config
from vault.errors import RemoteError, UsageError, VaultExistsError
from vault.fsutil import atomic_write, make_private_dir, private_workdir, remove_quietly
from vault.head import Head
from vault.key_register import PEOPLE
from vault.keys import DataKey
from vault.manifest import batch_ref
from vault.objects import hash_file
from vault.parts import split_ref
from vault.repository import Vault

STAGING = "recover"  # under the new vault's tmp/
MARKER = "from.json"  # in the staging folder: which vault is being recovered
DEFAULT_REMOTE_NAME = "origin"
STOP_AT = "VAULT_TEST_RECOVER_STOP_AT"  # tests only: SIGKILL this process at a named point


@dataclass
class RecoverResult:
    root: Path
    remote: str  # the name it is configured under in the new vault
    path: str  # its rclone path
    head: Head  # the backup's head, as found
    documents: int = 0
    files: int = 0  # objects and manifests in place
    bytes: int = 0
    downloaded: list[str] = field(default_factory=list)  # paths copied by this run
    kept: int = 0  # verified files an interrupted run had already brought in
    damaged: list[Damage] = field(default_factory=list)
    rebuilt: bool = False  # the catalog was rebuilt from the manifests
    catalog_missing: list[str] = field(default_factory=list)  # catalog files the head names, absent
    folded: int = 0  # journaled documents folded into the catalog
    emergency: bool = False
    register_rebuilt: bool = False  # the backup's list of keys failed its MAC: made anew
    seconds: float = 0.0
    other_remotes: dict[str, str] = field(default_factory=dict)  # the old settings' others
    left_out: list[str] = field(default_factory=list)  # journal entries not trusted
    # audit log segments missing or damaged on the backup (path -> problem): the
    # audit log was restored only as far as it was whole
    audit_damaged: dict[str, str] = field(default_factory=dict)
    set_aside: list[tuple[str, str]] = field(default_factory=list)  # by the fold, with why
    key: DataKey | None = field(default=None, repr=False)  # the unlocked data key

    @property
    def ok(self) -> bool:
        return not (self.damaged or self.left_out or self.set_aside or self.audit_damaged)


def recover(
    path: str,
    dest: Path,
    ask: Callable[[], Credentials],
    *,
    expect_state: str | None = None,
    remote_name: str | None = None,
    rebuild_catalog: bool = False,
    on_progress: ProgressCallback | None = None,
    vault_id: str | None = None,
) -> RecoverResult:
    """Recover the vault backed up at rclone ``path`` into the new folder ``dest``.

    ``ask`` is called once the remote has answered, for what unlocks it.
    Raises ``WrongKeyError`` (nothing written), ``IntegrityError`` for a
    head, index or catalog that fails its check (nothing written),
    ``RemoteError`` when the remote cannot be reached, or is a folder whose
    disk is not plugged in (or, given ``vault_id``, another vault's backup:
    ``sync.marker``). Missing or corrupt objects do not stop it: they are in
    ``damaged``.
    """
    started = time.monotonic()
    dest = dest.expanduser().absolute()
    source_path = normalise_path(path, dest)
    _check_destination(dest)
    folder = local_folder(source_path)
    if folder is not None:
        check_source_folder(folder, vault_id)
    with Source(source_path, f"recovery from {source_path}") as source, private_workdir() as work:
        verified = verify_backup(source, work, ask, expect_state, rebuild_catalog)
        _checkpoint("verified")
        result = _restore(source, verified, dest, work, remote_name, on_progress)
    result.seconds = time.monotonic() - started
    return result


# --- the new folder ---------------------------------------------------------------------


def _check_destination(dest: Path) -> None:
    if Layout(dest).config.exists():
        raise VaultExistsError(
            f"a vault already exists at {dest}", hint="recover into a new, empty folder"
        )
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} is a file, not a folder")
    if dest.exists() and any(dest.iterdir()) and not _marker(dest).exists():
        raise VaultExistsError(f"{dest} is not empty", hint="recover into a new, empty folder")


def _marker(dest: Path) -> Path:
    return Layout(dest).tmp / STAGING / MARKER


# --- steps 3 to 5: into the new folder --------------------------------------------------


def _restore(
    source: Source,
    verified: Verified,
    dest: Path,
    work: Path,
    remote_name: str | None,
    on_progress: ProgressCallback | None,
) -> RecoverResult:
    layout = Layout(dest)
    staging = layout.tmp / STAGING
    marker = _marker(dest)
    vault_id = str(verified.config["vault_id"])
    resumed = marker.exists()
    if resumed:
        try:
            earlier = json.loads(marker.read_text("utf-8")).get("vault_id")
        except (OSError, ValueError, AttributeError):
            earlier = None
        if earlier != vault_id:
            raise VaultExistsError(
                f"{dest} holds an unfinished recovery of another vault",
                hint="recover into a new, empty folder",
            )
    for folder in (dest, layout.objects, layout.manifests, staging):
        make_private_dir(folder)
    atomic_write(marker, json.dumps({"vault_id": vault_id}).encode())
    name = _choose_name(verified.config, source.path, remote_name)
    result = RecoverResult(dest, name, source.path, verified.head)
    result.emergency = bool(verified.credentials.emergency_key)
    result.register_rebuilt = verified.register_rebuilt
    result.left_out = [str(e["manifest"]) for e in verified.left_out]
    result.catalog_missing = [
        name for name in verified.head.catalog_files() if f"catalog/{name}" not in source.present
    ]
    result.audit_damaged = segments.audit_damage(verified.logs) or {
        # whole, but not the log the head was saved with: cut short or rewritten
        found.path: found.problem
        for found in audit_chain(verified.logs, verified.head, work)
    }
    result.key = verified.key

    wanted = _wanted(verified, source.present)
    bad: dict[str, str] = {}
    for rel, size in wanted.items():
        found = source.present.get(rel)
        if found is None:
            bad[rel] = "missing"
        elif size >= 0 and found != size:
            bad[rel] = "corrupt"
    fetchable = [rel for rel in wanted if rel not in bad]
    placed: set[str] = set()  # in place in the vault
    checked: set[str] = set()  # re-hashed in the staging folder, to be renamed into place
    todo = []
    for rel in fetchable:
        target = dest / rel
        if target.exists():
            if hash_file(target) == _name_of(rel):
                placed.add(rel)
                result.kept += 1
                continue
            remove_quietly(target)
        if (staging / rel).exists() and _check(staging, rel):
            checked.add(rel)
            result.kept += 1
            continue
        todo.append(rel)
    sha256_listed = source.gives_sha256()  # for the sync state, asked while rclone runs
    tracker = DocumentTracker(_documents(verified, wanted), placed | checked)
    _download(source, staging, work, todo, placed, checked, bad, result, on_progress, tracker)
    source.done()
    _place(staging, dest, checked, clean=resumed)
    placed |= checked
    _checkpoint("objects")

    result.files = len(placed)
    result.bytes = sum(source.present[rel] for rel in placed)
    result.damaged = name_damage(bad, verified, dest)
    broken = {d.id for d in result.damaged}
    entries = [e for e in verified.entries if not (_entry_ids(e) & broken)]
    whole_journal = not verified.left_out and len(entries) == len(verified.entries)
    _put_small_files(verified, layout, entries, whole_journal)
    config = dict(verified.config)
    configured = remotes(config)
    configured[name] = source.path
    config[CONFIG_KEY] = configured
    result.other_remotes = {n: p for n, p in configured.items() if n != name}
    _save_remote_state(dest, name, source, verified, placed, md5=not sha256_listed)
    _open(dest, config, verified, result, entries)
    _checkpoint("config")
    if hasattr(os, "sync"):
        os.sync()  # every file renamed into place is on disk before the vault says "ready"
    write_config(layout, config)
    shutil.rmtree(staging, ignore_errors=True)
    return result


def _name_of(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def _entry_ids(entry: dict[str, Any]) -> set[str]:
    return {*entry["objects"], entry["manifest"]}


def _wanted(verified: Verified, present: dict[str, int]) -> dict[str, int]:
    """Every object and manifest the index and the trusted journal name: path -> size."""
    wanted: dict[str, int] = {}
    for object_id, size in verified.index.items():
        candidates = [object_path(store, object_id) for store in ("objects", "manifests")]
        wanted[next((c for c in candidates if c in present), candidates[0])] = int(size)
    for entry in verified.entries:
        for object_id, size in entry["objects"].items():
            wanted[object_path("objects", object_id)] = int(size)
        wanted[object_path("manifests", entry["manifest"])] = int(entry["size"])
    return wanted


def _check(staging: Path, rel: str) -> bool:
    """Re-hash a downloaded file: True if its SHA-256 is its name, else False (removed)."""
    if hash_file(staging / rel) == _name_of(rel):
        return True
    remove_quietly(staging / rel)
    return False


def _documents(verified: Verified, wanted: dict[str, int]) -> list[set[str]]:
    """The files of each document, as far as the catalog and journal tell (for progress)."""
    where = {_name_of(rel): rel for rel in wanted}
    documents = []
    if verified.catalog is not None:
        for row in verified.catalog.documents():
            ids = [row["manifest"], *split_ref(row["original"])]
            ids += split_ref(row["searchable"]) if row["searchable"] else []
            ids += split_ref(batch) if (batch := batch_ref(row.get("batch"))) else []
            documents.append({where[i] for i in ids if i in where})
    for entry in verified.entries:
        documents.append({where[i] for i in _entry_ids(entry) if i in where})
    return documents if verified.catalog is not None else []


def _download(
    source: Source,
    staging: Path,
    work: Path,
    todo: list[str],
    placed: set[str],
    checked: set[str],
    bad: dict[str, str],
    result: RecoverResult,
    on_progress: ProgressCallback | None,
    tracker: DocumentTracker,
) -> None:
    """One rclone copy of ``todo`` into ``staging``, each file re-hashed as it arrives
    (while rclone goes on with the others)."""
    total_files = len(placed) + len(checked) + len(todo)
    kept_bytes = sum(source.present[rel] for rel in (*placed, *checked))
    total_bytes = kept_bytes + sum(source.present[rel] for rel in todo)
    copied: list[str] = []
    seen = 0
    pending = set(todo)

    def report(done_bytes: int) -> None:
        if on_progress is not None:
            on_progress(
                Progress(
                    done_bytes, total_bytes, tracker.done, tracker.total,
                    len(placed) + len(checked), total_files,
                )
            )  # fmt: skip

    def check(rel: str) -> None:
        pending.discard(rel)
        result.downloaded.append(rel)
        if _check(staging, rel):
            checked.add(rel)
            tracker.arrived(rel)
            _checkpoint(f"checked:{len(result.downloaded)}")
        else:
            bad[rel] = "corrupt"

    def check_arrived() -> None:
        nonlocal seen
        while seen < len(copied):
            rel = copied[seen]
            seen += 1
            if rel in pending:
                check(rel)

    def on_stats(stats: dict[str, Any]) -> None:
        check_arrived()
        report(kept_bytes + int(stats.get("bytes", 0)))

    report(kept_bytes)
    try:
        source.fetch(todo, staging, work, on_stats=on_stats, copied=copied)
    finally:
        check_arrived()  # checked files stay: a run after a failure does not fetch them again
    _checkpoint("downloaded")
    lost = []
    for rel in sorted(pending):  # arrived without rclone saying so, or never sent
        if (staging / rel).exists():
            check(rel)
        else:
            lost.append(rel)
    if lost:  # listed on the remote, then not given: it went away (a USB disk pulled out)
        raise RemoteError(
            f"{source.what} stopped: {len(lost)} of {len(todo)} files did not arrive",
            hint="check the remote (the network, the disk), then run the same command again: "
            "it carries on where it stopped",
        )
    report(total_bytes)


def _place(staging: Path, dest: Path, checked: set[str], *, clean: bool) -> None:
    """Rename the checked files into place: a store's whole folder in one rename
    while the vault's is still empty (a first run), else file by file.

    ``clean``: the staging folder was there before this run, so it may hold
    what an interrupted run left half-downloaded: that is removed first.
    """
    if clean:
        for path in list(staging.rglob("*")):
            rel = path.relative_to(staging).as_posix()
            if path.is_file() and rel not in checked and rel != MARKER:
                remove_quietly(path)
    made: set[Path] = set()
    for store in ("objects", "manifests"):
        staged, final = staging / store, dest / store
        if not staged.is_dir():
            continue
        if not any(final.iterdir()):
            final.rmdir()
            os.replace(staged, final)
            continue
        for rel in sorted(r for r in checked if r.startswith(f"{store}/")):
            target = dest / rel
            if target.parent not in made:
                make_private_dir(target.parent)
                made.add(target.parent)
            os.replace(staging / rel, target)


def _put_small_files(
    verified: Verified, layout: Layout, entries: list[dict[str, Any]], whole_journal: bool
) -> None:
    """Keys, the catalog's files, head, journal and audit log, from the work folder."""
    fetched = verified.fetched
    make_private_dir(layout.keys)
    people = named_personal_keys(fetched)
    if people:
        make_private_dir(layout.keys / PEOPLE)
    levels = fetched_level_keys(fetched)
    if levels:
        make_private_dir(layout.keys / access_levels.FOLDER)
    for rel in (*KEY_FILES, *people, *levels):
        if (fetched / rel).exists():
            atomic_write(layout.root / rel, (fetched / rel).read_bytes())
    make_private_dir(layout.catalog)
    head = verified.head
    names = [n for n in head.catalog_files() if verified.catalog is not None or n.endswith(".idx")]
    for name in names:
        atomic_write(layout.catalog / name, (fetched / "catalog" / name).read_bytes())
    journal = fetched / JOURNAL
    if whole_journal and journal.exists():
        atomic_write(layout.root / JOURNAL, journal.read_bytes())
    else:
        lines = "".join(json.dumps(entry) + "\n" for entry in entries)
        atomic_write(layout.root / JOURNAL, lines.encode())
    if (fetched / AUDIT).exists():
        atomic_write(layout.audit, (fetched / AUDIT).read_bytes())
    atomic_write(layout.head, (fetched / HEAD).read_bytes())


def _choose_name(config: dict[str, Any], path: str, wanted: str | None) -> str:
    """The remote's name in the new vault: as given, else the old vault's name for
    that path, else ``origin`` (``origin-2``… if that is taken)."""
    found = remotes(config)
    if wanted:
        return wanted
    for name, known in sorted(found.items()):
        if known == path:
            return name
    name, n = DEFAULT_REMOTE_NAME, 1
    while name in found:
        n += 1
        name = f"{DEFAULT_REMOTE_NAME}-{n}"
    return name


def _save_remote_state(
    dest: Path, name: str, source: Source, verified: Verified, placed: set[str], *, md5: bool
) -> None:
    """Record what the remote holds, as a finished sync would have: the next sync
    then sends only what changes here (a new head, the logs), and judges the
    remote's replaceable files by the hashes of the copies checked here (with
    their MD5 for a store that lists no SHA-256)."""
    fetched = verified.fetched
    listed = verified.logs.logs
    if listed is not None and segments.audit_damage(verified.logs):
        # The audit log here is shorter than the one the remote's list names: the
        # next sync sends it whole, as to a new remote.
        listed = {kind: log for kind, log in listed.items() if kind != segments.AUDIT}
    whole = [rel for kind, rel in segments.WHOLE.items() if listed is None or kind not in listed]
    recorded = [rel for rel in SMALL_FILES if rel not in segments.WHOLE.values()]
    recorded += named_personal_keys(fetched) + fetched_level_keys(fetched)
    recorded += whole + list(segments.paths(listed or {}))  # the logs as the remote holds them
    files = {}
    for rel in recorded:
        path = fetched.joinpath(*rel.split("/"))
        if path.exists():
            files[rel] = replaceable.record(path.read_bytes())
            if not md5:
                del files[rel]["md5"]
    head = verified.head
    stored = set(placed) | {
        f"catalog/{name}"
        for name in head.catalog_files()
        if verified.catalog is not None or name.endswith(".idx")
    }
    state = RemoteState(path=source.path, stored=stored, files=files, fresh=False)
    state.logs = dict(listed or {})
    state.last_sync = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "uploaded": 0,
        "bytes": 0,
        "deleted": 0,
        "head": head.short,
        "head_seq": head.seq,
        "documents": head.documents + len(verified.entries),
        "full": False,
        "recovered": True,
    }
    save_state(dest, name, state)


def _open(
    dest: Path,
    config: dict[str, Any],
    verified: Verified,
    result: RecoverResult,
    entries: list[dict[str, Any]],
) -> None:
    """Open the new vault, record the recovery, and open its catalog as any unlocked
    command does: rebuilt if needed, the journal folded in, and this computer's
    signing key made and named in a new head (see ``vault.repository``)."""
    vault = Vault(dest)
    vault.config = config
    with vault.lock:
        vault.key = verified.key
        vault.key_label = vault.audit.key_label = verified.label  # named in its entries
        # The head's copies (``vault.anchor``) start from the authenticated head, and
        # the public key the key proved is noted for this folder, as an unlock does.
        anchor.record(dest, vault.vault_id, verified.head, verified.key)
        anchor.record_recipient(dest, verified.key.recipient)
        credentials = verified.credentials
        if credentials.emergency_key:
            vault.audit.append(
                "emergency-use", reason=(credentials.reason or "").strip(), command="recover"
            )
        vault.audit.append(
            "recover",
            [d.id for d in result.damaged] + [e["manifest"] for e in verified.left_out],
            remote=result.remote,
            head=verified.head.short,
            damaged=len(result.damaged),
            left_out=len(verified.left_out),
            audit_damaged=len(result.audit_damaged),
        )
        result.rebuilt = verified.catalog is None
        result.folded = len(entries)
        try:
            result.documents = vault.catalog.count()  # loads or rebuilds it, folds the journal
        except MissingManifestError:
            if not result.damaged:
                raise
            # A document not restored (named above) whose manifest the backup lacks:
            # the catalog is rebuilt from the manifests that were.
            vault.rebuild_catalog()
            vault.fold_journal()
            result.documents = vault.catalog.count()
        result.set_aside = list(vault.set_aside)


def _checkpoint(point: str) -> None:
    """Tests only: die here (SIGKILL) when ``VAULT_TEST_RECOVER_STOP_AT`` names this point."""
    if os.environ.get(STOP_AT) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
