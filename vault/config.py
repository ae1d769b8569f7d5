"""The vault's folder layout and its plain settings file.

``config.json`` holds no secret and no personal data: the vault id, when it was
made, when the passphrase last changed, and settings later features add
(remotes, document-type rules). Written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault.errors import VaultNotFoundError
from vault.fsutil import atomic_write


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def journal(self) -> Path:
        return self.root / "journal"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog"

    @property
    def head(self) -> Path:
        return self.root / "head.json"

    @property
    def audit(self) -> Path:
        return self.root / "audit.log"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def lock(self) -> Path:
        return self.root / "lock"


def read_config(layout: Layout) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(layout.config.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise VaultNotFoundError(
            f"no vault at {layout.root}",
            hint="run 'vault init' to make one, or pass --vault DIR (or set VAULT_DIR)",
        ) from exc
    except ValueError as exc:
        raise VaultNotFoundError(f"the vault settings file is damaged: {layout.config}") from exc
    return data


def write_config(layout: Layout, config: dict[str, Any]) -> None:
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    atomic_write(layout.config, text.encode())
