"""README's "Recovering by hand with rclone and age alone", run as written.

The procedure's commands are taken from README.md literally (its indented
code blocks) and run with bash, the real ``rclone`` and the reference ``age``
against a vault synced to a loopback ``rclone serve s3`` remote called
``offsite`` (as in the README, set up with ``RCLONE_CONFIG_OFFSITE_*``
variables), and from a folder standing for the USB disk. The one change made
to a command: the USB disk's path. No vault code reads anything.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.integration.agecmd import age_path, run_with_passphrase
from tests.recovery.conftest import Backup, sync_to
from tests.recovery.conftest import backup as backup  # the fixture
from tests.sync.s3server import S3Server

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Recovering by hand with `rclone` and `age` alone"
USB_PATH = "/media/usb/centre-vault"


def procedure() -> dict[str, str]:
    """The section's code blocks, by what they start with."""
    text = README.read_text("utf-8")
    body = text[text.index(SECTION) :]
    body = body[: body.index("\n## ", 1)]
    blocks: list[list[str]] = []
    previous_code = False
    for line in body.splitlines():
        code = line.startswith("       ") and line.strip()
        if code:
            if not previous_code:
                blocks.append([])
            blocks[-1].append(line[7:])
        previous_code = bool(code)
    found = {}
    for block in blocks:
        script = "\n".join(block)
        for label, start in (
            ("cloud", "rclone copy "),
            ("usb", "cp -R "),
            ("cd", "cd "),
            ("passphrase", "age -d -o data-key.txt keys/passphrase.age"),
            ("emergency", "age -d -i emergency-key.txt"),
            ("list", "for m in manifests"),
            ("all", "mkdir -p recovered"),
            ("one", "age -d -i data-key.txt -o referral.pdf"),
        ):
            if script.startswith(start):
                assert label not in found, f"two blocks start with {start!r}"
                found[label] = script
                break
        else:
            raise AssertionError(f"a command in README's procedure is not tested: {script!r}")
    return found


@pytest.fixture
def offsite(backup: Backup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The backup on ``offsite:centre-vault`` (a real sync to a loopback S3
    server), and ``rclone`` on the PATH."""
    data = tmp_path / "s3-data"
    (data / "centre-vault").mkdir(parents=True)
    server = S3Server(data, tmp_path / "serve-s3.log")
    server.start()
    try:
        server.client_env("offsite", monkeypatch)
        vault = tmp_path / "vault"
        shutil.copytree(backup.vault, vault)
        sync_to(vault, "offsite", "offsite:centre-vault")
        monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        assert shutil.which("rclone") and age_path()
        yield
    finally:
        server.kill()


def bash(script: str, cwd: Path) -> None:
    done = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def recovered(work: Path) -> dict[str, bytes]:
    folder = work / "vault-copy" / "recovered"
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.usefixtures("offsite")
def test_readme_procedure_from_the_cloud_with_the_passphrase(
    backup: Backup, tmp_path: Path
) -> None:
    steps = procedure()
    work = tmp_path / "new-computer"
    work.mkdir()
    bash(steps["cloud"], work)
    script = "\n".join(
        [f"cd {shlex.quote(str(work))}", steps["cd"], steps["passphrase"], steps["list"],
         steps["all"]]
    )  # fmt: skip
    returncode, output, answered = run_with_passphrase(
        ["bash", "-e", "-c", script], PASSPHRASE, timeout=120
    )
    assert returncode == 0, output[-2000:]
    assert answered == 1  # age asked for the passphrase once
    assert recovered(work) == backup.originals


def test_readme_procedure_from_a_usb_disk_with_the_emergency_key(
    backup: Backup, tmp_path: Path
) -> None:
    steps = procedure()
    assert USB_PATH in steps["usb"]
    work = tmp_path / "new-computer"
    work.mkdir()
    bash(steps["usb"].replace(USB_PATH, str(backup.folder)), work)
    (work / "vault-copy" / "emergency-key.txt").write_text(backup.emergency_secret + "\n")
    bash("\n".join([steps["cd"], steps["emergency"], steps["list"], steps["all"]]), work)
    assert recovered(work) == backup.originals
    assert re.search(r"objects/ab/abcdef", steps["one"])  # the example, not run
