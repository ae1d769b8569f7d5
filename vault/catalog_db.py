"""This computer's catalog database: SQLCipher pages on disk.

``local/catalog-<random>.db`` holds the catalog (``vault.catalog``) between
commands, so a command opens it in milliseconds and holds only the pages it
reads, whatever the number of documents. Every page of the file, and of its
rollback journal while a save is written, is encrypted and authenticated by
SQLCipher (AES-256 with an HMAC-SHA512 per page) under a raw 256-bit key
derived from the data identity (``DataKey.catalog_key``): no passphrase
stretching, the key already is one, so nothing in the file can be read or
altered without the vault's key. Temporary tables and sorts stay in memory
(``temp_store``), freed pages are overwritten (``secure_delete``), and the
files are made 0600 in a 0700 folder.

It is a cache. What leaves this computer is the chain of age files that
head.json names (``vault.chain``); the database can always be made again
from them, or from the manifests (``vault rebuild-catalog``). A database made
again is a new file (``catalog-<random>.db``) that ``local/catalog.current``
names once it is complete, so a command still reading the previous one (its
own file, its own journal) is never mixed up with it. The rollback journal
(not a write-ahead log) is used so that reading needs no file but the
database: a command that only reads works on a full disk, and on a vault
that cannot be written (opened ``immutable``).

A file that is not a database under this key (damaged, or another vault's)
raises ``DamagedDatabase``; the caller makes it again. SQLite's own "disk is
full" and I/O errors become ``OSError`` (``ENOSPC``, ``EIO``), which the
command line reports in one line as any other full disk.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3

from vault.errors import IntegrityError
from vault.fsutil import atomic_write, make_private_dir, remove_quietly

SUFFIXES = ("", "-wal", "-shm", "-journal")
BUSY_MS = 30_000  # a reader waits this long for a writer's commit
CACHE_KIB = 32 * 1024  # decrypted pages kept: a search of a large catalog reads many


class DamagedDatabase(Exception):
    """The file is not a catalog database under this key: make it again."""


# What opening and reading a database that may be damaged can raise (a
# damaged page is an ``IntegrityError`` once a statement runs).
ERRORS = (DamagedDatabase, sqlcipher3.DatabaseError, IntegrityError, OSError)


def _translated(exc: sqlcipher3.Error, path: str) -> BaseException:
    text = str(exc).lower()
    name = f"local/{os.path.basename(path)}"
    if type(exc) is sqlcipher3.DatabaseError and any(word in text for word in _DAMAGE):
        return IntegrityError(
            f"the catalog on this computer ({name}) is damaged",
            hint="'vault rebuild-catalog' makes it again from the manifests",
        )
    if not isinstance(exc, sqlcipher3.OperationalError):
        return exc
    if "disk is full" in text or ("disk i/o error" in text and _nearly_full(path)):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
    if "disk i/o error" in text or "readonly database" in text:
        number = errno.EIO if "i/o" in text else errno.EROFS
        return OSError(number, os.strerror(number), name)
    return exc


_DAMAGE = ("malformed", "not a database", "corrupt")  # a page that fails its HMAC, a torn file


def _nearly_full(path: str) -> bool:
    try:
        return shutil.disk_usage(os.path.dirname(path) or ".").free < 1024 * 1024
    except OSError:
        return False


@contextmanager
def _disk_errors(path: str) -> Iterator[None]:
    try:
        yield
    except sqlcipher3.DatabaseError as exc:
        translated = _translated(exc, path)
        if translated is exc:
            raise
        raise translated from None


class Cursor(sqlcipher3.Cursor):
    """A cursor whose disk errors are ``OSError`` and whose damaged pages are
    ``IntegrityError``, when a statement runs and while its rows are read."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        with _disk_errors(self.connection.path):
            return super().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        with _disk_errors(self.connection.path):
            return super().executemany(*args, **kwargs)

    def __next__(self) -> Any:
        # Called once a row: a plain try costs nothing, a context manager
        # about a microsecond (a second over a million rows).
        try:
            return super().__next__()
        except sqlcipher3.DatabaseError as exc:
            translated = _translated(exc, self.connection.path)
            if translated is exc:
                raise
            raise translated from None

    def fetchone(self) -> Any:
        with _disk_errors(self.connection.path):
            return super().fetchone()

    def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        with _disk_errors(self.connection.path):
            return super().fetchmany(*args, **kwargs)

    def fetchall(self) -> Any:
        with _disk_errors(self.connection.path):
            return super().fetchall()


class Connection(sqlcipher3.Connection):
    """A SQLCipher connection whose statements run in ``Cursor``s."""

    path = ""

    def cursor(self, factory: Any = Cursor) -> Any:
        return super().cursor(factory)

    def commit(self) -> None:
        with _disk_errors(self.path):
            super().commit()


def open_database(
    path: Path, key: bytes, *, read_only: bool = False, immutable: bool = False
) -> Connection:
    """Open (or make, unless ``read_only``) the database at ``path`` under ``key``;
    ``immutable``: on a vault that cannot be written (nothing changes it).

    Raises ``DamagedDatabase`` when the file is not a database this key opens.
    """
    if read_only or immutable:
        uri = f"file:{path.absolute()}?mode=ro" + ("&immutable=1" if immutable else "")
        conn = sqlcipher3.connect(uri, uri=True, factory=Connection)
    else:
        make_private_dir(path.parent)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        conn = sqlcipher3.connect(str(path), factory=Connection, timeout=BUSY_MS / 1000)
    conn.path = str(path)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("PRAGMA secure_delete = ON")
        if not (read_only or immutable):
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA synchronous = FULL")
    except (sqlcipher3.DatabaseError, IntegrityError) as exc:
        conn.close()
        raise DamagedDatabase(str(exc)) from None
    return conn


POINTER = "catalog.current"


def current(folder: Path) -> Path | None:
    """The database file ``folder/catalog.current`` names (None: none yet)."""
    try:
        name = (folder / POINTER).read_text().strip()
    except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError):
        return None
    if not name.startswith("catalog-") or not name.endswith(".db") or "/" in name:
        return None
    return folder / name


def fresh(folder: Path) -> Path:
    """A new, unused name for a database file in ``folder``."""
    make_private_dir(folder)
    return folder / f"catalog-{secrets.token_hex(6)}.db"


def make_current(folder: Path, path: Path) -> None:
    """Name ``path`` as the database (durably), then remove earlier ones."""
    atomic_write(folder / POINTER, path.name.encode() + b"\n")
    for other in folder.glob("catalog-*.db*"):
        if not other.name.startswith(path.name):
            remove_quietly(other)


def in_memory() -> Connection:
    """A database that lives in memory only (a vault that cannot be written)."""
    conn = sqlcipher3.connect(":memory:", factory=Connection)
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def interrupted(path: Path) -> bool:
    """Whether a save of the database at ``path`` was cut short: its rollback
    journal is still there. Until a writer opens it (and SQLite puts the
    pages back), its pages may be half old, half new; a reader that cannot
    write (a read-only vault) must not read it as it is."""
    try:
        return os.stat(f"{path}-journal").st_size > 0
    except FileNotFoundError:
        return False


def remove_database(path: Path) -> None:
    """Remove the database and its log files (a damaged cache, before making it again)."""
    for suffix in SUFFIXES:
        remove_quietly(Path(f"{path}{suffix}"))
