"""Benchmark the catalog of a large vault: size, opening, memory, search, fold, backup.

Run through ``scripts/bench catalog``. For each size (``--sizes``, default
10,000, 30,000 and 100,000 documents) a generated vault of born-digital
documents (``tests/bench/generated.py``; made once, then kept in ``--cache``)
is copied, and measured through the library API a command uses
(``Vault.open``, ``unlock``, ``.catalog``, ``vault.search.search``) and the
CLI, each measurement in a fresh Python process of its own:

- catalog bytes on disk: the ``catalog/`` folder and any local catalog file;
- open: ``Vault.open``, the lock, ``unlock`` with the passphrase, then the
  time of the first ``vault.catalog`` (median of ``--opens`` processes; the
  modules are imported before, so it is the time of opening alone);
- memory: in the same processes, VmHWM (peak RSS) after unlocking; then the
  peak is reset (``/proc/self/clear_refs``) and read again after opening and
  after one search, as ``vault search`` does them. The goal is on what opening
  and searching hold beyond the RSS right after unlocking (the passphrase's
  scrypt needs 256 MB of its own, freed once done). The whole
  ``vault search`` command's peak RSS (``wait4``) is printed beside;
- search: p50/p95 per query class, each with and without type and date
  filters, in one process, after one untimed round;
- fold: after one untimed fold (``bench_sync.settle``), 10 new documents
  stored without the passphrase, then a process that
  unlocks and opens the catalog (which folds them in and saves): its time and
  the bytes it wrote. The goal is judged on the bytes of its write calls
  (``wchar`` of ``/proc/self/io``: what strace counts). The kernel's
  ``write_bytes`` is printed beside, but it is not what reaches the disk:
  it counts every page-cache folio a write dirties, whole, and on a file
  system with large folios (ext4 since Linux 6.16, XFS) a 4 KiB write into a
  database read earlier dirties a folio of up to 2 MiB while only the 4 KiB
  block is written back. It therefore ranges from the write calls' bytes
  (nothing cached) to 50-100 times them (the catalog cached). The disk also
  receives the file system's own journal for each fsync (on ext4 about
  40 KiB each, some 40 per fold), which no count in the process sees;
- the day (``tests/bench/bench_sync.py``): 10 documents, an edit, a search
  and ``vault sync`` to a local folder: the bytes sent, once per size.

Goals (PASS/FAIL): at 100,000 documents ``vault search`` holds at most 150 MB
beyond the unlocking, opens the catalog in under 100 ms, and a fold of 10 new
documents writes less than 5 MB; search p95 under 50 ms at 30,000 documents
and under 100 ms at 100,000. Linux only (``/proc``). Exits 0 unless
something fails.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

MB = 1_000_000
MEMORY_GOAL_MB = 150.0
OPEN_GOAL_S = 0.100
FOLD_WRITE_GOAL = 5 * MB
SEARCH_GOALS_S = {30_000: 0.050, 100_000: 0.100}
GOAL_SIZE = 100_000
FOLD_DOCUMENTS = 10

# The query classes of the issue, each with and without filters, for a vault of
# the generator's documents; ``tests/bench/bench_search.py`` gives the set and
# its timing when it is there (the same shape: class -> queries, label -> filters).
_QUERY_CLASSES: dict[str, tuple[str, ...]] = {
    "rare surname": ("Przybylśki",),
    "surname, 1 letter wrong": ("Przybylsky",),
    "surname, 2 letters wrong": ("Pszybylsky",),
    "part of a word": ("Przybyl",),
    "case number": ("NT26P00412",),
    "common word": ("hearing",),
    "most frequent word": ("the",),
    "two-word phrase": ("family court",),
}
_FILTERS: dict[str, dict[str, Any]] = {
    "no filter": {},
    "type and dates": {
        "doc_type": "court-order",
        "since": date(2021, 1, 1),
        "until": date(2022, 12, 31),
    },
}


def time_queries(catalog: Any, rounds: int) -> dict[str, list[float]]:
    """{"class | filters": [seconds, ...]} of every query, ``rounds`` timed
    rounds after an untimed one."""
    try:
        from tests.bench import bench_search
    except ImportError:
        bench_search = None  # type: ignore[assignment]
    if bench_search is not None:
        timings = bench_search.time_queries(catalog, rounds=rounds)
        return {f"{t.query_class} | {t.filters}": [ms / 1000 for ms in t.times] for t in timings}
    from vault import search

    cases = [
        (f"{name} | {label}", query, kwargs)
        for name, queries in _QUERY_CLASSES.items()
        for label, kwargs in _FILTERS.items()
        for query in queries
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for round_number in range(rounds + 1):
        for name, query, kwargs in cases:
            started = time.perf_counter()
            search.search(catalog, query, **kwargs)
            if round_number:
                times[name].append(time.perf_counter() - started)
    return times


# --- child processes ---------------------------------------------------------------


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return -1


def _io() -> dict[str, int]:
    """The counters of ``/proc/self/io`` (see ``child_fold``)."""
    with open("/proc/self/io") as f:
        return {name: int(value) for name, value in (line.split(":") for line in f)}


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _unlocked(root: Path) -> Any:
    from tests.bench.generated import PASSPHRASE
    from vault.repository import Vault

    vault = Vault.open(root)
    vault.lock.acquire()
    vault.unlock(PASSPHRASE)
    return vault


def child_memory(root: Path) -> dict[str, Any]:
    """Unlock, open, one search, as ``vault search`` does; times and peaks."""
    from vault import search

    importlib.import_module("vault.catalog")  # first: the open time is the catalog's own

    started = time.perf_counter()
    vault = _unlocked(root)
    unlock_s = time.perf_counter() - started
    unlock_peak = _status_kb("VmHWM")
    _reset_peak()
    base = _status_kb("VmRSS")
    started = time.perf_counter()
    catalog = vault.catalog
    open_s = time.perf_counter() - started
    open_peak = _status_kb("VmHWM")
    started = time.perf_counter()
    hits = search.search(catalog, "contact", limit=51)
    search_s = time.perf_counter() - started
    search_peak = _status_kb("VmHWM")
    vault.lock.release()
    return {
        "unlock_s": unlock_s, "open_s": open_s, "search_s": search_s, "hits": len(hits),
        "unlock_peak_kb": unlock_peak, "base_kb": base, "open_peak_kb": open_peak,
        "search_peak_kb": search_peak, "documents": catalog.count(),
    }  # fmt: skip


def child_search(root: Path, repeats: int) -> dict[str, Any]:
    """Every query of the set, ``repeats`` timed rounds after an untimed one."""
    vault = _unlocked(root)
    times = time_queries(vault.catalog, repeats)
    vault.lock.release()
    return {"times": times, "hits": {}}


def child_fold(root: Path) -> dict[str, Any]:
    """Unlock and open the catalog, which folds the journal in and saves."""
    vault = _unlocked(root)
    journal = len(vault.journal_entries())
    before = _io()
    started = time.perf_counter()
    added = len(vault.fold_journal().added)  # opens the catalog, folds, saves
    fold_s = time.perf_counter() - started
    after = _io()
    catalog = vault.catalog
    vault.lock.release()
    return {
        "fold_s": fold_s, "journal": journal, "added": added, "documents": catalog.count(),
        **{name: after[name] - before[name] for name in after},
    }  # fmt: skip


def child_main(argv: list[str]) -> None:
    what, root, result = argv[0], Path(argv[1]), Path(argv[2])
    if what == "memory":
        found = child_memory(root)
    elif what == "search":
        found = child_search(root, int(argv[3]))
    elif what == "fold":
        found = child_fold(root)
    else:
        raise SystemExit(f"unknown child {what!r}")
    result.write_text(json.dumps(found))


# --- driver ------------------------------------------------------------------------


@dataclass
class SizeResult:
    documents: int
    catalog_bytes: int = 0
    opens: list[dict[str, Any]] = field(default_factory=list)
    cli_search_rss_kb: int = 0
    search: dict[str, list[float]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    fold: dict[str, Any] = field(default_factory=dict)
    day_sent: int = 0
    day_added: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # step: its error's last line


def run_child(work: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = work / "child.json"
    result.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "tests.bench.bench_catalog", "_child", args[0], args[1]]
    done = subprocess.run(
        [*argv, str(result), *args[2:]],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no message"]
        raise RuntimeError(f"{args[0]} failed: {lines[-1]}")
    found: dict[str, Any] = json.loads(result.read_text())
    result.unlink()
    return found


def cli_peak_kb(root: Path, env: dict[str, str], *args: str) -> int:
    """Peak RSS (kB) of one ``vault`` command, from ``wait4``."""
    argv = [sys.executable, "-m", "vault", "--vault", str(root), *args]
    process = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        message = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"vault {' '.join(args)} failed: {message.strip()}")
    if process.stderr:
        process.stderr.close()
    return int(usage.ru_maxrss)


def bench_size(work: Path, cache: Path, size: int, opens: int, repeats: int) -> SizeResult:
    """Measure one size (see the module); prints its report at once."""
    from tests.bench import bench_sync
    from tests.bench.generated import (
        NewDocuments,
        cached_vault,
        catalog_paths,
        environment,
        store_locked,
        tree_bytes,
        work_copy,
    )

    root = work_copy(cached_vault(size, cache), work / f"vault-{size}")
    env = environment(work / "state")
    os.environ.update({k: env[k] for k in ("XDG_STATE_HOME", "VAULT_PASSPHRASE")})
    found = SizeResult(size)
    found.catalog_bytes = tree_bytes(catalog_paths(root))
    for n in range(opens):
        found.opens.append(run_child(work, env, "memory", str(root)))
        m = found.opens[-1]
        log(f"{size}: open {m['open_s'] * 1000:.0f} ms, held beyond unlocking "
            f"{(m['search_peak_kb'] - m['base_kb']) / 1024:.0f} MiB ({n + 1}/{opens})")  # fmt: skip
    found.cli_search_rss_kb = cli_peak_kb(root, env, "search", "contact", "--limit", "5")
    timed = run_child(work, env, "search", str(root), str(repeats))
    found.search, found.hits = timed["times"], timed["hits"]
    log(f"{size}: searches timed")
    new = NewDocuments(size)
    try:
        bench_sync.settle(root, new)  # untimed: see there
        store_locked(root, new.take(FOLD_DOCUMENTS))
        found.fold = run_child(work, env, "fold", str(root))
        f = found.fold
        log(f"{size}: fold {f['fold_s']:.2f}s, write calls {f['wchar'] / MB:.2f} MB "
            f"(kernel's write_bytes {f['write_bytes'] / MB:.1f} MB)")  # fmt: skip
    except RuntimeError as exc:
        found.errors["fold"] = str(exc)
        log(f"{size}: {exc}")
    remote = work / f"remote-{size}"
    try:
        bench_sync.start_days(root, remote)
        day = bench_sync.run_day(root, remote, size, 0, new)
        found.day_sent, found.day_added = day.sent, day.added
        log(f"{size}: a day sent {day.sent / 1000:.1f} kB for {day.added / 1000:.1f} kB")
    except RuntimeError as exc:
        found.errors["day"] = str(exc)
        log(f"{size}: the day: {exc}")
    shutil.rmtree(root)
    shutil.rmtree(remote, ignore_errors=True)
    report([found], repeats)  # as it comes: a later size that fails loses nothing
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(results: list[SizeResult], repeats: int) -> None:
    print()
    print("the catalog of generated vaults (MB = 1,000,000 bytes; memory in MiB)")
    print(
        f"{'documents':>9} {'catalog MB':>11} {'open ms':>8} {'unlock peak':>12} "
        f"{'after unlock':>13} {'+open':>6} {'+search':>8} {'CLI search peak':>16} "
        f"{'fold s':>7} {'fold wrote MB':>14} {'(kernel) MB':>12} "
        f"{'day sent kB':>12} {'day new kB':>11}"
    )
    for r in results:
        m = _worst(r)
        day = {} if "day" in r.errors else {"sent": r.day_sent, "added": r.day_added}
        print(
            f"{r.documents:>9} {r.catalog_bytes / MB:>11.1f} {_open_s(r) * 1000:>8.0f} "
            f"{m['unlock_peak_kb'] / 1024:>12.0f} {m['base_kb'] / 1024:>13.0f} "
            f"{(m['open_peak_kb'] - m['base_kb']) / 1024:>6.0f} "
            f"{(m['search_peak_kb'] - m['base_kb']) / 1024:>8.0f} "
            f"{r.cli_search_rss_kb / 1024:>16.0f} {_cell(r.fold, 'fold_s', 1, '7.2f')} "
            f"{_cell(r.fold, 'wchar', MB, '14.2f')} {_cell(r.fold, 'write_bytes', MB, '12.1f')} "
            f"{_cell(day, 'sent', 1000, '12.1f')} {_cell(day, 'added', 1000, '11.1f')}"
        )
        for step, error in r.errors.items():
            print(f"  {r.documents}: {step}: {error}")
    print(
        "open: median of the processes; memory: the largest seen. '+open'/'+search': the peak "
        "after opening / after one search, beyond the RSS right after unlocking. fold: a "
        f"process unlocking and opening the catalog with {FOLD_DOCUMENTS} new documents "
        "in the journal (open, fold, save); 'fold wrote': the bytes of its write calls; "
        "'(kernel)': /proc's write_bytes, which counts each large page-cache folio a write "
        "dirties whole (see the module), not what reaches the disk."
    )
    print()
    print(f"search in process: p50/p95 of {repeats} rounds of every query of the class")
    names = list(results[0].search)
    print(f"{'query class | filters':<42}" + "".join(f" {r.documents:>14}" for r in results))
    for name in names:
        cells = []
        for r in results:
            times = r.search.get(name, [])
            cells.append(
                f"{percentile(times, 0.5) * 1000:>6.0f}/{percentile(times, 0.95) * 1000:>4.0f} ms"
                if times
                else "-"
            )
        print(f"{name:<42}" + "".join(f" {c:>14}" for c in cells))
    print()
    print(
        f"goals: at {GOAL_SIZE} documents 'vault search' holds at most {MEMORY_GOAL_MB:.0f} MB "
        f"beyond unlocking, opens in under {OPEN_GOAL_S * 1000:.0f} ms, a fold of "
        f"{FOLD_DOCUMENTS} new documents writes under {FOLD_WRITE_GOAL / MB:.0f} MB; search p95 "
        + ", ".join(f"< {s * 1000:.0f} ms at {n}" for n, s in SEARCH_GOALS_S.items())
    )
    for r in results:
        if r.documents == GOAL_SIZE:
            m = _worst(r)
            held = (m["search_peak_kb"] - m["base_kb"]) * 1024 / MB
            _verdict(
                f"{r.documents}: memory beyond unlocking {held:.0f} MB", held <= MEMORY_GOAL_MB
            )
            _verdict(f"{r.documents}: open {_open_s(r) * 1000:.0f} ms", _open_s(r) < OPEN_GOAL_S)
            if "fold" in r.errors:
                _verdict(f"{r.documents}: fold {r.errors['fold']}", False)
            else:
                wrote = r.fold["wchar"]
                _verdict(f"{r.documents}: fold wrote {wrote / MB:.1f} MB", wrote < FOLD_WRITE_GOAL)
        goal = SEARCH_GOALS_S.get(r.documents)
        if goal is not None:
            worst = max(r.search, key=lambda n: percentile(r.search[n], 0.95))
            p95 = percentile(r.search[worst], 0.95)
            _verdict(
                f"{r.documents}: slowest class p95 {p95 * 1000:.0f} ms ({worst}), "
                f"goal < {goal * 1000:.0f} ms",
                p95 < goal,
            )
    if not any(r.documents == GOAL_SIZE for r in results):
        print(f"(the memory, open and fold goals are judged at {GOAL_SIZE} documents only)")


def _cell(found: dict[str, Any], key: str, unit: float, spec: str) -> str:
    width = spec.split(".")[0]
    return format(found[key] / unit, spec) if key in found else format("error", f">{width}")


def _open_s(r: SizeResult) -> float:
    return statistics.median(m["open_s"] for m in r.opens)


def _worst(r: SizeResult) -> dict[str, Any]:
    return max(r.opens, key=lambda m: m["search_peak_kb"] - m["base_kb"])


def _verdict(text: str, ok: bool) -> None:
    print(f"{text} {'PASS' if ok else 'FAIL'}")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        child_main(argv[1:])
        return 0
    from tests.bench.generated import DEFAULT_CACHE

    parser = argparse.ArgumentParser(
        prog="scripts/bench catalog", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes", default="10000,30000,100000", help="vault sizes in documents (comma-separated)"
    )
    parser.add_argument("--opens", type=int, default=3, help="processes that open and search")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds of the query set")
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="where generated vaults are kept"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/var/tmp"),
        help="where the work folder is made (and removed at the end)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.opens < 1 or args.repeats < 1 or any(s < 10 for s in sizes):
        parser.error("--opens and --repeats must be at least 1, sizes at least 10")
    if not Path("/proc/self/clear_refs").exists():
        parser.error("this benchmark reads /proc (Linux only)")
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vault-bench-catalog-", dir=args.dir))
    try:
        results = [
            bench_size(work, args.cache.resolve(), size, args.opens, args.repeats) for size in sizes
        ]
        print("\n=== all sizes")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
