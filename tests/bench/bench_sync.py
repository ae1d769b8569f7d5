"""Benchmark an incremental ``vault sync`` against a plain ``rclone copy``.

Run as ``python -m tests.bench.bench_sync`` (from the project folder). For each
size (default 1,000 and 10,000 objects) a vault-like store is made: small fake
objects and manifests named by their SHA-256, a journal naming them, public
key and settings files; no real documents (none are needed to move
ciphertext), and an audit log of real chained entries. It is synced once to
a local-folder remote (untimed). Then, in each round, 10 new files (5
documents: an object and a manifest each, with their journal and audit lines,
as a locked ingest adds them) are written, and two things are timed in the
same run:

- ``sync_remote`` (the library function behind ``vault sync``): it starts one
  ``rclone rcd`` and, while it boots, takes the snapshot; then the preflight
  listing, the 10 files, the new segments of the audit log and journal,
  then the list that names them, each an rc call to that daemon;
- the baseline: a plain ``rclone copy --files-from LIST --no-traverse`` of
  just those 10 files to a fresh folder, the cheapest way rclone can send them.

The table also counts, for the last round, the rclone processes the sync
started and the rc calls it made.

Each round's ratio sync / baseline pairs measurements taken moments apart;
the median of those ratios is the figure judged (the machine may be shared
and noisy), beside the median times, with the goal: at most 1.5x, and flat
as the vault grows (the ratio at the largest size at most 1.25 times the one
at the smallest). It always exits 0 unless
something fails; the verdicts are printed as PASS/FAIL.

The "day" scenario (``--scenario day``; ``--scenario all`` runs both) is a
centre's working day on a generated vault of real documents
(``tests/bench/generated.py``, cached between runs; default 10,000 and
30,000 documents): 10 new documents stored without the passphrase (as the
scanner folder stores them), one ``vault edit`` of an older document's family
reference, one ``vault search`` (which folds the 10 in), then ``vault sync``
to a local-folder remote, all through the CLI but the storing. What the sync
sent is read from the remote folder: the bytes of every file it created or
replaced. It is set against the bytes of the day's new objects and manifests
(the files the day added to ``objects/`` and ``manifests/``), which any backup
must send. Goals: a day sends at most those plus 256 kB (every day but those
that rewrite the catalog's base: the head names a new ``catalog``; and at
most one day in 10 does); over all the days (``--days``, default 100), base
rewrites included, at most 1.5x the bytes of the documents added. Each day's
line also splits what it sent by the remote's top folder (``catalog``,
``audit``, ``objects``, ...), and the table gives the largest day.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.bench.generated import NewDocuments

RATIO_GOAL = 1.5
FLAT_GOAL = 1.25
NEW_FILES = 10
DAY_DOCUMENTS = 10
DAY_ALLOWANCE = 256_000  # bytes a day may send beyond its new objects and manifests
DAY_AVERAGE_GOAL = 1.5  # bytes sent over many days / bytes of the documents added
BASE_SHARE = 10  # at most one day in this many may write a new catalog base


def write_object(root: Path, store: str, data: bytes) -> tuple[str, int]:
    object_id = hashlib.sha256(data).hexdigest()
    folder = root / store / object_id[:2]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / object_id).write_bytes(data)
    return object_id, len(data)


def chained_audit_lines(root: Path, ids: list[str]) -> list[str]:
    """One "ingest" entry per id, chained as ``vault/audit.py`` chains them."""
    from vault.audit import AuditLog

    seq, prev = AuditLog(root / "audit.log").tip()
    lines = []
    for object_id in ids:
        seq += 1
        body = {
            "seq": seq, "time": "2025-01-01T00:00:00+00:00", "event": "ingest",
            "ids": [object_id], "detail": {}, "prev": prev,
        }  # fmt: skip
        digest = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        prev = hashlib.sha256(digest).hexdigest()
        lines.append(json.dumps({**body, "hash": prev}, sort_keys=True, separators=(",", ":")))
    return lines


def add_documents(root: Path, count: int) -> list[str]:
    """Write ``count`` fake documents (object + manifest + journal and audit lines)."""
    paths = []
    journal = []
    ids = []
    for _ in range(count):
        object_id, size = write_object(root, "objects", os.urandom(1500))
        manifest_id, manifest_size = write_object(root, "manifests", os.urandom(400))
        journal.append(
            json.dumps(
                {
                    "manifest": manifest_id,
                    "size": manifest_size,
                    "objects": {object_id: size},
                    "signed": False,
                }
            )
        )
        ids.append(object_id)
        paths += [
            f"objects/{object_id[:2]}/{object_id}",
            f"manifests/{manifest_id[:2]}/{manifest_id}",
        ]
    with open(root / "journal.log", "a") as f:
        f.write("".join(line + "\n" for line in journal))
    audit = chained_audit_lines(root, ids)
    with open(root / "audit.log", "a") as f:
        f.write("".join(line + "\n" for line in audit))
    return paths


def make_store(root: Path, objects: int) -> None:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"format": 1, "vault_id": "bench000bench000"}))
    keys = root / "keys"
    keys.mkdir()
    for name in ("data.pub", "emergency.pub", "passphrase.age", "emergency.age"):
        (keys / name).write_bytes(os.urandom(200))
    add_documents(root, objects // 2)


def rclone_copy(source: Path, dest: Path, paths: list[str], work: Path) -> float:
    from sync import rclone

    listing = work / "baseline-list"
    listing.write_text("".join(p + "\n" for p in paths))
    argv = [
        rclone.binary(), "copy", "--files-from-raw", str(listing), "--no-traverse",
        str(source), str(dest),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    seconds = time.perf_counter() - started
    missing = [p for p in paths if not (dest / p).exists()]
    if missing:
        raise RuntimeError(f"baseline copy left out {len(missing)} files")
    return seconds


class RcloneCounter:
    """Counts what a sync asks of rclone: processes started (CLI runs and
    ``rclone rcd``) and rc calls to the daemon."""

    def __init__(self) -> None:
        from sync import rcd, rclone

        self.rclone = rclone
        self.daemon = rcd.Daemon
        self.originals = (rclone.run, rclone.start_daemon, rcd.Daemon.call)
        self.starts = 0
        self.calls = 0

    def __enter__(self) -> RcloneCounter:
        run, start_daemon, call = self.originals

        def counted_run(*args: object, **kwargs: object) -> object:
            self.starts += 1
            return run(*args, **kwargs)  # type: ignore[arg-type]

        def counted_start(*args: object, **kwargs: object) -> object:
            self.starts += 1
            return start_daemon(*args, **kwargs)  # type: ignore[arg-type]

        def counted_call(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return call(*args, **kwargs)  # type: ignore[arg-type]

        self.rclone.run = counted_run  # type: ignore[assignment]
        self.rclone.start_daemon = counted_start  # type: ignore[assignment]
        self.daemon.call = counted_call  # type: ignore[assignment,method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.rclone.run, self.rclone.start_daemon, self.daemon.call = self.originals  # type: ignore[method-assign]


def rclone_start(work: Path, rounds: int) -> float:
    """Best time of the cheapest rclone run (list an empty local folder): its start cost."""
    from sync import rclone

    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    times = []
    for _ in range(rounds + 1):  # the first (cold) run is dropped
        started = time.perf_counter()
        subprocess.run(
            [rclone.binary(), "lsjson", str(empty)],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
        times.append(time.perf_counter() - started)
    return min(times[1:])


Measured = tuple[float, float, float, int, int]  # sync s, copy s, ratio, starts, rc calls


def bench_size(work: Path, objects: int, rounds: int) -> Measured:
    from sync.backup import sync_remote
    from sync.remotes import add_remote
    from vault.repository import Vault

    root = work / f"vault-{objects}"
    remote = work / f"remote-{objects}"
    make_store(root, objects)
    vault = Vault.open(root)
    with vault.lock:
        add_remote(vault, "bench", str(remote), create=True)
    started = time.perf_counter()
    first = sync_remote(vault, "bench", str(remote))
    log(f"{objects} objects: first sync sent {first.uploaded} files in "
        f"{time.perf_counter() - started:.1f}s")  # fmt: skip
    syncs, copies = [], []
    starts = calls = 0
    for n in range(rounds):
        new = add_documents(root, NEW_FILES // 2)
        with RcloneCounter() as counter:
            started = time.perf_counter()
            result = sync_remote(vault, "bench", str(remote))
            syncs.append(time.perf_counter() - started)
        starts, calls = counter.starts, counter.calls
        # the 10 files, a segment each of the audit log and the journal, and their list
        if result.uploaded != NEW_FILES + 3:
            raise RuntimeError(f"sync sent {result.uploaded} files, expected {NEW_FILES + 3}")
        missing = [p for p in new if not (remote / p).exists()]
        if missing:
            raise RuntimeError(f"sync left out {len(missing)} new files")
        copies.append(rclone_copy(root, work / f"baseline-{objects}-{n}", new, work))
        log(f"  round {n + 1}: sync {syncs[-1]:.3f}s, rclone copy {copies[-1]:.3f}s")
    shutil.rmtree(root)
    shutil.rmtree(remote)
    ratio = statistics.median(s / c for s, c in zip(syncs, copies, strict=True))
    return statistics.median(syncs), statistics.median(copies), ratio, starts, calls


# --- the day scenario ------------------------------------------------------------


@dataclass
class Day:
    sent: int  # bytes of the files the sync created or replaced on the remote
    added: int  # bytes of the new files in objects/ and manifests/
    files: int  # files the sync created or replaced
    base: bool  # the head names a new catalog (base) after this day
    seconds: dict[str, float]
    parts: dict[str, int]  # bytes sent by the remote's top folder (or file)

    @property
    def within(self) -> bool:
        return self.sent <= self.added + DAY_ALLOWANCE


def files_of(folder: Path) -> dict[str, tuple[int, int, int]]:
    """{path: (size, mtime_ns, inode)} of every file under ``folder``."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            st = path.stat()
            found[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return found


def changed_bytes(
    before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]
) -> tuple[int, int]:
    """Bytes and count of the files new or replaced between two ``files_of``."""
    new = [info[0] for path, info in after.items() if before.get(path) != info]
    return sum(new), len(new)


def sent_by_part(
    before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]
) -> dict[str, int]:
    """Bytes of the files new or replaced, by the remote's top folder or file."""
    parts: dict[str, int] = {}
    for path, info in after.items():
        if before.get(path) != info:
            part = path.split("/", 1)[0]
            parts[part] = parts.get(part, 0) + info[0]
    return parts


def head_catalog(root: Path) -> str:
    """What head.json names as the catalog (its base, once there are deltas)."""
    return str(json.loads((root / "head.json").read_text()).get("catalog"))


def vault_cli(root: Path, *args: str) -> float:
    """Run ``vault --vault ROOT ARGS`` (the passphrase from the environment)."""
    argv = [sys.executable, "-m", "vault", "--vault", str(root), *args]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    started = time.perf_counter()
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600, env=env
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"vault {' '.join(args)} failed ({done.returncode}): {last}")
    return time.perf_counter() - started


def settle(root: Path, new: NewDocuments) -> None:
    """One untimed change (10 documents folded in) before anything is
    measured: a generated vault's documents were folded in at once, and its
    first change may rewrite the catalog's base, which a vault that grew day
    by day would have done long before."""
    from tests.bench.generated import store_locked

    store_locked(root, new.take(DAY_DOCUMENTS))
    vault_cli(root, "search", "contact", "--limit", "1")


def start_days(root: Path, remote: Path) -> float:
    """Add the remote and make the first (whole) backup; its seconds."""
    vault_cli(root, "remote", "add", "bench", str(remote), "--create")
    return vault_cli(root, "sync", "bench", "--quiet")


def run_day(root: Path, remote: Path, size: int, day: int, new: NewDocuments) -> Day:
    """Day ``day`` on the vault at ``root`` of ``size`` generated documents."""
    from tests.bench.generated import store_locked
    from tests.generate import document_id

    seconds = {}
    stores = [root / "objects", root / "manifests"]
    local_before = {str(s): files_of(s) for s in stores}
    started = time.perf_counter()
    store_locked(root, new.take(DAY_DOCUMENTS))
    seconds["store"] = time.perf_counter() - started
    older = document_id((day * 7919) % size)
    family = f"F-{(day * 37) % 9999 + 1:04d}"
    seconds["search"] = vault_cli(root, "search", "contact", "--limit", "5")
    seconds["edit"] = vault_cli(root, "edit", older, "--family", family)
    before = files_of(remote)
    seconds["sync"] = vault_cli(root, "sync", "bench", "--quiet")
    after = files_of(remote)
    sent, files = changed_bytes(before, after)
    added = sum(changed_bytes(local_before[str(s)], files_of(s))[0] for s in stores)
    return Day(sent, added, files, False, seconds, sent_by_part(before, after))


def bench_days(work: Path, cache: Path, size: int, days: int) -> list[Day]:
    from tests.bench.generated import NewDocuments, cached_vault, work_copy

    root = work_copy(cached_vault(size, cache), work / f"day-vault-{size}")
    remote = work / f"day-remote-{size}"
    new = NewDocuments(size)
    settle(root, new)
    log(f"{size} documents: first sync {start_days(root, remote):.1f}s")
    found = []
    for day in range(days):
        before = head_catalog(root)
        result = run_day(root, remote, size, day, new)
        result.base = head_catalog(root) != before
        found.append(result)
        log(
            f"  day {day + 1}: sent {result.sent / 1000:.1f} kB in {result.files} files for "
            f"{result.added / 1000:.1f} kB of new objects and manifests"
            f"{' (new catalog base)' if result.base else ''}; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
            + "; kB sent: "
            + ", ".join(f"{k} {v / 1000:.1f}" for k, v in sorted(result.parts.items()))
        )
    shutil.rmtree(root)
    shutil.rmtree(remote)
    return found


def report_days(results: dict[int, list[Day]]) -> None:
    print()
    print(
        f"the day: {DAY_DOCUMENTS} documents stored without the passphrase, one 'vault edit', "
        "one 'vault search', then 'vault sync' to a local folder"
    )
    print(
        f"{'documents':>9} {'days':>5} {'first day kB':>13} {'its new kB':>11} "
        f"{'median day kB':>14} {'max day kB':>11} {'mean sent kB':>13} {'mean new kB':>12} "
        f"{'base days':>10}"
    )
    for size, days in results.items():
        sent = [d.sent for d in days]
        added = [d.added for d in days]
        print(
            f"{size:>9} {len(days):>5} {days[0].sent / 1000:>13.1f} {days[0].added / 1000:>11.1f} "
            f"{statistics.median(sent) / 1000:>14.1f} {max(sent) / 1000:>11.1f} "
            f"{statistics.mean(sent) / 1000:>13.1f} "
            f"{statistics.mean(added) / 1000:>12.1f} {sum(d.base for d in days):>10}"
        )
    print()
    print(
        f"goal: a day sends at most its new objects and manifests plus {DAY_ALLOWANCE // 1000} kB "
        f"(every day that writes no new catalog base, and those are at most 1 day in "
        f"{BASE_SHARE}); over all the days at most {DAY_AVERAGE_GOAL}x the bytes of the "
        f"documents added"
    )
    for size, days in results.items():
        over = [d for d in days if not d.within and not d.base]
        bases = sum(d.base for d in days)
        ok = not over and bases <= max(1, len(days) // BASE_SHARE)
        print(
            f"{size} documents: days over the allowance without a new catalog base: "
            f"{len(over)} of {len(days)}; days with a new base: {bases} (at most 1 in "
            f"{BASE_SHARE}) {'PASS' if ok else 'FAIL'}"
        )
        ratio = sum(d.sent for d in days) / max(1, sum(d.added for d in days))
        verdict = "PASS" if ratio <= DAY_AVERAGE_GOAL else "FAIL"
        print(
            f"{size} documents: over {len(days)} days {ratio:.2f}x the documents' bytes "
            f"(goal <= {DAY_AVERAGE_GOAL}x) {verdict}"
        )


def report(results: dict[int, Measured], rounds: int, start: float) -> None:
    print()
    print(
        f"vault sync of {NEW_FILES} new files vs plain rclone copy, medians of {rounds} rounds "
        "(ratio: median of the rounds' ratios)"
    )
    print(
        f"{'objects':>8} {'sync s':>8} {'rclone s':>9} {'ratio':>6} {'rclone starts':>14} "
        f"{'rc calls':>9}"
    )
    ratios = {}
    for objects, (sync_s, copy_s, ratio, starts, calls) in results.items():
        ratios[objects] = ratio
        print(
            f"{objects:>8} {sync_s:>8.3f} {copy_s:>9.3f} {ratios[objects]:>5.2f}x {starts:>14} "
            f"{calls:>9}"
        )
    print()
    starts = max(r[3] for r in results.values())
    calls = max(r[4] for r in results.values())
    print(
        f"one rclone start costs {start:.3f}s here; a sync starts rclone {starts} time(s) (one "
        f"`rclone rcd`, booting while the snapshot is taken) and makes {calls} rc calls to it "
        f"(preflight listing, dropping the preflight's backends, whether the remote is a local "
        f"folder, the new files, their stats, a segment each of the audit log and journal sent "
        f"while the files copy, the segment list), so its floor is "
        f"about {starts * start:.3f}s plus a few ms of calls"
    )
    print(f"goal: sync at most {RATIO_GOAL}x a plain rclone copy of the same files, flat as the "
          f"vault grows (largest/smallest ratio at most {FLAT_GOAL})")  # fmt: skip
    for objects, ratio in ratios.items():
        verdict = "PASS" if ratio <= RATIO_GOAL else "FAIL"
        print(f"{objects} objects: {ratio:.2f}x (goal <= {RATIO_GOAL}x) {verdict}")
    sizes = sorted(ratios)
    growth = ratios[sizes[-1]] / ratios[sizes[0]]
    verdict = "PASS" if growth <= FLAT_GOAL else "FAIL"
    print(f"flat: {sizes[-1]} vs {sizes[0]} objects: {growth:.2f} (goal <= {FLAT_GOAL}) {verdict}")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_sync", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default="1000,10000", help="vault sizes in objects (default 1000,10000)"
    )
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per size")
    parser.add_argument(
        "--scenario",
        choices=("objects", "day", "all"),
        default="all",
        help="objects: 10 new files vs rclone copy; day: the working day (see above)",
    )
    parser.add_argument(
        "--day-sizes",
        default="10000,30000",
        help="generated vault sizes in documents for the day (default 10000,30000)",
    )
    parser.add_argument("--days", type=int, default=100, help="days run per size")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where generated vaults are kept between runs (default /var/tmp/vault-bench-cache)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the work folder is made (and removed at the end)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    day_sizes = [int(s) for s in args.day_sizes.split(",")]
    if args.rounds < 1 or any(s < 2 for s in sizes):
        parser.error("--rounds must be at least 1 and sizes at least 2")
    if args.days < 1 or any(s < 10 for s in day_sizes):
        parser.error("--days must be at least 1 and day sizes at least 10")
    from tests.bench.generated import DEFAULT_CACHE

    cache = (args.cache or DEFAULT_CACHE).resolve()
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vault-bench-sync-", dir=args.dir))
    os.environ["XDG_STATE_HOME"] = str(work / "state")  # the anchors of this run's vaults
    days: dict[int, list[Day]] = {}
    try:
        if args.scenario in ("objects", "all"):
            start = rclone_start(work, args.rounds)
            results = {size: bench_size(work, size, args.rounds) for size in sizes}
            report(results, args.rounds, start)
        if args.scenario in ("day", "all"):
            from tests.bench.generated import PASSPHRASE

            os.environ["VAULT_PASSPHRASE"] = PASSPHRASE
            days = {size: bench_days(work, cache, size, args.days) for size in day_sizes}
            report_days(days)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
