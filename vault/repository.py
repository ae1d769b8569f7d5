"""The vault: one folder holding keys, objects, manifests, catalog and audit log.

This is the library API the CLI calls. It needs no secret to store documents
(they are encrypted to the vault's public key and journaled); reading,
searching, exporting and folding the journal need the key, unlocked with the
passphrase or the emergency key.

Storing a document, locked or unlocked, is the same three steps: the
encrypted original and the encrypted manifest written, both made durable
(with the rest of their group: ``storing`` and ``group_commit``), and a
line in ``journal.log`` naming both, signed with this computer's
installation signing key (``signing.py``). Only then is the document *recorded*. An unlocked command
folds the journal into the catalog: it checks each entry (a manifest without
a MAC must carry a signature by the key the head names), checks fingerprints
(dropping duplicates), signs manifests that were written without the key, and
saves the snapshot. A fold replayed after a crash recognises what it folded,
and nothing the catalog or a journal names is ever deleted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyrage import x25519

from vault import anchor, clock, crypto, fold, key_register, retention, rotation, signing
from vault import family as families
from vault import journal as journals
from vault import keys as keyring
from vault import levels as access_levels
from vault import manifest as manifests
from vault.audit import AuditLog
from vault.config import Layout, read_config, write_config
from vault.errors import (
    IntegrityError,
    MissingSigningKeyError,
    NotFoundError,
    UsageError,
    VaultError,
    VaultExistsError,
    VaultNotFoundError,
    WrongKeyError,
)
from vault.export import export_document
from vault.fold import FoldResult
from vault.fsutil import (
    atomic_write,
    clean_stale_temps,
    make_private_dir,
    remove_orphan_workdirs,
)
from vault.group_commit import StoreGroup
from vault.head import (
    HEAD_MAC_HINT,
    Head,
    SaveContext,
    SnapshotError,
    checked_head,
    fill,
    is_authentic,
    open_database,
    read_head,
    read_index,
    save_catalog,
)
from vault.keys import DataKey, KeyPaths, NewKeys
from vault.levels import FULL, LevelKey
from vault.lock import VaultLock
from vault.manifest import Manifest
from vault.objects import BadObject, ObjectStore, hash_file
from vault.title import title_of

if TYPE_CHECKING:  # the catalog loads on first use: `vault status` never needs it
    from vault.batches import StoredBatch
    from vault.catalog import Catalog
    from vault.expected import Match
    from vault.rebuild import RebuildResult

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    """What storing one file did."""

    doc_id: str
    duplicate_of: str | None = None  # set when the same content was already in the vault
    doc_type: str | None = None  # what it was given (for a duplicate: the stored one's)
    family: str | None = None
    title: str | None = None


@dataclass
class VerifyResult:
    checked: int = 0
    bad: list[BadObject] = field(default_factory=list)
    unreferenced: int = 0

    @property
    def ok(self) -> bool:
        return not self.bad


def fingerprint_file(path: Path, key: bytes) -> str:
    """Keyed fingerprint (HMAC-SHA256) of a file's plaintext."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            mac.update(chunk)
    return mac.hexdigest()


def now_utc() -> str:
    return clock.stamp()


_UNSET: Any = object()
# The manifest's fields a correction may change (each kept in its history).
_CORRECTED = ("doc_type", "family", "fields", "title", "retention")


def _signers_of(head: Head, later: list[anchor.Copy]) -> frozenset[str] | None:
    """The signing keys an authenticated head trusts; None: a head from before them.

    ``later``: the authentic anchors. A head that names no key while an anchor
    names one is an old head put back (anchors came with signing keys): it
    must not make unsigned entries acceptable, so the anchor's key is trusted.
    """
    if head.signer is not None:
        return frozenset({head.signer})
    named = [copy for copy in later if copy.head.signer is not None]
    if not named:
        return None
    newest = max(named, key=lambda copy: copy.head.seq)
    assert newest.head.signer is not None
    return frozenset({newest.head.signer})


def check_new_vault_folder(root: Path) -> None:
    """Raise ``VaultExistsError`` unless a vault can be made at ``root``: a
    new or empty folder (``vault init`` asks this before asking anything)."""
    if Layout(root).config.exists():
        raise VaultExistsError(
            f"a vault already exists at {root}",
            hint="it is ready to use; to make another one in a new folder: "
            "'vault --vault NEW-FOLDER init'",
        )
    if root.exists() and any(root.iterdir()):
        raise VaultExistsError(
            f"{root} is not empty", hint="choose a new or empty folder for the vault"
        )


class Vault:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = Layout(root)
        self.key_paths = KeyPaths(self.layout.keys)
        self.objects = ObjectStore(self.layout.objects, self.layout.tmp)
        self.manifests = ObjectStore(self.layout.manifests, self.layout.tmp)
        self.audit = AuditLog(self.layout.audit)
        self.lock = VaultLock(self.layout.lock, on_acquire=self._clean_after_crash)
        self.config: dict[str, Any] = {}
        self.key: DataKey | None = None
        # keys/people.json could not be read or failed its MAC when this unlocked
        self.key_register_damaged = False
        self.by_emergency_key = False  # opened with the sealed emergency key
        self.key_label: str | None = None  # the label of the key that unlocked
        # unlocked with a key of an access level other than full (``vault.levels``):
        # its level's key; ``key`` (the data key) is then None
        self.level_key: LevelKey | None = None
        self._catalog: Catalog | None = None
        self._head: Head | None = None
        self._fresh: Path | None = None  # a database made again, current from the next save
        self._recipient: x25519.Recipient | None = None
        self.set_aside: list[tuple[str, str]] = []  # journal entries set aside by this process
        self._journal_signers: frozenset[str] | None = _UNSET
        self._own_signing_key: signing.SigningKey | None = None
        self._opening_fold = FoldResult()  # what opening the catalog folded in
        # (doc id, id of the document it copies) for duplicates folds dropped
        self.dropped_duplicates: list[tuple[str, str]] = []
        # expected post the folds of this process found had arrived (``vault.expected``)
        self.matched_expectations: list[Match] = []
        self._group: StoreGroup | None = None  # documents stored, not yet committed

    # --- lifecycle ----------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: Path,
        passphrase: str,
        *,
        centre_name: str | None = None,
        deliver_emergency_key: Callable[[NewKeys, dict[str, Any]], None],
    ) -> Vault:
        """Make a new vault at ``root`` and return it unlocked.

        ``deliver_emergency_key`` receives the new keys and the settings and
        must put the emergency key on paper (the sheet); if it fails, nothing
        of the new vault is left behind, since a vault whose emergency key was
        never delivered must not exist.
        """
        root = root.expanduser()
        check_new_vault_folder(root)
        keyring.check_passphrase(passphrase)
        existed = root.exists()
        make_private_dir(root)
        vault = cls(root)
        try:
            vault._create(passphrase, centre_name, deliver_emergency_key)
        except BaseException:
            vault.lock.release()
            if existed:
                for child in root.iterdir():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            else:
                shutil.rmtree(root, ignore_errors=True)
            raise
        return vault

    def _create(
        self,
        passphrase: str,
        centre_name: str | None,
        deliver_emergency_key: Callable[[NewKeys, dict[str, Any]], None],
    ) -> None:
        vault = self
        with vault.lock:
            new = keyring.create_keys(vault.key_paths, passphrase)
            vault.config = {
                "format": 1,
                "vault_id": keyring.vault_id_of(new.data.recipient),
                "created": now_utc(),
                "passphrase_changed": now_utc(),
                "centre_name": centre_name,
                "scrypt_work_factor": new.work_factor,
                "levels": access_levels.DEFAULT_LEVELS,
            }
            for directory in (vault.layout.objects, vault.layout.manifests, vault.layout.tmp):
                make_private_dir(directory)
            vault.key = new.data
            deliver_emergency_key(new, vault.config)
            signing.create(signing.key_path(vault.root))
            vault.audit.append("init")
            vault._catalog = vault.fresh_catalog()
            vault._save()
            anchor.record_recipient(vault.root, new.data.recipient)
            write_config(vault.layout, vault.config)  # written last: its presence means "ready"

    @classmethod
    def open(cls, root: Path) -> Vault:
        vault = cls(root.expanduser())
        vault.config = read_config(vault.layout)
        return vault

    def _clean_after_crash(self) -> None:
        """Remove temp files a killed writer left (called holding the lock)."""
        self.objects.open()
        if rotation.folder(self.root).is_dir():  # a key rotation's switch cut short: done first
            rotation.complete_switch(self.root)
            self.config = read_config(self.layout)
            self._recipient = None
        for folder in (self.root, self.layout.keys, self.layout.catalog):
            clean_stale_temps(folder, recursive=False)
        remove_orphan_workdirs()

    @property
    def vault_id(self) -> str:
        return str(self.config.get("vault_id", ""))

    @property
    def recipient(self) -> x25519.Recipient:
        """The vault's public key, refused unless it matches the vault id."""
        if self._recipient is None:
            recipient = keyring.read_recipient(self.key_paths)
            expected = str(self.config.get("data_key") or self.vault_id)
            if expected and keyring.vault_id_of(str(recipient)) != expected:
                raise IntegrityError(
                    "keys/data.pub is not this vault's public key (it does not match "
                    f"the vault id {self.vault_id}); nothing was stored",
                    hint="restore keys/data.pub from a backup ('vault repair NAME')",
                )
            anchor.check_recipient(self.root, str(recipient))
            self._recipient = recipient
        return self._recipient

    # --- unlocking -----------------------------------------------------------

    def unlock(self, passphrase: str, *, note_use: bool = True) -> None:
        """Unlock with the passphrase of any of the vault's keys (``key_register``),
        the most recently used tried first; the key's label is then named in
        every audit entry this command writes, and (``note_use``) today is
        recorded as the day that key was last used."""
        key, label = key_register.unlock_any_level(self.key_paths, self.config, passphrase)
        if isinstance(key, LevelKey):
            self._opened_at_level(key, label)
            return
        self.key = key
        anchor.record_recipient(self.root, key.recipient)  # proved by unlocking
        self._opened_by(label, note_use=note_use)

    @property
    def level(self) -> str:
        """The access level of the key that unlocked (``full`` for the data key)."""
        return self.level_key.name if self.level_key is not None else FULL

    def _opened_at_level(self, key: LevelKey, label: str | None) -> None:
        """Unlocked with a key of an access level: it reads that level's
        documents, nothing else (``_need_key`` refuses the rest)."""
        self.key = None
        self.level_key = key
        self.key_label = label
        self.audit.key_label = label
        self.audit.key_level = key.name
        if label and self.lock.held and not self.lock.read_only:
            with contextlib.suppress(OSError):  # costs only the record of the day
                key_register.note_level_use(self.key_paths, label)

    def _opened_by(self, label: str | None, *, note_use: bool = True) -> None:
        # No key of the register is labelled ``emergency`` (``check_new_label``).
        self.by_emergency_key = label == key_register.EMERGENCY
        self.key_label = label
        self.audit.key_label = label
        writable = self.lock.held and not self.lock.read_only
        try:
            register = key_register.load_register(self.key_paths, self.config, self._need_key())
            anchor.record_levels(self.root, register.levels)
        except IntegrityError:
            self.key_register_damaged = True  # the CLI warns; unlocking went on
            return
        except OSError:
            return
        if writable:  # the levels documents are granted to by type need their keys
            with contextlib.suppress(OSError):
                key_register.make_levels(
                    self.key_paths, self.config, self._need_key(), typed_only=True
                )
        if note_use and label and not self.by_emergency_key and writable:
            # A full disk or a keys folder that cannot be written costs only the
            # record of the day (the audit log still names the key).
            with contextlib.suppress(OSError):
                key_register.note_use(self.key_paths, self.config, self._need_key(), label)
        if writable:  # the days keys of an access level were used, noted meanwhile
            with contextlib.suppress(OSError):
                key_register.enter_level_use(self.key_paths, self.config, self._need_key())

    def unlock_with_emergency_key(self, secret: str, reason: str) -> None:
        if not reason.strip():
            raise UsageError("a reason is required when the emergency key is used")
        self.key = keyring.unlock_with_emergency_key(self.key_paths, secret)
        anchor.record_recipient(self.root, self.key.recipient)
        self._opened_by(key_register.EMERGENCY)
        self.audit.append("emergency-use", reason=reason.strip())

    def unlock_with_data_secret(self, secret: str, label: str | None = None) -> None:
        """Unlock with the data key itself, as ``vault unlock`` left it with the
        agent with the label of the key that opened it (``WrongKeyError``
        unless it opens this vault)."""
        try:
            key = keyring.unlock_with_data_secret(self.key_paths, secret)
        except WrongKeyError:
            level = key_register.open_level_key(self.key_paths, secret)
            if level is None:
                raise
            named = key_register.read_register(self.key_paths, self.config).find(label or "")
            if named is None or named.level != level.name:
                raise WrongKeyError(
                    f"the key '{label}' that unlocked this vault was removed since"
                ) from None
            self._opened_at_level(level, label)
            return
        if label and not key_register.still_named(self.key_paths, self.config, key, label):
            raise WrongKeyError(f"the key '{label}' that unlocked this vault was removed since")
        self.key = key
        anchor.record_recipient(self.root, self.key.recipient)
        self._opened_by(label)

    def change_passphrase(self, new_passphrase: str) -> str:
        """Give the key that unlocked (the coordinator's after the emergency key)
        a new passphrase; return its label."""
        label = self.key_label or key_register.COORDINATOR
        if self.by_emergency_key:
            label = key_register.COORDINATOR
        record = key_register.rewrap(
            self.key_paths, self.config, self._need_key(), label, new_passphrase
        )
        if label == key_register.COORDINATOR:
            self.config["passphrase_changed"] = record.passphrase_changed or now_utc()
            self.config["scrypt_work_factor"] = record.work_factor
            write_config(self.layout, self.config)
        self.audit.append("passwd")
        return label

    def adopt_rotated_key(self, key: DataKey) -> None:
        """After a key rotation's switch (``vault.rotation``): go on with the new
        key, the catalog and settings read again."""
        self.forget_catalog()
        self._recipient = None
        self.config = read_config(self.layout)
        self.key = key
        anchor.record_recipient(self.root, key.recipient)

    def forget_catalog(self) -> None:
        """Close the catalog; the next use opens it again (as others may have
        changed it meanwhile, while this process let go of the lock)."""
        if self._catalog is not None:
            self._catalog.conn.close()
        self._catalog, self._head = None, None
        self._journal_signers = _UNSET

    def signing_public(self) -> str:
        """The public half of this computer's signing key (made when missing)."""
        return self._signing_key().public

    def unlocked_key(self) -> DataKey:
        """The data key; ``UsageError`` when the vault is not unlocked."""
        return self._need_key()

    def _need_key(self) -> DataKey:
        if self.key is None:
            if self.level_key is not None:
                raise key_register.level_refusal(self.key_label or "?", self.level_key.name)
            raise UsageError("this needs the vault to be unlocked")
        return self.key

    # --- storing ------------------------------------------------------------

    def duplicate_of(self, path: Path) -> str | None:
        """The id of a stored document with the same content, when unlocked
        (without the key duplicates can only be found later, at folding)."""
        if self.key is None:
            return None
        return self.catalog.by_fingerprint(fingerprint_file(path, self.key.fingerprint_key))

    @contextlib.contextmanager
    def storing(self) -> Iterator[StoreGroup]:
        """Store documents as one group (``group_commit``): each ``store_file``
        inside writes its files without an fsync of its own, and
        ``group.commit()`` makes them all durable and journals them together
        (returning their ids). Leaving the block commits what is left, also
        when an error ends it (what was stored before the error stays
        stored; an error of that commit is then not raised over the first).
        Nested, the outer group is used."""
        if self._group is not None:
            yield self._group
            return
        group = StoreGroup(self._journal_path, self.audit)
        self._group = group
        try:
            try:
                yield group
            except BaseException:
                with contextlib.suppress(Exception):
                    group.commit()
                raise
            group.commit()
        finally:
            self._group = None

    def store_file(
        self,
        path: Path,
        *,
        name: str,
        media_type: str,
        doc_type: str = "other",
        family: str | None = None,
        text: list[str] | None = None,
        pages: int | None = None,
        fields: dict[str, Any] | None = None,
        searchable: Path | None = None,
        attachments: list[str] | None = None,
        batch: StoredBatch | None = None,
        levels: Sequence[str] = (),
    ) -> Stored:
        """Encrypt a document and its manifest and record them in the journal.

        Outside ``storing``, it returns once the document is durable and
        recorded; inside, once it is written (recorded at the group's commit).
        When unlocked, a document whose content is already in the vault is not
        stored again and ``duplicate_of`` names the existing one. ``batch``:
        the document is pages of a batch scan (``vault.batches``);
        its manifest and journal line name the batch's object too.
        ``attachments``: an e-mail's, the ids of documents stored before it.
        ``levels``: the access levels it is granted to besides those its type
        gives (``vault.levels``): its files are encrypted to their keys too.
        """
        fingerprint = None
        if self.key is not None:
            fingerprint = fingerprint_file(path, self.key.fingerprint_key)
            existing = self.catalog.by_fingerprint(fingerprint)
            if existing is not None:
                return self.stored_as(existing)
        granted = access_levels.granted(self.config, doc_type, levels)
        with self.storing() as group:
            if "recipients" not in group.cache:  # the same for the whole group (under the lock)
                group.cache["recipients"] = [self.recipient]
                group.cache["entry_key"] = self._entry_key()
            recipients = group.cache["recipients"]
            if granted:  # and the keys of the access levels it is granted to
                wanted = "levels:" + ",".join(granted)
                if wanted not in group.cache:
                    keys = self.level_recipients(granted)
                    group.cache[wanted] = [*recipients, *map(crypto.parse_recipient, keys)]
                recipients = group.cache[wanted]
            pending = group.files
            original = self.objects.put_file(path, recipients, pending=pending)
            stored = original.objects
            searchable_id = None
            if searchable is not None:
                pdf = self.objects.put_file(searchable, recipients, pending=pending)
                stored.update(pdf.objects)
                searchable_id = pdf.id
            if batch is not None:
                stored.update(batch.objects)
            received = now_utc()
            doc = Manifest(
                doc_id=manifests.new_document_id(),
                original=original.id,
                name=name,
                media_type=media_type,
                size=path.stat().st_size,
                received=received,
                retention=retention.retention_date(doc_type, received, self.config),
                pages=pages,
                doc_type=doc_type,
                family=families.normalise(family) if family is not None else None,
                text=text or [],
                fields=fields or {},
                searchable=searchable_id,
                attachments=list(attachments or []),
                batch=None if batch is None else batch.record(),
                levels=granted,
            )
            doc = replace(doc, title=title_of(doc))
            if self.key is not None and fingerprint is not None:
                data = doc.signed(fingerprint, self.key.mac)
            else:
                data = doc.to_json()
            record = self.manifests.put_bytes(data, recipients, pending=pending)
            entry = journals.new_entry(
                record.id,
                record.size,
                stored,
                signed=self.key is not None,
                key=group.cache["entry_key"],
            )
            group.add(doc.doc_id, entry, [doc.doc_id, *original.objects])
        return Stored(doc.doc_id, doc_type=doc.doc_type, family=doc.family, title=doc.title)

    def recipients_of(self, levels: Sequence[str]) -> list[x25519.Recipient]:
        """What a document's files are encrypted to: the data key, and the key
        of each access level it is granted to (``level_recipients``)."""
        return [self.recipient, *map(crypto.parse_recipient, self.level_recipients(levels))]

    def level_recipients(self, names: Sequence[str]) -> list[str]:
        """The public keys of access levels ``names``, checked: against the
        register (a full key unlocked) or the keys noted outside the vault
        folder (``anchor.check_level``); ``UsageError`` for a level with no key."""
        if not names:
            return []
        found = access_levels.recipients(self.key_paths, names)
        listed: dict[str, str] | None = None
        if self.key is not None:
            listed = key_register.load_register(self.key_paths, self.config, self.key).levels
        for name, recipient in zip(names, found, strict=True):
            if listed is not None and listed.get(name) != recipient:
                raise IntegrityError(
                    f"keys/levels/{name}.pub is not the key the list of keys names for the "
                    f"access level '{name}'; nothing was stored",
                    hint="restore the keys folder from a backup ('vault repair NAME')",
                )
            anchor.check_level(self.root, name, recipient)
        return found

    def stored_as(self, existing: str) -> Stored:
        """What storing a copy of document ``existing`` did: nothing new."""
        row = self.catalog.get(existing) or {}
        return Stored(
            existing,
            duplicate_of=existing,
            doc_type=row.get("doc_type"),
            family=row.get("family"),
            title=row.get("title"),
        )

    @property
    def _journal_path(self) -> Path:
        return self.layout.root / journals.JOURNAL

    @property
    def _set_aside_path(self) -> Path:
        return self.layout.root / journals.SET_ASIDE

    def _entry_key(self) -> signing.SigningKey | None:
        """The key that signs a new journal entry.

        Unlocked, the manifest carries a MAC; the entry is signed too (the key
        is made if missing: this save names it in the head). Without the key,
        the entry must be signed by the key the head names, or the next fold
        would set it aside; only a head from before signing keys asks none.
        """
        if self.key is not None:
            return self._signing_key()
        key = signing.load(signing.key_path(self.root))
        found = read_head(self.layout.head)
        named = found[0].signer if found else None
        if named is None:  # no head, or one from before signing keys: ask its copies
            copies = anchor.copies(self.root, self.vault_id, self.layout.head)
            signed = [c for c in copies if c.head.signer is not None]
            named = max(signed, key=lambda c: c.head.seq).head.signer if signed else None
        if named is not None and (key is None or key.public != named):
            raise MissingSigningKeyError(
                "this computer's signing key is missing or is not the one the vault "
                "names, so documents stored without the passphrase could not be "
                "authenticated; nothing was stored",
                hint="run a command that unlocks the vault (say 'vault list', or "
                "'vault rebuild-catalog' when head.json is gone) to make a new one",
            )
        return key

    def _signing_key(self) -> signing.SigningKey:
        """This computer's signing key, made when missing or damaged (unlocked only).

        A key in local/ other than the one the authentic head (or, without
        one, the newest authentic anchor) names is not adopted: nothing but
        this function writes that file, and it names what it writes in the
        head at once, so such a key was put there by someone else. A new one
        is made instead (once per process: what it signs, the head names).
        """
        if self._own_signing_key is not None:
            return self._own_signing_key
        data_key = self._need_key()
        path = signing.key_path(self.root)
        try:
            key = signing.load(path)
        except IntegrityError:
            key = None
        named = self._named_signer(data_key) if key is not None else None
        if key is not None and named is not None and key.public != named:
            key = None
        self._own_signing_key = key if key is not None else signing.create(path)
        return self._own_signing_key

    def _named_signer(self, key: DataKey) -> str | None:
        """The signing key the authentic head names, else the newest authentic
        anchor; None when neither names one (a vault from before them)."""
        if self._head is not None and self._head.signer is not None:
            return self._head.signer
        if self._head is None:
            try:
                found = read_head(self.layout.head)
            except IntegrityError:
                found = None
            head = found[0] if found is not None and is_authentic(*found, key) else None
            if head is not None and head.signer is not None:
                return head.signer
        named = [c for c in self._anchors(key) if c.head.signer is not None]
        return max(named, key=lambda c: c.head.seq).head.signer if named else None

    def journal_entries(self) -> list[dict[str, Any]]:
        return journals.read(self._journal_path).records

    def journal_damage(self) -> int:
        """Damaged stretches of the journal (text that is no whole entry)."""
        return len(journals.read(self._journal_path).damaged)

    def set_aside_entries(self) -> list[dict[str, Any]]:
        return journals.read_set_aside(self._set_aside_path)

    # --- the catalog -----------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The catalog, opened (and the journal folded in) on first use."""
        if self._catalog is None and self.level_key is not None:
            self._catalog = self._level_catalog(self.level_key)
        if self._catalog is None:
            key = self._need_key()
            if anchor.head_missing(self.layout.head):
                anchor.check_present(
                    self.root, self.vault_id, self.layout.head, any(self.manifests.ids())
                )
            try:
                self._catalog, self._head = self._open_catalog(key)
                self._journal_signers = _signers_of(self._head, self._anchors(key))
            except SnapshotError:  # under an authentic head (or none in an empty vault)
                found = read_head(self.layout.head)
                if found is not None:
                    anchor.check_not_older(self.root, self.vault_id, found[0], key)
                self.rebuild_catalog()
            else:
                anchor.check_not_older(self.root, self.vault_id, self._head, key)
            if not self.lock.read_only:  # a read-only vault is read as it is
                self._opening_fold = fold.fold_journal(self)
                local = self._signing_key().public
                if self._head is None or self._head.signer != local:
                    self._save()  # name this computer's signing key (first use, or a new key)
        assert self._catalog is not None
        return self._catalog

    def _level_catalog(self, key: LevelKey) -> Catalog:
        """The catalog of the access level that unlocked: the documents granted
        to it and nothing else (``vault.level_catalog``)."""
        from vault import level_catalog

        found = read_head(self.layout.head)
        entry = found[0].level(key.name) if found is not None else None
        local = signing.load(signing.key_path(self.root))
        aside = {str(e.get("manifest")) for e in self.set_aside_entries() if journals.is_entry(e)}
        entries = [e for e in self.journal_entries() if e["manifest"] not in aside]

        def manifest_bytes(manifest_id: str) -> bytes | None:
            try:
                return self.manifests.check(manifest_id).read_bytes()
            except (IntegrityError, NotFoundError):
                return None

        return level_catalog.open_level(
            self.layout.catalog,
            entry,
            key,
            self.vault_id,
            entries,
            local.public if local is not None else None,
            manifest_bytes,
        )

    def _open_catalog(self, key: DataKey) -> tuple[Catalog, Head]:
        """This computer's catalog database, or, when there is none (a new
        computer, a damaged file), one made from the files the head names."""
        from vault import catalog_db

        head = checked_head(self.layout.head, key)
        read_only = self.lock.read_only
        catalog = open_database(
            self.layout.local, key, head, read_only=read_only, immutable=read_only
        )
        if catalog is not None:
            return catalog, head
        catalog = self.fresh_catalog()
        try:
            fill(catalog, self.layout.catalog, head, key, self.vault_id, self.manifest_texts(key))
        except BaseException:
            self._drop_fresh(catalog)
            raise
        if self._fresh is not None:
            catalog_db.make_current(self.layout.local, self._fresh)
            self._fresh = None
        return catalog, head

    def fresh_catalog(self) -> Catalog:
        """An empty catalog in a new database file, which becomes this
        computer's catalog at the next save (in memory on a read-only vault)."""
        from vault import catalog_db
        from vault.catalog import Catalog

        if self.lock.read_only:
            return Catalog.opened(catalog_db.in_memory())
        self._fresh = catalog_db.fresh(self.layout.local)
        key = self._need_key()
        return Catalog.opened(catalog_db.open_database(self._fresh, key.catalog_key))

    def _drop_fresh(self, catalog: Catalog) -> None:
        from vault import catalog_db

        catalog.conn.close()
        if self._fresh is not None:
            catalog_db.remove_database(self._fresh)
            self._fresh = None

    def _make_fresh_current(self) -> None:
        from vault import catalog_db

        if self._fresh is not None:
            catalog_db.make_current(self.layout.local, self._fresh)
            self._fresh = None

    def _note_journal_signers(self) -> None:
        """Before anything is saved: whose journal entries the fold accepts.

        The authenticated head's signing key; a head from before signing keys
        accepts unsigned entries once (they were written on this computer
        before it had a key). Without an authentic head, only this computer's
        key is trusted.
        """
        if self._journal_signers is not _UNSET:
            return
        key = self._need_key()
        try:
            found = read_head(self.layout.head)
            if found is not None:
                key.check_mac(found[0].body(), found[1], "the vault head")
                self._journal_signers = _signers_of(found[0], self._anchors(key))
                return
        except IntegrityError:
            pass
        named = [c for c in self._anchors(key) if c.head.signer is not None]
        if named:  # the key the last authentic save named, not whatever is in local/
            newest = max(named, key=lambda c: c.head.seq).head.signer
            self._journal_signers = frozenset({newest} if newest else ())
            return
        local = signing.load(signing.key_path(self.root))
        self._journal_signers = frozenset({local.public} if local else ())

    def _anchors(self, key: DataKey) -> list[anchor.Copy]:
        """The authentic anchors of the head (``vault.anchor``)."""
        found = anchor.copies(self.root, self.vault_id, self.layout.head)
        return [
            c for c in found if c.where != self.layout.head and is_authentic(c.head, c.mac, key)
        ]

    def accepts(self, entry: dict[str, Any]) -> bool:
        """Whether the fold trusts a journal entry whose manifest has no MAC."""
        self._note_journal_signers()
        signers = self._journal_signers
        if signers is None:
            return True  # a vault from before signing keys: see _note_journal_signers
        assert isinstance(signers, frozenset)
        return any(journals.check_entry(entry, signer) for signer in signers)

    @property
    def legacy_journal(self) -> bool:
        """Whether the journal was written before this vault had a signing key."""
        self._note_journal_signers()
        return self._journal_signers is None

    def fold_journal(self) -> FoldResult:
        """Bring journaled documents into the catalog (``vault.fold``)."""
        if self._catalog is None:
            self.catalog  # noqa: B018 - opening the catalog folds the journal in
            return self._opening_fold
        return fold.fold_journal(self)

    def record_set_aside(self, entry: dict[str, Any], reason: str) -> None:
        journals.set_aside(self._set_aside_path, entry, reason)
        self.set_aside.append((str(entry.get("manifest", "damaged line")), reason))

    def empty_journal(self) -> None:
        atomic_write(self._journal_path, b"")

    def save_catalog(self, *, compact: bool = False) -> None:
        """Save the open catalog under a new head (needs the key); ``compact``:
        as a new base, with no deltas (``vault.chain``)."""
        self._save(compact=compact)

    def referenced(self) -> set[str]:
        """Every object id the catalog, the head's index, the journal or the
        set-aside entries name: never to be deleted."""
        named: set[str] = set()
        if self._catalog is not None:
            named |= self._catalog.object_ids() | self._catalog.manifest_ids()
        found = read_head(self.layout.head)
        if found is not None:
            named |= set(read_index(self.layout.catalog, found[0]))
        aside = [e for e in self.set_aside_entries() if journals.is_entry(e)]
        for entry in [*self.journal_entries(), *aside]:
            named |= set(entry["objects"])
            named.add(entry["manifest"])
        return named

    def drop_unreferenced(self, object_ids: list[str]) -> None:
        """Remove these objects, but none that anything names (``referenced``)."""
        if not object_ids:
            return
        named = self.referenced()
        for object_id in object_ids:
            if object_id not in named:
                self._drop(object_id)

    def _drop(self, object_id: str) -> None:
        for store in (self.objects, self.manifests):
            if store.exists(object_id):
                store.remove(object_id)

    def _save(self, *, compact: bool = False) -> None:
        key = self._need_key()
        assert self._catalog is not None
        ctx = SaveContext(
            snapshots=self.layout.catalog,
            head_path=self.layout.head,
            key=key,
            vault_id=self.vault_id,
            audit_tip=self.audit.tip(),
            signer=self._signing_key().public,
            sizes=self.file_sizes(),
            texts=self._texts_for_saving(key),
            levels=self.level_keys(),
        )
        self._head = save_catalog(
            ctx,
            self._catalog,
            self._head,
            self._head.seq if self._head else self._stored_seq(key),
            compact=compact,
            before_head=self._make_fresh_current,
        )
        anchor.record(self.root, self.vault_id, self._head, key)

    def level_keys(self) -> dict[str, LevelKey]:
        """Each access level's key, opened with the data key (``vault.levels``).

        A level whose key cannot be checked (the list of keys damaged, a key
        file missing or altered) is left out: a save then writes no catalog
        for it, so its keys see nothing rather than a catalog out of date
        (a document erased or taken back meanwhile); 'vault verify' and the
        warnings name the damage, and a save after the repair writes it."""
        key = self._need_key()
        try:
            listed = key_register.load_register(self.key_paths, self.config, key).levels
        except (IntegrityError, OSError):
            return {}
        found = {}
        for name, recipient in listed.items():
            try:
                found[name] = access_levels.open_level(
                    self.key_paths, name, key.identity, recipient
                )
            except (IntegrityError, WrongKeyError, OSError):
                continue
        return found

    def reading_identity(self) -> x25519.Identity:
        """The key documents are decrypted with: the data key, or the key of the
        access level that unlocked (which opens only that level's documents)."""
        if self.level_key is not None:
            return self.level_key.identity
        return self._need_key().identity

    def manifest_texts(self, key: DataKey) -> Callable[[str], list[str] | None]:
        """The page text of a manifest here, by id (``vault.chain``): None when
        it is not here; ``IntegrityError`` when it fails its hash or MAC."""

        def text(manifest_id: str) -> list[str] | None:
            if not self.manifests.exists(manifest_id):
                return None
            data = self.manifests.get_bytes(manifest_id, [key.identity])
            return list(manifests.parse(data, check_mac=key.check_mac)[0].text)

        return text

    def _texts_for_saving(self, key: DataKey) -> Callable[[str], list[str] | None]:
        """``manifest_texts``, None for a manifest that cannot be read (a delta
        then keeps the document's text)."""
        read = self.manifest_texts(key)

        def text(manifest_id: str) -> list[str] | None:
            try:
                return read(manifest_id)
            except (VaultError, OSError):
                return None

        return text

    def file_sizes(self) -> Callable[[str], int]:
        """The size of an object or manifest file: as it is here, else as the
        head's index recorded it (a file missing here: 'vault verify' names it
        and 'vault repair' brings it back)."""
        known: dict[str, int] | None = None

        def size(object_id: str) -> int:
            nonlocal known
            for store in (self.objects, self.manifests):
                try:
                    return store.path(object_id).stat().st_size
                except FileNotFoundError:
                    continue
            known = self.indexed_sizes() if known is None else known
            if object_id not in known:
                raise FileNotFoundError(
                    errno.ENOENT, "a file the catalog names is missing", object_id[:12]
                )
            return known[object_id]

        return size

    def indexed_sizes(self) -> dict[str, int]:
        """The object sizes the current head's index records (none if unreadable)."""
        try:
            found = read_head(self.layout.head)
            return read_index(self.layout.catalog, found[0]) if found else {}
        except (IntegrityError, ValueError, OSError):
            return {}

    def _stored_seq(self, key: DataKey) -> int:
        """The highest authentic state number of head.json and its anchors."""
        found = anchor.highest(anchor.copies(self.root, self.vault_id, self.layout.head), key)
        return found.head.seq if found else 0

    def rebuild_catalog(self, progress: Callable[[int, int], None] | None = None) -> RebuildResult:
        """Rebuild the catalog from the signed manifests (``vault.rebuild``)."""
        from vault.rebuild import rebuild_catalog

        self._note_journal_signers()  # before the rebuilt catalog is saved
        return rebuild_catalog(self, progress)

    def adopt_catalog(self, catalog: Catalog) -> None:
        """Make ``catalog`` (rebuilt, from ``fresh_catalog``) the vault's and
        save it under a new head, as a new base."""
        if self._catalog is not None and self._catalog is not catalog:
            self._catalog.conn.close()
        self._catalog, self._head = catalog, None
        self._save()

    # --- reading ------------------------------------------------------------

    def documents(self) -> Iterator[dict[str, Any]]:
        return self.catalog.documents()

    def document(self, doc_id: str) -> dict[str, Any]:
        wanted = manifests.normalise_document_id(doc_id)
        row = self.catalog.get(wanted)
        if row is not None:
            return row
        copy_of = self.catalog.duplicate_of(wanted)
        if copy_of is not None:
            raise NotFoundError(
                f"{wanted} was a duplicate of {copy_of} (the same file stored twice) "
                "and was not kept",
                hint=f"the document is {copy_of}: 'vault show {copy_of}'",
            )
        near = manifests.near_ids(wanted, self.catalog.ids())
        hint = f"did you mean {' or '.join(near[:3])}?" if near else "'vault list' shows ids"
        raise NotFoundError(f"no document {wanted} in this vault", hint=hint)

    def text(self, doc_id: str) -> list[str]:
        return self.catalog.pages(self.document(doc_id)["id"])

    def export(
        self,
        doc_id: str,
        out: Path,
        *,
        version: str = "original",
        force: bool = False,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Decrypt a document to ``out`` (``vault.export``)."""
        return export_document(self, doc_id, out, version=version, force=force, reason=reason)

    def edit(
        self,
        doc_id: str,
        *,
        doc_type: str | None = None,
        family: str | None = None,
        clear_family: bool = False,
        fields: dict[str, Any] | None = None,
        title: str | None = None,
        keep_until: str | None = None,
    ) -> dict[str, Any]:
        """Correct a document's type, family reference, fields, title or
        retention date (``keep_until``, YYYY-MM-DD; a new type gives the date
        its type's years give, ``vault.retention``, unless one is given or
        the date was set by hand before).

        A title made from the content follows a change of type or fields; one
        typed with ``title`` stays as typed (an empty one: made again).
        Writes a new signed manifest (manifests are write-once), updates the
        catalog and removes the old manifest; the original is untouched.
        """
        key = self._need_key()
        row = self.document(doc_id)
        data = self.manifests.get_bytes(row["manifest"], [key.identity])
        doc, signed = manifests.parse(data, check_mac=key.check_mac)
        if not signed or doc.fingerprint is None:
            raise IntegrityError(f"the manifest of {row['id']} is not verified")
        changes: dict[str, Any] = {}
        if doc_type is not None:
            changes["doc_type"] = doc_type
        if clear_family:
            changes["family"] = None
        elif family is not None:
            changes["family"] = families.normalise(family)
        if fields:
            merged = dict(doc.fields)
            for name, value in fields.items():
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
            changes["fields"] = merged
        if title is not None:
            changes["title"] = " ".join(title.split()) or None
        if keep_until is not None:
            changes["retention"] = keep_until
        elif doc_type is not None and doc_type != doc.doc_type and not _set_by_hand(doc.history):
            changes["retention"] = retention.retention_date(doc_type, doc.received, self.config)
        if not changes:
            raise UsageError(
                "nothing to change", hint="give --type, --family, --field, --title or --retention"
            )
        updated = replace(doc, **changes, revision=doc.revision + 1)
        if "title" not in changes and doc.title in (None, title_of(replace(doc, title=None))):
            updated = replace(updated, title=None)  # made from the content: made again
        updated = replace(updated, title=title_of(updated))
        correction = {
            "time": now_utc(),
            "key": self.key_label,
            "changed": {
                name: [getattr(doc, name), getattr(updated, name)]
                for name in _CORRECTED
                if getattr(doc, name) != getattr(updated, name)
            },
        }
        if not correction["changed"]:
            return row  # every value given is the one it has: nothing to record
        updated = replace(updated, history=[*doc.history, correction])
        record = self.manifests.put_bytes(
            updated.signed(doc.fingerprint, key.mac), self.recipients_of(updated.levels)
        )
        self.catalog.add(updated, record.id)
        self.audit.append("edit", [row["id"]], changed=sorted(changes))
        self._save()
        if record.id != row["manifest"]:
            self.drop_unreferenced([row["manifest"]])
        return self.document(row["id"])

    def history(self, doc_id: str) -> list[dict[str, Any]]:
        """Each correction of a document (``vault edit``), oldest first: when,
        the key that made it, each field before and after (from its manifest)."""
        key = self._need_key()
        row = self.document(doc_id)
        data = self.manifests.get_bytes(row["manifest"], [key.identity])
        return list(manifests.parse(data, check_mac=key.check_mac)[0].history)

    # --- checks ------------------------------------------------------------------

    def expected_objects(self) -> dict[str, int]:
        """Every object the head and the journal name, with sizes (no key needed)."""
        expected: dict[str, int] = {}
        found = read_head(self.layout.head)
        if found is None:  # head.json is gone: what its last copy named (see verify)
            copy = anchor.highest(anchor.copies(self.root, self.vault_id, self.layout.head), None)
            found = (copy.head, copy.mac) if copy else None
        if found is not None:
            expected.update(read_index(self.layout.catalog, found[0]))
        for entry in self.journal_entries():
            expected.update(entry["objects"])
            expected[entry["manifest"]] = entry["size"]
        return expected

    def verify(self, progress: Callable[[str], None] | None = None) -> VerifyResult:
        """Re-hash every object and manifest; report corrupt and missing ones
        (and every key file the key register names, ``key_register``)."""
        expected = self.expected_objects()
        kept: set[str] = set()  # files of set-aside entries: kept on purpose, not left by a crash
        for entry in self.set_aside_entries():
            if journals.is_entry(entry):
                kept |= {entry["manifest"], *entry["objects"]}
        result = VerifyResult()
        seen: set[str] = set()
        for store in (self.objects, self.manifests):
            for object_id, problem in store.verify():
                result.checked += 1
                seen.add(object_id)
                if progress:
                    progress(object_id)
                if problem:
                    result.bad.append(problem)
                elif object_id not in expected and object_id not in kept:
                    result.unreferenced += 1
        for object_id in sorted(set(expected) - seen):
            result.bad.append(BadObject(object_id, "missing"))
        self._verify_chain(result)
        try:
            anchor.check_present(self.root, self.vault_id, self.layout.head, bool(seen))
        except IntegrityError:
            result.bad.append(BadObject(self.layout.head.name, "missing"))
        for rel, damage in key_register.damaged_files(self.key_paths, self.config):
            result.checked += 1
            result.bad.append(BadObject(rel, damage))
        self.audit.append("verify", [b.id for b in result.bad], ok=result.ok)
        return result

    def _verify_chain(self, result: VerifyResult) -> None:
        """Re-hash the catalog files the head names (``vault.chain``): what a
        sync sends and a recovery reads."""
        found = read_head(self.layout.head)
        if found is None:
            return
        for name in found[0].catalog_files():
            if not name.endswith(".age"):
                continue  # the object indexes were checked by expected_objects
            result.checked += 1
            try:
                digest = hash_file(self.layout.catalog / name)
            except FileNotFoundError:
                result.bad.append(BadObject(f"catalog/{name}", "missing"))
                continue
            if digest != name.removesuffix(".age"):
                result.bad.append(BadObject(f"catalog/{name}", "corrupt"))

    def audit_anchor(self) -> tuple[int, str] | None:
        """The audit tip of the newest head record (head.json or an anchor),
        so that deleting head.json does not hide entries cut off the log."""
        found = read_head(self.layout.head)
        if found is not None and self.key is not None:
            self.key.check_mac(found[0].body(), found[1], "the vault head", hint=HEAD_MAC_HINT)
        best = anchor.highest(anchor.copies(self.root, self.vault_id, self.layout.head), self.key)
        return best.head.audit if best else None

    def head(self) -> Head | None:
        found = read_head(self.layout.head)
        return found[0] if found else None


def _set_by_hand(history: list[dict[str, Any]]) -> bool:
    """Whether the last correction of the retention date was one by hand
    (``--retention``), not one that followed a change of type."""
    for correction in reversed(history):
        changed = correction.get("changed", {})
        if "retention" in changed:
            return "doc_type" not in changed
    return False


def require_vault(root: Path) -> None:
    if not Layout(root).config.exists():
        raise VaultNotFoundError(
            f"no vault at {root}",
            hint="run 'vault init' to make one, or pass --vault DIR (or set VAULT_DIR)",
        )
