"""scripts/setup puts `vault` on the user's command path, so that a fresh
shell finds it (a link in a folder of the path, or the one line that adds
the folder to it), and never replaces another program called vault."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup"
BASE_PATH = "/usr/bin:/bin"


def _setup(bin_dir: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAULT_BIN_DIR": str(bin_dir), "HOME": str(home), "PATH": BASE_PATH}
    return subprocess.run(
        [str(SETUP)], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _fresh_shell(home: Path, command: str) -> subprocess.CompletedProcess[str]:
    """A new interactive shell, as a new terminal window starts one (it reads ~/.bashrc)."""
    env = {"HOME": str(home), "PATH": BASE_PATH, "TERM": "dumb"}
    return subprocess.run(
        ["bash", "-ic", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_a_fresh_shell_finds_vault_after_setup(tmp_path: Path) -> None:
    home, bin_dir = tmp_path / "home", tmp_path / "home" / ".local" / "bin"
    home.mkdir()
    assert _fresh_shell(home, "command -v vault").returncode != 0
    result = _setup(bin_dir, home)
    assert result.returncode == 0, result.stderr
    assert (bin_dir / "vault").resolve() == (ROOT / ".venv" / "bin" / "vault").resolve()
    # The folder is not on this path yet: setup says the one line to type.
    line = next(
        ln.strip() for ln in result.stdout.splitlines() if ln.strip().startswith("echo 'export")
    )
    assert str(bin_dir) in line and "~/.bashrc" in line
    subprocess.run(["bash", "-c", line], env={"HOME": str(home)}, check=True, timeout=60)
    found = _fresh_shell(home, "command -v vault && vault --version")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[0] == str(bin_dir / "vault")
    assert "vault" in found.stdout.splitlines()[1]
    # Run again: nothing changes, nothing is said about the link.
    again = _setup(bin_dir, home)
    assert again.returncode == 0 and "now" not in again.stdout


def test_setup_leaves_another_program_called_vault_alone(tmp_path: Path) -> None:
    home, bin_dir = tmp_path / "home", tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    home.mkdir()
    other = bin_dir / "vault"
    other.write_text("#!/bin/sh\necho another vault\n")
    other.chmod(0o755)
    result = _setup(bin_dir, home)
    assert result.returncode == 0, result.stderr
    assert other.read_text() == "#!/bin/sh\necho another vault\n"
    assert "another program; left alone" in result.stderr
    assert f"alias vault='{ROOT / '.venv' / 'bin' / 'vault'}'" in result.stderr
