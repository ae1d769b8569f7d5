"""From scanned paper to a search hit, through the CLI with the real
tesseract: spoilt scans in each scanner format are ingested without the
passphrase, and every needle (surname, case number, rare word) then finds
every one of them, spelt exactly."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests import scans
from tests.conftest import PASSPHRASE
from vault.cli import cli

# One page each: a variant, in a format, at a resolution.
SCANS = [
    ("clean", "pdf", 300),
    ("skewed", "tiff", 200),
    ("noisy", "jpeg", 200),
    ("upside-down", "pdf", 200),
    ("sideways", "tiff", 300),
    ("very-noisy", "jpeg", 300),
]


def _write(folder: Path, variant: str, kind: str, dpi: int) -> Path:
    page = scans.scan(variant, dpi=dpi)
    name = folder / f"{variant}-{dpi}"
    if kind == "pdf":
        return scans.write_image_pdf(name.with_suffix(".pdf"), [page], dpi=dpi)
    if kind == "tiff":
        return scans.write_tiff_g4(name.with_suffix(".tif"), [page], dpi=dpi)
    return scans.write_jpeg(name.with_suffix(".jpg"), page, dpi=dpi)


def test_every_needle_finds_every_scan(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for variant, kind, dpi in SCANS:
        _write(inbox, variant, kind, dpi)
    vault = ["--vault", str(vault_dir)]

    ingested = runner.invoke(cli, [*vault, "ingest", str(inbox)])  # no passphrase
    assert ingested.exit_code == 0, ingested.output
    listed = runner.invoke(cli, [*vault, "list", "--json"], env={"VAULT_PASSPHRASE": PASSPHRASE})
    ids = {row["id"] for row in json.loads(listed.stdout)}
    assert len(ids) == len(SCANS)

    locked = runner.invoke(cli, [*vault, "search", "Przybylski"])
    assert locked.exit_code != 0 and "Traceback" not in locked.output
    for needle in scans.NEEDLES:
        found = runner.invoke(
            cli,
            [*vault, "search", needle, "--exact", "--json"],
            env={"VAULT_PASSPHRASE": PASSPHRASE},
        )
        assert found.exit_code == 0, found.output
        assert {row["id"] for row in json.loads(found.stdout)} == ids, needle
