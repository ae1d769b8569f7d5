"""The journal: documents stored but not yet folded into the catalog.

``journal.log`` holds one JSON line per stored document::

    {"manifest": <id>, "size": <bytes>, "objects": {<id>: <bytes>, ...},
     "signed": <manifest carries a MAC>, "sig": "ed25519:..."}

``sig`` is this computer's installation signing key (``signing.py``) over the
other four fields. Lines are appended whole or not at all
(``fsutil.append_line``); reading salvages every complete entry
(``jsonlines.py``).

Entries the fold cannot accept (undecryptable, damaged, not signed by the key
the head names) are moved, with the reason, to ``journal-set-aside.log``: they
block nothing else, and no object they name is deleted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from vault import jsonlines, signing
from vault.fsutil import append_line

JOURNAL = "journal.log"
SET_ASIDE = "journal-set-aside.log"

_LABEL = b"centre-vault/v1/journal-entry\n"
_ID = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("manifest", "size", "objects", "signed")
_TORN = re.compile(r'^\{"manifest": "([0-9a-f]{64})"')


def is_entry(value: Any) -> bool:
    """A well-formed journal entry (types checked; nothing about its truth)."""
    if not isinstance(value, dict):
        return False
    manifest, size, objects = value.get("manifest"), value.get("size"), value.get("objects")
    return (
        isinstance(manifest, str)
        and bool(_ID.match(manifest))
        and isinstance(size, int)
        and isinstance(objects, dict)
        and all(
            isinstance(k, str) and bool(_ID.match(k)) and isinstance(v, int)
            for k, v in objects.items()
        )
        and isinstance(value.get("signed", False), bool)
    )


def parse(data: bytes) -> jsonlines.Lines:
    """Every complete entry of a journal's bytes, and how much of it is damaged."""
    text = data.decode("utf-8", errors="replace")
    try:  # one parse for the whole journal: much faster than one per line
        whole = json.loads("[" + ",".join(line for line in text.split("\n") if line) + "]")
    except ValueError:
        whole = None
    if isinstance(whole, list) and all(is_entry(e) for e in whole):
        return jsonlines.Lines(records=whole)
    return jsonlines.parse(text, is_entry)


def read(path: Path) -> jsonlines.Lines:
    try:
        return parse(path.read_bytes())
    except FileNotFoundError:
        return jsonlines.Lines()


def torn_manifest(text: str) -> str | None:
    """The manifest id at the start of a torn line, if it is whole there."""
    found = _TORN.match(text)
    return found.group(1) if found else None


def message(entry: dict[str, Any]) -> bytes:
    """The bytes an entry's signature covers."""
    body = {name: entry.get(name, False if name == "signed" else None) for name in _FIELDS}
    return _LABEL + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def new_entry(
    manifest: str,
    size: int,
    objects: dict[str, int],
    *,
    signed: bool,
    key: signing.SigningKey | None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "manifest": manifest,
        "size": size,
        "objects": objects,
        "signed": signed,
    }
    if key is not None:
        entry["sig"] = key.sign(message(entry))
    return entry


def check_entry(entry: dict[str, Any], signer: str | None) -> bool:
    """True when ``entry`` is signed by ``signer``, the public signing key a
    head names (``Head.signer``). Check the head's MAC before trusting it."""
    sig = entry.get("sig")
    if signer is None or not isinstance(sig, str) or not is_entry(entry):
        return False
    return signing.verify(signer, message(entry), sig)


def append(path: Path, entry: dict[str, Any]) -> None:
    append_all(path, [entry])


def append_all(path: Path, entries: list[dict[str, Any]]) -> None:
    """Append the entries' lines with one write and one fsync (all or none)."""
    lines = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries)
    append_line(path, lines.encode())


def read_set_aside(path: Path) -> list[dict[str, Any]]:
    """The records set aside so far: entries, and damaged lines as ``{"damaged": text}``,
    each with its ``reason``."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return jsonlines.parse(text, lambda v: isinstance(v, dict) and "reason" in v).records


def set_aside(path: Path, entry: dict[str, Any], reason: str) -> None:
    """Record an entry the fold did not accept (see the module's docstring)."""
    append_line(path, (json.dumps({**entry, "reason": reason}, sort_keys=True) + "\n").encode())
