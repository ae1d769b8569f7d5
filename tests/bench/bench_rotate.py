"""Benchmark ``vault rotate`` against the ``age`` command on the same objects.

Run through ``scripts/bench rotate``. A real vault of ``--documents`` (default
2,000) documents of ``--mb-per-document`` (default 0.5: about 1 GB in all) is
made once (``random_vault.make_vault``, encrypted: every object an age file
under the data key, every manifest signed, with a generated document's page
text; most documents small, one in 400 large, in parts of 64 MiB). Each round
works on a copy of it (``generated.work_copy``: the objects and manifests
hard links, which a rotation never changes, only removes) and times, one
after the other on the same files (in the page cache after an untimed read):

- **age per object** (the baseline the goal is judged against): for every
  file of ``objects/`` and ``manifests/``, ``age -d -i OLDKEY FILE | age -r
  NEWRECIPIENT -o OUT``, in one ``bash`` loop (``pipefail``: a failed
  decryption stops it). A pipe, because the vault does it in one pass with
  no plaintext on disk; the two ``age`` processes of a pair run at once, and
  each object costs two process starts, which the vault does not pay. The
  old key is the data secret ``make_vault`` returns (a benchmark's
  shortcut: the same as unlocking ``keys/passphrase.age``). The loop
  followed by ``sync`` is printed too (for comparison only: the vault makes
  each new file durable, ``age`` does not).
- **age on the concatenated bytes** (for comparison only): one such pipe on
  one age file of the same plaintext size as all those files together: the
  same bytes with no process start per object.
- **vault rotate**: the real command, in its own process, non-interactive
  (``VAULT_PASSPHRASE``, ``VAULT_NEW_PASSPHRASE``, ``--emergency-sheet`` a
  new file each round, ``--quiet``): its start, imports, the scrypt runs
  (unlocking, the new passphrase's key file, the check that the new
  passphrase opens no key now), the emergency sheet, every document moved
  (each object and manifest decrypted, encrypted again, made durable), the
  new catalog and the switch. Then a check that it worked: ``vault list
  --json`` with the new passphrase lists every document, the old passphrase
  is refused, as many object and manifest files are there as before, and
  ``age -d`` opens an object with the new data key.

Every timed command is started from the minimal trampoline of
``bench_objects.py`` (``os.wait4``): its wall time, its CPU seconds (user +
system, of the process and of every process it waited for: each ``age`` of
the bash loop) and its peak RSS (``ru_maxrss`` of the process and of its
descendants: the largest one, not a sum; a rotation starts none). Before each,
dirty pages are flushed (``sync``) so one run's writeback does not land on
the next.

A rotation's peak memory is given twice: the whole process's, and its peak
once the new keys are made (``PeakAfterBegin``). Before that it runs scrypt
three times (unlocking, checking that the new passphrase opens no key now,
wrapping the new key), 256 MiB each, as every command that takes a
passphrase does; what the rotation itself holds is the second figure.

The ratio rotate / age per object of each round pairs runs taken moments
apart; the median is judged. Goals: at most 1.2x, peak memory under 200 MB
(both figures judged). Always exits 0 unless something fails; verdicts are
printed as PASS/FAIL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.bench_objects import AGE, ROOT, SYNC, run_measured, settle

RATIO_GOAL = 1.2
MEMORY_GOAL_MB = 200
NEW_PASSPHRASE = "Rotated Willow 2027"
BASH = shutil.which("bash") or "/bin/bash"
STORES = ("objects", "manifests")

# $1 age, $2 old identity file, $3 new recipient, $4 output folder, $5 the
# list of files (one a line).
PER_OBJECT = r"""
set -euo pipefail
age=$1 key=$2 recipient=$3 out=$4
while IFS= read -r file; do
  "$age" -d -i "$key" "$file" | "$age" -r "$recipient" -o "$out/${file##*/}"
done < "$5"
"""
# $1 age, $2 old identity file, $3 new recipient, $4 output file, $5 the age file.
CONCATENATED = r"""
set -euo pipefail
"$1" -d -i "$2" "$5" | "$1" -r "$3" -o "$4"
"""


@dataclass
class Run:
    seconds: float
    cpu: float
    peak_mb: float  # the whole process's (the largest process's, for a tree)
    working_mb: float | None = None  # a rotation's, once its new keys are made


@dataclass
class Measured:
    per_object: list[Run] = field(default_factory=list)
    synced: list[Run] = field(default_factory=list)  # per object, then ``sync``
    concatenated: list[Run] = field(default_factory=list)
    rotate: list[Run] = field(default_factory=list)

    def ratio(self, baseline: list[Run]) -> float:
        return statistics.median(
            r.seconds / b.seconds for r, b in zip(self.rotate, baseline, strict=True)
        )


def measured(argv: list[str], work: Path, env: dict[str, str] | None = None) -> Run:
    settle()
    output = work / "output.txt"
    try:
        r = run_measured(argv, work, env, output)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"{exc}\n{output.read_text(errors='replace')[-3000:]}") from None
    return Run(r["wall"], r["cpu"], r["maxrss_kb"] / 1024)


class PeakAfterBegin(threading.Thread):
    """Watches the ``vault rotate`` this process starts (under the trampoline):
    once ``rotation/state.json`` is there (the new keys made, so every scrypt
    run of the passphrases done), reads the process's peak RSS so far and
    resets it (``/proc/PID/clear_refs``), so the peak its ``wait4`` gives is
    that of the rest: moving the documents, the new catalog, the switch."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.state = root / "rotation" / "state.json"
        self.before_kb: int | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            pid = self._rotating()
            if pid is None or not self.state.exists():
                continue
            with contextlib.suppress(OSError, ValueError):
                before = _status_kb(pid, "VmHWM")
                Path(f"/proc/{pid}/clear_refs").write_text("5")
                self.before_kb = before
            return

    @staticmethod
    def _rotating() -> int | None:
        """The trampoline's child: the child of this process's child."""
        me = os.getpid()
        with contextlib.suppress(OSError, ValueError):
            for child in Path(f"/proc/{me}/task/{me}/children").read_text().split():
                grandchildren = Path(f"/proc/{child}/task/{child}/children").read_text().split()
                if grandchildren:
                    return int(grandchildren[0])
        return None


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ValueError(f"no {field} for process {pid}")


def measured_rotate(argv: list[str], work: Path, env: dict[str, str], root: Path) -> Run:
    watcher = PeakAfterBegin(root)
    watcher.start()
    try:
        run = measured(argv, work, env)
    finally:
        watcher.done.set()
        watcher.join()
    if watcher.before_kb is not None:
        run.working_mb = run.peak_mb  # the peak since the reset
        run.peak_mb = max(run.peak_mb, watcher.before_kb / 1024)
    return run


def store_files(root: Path) -> list[Path]:
    """Every object and manifest file of the vault at ``root``."""
    return sorted(p for store in STORES for p in (root / store).glob("*/*") if p.is_file())


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def make_concatenated(path: Path, plaintext: int, recipient: str) -> None:
    """An age file to ``recipient`` of ``plaintext`` random bytes (a block, repeated)."""
    block = os.urandom(4 * 1024 * 1024)
    with subprocess.Popen([AGE, "-r", recipient, "-o", str(path)], stdin=subprocess.PIPE) as age:
        assert age.stdin is not None
        left = plaintext
        while left:
            piece = block[: min(left, len(block))]
            age.stdin.write(piece)
            left -= len(piece)
        age.stdin.close()
    if age.returncode != 0:
        raise RuntimeError("age could not make the concatenated file")


def vault_env(state: Path, passphrase: str) -> dict[str, str]:
    """The environment of a vault command: its own state folder (the
    anchors), never the user's, and the passphrase given."""
    env = dict(os.environ, XDG_STATE_HOME=str(state), VAULT_PASSPHRASE=passphrase)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("VAULT_NEW_PASSPHRASE", None)
    env.pop("VAULT_DIR", None)
    return env


def vault_command() -> list[str]:
    script = Path(sys.executable).parent / "vault"
    return [str(script)] if script.exists() else [sys.executable, "-m", "vault"]


def check_rotated(root: Path, state: Path, documents: int, files: int, work: Path) -> None:
    """Raise unless the rotation at ``root`` left a vault the new passphrase opens."""
    from tests.bench.random_vault import PASSPHRASE
    from vault.keys import KeyPaths, unlock_with_passphrase

    listed = subprocess.run(
        [*vault_command(), "--vault", str(root), "list", "--json"],
        env=vault_env(state, NEW_PASSPHRASE),
        capture_output=True,
        timeout=600,
        check=False,
    )
    if listed.returncode != 0:
        raise RuntimeError(f"vault list after the rotation failed: {listed.stderr.decode()}")
    if len(json.loads(listed.stdout)) != documents:
        raise RuntimeError(f"vault list after the rotation did not list {documents} documents")
    old = subprocess.run(
        [*vault_command(), "--vault", str(root), "list", "--json"],
        env=vault_env(state, PASSPHRASE),
        capture_output=True,
        timeout=600,
        check=False,
    )
    if old.returncode == 0:
        raise RuntimeError("the old passphrase still opens the vault after the rotation")
    now = store_files(root)
    if len(now) != files:
        raise RuntimeError(f"{len(now)} object and manifest files after the rotation, not {files}")
    key = unlock_with_passphrase(KeyPaths(root / "keys"), NEW_PASSPHRASE)
    keyfile = work / "new-key.txt"
    write_private(keyfile, key.secret + "\n")
    try:
        opened = subprocess.run(
            [AGE, "-d", "-i", str(keyfile), "-o", os.devnull, str(now[0])],
            capture_output=True,
            timeout=600,
            check=False,
        )
    finally:
        keyfile.unlink()
    if opened.returncode != 0:
        raise RuntimeError("age -d with the new data key did not open an object")


def bench(work: Path, documents: int, mb_per_document: float, rounds: int) -> Measured:
    from tests.bench.generated import work_copy
    from tests.bench.random_vault import PASSPHRASE, make_vault
    from vault import crypto

    os.environ["XDG_STATE_HOME"] = str(work / "state-made")  # anchors of the made vault
    made = work / "made"
    started = time.perf_counter()
    keys = make_vault(made, documents, mb_per_document, encrypted=True)
    files = store_files(made)
    size = sum(p.stat().st_size for p in files)
    plaintext = sum(crypto.plaintext_size(p) for p in files)
    log(f"{documents} documents: {len(files)} object and manifest files, {size / 1e6:.0f} MB; "
        f"made in {time.perf_counter() - started:.1f}s")  # fmt: skip
    old_key = work / "old-key.txt"
    write_private(old_key, keys.data.secret + "\n")
    _, new_recipient = crypto.generate_identity()  # the baseline's; the rotation makes its own
    concatenated = work / "concatenated.age"
    make_concatenated(concatenated, plaintext, keys.data.recipient)
    for path in [*files, concatenated]:  # untimed: every file into the page cache
        with open(path, "rb") as f:
            while f.read(1024 * 1024):
                pass
    result = Measured()
    for n in range(1, rounds + 1):
        round_dir = work / f"round-{n}"
        round_dir.mkdir()
        root = work_copy(made, round_dir / "vault")
        listing = round_dir / "files.txt"
        listing.write_text("".join(f"{p}\n" for p in store_files(root)))
        out = round_dir / "age-out"
        out.mkdir()
        age_args = [AGE, str(old_key), new_recipient]
        run = measured([BASH, "-c", PER_OBJECT, "bash", *age_args, str(out), str(listing)], work)
        written = list(out.iterdir())
        if len(written) != len(files):
            raise RuntimeError(f"age per object wrote {len(written)} files of {len(files)}")
        result.per_object.append(run)
        r = run_measured([SYNC], work)  # no settle first: what it flushes is age's output
        peak = max(run.peak_mb, r["maxrss_kb"] / 1024)
        result.synced.append(Run(run.seconds + r["wall"], run.cpu + r["cpu"], peak))
        shutil.rmtree(out)
        log(f"  round {n}: age per object {run.seconds:.2f}s (CPU {run.cpu:.2f}s), "
            f"then sync {r['wall']:.2f}s")  # fmt: skip

        out_file = round_dir / "concatenated-out.age"
        argv = [BASH, "-c", CONCATENATED, "bash", *age_args, str(out_file), str(concatenated)]
        run = measured(argv, work)
        out_file.unlink()
        result.concatenated.append(run)
        log(f"  round {n}: age on the concatenated bytes {run.seconds:.2f}s (CPU {run.cpu:.2f}s)")

        state = round_dir / "state"
        env = vault_env(state, PASSPHRASE)
        env["VAULT_NEW_PASSPHRASE"] = NEW_PASSPHRASE
        sheet = round_dir / f"emergency-sheet-{n}.pdf"
        argv = [*vault_command(), "--vault", str(root), "rotate"]
        argv += ["--emergency-sheet", str(sheet), "--quiet"]
        run = measured_rotate(argv, work, env, root)
        result.rotate.append(run)
        working = f"{run.working_mb:.0f}" if run.working_mb is not None else "?"
        log(f"  round {n}: vault rotate {run.seconds:.2f}s (CPU {run.cpu:.2f}s, "
            f"peak {run.peak_mb:.0f} MB, {working} MB once the new keys were made)")  # fmt: skip
        check_rotated(root, state, documents, len(files), work)
        shutil.rmtree(round_dir)
    return result


def report(m: Measured, documents: int, mb_per_document: float, load: tuple[str, str]) -> None:
    rounds = len(m.rotate)
    print()
    print(
        f"vault rotate of {documents} documents (about {documents * mb_per_document:,.0f} MB) "
        f"vs age, medians of {rounds} round{'s' * (rounds > 1)}"
    )
    print(f"{'':<34} {'seconds':>8} {'CPU s':>7} {'peak MB':>8} {'rotate is':>10}")
    rows = [
        ("age per object (the baseline)", m.per_object),
        ("age per object, then sync", m.synced),
        ("age on the concatenated bytes", m.concatenated),
        ("vault rotate", m.rotate),
    ]
    for name, runs in rows:
        ratio = f"{m.ratio(runs):.2f}x" if runs is not m.rotate else ""
        print(
            f"{name:<34} {statistics.median(r.seconds for r in runs):>8.2f} "
            f"{statistics.median(r.cpu for r in runs):>7.2f} "
            f"{max(r.peak_mb for r in runs):>8.0f} {ratio:>10}"
        )
    working = [r.working_mb for r in m.rotate if r.working_mb is not None]
    if working:
        print(
            f"vault rotate's peak once its new keys were made (moving, the new catalog, "
            f"the switch): {max(working):.0f} MB"
        )
    print(
        "CPU s: user + system seconds of the process and of every process it waited for; "
        "peak MB: the largest process's"
    )
    print(f"load average before and after: {load[0]}; {load[1]}")
    print()
    ratio = m.ratio(m.per_object)
    print(
        f"time: {ratio:.2f}x age per object (goal <= {RATIO_GOAL}x) "
        + ("PASS" if ratio <= RATIO_GOAL else "FAIL")
    )
    peak = max(r.peak_mb for r in m.rotate)
    print(
        f"peak memory, the whole process: {peak:.0f} MB (goal < {MEMORY_GOAL_MB} MB) "
        + ("PASS" if peak < MEMORY_GOAL_MB else "FAIL")
        + " (a passphrase's scrypt run takes 256 MiB, in every command that unlocks with one)"
    )
    if len(working) == len(m.rotate):
        print(
            f"peak memory once the new keys were made: {max(working):.0f} MB "
            f"(goal < {MEMORY_GOAL_MB} MB) " + ("PASS" if max(working) < MEMORY_GOAL_MB else "FAIL")
        )


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_rotate", description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=2000, help="documents in the vault")
    parser.add_argument(
        "--mb-per-document", type=float, default=0.5, help="average size (default 0.5 MB)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/var/tmp"),
        help="where the work folder is made (and removed at the end)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.rounds < 1 or args.documents < 1 or args.mb_per_document <= 0:
        parser.error("--documents, --rounds and --mb-per-document must be positive")
    if not os.path.exists(AGE):
        parser.error("the reference age command was not found")
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vault-bench-rotate-", dir=args.dir.resolve()))
    before = loadavg()
    try:
        result = bench(work, args.documents, args.mb_per_document, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(result, args.documents, args.mb_per_document, (before, loadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
