"""The unlocked vault of the web page, kept in this process's memory only.

One ``Vault`` is unlocked once (passphrase of any of the vault's keys) and
kept open, with its catalog, for the requests that follow; every use of it
runs on one thread of its own, under the vault's lock, as each CLI command
does, so the web page and the commands never write at once. Before each use
the keeper looks whether another program changed the vault meanwhile (a new
head: the catalog is opened again; new journal entries: they are folded in).

The key is dropped (the vault closed and every reference to the key let go)
after ``ui_idle_lock_minutes`` without use, on 'Lock', and when the process
ends; nothing of it is ever written anywhere.

Searching as one types shows the same documents keypress after keypress:
``record_shown`` writes the audit entry that 'vault search' writes (the ids
of the documents shown, never the words) only when a search shows a
document not recorded as shown by this unlocked page in the last
``SHOWN_AGAIN_SECONDS``; so the log says which documents were seen, and
when to the minute, without one entry (and one flush to disk) per key.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from vault.errors import UsageError
from vault.journal import JOURNAL

if TYPE_CHECKING:
    from vault.repository import Vault

T = TypeVar("T")
Stamp = tuple[int, int, int] | None
SHOWN_AGAIN_SECONDS = 60.0
CLOSE_SECONDS = 30.0  # waited for the vault's thread to finish a use and close it


class LockedVaultError(UsageError):
    """The page needs the vault unlocked, and it is not (or no longer)."""


def _stamp(path: Path) -> Stamp:
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


class Keeper:
    """Holds the unlocked vault; ``clock`` is for tests."""

    def __init__(
        self,
        root: Path,
        *,
        idle_minutes: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.idle_seconds = idle_minutes * 60
        self.clock = clock
        self._vault: Vault | None = None
        self._last_use = 0.0
        self._seen: tuple[Stamp, Stamp] = (None, None)
        self._shown: dict[str, float] = {}  # document id -> when recorded as shown
        self._thread_id: int | None = None
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="vault", initializer=self._on_its_thread
        )
        self._guard = threading.Lock()

    # --- state ----------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        self.lock_if_idle()
        return self._vault is not None

    def lock_if_idle(self) -> bool:
        """Drop the key if it went unused for the idle time; True if it did."""
        with self._guard:
            vault = self._vault
            if vault is None or self.clock() - self._last_use < self.idle_seconds:
                return False
            self._vault = None
        self._close_on_its_thread(vault)
        return True

    def lock(self) -> None:
        """Forget the key now (the vault closed on its own thread)."""
        with self._guard:
            vault, self._vault = self._vault, None
        if vault is not None:
            self._close_on_its_thread(vault)

    def _close_on_its_thread(self, vault: Vault) -> None:
        """Close ``vault`` on the vault's thread: at once when this is that
        thread (a use that finds the idle time over), else handed to it and
        waited for while it finishes what it is doing (at most ``CLOSE_SECONDS``;
        no use can take the vault meanwhile, it is no longer held)."""
        if threading.get_ident() == self._thread_id:
            self._close(vault)
            return
        try:
            closing = self._pool.submit(self._close, vault)
        except RuntimeError:  # the pool is shut down: the process is ending
            self._close(vault)
            return
        with contextlib.suppress(TimeoutError):
            closing.result(timeout=CLOSE_SECONDS)

    def _close(self, vault: Vault) -> None:
        self._shown.clear()  # the next unlock (maybe by another key) records afresh
        _close(vault)

    def close(self, timeout: float = CLOSE_SECONDS) -> bool:
        """Lock, and end the vault's thread (waited for at most ``timeout``
        seconds); True if it ended."""
        self.lock()
        self._pool.shutdown(wait=False, cancel_futures=True)
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _on_its_thread(self) -> None:
        self._thread_id = threading.get_ident()
        self._thread = threading.current_thread()

    # --- using the vault ------------------------------------------------------------

    @property
    def by_emergency_key(self) -> bool:
        """Whether the vault was opened with the emergency key."""
        vault = self._vault
        return vault is not None and vault.by_emergency_key

    @property
    def level(self) -> str | None:
        """The access level of the key that unlocked ('full', or one such as
        'session' that reads and searches its documents only); None when locked."""
        vault = self._vault
        return vault.level if vault is not None else None

    @property
    def key_label(self) -> str | None:
        """The label of the key that unlocked (a personal key's, say)."""
        vault = self._vault
        return vault.key_label if vault is not None else None

    def unlock(self, passphrase: str) -> None:
        """Unlock with the passphrase of any of the vault's keys, the
        coordinator's or a personal key's (``WrongKeyError`` if none opens
        it); audited as 'vault unlock' is, naming the key."""
        self._pool.submit(self._unlock, passphrase, None).result()

    def unlock_with_emergency_key(self, secret: str, reason: str) -> None:
        """Unlock with the emergency key of the sealed sheet; the use, its time
        and ``reason`` go to the audit log first, as with the CLI's
        --emergency-key (``UsageError`` without a reason, ``WrongKeyError``
        if it is not this vault's)."""
        self._pool.submit(self._unlock, None, (secret, reason)).result()

    def _unlock(self, passphrase: str | None, emergency: tuple[str, str] | None) -> None:
        from vault.repository import Vault

        vault = Vault.open(self.root)
        with vault.lock:
            if emergency is not None:
                vault.unlock_with_emergency_key(*emergency)
            else:
                vault.unlock(passphrase or "")
            vault.catalog  # noqa: B018 - opens it and folds the journal in
            vault.audit.append("unlock")
            self._seen = self._stamps(vault)
        vault.lock.on_acquire = None  # cleaned up on first taking; others clean their own
        with self._guard:
            self._vault, self._last_use = vault, self.clock()

    def call(self, work: Callable[[Vault], T], *, touch: bool = True) -> T:
        """Run ``work`` with the unlocked vault on the vault's thread, under its
        lock; ``touch``: it counts as a use (work in the background does not)."""
        return self._pool.submit(self._run, work, touch).result()

    async def run(self, work: Callable[[Vault], T]) -> T:
        """``call`` from the event loop, without blocking it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, work)

    def _run(self, work: Callable[[Vault], T], touch: bool = True) -> T:
        self.lock_if_idle()  # on this thread: the vault is closed here, at once
        with self._guard:
            vault = self._vault
            if vault is None:
                raise LockedVaultError("the vault is locked")
            if touch:
                self._last_use = self.clock()
        with vault.lock:
            self._refresh(vault)
            try:
                return work(vault)
            finally:
                self._seen = self._stamps(vault)

    def record_shown(self, vault: Vault, event: str, ids: list[str]) -> bool:
        """Record ``event`` ('search') showing ``ids`` in the audit log, unless
        every one of them was recorded as shown in the last
        ``SHOWN_AGAIN_SECONDS``; True if an entry was written. Called with
        the vault (on the vault's thread, ``call``/``run``)."""
        now = self.clock()
        if ids and all(
            now - self._shown.get(i, -SHOWN_AGAIN_SECONDS) < SHOWN_AGAIN_SECONDS for i in ids
        ):
            return False
        if ids:
            vault.audit.append(event, ids)
            self._shown.update(dict.fromkeys(ids, now))
        return bool(ids)

    def _stamps(self, vault: Vault) -> tuple[Stamp, Stamp]:
        return (_stamp(vault.layout.head), _stamp(vault.layout.root / JOURNAL))

    def _refresh(self, vault: Vault) -> None:
        """Catch up with what other programs did since the last use."""
        head, journal = self._stamps(vault)
        at_level = vault.level_key is not None  # a level's catalog is made, not folded into
        if head != self._seen[0] or (at_level and journal != self._seen[1]):
            vault.forget_catalog()
            vault.catalog  # noqa: B018 - opened again, the journal folded in
        elif journal != self._seen[1] and vault.journal_entries():
            vault.fold_journal()


def _close(vault: Vault) -> None:
    vault.forget_catalog()
    vault.key = None
    vault.audit.key_label = None
