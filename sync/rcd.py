"""One ``rclone rcd`` for the steps of a sync, driven over its HTTP API.

Starting rclone costs about as much as sending a handful of small files, and
a sync has several ordered steps (preflight listing, new files, head,
journal, removals). So ``vault sync`` starts one daemon (``rclone rcd``,
started by ``rclone.py`` like every rclone process) and makes each step a
call to it: ``operations/list``, ``sync/copy`` with a list file,
``operations/copyfile``, ``operations/delete``.

The API listens on a unix socket in a private (0700) folder made for this
run (named with the process id, so that the next vault command removes it
if this one is killed), so only this user can reach it and it needs no password; where Python
has no unix sockets (Windows) it listens on a loopback port with a password
made for this run. :class:`Daemon` starts rclone on entry and returns at
once, so the caller's own work overlaps its start; the first call waits
until the socket answers. The daemon's log goes to a file in that folder.
On every path out (success, error, Ctrl-C) the daemon is stopped and the
folder removed: terminated (``core/quit`` would take over a second), or
killed at once when every call has been answered (``finish``).

Every call has a timeout. A copy or a delete is one call made from a worker
thread, in a stats group of its own (``_group``), so it answers the moment
rclone is done (polling ``job/status`` of an ``_async`` job was measured
slower: the polls compete with the copy); meanwhile the calling thread
watches it:

- the daemon's log says which files arrived ("Copied …"), also when the copy
  fails, so the caller can record them and not send them again (rclone's
  ``core/transferred`` keeps only the last 100; the log is complete, and a
  call's lines are in the file before its answer is sent);
- after ``GIVE_UP_AFTER`` "cannot connect" errors with nothing sent between,
  the call is stopped (``job/stopgroup``): rclone would otherwise retry every
  remaining file against a dead remote for many minutes;
- when nothing moves for ``STALL_AFTER`` seconds (no byte read or written,
  no file done), the remote is asked for a listing of its top folder; if it
  does not answer within ``PROBE_TIMEOUT`` it went silent (as a dead NAS or
  a pulled cable leaves it: rclone would wait out its network timeouts and
  retries, minutes) and the call is stopped too. A remote that answers is
  slow, not gone (rclone counts a chunk of a large upload when it reads it,
  not as it goes out), and is waited for;
- a failed copy's files not sent yet are tried again twice, after 1 s and
  then 2 s, unless every error said the remote cannot be reached, or it
  went silent (trying again would only wait as long once more);
- ``on_stats`` gets ``core/stats`` of the group every half second.

The one-file copies of the head and the segment lists are watched the same
way. The new segments of the audit log and journal (a few kB) are sent one
call each (``put_file``, not watched) while the watched copy of the new
files runs.

Errors become one line through ``rclone.describe_failure``; secrets are
blanked there.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from sync import rclone
from vault.errors import RemoteError
from vault.fsutil import new_private_dir

SOCKET = "rc.sock"
HAVE_UNIX_SOCKETS = hasattr(socket, "AF_UNIX")
READY_TIMEOUT = 10.0  # rclone answers in well under 0.1 s
CALL_TIMEOUT = 30.0  # job control and stats calls, which answer at once
POLL_FIRST = 0.002  # while waiting for rclone to start
WATCH_EVERY = 0.05  # the log is read this often during a transfer
STATS_EVERY = 0.5
RETRY_PAUSES = (1.0, 2.0)  # a failed copy is tried again after each of these
GIVE_UP_AFTER = rclone.GIVE_UP_AFTER
STALL_AFTER = 20.0  # seconds with nothing moving before the remote is asked if it is there
PROBE_TIMEOUT = 10.0  # how long it has to answer
STALL_EVERY = 1.0  # the call's progress is read this often (when not already for on_stats)

# One try and short network waits, so a dead remote fails in seconds.
PREFLIGHT_CONFIG = {"LowLevelRetries": 1, "ConnectTimeout": "10s", "Timeout": "20s"}
# Send every listed file, asking the remote nothing first (as ``copy --files-from-raw
# LIST --no-traverse --no-check-dest -I``): the cost does not grow with the remote.
SEND_CONFIG = {"NoTraverse": True, "NoCheckDest": True, "IgnoreTimes": True}
# From a local folder to a local folder, rclone's check after each copy compares
# two MD5s of one byte stream (the local backend hashes what it reads and what
# it writes, as it goes): it checks rclone's own buffers, not the disk, and
# costs two MD5 passes over every byte (most of the time spent sending the
# audit log and journal of a large vault). It is skipped there; elsewhere the
# remote's own checksum is compared, and kept. ``vault verify --remote
# --read-data`` re-hashes what was written.
LOCAL_TO_LOCAL_CONFIG = {"IgnoreChecksum": True}
_LIST_OPT = {"filesOnly": True, "noMimeType": True, "noModTime": True}
_NOT_FOUND = "directory not found"
# What rclone's rc says when its first request to a bucket-based remote
# (S3 and the like) failed: it could not tell whether the path is a file.
_IS_FILE = "is a file not a directory"

StatsCallback = Callable[[dict[str, Any]], None]
Work = Callable[[], object]  # Python work done while rclone works on a call


class _Refused(Exception):
    """rclone answered a call with an error (its message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


@dataclass
class _Job:
    success: bool
    error: str
    stats: dict[str, Any]
    gave_up: bool = False
    logs: list[dict[str, Any]] = field(default_factory=list)
    stalled: bool = False

    def reason(self) -> str:
        """The message that says why the job failed."""
        if self.gave_up or not self.error or "context canceled" in self.error:
            return rclone.main_message(self.logs) or self.error
        return self.error

    def hopeless(self) -> bool:
        """True when trying again cannot help: the remote went silent, or every
        error said it cannot be reached."""
        if self.gave_up or self.stalled:
            return True
        messages = [str(r.get("msg", "")) for r in self.logs] or [self.error]
        return all(rclone.is_unreachable(m) for m in messages)


class Daemon:
    """One ``rclone rcd`` for one sync: ``with Daemon(what) as remote: …``.

    ``what`` names the operation in error lines ("sync to remote 'usb'").
    ``calls`` counts the calls made (the benchmark reports it).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.calls = 0
        self._folder: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket = ""
        self._port = 0
        self._headers = {"Content-Type": "application/json"}
        self._ready = False
        self._log_offset = 0
        self._groups = 0
        self._info: dict[str, dict[str, Any]] = {}
        self._counting = threading.Lock()  # calls are made from two threads

    def __enter__(self) -> Daemon:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # --- the process ---------------------------------------------------------------

    def start(self) -> None:
        """Start rclone; do not wait for it (the first call does)."""
        self._folder = new_private_dir()
        try:
            if HAVE_UNIX_SOCKETS:
                self._socket = str(self._folder / SOCKET)
                self._proc = rclone.start_daemon(self._folder, f"unix://{self._socket}")
            else:  # pragma: no cover - Windows; tested on Linux by forcing it
                self._port = _free_port()
                user, password = secrets.token_hex(8), secrets.token_urlsafe(24)
                token = base64.b64encode(f"{user}:{password}".encode()).decode()
                self._headers["Authorization"] = f"Basic {token}"
                self._proc = rclone.start_daemon(
                    self._folder, f"127.0.0.1:{self._port}", credentials=(user, password)
                )
        except BaseException:
            self.close()
            raise

    def finish(self) -> None:
        """Stop rclone now, once every call has been answered: it is idle, so
        it is killed (nothing is lost) and ends while the caller goes on;
        ``close`` then only waits for it. Faster than a graceful exit, which
        takes rclone about 10 ms."""
        if self._proc is not None:
            rclone.kill_daemon(self._proc)

    def close(self) -> None:
        """Stop rclone and remove the private folder (safe to call twice)."""
        try:
            if self._proc is not None:
                rclone.stop_daemon(self._proc)
        finally:
            self._proc = None
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._socket:
            return _UnixConnection(self._socket, timeout)
        return http.client.HTTPConnection("127.0.0.1", self._port, timeout=timeout)

    def _wait_ready(self) -> None:
        if self._ready:
            return
        if self._proc is None:
            raise RuntimeError("the rclone daemon is not running")
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            connection = self._connection(1.0)
            try:
                connection.connect()
                break
            except OSError:
                pass
            finally:
                connection.close()
            if self._proc.poll() is not None:
                raise self._died()
            if time.monotonic() >= deadline:
                raise RemoteError(
                    f"{self.what} failed: rclone did not start within {READY_TIMEOUT:.0f} s"
                )
            time.sleep(POLL_FIRST)
        self._ready = True

    def _died(self) -> RemoteError:
        """Why the daemon stopped, from its log."""
        message = rclone.main_message(self._read_log()) or "rclone stopped unexpectedly"
        return rclone.describe_failure(self.what, message)

    def _read_log(self) -> list[dict[str, Any]]:
        """The daemon's log records written since the last read (whole lines only)."""
        if self._folder is None:
            return []
        try:
            with open(self._folder / rclone.DAEMON_LOG, "rb") as log:
                log.seek(self._log_offset)
                data = log.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self._log_offset += end
        records = (rclone.parse_log_line(line) for line in data[:end].splitlines())
        return [r for r in records if r is not None]

    # --- calls ---------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """POST ``params`` to ``method``: its JSON answer; ``_Refused`` if rclone says no."""
        self._wait_ready()
        with self._counting:
            self.calls += 1
        connection = self._connection(timeout)
        try:
            connection.request(
                "POST", f"/{method}", body=json.dumps(params).encode(), headers=self._headers
            )
            response = connection.getresponse()
            status, data = response.status, response.read()
        except TimeoutError as exc:
            raise RemoteError(
                f"{self.what} failed: rclone did not finish within {timeout:.0f} s",
                hint="check the network connection and try again",
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            if self._proc is not None and self._proc.poll() is not None:
                raise self._died() from exc
            raise RemoteError(f"{self.what} failed: lost touch with rclone ({exc})") from exc
        finally:
            connection.close()
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise RemoteError(f"{self.what} failed: rclone's answer could not be read")
        if status != 200:
            raise _Refused(str(answer.get("error") or f"HTTP status {status}"))
        return answer

    def _silent(self) -> RemoteError:
        return RemoteError(
            f"{self.what} failed: the remote stopped answering "
            f"(nothing moved for {STALL_AFTER:.0f} s, and it did not answer "
            f"within {PROBE_TIMEOUT:.0f} s)",
            hint="check the network connection and the remote, then try again",
        )

    def _failure(self, message: str, root: str) -> RemoteError:
        """One line for ``message``; a misleading "is a file" is explained first."""
        if _IS_FILE in message:
            self._explain(root)
        return rclone.describe_failure(self.what, message)

    def _explain(self, root: str) -> list[rclone.Entry] | None:
        """Find out why rclone's rc called ``root`` a file: a CLI listing says why.

        Raises the real reason (cannot reach the remote, access refused);
        returns the listing if the remote answers now.
        """
        return rclone.list_files(
            root,
            what=self.what,
            recursive=False,
            timeout=rclone.PREFLIGHT_TIMEOUT,
            preflight=True,
        )

    # --- operations ----------------------------------------------------------------

    def list_files(
        self,
        root: str,
        *,
        recursive: bool,
        timeout: float,
        preflight: bool = False,
        include: Sequence[str] = (),
        hashes: Sequence[str] = (),
    ) -> list[rclone.Entry] | None:
        """Files under ``root`` with sizes; None when the folder does not exist.

        No modification times or MIME types (one request per file on some
        backends); recursive listings use ``--fast-list``. ``preflight``: one
        try with short network waits, and afterwards rclone forgets the
        backend it made for it, so the transfers that follow get their own
        retries and waits. ``include``: only files matching these rclone
        filter patterns (folders that cannot match are not listed: no
        ``--fast-list`` then); ``hashes``: the hash types wanted with each
        file, where the remote has them (a local folder computes them).
        """
        config: dict[str, Any] = dict(PREFLIGHT_CONFIG) if preflight else {}
        params: dict[str, Any] = {"fs": root, "remote": "", "opt": dict(_LIST_OPT)}
        if recursive:
            params["opt"]["recurse"] = True
            if not include:
                config["UseListR"] = True  # --fast-list
        if include:
            params["_filter"] = {"IncludeRule": list(include)}
        if hashes:
            params["opt"]["showHash"] = True
            params["opt"]["hashTypes"] = list(hashes)
        if config:
            params["_config"] = config
        answer: dict[str, Any] | None
        try:
            answer = self.call("operations/list", params, timeout=timeout)
        except _Refused as refused:
            if _NOT_FOUND in refused.message:
                answer = None
            elif preflight and _IS_FILE in refused.message:
                found = self._explain(root)  # raises the real reason if there is one
                self._forget_backends()
                return found
            else:
                raise rclone.describe_failure(self.what, refused.message) from None
        if preflight:
            self._forget_backends()
        if answer is None:
            return None
        try:
            return [rclone.entry(r) for r in answer.get("list") or [] if not r.get("IsDir")]
        except (KeyError, TypeError, ValueError) as exc:
            raise RemoteError(f"{self.what} failed: rclone's listing could not be read") from exc

    def _between(self, source: Path | str, dest: str) -> dict[str, Any]:
        """Settings for a copy from ``source`` (a ``Path`` is a local folder) to ``dest``."""
        if isinstance(source, Path) and self._is_local(dest):
            return LOCAL_TO_LOCAL_CONFIG
        return {}

    def _is_local(self, root: str) -> bool:
        """True when rclone's backend for ``root`` is the local filesystem (asked once)."""
        return self.local_folder(root) is not None

    def hash_kinds(self, root: str) -> list[str]:
        """The hash types the remote ``root`` gives ("sha256", "md5", …; asked once)."""
        self._fs_info(root)
        return [str(kind) for kind in self._info[root].get("Hashes") or []]

    def _fs_info(self, root: str) -> None:
        if root not in self._info:
            try:
                self._info[root] = self.call(
                    "operations/fsinfo", {"fs": root}, timeout=CALL_TIMEOUT
                )
            except _Refused:
                self._info[root] = {}  # the copy will say what is wrong

    def local_folder(self, root: str) -> Path | None:
        """The folder ``root`` is, when rclone's backend for it is the local
        filesystem (a plain path, ``:local:``, or a named remote of that type);
        else None. Asked once per ``root``."""
        self._fs_info(root)
        info = self._info[root]
        if not (info.get("Features") or {}).get("IsLocal") or not info.get("Root"):
            return None
        return Path(str(info["Root"]))

    def clean_up(self, root: str, *, timeout: float) -> bool:
        """Empty the trash or delete the old versions the remote ``root`` keeps
        (``operations/cleanup``) where its backend can; False when it cannot.

        S3's cleanup only ends unfinished uploads: a versioned bucket keeps
        every deleted file's old version (Backblaze B2's S3 interface always
        versions), so an S3 remote is one that cannot."""
        self._fs_info(root)
        info = self._info[root]
        if not (info.get("Features") or {}).get("CleanUp"):
            return False
        if str(info.get("String") or "").startswith("S3 "):
            return False
        try:
            self.call("operations/cleanup", {"fs": root}, timeout=timeout)
        except _Refused as exc:
            raise self._failure(str(exc), root) from None
        return True

    def _forget_backends(self) -> None:
        """Drop rclone's cached backends: the next call makes them with its own settings."""
        self.call("fscache/clear", {}, timeout=CALL_TIMEOUT)

    def copy_files(
        self,
        source: Path | str,
        dest: str,
        paths: Sequence[str],
        work: Path,
        *,
        timeout: float,
        on_stats: StatsCallback | None = None,
        copied: list[str] | None = None,
        meanwhile: Work | None = None,
        config: dict[str, Any] | None = None,
    ) -> int:
        """Copy the listed relative paths from ``source`` to ``dest``; return how many were sent.

        Sent unconditionally and without asking the remote about each file
        (``SEND_CONFIG``), so the cost does not grow with what the remote
        holds. A listed file that does not exist is skipped (the count tells).
        ``copied`` receives each file as it arrives, also when the copy
        fails. Gives up early against a dead remote; otherwise tries the
        files not sent yet again, twice. ``timeout`` bounds the whole.
        ``meanwhile`` is run in this thread while rclone copies (once).
        ``config`` overrides settings of ``SEND_CONFIG`` for this copy.
        """
        copied = [] if copied is None else copied
        remote = source if isinstance(source, str) else dest  # the one that may go silent
        deadline = time.monotonic() + timeout
        remaining = list(paths)
        sent = 0
        pauses = list(RETRY_PAUSES)
        while True:
            listing = rclone.write_list(work, remaining)
            params = {
                "srcFs": str(source),
                "dstFs": dest,
                "_filter": {"FilesFromRaw": [str(listing)]},
                "_config": {**SEND_CONFIG, **self._between(source, dest), **(config or {})},
            }
            job = self._run_job(
                "sync/copy", params, deadline, timeout, on_stats, copied, meanwhile, probe=remote
            )
            meanwhile = None
            sent += int(job.stats.get("transfers", 0))
            if job.success:
                return sent
            if job.stalled:
                raise self._silent()
            if job.hopeless() or not pauses or time.monotonic() + pauses[0] >= deadline:
                raise self._failure(job.reason(), dest)
            time.sleep(pauses.pop(0))
            done = set(copied)
            remaining = [p for p in remaining if p not in done]

    def copy_file(
        self,
        source_root: Path | str,
        source: str,
        dest_root: str,
        dest: str,
        *,
        timeout: float,
        meanwhile: Work | None = None,
    ) -> None:
        """Copy one file to an exact path, unconditionally (as ``copyto -I --no-check-dest``).

        ``meanwhile`` is run in this thread while rclone copies.
        """
        params = {
            "srcFs": str(source_root),
            "srcRemote": source,
            "dstFs": dest_root,
            "dstRemote": dest,
            "_config": {
                "NoCheckDest": True,
                "IgnoreTimes": True,
                **self._between(source_root, dest_root),
            },
        }
        deadline = time.monotonic() + timeout
        job = self._run_job(
            "operations/copyfile",
            params,
            deadline,
            timeout,
            None,
            [],
            meanwhile,
            counted=False,
            probe=source_root if isinstance(source_root, str) else dest_root,
        )
        if job.stalled:
            raise self._silent()
        if not job.success:
            raise self._failure(job.reason(), dest_root)

    def put_file(
        self, source_root: Path, source: str, dest_root: str, dest: str, *, timeout: float
    ) -> None:
        """Copy one small file to an exact path in a single call, not watched (no
        log, no stats): for a few kB sent while a watched copy runs (``meanwhile``)."""
        params = {
            "srcFs": str(source_root),
            "srcRemote": source,
            "dstFs": dest_root,
            "dstRemote": dest,
            "_config": {"NoCheckDest": True, "IgnoreTimes": True},
        }
        try:
            self.call("operations/copyfile", params, timeout=timeout)
        except _Refused as refused:
            raise rclone.describe_failure(self.what, refused.message) from None

    def delete_files(self, root: str, paths: Sequence[str], work: Path, *, timeout: float) -> int:
        """Delete the listed relative paths under ``root``; return how many were removed."""
        listing = rclone.write_list(work, paths)
        params = {
            "fs": root,
            "_filter": {"FilesFromRaw": [str(listing)]},
            "_config": {"NoTraverse": True},
        }
        job = self._run_job(
            "operations/delete", params, time.monotonic() + timeout, timeout, None, [], probe=root
        )
        if job.stalled:
            raise self._silent()
        if not job.success:
            if _NOT_FOUND in job.error:
                return 0
            raise self._failure(job.reason(), root)
        return int(job.stats.get("deletes", 0))

    def download_file(self, root: str, source: str, dest: Path, *, timeout: float) -> None:
        """Copy one file of the remote into the local folder ``dest``."""
        params = {"srcFs": root, "srcRemote": source, "dstFs": str(dest), "dstRemote": source}
        try:
            self.call("operations/copyfile", params, timeout=timeout)
        except _Refused as refused:
            raise self._failure(refused.message, root) from None

    # --- jobs ----------------------------------------------------------------------

    def _run_job(
        self,
        method: str,
        params: dict[str, Any],
        deadline: float,
        timeout: float,
        on_stats: StatsCallback | None,
        copied: list[str],
        meanwhile: Work | None = None,
        *,
        counted: bool = True,
        probe: str,
    ) -> _Job:
        """Call ``method`` and watch it to its end (see the module's docstring).

        The call is made from a worker thread and answers the moment rclone
        is done, with no polling delay; meanwhile this thread runs
        ``meanwhile``, then reads the daemon's log and, every half second
        or second, the stats of the call's group. ``counted``: the final
        stats are wanted (not for a one-file copy: one call less). ``probe``:
        the remote to ask whether it is still there when nothing moves.
        """
        self._wait_ready()
        self._read_log()  # what came before is not this call's
        self._groups += 1
        group = {"group": f"vault-{self._groups}"}
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["answer"] = self.call(
                    method, {**params, "_group": group["group"]}, timeout=timeout + CALL_TIMEOUT
                )
            except BaseException as error:  # handed to the watching thread
                outcome["error"] = error

        worker = threading.Thread(target=call, name=f"rclone {method}", daemon=True)
        worker.start()
        if meanwhile is not None:
            meanwhile()
        logs: list[dict[str, Any]] = []
        unreachable = 0
        started = time.monotonic()
        next_stats = started + (STATS_EVERY if on_stats is not None else STALL_EVERY)
        progress: tuple[object, ...] = ()
        moved = started  # when progress last changed
        while True:
            worker.join(timeout=WATCH_EVERY)
            done = not worker.is_alive()
            for record in self._read_log():  # complete up to here once the call answered
                msg = str(record.get("msg", ""))
                if msg.startswith("Copied") and record.get("object"):
                    copied.append(str(record["object"]))
                    unreachable = 0
                elif record.get("level") in ("error", "critical", "fatal"):
                    logs.append(record)
                    if rclone.is_unreachable(msg):
                        unreachable += 1
            if done:
                break
            if unreachable >= GIVE_UP_AFTER:
                self._stop_group(group)
                stats = self.call("core/stats", group, timeout=CALL_TIMEOUT)
                return _Job(False, "", stats, True, logs)
            now = time.monotonic()
            if now >= deadline:
                self._stop_group(group)
                raise RemoteError(
                    f"{self.what} failed: rclone did not finish within {timeout:.0f} s",
                    hint="check the network connection and try again",
                )
            if now >= next_stats:
                stats = self.call("core/stats", group, timeout=CALL_TIMEOUT)
                if on_stats is not None:
                    on_stats(stats)
                now_progress = (*_progress(stats), len(copied), len(logs))
                if now_progress != progress:
                    progress, moved = now_progress, now
                elif now - moved >= STALL_AFTER:
                    if not self._answers(probe):
                        self._stop_group(group)
                        return _Job(False, "", stats, False, logs, stalled=True)
                    moved = time.monotonic()  # slow, not gone: wait as long again
                next_stats = now + (STATS_EVERY if on_stats is not None else STALL_EVERY)
        error = outcome.get("error")
        if error is not None and not isinstance(error, _Refused):
            raise error
        stats = {}
        if counted or on_stats is not None:
            stats = self.call("core/stats", group, timeout=CALL_TIMEOUT)
        if on_stats is not None:
            on_stats(stats)
        if isinstance(error, _Refused):
            return _Job(False, error.message, stats, False, logs)
        return _Job(True, "", stats, False, logs)

    def _answers(self, root: str) -> bool:
        """True when remote ``root`` answers a listing of its top folder within
        ``PROBE_TIMEOUT`` (one try, short network waits)."""
        params = {
            "fs": root,
            "remote": "",
            "opt": dict(_LIST_OPT),
            "_config": dict(PREFLIGHT_CONFIG),
        }
        try:
            self.call("operations/list", params, timeout=PROBE_TIMEOUT)
        except _Refused as refused:  # an answer, unless it says the remote is out of reach
            return not rclone.is_unreachable(refused.message)
        except RemoteError:
            return False  # no answer in time
        return True

    def _stop_group(self, group: dict[str, str]) -> None:
        self.call("job/stopgroup", group, timeout=CALL_TIMEOUT)


def _progress(stats: dict[str, Any]) -> tuple[object, ...]:
    """What moves while a call makes headway: bytes, files done, checks, deletions,
    and the bytes of each file in flight."""
    moving = tuple(
        (t.get("name"), t.get("bytes"))
        for t in stats.get("transferring") or []
        if isinstance(t, dict)
    )
    keys = ("bytes", "transfers", "checks", "deletes", "errors", "serverSideCopies")
    return (*(stats.get(k) for k in keys), moving)


def _free_port() -> int:  # pragma: no cover - Windows; tested on Linux by forcing it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
