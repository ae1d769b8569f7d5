"""Benchmark how fast the ``vault`` command starts.

Run as ``python -m tests.bench.bench_startup`` (from the project folder), or
``scripts/bench startup``. A real vault of 1,000 documents is made first
(small text documents stored through the library, no OCR, folded into the
catalog; untimed). Then, round after round, four commands are each run once
in a fresh process, in turn, so that every round's figures are taken moments
apart on this shared, noisy machine:

- the baseline: ``python -c "import click"``, the least any click program pays;
- ``vault --help``;
- ``vault --version``;
- ``vault status --json`` on the vault of 1,000 documents (no passphrase);
- ``vault list`` on that vault while it is unlocked (``vault unlock`` once,
  untimed, then no passphrase: the key comes from the key agent).

Each command's figure is the median over the rounds of its time divided by
the baseline's time in the same round. Goals: ``--help`` and ``--version`` at
most 1.5x, ``status`` at most 3x; ``list`` while unlocked in under 0.3 s
(its ratio is shown too). It also prints the modules each command
loads beyond the standard library (from ``python -X importtime``). It always
exits 0 unless something fails; the verdicts are printed as PASS/FAIL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSPHRASE = "Bench Startup 42"
GOALS = {"--help": 1.5, "--version": 1.5, "status --json": 3.0}
SECONDS_GOALS = {"list (unlocked)": 0.3}


def make_vault(root: Path, documents: int) -> None:
    from vault.repository import Vault

    vault = Vault.create(root, PASSPHRASE, deliver_emergency_key=lambda keys, config: None)
    work = root.parent / "docs"
    work.mkdir()
    with vault.lock:
        for n in range(documents):
            path = work / f"letter-{n:05}.txt"
            path.write_text(f"Letter {n} about family F-{n % 9000:04}.\n")
            vault.store_file(
                path,
                name=path.name,
                media_type="text/plain",
                text=[path.read_text()],
                pages=1,
            )
            path.unlink()
            if n % 100 == 99:
                print(f"  stored {n + 1} documents", file=sys.stderr)
        vault.fold_journal()


def commands(vault_dir: Path) -> dict[str, list[str]]:
    py = sys.executable
    entry = [py, "-c", "from vault.cli import main; main()"]  # what the `vault` script runs
    return {
        "import click": [py, "-c", "import click"],
        "--help": [*entry, "--help"],
        "--version": [*entry, "--version"],
        "status --json": [*entry, "--vault", str(vault_dir), "status", "--json"],
        "list (unlocked)": [*entry, "--vault", str(vault_dir), "list"],
    }


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, timeout=60)
    return time.perf_counter() - start


def loaded_beyond_stdlib(argv: list[str], env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            top = line.rsplit("|", 1)[1].strip().split(".")[0]
            if top not in sys.stdlib_module_names and top not in ("imported package",):
                names.add(top)
    return sorted(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    # Without a passphrase; and with .pyc files written, as an installed vault has them.
    dropped = ("VAULT_PASSPHRASE", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        vault_dir = Path(tmp) / "vault"
        print(f"Making a vault of {args.documents} documents (untimed)...", file=sys.stderr)
        make_vault(vault_dir, args.documents)
        argvs = commands(vault_dir)
        runtime = Path(tmp) / "run"  # the key agent's folder: this run's own
        runtime.mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(runtime)
        entry = argvs["--help"][:-1]
        unlock = [*entry, "--vault", str(vault_dir), "unlock"]
        subprocess.run(unlock, check=True, env={**env, "VAULT_PASSPHRASE": PASSPHRASE}, timeout=60)
        try:
            measure(args, argvs, env)
        finally:
            subprocess.run([*entry, "lock", "--all"], env=env, timeout=60, check=False)


def measure(args: argparse.Namespace, argvs: dict[str, list[str]], env: dict[str, str]) -> None:
    for argv in argvs.values():  # warm the file cache and .pyc files
        run_once(argv, env)
    times: dict[str, list[float]] = {name: [] for name in argvs}
    for _ in range(args.rounds):
        for name, argv in argvs.items():
            times[name].append(run_once(argv, env))
    baseline = times["import click"]
    print(f"\nvault start-up, {args.rounds} rounds, median of per-round ratios")
    print(f"{'command':<22} {'median s':>9} {'ratio':>7} {'goal':>6}  verdict")
    print(f"{'import click':<22} {statistics.median(baseline):>9.3f} {'1.00x':>7}")
    for name, goal in GOALS.items():
        ratio = statistics.median(t / b for t, b in zip(times[name], baseline, strict=True))
        verdict = "PASS" if ratio <= goal else "FAIL"
        print(
            f"{'vault ' + name:<22} {statistics.median(times[name]):>9.3f} "
            f"{ratio:>6.2f}x {goal:>5.1f}x  {verdict}"
        )
    for name, seconds in SECONDS_GOALS.items():
        median = statistics.median(times[name])
        ratio = statistics.median(t / b for t, b in zip(times[name], baseline, strict=True))
        verdict = "PASS" if median <= seconds else "FAIL"
        print(f"{'vault ' + name:<22} {median:>9.3f} {ratio:>6.2f}x {seconds:>5.1f}s  {verdict}")
    print("\nModules loaded beyond the standard library:")
    for name in [*GOALS, *SECONDS_GOALS]:
        print(f"  vault {name}: {', '.join(loaded_beyond_stdlib(argvs[name], env))}")


if __name__ == "__main__":
    main()
