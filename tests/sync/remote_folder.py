"""Read a remote's backing folder straight from disk, independently of the sync code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def named_by_head(folder: Path) -> dict[str, int] | None:
    """Paths (with sizes, -1 if unknown) the remote's head and journal name; None without head."""
    head_path = folder / "head.json"
    try:
        head = json.loads(head_path.read_bytes())
    except FileNotFoundError:
        return None
    named: dict[str, int] = {
        f"catalog/{head['catalog']}.age": -1,
        f"catalog/{head['index']}.idx": -1,
    }
    index_path = folder / "catalog" / f"{head['index']}.idx"
    if index_path.exists():
        for object_id, size in json.loads(index_path.read_bytes()).items():
            for store in ("objects", "manifests"):
                rel = f"{store}/{object_id[:2]}/{object_id}"
                if (folder / rel).exists():
                    named[rel] = size
                    break
            else:
                named[f"objects/{object_id[:2]}/{object_id}"] = size
    journal = folder / "journal.log"
    if journal.exists():
        for line in journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            for object_id, size in entry["objects"].items():
                named[f"objects/{object_id[:2]}/{object_id}"] = size
            named[f"manifests/{entry['manifest'][:2]}/{entry['manifest']}"] = entry["size"]
    return named


def missing_from(folder: Path) -> list[str]:
    """What the remote's head or journal names that is absent or of the wrong size."""
    named = named_by_head(folder)
    if named is None:
        return []
    problems = []
    for rel, size in named.items():
        path = folder / rel
        if not path.is_file():
            problems.append(f"missing {rel}")
        elif size >= 0 and path.stat().st_size != size:
            problems.append(f"wrong size {rel}")
    return problems


MARKER = "vault-backup.txt"  # sync.marker's, spelt out: this reads the folder independently
SERVER_TEMP = ".rclone_temp_put_"  # serve s3 uploads to this name, then renames


def files_in(folder: Path) -> set[str]:
    """The backup's files (leaving out uploads a killed server left half-done,
    and a folder remote's marker)."""
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(SERVER_TEMP) and p.name != MARKER
    }


def same_as_vault(folder: Path, vault_root: Path) -> list[str]:
    """Differences between the remote's files and the vault's (for the mirrored layout)."""
    problems = []
    for rel in sorted(files_in(folder)):
        local = vault_root / rel
        if not local.exists():
            problems.append(f"extra {rel}")
        elif rel == "audit.log" and _only_looks_after(folder / rel, local):
            continue  # the sync's read-back was recorded after the log went
        elif (
            hashlib.sha256(local.read_bytes()).digest()
            != hashlib.sha256((folder / rel).read_bytes()).digest()
        ):
            problems.append(f"differs {rel}")
    return problems


def _only_looks_after(sent: Path, local: Path) -> bool:
    """The local audit log is the one sent plus the record of the sync's read-back."""
    data, mine = sent.read_bytes(), local.read_bytes()
    if not mine.startswith(data) or mine == data:
        return False
    added = [json.loads(line) for line in mine[len(data) :].splitlines()]
    return all(e["event"] == "verify" and e["detail"].get("scope") == "sample" for e in added)
