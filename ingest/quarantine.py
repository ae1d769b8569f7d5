"""The quarantine folder: where inputs that cannot be stored are moved.

A file that could not be read is still a readable copy of a letter for
anyone who opens it in another program, so it is kept *encrypted* to the
vault's public key, as ``<name>.age`` (storing needs no secret; getting it
back, with ``vault quarantine export``, needs the passphrase). It is
encrypted into a temporary file in the quarantine, fsynced, given its name,
and only then is the source removed: a crash leaves the source, or both. A
symbolic link is moved as a link (it holds no content); a caller without
the vault's public key moves the file as it is.

Each quarantined file sits beside ``<name>.reason.txt``: the reason in plain
words, when, and the file's name (its full path only when asked to be
verbose); never any of the document's text.
The folder is private (0700), its files 0600, and it always lies outside the
vault folder, which must never hold plaintext. It is, in order: the
``--quarantine`` option, the ``quarantine_dir`` setting in the vault's
``config.json``, or ``quarantine`` beside the vault folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.relocate import candidate_names, move_aside, remove_source
from vault.copies import folder_files
from vault.display import escaped
from vault.errors import UsageError, VaultError
from vault.fsutil import (
    FILE_MODE,
    TEMP_PREFIX,
    atomic_write,
    fsync_dir,
    fsync_file,
    make_private_dir,
    private_temp_path,
    remove_quietly,
)

if TYPE_CHECKING:
    from pyrage import x25519

    from vault.repository import Vault

REASON_SUFFIX = ".reason.txt"
ENCRYPTED_SUFFIX = ".age"
CONFIG_KEY = "quarantine_dir"


def quarantine_folder(vault_root: Path, option: Path | None, config: Mapping[str, Any]) -> Path:
    """Where quarantined files go; refuses a folder inside the vault."""
    configured = config.get(CONFIG_KEY)
    if option is not None:
        chosen = option
    elif configured is not None:
        if not isinstance(configured, str) or not configured.strip():
            raise UsageError(f"the '{CONFIG_KEY}' setting in config.json must be a folder path")
        chosen = Path(configured)
    else:
        chosen = vault_root.expanduser().absolute().parent / "quarantine"
    folder = chosen.expanduser().resolve()
    ensure_outside_vault(folder, vault_root, "quarantine folder")
    return folder


def ensure_outside_vault(folder: Path, vault_root: Path, what: str) -> None:
    """Refuse ``folder`` if it is, or lies inside, the vault folder."""
    root = vault_root.expanduser().resolve()
    if folder == root or root in folder.parents:
        raise UsageError(
            f"the {what} {folder} is inside the vault folder",
            hint="the vault folder must hold only encrypted data; choose a folder outside it",
        )


@dataclass(frozen=True)
class Quarantine:
    folder: Path
    verbose: bool = False  # the reason file names the source by its full path

    def put(self, path: Path, reason: str, *, recipient: x25519.Recipient | None = None) -> Path:
        """Move ``path`` here beside its reason file, encrypted to ``recipient``
        if given (not a link); return where it went."""
        source = escaped(path.absolute() if self.verbose else path.name)
        if recipient is not None and not path.is_symlink():
            dest = encrypt_aside(path, self.folder, recipient)
            what_next = (
                "It is kept encrypted. To fix it, get it back with\n"
                f"  vault quarantine export {escaped(dest.name)} --out FOLDER\n"
                "then ingest the fixed or replaced file; or delete both files.\n"
            )
        else:
            dest = move_aside(path, self.folder, companions=(REASON_SUFFIX,))
            what_next = "Fix or replace the file and ingest it again, or delete it.\n"
        when = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
        note = f"Not stored in the vault: {reason}\nQuarantined: {when}\nFrom: {source}\n"
        note += what_next
        try:
            atomic_write(reason_file(dest), note.encode("utf-8"))
        except OSError as exc:
            raise VaultError(
                f"{path.name} was moved to the quarantine as {dest.name} but its reason "
                f"file cannot be written: {exc.strerror}"
            ) from exc
        return dest


def reason_file(quarantined: Path) -> Path:
    return quarantined.with_name(quarantined.name + REASON_SUFFIX)


def encrypt_aside(src: Path, folder: Path, recipient: x25519.Recipient) -> Path:
    """Encrypt ``src`` into ``folder`` as ``<name>.age`` under a free name
    (its reason file's name free too), then remove ``src``; return the new file."""
    from vault import crypto

    make_private_dir(folder)
    tmp = private_temp_path(folder)
    try:
        try:
            crypto.encrypt_file(src, tmp, [recipient])
            fsync_file(tmp)
        except OSError as exc:
            raise VaultError(
                f"cannot encrypt {src.name} into the quarantine: {exc.strerror}"
            ) from exc
        for name in candidate_names(src.name):
            dest = folder / (name + ENCRYPTED_SUFFIX)
            if reason_file(dest).exists():
                continue
            try:  # claim the name (never overwriting), then put the file there
                os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
            except FileExistsError:
                continue
            os.replace(tmp, dest)
            break
        else:
            raise VaultError(f"cannot move {src.name} to the quarantine: too many so named")
    finally:
        remove_quietly(tmp)
    fsync_dir(folder)
    remove_source(src, f"was encrypted into the quarantine as {dest.name}")
    return dest


def is_encrypted(quarantined: Path) -> bool:
    return quarantined.name.endswith(ENCRYPTED_SUFFIX)


def original_name(quarantined: Path) -> str:
    """The name a quarantined file had (without ``.age``)."""
    name = quarantined.name
    return name[: -len(ENCRYPTED_SUFFIX)] if is_encrypted(quarantined) else name


def quarantined(folder: Path) -> list[Path]:
    """Everything waiting in the quarantine (encrypted or not), without
    reason files and temporary files."""
    return [
        p
        for p in folder_files(folder, leave_out=REASON_SUFFIX)
        if not p.name.startswith(TEMP_PREFIX)
    ]


def quarantined_files(folder: Path) -> list[Path]:
    """The readable files in the quarantine: not encrypted, not links (a link
    holds no content of its own)."""
    return [p for p in quarantined(folder) if not is_encrypted(p) and not p.is_symlink()]


def find_quarantined(folder: Path, name: str) -> Path:
    """The quarantined file called ``name`` (with or without ``.age``)."""
    if not name or Path(name).name != name or name in (".", ".."):
        raise UsageError(f"{name!r} is not the name of a file in the quarantine")
    for candidate in (folder / name, folder / (name + ENCRYPTED_SUFFIX)):
        if candidate in quarantined(folder):
            return candidate
    raise UsageError(
        f"no file {name} in the quarantine", hint="'vault quarantine list' shows what is there"
    )


def reason_of(quarantined_file: Path) -> str:
    """Why the file was quarantined, from the first line of its reason file."""
    try:
        first = reason_file(quarantined_file).read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return "(no reason file)"
    return first.removeprefix("Not stored in the vault: ")


def export_quarantined(vault: Vault, src: Path, out: Path, *, force: bool = False) -> None:
    """Decrypt the encrypted quarantined file ``src`` to ``out`` (as an export:
    never beside ``out`` under another name, never over a file without ``force``)."""
    from vault import crypto
    from vault.outfile import place, work_file

    if not is_encrypted(src):
        raise UsageError(f"{src.name} is not encrypted: it can be read where it is, {src}")
    identity = vault.unlocked_key().identity
    with work_file(vault.layout.tmp, out) as plain:
        crypto.decrypt_file(src, plain, [identity])
        place(plain, out, force=force)
    vault.audit.append("export", [], source="quarantine")
