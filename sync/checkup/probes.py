"""The system's own answers, asked in one place: commands and files, never the network.

Every command runs through :func:`run`: an argument list, never a shell, a
short timeout, ``LANG=C`` (the outputs are read in English), no standard
input, the vault's environment without its secrets. A command that is
missing, fails or takes too long gives ``None``: the check says "unknown",
never ok. Nothing here decides anything (``decide`` does) or shows a
command's output to anyone.

``apt-get -s upgrade`` takes a second or two, so its output is kept in the
per-user state folder (``vault.paths.default_state_dir``), keyed by the
times of apt's package lists and dpkg's status file: it runs again only
when one of them changed. The same file remembers when each pending
security update was first seen, so one waiting for more than the policy's
7 days shows as such.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vault import clock
from vault.children import environment
from vault.fsutil import atomic_write

TIMEOUT = 5.0  # seconds, for each command
APT_TIMEOUT = 30.0  # apt-get -s upgrade reads every package list
APT_CACHE = "checkup-apt.json"
APT_LISTS = Path("/var/lib/apt/lists")
DPKG_STATUS = Path("/var/lib/dpkg/status")
APT_STAMP = Path("/var/lib/apt/periodic/update-success-stamp")
_APT_KEYS = (
    DPKG_STATUS, APT_LISTS, Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"),
    Path("/etc/apt/preferences.d"),
)  # fmt: skip
_SBIN = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")  # swapon, fdesetup may be outside PATH


@dataclass(frozen=True)
class Output:
    returncode: int
    stdout: str
    stderr: str


def find(name: str) -> str | None:
    """The program ``name`` on PATH, or in the system's own folders."""
    found = shutil.which(name)
    if found is None and os.name == "posix":
        found = shutil.which(name, path=os.pathsep.join(_SBIN))
    return found


def run(argv: Sequence[str], *, timeout: float = TIMEOUT) -> Output | None:
    """Run ``argv``; None when the program is missing, cannot start or times out."""
    program = find(argv[0])
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, *argv[1:]],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env=environment({"LANG": "C", "LC_ALL": "C"}),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Output(
        done.returncode,
        done.stdout.decode("utf-8", errors="replace"),
        done.stderr.decode("utf-8", errors="replace"),
    )


def stdout(argv: Sequence[str], *, timeout: float = TIMEOUT) -> str | None:
    """What ``argv`` printed, if it succeeded."""
    done = run(argv, timeout=timeout)
    return done.stdout if done is not None and done.returncode == 0 else None


def existing(path: Path) -> Path:
    """``path``, or its nearest folder that exists (a USB disk not plugged in)."""
    path = path.absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


# --- Linux ----------------------------------------------------------------------------


def findmnt(path: Path) -> str | None:
    """``findmnt --json --target PATH``: the filesystem that holds ``path``."""
    argv = ["findmnt", "--json", "--target", str(existing(path))]
    return stdout([*argv, "-o", "TARGET,SOURCE,FSTYPE,MAJ:MIN"])


def lsblk() -> str | None:
    """``lsblk --json --list`` with each device's parent (util-linux 2.37 or
    later calls the mount column MOUNTPOINTS, older ones MOUNTPOINT)."""
    columns = "NAME,KNAME,PATH,TYPE,FSTYPE,PKNAME,MAJ:MIN"
    return stdout(["lsblk", "--json", "--list", "-o", columns + ",MOUNTPOINTS"]) or stdout(
        ["lsblk", "--json", "--list", "-o", columns + ",MOUNTPOINT"]
    )


def read_text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return None


def proc_swaps() -> str | None:
    return read_text(Path("/proc/swaps"))


def power_supplies() -> list[dict[str, str]] | None:
    """Each of ``/sys/class/power_supply/*``: its type, online and status."""
    root = Path("/sys/class/power_supply")
    if not root.is_dir():
        return None
    found = []
    for entry in sorted(root.iterdir()):
        fields = {}
        for name in ("type", "online", "status"):
            text = read_text(entry / name)
            if text is not None:
                fields[name] = text.strip()
        found.append(fields)
    return found


def ups_daemon() -> bool:
    """A UPS daemon set up: NUT with a UPS in ups.conf, or apcupsd running."""
    conf = read_text(Path("/etc/nut/ups.conf")) or ""
    if any(line.strip().startswith("[") for line in conf.splitlines()):
        return True
    return any(Path(p).exists() for p in ("/run/apcupsd.pid", "/var/run/apcupsd.pid"))


def apt_config() -> str | None:
    return stdout(["apt-config", "dump"])


def apt_lists_refreshed() -> datetime | None:
    """When apt last refreshed its package lists, from its own files: the
    latest of the lists folder, its Release files and apt's success stamp."""
    times: list[float] = []
    with contextlib.suppress(OSError):
        times.append(APT_LISTS.stat().st_mtime)
        for entry in APT_LISTS.iterdir():
            if entry.name.endswith(("Release", "InRelease")):
                times.append(entry.stat().st_mtime)
    with contextlib.suppress(OSError):
        times.append(APT_STAMP.stat().st_mtime)
    if not times or not any(APT_LISTS.glob("*Release")):
        return None
    return datetime.fromtimestamp(max(times)).astimezone()


def _apt_key() -> list[list[Any]]:
    key: list[list[Any]] = []
    for path in _APT_KEYS:
        with contextlib.suppress(OSError):
            key.append([str(path), path.stat().st_mtime_ns])
    with contextlib.suppress(OSError):
        for entry in sorted(APT_LISTS.iterdir()):
            key.append([entry.name, entry.stat().st_mtime_ns])
    return key


@dataclass
class AptRecord:
    simulate: str | None
    first_seen: dict[str, str]  # name=version -> when first seen pending (ISO)
    fresh: bool = False  # apt-get ran now (not the kept answer)


def apt_simulate(state_dir: Path | None) -> AptRecord:
    """``apt-get -s upgrade``'s output, from the kept copy while apt's files
    are unchanged; the record of when each pending update was first seen."""
    cache = state_dir / APT_CACHE if state_dir is not None else None
    kept: dict[str, Any] = {}
    if cache is not None:
        with contextlib.suppress(OSError, ValueError):
            kept = json.loads(cache.read_text("utf-8"))
    key = _apt_key()
    first_seen = kept.get("first_seen") if isinstance(kept.get("first_seen"), dict) else {}
    if kept.get("key") == key and isinstance(kept.get("simulate"), str):
        return AptRecord(kept["simulate"], dict(first_seen or {}))
    done = run(["apt-get", "-s", "upgrade"], timeout=APT_TIMEOUT)
    simulate = done.stdout if done is not None and done.returncode == 0 else None
    return AptRecord(simulate, dict(first_seen or {}), fresh=True)


def keep_apt(state_dir: Path | None, record: AptRecord) -> None:
    """Keep the simulation and the first-seen times (quietly: a cache)."""
    if state_dir is None or record.simulate is None:
        return
    data = {"key": _apt_key(), "simulate": record.simulate, "first_seen": record.first_seen}
    with contextlib.suppress(OSError):
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(state_dir / APT_CACHE, json.dumps(data).encode())


def unattended_installed() -> bool:
    return find("unattended-upgrade") is not None


def is_debian() -> bool:
    return find("apt-get") is not None and DPKG_STATUS.exists()


# --- macOS and Windows ----------------------------------------------------------------


def fdesetup_status() -> str | None:
    return stdout(["fdesetup", "status"])


def mac_swapusage() -> str | None:
    return stdout(["sysctl", "vm.swapusage"])


def pmset_battery() -> str | None:
    return stdout(["pmset", "-g", "batt"])


def manage_bde(drive: str) -> str | None:
    """``manage-bde -status X:`` (needs an administrator: None otherwise)."""
    return stdout(["manage-bde", "-status", drive])


def bitlocker_wmi(drive: str) -> str | None:
    """``Win32_EncryptableVolume`` of ``drive`` through PowerShell, as JSON."""
    query = (
        "Get-CimInstance -Namespace root/cimv2/Security/MicrosoftVolumeEncryption "
        f"-ClassName Win32_EncryptableVolume -Filter \"DriveLetter='{drive}'\" | "
        "Select-Object ConversionStatus,ProtectionStatus | ConvertTo-Json"
    )
    return stdout(["powershell", "-NoProfile", "-NonInteractive", "-Command", query], timeout=15)


def windows_drive(path: Path) -> str:
    return (path.absolute().drive or "C:").upper()


# --- the vault's tools ----------------------------------------------------------------


def tesseract_version() -> str | None:
    done = run(["tesseract", "--version"])
    return None if done is None or done.returncode != 0 else done.stdout + done.stderr


def python_packages() -> dict[str, str | None]:
    """Each package the vault depends on and its installed version (None: missing)."""
    from importlib import metadata

    try:
        wanted = metadata.requires("centre-vault") or []
    except metadata.PackageNotFoundError:
        return {}
    found: dict[str, str | None] = {}
    for spec in wanted:
        if ";" in spec:  # an extra (the tests' tools)
            continue
        name = spec.split("[")[0]
        for mark in "<>=!~ ":
            name = name.split(mark)[0]
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def platform() -> str:
    return sys.platform


def now() -> datetime:
    return clock.now()
