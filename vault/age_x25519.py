"""Decrypting the vault's objects in large pieces: age v1, X25519 recipients.

pyrage decrypts on one core at about 0.8 GB/s here and hands the plaintext
over 8 KiB at a time; the ``cryptography`` package's ChaCha20-Poly1305
(OpenSSL) opens 64 MiB in about 20 ms. Every object the vault writes is an
age file with X25519 stanzas (one to the data key, and one to the key of
each access level the document is granted to; pyrage adds a "grease"
stanza of a made-up kind, which an identity passes over), so such a file is
read here, as the age specification lays it out, and any other file (a
passphrase stanza, armor, a header not in the canonical form age writes) is
left to pyrage (``decrypt_into`` returns None before anything is read
beyond the header):

- stanza ``-> X25519 SHARE`` (each is tried until one opens with the
  identity): its body is the 16-byte file key sealed with
  ChaCha20-Poly1305 (zero nonce) under HKDF-SHA256(X25519(identity, SHARE),
  salt SHARE + the identity's public key, info "age-encryption.org/v1/X25519");
  a share that gives an all-zero secret is refused;
- the header MAC and the payload as ``vault.scrypt_file`` reads them: chunks
  of 64 KiB sealed under HKDF-SHA256(file key, salt nonce, info "payload"),
  each nonce an 11-byte big-endian counter and a last-chunk flag, the last
  chunk being the one that ends the file (an empty one only when it is the
  only one).

The file is hashed (SHA-256) as it is read, for the caller to check it
against its id, and the plaintext is written in pieces of 16 chunks (1 MiB)
at the offset given: unauthenticated until this returns, so into a private
temp file only. The tests run every community test vector through it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vault import scrypt_file
from vault.errors import CryptoFormatError, WrongKeyError

_VERSION = b"age-encryption.org/v1"
_LABEL = b"age-encryption.org/v1/X25519"
_COLUMNS = 64
_CHUNK = 64 * 1024
_TAG = 16
_SEALED = _CHUNK + _TAG
_PIECE = 16  # chunks decrypted between two writes
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_IDENTITY_HRP = "age-secret-key-"


def _bech32_data(text: str, prefix: str) -> bytes:
    """The bytes a bech32 string of human-readable part ``prefix`` carries."""
    text = text.lower()
    hrp, sep, data = text.rpartition("1")
    if not sep or hrp != prefix or len(data) < 6:
        raise ValueError("not a bech32 string of the expected kind")
    values = [_BECH32.index(c) for c in data]  # ValueError on a stray character
    check = 1
    for value in [*(ord(c) >> 5 for c in hrp), 0, *(ord(c) & 31 for c in hrp), *values]:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                check ^= gen
    if check != 1:
        raise ValueError("bech32 checksum does not match")
    out, acc, bits = bytearray(), 0, 0
    for value in values[:-6]:
        acc, bits = (acc << 5) | value, bits + 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):
        raise ValueError("bech32 padding is not zero")
    return bytes(out)


@functools.lru_cache(maxsize=64)  # the same few recipients, once per file written
def recipient_bytes(recipient: str) -> bytes:
    """The 32 bytes of an ``age1…`` recipient (``CryptoFormatError`` if it is not one)."""
    try:
        data = _bech32_data(recipient.strip(), "age")
    except ValueError:
        raise CryptoFormatError("not an age X25519 recipient") from None
    if len(data) != 32:
        raise CryptoFormatError("not an age X25519 recipient")
    return data


def _private_key(identity: str) -> X25519PrivateKey | None:
    try:
        secret = _bech32_data(identity.strip(), _IDENTITY_HRP)
    except ValueError:
        return None
    if len(secret) != 32:
        return None
    return X25519PrivateKey.from_private_bytes(secret)


def _file_key(key: X25519PrivateKey, share: bytes, body: bytes) -> bytes:
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:  # a low-order share: an all-zero secret
        raise CryptoFormatError("age file refused: X25519 share of low order") from None
    ours = key.public_key().public_bytes_raw()
    wrapping = scrypt_file._hkdf(shared, share + ours, _LABEL)
    try:
        return ChaCha20Poly1305(wrapping).decrypt(bytes(12), body, None)
    except InvalidTag:
        raise WrongKeyError("the key does not open this file") from None


def _pread(fd: int, size: int, at: int) -> bytes:
    buffer = memoryview(bytearray(size))
    _read_into(fd, buffer, at)
    return bytes(buffer)


def _read_into(fd: int, buffer: memoryview, at: int) -> int:
    """Fill ``buffer`` from ``at`` (the file must not end before it is full)."""
    got = 0
    while got < len(buffer):
        n = os.preadv(fd, [buffer[got:]], at + got)
        if n == 0:
            raise CryptoFormatError("age file refused: it shrank while it was read")
        got += n
    return got


def _write_all(fd: int, data: memoryview, at: int) -> None:
    while data:
        written = os.pwrite(fd, data, at)
        at += written
        data = data[written:]


def decrypt_into(
    src_fd: int, head: bytes, identity: str, dst_fd: int, offset: int
) -> tuple[int, str] | None:
    """Decrypt the age file open at ``src_fd`` (its first bytes ``head``,
    header checked by ``crypto.check_header``) into ``dst_fd`` from ``offset``.

    Returns (bytes written, SHA-256 of the file) or None, having read nothing
    but ``head``, when the file is not one this reads (pyrage then does): it
    reads a header in age's canonical form with X25519 stanzas, and others
    only of kinds an identity passes over (pyrage adds one such, "grease").
    """
    found = open_payload(src_fd, head, identity)
    if found is None:
        return None
    out = offset
    for piece in found.pieces():
        _write_all(dst_fd, piece, out)
        out += len(piece)
    return out - offset, found.sha256


class Payload:
    """The payload of one age file this module reads (``open_payload``):
    ``pieces()`` yields its plaintext, 1 MiB at a time, each piece
    unauthenticated until the last one was yielded; ``sha256`` is then the
    hash of the whole file. A damaged payload raises ``CryptoFormatError``."""

    def __init__(self, src_fd: int, file_key: bytes, header_length: int) -> None:
        self._fd = src_fd
        self._file_key = file_key
        self._header_length = header_length
        self.sha256 = ""

    def pieces(self) -> Iterator[memoryview]:
        src_fd, header_length = self._fd, self._header_length
        size = os.fstat(src_fd).st_size
        sealed = size - header_length - 16
        chunks = -(-sealed // _SEALED) if sealed > 0 else 0
        if chunks == 0 or sealed - (chunks - 1) * _SEALED < _TAG:
            raise CryptoFormatError("age file refused: payload too short or truncated")
        prefix = _pread(src_fd, header_length + 16, 0)
        sha = hashlib.sha256(prefix)
        aead = ChaCha20Poly1305(
            scrypt_file._hkdf(self._file_key, prefix[header_length:], b"payload")
        )
        sealed_in = memoryview(bytearray(_PIECE * _SEALED))  # one buffer each way, reused
        plain_out = memoryview(bytearray(_PIECE * _CHUNK))
        at, counter = header_length + 16, 0
        while counter < chunks:
            size_in = _read_into(src_fd, sealed_in[: min(_PIECE * _SEALED, size - at)], at)
            sha.update(sealed_in[:size_in])
            at += size_in
            filled = 0
            for start in range(0, size_in, _SEALED):
                chunk = sealed_in[start : min(start + _SEALED, size_in)]
                last = counter == chunks - 1
                nonce = counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
                length = len(chunk) - _TAG
                try:
                    aead.decrypt_into(nonce, chunk, None, plain_out[filled : filled + length])
                except InvalidTag:
                    raise CryptoFormatError(
                        "age file refused: payload damaged or truncated"
                    ) from None
                if last and not length and counter > 0:
                    raise CryptoFormatError("age file refused: empty last chunk")
                filled += length
                counter += 1
            if counter == chunks:
                self.sha256 = sha.hexdigest()
            yield plain_out[:filled]


def open_payload(src_fd: int, head: bytes, identity: str) -> Payload | None:
    """The payload of the age file open at ``src_fd`` (see ``decrypt_into``),
    its header MAC checked; None when the file is not one this reads."""
    found = unwrap_header(head, identity)
    if found is None:
        return None
    file_key, header_length = found
    return Payload(src_fd, file_key, header_length)


def unwrap_header(head: bytes, identity: str) -> tuple[bytes, int] | None:
    """(file key, header length) of the age file starting with ``head``, as
    ``identity`` unwraps it from one of its X25519 stanzas (a document
    granted to an access level has one per recipient: ``vault.levels``),
    the header MAC checked; None when the file is not one this reads.
    ``WrongKeyError`` when no stanza is for ``identity``."""
    key = _private_key(identity)
    parsed = scrypt_file.read_header(head) if key is not None else None
    if key is None or parsed is None:
        return None
    stanzas, header, mac, header_length = parsed
    ours = [(args, body) for args, body in stanzas if args[0] == b"X25519"]
    if not ours or any(args[0] == b"scrypt" for args, _ in stanzas):
        return None
    shares = []
    for args, body in ours:
        if len(args) != 2 or len(body) != 16 + _TAG:
            return None
        try:
            shares.append((scrypt_file._unb64(args[1], 32), body))
        except CryptoFormatError:
            return None
    file_key = None
    for share, body in shares:
        try:
            file_key = _file_key(key, share, body)
        except WrongKeyError:
            continue
        break
    if file_key is None:
        raise WrongKeyError("the key does not open this file")
    if not hmac.compare_digest(scrypt_file.header_mac(file_key, header), mac):
        raise CryptoFormatError("age file refused: header MAC does not match")
    return file_key, header_length
