"""All encryption and decryption of the vault, through age (pyrage).

Every file the vault stores is a standard age v1 file: anyone holding the key
can open it with the reference ``age`` command alone. Nothing here invents
cryptography; this module only chooses how age is called. The one exception
is writing a file under a passphrase (the passphrase file, an export
bundle), whose scrypt cost pyrage does not let us set and which pyrage can
only write from bytes held whole in memory: ``scrypt_file`` writes it, in
age's format, at a fixed cost, streamed.

- documents are streamed (``encrypt_file`` / ``decrypt_file`` and the ``_io``
  calls), never read whole into memory;
- before pyrage sees a file to decrypt, its header is parsed and checked here,
  which closes gaps pyrage leaves open: a scrypt work factor above what the
  vault writes (a hostile key file could cost minutes and gigabytes) and
  malformed stanzas are refused;
- decrypted output is written to a temporary file and renamed into place only
  after the whole file has been authenticated, since age releases plaintext
  chunk by chunk.

pyrage's errors are translated here into ``WrongKeyError`` (the key does not
open the file) or ``CryptoFormatError`` (the file is damaged or hostile);
a failure of the computer underneath (disk full, no permission), which pyrage
reports as its own error with "(os error N)" in the text, is raised as the
``OSError`` it is, never as a format error: a full disk is not tampering.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import pyrage
from pyrage import passphrase as age_passphrase
from pyrage import x25519

from vault.errors import CryptoFormatError, UsageError, VaultError, WrongKeyError
from vault.fsutil import private_temp_path, remove_quietly
from vault.oserror import os_error_from

if TYPE_CHECKING:
    from vault import scrypt_file

MAGIC = b"age-encryption.org/v1\n"
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
# The vault writes its passphrase file at a fixed scrypt work factor of 18
# (``scrypt_file``). Earlier versions let pyrage pick it by timing the
# computer (19 to 22), so reading accepts up to MAX_SCRYPT_WORK_FACTOR, or the
# factor the vault recorded when it wrote the file; never above
# SCRYPT_CEILING (22: 4 GB and tens of seconds).
MAX_SCRYPT_WORK_FACTOR = 20
SCRYPT_CEILING = 22
# What rage says when it thinks scrypt work would take this computer too long.
_EXCESSIVE = "excessive work parameter"
# Largest header the parser reads; real headers are a few hundred bytes.
MAX_HEADER_BYTES = 64 * 1024
# Armored files are only ever small (key files, test vectors).
MAX_ARMORED_BYTES = 16 * 1024 * 1024

_B64_CHARS = re.compile(rb"^[A-Za-z0-9+/]*$")
_ARG_CHARS = re.compile(rb"^[\x21-\x7e]+$")

Identity = x25519.Identity
Recipient = x25519.Recipient


class Writable(Protocol):
    """Where decrypted bytes go: an open file, or a writer that passes them on."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...


def generate_identity() -> tuple[str, str]:
    """Make a new X25519 identity; return (secret key text, public recipient text)."""
    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def parse_identity(text: str) -> x25519.Identity:
    """Parse an ``AGE-SECRET-KEY-1…`` string. The key is never quoted in errors."""
    try:
        return x25519.Identity.from_str(text.strip())
    except (pyrage.IdentityError, ValueError) as exc:
        raise WrongKeyError(
            "key not accepted: it is not a valid age secret key",
            hint="check the key was copied completely; it starts with AGE-SECRET-KEY-1",
        ) from exc


def parse_recipient(text: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(text.strip())
    except (pyrage.RecipientError, ValueError) as exc:
        raise UsageError(f"not a valid age recipient: {text.strip()!r}") from exc


def public_of(identity: x25519.Identity) -> str:
    return str(identity.to_public())


# --- header checks -----------------------------------------------------------


def _parse_stanza_args(line: bytes) -> list[bytes]:
    if not line.startswith(b"-> "):
        raise CryptoFormatError("malformed age header: bad stanza line")
    args = line[3:].split(b" ")
    if not args or any(not a or not _ARG_CHARS.match(a) for a in args):
        raise CryptoFormatError("malformed age header: bad stanza argument")
    return args


def check_header(data: bytes, *, max_work_factor: int = MAX_SCRYPT_WORK_FACTOR) -> None:
    """Check the header at the start of ``data`` (an unarmored age file).

    Refuses stanzas whose body is missing or does not end in a short line, and
    scrypt stanzas with a work factor above ``MAX_SCRYPT_WORK_FACTOR``. The rest
    (MACs, version, payload) pyrage checks itself.
    """
    if not data.startswith(MAGIC):
        # Let pyrage name the problem (unknown version and the like).
        return
    lines = data[len(MAGIC) :].split(b"\n")
    i = 0
    while True:
        if i >= len(lines) - 1:
            raise CryptoFormatError("malformed age header: no header MAC line")
        line = lines[i]
        if line.startswith(b"---"):
            return
        args = _parse_stanza_args(line)
        if args[0] == b"scrypt":
            _check_scrypt_args(args, max_work_factor)
        i += 1
        # Body: zero or more full 64-column lines, then exactly one shorter line.
        while True:
            if i >= len(lines) - 1:
                raise CryptoFormatError("malformed age header: stanza body not terminated")
            body = lines[i]
            if body.startswith(b"-> ") or body.startswith(b"---"):
                raise CryptoFormatError("malformed age header: stanza has no final body line")
            if len(body) > 64 or not _B64_CHARS.match(body):
                raise CryptoFormatError("malformed age header: bad stanza body")
            i += 1
            if len(body) < 64:
                break


def _check_scrypt_args(args: list[bytes], max_work_factor: int) -> None:
    if len(args) != 3:
        return  # pyrage refuses a wrong argument count
    factor = args[2]
    if factor.isdigit() and len(factor) <= 3 and int(factor) > max_work_factor:
        raise CryptoFormatError(
            f"refusing an age passphrase file with scrypt work factor {int(factor)} "
            f"(at most {max_work_factor} is accepted)"
        )


def scrypt_work_factor(data: bytes) -> int | None:
    """The work factor of the scrypt stanza in an (unarmored) age file, if any."""
    match = re.search(rb"\n-> scrypt \S+ ([0-9]{1,3})\n", data[:MAX_HEADER_BYTES])
    return int(match.group(1)) if match else None


def _dearmor_for_check(data: bytes) -> bytes | None:
    """Best-effort decode of an armored file so its header can be checked."""
    text = data.strip()
    if not (text.startswith(ARMOR_BEGIN) and text.endswith(ARMOR_END)):
        return None
    body = text[len(ARMOR_BEGIN) : -len(ARMOR_END)]
    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_armored(head: bytes) -> bool:
    return head.lstrip().startswith(ARMOR_BEGIN)


# --- pyrage error translation -----------------------------------------------


def _encrypt_failed(exc: Exception, dst: Path | None = None) -> Exception:
    """``exc`` from pyrage while encrypting, as the error to raise."""
    return os_error_from(exc, dst) or CryptoFormatError(f"encryption failed: {exc}")


def _translate(exc: Exception, *, passphrase_file: bool) -> Exception:
    os_error = exc if isinstance(exc, OSError) and exc.errno else os_error_from(exc)
    if os_error is not None:
        return os_error
    text = str(exc)
    if _EXCESSIVE in text:
        # rage times the computer and refuses scrypt work it thinks would take
        # too long: on an overloaded computer even the vault's own key file.
        return VaultError(
            "the computer is too busy to check the passphrase now",
            hint="close other programs and try again",
        )
    if "No matching keys found" in text:
        return WrongKeyError("the key does not open this file")
    if passphrase_file and "Decryption failed" in text:
        return WrongKeyError("wrong passphrase")
    return CryptoFormatError(f"age file refused: {text.lower().rstrip('.')}")


# --- streaming --------------------------------------------------------------


def encrypt_file(src: Path, dst: Path, recipients: Sequence[x25519.Recipient]) -> None:
    """Encrypt the file ``src`` to ``dst`` (which must not be a final name)."""
    try:
        pyrage.encrypt_file(str(src), str(dst), list(recipients))
    except pyrage.EncryptError as exc:
        raise _encrypt_failed(exc, dst) from exc


def encrypt_stream(src: BinaryIO, dst: BinaryIO, recipients: Sequence[x25519.Recipient]) -> None:
    try:
        pyrage.encrypt_io(src, dst, list(recipients))
    except pyrage.EncryptError as exc:
        raise _encrypt_failed(exc) from exc


def encrypt_bytes(data: bytes, recipients: Sequence[x25519.Recipient]) -> bytes:
    """Encrypt a small record (manifest, catalog snapshot, head)."""
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, recipients)
    return out.getvalue()


def decrypt_stream(src: BinaryIO, dst: Writable, identities: Iterable[x25519.Identity]) -> None:
    """Decrypt ``src`` into ``dst``. ``dst`` receives unauthenticated chunks:
    callers write it to a temp file and keep it only if this returns."""
    head = src.read(MAX_HEADER_BYTES)
    reader: BinaryIO
    if _is_armored(head):
        rest = src.read(MAX_ARMORED_BYTES)
        if src.read(1):
            raise CryptoFormatError("armored age file too large")
        data = head + rest
        decoded = _dearmor_for_check(data)
        if decoded is not None:
            check_header(decoded[:MAX_HEADER_BYTES])
        # Whitespace around the armor is allowed by the format.
        reader = io.BytesIO(data.strip())
    else:
        check_header(head)
        reader = io.BufferedReader(_Rejoined(head, src))
    try:
        pyrage.decrypt_io(reader, dst, list(identities))
    except (pyrage.DecryptError, OSError) as exc:
        raise _translate(exc, passphrase_file=False) from exc


def decrypt_bytes(data: bytes, identities: Iterable[x25519.Identity]) -> bytes:
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(data), out, identities)
    return out.getvalue()


def decrypt_file(src: Path, dst: Path, identities: Iterable[x25519.Identity]) -> None:
    """Decrypt ``src`` to ``dst``; ``dst`` appears only if the file authenticates.

    The output goes to a private temp file beside ``dst`` first (named
    ``.tmp-*``, which the vault cleans up in its own folders).
    """
    identities = list(identities)
    with open(src, "rb") as f:
        head = f.read(MAX_HEADER_BYTES)
    tmp = private_temp_path(dst.parent, prefix=".tmp-decrypt-")
    try:
        if _is_armored(head):
            with open(src, "rb") as fin, open(tmp, "wb") as fout:
                decrypt_stream(fin, fout, identities)
        else:
            check_header(head)
            try:
                pyrage.decrypt_file(str(src), str(tmp), identities)
            except (pyrage.DecryptError, OSError) as exc:
                raise _translate(exc, passphrase_file=False) from exc
        os.replace(tmp, dst)
    finally:
        remove_quietly(tmp)


# --- parts of a large file ---------------------------------------------------
#
# A large document is stored as several age files ("parts"), each one a
# standard age file holding one stretch of the document, so that they can be
# encrypted and decrypted in parallel processes (see ``vault/parts.py``).

# age's payload: a 16-byte nonce, then STREAM chunks of up to 64 KiB of
# plaintext, each followed by a 16-byte tag (age v1 format).
_PAYLOAD_NONCE = 16
_STREAM_CHUNK = 64 * 1024
_STREAM_TAG = 16
_IO_BUFFER = 256 * 1024
# age hands decrypted plaintext over in pieces of 8 KiB; written straight to
# the file that is 131,072 system calls per GiB, so they are gathered first.
_WRITE_BUFFER = 1024 * 1024


def header_length(head: bytes) -> int:
    """Length of the (unarmored) age header at the start of ``head``."""
    if not head.startswith(MAGIC):
        raise CryptoFormatError("not an age file")
    end = head.find(b"\n---", len(MAGIC) - 1)
    line_end = head.find(b"\n", end + 1) if end >= 0 else -1
    if line_end < 0:
        raise CryptoFormatError("malformed age header: no header MAC line")
    return line_end + 1


def plaintext_size(path: Path) -> int:
    """How many bytes the age file at ``path`` decrypts to (from its size alone)."""
    with open(path, "rb") as f:
        head = f.read(MAX_HEADER_BYTES)
        size = os.fstat(f.fileno()).st_size
    payload = size - header_length(head) - _PAYLOAD_NONCE
    if payload < _STREAM_TAG:
        raise CryptoFormatError("age file refused: payload too short")
    chunks = -(-payload // (_STREAM_CHUNK + _STREAM_TAG))
    return payload - chunks * _STREAM_TAG


class _Range(io.RawIOBase):
    """Reads ``length`` bytes of an open file from ``offset`` (positioned reads)."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self._fd, self._offset, self._left = fd, offset, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left)
        if n <= 0:
            return 0
        got = os.preadv(self._fd, [memoryview(buffer)[:n]], self._offset)
        if got == 0:
            raise CryptoFormatError("the file being stored shrank while it was read")
        self._offset += got
        self._left -= got
        return got


class _HashingWriter(io.RawIOBase):
    """Writes to an open file and hashes what it writes (SHA-256)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        self.hash.update(view)
        while view:
            view = view[os.write(self._fd, view) :]
        self.size += len(data)
        return len(data)


class _OffsetWriter(io.RawIOBase):
    """Writes into an open file from ``offset`` on (positioned writes),
    gathering small writes into one system call per ``_WRITE_BUFFER`` bytes.

    What is gathered reaches the file only through ``finish``: a decryption
    that fails leaves it unwritten (``flush``, which the garbage collector
    may call once the file is closed, writes nothing).
    """

    def __init__(self, fd: int, offset: int) -> None:
        self._fd, self.offset = fd, offset
        self._buffer = bytearray(_WRITE_BUFFER)  # one buffer, reused: it stays in cache
        self._view = memoryview(self._buffer)
        self._filled = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        size = len(data)
        if self._filled + size > _WRITE_BUFFER:
            self._write_pending()
        if size >= _WRITE_BUFFER:
            self._pwrite(memoryview(data))
        else:
            self._view[self._filled : self._filled + size] = data
            self._filled += size
        return size

    def finish(self) -> None:
        """Write what is gathered; ``offset`` is then where the data ends."""
        self._write_pending()

    def _write_pending(self) -> None:
        filled, self._filled = self._filled, 0
        self._pwrite(self._view[:filled])

    def _pwrite(self, view: memoryview) -> None:
        while view:
            written = os.pwrite(self._fd, view, self.offset)
            self.offset += written
            view = view[written:]


def encrypt_part(
    src: Path, offset: int, length: int, dst: Path, recipients: Sequence[str], sync: bool = True
) -> tuple[str, int]:
    """Encrypt ``length`` bytes of ``src`` from ``offset`` into the new file ``dst``.

    ``dst`` is fsynced unless ``sync`` is false (the caller then must).
    Returns the SHA-256 (hex) and size of what was written: the part's object
    id, computed as it is written rather than read back.
    """
    keys = [parse_recipient(r) for r in recipients]
    src_fd = os.open(src, os.O_RDONLY)
    try:
        dst_fd = os.open(dst, os.O_WRONLY | os.O_TRUNC)
        try:
            writer = _HashingWriter(dst_fd)
            reader = io.BufferedReader(_Range(src_fd, offset, length), _IO_BUFFER)
            try:
                pyrage.encrypt_io(reader, writer, keys)
            except pyrage.EncryptError as exc:
                raise _encrypt_failed(exc, dst) from exc
            if sync:
                os.fsync(dst_fd)
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)
    return writer.hash.hexdigest(), writer.size


def decrypt_part(src: Path, dst: Path, offset: int, identities: Sequence[str]) -> tuple[int, str]:
    """Decrypt the age file ``src`` into the existing file ``dst`` from ``offset``.

    ``dst`` receives unauthenticated plaintext: it must be a private temp file
    kept only if every part decrypts. Returns the bytes written and the
    SHA-256 (hex) of ``src`` as read, so the caller can check the object's id
    without reading it twice.
    """
    keys = [parse_identity(i) for i in identities]
    with open(src, "rb") as f:
        head = f.read(MAX_HEADER_BYTES)
    check_header(head)
    src_fd = os.open(src, os.O_RDONLY)
    dst_fd = os.open(dst, os.O_WRONLY)
    try:
        if len(identities) == 1 and not _is_armored(head):
            from vault import age_x25519  # cryptography: only when an object is read

            done = age_x25519.decrypt_into(src_fd, head, identities[0], dst_fd, offset)
            if done is not None:  # the form every object has: X25519 stanzas
                return done
        hashing = _HashingReader(src_fd)
        writer = _OffsetWriter(dst_fd, offset)
        try:
            pyrage.decrypt_io(io.BufferedReader(hashing, _IO_BUFFER), writer, keys)
            writer.finish()
        except (pyrage.DecryptError, OSError) as exc:
            raise _translate(exc, passphrase_file=False) from exc
    finally:
        os.close(dst_fd)
        os.close(src_fd)
    return writer.offset - offset, hashing.hash.hexdigest()


class _HashingReader(io.RawIOBase):
    """Reads an open file from its start and hashes what it reads (SHA-256)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        got = os.readv(self._fd, [buffer])
        self.hash.update(memoryview(buffer)[:got])
        return got


# --- passphrase files (the wrapped data key only) ----------------------------


def encrypt_with_passphrase(data: bytes, passphrase: str) -> bytes:
    """Wrap a small secret under a passphrase: a standard age scrypt file at
    the fixed work factor ``scrypt_file.WORK_FACTOR`` (2^18, 256 MiB)."""
    from vault import scrypt_file  # cryptography: only when a passphrase file is written

    return scrypt_file.encrypt(data, passphrase)


def passphrase_writer(dst: BinaryIO, passphrase: str) -> scrypt_file.Writer:
    """A writer whose plaintext goes to ``dst`` as an age file that
    ``passphrase`` opens (an export bundle), sealed chunk by chunk as it is
    written; ``close`` it to finish the file."""
    from vault import scrypt_file  # cryptography: only when such a file is written

    return scrypt_file.Writer(dst, passphrase)


def decrypt_with_passphrase(
    data: bytes, passphrase: str, *, max_work_factor: int = MAX_SCRYPT_WORK_FACTOR
) -> bytes:
    limit = min(max_work_factor, SCRYPT_CEILING)
    decoded: bytes | None = data
    if _is_armored(data):
        decoded = _dearmor_for_check(data)
        if decoded is not None:
            check_header(decoded, max_work_factor=limit)
        data = data.strip()
    else:
        check_header(data[:MAX_HEADER_BYTES], max_work_factor=limit)
    try:
        return bytes(age_passphrase.decrypt(data, passphrase))
    except (pyrage.DecryptError, OSError) as exc:
        if decoded is not None and _EXCESSIVE in str(exc):
            # rage guessed the computer's speed while it was busy: read the
            # file here instead, up to the vault's own limit.
            from vault import scrypt_file  # cryptography: only on this path

            return scrypt_file.decrypt(decoded, passphrase, max_work_factor=limit)
        raise _translate(exc, passphrase_file=True) from exc


class _Rejoined(io.RawIOBase):
    """A reader that yields ``head`` and then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        chunk = self._stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)
