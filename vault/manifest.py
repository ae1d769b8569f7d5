"""A document's manifest: the encrypted JSON record from which everything else
(catalog, search index) can be rebuilt.

A manifest written by an unlocked command carries a MAC under the vault's MAC
key and the keyed fingerprint of the original. One written without the
passphrase (public-key ingest) has neither: it is *unverified* and waits in the
journal until an unlocked command checks it and writes a verified copy.

Manifests are write-once: a correction (``vault edit``) writes a new one with
the next ``revision`` and then removes the old, so after an edit cut short
between the two, a catalog rebuild keeps the higher revision. ``revision`` 0
is left out of the JSON, so manifests written before it existed read the same.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vault.errors import IntegrityError

FORMAT = 1
# Crockford base32, no I, L, O, U: easy to read aloud and type.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_document_id() -> str:
    """A short, typeable document id such as ``D-7K3M9Q``."""
    return "D-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def normalise_document_id(text: str) -> str:
    text = text.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    return text if text.startswith("D-") else "D-" + text


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

    def to_json(self) -> bytes:
        record = asdict(self)
        if not record["revision"]:
            del record["revision"]
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
    except (ValueError, TypeError) as exc:
        raise IntegrityError("a manifest is malformed") from exc
    if mac is None:
        return replace(manifest, fingerprint=None), False
    if check_mac is not None:
        check_mac(_canonical({"format": FORMAT, **record}), mac, f"manifest of {manifest.doc_id}")
    return manifest, True


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
