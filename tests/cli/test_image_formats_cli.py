"""Phone and web pictures through the CLI with the real tesseract: each
format, and photos stored sideways with an EXIF orientation, ingested with
`vault ingest` and found by `vault search` on their words; the searchable
PDF of a HEIC photo exported with its text, the original kept as it came;
a picture cut short or claiming a huge size quarantined with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from tests import pictures
from tests.conftest import PASSPHRASE
from tests.ocr import poppler
from vault.cli import cli

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}

# file name -> (how it is written, the word only it holds)
FILES = {
    "scan.webp": ("webp", "marmalade"),
    "screenshot.webp": ("lossless.webp", "harpsichord"),
    "IMG_0001.heic": ("heic", "lighthouse"),
    "page.gif": ("gif", "tangerine"),
    "page.bmp": ("bmp", "saxophone"),
    "IMG_0002.jpg": ("jpeg-6", "pelican"),
    "IMG_0003.heic": ("heic-8", "blueberry"),
    "IMG_0004.webp": ("webp-6", "walrus"),
}


def run(runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = ENV) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output
    return result


def _write(folder: Path, name: str, how: str, word: str) -> Path:
    text = f"{word} NT26P00412"
    if "-" in how:
        kind, orientation = how.split("-")
        return pictures.write_sideways(folder / name, kind, int(orientation), text)
    picture = pictures.strip(text)
    return pictures.write(folder / name, picture.convert("RGB") if how == "heic" else picture, how)


def test_each_picture_format_is_found_by_its_words(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, (how, word) in FILES.items():
        _write(inbox, name, how, word)
    originals = {name: (inbox / name).read_bytes() for name in FILES}

    ingested = run(runner, vault_dir, "ingest", "--json", str(inbox))
    assert ingested.exit_code == 0, ingested.output
    ids = {row["file"]: row["id"] for row in json.loads(ingested.stdout)}
    assert set(ids) == set(FILES)

    for name, (_, word) in FILES.items():
        found = run(runner, vault_dir, "search", word, "--json")
        assert found.exit_code == 0, found.output
        assert [row["id"] for row in json.loads(found.stdout)] == [ids[name]], name
    everything = run(runner, vault_dir, "search", "NT26P00412", "--exact", "--json")
    assert {row["id"] for row in json.loads(everything.stdout)} == set(ids.values())

    photo = ids["IMG_0003.heic"]  # stored sideways, turned by its rotation box
    shown = run(runner, vault_dir, "show", photo)
    assert shown.exit_code == 0 and "HEIC photo, 1 page" in shown.stdout, shown.output
    searchable = tmp_path / "photo.pdf"
    exported = run(runner, vault_dir, "export", photo, "--searchable", "--out", str(searchable))
    assert exported.exit_code == 0, exported.output
    assert "blueberry" in poppler.pdftotext(searchable)
    original = tmp_path / "photo-original.heic"
    exported = run(runner, vault_dir, "export", photo, "--original", "--out", str(original))
    assert exported.exit_code == 0, exported.output
    assert original.read_bytes() == originals["IMG_0003.heic"]


def test_a_damaged_or_huge_picture_is_refused_naming_its_type(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pictures.write_truncated(inbox / "cut.webp", "webp")
    pictures.write_truncated(inbox / "cut.heic", "heic")
    pictures.write_bomb(inbox / "huge.gif", "gif")
    before = {path.name: path.read_bytes() for path in inbox.iterdir()}
    result = run(runner, vault_dir, "ingest", str(inbox), env={})
    assert result.exit_code == 6, result.output  # not stored, and left where they are
    assert {path.name: path.read_bytes() for path in inbox.iterdir()} == before
    assert "WebP image cannot be" in result.output and "decompression bomb" in result.output
    result = run(runner, vault_dir, "watch", str(inbox), "--once", "--settle", "0.1", env={})
    assert result.exit_code == 6, result.output
    quarantine = vault_dir.parent / "quarantine"
    reasons = {
        path.name.removesuffix(".age.reason.txt"): path.read_text()
        for path in quarantine.glob("*.reason.txt")
    }
    assert set(reasons) == {"cut.webp", "cut.heic", "huge.gif"}
    assert "WebP image cannot be" in reasons["cut.webp"]
    assert "HEIC image cannot be" in reasons["cut.heic"]
    assert "decompression bomb" in reasons["huge.gif"]
