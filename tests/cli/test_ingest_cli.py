"""`vault ingest`: files not stored left in place, exit codes, output streams,
settings; the quarantine of `vault watch`."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ingest.quarantine import reason_file
from tests.conftest import CANARY, PASSPHRASE, make_pdf
from tests.ingest.inputs import BAD_INPUTS, pages_pdf, scan_png, write_bad_inputs
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def names_in_vault(runner: CliRunner, vault_dir: Path) -> list[str]:
    listed = run(runner, vault_dir, "list", "--json", env=ENV)
    return sorted(row["name"] for row in json.loads(listed.stdout))


def set_config(vault_dir: Path, **settings: object) -> None:
    path = vault_dir / "config.json"
    config = json.loads(path.read_text())
    config.update(settings)
    path.write_text(json.dumps(config))


def test_bad_inputs_left_in_place_batch_goes_on_exit_6(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "scans"
    bad = write_bad_inputs(inbox)
    before = {name: path.read_bytes() for name, path in bad.items()}
    good = make_pdf(inbox / "good.pdf", "good")
    result = run(runner, vault_dir, "ingest", str(inbox))
    assert result.exit_code == 6, result.output

    # stdout: only the stored document's line; stderr: each file not stored, and why.
    (line,) = result.stdout.splitlines()
    assert line.startswith("D-") and f"  {good.name}: other, no family reference" in line
    for name in BAD_INPUTS:
        assert f"not stored: {name}: " in result.stderr
        assert (inbox / name).read_bytes() == before[name]  # untouched, byte for byte
    assert not (tmp_path / "quarantine").exists()
    assert (
        f"Stored 1 document, {len(BAD_INPUTS)} not stored and left where they are." in result.stderr
    )
    assert "vault: error:" in result.stderr and CANARY not in result.output
    assert names_in_vault(runner, vault_dir) == ["good.pdf"]


def test_watch_quarantines_bad_inputs_batch_goes_on_exit_6(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "scans"
    write_bad_inputs(inbox)
    good = make_pdf(inbox / "good.pdf", "good")
    result = watch_once(runner, vault_dir, inbox)
    assert result.exit_code == 6, result.output
    quarantine = tmp_path / "quarantine"
    for name in BAD_INPUTS:
        assert f"quarantined: {name}: " in result.stderr
        assert f"(moved to the quarantine as {name}.age)" in result.stderr
        assert (quarantine / f"{name}.age").exists() and not (inbox / name).exists()
        assert reason_file(quarantine / f"{name}.age").exists()
    assert f"quarantined {len(BAD_INPUTS)} (in {quarantine})." in result.stderr
    assert not good.exists() and names_in_vault(runner, vault_dir) == ["good.pdf"]


def watch_once(runner: CliRunner, vault_dir: Path, inbox: Path, *args: str) -> Result:
    return run(runner, vault_dir, "watch", str(inbox), "--once", "--settle", "0.1", *args)


def test_name_clashes_in_quarantine_get_a_number(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    for folder in ("a", "b"):
        (tmp_path / "inbox" / folder).mkdir(parents=True)
        (tmp_path / "inbox" / folder / "scan.pdf").write_bytes(b"")
    result = watch_once(runner, vault_dir, tmp_path / "inbox")
    assert result.exit_code == 6
    quarantine = tmp_path / "quarantine"
    assert "(moved to the quarantine as scan.pdf.age)" in result.stderr
    assert "(moved to the quarantine as scan-1.pdf.age)" in result.stderr
    assert reason_file(quarantine / "scan-1.pdf.age").exists()


def test_quarantine_option_and_setting(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "one.pdf").write_bytes(b"")
    result = watch_once(runner, vault_dir, inbox, "--quarantine", str(tmp_path / "q1"))
    assert result.exit_code == 6 and (tmp_path / "q1" / "one.pdf.age").exists()

    set_config(vault_dir, quarantine_dir=str(tmp_path / "q2"))
    (inbox / "two.pdf").write_bytes(b"")
    result = watch_once(runner, vault_dir, inbox)
    assert result.exit_code == 6 and (tmp_path / "q2" / "two.pdf.age").exists()

    # `vault ingest` moves nothing: --quarantine (kept for older scripts) changes nothing
    (tmp_path / "three.pdf").write_bytes(b"")
    result = run(
        runner,
        vault_dir,
        "ingest",
        str(tmp_path / "three.pdf"),
        "--quarantine",
        str(tmp_path / "q3"),
    )
    assert result.exit_code == 6 and "not stored: three.pdf: empty file" in result.stderr
    assert (tmp_path / "three.pdf").exists() and not (tmp_path / "q3").exists()


def test_quarantine_inside_the_vault_is_refused(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "one.pdf").write_bytes(b"")
    result = run(
        runner, vault_dir, "ingest", str(tmp_path / "one.pdf"), "--quarantine", str(vault_dir / "q")
    )
    assert result.exit_code == 2 and "inside the vault folder" in result.stderr
    assert (tmp_path / "one.pdf").exists() and not (vault_dir / "q").exists()


def test_max_pages_option_and_setting(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    set_config(vault_dir, max_pages=2)
    bundle = pages_pdf(tmp_path / "bundle.pdf", 3)
    result = run(runner, vault_dir, "ingest", str(bundle))
    assert result.exit_code == 6 and bundle.exists()
    assert "not stored: bundle.pdf: " in result.stderr and "2 pages" in result.stderr
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(bundle, inbox / "bundle.pdf")
    assert watch_once(runner, vault_dir, inbox).exit_code == 6
    listed = run(runner, vault_dir, "quarantine", "list")
    assert listed.output.startswith("bundle.pdf.age: ") and listed.output.count("\n") == 1
    back = tmp_path / "back"
    back.mkdir()
    got = run(runner, vault_dir, "quarantine", "export", "bundle.pdf", "--out", str(back), env=ENV)
    assert got.exit_code == 0, got.output
    assert got.stderr.splitlines()[-1].startswith("This file is not protected")
    moved = back / "bundle.pdf"
    assert moved.read_bytes() == bundle.read_bytes()
    result = run(runner, vault_dir, "ingest", str(moved), "--max-pages", "3")
    assert result.exit_code == 0, result.output
    assert names_in_vault(runner, vault_dir) == ["bundle.pdf"]


def test_bad_setting_is_a_usage_error(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    set_config(vault_dir, max_pages="lots")
    result = run(runner, vault_dir, "ingest", str(make_pdf(tmp_path / "a.pdf", "a")))
    assert result.exit_code == 2 and "max_pages" in result.stderr


def test_type_from_rules_unless_given(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    order = make_pdf(
        tmp_path / "order.pdf", "IN THE FAMILY COURT. CHILD ARRANGEMENTS ORDER. F-0042"
    )
    letter = make_pdf(
        tmp_path / "letter.pdf", "IN THE FAMILY COURT. CHILD ARRANGEMENTS ORDER. F-0077"
    )
    assert run(runner, vault_dir, "ingest", str(order)).exit_code == 0
    result = run(runner, vault_dir, "ingest", str(letter), "--type", "letter", "--family", "F-0001")
    assert result.exit_code == 0
    rows = json.loads(run(runner, vault_dir, "list", "--json", env=ENV).stdout)
    found = {row["name"]: (row["doc_type"], row["family"]) for row in rows}
    assert found == {"order.pdf": ("court-order", "F-0042"), "letter.pdf": ("letter", "F-0001")}


def test_engine_failure_stops_with_exit_1_and_keeps_the_file(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """Not the input's fault: the scan stays put, what came before is kept."""
    set_config(vault_dir, ocr_languages="zzz")  # no such tesseract language
    first = make_pdf(tmp_path / "a-first.pdf", "born digital, no OCR needed")
    scan = scan_png(tmp_path / "b-scan.png", ["A short scanned note"])
    result = run(runner, vault_dir, "ingest", str(first), str(scan))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("vault: error:")
    assert scan.exists() and not (tmp_path / "quarantine").exists()
    assert result.stdout.startswith("D-")  # the first one was stored, and said so
    assert len(Vault.open(vault_dir).journal_entries()) == 1


def test_quiet_prints_nothing_on_success(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    result = run(runner, vault_dir, "ingest", "-q", str(make_pdf(tmp_path / "a.pdf", "a")))
    assert result.exit_code == 0 and result.output == ""


def _run_on_terminal(vault_dir: Path, *args: str) -> tuple[int, str, str]:
    """Run the real CLI with stderr on a pseudo-terminal; return (status, stdout, terminal)."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "VAULT_DIR": str(vault_dir)}
    env.pop("VAULT_PASSPHRASE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault.cli", *args],
        stdout=subprocess.PIPE,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(controller)
    return proc.returncode, out.decode(), seen.decode(errors="replace")


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_only_on_a_terminal_and_not_quiet(
    vault_dir: Path, tmp_path: Path, quiet: bool
) -> None:
    src = make_pdf(tmp_path / "a.pdf", "progress")
    status, out, terminal = _run_on_terminal(
        vault_dir, "ingest", str(src), *(["-q"] if quiet else [])
    )
    assert status == 0, terminal
    if quiet:
        assert out == "" and "page 1 of 1" not in terminal
    else:
        assert out.startswith("D-") and out.count("\n") == 1
        assert "a.pdf: page 1 of 1" in terminal and "/min" not in terminal
