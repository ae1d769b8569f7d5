"""The command line: exit codes, messages, help, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.conftest import PASSPHRASE, make_pdf
from vault.cli import cli

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def run(runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command and subcommand, loading the lazily loaded ones."""
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix + name + " "))
    return found


@pytest.mark.parametrize(
    "name,command", _commands(cli), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_command_has_help_with_example_and_exit_statuses(
    runner: CliRunner, name: str, command: click.Command
) -> None:
    result = runner.invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output, name
    assert "Exit status:" in result.output, name
    assert "vault " in result.output.split("Example:")[1], name


def test_init_prints_where_the_sheet_went(runner: CliRunner, tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.pdf"
    result = run(runner, tmp_path / "v", "init", "--emergency-sheet", str(sheet), env=ENV)
    assert result.exit_code == 0, result.output
    assert str(sheet) in result.output
    assert "Print it" in result.output and "seal" in result.output
    assert sheet.read_bytes().startswith(b"%PDF")
    assert (sheet.stat().st_mode & 0o777) == 0o600
    # The emergency key is on the sheet only: not in the vault, not in the output.
    assert "AGE-SECRET-KEY" not in result.output
    for path in (tmp_path / "v").rglob("*"):
        if path.is_file():
            assert b"AGE-SECRET-KEY" not in path.read_bytes(), path


def test_init_refuses_weak_passphrase_naming_the_rule(runner: CliRunner, tmp_path: Path) -> None:
    cases = {
        "Sh0rt": "at least 8 characters",
        "alllowercase": "too easy to guess",
        "Password1": "common passwords",
        "Liverpool2026!": "common passwords",
    }
    for weak, rule in cases.items():
        result = run(
            runner,
            tmp_path / "v",
            "init",
            "--emergency-sheet",
            str(tmp_path / "s.pdf"),
            env={"VAULT_PASSPHRASE": weak},
        )
        assert result.exit_code == 2, (weak, result.output)
        assert rule in result.output, (weak, result.output)
        assert weak not in result.output
        assert not (tmp_path / "v").exists() and not (tmp_path / "s.pdf").exists()


def test_init_will_not_overwrite(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    result = run(runner, vault_dir, "init", "--emergency-sheet", str(tmp_path / "s.pdf"), env=ENV)
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_wrong_passphrase_exit_3(runner: CliRunner, vault_dir: Path) -> None:
    result = run(runner, vault_dir, "list", env={"VAULT_PASSPHRASE": "Wrong Horse 42"})
    assert result.exit_code == 3
    assert result.output.strip().splitlines()[0] == "vault: error: wrong passphrase"
    assert "Wrong Horse" not in result.output


def test_no_passphrase_without_terminal_is_a_usage_error(
    runner: CliRunner, vault_dir: Path
) -> None:
    result = run(runner, vault_dir, "list")
    assert result.exit_code == 2
    assert "VAULT_PASSPHRASE" in result.output


def test_passphrase_file(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    result = run(runner, vault_dir, "list", "--passphrase-file", str(secret))
    assert result.exit_code == 0, result.output


def test_missing_vault(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, tmp_path / "nowhere", "verify")
    assert result.exit_code == 1
    assert "no vault at" in result.output and "vault init" in result.output


def test_ingest_list_show_export(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "referral.pdf", "Referral text")
    result = run(runner, vault_dir, "ingest", str(src), "--type", "referral", "--family", "F-0042")
    assert result.exit_code == 0, result.output
    doc_id = result.output.split()[0]
    assert doc_id.startswith("D-")

    listed = run(runner, vault_dir, "list", "--json", env=ENV)
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["doc_type"], r["family"], r["name"]) for r in rows] == [
        (doc_id, "referral", "F-0042", "referral.pdf")
    ]
    shown = run(runner, vault_dir, "show", doc_id, env=ENV)
    assert shown.exit_code == 0 and "referral.pdf" in shown.output
    assert f"(PDF scan, 1 page, {src.stat().st_size} B)\n" in shown.output, shown.output
    assert "media type" not in shown.output

    out = tmp_path / "out.pdf"
    exported = run(runner, vault_dir, "export", doc_id, "--out", str(out), env=ENV)
    assert exported.exit_code == 0 and out.read_bytes() == src.read_bytes()
    again = run(runner, vault_dir, "export", doc_id, "--out", str(out), env=ENV)
    assert again.exit_code == 2 and "--force" in again.output
    missing = run(runner, vault_dir, "show", "D-ZZZZZZ", env=ENV)
    assert missing.exit_code == 1 and "no document D-ZZZZZZ" in missing.output


def test_ingest_twice_stores_once(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "a.pdf", "twice")
    run(runner, vault_dir, "ingest", str(src), env=ENV)
    second = run(runner, vault_dir, "ingest", str(src), env=ENV)
    assert "already in the vault" in second.output
    rows = json.loads(run(runner, vault_dir, "list", "--json", env=ENV).stdout)
    assert len(rows) == 1


def test_ingest_partial_batch_exit_6(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    good = make_pdf(tmp_path / "good.pdf", "good")
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "data.jpg").write_bytes(b"\x00\x01 binary named .jpg \x00")
    (tmp_path / "notes.jpg").write_text("just text named .jpg")  # text: stored as text
    result = run(
        runner,
        vault_dir,
        "ingest",
        str(good),
        str(tmp_path / "empty.pdf"),
        str(tmp_path / "data.jpg"),
        str(tmp_path / "notes.jpg"),
    )
    assert result.exit_code == 6, result.output
    assert "not stored: empty.pdf: empty file" in result.output
    assert "not stored: data.jpg: not a type the vault reads" in result.output
    assert (tmp_path / "empty.pdf").exists() and (tmp_path / "data.jpg").exists()
    rows = json.loads(run(runner, vault_dir, "list", "--json", env=ENV).stdout)
    assert sorted((r["name"], r["media_type"]) for r in rows) == [
        ("good.pdf", "application/pdf"),
        ("notes.jpg", "text/plain"),
    ]


def test_verify_names_tampered_object_exit_4(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    run(runner, vault_dir, "ingest", str(make_pdf(tmp_path / "a.pdf", "verify")))
    ok = run(runner, vault_dir, "verify")
    assert ok.exit_code == 0, ok.output
    victim = next(p for p in (vault_dir / "objects").rglob("*") if p.is_file())
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF
    victim.write_bytes(bytes(data))
    bad = run(runner, vault_dir, "verify")
    assert bad.exit_code == 4
    assert f"corrupt: {victim.name}" in bad.output


def test_audit_verify_detects_edit_and_removal(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    run(runner, vault_dir, "ingest", str(make_pdf(tmp_path / "a.pdf", "audit")), env=ENV)
    run(runner, vault_dir, "verify")
    assert run(runner, vault_dir, "audit", "verify").exit_code == 0
    log = vault_dir / "audit.log"
    original = log.read_text().splitlines(keepends=True)

    edited = [line.replace('"ingest"', '"verify"') for line in original]
    log.write_text("".join(edited))
    result = run(runner, vault_dir, "audit", "verify")
    assert result.exit_code == 4 and "edited" in result.output

    log.write_text("".join(original[:1] + original[2:]))
    result = run(runner, vault_dir, "audit", "verify")
    assert result.exit_code == 4 and "removed" in result.output

    # Cutting entries off the end is caught against the head's MAC'd anchor.
    log.write_text("".join(original[:1]))
    result = run(runner, vault_dir, "audit", "verify")
    assert result.exit_code == 4 and "missing" in result.output


def test_audit_lists_no_names(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    run(runner, vault_dir, "ingest", str(make_pdf(tmp_path / "Smith-family.pdf", "x")), env=ENV)
    listing = run(runner, vault_dir, "audit", "--json")
    entries = json.loads(listing.stdout)
    assert [e["event"] for e in entries][:2] == ["init", "ingest"]
    assert "Smith" not in listing.output and "Smith" not in (vault_dir / "audit.log").read_text()


def test_emergency_key_cli(
    runner: CliRunner, vault_dir: Path, template_vault, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    keyfile = tmp_path / "key.txt"
    keyfile.write_text(template_vault.emergency_secret + "\n")
    no_reason = run(runner, vault_dir, "rebuild-catalog", "--emergency-key", str(keyfile))
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output


def test_lock_held_is_reported(
    runner: CliRunner, vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault import lock as lockmod

    monkeypatch.setattr(lockmod, "DEFAULT_WAIT", 0.2)
    holder = lockmod.VaultLock(vault_dir / "lock")
    holder.acquire()
    try:
        result = run(runner, vault_dir, "verify")
    finally:
        holder.release()
    assert result.exit_code == 1 and "busy" in result.output
