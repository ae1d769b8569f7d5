"""`vault init` and `vault passwd` as a coordinator meets them at a terminal.

Each command runs on a pseudo-terminal of its own (tests/pty_session.py):
everything that can be checked is checked before anything is asked, the
passphrase rules come before the first prompt, a refused passphrase is
asked again (three tries), a passphrase of words is accepted, the centre's
name is asked and stored, the sheet's printing is asked about before the
PDF is deleted, and init ends with the next step: a backup.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import PASSPHRASE
from tests.mounts import read_only_view
from tests.pty_session import Terminal
from vault.cli import cli
from vault.config import centre_name

WORDS = "correct horse battery staple"
CENTRE = "Riverside Contact Centre"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    (folder / "Desktop").mkdir(parents=True)
    return folder


def _env(home: Path, vault: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(HOME=str(home), VAULT_DIR=str(vault), XDG_CONFIG_HOME=str(home / ".config"))
    return env


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        if terminal.proc.poll() is None:
            terminal.proc.kill()
            terminal.proc.wait()


def _start(terminals: list[Terminal], env: dict[str, str], *args: str) -> Terminal:
    terminal = Terminal(args, env)
    terminals.append(terminal)
    return terminal


def _choose(terminal: Terminal, passphrase: str, again: str | None = None) -> None:
    terminal.expect("Choose a passphrase:")
    terminal.send(passphrase)
    terminal.expect("Type it again:")
    terminal.send(passphrase if again is None else again)


def test_init_rules_first_a_refusal_then_words_centre_name_and_next_step(
    home: Path, tmp_path: Path, terminals: list[Terminal]
) -> None:
    vault = tmp_path / "vault"
    term = _start(terminals, _env(home, vault), "init")
    before = term.expect("Choose a passphrase:")
    assert "at least 8 characters" in before and "four or more ordinary words" in before
    term.send("password123")
    refusal = term.expect("Choose a passphrase:")
    assert "on the list of common passwords" in refusal and "try again (2 of 3)" in refusal
    term.send(WORDS)
    term.expect("Type it again:")
    term.send(WORDS)
    term.expect("The centre's name")
    term.expect(":")
    term.send(CENTRE)
    term.expect("Has it printed")
    term.send("n")
    after = term.expect("Next: set up a backup")
    sheet = home / "Desktop" / "vault-emergency-sheet.pdf"
    assert f"print it again from {sheet}" in after
    assert "vault emergency-sheet --out FILE.pdf" in after
    assert "The coordinator signs the sealed envelope" in after
    assert "Delete the PDF once" in after
    term.expect("remote add")
    assert term.finish() == 0, term.seen
    assert WORDS not in term.seen and "password123" not in term.seen
    assert sheet.is_file()  # kept: it has not printed yet
    assert centre_name(json.loads((vault / "config.json").read_text())) == CENTRE
    text = subprocess.run(
        ["pdftotext", str(sheet), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert CENTRE in text
    unlocked = CliRunner().invoke(
        cli, ["--vault", str(vault), "list"], env={"VAULT_PASSPHRASE": WORDS}
    )
    assert unlocked.exit_code == 0, unlocked.output


def test_init_deletes_the_pdf_only_once_it_printed(
    home: Path, tmp_path: Path, terminals: list[Terminal]
) -> None:
    term = _start(terminals, _env(home, tmp_path / "vault"), "init", "--centre-name", CENTRE)
    _choose(term, "tulip river kettle drum", again="tulip river kettle drums")
    mismatch = term.expect("Choose a passphrase:")
    assert "not the same" in mismatch and "(2 of 3)" in mismatch
    term.send("tulip river kettle drum")
    term.expect("Type it again:")
    term.send("tulip river kettle drum")
    asked = term.expect("Has it printed")
    assert "The centre's name" not in asked  # given on the command line
    sheet = home / "Desktop" / "vault-emergency-sheet.pdf"
    assert sheet.is_file()
    term.send("y")
    term.expect("Delete the PDF file now?")
    term.send("y")
    term.expect(f"Deleted {sheet}")
    assert term.finish() == 0, term.seen
    assert not sheet.exists()


def test_three_refusals_end_init_with_nothing_made(
    home: Path, tmp_path: Path, terminals: list[Terminal]
) -> None:
    vault = tmp_path / "vault"
    term = _start(terminals, _env(home, vault), "init")
    for weak in ("short", "Password1", "aaaaaaaaaaaa"):
        term.expect("Choose a passphrase:")
        term.send(weak)
    assert term.finish() == 2, term.seen
    last = term.seen[term.position :]
    assert "vault: error: passphrase refused" in last
    assert "no passphrase chosen after 3 tries" in last
    assert "Traceback" not in term.seen
    assert not vault.exists()
    assert list((home / "Desktop").iterdir()) == []


def test_init_on_an_existing_vault_says_so_before_asking(
    vault_dir: Path, home: Path, terminals: list[Terminal]
) -> None:
    term = _start(terminals, _env(home, vault_dir), "init")
    assert term.finish() == 1, term.seen
    assert f"vault: error: a vault already exists at {vault_dir}" in term.seen
    # the hint's command works as typed (--vault goes before the command)
    assert "'vault --vault NEW-FOLDER init'" in term.seen
    assert "Choose a passphrase" not in term.seen and "at least 8" not in term.seen


def test_init_without_a_desktop_puts_the_sheet_in_the_home_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "VAULT_PASSPHRASE": WORDS, "XDG_CONFIG_HOME": str(home / ".c")}
    result = CliRunner().invoke(cli, ["--vault", str(tmp_path / "v"), "init"], env=env)
    assert result.exit_code == 0, result.output
    assert (home / "vault-emergency-sheet.pdf").is_file()
    assert f"The emergency sheet is at {home / 'vault-emergency-sheet.pdf'}" in result.output
    # Non-interactive: no question asked, the steps and the next step said.
    assert "print" in result.output.lower() and "Next: set up a backup" in result.output


def test_init_with_a_missing_sheet_folder_says_so_before_asking(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = CliRunner().invoke(
        cli,
        ["--vault", str(tmp_path / "v"), "init", "--emergency-sheet", "~/Desktop/sheet.pdf"],
        env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".c")},  # no passphrase given
    )
    assert result.exit_code == 2, result.output
    assert f"folder {home / 'Desktop'} does not exist" in result.output
    assert f"leave --emergency-sheet out to put the sheet in {home}" in result.output
    assert not (tmp_path / "v").exists()


def test_init_under_a_file_says_so_before_asking(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = CliRunner().invoke(
        cli, ["--vault", str(tmp_path / "a-file" / "vault"), "init"], env={"HOME": str(tmp_path)}
    )
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 'a-file'} is a file, not a folder (the vault folder)" in result.output


def test_init_in_a_folder_it_cannot_write_says_so_before_asking(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".c")}  # no passphrase given
    with read_only_view(tmp_path / "src", tmp_path / "ro") as ro:
        for args, what in (
            (["--vault", str(ro / "vault"), "init"], "the vault folder"),
            (
                ["--vault", str(tmp_path / "v"), "init", "--emergency-sheet", str(ro / "s.pdf")],
                "the emergency sheet's folder",
            ),
        ):
            result = CliRunner().invoke(cli, args, env=env)
            assert result.exit_code == 1, result.output
            assert f"cannot write in {ro} ({what})" in result.output
    assert not (tmp_path / "v").exists()


def test_init_puts_the_sheet_on_the_desktop_the_desktop_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "Bureau").mkdir(parents=True)
    (home / ".config").mkdir()
    (home / ".config" / "user-dirs.dirs").write_text('XDG_DESKTOP_DIR="$HOME/Bureau"\n')
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "VAULT_PASSPHRASE": WORDS}
    result = CliRunner().invoke(cli, ["--vault", str(tmp_path / "v"), "init"], env=env)
    assert result.exit_code == 0, result.output
    assert (home / "Bureau" / "vault-emergency-sheet.pdf").is_file()


def test_passwd_shows_the_rules_and_asks_again(
    vault_dir: Path, home: Path, terminals: list[Terminal]
) -> None:
    term = _start(terminals, _env(home, vault_dir), "passwd")
    term.expect("Passphrase:")
    term.send(PASSPHRASE)
    before = term.expect("New passphrase:")
    assert "at least 8 characters" in before
    term.send("Tulips12")
    refusal = term.expect("New passphrase:")
    assert "too easy to guess" in refusal and "(2 of 3)" in refusal
    term.send(WORDS)
    term.expect("Type it again:")
    term.send(WORDS)
    term.expect("Passphrase changed for the key 'coordinator'.")
    assert term.finish() == 0, term.seen
    result = CliRunner().invoke(
        cli, ["--vault", str(vault_dir), "list"], env={"VAULT_PASSPHRASE": WORDS}
    )
    assert result.exit_code == 0, result.output


def test_emergency_sheet_command_names_the_backups_and_follows_the_policy(
    vault_dir: Path, tmp_path: Path
) -> None:
    """A new sheet from `vault emergency-sheet`: the backups by kind and name
    (an rclone remote's kind from rclone itself), never a path or a secret;
    the policy's steps in order; the same words on the screen."""
    config_path = vault_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["centre_name"] = CENTRE
    config["remotes"] = {"cloud": "cloud:centre-bucket/vault", "usb": "/media/pat/USB1/vault"}
    config_path.write_text(json.dumps(config))
    out = tmp_path / "new-sheet.pdf"
    env = {
        "VAULT_PASSPHRASE": PASSPHRASE,
        "RCLONE_CONFIG_CLOUD_TYPE": "b2",
        "RCLONE_CONFIG_CLOUD_ACCOUNT": "acct-id-1234",
        "RCLONE_CONFIG_CLOUD_KEY": "secret-app-key-5678",
    }
    result = CliRunner().invoke(
        cli, ["--vault", str(vault_dir), "emergency-sheet", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    assert "The coordinator signs the sealed envelope" in result.output
    assert "vault emergency-sheet --out FILE.pdf" in result.output
    raw = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    text = " ".join(raw.split())
    assert "Backups are kept at: Backblaze B2 remote 'cloud'; USB disk folder 'usb'." in text
    for private in ("centre-bucket", "/media", "acct-id-1234", "secret-app-key-5678"):
        assert private not in text
    assert CENTRE in text
    assert (
        "Use this key when the coordinator's passphrase is lost or the coordinator is "
        "unavailable for an extended period." in text
    )
    order = [
        "delete the PDF file",
        "The coordinator signs the sealed envelope",
        "tape over the signature",
        "A management committee member keeps the envelope",
        "Every opening of the envelope is recorded",
        "vault emergency-sheet --out FILE.pdf",
    ]
    places = [text.find(step) for step in order]
    assert -1 not in places and places == sorted(places), places
