"""A vault of many documents of random bytes, made quickly, for the benchmarks
that move or encrypt again what a vault holds (``bench_recover``, ``bench_rotate``).

``make_vault(root, documents, mb_per_document)`` makes a real vault (keys,
catalog, head, index) through the library and returns its new keys (the data
key and the emergency secret). Its documents are random bytes (incompressible,
as a scan is): most small, and one in ``LARGE_EVERY`` (at least one) large,
holding half the bytes, in parts of ``PART_SIZE`` (at 2,000 documents of 0.5
MB on average: five of 100 MB, in two parts each). The catalog is saved as
folding makes it; the journal is not used.

- ``encrypted=False`` (recovery, which only moves and re-hashes ciphertext):
  the object and manifest files are random bytes standing for ciphertext,
  named by their hash; nothing is encrypted.
- ``encrypted=True`` (a rotation decrypts everything): every object is an age
  file encrypted to the data key, as a put makes it, and every manifest is
  the signed one an unlocked ingest writes (the keyed fingerprint of the
  original, the MAC), with the type, family and page text of a generated
  document (``tests.generate``: about 3.5 kB of text), so the catalog and its
  search index are the size real post gives.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import replace
from pathlib import Path

from vault.keys import NewKeys

LARGE_EVERY = 400  # one large document in this many (at least one), holding half the bytes
PASSPHRASE = "Bench Centre tulip 2026"


def write_object(folder: Path, data: bytes) -> tuple[str, int]:
    """Write ``data`` under its hash in the store ``folder`` (no fsync)."""
    object_id = hashlib.sha256(data).hexdigest()
    target = folder / object_id[:2]
    target.mkdir(parents=True, exist_ok=True)
    (target / object_id).write_bytes(data)
    return object_id, len(data)


def make_vault(
    root: Path, documents: int, mb_per_document: float, *, encrypted: bool = False
) -> NewKeys:
    """A vault of ``documents`` random-byte documents (see the module); its keys."""
    from tests.generate import documents as generated
    from vault import crypto
    from vault.manifest import Manifest, new_document_id
    from vault.parts import PART_SIZE, join_ref
    from vault.repository import Vault, now_utc

    captured: dict[str, NewKeys] = {}
    vault = Vault.create(
        root, PASSPHRASE, deliver_emergency_key=lambda keys, _: captured.update(keys=keys)
    )
    keys = captured["keys"]
    recipients = [keys.data.identity.to_public()]

    def store(data: bytes, mac: hmac.HMAC) -> tuple[str, int]:
        if not encrypted:
            return write_object(vault.layout.objects, data)
        mac.update(data)
        stored = vault.objects.put_encrypted(crypto.encrypt_bytes(data, recipients))
        return stored.id, stored.size

    total = int(documents * mb_per_document * 1e6)
    large = max(1, documents // LARGE_EVERY)
    large_size = total // 2 // large  # half the bytes in large documents
    small = max(1000, (total - large * large_size) // max(1, documents - large))
    texts = generated(documents) if encrypted else None
    with vault.lock:
        vault.key = keys.data
        catalog = vault.catalog
        for n in range(documents):
            mac = hmac.new(keys.data.fingerprint_key, digestmod=hashlib.sha256)
            if n < large:
                parts = [
                    store(os.urandom(min(PART_SIZE, large_size - at)), mac)
                    for at in range(0, large_size, PART_SIZE)
                ]
                original, size = join_ref([i for i, _ in parts]), large_size
            else:
                original, size = store(os.urandom(small), mac)
            if texts is None:
                manifest_id, _ = write_object(vault.layout.manifests, os.urandom(600))
                doc = Manifest(
                    doc_id=new_document_id(),
                    original=original,
                    name=f"document-{n}.pdf",
                    media_type="application/pdf",
                    size=size,
                    received=now_utc(),
                    fingerprint=hashlib.sha256(original.encode()).hexdigest(),
                )
            else:
                doc = replace(next(texts).manifest(original, mac.hexdigest()), size=size)
                record = vault.manifests.put_bytes(
                    doc.signed(mac.hexdigest(), keys.data.mac), recipients
                )
                manifest_id = record.id
            catalog.add(doc, manifest_id)
        vault.save_catalog()  # a benchmark's shortcut: the catalog as folding makes it
    return keys
