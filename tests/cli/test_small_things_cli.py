"""Small things a coordinator meets: a mistyped path, a spreadsheet, what watch
says when it starts and while it reads, progress in words."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import make_pdf
from tests.ingest.documents import xls_file, xlsx_file
from vault.cli import cli
from vault.repository import Vault

WAIT = 60.0
SAVE_AS_PDF = "save it as PDF (File > Save as > PDF) and store that"


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


class Terminal:
    """The installed ``vault`` program with a pseudo-terminal for its streams."""

    def __init__(self, vault_dir: Path, *args: str, runtime: Path | None = None) -> None:
        program = Path(sys.executable).with_name("vault")
        self.controller, terminal = pty.openpty()
        env = {**os.environ, "VAULT_DIR": str(vault_dir)}
        if runtime is not None:  # a private stand-in (the key agent's folder is there)
            env["XDG_RUNTIME_DIR"] = str(runtime)
        env.pop("VAULT_PASSPHRASE", None)
        self.child = subprocess.Popen(
            [str(program), *args],
            env=env,
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
        )
        os.close(terminal)
        self.shown = ""

    def read_until(self, text: str | None) -> str:
        """Read what it shows until ``text`` appears (None: until it ends)."""
        deadline = time.monotonic() + WAIT
        while (text is None or text not in self.shown) and time.monotonic() < deadline:
            ready, _, _ = select.select([self.controller], [], [], 0.1)
            if not ready:
                if self.child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.controller, 4096)
            except OSError:  # it ended
                break
            if not chunk:
                break
            self.shown += chunk.decode(errors="replace")
        return self.shown

    def finish(self) -> int:
        self.read_until(None)
        os.close(self.controller)
        return self.child.wait(timeout=WAIT)

    def kill(self) -> None:
        if self.child.poll() is None:
            os.killpg(self.child.pid, signal.SIGKILL)
            self.child.wait()


def test_a_path_that_does_not_exist_is_one_line_exit_2_and_nothing_stored(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    good = make_pdf(tmp_path / "good.pdf", "good")
    missing = tmp_path / "Scans" / "2026-11-25"
    result = run(runner, vault_dir, "ingest", str(good), str(missing))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"vault: error: there is no file or folder called {missing}; nothing was stored"
    )
    assert lines[1].startswith("vault: hint: check the spelling") and len(lines) == 2
    assert result.stdout == "" and Vault.open(vault_dir).journal_entries() == []

    watched = run(runner, vault_dir, "watch", str(tmp_path / "inbox"), "--once")
    assert watched.exit_code == 2
    assert watched.stderr.splitlines()[0] == (
        f"vault: error: there is no folder called {tmp_path / 'inbox'}"
    )
    assert "vault: hint:" in watched.stderr


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")  # no document named in it
        archive.writestr("word/document.xml", "<w:document/>")
    return path


def test_types_without_a_reader_are_refused_naming_their_type(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """Each is named by what its content says it is (never by its name) and left in place."""
    folder = tmp_path / "post"
    folder.mkdir()
    xlsx_file(folder / "budget.xlsx")
    xls_file(folder / "old-budget.doc")  # the name says Word; the content says Excel
    with zipfile.ZipFile(folder / "rota.odt", "w") as archive:  # the name says text
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    _zip(folder / "letter.docx")
    (folder / "tune.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = run(runner, vault_dir, "ingest", str(folder))
    assert result.exit_code == 6, result.output
    said = {line.split(":")[1].strip(): line for line in result.stderr.splitlines() if ": " in line}
    for name, kind in [
        ("budget.xlsx", "an Excel spreadsheet (.xlsx) (application/vnd.openxmlformats-"),
        ("old-budget.doc", "an Excel spreadsheet (.xls) (application/vnd.ms-excel)"),
        ("rota.odt", "an OpenDocument spreadsheet (.ods) (application/vnd.oasis."),
        ("letter.docx", "a zip file (application/zip)"),
        ("tune.mid", "not a type the vault reads, judged by its content"),
    ]:
        assert said[name].startswith(f"not stored: {name}: {kind}"), said[name]
        assert SAVE_AS_PDF in said[name]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # all left as they were


def test_watch_says_what_it_watches_and_how_to_stop(vault_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    terminal = Terminal(vault_dir, "watch", str(inbox), "--settle", "0.2", "--interval", "0.2")
    try:
        shown = terminal.read_until("Ctrl-C")
        assert f"Watching {inbox} for new scans" in shown and "Press Ctrl-C to stop." in shown
        # the scan is deleted from the inbox, never "from" the vault
        assert "stored in the vault, then deleted from that folder." in " ".join(shown.split())
        make_pdf(inbox / "letter.pdf", "a letter")
        shown = terminal.read_until("  letter.pdf: ")  # the stored line: "D-…  letter.pdf: …"
        assert "  letter.pdf: " in shown, shown
        assert "letter.pdf: page 1 of 1" in shown  # its progress, in words
        os.killpg(terminal.child.pid, signal.SIGINT)
        assert terminal.finish() == 130
    finally:
        terminal.kill()


@pytest.mark.parametrize("on_terminal", [True, False])
def test_watch_once_shows_progress_on_a_terminal_only(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, on_terminal: bool
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_pdf(inbox / "letter.pdf", "a letter")
    args = ["watch", str(inbox), "--once", "--settle", "0.2", "--interval", "0.1"]
    if on_terminal:
        terminal = Terminal(vault_dir, *args)
        try:
            assert terminal.finish() == 0, terminal.shown
        finally:
            terminal.kill()
        shown = terminal.shown
        assert f"Storing the files in {inbox} now" in shown
        assert "letter.pdf: page 1 of 1" in shown and "/min" not in shown
    else:  # a scheduled task's log: the stored document and the summary only
        result = run(runner, vault_dir, *args)
        assert result.exit_code == 0, result.output
        assert "Storing the files" not in result.stderr and "page" not in result.stderr
        assert result.stdout.startswith("D-")


def test_ctrl_c_at_the_passphrase_prompt_is_an_interruption(
    vault_dir: Path, tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    terminal = Terminal(vault_dir, "list", runtime=runtime)
    try:
        terminal.read_until("Passphrase:")
        for _ in range(2):
            os.killpg(terminal.child.pid, signal.SIGINT)
            time.sleep(0.05)
        assert terminal.finish() == 130, terminal.shown
    finally:
        terminal.kill()
    assert terminal.shown.rstrip().endswith("vault: interrupted")
    assert "Aborted" not in terminal.shown and "Traceback" not in terminal.shown
