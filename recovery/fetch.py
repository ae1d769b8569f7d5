"""Reading a vault's backup from a remote, for ``vault recover`` and ``vault drill``.

Every rclone call goes through one ``sync.rcd.Daemon`` (one rclone process
for the whole recovery): a quick first listing of the remote's top folder
(one try, short network waits, so an unreachable remote fails in seconds),
one recursive listing (sizes; which store each object is in), then copies
of lists of files: the small files into a private work folder (with the
segments of the audit log and journal, joined back into whole files), and
the objects and manifests in one copy into a staging folder. Nothing here trusts
what it reads: the caller checks every byte (MAC, hashes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sync import rclone, segments
from sync.rcd import Daemon
from sync.snapshot import AUDIT, CONFIG, HEAD, JOURNAL, ROTATION
from vault import key_register, levels
from vault.errors import RemoteError
from vault.keys import KeyPaths

KEY_FILES = (
    "keys/data.pub",
    "keys/passphrase.age",
    "keys/emergency.age",
    "keys/emergency.pub",
    f"keys/{key_register.REGISTER}",
)
# The audit log and journal: whole files (an earlier version's backup), or the
# segment list (``sync.segments``) whose segments ``read_logs`` fetches.
SMALL_FILES = (HEAD, JOURNAL, CONFIG, AUDIT, segments.LIST, *KEY_FILES)


def personal_keys(present: Iterable[str]) -> list[str]:
    """The personal key files among ``present`` (``keys/people/LABEL.age``,
    ``vault.key_register``): any of them may open the backup."""
    return sorted(rel for rel in present if key_register.is_personal_key_path(rel))


def level_keys(present: Iterable[str]) -> list[str]:
    """The access levels' key files among ``present`` (``keys/levels/*``,
    ``vault.levels``): a full key opens them, a level's keys open only theirs."""
    return sorted(rel for rel in present if key_register.is_level_key_path(rel))


def rotation_files(present: Iterable[str]) -> list[str]:
    """The key files and head a sync after a key rotation sends to ``rotation/``
    before it replaces the remote's own (``sync.backup``)."""
    wanted = {f"{ROTATION}{rel}" for rel in (HEAD, *KEY_FILES)}
    return sorted(
        rel
        for rel in present
        if rel in wanted
        or (rel.startswith(ROTATION) and key_register.is_personal_key_path(rel[len(ROTATION) :]))
        or (rel.startswith(ROTATION) and key_register.is_level_key_path(rel[len(ROTATION) :]))
    )


def named_personal_keys(fetched: Path) -> list[str]:
    """The personal key files fetched into ``fetched`` that its key register
    names (checked by then, ``trust.py``); all of them when it has none."""
    paths = KeyPaths(fetched / "keys")
    folder = paths.root / key_register.PEOPLE
    found = (
        [f"keys/{key_register.PEOPLE}/{p.name}" for p in folder.iterdir()]
        if folder.is_dir()
        else []
    )
    if key_register.register_path(paths).exists():
        named = {f"keys/{k.file}" for k in key_register.read_register(paths, {}).keys}
        found = [rel for rel in found if rel in named]
    return personal_keys(found)


def fetched_level_keys(fetched: Path) -> list[str]:
    """The access levels' key files fetched into ``fetched``."""
    folder = fetched / "keys" / levels.FOLDER
    found = [f"keys/{levels.FOLDER}/{p.name}" for p in folder.iterdir()] if folder.is_dir() else []
    return level_keys(found)


StatsCallback = Callable[[dict[str, Any]], None]
_FEW = 100  # up to this many files are asked for one by one; more, the source is listed


class Source:
    """The remote a recovery reads from: ``with Source(path, what) as source: …``."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.what = what
        self.daemon = Daemon(what)
        self.present: dict[str, int] = {}  # every file on the remote, with its size

    def __enter__(self) -> Source:
        self.daemon.start()  # rclone writes 0700 folders and 0600 files (``sync.rclone``)
        return self

    def __exit__(self, *exc: object) -> None:
        self.daemon.close()

    def list_remote(self) -> bool:
        """List the remote (a quick first try); False when its folder does not exist."""
        try:
            top = self.daemon.list_files(
                self.path, recursive=False, timeout=rclone.PREFLIGHT_TIMEOUT, preflight=True
            )
        except RemoteError as error:
            raise _explained(error) from None
        if top is None:
            return False
        listing = self.daemon.list_files(
            self.path, recursive=True, timeout=rclone.transfer_timeout(0, 100_000)
        )
        self.present = {entry.path: entry.size for entry in listing or []}
        return True

    def fetch(
        self,
        paths: Sequence[str],
        dest: Path,
        work: Path,
        *,
        on_stats: StatsCallback | None = None,
        copied: list[str] | None = None,
    ) -> None:
        """Copy the listed relative paths from the remote into the local folder ``dest``.

        ``copied`` receives each path as it arrives (also when the copy fails);
        ``on_stats`` rclone's transfer statistics, about twice a second.
        """
        if not paths:
            return
        size = sum(max(self.present.get(rel, 0), 0) for rel in paths)
        # Many files (the objects): the source is listed once (``--fast-list``)
        # rather than asked about each file, one request each on object stores.
        many = len(paths) > _FEW
        self.daemon.copy_files(
            self.path,
            str(dest),
            paths,
            work,
            timeout=rclone.transfer_timeout(size, len(paths)),
            on_stats=on_stats,
            copied=copied,
            config={"NoTraverse": False, "UseListR": True} if many else None,
        )

    def read_logs(self, fetched: Path, work: Path) -> segments.Found:
        """The backup's audit log and journal, fetched into ``fetched`` and checked
        (``segments.read_logs``: every segment hashes to its name) and written
        there as ``audit.log`` and ``journal.log``; an ``IntegrityError`` (exit 4)
        names the first journal segment missing or damaged. A damaged audit
        log is kept as far as it is whole (``segments.audit_damage`` names
        what is missing)."""
        found = segments.read_logs(
            self.present, fetched, lambda paths: self.fetch(paths, fetched, work)
        )
        segments.refuse(found, self.path)
        segments.write_logs(found, fetched)
        return found

    def gives_sha256(self) -> bool:
        """True when the remote lists SHA-256 hashes (a local folder); else MD5 or none."""
        return "sha256" in self.daemon.hash_kinds(self.path)

    def done(self) -> None:
        """Every rclone call is answered: stop rclone now (it is idle) while the
        recovery goes on; leaving the ``with`` block then only waits for it."""
        self.daemon.finish()


def _explained(error: RemoteError) -> RemoteError:
    """A recovery runs on a new computer: say how to make the rclone remote there."""
    if "rclone has no remote" not in error.message:
        return error
    return RemoteError(
        error.message,
        hint="on this computer, set the remote up first with '.venv/bin/rclone config' "
        "(the same name and account as on the old computer), or with RCLONE_CONFIG_<NAME>_* "
        "variables; a USB disk needs no set-up: give its folder",
    )
