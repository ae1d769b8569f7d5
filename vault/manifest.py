"""A document's manifest: the encrypted JSON record from which everything else
(catalog, search index) can be rebuilt.

A manifest written by an unlocked command carries a MAC under the vault's MAC
key and the keyed fingerprint of the original. One written without the
passphrase (public-key ingest) has neither: it is *unverified* and waits in the
journal until an unlocked command checks it and writes a verified copy.

Manifests are write-once: a correction (``vault edit``) writes a new one with
the next ``revision`` and then removes the old, so after an edit cut short
between the two, a catalog rebuild keeps the higher revision. ``revision`` 0
is left out of the JSON, so manifests written before it existed read the same;
so is a missing ``title`` (older documents get one made from their text,
``vault.title``, where they are shown), and an empty ``attachments`` (the
document ids of an e-mail's attachments, stored before it), and an empty
``levels`` (the access levels a document is granted to besides ``full``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vault.errors import IntegrityError

FORMAT = 1
# Crockford base32, no I, L, O, U: easy to read aloud and type.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 6


def new_document_id() -> str:
    """A short, typeable document id such as ``D-7K3M9Q``."""
    return "D-" + "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def normalise_document_id(text: str) -> str:
    """The id a user meant: case, spaces and the ``D-`` prefix forgiven, and
    the letters never used read as the digits they look like (O, I, L).
    ``D275SGP``, ``275SGP`` and ``D-D-275SGP`` are all ``D-275SGP``."""
    text = "".join(text.split()).upper().replace("O", "0").replace("I", "1").replace("L", "1")
    while text.startswith("D-"):
        text = text[2:]
    if text.startswith("D") and len(text) == ID_LENGTH + 1:
        text = text[1:]
    return "D-" + text


def near_ids(wanted: str, ids: Iterable[str]) -> list[str]:
    """The ids one typing slip away from ``wanted`` (a wrong, missing, extra
    or swapped character), closest first; for "did you mean"."""
    typed = wanted.removeprefix("D-")
    scored = sorted(
        (distance, doc_id)
        for doc_id in ids
        if (distance := _slips(typed, doc_id.removeprefix("D-"))) <= 1
    )
    return [doc_id for _, doc_id in scored]


def _slips(a: str, b: str) -> int:
    """The edit distance with swaps of neighbours (optimal string alignment)."""
    if abs(len(a) - len(b)) > 1:
        return 2
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb)))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


@dataclass(frozen=True)
class Manifest:
    doc_id: str
    original: str  # object id of the encrypted original
    name: str
    media_type: str
    size: int
    received: str  # ISO 8601, UTC
    pages: int | None = None
    doc_type: str = "other"
    family: str | None = None
    text: list[str] = field(default_factory=list)  # OCR or embedded text per page
    fields: dict[str, Any] = field(default_factory=dict)
    searchable: str | None = None  # object id of the searchable PDF
    retention: str | None = None
    fingerprint: str | None = None
    revision: int = 0  # 1 more at each correction (vault edit)
    title: str | None = None  # e.g. "Referral — Northshire Council — 3 Dec 2026"
    # each correction (``vault edit``): when, the key that made it, and each
    # field's value before and after ({"time", "key", "changed": {name: [old, new]}})
    history: list[dict[str, Any]] = field(default_factory=list)
    # an e-mail's attachments, stored before it as documents of their own
    attachments: list[str] = field(default_factory=list)
    # a document split from a batch scan (``batch_ref``): the batch's own object,
    # kept whole, and the pages of it this document is
    batch: dict[str, Any] | None = None
    # the access levels besides ``full`` it is granted to (``vault.levels``),
    # sorted: each level's key opens its objects and this manifest
    levels: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        record = asdict(self)
        if not record["revision"]:
            del record["revision"]
        if record["title"] is None:
            del record["title"]
        if not record["history"]:
            del record["history"]  # a manifest never corrected keeps the bytes it had
        if not record["attachments"]:
            del record["attachments"]  # only an e-mail's has them
        if record["batch"] is None:
            del record["batch"]
        if not record["levels"]:
            del record["levels"]  # granted to no level: the bytes it always had
        return _canonical({"format": FORMAT, **record})

    def signed(self, fingerprint: str, mac: Any) -> bytes:
        """The verified form: with fingerprint and MAC (``mac`` maps bytes to hex)."""
        body = replace(self, fingerprint=fingerprint).to_json()
        return _canonical({**json.loads(body), "mac": mac(body)})

    @property
    def verified(self) -> bool:
        return self.fingerprint is not None


def parse(data: bytes, *, check_mac: Any | None) -> tuple[Manifest, bool]:
    """Parse manifest JSON; return (manifest, whether it carried a good MAC).

    ``check_mac(body, mac)`` raises on a bad MAC. A manifest without a MAC
    parses as unverified.
    """
    try:
        record = json.loads(data)
        mac = record.pop("mac", None)
        if record.pop("format", None) != FORMAT:
            raise ValueError("unknown manifest format")
        manifest = Manifest(**record)
        if isinstance(manifest.revision, bool) or not isinstance(manifest.revision, int):
            raise ValueError("bad revision")
        if manifest.title is not None and not isinstance(manifest.title, str):
            raise ValueError("bad title")
        if not isinstance(manifest.history, list) or not all(
            isinstance(entry, dict) for entry in manifest.history
        ):
            raise ValueError("bad history")
        if not isinstance(manifest.attachments, list) or not all(
            isinstance(item, str) for item in manifest.attachments
        ):
            raise ValueError("bad attachments")
        if manifest.batch is not None and batch_ref(manifest.batch) is None:
            raise ValueError("bad batch")
        if not isinstance(manifest.levels, list) or not all(
            isinstance(item, str) and item for item in manifest.levels
        ):
            raise ValueError("bad levels")
    except (ValueError, TypeError) as exc:
        raise IntegrityError("a manifest is malformed") from exc
    if mac is None:
        return replace(manifest, fingerprint=None), False
    if check_mac is not None:
        check_mac(_canonical({"format": FORMAT, **record}), mac, f"manifest of {manifest.doc_id}")
    return manifest, True


def batch_ref(batch: Any) -> str | None:
    """The object reference of a document's batch (``Manifest.batch``), or
    None when there is none or it is malformed. The batch is the scanned file
    the document was split from, kept whole and unchanged:
    ``{"object", "pages": [first, last], "name", "media_type", "size", "received"}``."""
    if not isinstance(batch, dict):
        return None
    ref, pages = batch.get("object"), batch.get("pages")
    if not isinstance(ref, str) or not ref:
        return None
    if not (
        isinstance(pages, list)
        and len(pages) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in pages)
    ):
        return None
    return ref


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
