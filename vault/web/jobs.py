"""The web page's work in the background: storing dropped files, backing up.

A dropped file is received into a private work folder (0700, on tmpfs where
there is one, ``vault.fsutil``) and stored by a thread of its own as
``vault ingest`` stores it without the passphrase: read (OCR), encrypted to
the vault's public key, recorded in the journal; the unlocked vault then
folds it in (duplicates are dropped there). The work folder goes as soon as
the file is stored or quarantined. The vault's lock is taken only while a
document is written, never during OCR, so searching goes on meanwhile.
Progress (per file: pages read, stored, not stored and why) is kept in
memory for the page to ask for.

When the page stops (``close``), files not yet begun are given up (their
work folders removed), the file being read stops after the page it is on,
and the threads are waited for, within a time limit.

'Back up now' runs ``sync.backup.sync_remote`` for each remote in a thread,
its transfer figures kept for the progress bar. The quarantine and the
backups' facts need no passphrase.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vault.errors import UsageError, VaultError
from vault.repository import Vault

if TYPE_CHECKING:
    from ingest.pipeline import Outcome
    from vault.web.keeper import Keeper

MAX_UPLOAD = 2 * 1024**3  # bytes in one file
DOC_TYPES = ("referral", "court-order", "letter", "other")
STOP_SECONDS = 15.0  # waited for the file being read (one page) and a backup at the end
CLOSED = "the vault's page was closed before it was stored; drop it again"


class StoppedError(Exception):
    """The page is closing: the file being read is given up."""


class StoringVault(Vault):
    """A vault without its key that takes the lock only while it writes a document."""

    def store_file(self, path: Path, **kwargs: Any) -> Any:
        with self.lock:
            return super().store_file(path, **kwargs)


@dataclass
class FileJob:
    number: int
    name: str
    state: str = "waiting"  # waiting, reading, stored, not stored
    page: int = 0
    pages: int = 0
    message: str = ""
    documents: list[str] = field(default_factory=list)
    doc_type: str | None = None
    family: str | None = None


@dataclass
class BackupJob:
    running: bool = False
    remote: str = ""
    done_bytes: int = 0
    total_bytes: int = 0
    files: int = 0
    total_files: int = 0
    messages: list[str] = field(default_factory=list)


class Jobs:
    def __init__(self, root: Path, keeper: Keeper) -> None:
        self.root = root
        self.keeper = keeper
        self._files: list[FileJob] = []
        self._numbers = itertools.count(1)
        self._queue: Queue[tuple[FileJob, Path, Path]] = Queue()
        self._guard = threading.Lock()
        self._worker: threading.Thread | None = None
        self._backup = BackupJob()
        self._backup_thread: threading.Thread | None = None
        self._closing = False

    def close(self, timeout: float = STOP_SECONDS) -> bool:
        """Stop: files not begun are given up, the one being read stops after
        its page; wait at most ``timeout`` seconds for the threads (True: they ended)."""
        with self._guard:
            self._closing = True
            while True:
                try:
                    job, folder, _ = self._queue.get_nowait()
                except Empty:
                    break
                shutil.rmtree(folder, ignore_errors=True)
                job.state, job.message = "not stored", CLOSED
            threads = [t for t in (self._worker, self._backup_thread) if t is not None]
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    # --- storing --------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        """Take one dropped file (the request's body) and queue it for storing."""
        from vault import family as families
        from vault.fsutil import new_private_dir

        if not self.keeper.unlocked:
            return JSONResponse({"error": "The vault is locked."}, status_code=401)
        if self._closing:
            return JSONResponse({"error": "The vault's page is closing."}, status_code=503)
        name = Path(request.query_params.get("name", "") or "document").name or "document"
        doc_type = request.query_params.get("type") or None
        if doc_type is not None and doc_type not in DOC_TYPES:
            return JSONResponse({"error": "Unknown type."}, status_code=400)
        family = (request.query_params.get("family") or "").strip() or None
        try:
            family = families.normalise(family, "Family") if family else None
        except UsageError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        folder = new_private_dir()
        path = folder / name
        size = 0
        try:
            with open(path, "xb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_UPLOAD:
                        raise UsageError("the file is too big to store from the web page")
                    out.write(chunk)
        except (OSError, UsageError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            reason = exc.message if isinstance(exc, UsageError) else "could not be received"
            return JSONResponse({"error": reason}, status_code=400)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job = FileJob(next(self._numbers), name, doc_type=doc_type, family=family)
        with self._guard:
            if self._closing:  # closed while it came
                shutil.rmtree(folder, ignore_errors=True)
                return JSONResponse({"error": "The vault's page is closing."}, status_code=503)
            self._files.append(job)
            self._queue.put((job, folder, path))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._store_all, daemon=True)
                self._worker.start()
        return JSONResponse({"number": job.number})

    def ingest_progress(self) -> dict[str, Any]:
        with self._guard:
            return {"files": [asdict(job) for job in self._files]}

    def idle(self) -> bool:
        with self._guard:
            return all(job.state in ("stored", "not stored") for job in self._files)

    def _store_all(self) -> None:
        while True:
            with self._guard:
                if self._queue.empty():
                    self._worker = None
                    return
                job, folder, path = self._queue.get()
            try:
                self._store(job, path)
            except StoppedError:
                job.state, job.message = "not stored", CLOSED
            except Exception as exc:  # one file's failure never stops the others
                job.state, job.message = "not stored", _said(exc)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

    def _store(self, job: FileJob, path: Path) -> None:
        from ingest.pipeline import Ingester
        from ingest.settings import ingest_settings

        vault = StoringVault.open(self.root)
        settings = ingest_settings(
            vault.root, vault.config, doc_type=job.doc_type, family=job.family
        )
        job.state = "reading"

        def page(done: int, total: int) -> None:
            if self._closing:  # the OCR stops its pages, removes its files, and this ends
                raise StoppedError
            job.page, job.pages = done, total

        outcome = Ingester(settings, quarantine_refused=True).ingest_file(vault, path, on_page=page)
        if _stored(outcome):  # folded in before it is said to be stored: it can be found
            with contextlib.suppress(VaultError):  # locked meanwhile: folded at the next unlock
                self.keeper.call(lambda v: v.fold_journal(), touch=False)
        self._record(job, outcome)

    def _record(self, job: FileJob, outcome: Outcome) -> None:
        from ingest.batch import Split
        from ingest.pipeline import Ingested

        parts = outcome.parts if isinstance(outcome, Split) else [outcome]
        stored = [p for p in parts if isinstance(p, Ingested)]
        job.documents = [p.stored.doc_id for p in stored]
        if stored:
            job.state = "stored"
            job.page = job.pages = max(job.pages, 1)
            job.message = "; ".join(p.message(verbose=False, titled=True) for p in stored)
        else:
            job.state = "not stored"
            job.message = outcome.message(verbose=False)

    # --- the quarantine ------------------------------------------------------------

    def quarantined(self) -> list[dict[str, Any]]:
        from ingest.quarantine import quarantine_folder, quarantined, reason_of
        from vault.repository import require_vault

        require_vault(self.root)
        vault = Vault.open(self.root)
        folder = quarantine_folder(vault.root, None, vault.config)
        return [{"name": _shown_name(p), "reason": reason_of(p)} for p in quarantined(folder)]

    # --- backups ------------------------------------------------------------------------

    def backups(self) -> list[dict[str, Any]]:
        from sync import wording
        from sync.status import gather_status
        from vault import clock
        from vault.repository import require_vault

        require_vault(self.root)
        status = gather_status(Vault.open(self.root))
        rows = []
        for remote in status.remotes:
            check = remote.last_verify or {}
            drill = remote.last_drill or {}
            rows.append(
                {
                    "name": remote.name,
                    "line": wording.backup_line(remote),
                    "last_sync": clock.shown(remote.last_sync),
                    "waiting_files": remote.waiting_files,
                    "waiting_bytes": remote.waiting_bytes,
                    "last_check": clock.shown(check.get("time")),
                    "check_ok": check.get("ok"),
                    "last_drill": clock.shown(drill.get("time")),
                    "drill_ok": drill.get("ok"),
                    "checks": wording.remote_check_lines(remote),
                }
            )
        return rows

    @property
    def backup_running(self) -> bool:
        return self._backup.running

    def start_backup(self) -> bool:
        """Back up to every remote in a thread; False if one is running already."""
        with self._guard:
            if self._backup.running:
                return False
            if self._closing:
                return False
            self._backup = BackupJob(running=True)
            self._backup_thread = threading.Thread(target=self._back_up, daemon=True)
            self._backup_thread.start()
        return True

    def backup_progress(self) -> dict[str, Any]:
        return asdict(self._backup)

    def _back_up(self) -> None:
        from sync.backup import sync_remote
        from sync.remotes import resolve

        job = self._backup
        try:
            vault = Vault.open(self.root)
            for name, path in resolve(vault.config, None).items():
                job.remote = name
                job.done_bytes = job.total_bytes = job.files = job.total_files = 0

                def stats(found: dict[str, Any]) -> None:
                    job.done_bytes = int(found.get("bytes", 0))
                    job.total_bytes = int(found.get("totalBytes", 0))
                    job.files = int(found.get("transfers", 0))
                    job.total_files = int(found.get("totalTransfers", 0))

                try:
                    result = sync_remote(vault, name, path, on_stats=stats)
                except VaultError as exc:
                    job.messages.append(f"{name}: not backed up: {exc.message}")
                    continue
                sent = result.uploaded if hasattr(result, "uploaded") else None
                count = len(sent) if isinstance(sent, list | tuple | set | dict) else None
                done = f"{count} files sent" if count is not None else "done"
                job.messages.append(f"{name}: backed up ({done}).")
                if result.damaged:
                    job.messages.append(
                        f"{name}: {len(result.damaged)} files read back were missing or "
                        f"damaged there; run 'vault repair {name}'."
                    )
        except VaultError as exc:
            job.messages.append(f"Not backed up: {exc.message}")
        except Exception as exc:
            job.messages.append(f"Not backed up: {_said(exc)}")
        finally:
            job.running = False


def _stored(outcome: Outcome) -> bool:
    from ingest.batch import Split
    from ingest.pipeline import Ingested

    parts = outcome.parts if isinstance(outcome, Split) else [outcome]
    return any(isinstance(p, Ingested) for p in parts)


def _shown_name(path: Path) -> str:
    from ingest.quarantine import original_name

    return original_name(path)


def _said(exc: BaseException) -> str:
    if isinstance(exc, VaultError):
        return exc.message
    return f"an unexpected error ({type(exc).__name__})"
