"""Zip containers (a .docx or .odt is one), opened under limits.

A zip's directory says how many parts it has and how large each is packed
and unpacked. Those are checked before any part is unpacked: too many
parts, more than ``Limits.max_unpacked_bytes`` unpacked in all, or one part
packed more tightly than ``Limits.max_ratio`` to one (a zip bomb: a
gigabyte of zeros packs into a megabyte) and the file is refused. A
directory can lie, so each part is then read through a reader that stops
at the size the directory gave (and ``zipfile`` checks its CRC at the end).
Damage (a cut-short file, a bad CRC, an unknown packing method, a password)
is refused with what it is.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ingest.readers.common import MB, Limits
from vault.errors import UnreadableInputError

_RATIO_FLOOR = 1 * MB  # parts smaller than this unpacked are never called bombs
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)


def damaged(exc: BaseException) -> UnreadableInputError:
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
        return UnreadableInputError("it is protected by a password: save a copy without one")
    return UnreadableInputError("the file is damaged or cut short (its zip container is broken)")


class SafeZip:
    """A zip file whose directory has passed the limits; parts read bounded."""

    def __init__(self, path: Path, limits: Limits) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (*DAMAGED, OSError) as exc:
            raise damaged(exc) from exc
        try:
            self._infos = {info.filename: info for info in self._check(limits)}
        except BaseException:
            self._zip.close()
            raise

    def _check(self, limits: Limits) -> list[zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > limits.max_members:
            raise UnreadableInputError(
                f"its zip container has {len(infos):,} parts (more than {limits.max_members:,}: "
                "a hostile file?)"
            )
        total = sum(info.file_size for info in infos)
        if total > limits.max_unpacked_bytes:
            raise UnreadableInputError(
                f"a zip bomb: its parts would unpack to {total / MB:,.0f} MB "
                f"(more than {limits.max_unpacked_bytes // MB} MB)"
            )
        for info in infos:
            ratio = info.file_size // max(info.compress_size, 1)
            if info.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
                raise UnreadableInputError(
                    f"a zip bomb: a part is packed {ratio:,} to one "
                    f"(more than {limits.max_ratio} to one)"
                )
        return infos

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return list(self._infos)

    def has(self, name: str) -> bool:
        return name in self._infos

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """Part ``name`` as a file, never giving more bytes than the directory said."""
        info = self._infos.get(name)
        if info is None:
            raise UnreadableInputError(f"the part {name!r} of its zip container is missing")
        try:
            with self._zip.open(info) as raw:
                yield io.BufferedReader(_Bounded(raw, info.file_size))
        except DAMAGED as exc:
            raise damaged(exc) from exc

    def read(self, name: str, max_bytes: int) -> bytes:
        """All of part ``name`` (a small one: at most ``max_bytes``)."""
        info = self._infos.get(name)
        if info is not None and info.file_size > max_bytes:
            raise UnreadableInputError(f"the part {name!r} of its zip container is too large")
        with self.open(name) as part:
            return part.read()


class _Bounded(io.RawIOBase):
    """Reads at most ``limit`` bytes of ``raw``; more means the zip lied."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw, self._left = raw, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        data = self._raw.read(min(want, self._left + 1))
        if len(data) > self._left:
            raise UnreadableInputError("a zip bomb: a part unpacks to more than its zip says")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def zip_names(path: Path, limits: Limits) -> tuple[list[str], dict[str, bytes]]:
    """The part names of the zip ``path`` and the first bytes of the two parts
    that say what an office document is (``mimetype`` and
    ``[Content_Types].xml``); raises ``UnreadableInputError`` if it is damaged
    or breaks the limits."""
    heads: dict[str, bytes] = {}
    with SafeZip(path, limits) as archive:
        for name in ("mimetype", "[Content_Types].xml"):
            if archive.has(name):
                with archive.open(name) as part:
                    heads[name] = part.read(256 * 1024)
        return archive.names(), heads
