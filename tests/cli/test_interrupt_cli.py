"""`vault ingest` stopped in the middle of OCR, by Ctrl-C at a terminal (a
SIGINT to the whole process group: the vault, its OCR workers and their
tesseract runs) or by a kill: one line, exit 130, no page image or text left
anywhere, the scan still where it was, no worker left running."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import scans
from tests.processes import all_gone, children_of
from vault.repository import Vault

WAIT = 60.0


def everything_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


class Scene:
    """A vault, a four-page scan to ingest, and private stand-ins for tmpfs
    (XDG_RUNTIME_DIR) and the system temp folder (TMPDIR)."""

    def __init__(self, vault_dir: Path, tmp_path: Path) -> None:
        self.vault_dir = vault_dir
        self.runtime = tmp_path / "runtime"
        self.system_tmp = tmp_path / "system-tmp"
        for folder in (self.runtime, self.system_tmp):
            folder.mkdir(mode=0o700)
        variants = ["clean", "skewed", "upside-down", "clean"]
        (tmp_path / "inbox").mkdir()
        self.scan = scans.write_image_pdf(
            tmp_path / "inbox" / "bundle.pdf", [scans.scan(v) for v in variants]
        )
        self.before = self.scan.read_bytes()

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "VAULT_DIR": str(self.vault_dir),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "TMPDIR": str(self.system_tmp),
        }
        env.pop("VAULT_PASSPHRASE", None)
        return subprocess.Popen(
            [sys.executable, "-m", "vault.cli", "ingest", str(self.scan)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, as a terminal gives it
        )

    def workers_starting(self, child: subprocess.Popen[bytes]) -> Callable[[], bool]:
        """A probe: an OCR worker process has been started (and is most likely
        still importing its modules)."""

        def probe() -> bool:
            for pid in children_of(child.pid):
                try:
                    if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        return True
                except OSError:
                    continue
            return False

        return probe

    def ocr_under_way(self) -> bool:
        """A page image is in the OCR work folder on (stand-in) tmpfs."""
        return any(p.name.startswith("page-") for p in self.runtime.rglob("*"))

    def wait_for(self, child: subprocess.Popen[bytes], probe: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while not probe():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "OCR never got under way"
            time.sleep(0.005)

    def assert_nothing_left(self) -> None:
        assert everything_under(self.system_tmp) == []
        assert self.scan.read_bytes() == self.before, "the scan left the inbox"
        vault = Vault.open(self.vault_dir)
        assert vault.journal_entries() == [], "a document was stored after all"


@pytest.mark.parametrize("moment", ["workers-starting", "mid-ocr"])
def test_ctrl_c_is_one_line_exit_130_and_leaves_nothing(
    vault_dir: Path, tmp_path: Path, moment: str
) -> None:
    scene = Scene(vault_dir, tmp_path)
    child = scene.start()
    try:
        probe = scene.ocr_under_way if moment == "mid-ocr" else scene.workers_starting(child)
        scene.wait_for(child, probe)
        if moment == "workers-starting":
            time.sleep(0.1)  # past Python's start, into the imports of the worker
        workers = children_of(child.pid)
        assert workers, "no OCR worker processes"
        os.killpg(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=WAIT)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 130, err.decode()
    assert err.decode() == "vault: interrupted\n"  # no worker's traceback either
    assert out == b""
    assert everything_under(scene.runtime) == []  # the work folder went with its pages
    assert all_gone(workers)
    scene.assert_nothing_left()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_killed_mid_ocr_its_workers_die_with_it_and_the_next_run_cleans_up(
    vault_dir: Path, tmp_path: Path
) -> None:
    scene = Scene(vault_dir, tmp_path)
    child = scene.start()
    try:
        scene.wait_for(child, scene.ocr_under_way)
        workers = children_of(child.pid)
        assert workers, "no OCR worker processes"
        child.kill()  # the vault alone, not its group: no clean-up of its own
        child.wait(timeout=WAIT)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert all_gone(workers), "OCR workers outlived the killed vault"
    # A killed vault leaves its work folder; the next command removes it.
    assert everything_under(scene.runtime) != []
    rerun = scene.start()
    out, err = rerun.communicate(timeout=WAIT * 3)
    assert rerun.returncode == 0, err.decode()
    assert out.decode().startswith("D-")
    assert everything_under(scene.runtime) == []
    assert everything_under(scene.system_tmp) == []


# --- Ctrl-C pressed again and again, at a terminal --------------------------------------


def _on_terminal(scene: Scene, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """The installed ``vault`` program with a pseudo-terminal for all three of its
    streams, in a process group of its own (as a terminal's foreground job);
    returns it and the terminal's controller end."""
    program = Path(sys.executable).with_name("vault")
    assert program.exists(), "the vault program is not installed beside python"
    controller, terminal = pty.openpty()
    env = {
        **os.environ,
        "VAULT_DIR": str(scene.vault_dir),
        "XDG_RUNTIME_DIR": str(scene.runtime),
        "TMPDIR": str(scene.system_tmp),
    }
    env.pop("VAULT_PASSPHRASE", None)
    child = subprocess.Popen(
        [str(program), *args],
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
    )
    os.close(terminal)
    return child, controller


def _read_all(child: subprocess.Popen[bytes], controller: int) -> str:
    """What the program wrote to its terminal, until it ends (or WAIT passes)."""
    seen = b""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the program ended: the terminal is closed
                break
            if not chunk:
                break
            seen += chunk
        elif child.poll() is not None:
            break
    os.close(controller)
    return seen.decode(errors="replace")


@pytest.mark.parametrize(
    ("command", "presses", "gap"),
    [("ingest", 2, 0.02), ("ingest", 3, 0.2), ("watch", 3, 0.05)],
)
def test_ctrl_c_again_and_again_ends_quietly_with_130(
    vault_dir: Path, tmp_path: Path, command: str, presses: int, gap: float
) -> None:
    """Ctrl-C pressed two or three times mid-OCR: no traceback, no hang, exit 130,
    and the OCR workers' tidying-up is not cut short."""
    scene = Scene(vault_dir, tmp_path)
    if command == "ingest":
        args = ["ingest", str(scene.scan)]
    else:
        args = ["watch", str(scene.scan.parent), "--settle", "0.2", "--interval", "0.2"]
    child, controller = _on_terminal(scene, *args)
    try:
        scene.wait_for(child, scene.ocr_under_way)
        workers = children_of(child.pid)
        for _ in range(presses):
            os.killpg(child.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            time.sleep(gap)
        shown = _read_all(child, controller)
        child.wait(timeout=WAIT)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == 130, shown
    assert "Traceback" not in shown and "Error" not in shown, shown
    assert shown.count("vault: interrupted") == 1 and shown.rstrip().endswith("vault: interrupted")
    assert everything_under(scene.runtime) == []
    assert all_gone(workers)
    scene.assert_nothing_left()


# Loaded into the vault command through PYTHONPATH: the moment pikepdf's
# compiled part starts making its enums (Python code called from C), a
# Ctrl-C arrives, as it may when pressed just after `vault ingest` starts.
_CTRL_C_WHILE_PIKEPDF_LOADS = """
import importlib.abc, os, signal, sys

class _CtrlCInPikepdf(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "pikepdf._core":
            def press(frame, event, arg):
                if event == "call" and frame.f_code.co_filename.endswith("enum.py"):
                    sys.setprofile(None)
                    os.kill(os.getpid(), signal.SIGINT)
            sys.setprofile(press)
        return None

sys.meta_path.insert(0, _CtrlCInPikepdf())
"""


def test_ctrl_c_while_the_pdf_library_loads_is_an_interruption(
    vault_dir: Path, tmp_path: Path
) -> None:
    """Ctrl-C while ingest is still loading its PDF library (whose compiled
    part aborts the whole program on an interruption it did not expect):
    `vault: interrupted`, exit 130, no crash report."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_CTRL_C_WHILE_PIKEPDF_LOADS)
    scan = scans.write_image_pdf(tmp_path / "scan.pdf", [scans.scan("clean")])
    env = {**os.environ, "VAULT_DIR": str(vault_dir), "PYTHONPATH": str(hook)}
    env.pop("VAULT_PASSPHRASE", None)
    done = subprocess.run(
        [sys.executable, "-m", "vault.cli", "ingest", str(scan)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=WAIT,
    )
    shown = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 130, shown
    assert shown.strip() == "vault: interrupted", shown
    assert Vault.open(vault_dir).journal_entries() == []
