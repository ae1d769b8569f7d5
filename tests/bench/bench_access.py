"""Benchmark ``vault access grant`` against the ``age`` command on the same objects.

Run through ``scripts/bench access``. A real vault of ``--documents`` (default
500) documents of ``--mb-per-document`` (default 0.5: about 250 MB in all) is
made once (``random_vault.make_vault``, encrypted: every object an age file
under the data key, every manifest signed; most documents small, one in 400
large, in parts of 64 MiB). Each round works on a copy of it
(``generated.work_copy``: the objects and manifests hard links, which a grant
never changes, only removes) and times, one after the other on the same
files (in the page cache after an untimed read):

- **age per object** (the baseline the goal is judged against): for every
  file of ``objects/`` and ``manifests/``, ``age -d -i DATAKEY FILE | age -r
  DATA -r LEVEL -o OUT``, in one ``bash`` loop (``pipefail``): what granting
  the documents to a level with the ``age`` command alone takes, each file
  decrypted and encrypted again to the data key and the level's key. Each
  object costs two process starts, which the vault does not pay. The loop
  followed by ``sync`` is printed too (the vault makes each new file
  durable, ``age`` does not).
- **vault access grant session ID...**: the real command, in its own
  process, non-interactive (``VAULT_PASSPHRASE``): its start, imports, the
  scrypt run that unlocks, the session level's key made (the vault has
  none yet), every document's files written again (a grant rewrites each
  file's header over the same payload: ``vault.rekey.rewrap``), each
  manifest sealed again, all of it made durable, the catalog and the
  session's own catalog saved under a new head, and the old files removed.
  Then a check that it worked: ``vault access list --json`` gives every
  document to ``session``, as many object and manifest files are there as
  before, and ``age -d`` opens an object with the session level's key.

Every timed command is started from the trampoline of ``bench_objects.py``
(wall time, CPU seconds of the process and of every process it waited for,
peak RSS). The ratio grant / age per object of each round pairs runs taken
moments apart; the median is judged. Goal: at most 1.2x (a header-only
grant should be far below it). Always exits 0 unless something fails;
verdicts are printed as PASS/FAIL.
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

from tests.bench.bench_objects import AGE, SYNC, run_measured
from tests.bench.bench_rotate import (
    BASH,
    Run,
    loadavg,
    log,
    measured,
    store_files,
    vault_command,
    vault_env,
    write_private,
)

RATIO_GOAL = 1.2

# $1 age, $2 data identity file, $3 data recipient, $4 level recipient,
# $5 output folder, $6 the list of files (one a line).
PER_OBJECT = r"""
set -euo pipefail
age=$1 key=$2 data=$3 level=$4 out=$5
while IFS= read -r file; do
  "$age" -d -i "$key" "$file" | "$age" -r "$data" -r "$level" -o "$out/${file##*/}"
done < "$6"
"""


@dataclass
class Measured:
    per_object: list[Run] = field(default_factory=list)
    synced: list[Run] = field(default_factory=list)  # per object, then ``sync``
    grant: list[Run] = field(default_factory=list)

    def ratio(self, baseline: list[Run]) -> float:
        return statistics.median(
            r.seconds / b.seconds for r, b in zip(self.grant, baseline, strict=True)
        )


def document_ids(root: Path, data_secret: str) -> list[str]:
    """Every document of the vault at ``root`` (read in this process, untimed)."""
    from vault.repository import Vault

    vault = Vault.open(root)
    with vault.lock:
        vault.unlock_with_data_secret(data_secret)
        return sorted(vault.catalog.ids())


def check_granted(root: Path, state: Path, ids: list[str], files: int, work: Path) -> None:
    """Raise unless every document of ``ids`` is granted to ``session`` at ``root``."""
    from tests.bench.random_vault import PASSPHRASE
    from vault import levels
    from vault.keys import KeyPaths, unlock_with_passphrase

    listed = subprocess.run(
        [*vault_command(), "--vault", str(root), "access", "list", "--json"],
        env=vault_env(state, PASSPHRASE),
        capture_output=True,
        timeout=600,
        check=False,
    )
    if listed.returncode != 0:
        raise RuntimeError(f"vault access list after the grant failed: {listed.stderr.decode()}")
    found = json.loads(listed.stdout)["levels"]
    session = next(level for level in found if level["level"] == "session")
    if sorted(d["id"] for d in session["documents"]) != ids:
        raise RuntimeError("vault access list does not give every document to 'session'")
    now = store_files(root)
    if len(now) != files:
        raise RuntimeError(f"{len(now)} object and manifest files after the grant, not {files}")
    paths = KeyPaths(root / "keys")
    data = unlock_with_passphrase(paths, PASSPHRASE)
    level = levels.open_level(paths, "session", data.identity)
    keyfile = work / "level-key.txt"
    write_private(keyfile, level.secret + "\n")
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
        raise RuntimeError("age -d with the session level's key did not open an object")


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
    ids = document_ids(made, keys.data.secret)
    log(f"{documents} documents: {len(files)} object and manifest files, {size / 1e6:.0f} MB; "
        f"made in {time.perf_counter() - started:.1f}s")  # fmt: skip
    data_key = work / "data-key.txt"
    write_private(data_key, keys.data.secret + "\n")
    _, level_recipient = crypto.generate_identity()  # the baseline's; the grant makes its own
    for path in files:  # untimed: every file into the page cache
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
        age_args = [AGE, str(data_key), keys.data.recipient, level_recipient]
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

        state = round_dir / "state"
        env = vault_env(state, PASSPHRASE)
        argv = [*vault_command(), "--vault", str(root), "access", "grant", "session", *ids]
        run = measured(argv, work, env)
        result.grant.append(run)
        log(f"  round {n}: vault access grant {run.seconds:.2f}s (CPU {run.cpu:.2f}s, "
            f"peak {run.peak_mb:.0f} MB)")  # fmt: skip
        check_granted(root, state, ids, len(files), work)
        shutil.rmtree(round_dir)
    return result


def report(m: Measured, documents: int, mb_per_document: float, load: tuple[str, str]) -> None:
    rounds = len(m.grant)
    print()
    print(
        f"vault access grant of {documents} documents (about "
        f"{documents * mb_per_document:,.0f} MB) vs age, medians of {rounds} "
        f"round{'s' * (rounds > 1)}"
    )
    print(f"{'':<34} {'seconds':>8} {'CPU s':>7} {'peak MB':>8} {'grant is':>10}")
    rows = [
        ("age per object (the baseline)", m.per_object),
        ("age per object, then sync", m.synced),
        ("vault access grant", m.grant),
    ]
    for name, runs in rows:
        ratio = f"{m.ratio(runs):.2f}x" if runs is not m.grant else ""
        print(
            f"{name:<34} {statistics.median(r.seconds for r in runs):>8.2f} "
            f"{statistics.median(r.cpu for r in runs):>7.2f} "
            f"{max(r.peak_mb for r in runs):>8.0f} {ratio:>10}"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_access", description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=500, help="documents in the vault")
    parser.add_argument(
        "--mb-per-document", type=float, default=0.5, help="average size of a document in MB"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (medians are reported)")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="where the vault is made (default: a new temporary folder, removed at the end)",
    )
    args = parser.parse_args(argv)
    before = loadavg()
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="bench-access-", dir=args.work))
    else:
        work = Path(tempfile.mkdtemp(prefix="bench-access-"))
    try:
        m = bench(work, args.documents, args.mb_per_document, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(m, args.documents, args.mb_per_document, (before, loadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
