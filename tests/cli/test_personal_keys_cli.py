"""Personal keys through the CLI: ``vault key add|list|remove``, unlocking by
any key (the audit log names it), ``vault passwd`` for the key that unlocked,
the reference ``age`` command opening a personal key, sync carrying the key
files (and removing a removed one), recovery and the drill with any key, and
the key check of ``vault status`` and the committee report.

Keys are added at the tests' low scrypt cost (``cheap_keys``) where the cost
is not the point; one test types a new key's passphrase twice on a real
terminal at the real cost.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR, Template
from tests.integration.agecmd import age_decrypt_with_passphrase
from tests.pty_session import Terminal
from vault import crypto, key_register, scrypt_file
from vault.cli import cli
from vault.repository import Vault

DEPUTY = "Deputy Stays 77"
CHAIR = "Chair Person 31"


@pytest.fixture(autouse=True)
def cheap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key files written in this process at the tests' scrypt cost (see conftest)."""
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )


def run(
    runner: CliRunner, vault_dir: Path, *args: str, passphrase: str | None = PASSPHRASE, **env: str
) -> Result:
    environ = {"VAULT_PASSPHRASE": passphrase, **env} if passphrase else dict(env)
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=environ)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for secret in (PASSPHRASE, DEPUTY, CHAIR):
        assert secret not in result.output
    return result


def add(runner: CliRunner, vault_dir: Path, label: str, new: str, by: str = PASSPHRASE) -> Result:
    return run(runner, vault_dir, "key", "add", label, passphrase=by, VAULT_NEW_PASSPHRASE=new)


def remote_and_deputy(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> Path:
    """A folder remote "usb" and a key "deputy"; the remote's folder."""
    folder = tmp_path / "usb"
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    return folder


def audit(vault_dir: Path) -> list[dict[str, Any]]:
    lines = (vault_dir / "audit.log").read_text().splitlines()
    return [json.loads(line) for line in lines]


def listed(runner: CliRunner, vault_dir: Path) -> dict[str, dict[str, Any]]:
    result = run(runner, vault_dir, "key", "list", "--json", passphrase=None)
    assert result.exit_code == 0, result.output
    return {k["label"]: k for k in json.loads(result.output)}


def test_an_older_vault_has_one_key_called_coordinator(runner: CliRunner, vault_dir: Path) -> None:
    assert not (vault_dir / "keys" / "people.json").exists()
    keys = listed(runner, vault_dir)
    assert list(keys) == ["coordinator"]
    assert keys["coordinator"]["file"] == "keys/passphrase.age"
    assert set(keys["coordinator"]) == {
        "label", "file", "created", "passphrase_changed", "last_used", "level",
    }  # fmt: skip


def test_add_list_remove_and_unlock_by_any_key(runner: CliRunner, vault_dir: Path) -> None:
    result = add(runner, vault_dir, "Deputy", DEPUTY)
    assert result.exit_code == 0, result.output
    assert (vault_dir / "keys" / "people" / "deputy.age").exists()
    assert (vault_dir / "keys" / "people" / "deputy.age").stat().st_mode & 0o777 == 0o600
    register = (vault_dir / "keys" / "people.json").read_text()
    assert DEPUTY not in register and "AGE-SECRET" not in register
    keys = listed(runner, vault_dir)
    assert sorted(keys) == ["coordinator", "deputy"]
    assert keys["deputy"]["last_used"] is None and keys["deputy"]["created"]
    assert keys["coordinator"]["last_used"]  # it unlocked the add
    plain = run(runner, vault_dir, "key", "list", passphrase=None)
    assert "deputy" in plain.output and "never" in plain.output

    # The deputy's passphrase opens the vault; the audit log names the key.
    result = run(runner, vault_dir, "search", "letter", passphrase=DEPUTY)
    assert result.exit_code == 0, result.output
    entries = audit(vault_dir)
    assert entries[-1]["event"] == "search" and entries[-1]["detail"]["key"] == "deputy"
    added = [e for e in entries if e["event"] == "key-add"]
    assert added[-1]["detail"] == {"key": "coordinator", "label": "deputy"}
    assert listed(runner, vault_dir)["deputy"]["last_used"]
    shown = run(runner, vault_dir, "audit", passphrase=None).output.splitlines()
    assert [line for line in shown if " search " in line][-1].endswith("key=deputy")

    # A wrong passphrase is said once, exit 3.
    wrong = run(runner, vault_dir, "search", "letter", passphrase="Nobody Knows 55")
    assert wrong.exit_code == 3, wrong.output
    assert wrong.output.count("wrong passphrase") == 1

    # Removing: asks first (or --yes); then the deputy's passphrase opens nothing.
    asked = run(runner, vault_dir, "key", "remove", "deputy")
    assert asked.exit_code == 2 and "--yes" in asked.output
    assert (vault_dir / "keys" / "people" / "deputy.age").exists()
    gone = run(runner, vault_dir, "key", "remove", "deputy", "--yes")
    assert gone.exit_code == 0, gone.output
    assert not (vault_dir / "keys" / "people" / "deputy.age").exists()
    assert list(listed(runner, vault_dir)) == ["coordinator"]
    refused = run(runner, vault_dir, "search", "letter", passphrase=DEPUTY)
    assert refused.exit_code == 3, refused.output
    assert audit(vault_dir)[-1]["event"] == "key-remove"


def test_labels_are_checked_and_the_last_key_stays(runner: CliRunner, vault_dir: Path) -> None:
    for bad in ("", "has space", "x" * 25, "lead-", "dé", "../up"):
        result = add(runner, vault_dir, bad, DEPUTY)
        assert result.exit_code == 2, (bad, result.output)
        assert "key label" in result.output
    for kept in ("emergency", "Coordinator"):
        result = add(runner, vault_dir, kept, DEPUTY)
        assert result.exit_code == 2, (kept, result.output)
        assert f"the key label '{kept.lower()}' is kept for the" in result.output
    assert not (vault_dir / "keys" / "people").exists()
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    again = add(runner, vault_dir, "deputy", CHAIR)
    assert again.exit_code == 2 and "exists already" in again.output
    for taken in (PASSPHRASE, DEPUTY):
        same = add(runner, vault_dir, "chair", taken)
        assert same.exit_code == 2, same.output
        errors = [line for line in same.output.splitlines() if line.startswith("vault: error:")]
        assert len(errors) == 1 and "that passphrase already opens the key" in errors[0]
    assert not (vault_dir / "keys" / "people" / "chair.age").exists()
    weak = add(runner, vault_dir, "chair", "short")
    assert weak.exit_code == 2
    unknown = run(runner, vault_dir, "key", "remove", "treasurer", "--yes")
    assert unknown.exit_code == 2 and "no key is labelled" in unknown.output

    # The coordinator's key may go while another remains; the last one never.
    result = run(runner, vault_dir, "key", "remove", "coordinator", "--yes", passphrase=DEPUTY)
    assert result.exit_code == 0, result.output
    assert not (vault_dir / "keys" / "passphrase.age").exists()
    assert run(runner, vault_dir, "search", "letter").exit_code == 3  # the old passphrase
    last = run(runner, vault_dir, "key", "remove", "deputy", "--yes", passphrase=DEPUTY)
    assert last.exit_code == 2
    lines = [line for line in last.output.splitlines() if line.startswith("vault: error:")]
    assert lines == [
        "vault: error: 'deputy' is the vault's last key: removing it would leave no "
        "passphrase that opens the vault"
    ]
    assert (vault_dir / "keys" / "people" / "deputy.age").exists()


def test_passwd_changes_the_key_that_unlocked(runner: CliRunner, vault_dir: Path) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    coordinator_file = (vault_dir / "keys" / "passphrase.age").read_bytes()
    result = run(runner, vault_dir, "passwd", passphrase=DEPUTY, VAULT_NEW_PASSPHRASE=CHAIR)
    assert result.exit_code == 0, result.output
    assert "Passphrase changed for the key 'deputy'." in result.output
    assert (vault_dir / "keys" / "passphrase.age").read_bytes() == coordinator_file
    assert run(runner, vault_dir, "search", "letter", passphrase=DEPUTY).exit_code == 3
    assert run(runner, vault_dir, "search", "letter", passphrase=CHAIR).exit_code == 0
    assert run(runner, vault_dir, "search", "letter").exit_code == 0  # the coordinator's still
    passwd = [e for e in audit(vault_dir) if e["event"] == "passwd"]
    assert passwd[-1]["detail"] == {"key": "deputy"}


def test_a_forged_register_is_refused_by_the_next_unlock(
    runner: CliRunner, vault_dir: Path
) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    path = vault_dir / "keys" / "people.json"
    data = json.loads(path.read_text())
    for key in data["keys"]:
        if key["label"] == "deputy":
            key["last_used"] = "2099-01-01"  # made to look used
    path.write_text(json.dumps(data))
    result = run(runner, vault_dir, "search", "letter")  # nobody is locked out: a warning
    assert result.exit_code == 0, result.output
    assert "warning: the list of the vault's keys (keys/people.json) is damaged" in result.output
    assert json.loads(path.read_text())["keys"] == data["keys"]  # not written over
    changed = run(runner, vault_dir, "key", "remove", "deputy", "--yes")
    assert changed.exit_code == 4, changed.output
    assert "keys/people.json failed its authenticity check" in changed.output
    status = run(runner, vault_dir, "status")  # given the passphrase, status checks it too
    assert "warning: The list of the vault's keys (keys/people.json) is damaged or was " in (
        status.output
    )


def test_the_age_command_opens_a_personal_key(
    runner: CliRunner, vault_dir: Path, template_vault: Template
) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    secret = age_decrypt_with_passphrase(vault_dir / "keys" / "people" / "deputy.age", DEPUTY)
    assert secret.decode().strip() == template_vault.data_secret


def test_a_new_key_is_typed_twice_on_a_terminal(vault_dir: Path) -> None:
    """At the real scrypt cost: the new person types the passphrase twice."""
    env = {**os.environ, "VAULT_DIR": str(vault_dir), "VAULT_PASSPHRASE": PASSPHRASE}
    env.pop("VAULT_NEW_PASSPHRASE", None)
    term = Terminal(["key", "add", "chair"], env)
    term.expect("Passphrase for 'chair':")
    term.send(CHAIR)
    term.expect("Type it again:")
    term.send(CHAIR + "x")
    term.expect("not the same")
    term.expect("Passphrase for 'chair':")
    term.send(CHAIR)
    term.expect("Type it again:")
    term.send(CHAIR)
    assert term.finish() == 0, term.seen
    assert "Key 'chair' added" in term.seen and CHAIR not in term.seen
    blob = (vault_dir / "keys" / "people" / "chair.age").read_bytes()
    assert crypto.scrypt_work_factor(blob) == scrypt_file.WORK_FACTOR


def _vault(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "vault", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_the_unlock_agent_carries_the_label(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    runtime = Path("/tmp") / f"run-keys-{os.getpid()}"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "VAULT_DIR": str(vault_dir)}
    env.pop("VAULT_PASSPHRASE", None)
    try:
        done = _vault("unlock", env={**env, "VAULT_PASSPHRASE": DEPUTY})
        assert done.returncode == 0, done.stderr
        assert audit(vault_dir)[-1]["event"] == "unlock"
        assert audit(vault_dir)[-1]["detail"] == {"key": "deputy"}
        done = _vault("search", "letter", env=env)  # served by the agent: asks nothing
        assert done.returncode == 0, done.stderr
        assert audit(vault_dir)[-1]["event"] == "search"
        assert audit(vault_dir)[-1]["detail"]["key"] == "deputy"
        # Another session of the deputy's, then the deputy's key is removed: it ends.
        assert _vault("unlock", env={**env, "VAULT_PASSPHRASE": DEPUTY}).returncode == 0
        removed = _vault(
            "key", "remove", "deputy", "--yes", env={**env, "VAULT_PASSPHRASE": PASSPHRASE}
        )
        assert removed.returncode == 0, removed.stderr
        done = _vault("search", "letter", env=env)
        assert done.returncode == 2, done.stderr  # locked: asks, and there is no terminal
        assert audit(vault_dir)[-1]["event"] == "key-remove"

        # A session whose key left the register by other means is refused too.
        assert add(runner, vault_dir, "chair", CHAIR).exit_code == 0
        assert _vault("unlock", env={**env, "VAULT_PASSPHRASE": CHAIR}).returncode == 0
        opened = Vault.open(vault_dir)
        opened.unlock(PASSPHRASE)
        key_register.remove_key(opened.key_paths, opened.config, opened.unlocked_key(), "chair")
        done = _vault("search", "letter", env=env)
        assert done.returncode == 2, done.stderr
        assert "no longer opens this vault" in done.stderr
    finally:
        _vault("lock", "--all", env=env)
        subprocess.run(["rm", "-rf", str(runtime)], check=False, timeout=30)


def test_sync_carries_the_keys_recover_and_drill_take_any(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    folder = remote_and_deputy(runner, vault_dir, tmp_path)
    assert add(runner, vault_dir, "chair", CHAIR).exit_code == 0
    assert run(runner, vault_dir, "sync", passphrase=None).exit_code == 0
    assert (folder / "keys" / "people" / "deputy.age").exists()
    assert (folder / "keys" / "people.json").exists()
    verified = run(runner, vault_dir, "verify", "--remote", "usb", passphrase=None)
    assert verified.exit_code == 0, verified.output

    drill = run(runner, vault_dir, "drill", "usb", passphrase=CHAIR)
    assert drill.exit_code == 0, drill.output
    out = tmp_path / "recovered"
    result = run(runner, vault_dir, "recover", "--from", str(folder), "--to", str(out),
                 passphrase=DEPUTY)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "keys" / "people" / "chair.age").exists()
    assert [e for e in audit(out) if e["event"] == "recover"][-1]["detail"]["key"] == "deputy"
    assert [e for e in audit(vault_dir) if e["event"] == "drill"][-1]["detail"]["key"] == "chair"
    assert run(runner, out, "search", "letter", passphrase=CHAIR).exit_code == 0

    # A removed key's file leaves the remote at the next sync.
    assert run(runner, vault_dir, "key", "remove", "deputy", "--yes").exit_code == 0
    assert run(runner, vault_dir, "sync", passphrase=None).exit_code == 0
    assert not (folder / "keys" / "people" / "deputy.age").exists()
    assert (folder / "keys" / "people" / "chair.age").exists()
    assert run(runner, vault_dir, "verify", "--remote", "usb", passphrase=None).exit_code == 0
    lost = tmp_path / "lost"
    refused = run(runner, vault_dir, "recover", "--from", str(folder), "--to", str(lost),
                  passphrase=DEPUTY)  # fmt: skip
    assert refused.exit_code == 3, refused.output

    # verify notices a personal key missing from the remote.
    (folder / "keys" / "people" / "chair.age").unlink()
    missing = run(runner, vault_dir, "verify", "--remote", "usb", passphrase=None)
    assert missing.exit_code == 4, missing.output
    assert "keys/people/chair.age" in missing.output


def test_status_and_report_show_the_keys_and_warn_of_an_unused_one(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    now = run(runner, vault_dir, "status", "--json", passphrase=None)
    found = json.loads(now.output)
    assert [k["label"] for k in found["keys"]] == ["coordinator", "deputy"]
    assert found["last_rotation"] is None
    assert not any("deputy" in w for w in found["warnings"])

    later = {"VAULT_TEST_NOW": "2099-06-01T10:00:00+00:00"}
    shown = run(runner, vault_dir, "status", passphrase=None, **later)
    assert "Keys that open the vault (2) (unverified: needs the passphrase to check):" in (
        shown.output
    )
    assert "Last key rotation: never." in shown.output
    warned = [line for line in shown.output.splitlines() if "'deputy'" in line]
    assert warned and warned[0].startswith("warning: The key 'deputy' has not been used")
    assert not any("'coordinator'" in line for line in shown.output.splitlines())

    config = vault_dir / "config.json"
    settings = json.loads(config.read_text())
    config.write_text(json.dumps({**settings, "key_unused_warn_days": 100_000}))
    quiet = run(runner, vault_dir, "status", passphrase=None, **later)
    assert "'deputy'" not in quiet.output

    config.write_text(json.dumps(settings))
    report = tmp_path / "report.html"
    made = run(runner, vault_dir, "report", "--out", str(report), passphrase=None, **later)
    assert made.exit_code == 0, made.output
    text = report.read_text()
    assert "Keys that open the vault" in text and "Last key rotation: never." in text
    assert "deputy: made" in text and "last used never" in text
    assert "Ask the coordinator whether the holder of the key &#x27;deputy&#x27;" in text or (
        "Ask the coordinator whether the holder of the key 'deputy'" in text
    )
    assert "AGE-SECRET" not in text and DEPUTY not in text


def test_verify_names_a_missing_or_damaged_key_file(runner: CliRunner, vault_dir: Path) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    assert run(runner, vault_dir, "verify", passphrase=None).exit_code == 0
    key_file = vault_dir / "keys" / "people" / "deputy.age"
    key_file.write_bytes(b"not an age file\n")
    damaged = run(runner, vault_dir, "verify", passphrase=None)
    assert damaged.exit_code == 4, damaged.output
    assert "keys/people/deputy.age" in damaged.output
    key_file.unlink()
    missing = run(runner, vault_dir, "verify", passphrase=None)
    assert missing.exit_code == 4 and "keys/people/deputy.age" in missing.output


def test_sync_keeps_the_backups_copy_of_a_key_file_missing_here(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    folder = remote_and_deputy(runner, vault_dir, tmp_path)
    assert run(runner, vault_dir, "sync", passphrase=None).exit_code == 0
    (vault_dir / "keys" / "emergency.age").unlink()  # deleted by mistake
    assert run(runner, vault_dir, "sync", passphrase=None).exit_code == 0
    (vault_dir / "keys" / "passphrase.age").unlink()
    assert run(runner, vault_dir, "sync", passphrase=DEPUTY).exit_code == 0
    for name in ("emergency.age", "passphrase.age", "data.pub", "people/deputy.age"):
        assert (folder / "keys" / name).exists(), name


def test_a_damaged_register_locks_nobody_out_and_repair_brings_it_back(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    folder = remote_and_deputy(runner, vault_dir, tmp_path)
    assert run(runner, vault_dir, "sync", passphrase=None).exit_code == 0
    register = vault_dir / "keys" / "people.json"
    register.write_bytes(register.read_bytes()[:100])
    for passphrase in (PASSPHRASE, DEPUTY):
        opened = run(runner, vault_dir, "search", "letter", passphrase=passphrase)
        assert opened.exit_code == 0, opened.output
        assert "keys/people.json) is damaged" in opened.output
    assert run(runner, vault_dir, "search", "letter", passphrase="wrong one").exit_code == 3
    repaired = run(runner, vault_dir, "repair", "usb", passphrase=None)
    assert repaired.exit_code == 0, repaired.output
    assert "restored here: people.json" in repaired.output
    again = run(runner, vault_dir, "search", "letter", passphrase=DEPUTY)
    assert again.exit_code == 0 and "damaged" not in again.output, again.output

    # A backup's damaged register is not brought in: a new one is made from its key files.
    (folder / "keys" / "people.json").write_text("junk\n")
    out = tmp_path / "recovered"
    result = run(runner, vault_dir, "recover", "--from", str(folder), "--to", str(out),
                 passphrase=DEPUTY)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "keys/people.json) was damaged" in result.output
    opened = run(runner, out, "search", "letter", passphrase=DEPUTY)
    assert opened.exit_code == 0 and "damaged" not in opened.output, opened.output
    assert sorted(listed(runner, out)) == ["coordinator", "deputy"]


def test_an_unreadable_key_file_is_skipped(runner: CliRunner, vault_dir: Path) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    later = {"VAULT_TEST_NOW": "2099-06-01T10:00:00+00:00"}
    assert run(runner, vault_dir, "search", "letter", passphrase=DEPUTY, **later).exit_code == 0
    key_file = vault_dir / "keys" / "people" / "deputy.age"  # now tried first
    key_file.unlink()
    key_file.mkdir()
    opened = run(runner, vault_dir, "search", "letter", **later)
    assert opened.exit_code == 0, opened.output
    key_file.rmdir()
    key_file.symlink_to("/dev/zero")  # never followed, so never read without end
    env = {**os.environ, "VAULT_DIR": str(vault_dir), "VAULT_PASSPHRASE": PASSPHRASE, **later}
    done = _vault("search", "letter", env=env)
    assert done.returncode == 0, done.stderr
    verified = run(runner, vault_dir, "verify", passphrase=None)
    assert verified.exit_code == 4 and "keys/people/deputy.age" in verified.output
    wrong = _vault("search", "letter", env={**env, "VAULT_PASSPHRASE": "Not Any Key 12"})
    assert wrong.returncode == 3, wrong.stderr


def test_a_key_file_the_register_does_not_name_is_not_sent_kept_or_restored(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    folder = remote_and_deputy(runner, vault_dir, tmp_path)
    people = vault_dir / "keys" / "people"
    (people / "ghost.age").write_bytes((people / "deputy.age").read_bytes())  # left or planted
    verified = run(runner, vault_dir, "verify", passphrase=None)
    assert verified.exit_code == 4, verified.output
    assert "not in the list of keys: keys/people/ghost.age" in verified.output
    assert "vault: error: 1 key files are not in the list of keys" in verified.output
    assert run(runner, vault_dir, "sync", passphrase=None).exit_code == 0
    assert not (folder / "keys" / "people" / "ghost.age").exists()
    assert (folder / "keys" / "people" / "deputy.age").exists()

    (folder / "keys" / "people" / "planted.age").write_bytes((people / "deputy.age").read_bytes())
    out = tmp_path / "recovered"
    result = run(runner, vault_dir, "recover", "--from", str(folder), "--to", str(out),
                 passphrase=DEPUTY)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "keys" / "people").iterdir()) == ["deputy.age"]
    assert run(runner, vault_dir, "sync", passphrase=None).exit_code == 0
    assert not (folder / "keys" / "people" / "planted.age").exists()


def test_status_marks_the_key_list_unchecked_without_the_passphrase(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    path = vault_dir / "keys" / "people.json"
    good = path.read_bytes()
    data = json.loads(good)
    forged = dict(data["keys"][1], label="treasurer", file="people/treasurer.age")
    data["keys"].append(forged)
    data["mac"] = "0" * 64
    path.write_text(json.dumps(data))
    shown = run(runner, vault_dir, "status", passphrase=None)
    assert "Keys that open the vault (3) (unverified: needs the passphrase to check):" in (
        shown.output
    )
    assert "treasurer: made" in shown.output and "Its key file is missing." in shown.output
    assert "warning: The key file of 'treasurer' is missing" in shown.output
    found = json.loads(run(runner, vault_dir, "status", "--json", passphrase=None).output)
    assert found["keys_verified"] is False
    assert [k["missing"] for k in found["keys"]] == [False, False, True]
    report = tmp_path / "report.html"
    made = run(runner, vault_dir, "report", "--out", str(report), passphrase=None)
    assert made.exit_code == 0, made.output
    assert "This list is unverified: needs the passphrase to check." in report.read_text()
    path.write_text(json.dumps({**data, "keys": data["keys"][:2]}))
    checked = run(runner, vault_dir, "status", "--json")  # given the passphrase: the MAC fails
    assert "is damaged or was altered" in " ".join(json.loads(checked.output)["warnings"])
    path.write_bytes(good)
    real = run(runner, vault_dir, "status")
    assert "Keys that open the vault (2):" in real.output, real.output


def test_a_removed_key_put_back_from_an_old_copy_opens_nothing(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    assert add(runner, vault_dir, "deputy", DEPUTY).exit_code == 0
    keys = vault_dir / "keys"
    register, deputy = (
        (keys / "people.json").read_bytes(),
        (keys / "people/deputy.age").read_bytes(),
    )
    assert run(runner, vault_dir, "key", "remove", "deputy", "--yes").exit_code == 0
    (keys / "people.json").write_bytes(register)  # an old copy, its MAC good
    (keys / "people" / "deputy.age").write_bytes(deputy)
    refused = run(runner, vault_dir, "search", "letter", passphrase=DEPUTY)
    assert refused.exit_code == 3, refused.output
    assert run(runner, vault_dir, "search", "letter").exit_code == 0

    # So too an old passphrase's file after 'vault passwd'.
    old = (keys / "passphrase.age").read_bytes()
    changed = run(runner, vault_dir, "passwd", VAULT_NEW_PASSPHRASE=CHAIR)
    assert changed.exit_code == 0, changed.output
    (keys / "passphrase.age").write_bytes(old)
    assert run(runner, vault_dir, "search", "letter").exit_code == 3
