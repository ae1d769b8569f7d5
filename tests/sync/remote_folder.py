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
    journal = remote_log(folder, "journal")
    if journal is not None:
        for line in journal.decode().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            for object_id, size in entry["objects"].items():
                named[f"objects/{object_id[:2]}/{object_id}"] = size
            named[f"manifests/{entry['manifest'][:2]}/{entry['manifest']}"] = entry["size"]
    return named


def remote_log(folder: Path, kind: str) -> bytes | None:
    """The remote's audit log or journal (``kind``): its segments joined in the
    order ``segments.json`` gives, or the whole file of the layout before."""
    listed = folder / "segments.json"
    if listed.exists():
        part = json.loads(listed.read_bytes()).get(kind)
        if part is not None:
            return b"".join((folder / kind / sha).read_bytes() for sha, _, _ in part["segments"])
    whole = folder / f"{kind}.log"
    return whole.read_bytes() if whole.exists() else None


def append_to_log(folder: Path, kind: str, data: bytes) -> str:
    """What someone who can write to the remote could do: add ``data`` to its
    audit log or journal as a new segment, named in the list (totals right).
    Returns the new segment's path."""
    listed = folder / "segments.json"
    record = json.loads(listed.read_bytes())
    part = record[kind]
    digest = hashlib.sha256(data).hexdigest()
    (folder / kind).mkdir(exist_ok=True)
    (folder / kind / digest).write_bytes(data)
    whole = (remote_log(folder, kind) or b"") + data
    part["segments"].append([digest, len(data), 0])
    part["size"], part["sha256"] = len(whole), hashlib.sha256(whole).hexdigest()
    listed.write_bytes(json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    return f"{kind}/{digest}"


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
    for kind in ("audit", "journal"):
        sent, local = remote_log(folder, kind), vault_root / f"{kind}.log"
        mine = local.read_bytes() if local.exists() else b""
        if sent is None and mine:
            problems.append(f"missing {kind} log")
        elif sent is not None and sent != mine:
            if kind == "audit" and _only_looks_after(sent, mine):
                continue  # the sync's read-back was recorded after the log went
            problems.append(f"differs {kind} log")
    listed = folder / "segments.json"
    record = json.loads(listed.read_bytes()) if listed.exists() else {}
    named = {f"{kind}/{sha}" for kind in ("audit", "journal")
             for sha, _, _ in record.get(kind, {}).get("segments", [])}  # fmt: skip
    for rel in sorted(files_in(folder)):
        if rel.startswith(("audit/", "journal/")) and rel not in named:
            problems.append(f"extra {rel}")
        if rel == "segments.json" or rel.startswith(("audit/", "journal/")):
            continue  # the logs, compared above
        local = vault_root / rel
        if not local.exists():
            problems.append(f"extra {rel}")
        elif (
            hashlib.sha256(local.read_bytes()).digest()
            != hashlib.sha256((folder / rel).read_bytes()).digest()
        ):
            problems.append(f"differs {rel}")
    return problems


def _only_looks_after(data: bytes, mine: bytes) -> bool:
    """The local audit log is the one sent plus the record of the sync's read-back."""
    if not mine.startswith(data) or mine == data:
        return False
    added = [json.loads(line) for line in mine[len(data) :].splitlines()]
    return all(e["event"] == "verify" and e["detail"].get("scope") == "sample" for e in added)
