"""The command line as its own floor: commands loaded lazily, a fast start.

`vault --help`, `vault --version` and `vault COMMAND --help` import click and
the standard library only; `vault status` none of the PDF, image and OCR
libraries. Measured in a fresh interpreter with ``python -X importtime``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from vault.cli import COMMANDS, cli

HEAVY = {"fpdf", "fontTools", "pikepdf", "pypdfium2", "PIL", "pytesseract", "sqlcipher3"}
PDF_IMAGE_OCR = HEAVY - {"sqlcipher3"}


def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level modules a fresh ``python ARGS`` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name.split(".")[0])
    assert names, "python -X importtime printed nothing"
    return names


@pytest.fixture(scope="module")
def at_start() -> set[str]:
    """What any interpreter here imports before running a line (site, .pth hooks)."""
    return imported("-c", "pass")


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["ingest", "--help"], ["status", "--help"], ["sync", "--help"]],
    ids=" ".join,
)
def test_help_and_version_import_click_and_the_standard_library_only(
    args: list[str], at_start: set[str]
) -> None:
    names = imported("-m", "vault", *args)
    assert not names & HEAVY, names & HEAVY
    # org.python.core: the standard library's copy module probing for Jython.
    foreign = names - at_start - set(sys.stdlib_module_names) - {"click", "vault", "org"}
    assert not foreign, f"vault {' '.join(args)} imported {sorted(foreign)}"


def test_status_loads_no_pdf_image_or_ocr_library(vault_dir: Path) -> None:
    names = imported("-m", "vault", "--vault", str(vault_dir), "status", "--json")
    assert "vault" in names and "pyrage" in names  # it did open the vault
    assert not names & HEAVY, names & HEAVY  # nor the catalog's database


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_names_each_command_and_its_own_summary(name: str) -> None:
    ctx = click.Context(cli)
    command = cli.get_command(ctx, name)
    assert command is not None
    assert command.name == name
    assert COMMANDS[name].summary == command.get_short_help_str(limit=10_000)


def test_help_lists_every_command_without_loading_one() -> None:
    code = (
        "import sys\n"
        "from vault.cli import cli\n"
        "try:\n"
        "    cli.main(['--help'], prog_name='vault')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('vault.cli.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout, name
    assert done.stdout.strip().splitlines()[-1] == "['vault.cli.group']"
