"""Benchmark ``vault recover`` against a plain ``rclone copy`` of the same backup.

Run as ``python -m tests.bench.bench_recover`` (from the project folder). For
each size (default 200 and 2,000 documents, about 0.5 MB a document on
average: 100 MB and 1 GB) a real vault is made (keys, catalog, head, index;
``random_vault.make_vault``) whose documents are random bytes standing for
ciphertext: most small, and one in 400 (at least one) large, holding half
the bytes (at 2,000 documents, five of 100 MB, in two parts each); recovery
only moves and re-hashes ciphertext, so none needs to be encrypted. It is
synced once (untimed) to a local folder, which is also served on loopback by
``rclone serve s3``. Then, in each round and for each of the two remotes,
two things are timed:

- the baseline: ``rclone copy REMOTE DEST``, a plain copy of the whole
  backup folder (what someone without this program would do first);
- ``vault recover``'s library function in a fresh Python process (wall time
  of the process, so its start and imports count, as rclone's start counts
  for the baseline), unlocking with the emergency key (the passphrase adds
  one scrypt run, about a second on a small office PC), with the process's
  peak memory (``ru_maxrss``, the process started from a minimal trampoline
  as in ``bench_objects.py``; rclone's own is reported apart, as it is the
  baseline's too).

The ratio recover / baseline of each round pairs runs taken moments apart;
the median is judged. Goals: at most 1.3x at the largest size (at the
smallest, the fixed cost of starting Python and rclone and checking the
head weighs more; its ratio is printed), peak memory under 200 MB, and the
time per document flat from the smallest size to the largest (at most 1.25
times). Always exits 0 unless something fails; verdicts are printed as
PASS/FAIL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RATIO_GOAL = 1.3
MEMORY_GOAL_MB = 200
FLAT_GOAL = 1.25

CHILD = """
import json, resource, sys, time
from pathlib import Path
from recovery.restore import recover
from recovery.trust import Credentials
secret = sys.stdin.readline().strip()
started = time.perf_counter()
result = recover(sys.argv[1], Path(sys.argv[2]),
                 lambda: Credentials(emergency_key=secret, reason="benchmark"))
print(json.dumps({
    "seconds": time.perf_counter() - started, "documents": result.documents,
    "files": result.files, "ok": result.ok,
    "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


# Linux carries a process's memory high-water mark into a child at fork and
# exec, so the measured child is started from this minimal interpreter (as in
# bench_objects.py), not straight from the benchmark's larger one.
TRAMPOLINE = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def rclone_copy(source: str, dest: Path) -> float:
    from sync import rclone

    started = time.perf_counter()
    subprocess.run(
        [rclone.binary(), "copy", source, str(dest)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=3600,
    )
    return time.perf_counter() - started


def run_recover(source: str, dest: Path, secret: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            TRAMPOLINE,
            sys.executable,
            "-c",
            CHILD,
            source,
            str(dest),
        ],
        input=(secret + "\n").encode(),
        capture_output=True,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"recover failed: {done.stderr.decode(errors='replace')[-2000:]}")
    measured: dict[str, object] = json.loads(done.stdout)
    if not measured["ok"]:
        raise RuntimeError("recover reported damaged files")
    return seconds, measured


@dataclass
class Measured:
    recover: list[float] = field(default_factory=list)
    copy: list[float] = field(default_factory=list)
    memory_mb: float = 0.0
    rclone_mb: float = 0.0

    @property
    def ratio(self) -> float:
        return statistics.median(r / c for r, c in zip(self.recover, self.copy, strict=True))


def bench_size(
    work: Path, documents: int, mb_per_document: float, rounds: int
) -> dict[str, Measured]:
    from sync.backup import sync_remote
    from sync.remotes import add_remote
    from tests.bench.random_vault import make_vault
    from tests.sync.s3server import S3Server
    from vault.repository import Vault

    root = work / f"vault-{documents}"
    data = work / f"s3-{documents}"
    folder = data / "backup"
    started = time.perf_counter()
    secret = make_vault(root, documents, mb_per_document).emergency_secret
    vault = Vault.open(root)
    data.mkdir()  # --create makes the backup folder only inside one that exists
    with vault.lock:
        add_remote(vault, "bench", str(folder), create=True)
    sync_remote(vault, "bench", str(folder))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    log(f"{documents} documents, {size / 1e6:.0f} MB: made and synced in "
        f"{time.perf_counter() - started:.1f}s")  # fmt: skip
    shutil.rmtree(root)
    server = S3Server(data, work / f"serve-s3-{documents}.log")
    server.start()
    for key, value in {
        "TYPE": "s3", "PROVIDER": "Rclone", "ENDPOINT": f"http://127.0.0.1:{server.port}",
        "ACCESS_KEY_ID": server.access, "SECRET_ACCESS_KEY": server.secret,
        "FORCE_PATH_STYLE": "true",
    }.items():  # fmt: skip
        os.environ[f"RCLONE_CONFIG_BENCHS3_{key}"] = value
    results = {"local folder": Measured(), "rclone serve s3": Measured()}
    sources = {"local folder": str(folder), "rclone serve s3": "benchs3:backup"}
    try:
        for kind, source in sources.items():
            rclone_copy(source, work / "warm-up")  # untimed: the files into the page cache
            shutil.rmtree(work / "warm-up")
        for n in range(rounds):
            for kind, source in sources.items():
                measured = results[kind]
                copy_dest, recover_dest = work / "baseline", work / "recovered"
                measured.copy.append(rclone_copy(source, copy_dest))
                seconds, facts = run_recover(source, recover_dest, secret)
                measured.recover.append(seconds)
                if facts["documents"] != documents:
                    raise RuntimeError(f"recovered {facts['documents']} of {documents} documents")
                measured.memory_mb = max(measured.memory_mb, int(str(facts["self_kb"])) / 1024)
                measured.rclone_mb = max(measured.rclone_mb, int(str(facts["children_kb"])) / 1024)
                shutil.rmtree(copy_dest)
                shutil.rmtree(recover_dest)
                log(f"  round {n + 1}, {kind}: recover {seconds:.2f}s, "
                    f"rclone copy {measured.copy[-1]:.2f}s")  # fmt: skip
    finally:
        server.kill()
        shutil.rmtree(data, ignore_errors=True)
    return results


def report(results: dict[int, dict[str, Measured]], rounds: int) -> None:
    print()
    print(f"vault recover vs plain rclone copy of the whole backup, medians of {rounds} rounds")
    print(
        f"{'documents':>9} {'remote':<16} {'recover s':>9} {'rclone s':>9} {'ratio':>6} "
        f"{'s/1000 docs':>11} {'peak MB':>8} {'rclone MB':>9}"
    )
    per_doc: dict[str, dict[int, float]] = {}
    per_doc_copy: dict[str, dict[int, float]] = {}
    verdicts = []
    for documents, kinds in results.items():
        for kind, m in kinds.items():
            median = statistics.median(m.recover)
            per_doc.setdefault(kind, {})[documents] = median / documents
            per_doc_copy.setdefault(kind, {})[documents] = statistics.median(m.copy) / documents
            print(
                f"{documents:>9} {kind:<16} {median:>9.2f} {statistics.median(m.copy):>9.2f} "
                f"{m.ratio:>5.2f}x {1000 * median / documents:>11.2f} {m.memory_mb:>8.0f} "
                f"{m.rclone_mb:>9.0f}"
            )
            if documents == max(results):  # the goal is for the largest vault
                ok = m.ratio <= RATIO_GOAL
                verdicts.append(
                    f"{documents} documents, {kind}: {m.ratio:.2f}x (goal <= {RATIO_GOAL}x) "
                    + ("PASS" if ok else "FAIL")
                )
            ok = m.memory_mb < MEMORY_GOAL_MB
            verdicts.append(
                f"{documents} documents, {kind}: peak memory {m.memory_mb:.0f} MB "
                f"(goal < {MEMORY_GOAL_MB} MB) " + ("PASS" if ok else "FAIL")
            )
    sizes = sorted(results)
    if len(sizes) > 1:
        for kind, times in per_doc.items():
            growth = times[sizes[-1]] / times[sizes[0]]
            copies = per_doc_copy[kind]
            baseline = copies[sizes[-1]] / copies[sizes[0]]
            verdicts.append(
                f"flat, {kind}: time per document at {sizes[-1]} vs {sizes[0]}: {growth:.2f} "
                f"(goal <= {FLAT_GOAL}; the plain rclone copy's: {baseline:.2f}) "
                + ("PASS" if growth <= FLAT_GOAL else "FAIL")
            )
    print()
    for line in verdicts:
        print(line)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_recover", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="200,2000", help="vault sizes in documents")
    parser.add_argument(
        "--mb-per-document", type=float, default=0.5, help="average size (default 0.5 MB)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per size")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the work folder is made (and removed at the end)",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.rounds < 1 or any(s < 1 for s in sizes):
        parser.error("--rounds and sizes must be at least 1")
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vault-bench-recover-", dir=args.dir))
    try:
        results = {
            size: bench_size(work, size, args.mb_per_document, args.rounds) for size in sizes
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
