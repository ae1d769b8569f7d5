"""Each backup remote in words, for people: its kind and its name.

"Backblaze B2 remote 'cloud'", "USB disk folder 'usb'", "folder 'backup' on
this computer": what the emergency sheet's "backups are kept at" line says.
Only the kind and the name: never the path (it may hold a user name), never
a credential. The kind of a named rclone remote comes from ``rclone
listremotes --long --json``, which gives each remote's name and type and
nothing secret; when rclone cannot say, the remote is just an "rclone remote".
"""

from __future__ import annotations

import json
import re
from typing import Any

from sync import rclone
from sync.remotes import is_local, remotes
from vault.errors import VaultError
from vault.paths import on_removable_drive

_KINDS = {
    "azureblob": "Azure Blob Storage",
    "b2": "Backblaze B2",
    "box": "Box",
    "drive": "Google Drive",
    "dropbox": "Dropbox",
    "ftp": "FTP server",
    "gcs": "Google Cloud Storage",
    "google cloud storage": "Google Cloud Storage",
    "koofr": "Koofr",
    "mega": "MEGA",
    "onedrive": "Microsoft OneDrive",
    "pcloud": "pCloud",
    "protondrive": "Proton Drive",
    "s3": "S3 cloud storage",
    "sftp": "SFTP server",
    "smb": "network share (SMB)",
    "storj": "Storj",
    "swift": "OpenStack Swift",
    "webdav": "WebDAV server",
}
_ON_THE_FLY = re.compile(r"^:([A-Za-z0-9 ]+)[,:]")  # rclone's :b2:bucket or :s3,opt=...:
_LIST_TIMEOUT = 20.0


def describe_remotes(config: dict[str, Any]) -> list[str]:
    """One line per configured remote, in the order of their names."""
    found = remotes(config)
    if not found:
        return []
    types = rclone_types() if any(not is_local(path) for path in found.values()) else {}
    return [describe(name, path, types) for name, path in sorted(found.items())]


def backend(path: str, types: dict[str, str]) -> str:
    """The rclone backend ``path`` uses, lower case: "local" for a folder, ""
    when rclone cannot say; ``types``: rclone remote name -> backend type."""
    if is_local(path) or path.startswith(":local"):
        return "local"
    on_the_fly = _ON_THE_FLY.match(path)
    kind = on_the_fly.group(1) if on_the_fly else types.get(path.split(":", 1)[0], "")
    return kind.lower()


def provider(kind: str) -> str | None:
    """A backend type in plain words ("Backblaze B2"); None when not a known one."""
    return _KINDS.get(kind.lower())


def describe(name: str, path: str, types: dict[str, str]) -> str:
    """``name``'s kind and name; ``types``: rclone remote name -> backend type."""
    kind = backend(path, types)
    if kind == "local":
        return _folder(name, path if is_local(path) else path.split(":", 1)[1])
    words = _KINDS.get(kind)
    if words is None:
        return f"rclone remote {name!r}"
    return f"{words} remote {name!r}"


def _folder(name: str, path: str) -> str:
    if on_removable_drive(path):
        return f"USB disk folder {name!r}"
    return f"folder {name!r} on this computer"


def rclone_types() -> dict[str, str]:
    """rclone's remotes and their backend types; empty when rclone cannot say."""
    try:
        result = rclone.run(
            ["listremotes", "--long", "--json"], timeout=_LIST_TIMEOUT, what="list rclone remotes"
        )
        listed = json.loads(result.stdout or b"[]")
    except (VaultError, ValueError):
        return {}
    if not isinstance(listed, list):
        return {}
    return {
        str(entry.get("name")): str(entry.get("type"))
        for entry in listed
        if isinstance(entry, dict) and entry.get("name") and entry.get("type")
    }
