"""Benchmark the object store against the reference ``age`` command.

Run through ``scripts/bench``. One incompressible file of ``--size-mb`` MiB is
encrypted and decrypted by ``age`` (the baseline, measured in the same run) and
by ``ObjectStore.put_file`` / ``ObjectStore.get_file``, each operation in a
fresh process of its own so that its peak RSS is that operation's alone. The
measurements alternate and repeat (``--repeats``, default 3) and the best of
each is kept, since the machine is shared and noisy. All runs read the same
input file, so all of them find it in the page cache.

How peak RSS is measured: on Linux a process's memory high-water mark is
carried into a child at fork and exec, so a child started straight from this
(larger) interpreter would report at least this interpreter's peak. Every
measured command is therefore forked from a minimal trampoline
(``python -I -S``) that reports the child's wall time and ``ru_maxrss`` from
``os.wait4``. Its own floor (a few MB) is measured and printed; a value at the
floor only says "at most this much".

A file larger than 64 MiB is stored in parts by worker processes (see
``vault/parts.py``): the put row's peak RSS is the measured child's own peak
plus, for each worker it used, the largest worker's peak (``RUSAGE_CHILDREN``),
an upper bound since forked workers share pages with the child. A get reads
the parts on threads of its one process.

Timing: the age rows are the wall time of the whole ``age`` process. The vault
rows are the time of the ``put_file`` / ``get_file`` call inside its child
(interpreter start and imports excluded; the child's whole wall time is printed
too). ``put_file`` fsyncs the object, ``age`` does not fsync its output: the
"age + sync" row is ``age`` followed by ``sync FILE`` (which fsyncs the file),
the same durable result as a put, and the baseline a put is judged against.
A get is judged against ``age -d`` (neither makes its output durable).

Goals: put at least 0.9x the throughput of age + sync, get at least 0.9x that
of ``age -d``, and peak RSS under 64 MB for both.

The report always exits 0; only an error (a failing command, a wrong result)
makes it fail.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
BLOCK = 4 * MIB
THROUGHPUT_GOAL = 0.9  # vault throughput / its baseline's throughput
RSS_GOAL_MB = 64.0
AGE = shutil.which("age") or "/usr/bin/age"
SYNC = shutil.which("sync") or "/bin/sync"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"  # its SHA-256 uses the CPU's instructions
BASELINE = {"vault put": "age + sync", "vault get": "age decrypt"}
# What a get does that age -d does not: it checks each object against its id
# (the SHA-256 of the age file), which a manifest names under the vault's MAC.
# age authenticates a file under a key anyone with the public key can make,
# so that check is what refuses an object swapped for another one.
CHECKED = {"vault get": "age -d + sha256"}

# Forks and execs argv[2:], waits for it, and writes {"wall", "rc", "maxrss_kb"}
# as JSON to the file named by argv[1]. The child's stdout goes to stderr.
_TRAMPOLINE = r"""
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.dup2(2, 1)
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(report, "w") as f:
    json.dump({"wall": wall, "rc": os.waitstatus_to_exitcode(status),
               "maxrss_kb": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime}, f)
"""


@dataclass
class Measured:
    seconds: float  # the figure used in the table
    wall: float  # the measured process's whole wall time
    rss_mb: float  # ru_maxrss of the measured process
    extra: dict = field(default_factory=dict)
    cpu: float = 0.0  # user + system seconds of the process and its workers, start-up included


@dataclass
class Series:
    name: str
    runs: list[Measured] = field(default_factory=list)

    @property
    def best(self) -> Measured:
        return min(self.runs, key=lambda m: m.seconds)

    @property
    def peak_rss_mb(self) -> float:
        # Peak memory does not depend on noise the way time does: report the
        # largest seen, which is the honest figure for a memory goal.
        return max(m.rss_mb for m in self.runs)


def run_measured(
    argv: list[str], work: Path, env: dict[str, str] | None = None, output: Path | None = None
) -> dict:
    """Run ``argv`` under the trampoline (in ``env``, default this process's
    environment; this project is put on its path; its output to the file
    ``output`` if given, else to stderr); return its report (raises on failure)."""
    report = work / "trampoline.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ if env is None else env)
    paths = [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    with open(output, "wb") if output is not None else contextlib.nullcontext() as stderr:
        subprocess.run(
            [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(report), *argv],
            check=True,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stderr=stderr,
        )
    result = json.loads(report.read_text())
    report.unlink()
    if result["rc"] != 0:
        raise RuntimeError(f"command failed with exit code {result['rc']}: {argv}")
    return result


def settle() -> None:
    """Flush other dirty pages so one run's writeback does not land on the next."""
    os.sync()


# --- the measured operations ------------------------------------------------


def age_encrypt(work: Path, src: Path, dst: Path, recipient: str) -> Measured:
    settle()
    r = run_measured([AGE, "-r", recipient, "-o", str(dst), str(src)], work)
    return Measured(r["wall"], r["wall"], r["maxrss_kb"] / 1024, cpu=r["cpu"])


def age_encrypt_durable(work: Path, src: Path, dst: Path, recipient: str) -> Measured:
    """``age`` and then ``sync FILE`` (an fsync of its output): a durable file."""
    settle()
    encrypted = run_measured([AGE, "-r", recipient, "-o", str(dst), str(src)], work)
    synced = run_measured([SYNC, str(dst)], work)
    seconds = encrypted["wall"] + synced["wall"]
    rss_mb = max(encrypted["maxrss_kb"], synced["maxrss_kb"]) / 1024
    cpu = encrypted["cpu"] + synced["cpu"]
    return Measured(seconds, seconds, rss_mb, {"sync": synced["wall"]}, cpu)


def age_decrypt(work: Path, src: Path, dst: Path, keyfile: Path) -> Measured:
    settle()
    r = run_measured([AGE, "-d", "-i", str(keyfile), "-o", str(dst), str(src)], work)
    return Measured(r["wall"], r["wall"], r["maxrss_kb"] / 1024, cpu=r["cpu"])


def age_decrypt_checked(work: Path, src: Path, dst: Path, keyfile: Path) -> Measured:
    """``age -d`` and then ``openssl dgst -sha256`` of the age file: the
    plaintext, and the check of the file against its name that a get makes
    (``sha256sum`` is not used: here it hashes at a quarter of the speed)."""
    decrypted = age_decrypt(work, src, dst, keyfile)
    hashed = run_measured([OPENSSL, "dgst", "-sha256", "-out", os.devnull, str(src)], work)
    seconds = decrypted.seconds + hashed["wall"]
    rss_mb = max(decrypted.rss_mb, hashed["maxrss_kb"] / 1024)
    return Measured(
        seconds, seconds, rss_mb, {"sha256": hashed["wall"]}, decrypted.cpu + hashed["cpu"]
    )


def vault_op(work: Path, store: Path, op: str, *args: str) -> Measured:
    settle()
    result_file = work / "child.json"
    result_file.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "tests.bench.bench_objects", "_child", op, str(store)]
    r = run_measured([*argv, str(result_file), *args], work)
    child = json.loads(result_file.read_text())
    result_file.unlink()
    # The put/get process and its worker processes are all counted: the
    # child's own peak plus, for each worker, the largest worker's peak (an
    # upper bound: forked workers share pages with the child).
    workers_kb = child["workers"] * child["worker_rss_kb"]
    rss_kb = max(r["maxrss_kb"], child["vm_hwm_kb"] + workers_kb)
    return Measured(child["op_seconds"], r["wall"], rss_kb / 1024, child, r["cpu"])


def object_path(store: Path, object_id: str) -> Path:
    return store / "objects" / object_id[:2] / object_id


def object_paths(store: Path, ref: str) -> list[Path]:
    """The object files of a stored file (several when it is stored in parts)."""
    from vault.parts import split_ref

    return [object_path(store, object_id) for object_id in split_ref(ref)]


# --- child process ------------------------------------------------------------


def _vm_hwm_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def child_main(argv: list[str]) -> None:
    """``_child put STORE RESULT SRC RECIPIENT`` or ``_child get STORE RESULT ID DST KEYFILE``."""
    import resource

    from vault import crypto
    from vault.objects import ObjectStore
    from vault.parts import split_ref

    op, store_dir, result_file, *rest = argv
    store = ObjectStore(Path(store_dir) / "objects", Path(store_dir) / "tmp")
    store.open()
    if op == "put":
        src, recipient_text = rest
        recipient = crypto.parse_recipient(recipient_text)
        t0 = time.perf_counter()
        obj = store.put_file(Path(src), [recipient])
        seconds = time.perf_counter() - t0
        result = {"id": obj.id, "size": obj.size, "parts": len(obj.objects)}
    elif op == "get":
        object_id, dst, keyfile = rest
        identity = crypto.parse_identity(Path(keyfile).read_text())
        t0 = time.perf_counter()
        store.get_file(object_id, Path(dst), [identity])
        seconds = time.perf_counter() - t0
        result = {"parts": len(split_ref(object_id))}
    else:
        raise SystemExit(f"unknown child op {op!r}")
    # A put's parts are encrypted by worker processes; a get's are read by threads.
    result["workers"] = (
        min(store.jobs, result["parts"]) if op == "put" and result["parts"] > 1 else 0
    )
    result["worker_rss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["op_seconds"] = seconds
    result["vm_hwm_kb"] = _vm_hwm_kb()
    Path(result_file).write_text(json.dumps(result))


# --- driver -------------------------------------------------------------------


def make_input(path: Path, size: int) -> str:
    """Write ``size`` incompressible bytes (a random 4 MiB block, repeated); return its SHA-256."""
    block = os.urandom(BLOCK)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            piece = block[: min(left, BLOCK)]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_output(path: Path, size: int, what: str) -> None:
    actual = path.stat().st_size
    if actual != size:
        raise RuntimeError(f"{what}: output is {actual} bytes, expected {size}")


def trampoline_floor_mb(work: Path) -> float:
    true = shutil.which("true") or "/bin/true"
    return run_measured([true], work)["maxrss_kb"] / 1024


def bench(size_mb: int, base_dir: Path, repeats: int) -> None:
    from vault import crypto  # only for making the key pair

    base_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vault-bench-", dir=base_dir))
    try:
        _bench_in(work, size_mb, repeats, crypto.generate_identity())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _bench_in(work: Path, size_mb: int, repeats: int, keys: tuple[str, str]) -> None:
    secret, public = keys
    size = size_mb * MIB
    keyfile = work / "key.txt"
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    store = work / "store"
    plain = work / "plain.bin"

    log(f"work folder {work}; writing {size_mb} MiB input")
    plain_sha = make_input(plain, size)

    # Setup (untimed): the age file age decrypts, the object the vault gets,
    # and a check that what the vault stores is a plain age file.
    ref_age = work / "ref.age"
    run_measured([AGE, "-r", public, "-o", str(ref_age), str(plain)], work)
    setup = vault_op(work, store, "put", str(plain), public)
    get_id = setup.extra["id"]
    interop = work / "interop.out"
    digest = hashlib.sha256()
    for part in object_paths(store, get_id):  # a large file is stored in parts
        run_measured([AGE, "-d", "-i", str(keyfile), "-o", str(interop), str(part)], work)
        with open(interop, "rb") as f:
            digest.update(f.read())
        interop.unlink()
    if digest.hexdigest() != plain_sha:
        raise RuntimeError("age -d of the vault's objects did not give back the input")
    floor = trampoline_floor_mb(work)

    series = {
        name: Series(name)
        for name in (
            "age encrypt", "age + sync", "vault put", "age decrypt", "age -d + sha256", "vault get"
        )
    }  # fmt: skip
    enc_out = work / "out.age"
    dec_out = work / "out.bin"
    for i in range(1, repeats + 1):
        m = age_encrypt(work, plain, enc_out, public)
        if enc_out.stat().st_size <= size:
            raise RuntimeError("age encrypt: output is too small")
        enc_out.unlink()
        series["age encrypt"].runs.append(m)
        log(f"round {i}: age encrypt {m.seconds:.3f}s {m.rss_mb:.1f} MB")

        m = age_encrypt_durable(work, plain, enc_out, public)
        enc_out.unlink()
        series["age + sync"].runs.append(m)
        log(f"round {i}: age + sync  {m.seconds:.3f}s (sync {m.extra['sync']:.3f}s)")

        m = vault_op(work, store, "put", str(plain), public)
        for part in object_paths(store, m.extra["id"]):
            part.unlink()
        series["vault put"].runs.append(m)
        log(f"round {i}: vault put   {m.seconds:.3f}s {m.rss_mb:.1f} MB (wall {m.wall:.3f}s)")

        m = age_decrypt(work, ref_age, dec_out, keyfile)
        check_output(dec_out, size, "age decrypt")
        dec_out.unlink()
        series["age decrypt"].runs.append(m)
        log(f"round {i}: age decrypt {m.seconds:.3f}s {m.rss_mb:.1f} MB")

        m = age_decrypt_checked(work, ref_age, dec_out, keyfile)
        check_output(dec_out, size, "age -d + sha256")
        dec_out.unlink()
        series["age -d + sha256"].runs.append(m)
        log(f"round {i}: age -d + sha256 {m.seconds:.3f}s (sha256 {m.extra['sha256']:.3f}s)")

        m = vault_op(work, store, "get", get_id, str(dec_out), str(keyfile))
        check_output(dec_out, size, "vault get")
        dec_out.unlink()
        series["vault get"].runs.append(m)
        log(f"round {i}: vault get   {m.seconds:.3f}s {m.rss_mb:.1f} MB (wall {m.wall:.3f}s)")

    report(series, size_mb, repeats, floor)


def report(series: dict[str, Series], size_mb: int, repeats: int, floor: float) -> None:
    baseline = BASELINE
    print()
    print(f"object store vs age, {size_mb} MiB incompressible file, best of {repeats}")
    print(
        f"{'operation':<15} {'seconds':>8} {'MB/s':>8} {'vs base':>8} {'peak RSS MB':>12} "
        f"{'CPU s':>6}"
    )
    for name, s in series.items():
        best = s.best.seconds
        base_time = series[baseline.get(name, name)].best.seconds
        print(
            f"{name:<15} {best:>8.3f} {size_mb / best:>8.1f} {base_time / best:>7.2f}x"
            f" {s.peak_rss_mb:>12.1f} {min(m.cpu for m in s.runs):>6.2f}"
        )
    print()
    print(
        "MB = MiB; 'vs base' = baseline seconds / vault seconds (> 1 is faster): a put "
        "against age + sync (age, then an fsync of its output: durable, as a put is), "
        "a get against age -d. CPU s: the least user + system seconds of the "
        "processes (a vault row's start-up and its workers included), the figure "
        "that noise from other work on the machine disturbs least."
    )
    print("vault seconds are the put_file/get_file call; whole child process (best wall):")
    for name in baseline:
        s = series[name]
        hwm = max(m.extra["vm_hwm_kb"] for m in s.runs) / 1024
        extra = s.runs[0].extra
        workers = (
            f"; {extra['workers']} worker processes for {extra['parts']} parts, "
            f"each at most {max(m.extra['worker_rss_kb'] for m in s.runs) / 1024:.1f} MB"
            if extra["workers"]
            else ""
        )
        print(
            f"  {name}: {min(m.wall for m in s.runs):.3f}s; child's own VmHWM {hwm:.1f} MB{workers}"
        )
    print("peak RSS of a vault row: the child's peak plus every worker's (an upper bound)")
    print(
        f"RSS floor of the measuring trampoline: {floor:.1f} MB (values near it are upper bounds)"
    )
    print()
    print(
        f"goal: put >= {THROUGHPUT_GOAL}x age + sync, get >= {THROUGHPUT_GOAL}x age -d, "
        f"peak RSS < {RSS_GOAL_MB:.0f} MB"
    )
    for name, base in baseline.items():
        ratio = series[base].best.seconds / series[name].best.seconds
        verdict = "PASS" if ratio >= THROUGHPUT_GOAL else "FAIL"
        print(f"{name}: throughput {ratio:.2f}x {base} (goal >= {THROUGHPUT_GOAL}x) {verdict}")
        rss = series[name].peak_rss_mb
        verdict = "PASS" if rss < RSS_GOAL_MB else "FAIL"
        print(f"{name}: peak RSS {rss:.1f} MB (goal < {RSS_GOAL_MB:.0f} MB) {verdict}")
    for name, base in CHECKED.items():
        ratio = series[base].best.seconds / series[name].best.seconds
        verdict = "PASS" if ratio >= THROUGHPUT_GOAL else "FAIL"
        print(
            f"{name}: throughput {ratio:.2f}x {base} (the same work: the object's hash "
            f"checked too; goal >= {THROUGHPUT_GOAL}x) {verdict}"
        )


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/var/tmp"),
        help="folder in which a fresh work folder is made (and removed at the end)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement")
    args = parser.parse_args(argv)
    if args.size_mb < 1 or args.repeats < 1:
        parser.error("--size-mb and --repeats must be at least 1")
    if not os.path.exists(AGE):
        parser.error("the reference age command was not found")
    bench(args.size_mb, args.dir.resolve(), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
