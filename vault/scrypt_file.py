"""Writing an age passphrase (scrypt) file at a fixed, known cost.

The passphrase file (``keys/passphrase.age``) is the one file whose cost the
vault must choose itself: pyrage picks the scrypt work factor by timing the
computer it runs on, so a file written on a fast desktop could need more
memory than the replacement laptop has, and every unlocking command pays that
peak. Here the file is written with the work factor ``WORK_FACTOR`` (2^18,
age's own default: 256 MiB and about a second), which opens on a computer
with 2 GB of memory.

The same cost suits the other file the vault writes under a passphrase, an
export bundle (``vault.bundle``), which a family or a court opens on
whatever computer it has: ``Writer`` writes it as it is made, chunk by
chunk, since a bundle can be large and its plaintext must never be held
whole or touch a disk.

It is a standard age v1 file (age-encryption.org/v1) with one scrypt stanza,
so ``age -d`` and pyrage open it; reading it is pyrage's job
(``vault.crypto``), except when pyrage refuses the file's cost after timing
a busy computer (it allows 4 more than what it guesses takes a second
there): then ``decrypt`` here reads it, as strictly, up to the limit the
vault sets itself. The format is assembled from the ``cryptography``
package's primitives, as the age specification lays it out:

- a random 16-byte file key;
- stanza ``-> scrypt SALT LOG2N``; its body is the file key sealed with
  ChaCha20-Poly1305 (zero nonce) under ``scrypt(passphrase,
  "age-encryption.org/v1/scrypt" + salt, N=2^LOG2N, r=8, p=1)``;
- the header MAC: HMAC-SHA256 of the header up to ``---``, keyed with
  HKDF-SHA256(file key, info "header");
- the payload: a 16-byte nonce, then 64 KiB chunks sealed with
  ChaCha20-Poly1305 under HKDF-SHA256(file key, salt nonce, info "payload"),
  each nonce an 11-byte big-endian counter and a last-chunk flag.

Base64 is unpadded standard base64, as age writes it. The tests check every
byte of this against the community test vectors and the ``age`` command.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import re
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vault.errors import CryptoFormatError, WrongKeyError

WORK_FACTOR = 18  # log2 of scrypt's N: 256 MiB of memory (128 * N * r bytes)

_VERSION = b"age-encryption.org/v1"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_CHUNK = 64 * 1024
_COLUMNS = 64
_TAG = 16
_FACTOR = re.compile(rb"^[1-9][0-9]?$")
_VCHAR = re.compile(rb"[\x21-\x7e]+")


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def wrap_key(file_key: bytes, passphrase: str, salt: bytes, work_factor: int) -> bytes:
    """The scrypt stanza's body: the file key sealed under the passphrase."""
    kdf = Scrypt(salt=_SCRYPT_LABEL + salt, length=32, n=1 << work_factor, r=8, p=1)
    wrapping = kdf.derive(passphrase.encode("utf-8"))
    return ChaCha20Poly1305(wrapping).encrypt(bytes(12), file_key, None)


def header_mac(file_key: bytes, header: bytes) -> bytes:
    """The MAC of ``header`` (everything up to and including ``---``)."""
    return hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()


def seal_payload(file_key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    """The payload: ``nonce`` and the STREAM-sealed chunks of ``plaintext``."""
    out = io.BytesIO()
    sealer = _PayloadSealer(out, file_key, nonce)
    sealer.write(plaintext)
    sealer.close()
    return out.getvalue()


class _PayloadSealer:
    """Seals the payload chunk by chunk as plaintext is written to it.

    A chunk is sealed once more plaintext follows it (only the last chunk
    carries the last-chunk flag, and it is known to be last only at
    ``close``), so at most one chunk of plaintext is held at a time.
    """

    def __init__(self, out: BinaryIO, file_key: bytes, nonce: bytes) -> None:
        self._out = out
        self._aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
        self._pending = bytearray()
        self._counter = 0
        out.write(nonce)

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        self._out.write(self._aead.encrypt(nonce, chunk, None))
        self._counter += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._pending += data
        while len(self._pending) > _CHUNK:  # a full chunk, and more after it
            self._seal(bytes(self._pending[:_CHUNK]), last=False)
            del self._pending[:_CHUNK]
        return len(data)

    def close(self) -> None:
        """Seal what is left as the last chunk (empty only if nothing was written)."""
        self._seal(bytes(self._pending), last=True)
        self._pending = bytearray()


def _body_lines(body: bytes) -> bytes:
    text = _b64(body)
    lines = [text[i : i + _COLUMNS] for i in range(0, len(text), _COLUMNS)]
    if not lines or len(lines[-1]) == _COLUMNS:
        lines.append(b"")  # a body always ends with a short (maybe empty) line
    return b"".join(line + b"\n" for line in lines)


def encrypt(
    plaintext: bytes,
    passphrase: str,
    *,
    work_factor: int = WORK_FACTOR,
    file_key: bytes | None = None,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """An age file of ``plaintext`` that ``passphrase`` opens.

    ``file_key``, ``salt`` and ``nonce`` are random unless given (tests give
    them, to rebuild known files byte for byte); each is 16 bytes."""
    out = io.BytesIO()
    writer = Writer(
        out, passphrase, work_factor=work_factor, file_key=file_key, salt=salt, nonce=nonce
    )
    writer.write(plaintext)
    writer.close()
    return out.getvalue()


class Writer:
    """An age file that ``passphrase`` opens, written to ``out`` as plaintext
    is written to this: the header at once, then each 64 KiB chunk sealed
    as soon as more follows, the last at ``close``. Memory stays at one
    chunk whatever the size (an export bundle of a whole family), and no
    plaintext reaches ``out``. ``close`` does not close ``out``; a writer
    not closed leaves a truncated file that age refuses.
    """

    def __init__(
        self,
        out: BinaryIO,
        passphrase: str,
        *,
        work_factor: int = WORK_FACTOR,
        file_key: bytes | None = None,
        salt: bytes | None = None,
        nonce: bytes | None = None,
    ) -> None:
        file_key = os.urandom(16) if file_key is None else file_key
        salt = os.urandom(16) if salt is None else salt
        nonce = os.urandom(16) if nonce is None else nonce
        if not (len(file_key) == len(salt) == len(nonce) == 16):
            raise ValueError("file key, salt and nonce are 16 bytes each")
        if not 1 <= work_factor <= 30:
            raise ValueError("scrypt work factor out of range")
        body = wrap_key(file_key, passphrase, salt, work_factor)
        header = (
            _VERSION + b"\n"
            + b"-> scrypt " + _b64(salt) + b" " + str(work_factor).encode() + b"\n"
            + _body_lines(body)
            + b"---"
        )  # fmt: skip
        out.write(header + b" " + _b64(header_mac(file_key, header)) + b"\n")
        self._payload = _PayloadSealer(out, file_key, nonce)
        self.written = 0  # plaintext bytes so far

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._payload.write(data)
        self.written += len(data)
        return len(data)

    def close(self) -> None:
        self._payload.close()


# --- reading -----------------------------------------------------------------


def _unb64(text: bytes, size: int | None = None) -> bytes:
    """Canonical unpadded base64 (as age writes it), of ``size`` bytes if given."""
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise CryptoFormatError("malformed age header: bad base64") from None
    if _b64(data) != text or (size is not None and len(data) != size):
        raise CryptoFormatError("malformed age header: bad base64")
    return data


def read_header(head: bytes) -> tuple[list[tuple[list[bytes], bytes]], bytes, bytes, int] | None:
    """(each stanza's arguments and body, the header up to ``---``, its MAC,
    the header's length) of ``head`` in the canonical form age writes, or
    None for anything else (the callers leave such files to pyrage, or
    refuse them)."""
    if not head.startswith(_VERSION + b"\n"):
        return None
    at = len(_VERSION) + 1
    stanzas: list[tuple[list[bytes], bytes]] = []
    while True:
        end = head.find(b"\n", at)
        if end < 0:
            return None
        line = head[at:end]
        at = end + 1
        if line.startswith(b"--- "):
            try:
                mac = _unb64(line[4:], 32)
            except CryptoFormatError:
                return None
            return stanzas, head[: end - len(line) + 3], mac, at
        if not line.startswith(b"-> "):
            return None
        args = line[3:].split(b" ")
        if not all(arg and _VCHAR.fullmatch(arg) for arg in args):
            return None
        text = b""
        while True:
            end = head.find(b"\n", at)
            if end < 0:
                return None
            body_line = head[at:end]
            at = end + 1
            if len(body_line) > _COLUMNS:
                return None
            text += body_line
            if len(body_line) < _COLUMNS:
                break
        try:
            body = _unb64(text)
        except CryptoFormatError:
            return None
        stanzas.append((args, body))


def _open_payload(file_key: bytes, payload: bytes) -> bytes:
    if len(payload) < 16 + _TAG:
        raise CryptoFormatError("age file refused: payload too short")
    aead = ChaCha20Poly1305(_hkdf(file_key, payload[:16], b"payload"))
    sealed = payload[16:]
    size = _CHUNK + _TAG
    starts = range(0, len(sealed), size)
    out = []
    for counter, start in enumerate(starts):
        chunk = sealed[start : start + size]
        last = counter == len(starts) - 1
        nonce = counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        try:
            plain = aead.decrypt(nonce, chunk, None)
        except InvalidTag:
            raise CryptoFormatError("age file refused: payload damaged or truncated") from None
        if last and not plain and counter > 0:
            raise CryptoFormatError("age file refused: empty last chunk")
        out.append(plain)
    return b"".join(out)


def decrypt(data: bytes, passphrase: str, *, max_work_factor: int) -> bytes:
    """The plaintext of an (unarmored) age file with one scrypt stanza, as
    strictly as age reads it; a work factor above ``max_work_factor`` is
    refused before any work. Wrong passphrase: ``WrongKeyError``."""
    parsed = read_header(data)
    if parsed is None:
        raise CryptoFormatError("malformed age header")
    stanzas, header, mac, length = parsed
    if len(stanzas) != 1 or stanzas[0][0][0] != b"scrypt" or len(stanzas[0][0]) != 3:
        raise CryptoFormatError("age file refused: not a passphrase file (one scrypt stanza)")
    (args, body), payload = stanzas[0], data[length:]
    salt = _unb64(args[1], 16)
    if not _FACTOR.match(args[2]):
        raise CryptoFormatError("malformed age header: bad scrypt work factor")
    factor = int(args[2])
    if factor > max_work_factor:
        raise CryptoFormatError(
            f"refusing an age passphrase file with scrypt work factor {factor} "
            f"(at most {max_work_factor} is accepted)"
        )
    if len(body) != 16 + _TAG:
        raise CryptoFormatError("malformed age header: bad scrypt stanza body")
    kdf = Scrypt(salt=_SCRYPT_LABEL + salt, length=32, n=1 << factor, r=8, p=1)
    try:
        file_key = ChaCha20Poly1305(kdf.derive(passphrase.encode("utf-8"))).decrypt(
            bytes(12), body, None
        )
    except InvalidTag:
        raise WrongKeyError("wrong passphrase") from None
    if not hmac.compare_digest(header_mac(file_key, header), mac):
        raise CryptoFormatError("age file refused: header MAC does not match")
    return _open_payload(file_key, payload)
