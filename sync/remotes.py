"""The vault's remotes: names for rclone paths, kept in ``config.json``.

``config.json`` key ``"remotes"`` maps a short name to an rclone path: any
backend (``offsite:bucket/vault``) or a local folder (``/mnt/usb/vault``,
made absolute when added). A path that is the vault folder itself, or
inside it, or holds it, is refused, however it is spelt: through a symbolic
link, or as rclone's ``:local:PATH``; ``vault sync`` checks again, and asks
rclone where a named remote of the local type really points, before it
writes anything. Only the path is kept: credentials belong to
rclone's own configuration or its ``RCLONE_CONFIG_<REMOTE>_*`` environment
variables, so a path carrying connection-string parameters
(``:s3,secret_access_key=…:``) is refused. Settings are changed under the
vault lock.

A local folder must exist when it is added (``--create`` makes it) and is
marked then as this vault's backup (see ``marker.py``), so that an unplugged
disk is never mistaken for an empty backup.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from vault.config import read_config, write_config
from vault.errors import NotFoundError, UsageError
from vault.repository import Vault

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_LOCAL_BACKEND = re.compile(r"^:local(,[^:]*)?:(.*)$", re.DOTALL)  # rclone's :local:PATH
CONFIG_KEY = "remotes"


def remotes(config: dict[str, Any]) -> dict[str, str]:
    """Name -> rclone path, as configured."""
    found = config.get(CONFIG_KEY) or {}
    return {str(name): str(path) for name, path in found.items()}


def is_local(path: str) -> bool:
    """True when rclone would read ``path`` as a local folder."""
    if _DRIVE.match(path) or path.startswith(("/", ".", "~", "\\")):
        return True
    return ":" not in path


def local_folder(path: str) -> Path | None:
    """The local folder ``path`` names when rclone reads it as one (a plain
    path or ``:local:PATH``), made absolute; else None."""
    backend = _LOCAL_BACKEND.match(path)
    if backend is not None:
        path = backend.group(2) or "."
    elif not is_local(path):
        return None
    return Path(os.path.expanduser(path)).absolute()


def refuse_vault_folder(folder: Path, vault_root: Path) -> None:
    """Refuse a backup folder that is the vault, or inside it, or holds it,
    once symbolic links are followed (as far as the folders exist)."""
    spelt, root = folder.absolute(), vault_root.expanduser().absolute()
    for local, vault in ((spelt, root), (spelt.resolve(), root.resolve())):
        if local == vault or vault in local.parents or local in vault.parents:
            raise UsageError(
                f"{spelt} overlaps the vault folder",
                hint="a backup must be outside the vault folder (another disk, or the cloud)",
            )


def normalise_path(path: str, vault_root: Path) -> str:
    """Check a remote path and make a local one absolute."""
    path = path.strip()
    if not path:
        raise UsageError("the remote path is empty")
    if path.startswith("-"):
        raise UsageError(f"a remote path cannot start with '-': {path!r}")
    if "\n" in path or "\r" in path:
        raise UsageError("a remote path cannot contain a line break")
    local = local_folder(path)
    if local is not None:
        refuse_vault_folder(local, vault_root)
        if is_local(path):
            return str(local)
    remote_part = path.split(":", 2)[:2]
    has_settings = path.startswith(":") or "," in remote_part[0]
    if has_settings and "=" in ":".join(remote_part):
        raise UsageError(
            "the remote path carries settings; credentials must not go in the vault's files",
            hint="set the remote up with 'rclone config' or RCLONE_CONFIG_<NAME>_* "
            "variables, then use NAME:path",
        )
    return path


def add_remote(vault: Vault, name: str, path: str, *, create: bool = False) -> str:
    """Add remote ``name``; return the path as stored. Hold the vault lock.

    A local folder must exist (``create``: make it, inside a folder that
    exists) and is marked as this vault's backup (``sync.marker``)."""
    if not _NAME.match(name):
        raise UsageError(
            f"not a usable remote name: {name!r}",
            hint="use up to 32 letters, digits, '-' or '_', e.g. offsite",
        )
    stored = normalise_path(path, vault.root)
    config = read_config(vault.layout)
    found = remotes(config)
    if name in found:
        raise UsageError(
            f"there is already a remote called {name!r} ({found[name]})",
            hint=f"remove it first with 'vault remote remove {name}'",
        )
    folder = local_folder(stored)
    if folder is not None:
        from sync.marker import prepare_new_folder

        prepare_new_folder(folder, vault.vault_id, create=create)
    from sync.marker import note_marked

    note_marked(config, name, marked=folder is not None)
    found[name] = stored
    config[CONFIG_KEY] = found
    write_config(vault.layout, config)
    vault.config = config
    return stored


def remove_remote(vault: Vault, name: str) -> str:
    """Forget remote ``name`` (its data on the remote is left alone); return its path."""
    config = read_config(vault.layout)
    found = remotes(config)
    if name not in found:
        raise NotFoundError(f"no remote called {name!r}", hint="'vault remote list' shows them")
    path = found.pop(name)
    from sync.marker import note_marked

    note_marked(config, name, marked=False)
    config[CONFIG_KEY] = found
    write_config(vault.layout, config)
    vault.config = config
    return path


def resolve(config: dict[str, Any], name: str | None) -> dict[str, str]:
    """The remote called ``name``, or every remote when ``name`` is None."""
    found = remotes(config)
    if name is None:
        if not found:
            raise UsageError(
                "this vault has no remote to back up to",
                hint="add one with 'vault remote add NAME PATH', e.g. a USB disk folder",
            )
        return found
    if name not in found:
        raise NotFoundError(f"no remote called {name!r}", hint="'vault remote list' shows them")
    return {name: found[name]}
