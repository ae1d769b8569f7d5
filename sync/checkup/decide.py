"""What the system's own answers mean for the policy: pure decisions, no I/O.

Each function takes the text a command printed (or a file held) and returns
a ``Finding``: a state (ok, warning, problem, unknown), what was found in
plain words, what the coordinator does about it (``todo``, may name a
command) and what the committee asks (``ask``, a sentence to people, never
a command). No output is ever quoted back: a command's text can hold a user
name, a host name or a path under a home folder, and the checklist goes into
the committee's report. An answer that cannot be read is ``unknown``, never
guessed as ok.

The outputs these functions read are recorded from real systems in
``tests/fixtures/checkup/``: ``findmnt --json`` and ``lsblk --json --list``,
``/proc/swaps``, ``apt-get -s upgrade`` (run with ``LANG=C``), ``apt-config
dump``, ``fdesetup status``, ``manage-bde -status``, ``sysctl vm.swapusage``,
``pmset -g batt``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

OK, WARNING, PROBLEM, UNKNOWN = "ok", "warning", "problem", "unknown"
STATES = (OK, WARNING, PROBLEM, UNKNOWN)
_RANK = {OK: 0, UNKNOWN: 1, WARNING: 2, PROBLEM: 3}

UPDATE_DAYS = 7  # the policy: security updates installed within 7 days of release
TOOL_MAX_AGE_DAYS = 365  # rclone older than this is a warning

# Filesystems that encrypt what they hold whatever the disk under them.
ENCRYPTED_FILESYSTEMS = {
    "ecryptfs": "eCryptfs",
    "fuse.gocryptfs": "gocryptfs",
    "fuse.encfs": "EncFS",
    "fuse.cryfs": "CryFS",
    "fuse.securefs": "securefs",
}
MEMORY_FILESYSTEMS = ("tmpfs", "ramfs")


@dataclass(frozen=True)
class Finding:
    state: str
    found: str  # what was found: one or more sentences
    todo: str = ""  # for the coordinator: what to do (may name a command)
    ask: str = ""  # for the committee: what to ask (never a command)


def worst(states: Iterable[str]) -> str:
    """The most serious of ``states`` (problem, warning, unknown, ok)."""
    return max(states, key=lambda s: _RANK[s], default=OK)


# --- Linux disks: findmnt and lsblk ----------------------------------------------------


@dataclass(frozen=True)
class Mount:
    target: str
    source: str
    fstype: str
    majmin: str


def parse_findmnt(text: str | None) -> Mount | None:
    """The one filesystem of ``findmnt --json --target PATH`` (None: unreadable)."""
    try:
        found = json.loads(text or "")["filesystems"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return Mount(
        target=str(found.get("target") or ""),
        source=str(found.get("source") or ""),
        fstype=str(found.get("fstype") or ""),
        majmin=str(found.get("maj:min") or ""),
    )


@dataclass(frozen=True)
class Device:
    name: str
    kname: str
    path: str
    type: str
    fstype: str
    parent: str  # the parent's kernel name ("" for a whole disk)
    majmin: str


def parse_lsblk(text: str | None) -> list[Device] | None:
    """The devices of ``lsblk --json --list`` (one row per device and parent)."""
    try:
        rows = json.loads(text or "")["blockdevices"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(rows, list):
        return None
    devices = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        name = str(row.get("name") or "")
        devices.append(
            Device(
                name=name,
                kname=str(row.get("kname") or name),
                path=str(row.get("path") or f"/dev/{name}"),
                type=str(row.get("type") or ""),
                fstype=str(row.get("fstype") or ""),
                parent=str(row.get("pkname") or ""),
                majmin=str(row.get("maj:min") or ""),
            )
        )
    return devices


def _match(devices: Sequence[Device], spec: str, majmin: str = "") -> list[Device]:
    """The device(s) a mount source or a swap name means: by path, by name
    (``/dev/dm-1``, ``/dev/mapper/NAME``), else by major:minor."""
    spec = re.sub(r"\[.*\]$", "", spec)  # btrfs: /dev/mapper/root[/@home]
    names = {spec, spec.removeprefix("/dev/"), spec.removeprefix("/dev/mapper/")}
    found = [d for d in devices if d.path == spec or d.kname in names or d.name in names]
    if not found and majmin:
        found = [d for d in devices if d.majmin == majmin]
    return found


def _chains(devices: Sequence[Device], start: Device) -> list[list[Device]]:
    """Every path from ``start`` down to a whole disk (LVM and RAID have several)."""
    by_kname: dict[str, list[Device]] = {}
    for d in devices:
        by_kname.setdefault(d.kname, []).append(d)
    chains: list[list[Device]] = []

    def walk(device: Device, seen: list[Device]) -> None:
        path = [*seen, device]
        rows = by_kname.get(device.kname, [device])
        parents = [r.parent for r in rows if r.parent]
        if not parents or len(path) > 16:
            chains.append(path)
            return
        for parent in dict.fromkeys(parents):
            for row in by_kname.get(parent, [])[:1]:
                if all(p.kname != row.kname for p in path):
                    walk(row, path)

    walk(start, [])
    return chains


def device_encryption(devices: Sequence[Device], spec: str, majmin: str = "") -> str | None:
    """ "yes", "no" or "partly" (dm-crypt on some paths to the disk only);
    None when the device is not among ``devices``."""
    found = _match(devices, spec, majmin)
    if not found:
        return None
    chains = [c for d in found[:1] for c in _chains(devices, d)]
    crypted = [any(d.type == "crypt" for d in chain) for chain in chains]
    if all(crypted):
        return "yes"
    return "partly" if any(crypted) else "no"


def whole_disks(devices: Sequence[Device], spec: str, majmin: str = "") -> set[str]:
    """The whole disks under a device (their kernel names)."""
    found = _match(devices, spec, majmin)
    return {chain[-1].kname for d in found[:1] for chain in _chains(devices, d)}


DISK_TODO = (
    "encrypt the disk (on Linux: LUKS, chosen when the system is installed), or move "
    "the vault to an encrypted disk"
)
DISK_ASK = (
    "Ask the coordinator to have the computer's disk encrypted, or to move the vault "
    "to an encrypted disk"
)


def linux_disk(findmnt: str | None, lsblk: str | None) -> Finding:
    """Whether the filesystem under the vault folder is encrypted (dm-crypt/LUKS
    anywhere between it and the disk, on every path, or an encrypting filesystem)."""
    mount = parse_findmnt(findmnt)
    if mount is None:
        return Finding(
            UNKNOWN,
            "Could not tell which disk holds the vault folder (findmnt gave no answer).",
            "check by hand with 'lsblk -f': the vault's filesystem should sit on a 'crypt' device",
            "Ask the coordinator to confirm that the computer's disk is encrypted",
        )
    if mount.fstype in ENCRYPTED_FILESYSTEMS:
        return Finding(
            OK,
            f"The vault folder is on an encrypted filesystem "
            f"({ENCRYPTED_FILESYSTEMS[mount.fstype]}).",
        )
    if mount.fstype in MEMORY_FILESYSTEMS:
        return Finding(OK, "The vault folder is in memory (tmpfs): nothing of it is on a disk.")
    devices = parse_lsblk(lsblk)
    answer = None
    if devices is not None and mount.source.startswith("/dev/"):
        answer = device_encryption(devices, mount.source, mount.majmin)
    if answer is None:
        kind = mount.fstype or "unknown"
        return Finding(
            UNKNOWN,
            f"The vault folder's filesystem ({kind}) is not on a disk this computer lists, "
            "so whether it is encrypted is not known.",
            "find out where the folder's files really are (a network share, a container) "
            "and whether that disk is encrypted",
            "Ask the coordinator to confirm that the disk holding the vault is encrypted",
        )
    if answer == "yes":
        return Finding(OK, "The disk holding the vault folder is encrypted (dm-crypt/LUKS).")
    if answer == "partly":
        return Finding(
            PROBLEM,
            "The vault folder's filesystem spans disks of which only some are encrypted "
            "(dm-crypt/LUKS).",
            DISK_TODO,
            DISK_ASK,
        )
    return Finding(
        PROBLEM,
        "The disk holding the vault folder is not encrypted: no dm-crypt/LUKS layer "
        "was found between its filesystem and the disk.",
        DISK_TODO,
        DISK_ASK,
    )


# --- macOS and Windows disks -----------------------------------------------------------


def fdesetup(text: str | None) -> Finding:
    """``fdesetup status`` (the startup disk's FileVault)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    first = lines[0] if lines else ""
    todo = "turn FileVault on: System Settings > Privacy & Security > FileVault"
    ask = "Ask the coordinator to turn on FileVault (the Mac's disk encryption)"
    if any(line.startswith("Encryption in progress") for line in lines):
        return Finding(
            WARNING,
            "FileVault is encrypting the Mac's disk now; it is not finished.",
            "leave the Mac on mains power until FileVault has finished",
            "Ask the coordinator to confirm at the next meeting that FileVault has finished",
        )
    if any(line.startswith("Decryption in progress") for line in lines):
        return Finding(
            PROBLEM, "FileVault is being turned off: the Mac's disk is being decrypted.", todo, ask
        )
    if first.startswith("FileVault is On"):
        return Finding(OK, "FileVault is on: the Mac's disk is encrypted.")
    if first.startswith("FileVault is Off"):
        if "will be enabled after the next restart" in first or any(
            "Deferred enablement" in line for line in lines
        ):
            return Finding(
                WARNING,
                "FileVault is off; it will be turned on at the next restart.",
                "restart the Mac so FileVault is turned on",
                "Ask the coordinator to restart the Mac so that its disk gets encrypted",
            )
        return Finding(PROBLEM, "FileVault is off: the Mac's disk is not encrypted.", todo, ask)
    return Finding(
        UNKNOWN,
        "FileVault's state could not be read.",
        "check with 'fdesetup status' in Terminal, or in System Settings > "
        "Privacy & Security > FileVault",
        "Ask the coordinator to confirm that FileVault is on",
    )


BITLOCKER_TODO = (
    "turn BitLocker on for the drive: Settings > Privacy & security > Device encryption"
)
BITLOCKER_ASK = "Ask the coordinator to turn on BitLocker (the Windows disk encryption)"
BITLOCKER_UNKNOWN = Finding(
    UNKNOWN,
    "BitLocker's state could not be read (it needs an administrator).",
    "check in an administrator's Command Prompt with 'manage-bde -status', or in "
    "Settings > Privacy & security > Device encryption",
    "Ask the coordinator to confirm that BitLocker is on",
)


def _bitlocker(converted: str, protected: str) -> Finding:
    """``converted``: fully-encrypted, encrypting, decrypting, fully-decrypted;
    ``protected``: on, off."""
    if converted == "fully-decrypted":
        return Finding(
            PROBLEM, "BitLocker is off: the vault's drive is not encrypted.", BITLOCKER_TODO,
            BITLOCKER_ASK,
        )  # fmt: skip
    if converted == "decrypting":
        return Finding(
            PROBLEM, "BitLocker is being turned off: the drive is being decrypted.",
            BITLOCKER_TODO, BITLOCKER_ASK,
        )  # fmt: skip
    if converted == "encrypting":
        return Finding(
            WARNING,
            "BitLocker is encrypting the drive now; it is not finished.",
            "leave the computer on until BitLocker has finished",
            "Ask the coordinator to confirm at the next meeting that BitLocker has finished",
        )
    if protected != "on":
        return Finding(
            WARNING,
            "The drive is encrypted but BitLocker's protection is suspended: its key is "
            "stored unprotected on the drive.",
            "resume BitLocker: 'manage-bde -protectors -enable C:' in an administrator's "
            "Command Prompt",
            "Ask the coordinator to resume BitLocker's protection",
        )
    return Finding(OK, "BitLocker is on: the vault's drive is encrypted.")


def manage_bde(text: str | None) -> Finding:
    """``manage-bde -status X:`` (English Windows; another language is unknown)."""
    fields: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            fields.setdefault(key.strip().lower(), value.strip().lower())
    conversion = fields.get("conversion status", "")
    protection = fields.get("protection status", "")
    if not conversion or not protection:
        return BITLOCKER_UNKNOWN
    converted = (
        "fully-encrypted"
        if conversion.startswith(("fully encrypted", "used space only encrypted"))
        else "fully-decrypted"
        if conversion.startswith("fully decrypted")
        else "encrypting"
        if "encryption" in conversion
        else "decrypting"
        if "decryption" in conversion
        else ""
    )
    if not converted:
        return BITLOCKER_UNKNOWN
    return _bitlocker(converted, "on" if protection.startswith("protection on") else "off")


_WMI_CONVERSION = {
    0: "fully-decrypted", 1: "fully-encrypted", 2: "encrypting", 3: "decrypting",
    4: "encrypting", 5: "decrypting",
}  # fmt: skip


def bitlocker_wmi(text: str | None) -> Finding:
    """``Win32_EncryptableVolume``'s ``ConversionStatus`` and ``ProtectionStatus``
    for the drive, as JSON (PowerShell's ``ConvertTo-Json``)."""
    try:
        found = json.loads(text or "")
        if isinstance(found, list):
            found = found[0]
        conversion = _WMI_CONVERSION.get(int(found["ConversionStatus"]), "")
        protection = int(found["ProtectionStatus"])
    except (ValueError, KeyError, IndexError, TypeError):
        return BITLOCKER_UNKNOWN
    if not conversion or protection not in (0, 1):
        return BITLOCKER_UNKNOWN
    return _bitlocker(conversion, "on" if protection == 1 else "off")


# --- swap and the scanning work folder ------------------------------------------------

SWAP_TODO = (
    "encrypt the swap (on Linux: swap on the encrypted disk, or zram instead of a swap "
    "partition) or turn swap off"
)
SWAP_ASK = (
    "Ask the coordinator to have the computer's swap encrypted (pages read while "
    "scanning can otherwise reach the disk unencrypted)"
)


@dataclass(frozen=True)
class Swap:
    name: str
    kind: str  # partition, file


def parse_proc_swaps(text: str | None) -> list[Swap] | None:
    """The swap areas in use, from ``/proc/swaps`` (None: unreadable)."""
    if text is None:
        return None
    found = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            name = parts[0].replace("\\040", " ")
            found.append(Swap(name, parts[1]))
    return found


def linux_swap(
    proc_swaps: str | None, lsblk: str | None, files: Mapping[str, Finding] | None = None
) -> Finding:
    """Swap in use: none, zram, on a dm-crypt device, or a swap file on an
    encrypted filesystem (``files``: the disk finding of each swap file's folder)."""
    swaps = parse_proc_swaps(proc_swaps)
    if swaps is None:
        return Finding(
            UNKNOWN,
            "Could not read which swap the computer uses.",
            "check with 'swapon --show' and 'lsblk -f'",
            "Ask the coordinator to confirm that the computer's swap is encrypted",
        )
    if not swaps:
        return Finding(OK, "The computer uses no swap: memory is never written to the disk.")
    devices = parse_lsblk(lsblk) or []
    states: list[str] = []
    words: list[str] = []
    for swap in swaps:
        base = swap.name.rsplit("/", 1)[-1]
        if swap.kind == "partition" and base.startswith("zram"):
            states.append(OK)
            words.append("compressed memory (zram), never the disk")
        elif swap.kind == "file":
            disk = (files or {}).get(swap.name)
            state = disk.state if disk is not None else UNKNOWN
            state = WARNING if state == PROBLEM else state
            states.append(state)
            words.append(
                "a swap file on the encrypted disk"
                if state == OK
                else "a swap file on a disk that is not encrypted"
                if state == WARNING
                else "a swap file on a disk whose encryption is not known"
            )
        else:
            answer = device_encryption(devices, swap.name)
            state = {"yes": OK, "no": WARNING, "partly": WARNING}.get(answer or "", UNKNOWN)
            states.append(state)
            words.append(
                "an encrypted swap partition"
                if state == OK
                else "a swap partition that is not encrypted"
                if state == WARNING
                else "a swap device whose encryption is not known"
            )
    state = worst(states)
    found = "The computer swaps to " + "; ".join(dict.fromkeys(words)) + "."
    if state == WARNING:
        return Finding(
            WARNING,
            found + " Pages read during scanning can reach the disk unencrypted.",
            SWAP_TODO,
            SWAP_ASK,
        )
    if state == UNKNOWN:
        return Finding(
            UNKNOWN,
            found,
            "check with 'swapon --show' and 'lsblk -f' that swap is zram or on a 'crypt' device",
            "Ask the coordinator to confirm that the computer's swap is encrypted",
        )
    return Finding(OK, found)


def mac_swap(text: str | None) -> Finding:
    """``sysctl vm.swapusage``: macOS says "(encrypted)" when it is."""
    if not text or "vm.swapusage" not in text:
        return Finding(
            UNKNOWN,
            "Could not read whether the Mac's swap is encrypted.",
            "check with 'sysctl vm.swapusage' in Terminal: it should say (encrypted)",
            "Ask the coordinator to confirm that the Mac's swap is encrypted",
        )
    if "(encrypted)" in text:
        return Finding(OK, "The Mac's swap is encrypted.")
    return Finding(
        WARNING,
        "The Mac's swap is not encrypted: pages read during scanning can reach the disk.",
        "turn FileVault on (it encrypts the swap too)",
        SWAP_ASK,
    )


def work_folder(root: str | None, fstype: str | None, linux: bool) -> Finding:
    """Where OCR puts page images while it works: tmpfs where the system has one."""
    if root is not None and fstype in MEMORY_FILESYSTEMS:
        return Finding(OK, "Scanned pages are worked on in memory (tmpfs), never on the disk.")
    if linux:
        return Finding(
            WARNING,
            "Scanned pages are worked on in a folder on the disk: this system offers no "
            "memory-backed folder (tmpfs at $XDG_RUNTIME_DIR or /dev/shm).",
            "mount /dev/shm as tmpfs (the usual Linux set-up), or log in through a desktop "
            "session, which provides $XDG_RUNTIME_DIR",
            "Ask the coordinator to make scanning work in memory, as the system usually allows",
        )
    return Finding(
        OK,
        "This system has no memory-backed folder: scanned pages are worked on in a private "
        "folder on the disk, removed after each use (the disk's encryption covers it).",
    )


# --- security updates -----------------------------------------------------------------

_INST = re.compile(r"^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) ([^\[]*)\[")


def apt_security(text: str) -> list[str]:
    """The security updates ``apt-get -s upgrade`` would install: ``name=version``
    for each ``Inst`` line whose new version comes from a ``-security`` archive."""
    found = []
    for line in text.splitlines():
        matched = _INST.match(line)
        if matched and re.search(r"[-/]security\b|Debian-Security:", matched.group(3)):
            found.append(f"{matched.group(1)}={matched.group(2)}")
    return found


def apt_simulated(text: str) -> bool:
    """Whether ``text`` is a finished simulation (its summary line is there)."""
    return bool(re.search(r"^\d+ upgraded, \d+ newly installed", text, re.MULTILINE))


def unattended_on(apt_config: str | None) -> bool | None:
    """``APT::Periodic::Unattended-Upgrade`` from ``apt-config dump`` (None: unknown)."""
    if apt_config is None:
        return None
    matched = re.search(r'^APT::Periodic::Unattended-Upgrade "([^"]*)";', apt_config, re.M)
    if matched is None:
        return False
    value = matched.group(1).strip().lower()
    return value not in ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class AptFacts:
    simulate: str | None  # apt-get -s upgrade's output (None: it could not run)
    lists_refreshed: datetime | None  # the package lists' last refresh (None: never)
    first_seen: Mapping[str, datetime] = field(default_factory=dict)  # name=version -> when
    unattended: bool | None = None  # APT::Periodic::Unattended-Upgrade set
    unattended_installed: bool = False  # the unattended-upgrades program is there


def apt_updates(facts: AptFacts, now: datetime) -> Finding:
    """Pending security updates and the package lists' age, against 7 days."""
    if facts.simulate is None or not apt_simulated(facts.simulate):
        return Finding(
            UNKNOWN,
            "Could not ask apt which security updates are pending.",
            "check with 'apt list --upgradable' after 'sudo apt update'",
            "Ask the coordinator to confirm that security updates are installed",
        )
    pending = apt_security(facts.simulate)
    listed = facts.lists_refreshed
    age = (now - listed).days if listed is not None else None
    stale = age is None or age > UPDATE_DAYS
    install = "install them: 'sudo apt upgrade'"
    refresh = "let the computer look for updates: 'sudo apt update', then 'sudo apt upgrade'"
    looked = (
        "The computer has never downloaded the list of updates"
        if age is None
        else "The computer last looked for updates today"
        if age == 0
        else f"The computer last looked for updates {_days(age)} ago"
    )
    if pending:
        seen = [facts.first_seen[p] for p in pending if p in facts.first_seen]
        oldest = (now - min(seen)).days if seen else 0
        count = f"{len(pending)} security update{'s are' if len(pending) != 1 else ' is'} pending"
        if oldest >= UPDATE_DAYS:
            return Finding(
                PROBLEM,
                f"{count}, some known to be waiting for {_days(oldest)} "
                f"(the policy allows {UPDATE_DAYS}). {looked}.",
                install,
                "Ask the coordinator to install the computer's security updates now",
            )
        return Finding(
            WARNING,
            f"{count} (the policy allows {UPDATE_DAYS} days from their release). {looked}.",
            install,
            "Ask the coordinator to install the computer's security updates this week",
        )
    if stale:
        return Finding(
            WARNING,
            f"No security update is pending as far as the computer knows, but its list is "
            f"out of date: {looked[0].lower() + looked[1:]} (the policy's limit is "
            f"{UPDATE_DAYS} days).",
            refresh,
            "Ask the coordinator to let the computer look for and install updates",
        )
    return Finding(OK, f"No security update is pending. {looked}.")


def unattended(facts: AptFacts) -> Finding:
    """Whether Debian's unattended upgrades install security updates by themselves."""
    todo = "turn them on: 'sudo apt install unattended-upgrades', then 'sudo dpkg-reconfigure -plow unattended-upgrades'"  # noqa: E501
    ask = "Ask the coordinator to turn on automatic security updates"
    if facts.unattended is None:
        return Finding(
            UNKNOWN,
            "Could not read whether automatic updates are on.",
            "check with 'apt-config dump | grep Unattended'",
            ask,
        )
    if facts.unattended and facts.unattended_installed:
        return Finding(OK, "Automatic security updates (unattended-upgrades) are on.")
    if facts.unattended:
        return Finding(
            WARNING,
            "Automatic updates are switched on in apt's settings, but the "
            "unattended-upgrades program is not installed.",
            todo,
            ask,
        )
    return Finding(WARNING, "Automatic security updates (unattended-upgrades) are off.", todo, ask)


MANUAL_UPDATES = {
    "darwin": "check in System Settings > General > Software Update",
    "win32": "check in Settings > Windows Update",
}


def updates_unknown(platform: str) -> Finding:
    """Systems without apt: the check the coordinator does by hand."""
    manual = MANUAL_UPDATES.get(platform, "check with the system's package manager")
    return Finding(
        UNKNOWN,
        "This computer cannot say without the network whether security updates are pending.",
        manual + " that no security update waits, and that updates install automatically",
        "Ask the coordinator to confirm that the computer's security updates are installed",
    )


# --- tools ----------------------------------------------------------------------------


def version_tuple(text: str) -> tuple[int, ...]:
    """``v1.75.2`` or ``1.75.2-beta`` -> (1, 75, 2)."""
    numbers = re.findall(r"\d+", text.split("-", 1)[0])
    return tuple(int(n) for n in numbers[:3])


def rclone_version(text: str | None) -> str | None:
    """The version ``rclone version`` prints first: ``rclone v1.75.2`` -> ``1.75.2``."""
    matched = re.search(r"^rclone v(\d+\.\d+(?:\.\d+)?\S*)", text or "", re.M)
    return matched.group(1) if matched else None


def tesseract_version(text: str | None) -> str | None:
    """``tesseract 5.3.0`` (on stdout or, in older versions, stderr)."""
    matched = re.search(r"^tesseract v?(\d+\.\d+(?:\.\d+)?)", text or "", re.M)
    return matched.group(1) if matched else None


def rclone_age(
    found: str | None, pinned: str, released: date, today: date
) -> tuple[str, str | None]:
    """The state of the rclone in use and, when not ok, what is wrong.

    Its release date is known only for the pinned version: the same or newer is
    at most as old as that; an older one is older still."""
    if found is None:
        return PROBLEM, "rclone is missing or does not start, so no backup can be made"
    age = (today - released).days
    if version_tuple(found) < version_tuple(pinned):
        return WARNING, (
            f"rclone {found} is older than the version the vault is made for ({pinned}, "
            f"released {released:%B %Y})"
        )
    if version_tuple(found) == version_tuple(pinned) and age > TOOL_MAX_AGE_DAYS:
        return WARNING, f"rclone {found} was released {released:%B %Y}, more than a year ago"
    return OK, None


# --- rclone's configuration file ------------------------------------------------------

_CONFIG_PATH = re.compile(r"^(?:Configuration file is stored at|.*will use this path):\s*$")


def rclone_config_path(text: str | None) -> tuple[str, bool] | None:
    """``rclone config file``: (the path, whether it exists); None: no answer."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for n, line in enumerate(lines[:-1]):
        if _CONFIG_PATH.match(line):
            return lines[n + 1], not line.startswith("Configuration file doesn't exist")
    return None


def config_encrypted(head: bytes) -> bool:
    """An rclone configuration encrypted with ``rclone config encryption set``."""
    return b"RCLONE_ENCRYPT_V0:" in head


def rclone_config(
    exists: bool | None, mode: int | None, encrypted: bool, shown_path: str | None, posix: bool
) -> Finding:
    """The file that holds the cloud accounts' tokens: private and encrypted."""
    where = f" ({shown_path})" if shown_path else ""
    if exists is None:
        return Finding(
            UNKNOWN,
            "Could not ask rclone where its configuration file is.",
            "check with 'rclone config file' that the file is yours alone and encrypted",
            "Ask the coordinator to confirm that the cloud account's keys are protected",
        )
    if not exists:
        return Finding(
            OK,
            "rclone has no configuration file: no cloud account's keys are stored on this "
            "computer by rclone.",
        )
    problems: list[str] = []
    todos: list[str] = []
    state = OK
    chmod = (
        f"chmod 600 {shown_path}"
        if shown_path
        else "chmod 600 on the file 'rclone config file' names"
    )
    if posix and mode is not None and mode & 0o077:
        state = WARNING
        problems.append("other users of this computer can read it")
        todos.append(f"make it yours alone: '{chmod}'")
    if not encrypted:
        state = WARNING
        problems.append("it is not encrypted with a configuration password")
        todos.append(
            "encrypt it: 'rclone config encryption set' (then give the password to the vault "
            "through RCLONE_CONFIG_PASS or --password-command)"
        )
    if state == OK:
        return Finding(
            OK, f"rclone's configuration file{where}, which holds the cloud account's keys, "
            "is private and encrypted.",
        )  # fmt: skip
    return Finding(
        state,
        f"rclone's configuration file{where} holds the cloud account's keys, and "
        + " and ".join(problems)
        + ".",
        "; ".join(todos),
        "Ask the coordinator to protect the file that holds the cloud account's keys "
        "(private to them, and encrypted with a password)",
    )


# --- power ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Supply:
    type: str  # Mains, Battery, UPS, USB
    online: bool | None  # Mains/UPS: 1 when it supplies power
    status: str  # Battery: Charging, Discharging, Full, Not charging


def linux_power(supplies: Sequence[Supply] | None, ups_daemon: bool) -> tuple[Finding, bool]:
    """Mains, battery, UPS: information (the policy asks only that a UPS is
    considered). Also: whether this is a laptop (it has a battery)."""
    if supplies is None:
        return (
            Finding(UNKNOWN, "Could not read the computer's power supplies."),
            False,
        )
    types = {s.type for s in supplies}
    laptop = "Battery" in types
    ups = "UPS" in types or ups_daemon
    discharging = any(s.type == "Battery" and s.status == "Discharging" for s in supplies)
    if ups:
        return Finding(OK, "An uninterruptible power supply (UPS) is connected."), laptop
    if laptop:
        now = "on its battery now" if discharging else "on mains power now"
        return (
            Finding(OK, f"A laptop, {now}: its battery carries it through a power cut."),
            laptop,
        )
    return (
        Finding(
            OK,
            "Runs on mains power with no uninterruptible power supply (UPS) found: a power "
            "cut stops it at once (the policy asks the committee to consider a UPS).",
        ),
        laptop,
    )


def pmset(text: str | None) -> tuple[Finding, bool]:
    """``pmset -g batt``: "Now drawing from 'AC Power'" / 'Battery Power' / 'UPS Power'."""
    if not text or "drawing from" not in text:
        return Finding(UNKNOWN, "Could not read the Mac's power supply."), False
    laptop = "InternalBattery" in text
    if "'UPS Power'" in text or "UPS" in text.split("drawing from", 1)[1]:
        return Finding(OK, "An uninterruptible power supply (UPS) is connected."), laptop
    if laptop:
        return Finding(OK, "A laptop: its battery carries it through a power cut."), laptop
    return (
        Finding(
            OK,
            "Runs on mains power with no uninterruptible power supply (UPS) found (the "
            "policy asks the committee to consider a UPS).",
        ),
        laptop,
    )


def _days(count: int) -> str:
    return f"{count} day" + ("" if count == 1 else "s")
