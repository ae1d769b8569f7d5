"""What a remote must hold to be a complete copy of the vault, taken at one instant.

A snapshot is taken holding the vault lock, so the head, the journal and the
files they name agree. It has two parts:

- ``stored``: the write-once files the head and the journal need, as
  relative paths with sizes: ``objects/ab/<id>``, ``manifests/ab/<id>``, and
  the ``catalog/<sha>.age`` and ``catalog/<sha>.idx`` files of the catalog's
  base and deltas that the head names (``vault.chain``). Files whose path
  is in ``known`` (already on the remote) are taken on trust, so a sync does
  not stat every object; the others are looked up, and any that is absent or
  of the wrong size locally is listed in ``missing``.
- ``files``: the bytes of the replaceable files: ``head.json``,
  ``journal.log``, ``audit.log``, ``config.json``, ``keys/*`` and
  ``keys/people/*`` (public keys, the age-wrapped copies of the data key,
  one per key of ``vault.key_register``, and its register; needed for recovery),
  ``keys/levels/*`` (each access level's public key and its key wrapped to
  the data key and its keyholders, ``vault.levels``),
  leaving out ``LOCAL_ONLY``: what never leaves this computer.

:func:`stage` writes the snapshot's copies of the replaceable files that
name objects (the head and the journal) to a private folder, so what is sent
is exactly what the snapshot planned even if the vault changes meanwhile.
Nothing here needs a key.

**Since the last sync.** Working out ``stored`` means reading the whole
journal and the head's index: tens of milliseconds for a vault of 10,000
objects, paid by every sync. When the last sync finished in full, the remote
holds exactly the paths it recorded (``known``), named by the head and
journal it sent (``Sent``). If the head is still that one and the journal
only grew (its first bytes are the journal sent, up to a line end), nothing
was dropped since, so ``stored`` is ``known`` plus what the new journal lines
name: only those are read. Anything else (a fold, an erasure, a journal
rewritten) takes the whole snapshot, as does a first or ``--full`` sync.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault import journal, key_register
from vault import levels as access_levels
from vault.errors import IntegrityError, VaultNotFoundError
from vault.head import Head, read_head, read_index
from vault.key_register import PEOPLE, is_level_key_path
from vault.keys import read_key_file
from vault.repository import Vault

HEAD = "head.json"
JOURNAL = "journal.log"
AUDIT = "audit.log"
CONFIG = "config.json"
# Where the first sync after a key rotation (``vault rotate``) puts the new
# key files and head before it replaces the remote's own (``backup.py``).
ROTATION = "rotation/"
WRITE_ONCE_DIRS = ("objects/", "manifests/", "catalog/")
# Files of the vault folder that are never sent to a remote, wherever they
# sit (paths relative to the vault folder). Sync reads only the files above,
# ``keys/*`` and the write-once folders, so a secret kept elsewhere (the
# installation signing key, in ``local/``) never goes; one kept under
# ``keys/`` must be named here.
LOCAL_ONLY: frozenset[str] = frozenset({"keys/signing.key", "local/signing.key"})


@dataclass
class Snapshot:
    root: Path
    stored: dict[str, int] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    head: Head | None = None
    journaled: int = 0  # documents recorded but not yet folded into the catalog
    missing: list[str] = field(default_factory=list)
    # The personal key files (``keys/people/LABEL.age``) the key register names
    # (``_named_keys``); None when there is no register or it cannot be used.
    named_keys: frozenset[str] | None = None
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def digest(self, rel: str) -> str:
        """SHA-256 (hex) of the replaceable file ``rel``, computed once."""
        found = self._digests.get(rel)
        if found is None:
            found = self._digests[rel] = sha256_hex(self.files[rel])
        return found

    def md5(self, rel: str) -> str:
        """MD5 (hex) of the replaceable file ``rel``: the hash S3-like remotes keep."""
        found = self._digests.get(f"md5:{rel}")
        if found is None:
            data = self.files[rel]
            found = self._digests[f"md5:{rel}"] = hashlib.md5(
                data, usedforsecurity=False
            ).hexdigest()
        return found

    def set_file(self, rel: str, data: bytes) -> None:
        """Replace the snapshot's copy of ``rel`` (the audit log, after the sync's entry)."""
        self.files[rel] = data
        self._digests.pop(rel, None)
        self._digests.pop(f"md5:{rel}", None)

    @property
    def documents(self) -> int:
        return (self.head.documents if self.head else 0) + self.journaled


@dataclass(frozen=True)
class Sent:
    """What the last sync that finished in full left on the remote, besides ``known``.

    ``head``: the SHA-256 of the head it sent (None: there was none);
    ``journal``/``journal_size``: the digest and size of the journal it sent;
    ``journaled``: the documents that journal records.
    """

    head: str | None
    journal: str
    journal_size: int
    journaled: int


def object_path(store: str, object_id: str) -> str:
    return f"{store}/{object_id[:2]}/{object_id}"


def is_write_once(path: str) -> bool:
    return path.startswith(WRITE_ONCE_DIRS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_digest(path: str) -> str | None:
    """The SHA-256 a write-once file's name promises (its id, or catalog hash)."""
    name = path.rsplit("/", 1)[-1]
    if path.startswith("catalog/"):
        name = name.split(".", 1)[0]
    return name if len(name) == 64 else None


def parse_journal(data: bytes) -> list[dict[str, Any]]:
    """Every complete journal entry, as the vault reads them (``vault.journal``)."""
    return journal.parse(data).records


def _named_keys(vault: Vault) -> frozenset[str] | None:
    """The personal key files the register names (``keys/people/LABEL.age``):
    its MAC checked when the vault is unlocked (a sync run without a passphrase
    reads it as found). None when there is no register file, or it is damaged
    or fails its MAC: then no key file is removed from the remote."""
    paths = vault.key_paths
    if not key_register.register_path(paths).is_file():
        return None
    try:
        if vault.key is not None:
            register = key_register.load_register(paths, vault.config, vault.key)
        else:
            register = key_register.read_register(paths, vault.config)
    except (IntegrityError, OSError):
        return None
    return frozenset(f"keys/{k.file}" for k in register.keys if k.file.startswith(f"{PEOPLE}/"))


def take_snapshot(vault: Vault, known: Iterable[str] = (), *, sent: Sent | None = None) -> Snapshot:
    """What the remote must hold now. Call holding the vault lock.

    ``known``: paths already on the remote (taken on trust). With ``sent``,
    ``known`` must be exactly what the remote was left holding by the last
    sync that finished in full; then only what changed since is read, when
    that is safe (see the module's docstring).
    """
    known_paths = known if isinstance(known, Set) else set(known)
    layout = vault.layout
    snap = Snapshot(vault.root)
    for path in (layout.config, layout.audit, layout.root / JOURNAL, layout.head):
        if path.exists():
            snap.files[path.name] = path.read_bytes()
    snap.named_keys = _named_keys(vault)
    levels = layout.keys / access_levels.FOLDER
    for folder, prefix in (
        (layout.keys, "keys"),
        (layout.keys / PEOPLE, f"keys/{PEOPLE}"),
        (levels, f"keys/{access_levels.FOLDER}"),
    ):
        if not folder.is_dir():
            continue
        for key_file in sorted(folder.iterdir()):
            rel = f"{prefix}/{key_file.name}"
            named = snap.named_keys
            if prefix == f"keys/{PEOPLE}" and named is not None and rel not in named:
                continue  # a key file the register does not name is not sent
            if prefix == f"keys/{access_levels.FOLDER}" and not is_level_key_path(rel):
                continue
            if key_file.name.startswith(".") or rel in LOCAL_ONLY:
                continue
            with contextlib.suppress(OSError, VaultNotFoundError):  # a folder, a link...
                snap.files[rel] = read_key_file(key_file)
    if sent is not None and _since(snap, vault, known_paths, sent):
        return snap
    wanted: dict[str, tuple[int, tuple[str, ...]]] = {}
    found = read_head(layout.head)
    if found is not None:
        snap.head = found[0]
        either = ("objects", "manifests")
        try:
            index = read_index(layout.catalog, snap.head)
        except (IntegrityError, ValueError):  # missing or damaged: what it names is unknown
            snap.missing.extend(
                f"catalog/{name}" for name in snap.head.catalog_files() if name.endswith(".idx")
            )
            index = {}
        for object_id, size in index.items():
            wanted[object_id] = (int(size), either)
        for name in snap.head.catalog_files():
            _add_catalog_file(snap, layout.catalog / name, f"catalog/{name}", known_paths)
    entries = parse_journal(snap.files.get(JOURNAL, b""))
    snap.journaled = len(entries)
    objects, manifests = ("objects",), ("manifests",)
    for entry in entries:
        for object_id, size in entry.get("objects", {}).items():
            wanted[object_id] = (int(size), objects)
        wanted[entry["manifest"]] = (int(entry["size"]), manifests)
    _add_objects(snap, wanted, known_paths)
    return snap


def _since(snap: Snapshot, vault: Vault, known: Set[str], sent: Sent) -> bool:
    """Fill ``snap`` from ``known`` and the journal's new lines; False if that is unsafe."""
    head = snap.files.get(HEAD)
    if (head is None) != (sent.head is None):
        return False
    if head is not None and sha256_hex(head) != sent.head:
        return False  # a fold or an erasure: files may have been dropped
    journal = snap.files.get(JOURNAL, b"")
    size = sent.journal_size
    if len(journal) < size or (size and journal[size - 1 : size] != b"\n"):
        return False
    view = memoryview(journal)
    digest = hashlib.sha256(view[:size])
    if digest.hexdigest() != sent.journal:
        return False  # rewritten, not appended to
    if JOURNAL in snap.files:
        digest.update(view[size:])
        snap._digests[JOURNAL] = digest.hexdigest()
    if head is not None and sent.head is not None:
        snap._digests[HEAD] = sent.head
        found = read_head(vault.layout.head)
        snap.head = found[0] if found else None
    snap.stored = dict.fromkeys(known, -1)  # on the remote already; sizes not needed
    entries = parse_journal(journal[size:])
    snap.journaled = sent.journaled + len(entries)
    wanted: dict[str, tuple[int, tuple[str, ...]]] = {}
    objects, manifests = ("objects",), ("manifests",)
    for entry in entries:
        for object_id, object_size in entry.get("objects", {}).items():
            wanted[object_id] = (int(object_size), objects)
        wanted[entry["manifest"]] = (int(entry["size"]), manifests)
    _add_objects(snap, wanted, known)
    return True


def _add_objects(
    snap: Snapshot, wanted: dict[str, tuple[int, tuple[str, ...]]], known: Set[str]
) -> None:
    # Most files are on the remote already (``known``): take those on trust
    # inline, and look up only the others (this loop runs once per object).
    stored = snap.stored
    for object_id, (size, stores) in wanted.items():
        rel = f"{stores[0]}/{object_id[:2]}/{object_id}"
        if rel in known:
            stored[rel] = size
        else:
            _add_object(snap, object_id, size, stores, known)


def _add_catalog_file(snap: Snapshot, local: Path, rel: str, known: Set[str]) -> None:
    try:
        snap.stored[rel] = local.stat().st_size
    except FileNotFoundError:
        if rel in known:
            snap.stored[rel] = -1  # on the remote already; size unknown here
        else:
            snap.missing.append(rel)


def _add_object(
    snap: Snapshot, object_id: str, size: int, stores: tuple[str, ...], known: Set[str]
) -> None:
    candidates = [object_path(store, object_id) for store in stores]
    for rel in candidates:
        if rel in known:
            snap.stored[rel] = size
            return
    for rel in candidates:
        try:
            actual = (snap.root / rel).stat().st_size
        except FileNotFoundError:
            continue
        if actual == size:
            snap.stored[rel] = size
            return
    snap.missing.append(candidates[0])


def require_complete(snap: Snapshot) -> None:
    if snap.missing:
        shown = ", ".join(p.rsplit("/", 1)[-1][:12] for p in snap.missing[:5])
        more = f" and {len(snap.missing) - 5} more" if len(snap.missing) > 5 else ""
        raise IntegrityError(
            f"{len(snap.missing)} files the vault needs are missing or damaged here "
            f"({shown}{more}); nothing was sent so the backup stays consistent",
            hint="run 'vault verify'; 'vault repair NAME' restores them from a backup",
        )


def stage(snap: Snapshot, names: Iterable[str], folder: Path) -> None:
    """Write the snapshot's copy of each top-level file in ``names`` into ``folder``."""
    for name in names:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(snap.files[name])
