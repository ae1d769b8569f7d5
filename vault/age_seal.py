"""Encrypting a stream to X25519 recipients, as age v1 lays it out.

pyrage encrypts on one core while holding Python's lock, and pulls its
input through Python calls; a key rotation (``vault.reencrypt``) encrypts
every byte of the vault again, on threads, so it writes the file itself
with the ``cryptography`` package's primitives, exactly as the age
specification lays it out (the same primitives ``scrypt_file`` writes the
passphrase file with, and ``age_x25519`` reads objects with):

- a random 16-byte file key; for each recipient (the data key, and the
  key of each access level the document is granted to: ``vault.levels``)
  one stanza ``-> X25519 SHARE`` where SHARE is
  the public half of a new ephemeral X25519 key, and its body the file key
  sealed with ChaCha20-Poly1305 (zero nonce) under HKDF-SHA256(X25519
  (ephemeral, recipient), salt SHARE + recipient, info
  "age-encryption.org/v1/X25519"); an all-zero shared secret is refused;
- the header MAC (HMAC-SHA256 under HKDF(file key, info "header")) over
  everything up to ``---``;
- the payload: a random 16-byte nonce, then chunks of 64 KiB sealed under
  HKDF(file key, salt nonce, info "payload"), each nonce an 11-byte
  big-endian counter and a last-chunk flag; the last chunk is the one that
  ends the plaintext (an empty one only when the plaintext is empty).

The result is a standard age file: the tests open what this writes with
the reference ``age`` command and with pyrage. Nothing here reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault import scrypt_file
from vault.age_x25519 import recipient_bytes
from vault.errors import CryptoFormatError

_VERSION = b"age-encryption.org/v1"
_LABEL = b"age-encryption.org/v1/X25519"
_CHUNK = 64 * 1024


def header(recipients: str | Sequence[str], file_key: bytes) -> bytes:
    """The header of an age file whose file key ``file_key`` is wrapped to
    each of ``recipients`` (``age1…``; one stanza each, in order), with its
    MAC line."""
    wanted = [recipients] if isinstance(recipients, str) else list(recipients)
    if not wanted:
        raise CryptoFormatError("an age file needs at least one recipient")
    text = _VERSION + b"\n" + b"".join(_stanza(r, file_key) for r in wanted) + b"---"
    return text + b" " + scrypt_file._b64(scrypt_file.header_mac(file_key, text)) + b"\n"


def _stanza(recipient: str, file_key: bytes) -> bytes:
    """One ``-> X25519 SHARE`` stanza wrapping ``file_key`` to ``recipient``."""
    theirs = recipient_bytes(recipient)
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    try:  # (the cryptography package refuses an all-zero secret itself)
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(theirs))
    except ValueError:
        shared = bytes(32)
    if shared == bytes(32):
        raise CryptoFormatError("age recipient refused: a key of low order")
    wrapping = scrypt_file._hkdf(shared, share + theirs, _LABEL)
    body = ChaCha20Poly1305(wrapping).encrypt(bytes(12), file_key, None)
    return b"-> X25519 " + scrypt_file._b64(share) + b"\n" + scrypt_file._body_lines(body)


def sealed(file_key: bytes, plaintext: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The payload of ``plaintext`` (pieces of any size), in pieces: the
    nonce first, then the sealed chunks (one kept back until the next piece
    or the end says whether it is the last)."""
    nonce = os.urandom(16)
    aead = ChaCha20Poly1305(scrypt_file._hkdf(file_key, nonce, b"payload"))
    yield nonce
    pending = bytearray()
    counter = 0
    for piece in plaintext:
        pending += piece
        if len(pending) <= _CHUNK:
            continue
        out = []
        start = 0
        while len(pending) - start > _CHUNK:  # a full chunk with more after it
            chunk_nonce = counter.to_bytes(11, "big") + b"\x00"
            out.append(aead.encrypt(chunk_nonce, bytes(pending[start : start + _CHUNK]), None))
            start += _CHUNK
            counter += 1
        del pending[:start]
        yield b"".join(out)
    last = counter.to_bytes(11, "big") + b"\x01"
    yield aead.encrypt(last, bytes(pending), None)
