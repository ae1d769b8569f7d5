"""Tests of the printable emergency-key sheet (vault.emergency_sheet).

The PDF is checked with the real poppler tools (pdfinfo, pdftotext, pdftoppm)
and the QR code is decoded from the rendered page with zxing-cpp, so the test
proves what a person (or a phone) would actually read off the printed sheet.
"""

from __future__ import annotations

import datetime
import io
import logging
import os
import pathlib
import re
import shutil
import stat
import subprocess

import pyrage
import pytest

from vault.emergency_sheet import write_emergency_sheet

POPPLER = {name: shutil.which(name) for name in ("pdfinfo", "pdftotext", "pdftoppm")}


def test_poppler_is_installed() -> None:
    """A missing tool fails the run (scripts/setup installs it); it never skips."""
    assert all(POPPLER.values()), "poppler-utils missing: run scripts/setup"


CREATED = datetime.datetime(2024, 5, 1, 9, 30, tzinfo=datetime.UTC)
VAULT_ID = "v-3f9a2c1e"
CENTRE = "Riverside Child Contact Centre"


@pytest.fixture
def secret_key() -> str:
    key = str(pyrage.x25519.Identity.generate())
    assert key.startswith("AGE-SECRET-KEY-1")
    assert len(key) == 74
    return key


@pytest.fixture
def sheet(tmp_path: pathlib.Path, secret_key: str) -> pathlib.Path:
    path = tmp_path / "emergency-key.pdf"
    write_emergency_sheet(
        path,
        secret_key=secret_key,
        vault_id=VAULT_ID,
        centre_name=CENTRE,
        created=CREATED,
    )
    return path


def _run(*args: str) -> bytes:
    return subprocess.run(args, check=True, capture_output=True, timeout=60).stdout


def _text(pdf: pathlib.Path) -> str:
    return _run(str(POPPLER["pdftotext"]), "-enc", "UTF-8", str(pdf), "-").decode("utf-8")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_file_is_a_private_pdf(sheet: pathlib.Path) -> None:
    assert sheet.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    # Nothing else (no temp file, no QR image) is left next to it.
    assert sorted(os.listdir(sheet.parent)) == [sheet.name]


def test_sheet_is_one_page(sheet: pathlib.Path) -> None:
    info = _run(str(POPPLER["pdfinfo"]), str(sheet)).decode("utf-8", "replace")
    match = re.search(r"^Pages:\s+(\d+)\s*$", info, re.MULTILINE)
    assert match is not None, info
    assert int(match.group(1)) == 1


def test_key_text_is_extractable(sheet: pathlib.Path, secret_key: str) -> None:
    text = _text(sheet)
    assert secret_key in re.sub(r"\s+", "", text)
    # The key is printed in groups, so it is never one unbroken run of text.
    assert secret_key not in text


def test_sheet_wording(sheet: pathlib.Path) -> None:
    text = _squash(_text(sheet))
    assert "Vault emergency key" in text
    assert VAULT_ID in text
    assert CENTRE in text
    assert "1 May 2024" in text
    assert "opens every record in the vault" in text
    assert "can read everything" in text
    assert "The coordinator signs the sealed envelope" in text
    assert "partly over the flap" in text
    assert "sign across" not in text
    assert "minutes" in text
    assert "tape over the signature" in text
    assert "delete the PDF file" in text
    assert "makes a new emergency key" in text
    assert "vault emergency-sheet --out FILE.pdf" in text
    assert "vault recover --from REMOTE --to DIR --emergency-key FILE" in text
    assert "audit log" in text
    for label in ("Sealed by", "Witnessed by", "Date sealed", "Kept by"):
        assert label in text


def test_sheet_follows_the_policy_in_its_order(sheet: pathlib.Path) -> None:
    """The centre's policy, step by step in its own order: print, then delete
    the PDF; seal; the coordinator signs partly over the flap; tape over the
    signature; a committee member keeps it; every opening recorded; a new key
    after an opening, with the command that makes it."""
    text = _squash(_text(sheet))
    steps = [
        "Print the sheet",
        "delete the PDF file",
        "seal the envelope",
        "The coordinator signs the sealed envelope, with the signature running partly over "
        "the flap",
        "Put clear tape over the signature",
        "A management committee member keeps the envelope",
        "Every opening of the envelope is recorded in the committee minutes",
        "makes a new emergency key",
        "vault emergency-sheet --out FILE.pdf",
    ]
    places = [text.find(step) for step in steps]
    assert -1 not in places, list(zip(steps, places, strict=True))
    assert places == sorted(places)
    assert (
        "Use this key when the coordinator's passphrase is lost or the coordinator is "
        "unavailable for an extended period." in text
    )


def test_backups_line_names_each_remote(tmp_path: pathlib.Path, secret_key: str) -> None:
    path = tmp_path / "sheet.pdf"
    write_emergency_sheet(
        path,
        secret_key=secret_key,
        vault_id=VAULT_ID,
        centre_name=CENTRE,
        created=CREATED,
        backups=["Backblaze B2 remote 'cloud'", "USB disk folder 'usb'"],
    )
    text = _squash(_text(path))
    assert "Backups are kept at: Backblaze B2 remote 'cloud'; USB disk folder 'usb'." in text


def test_backups_line_to_fill_in_when_there_is_none(sheet: pathlib.Path) -> None:
    text = _squash(_text(sheet))
    assert "Backups are kept at:" in text
    assert "write where they are by hand" in text


def test_qr_code_decodes_to_the_key(sheet: pathlib.Path, secret_key: str) -> None:
    import zxingcpp
    from PIL import Image as image_module

    # Render the page to PNG on stdout, so the page image stays in memory.
    png = _run(str(POPPLER["pdftoppm"]), "-r", "150", "-png", "-singlefile", str(sheet))
    with image_module.open(io.BytesIO(png)) as page:
        results = zxingcpp.read_barcodes(page.convert("L"))
    assert [r.format for r in results] == [zxingcpp.BarcodeFormat.QRCode]
    assert results[0].text == secret_key


def test_overwrite_replaces_file_and_keeps_it_private(
    tmp_path: pathlib.Path, secret_key: str
) -> None:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(b"old contents")
    path.chmod(0o644)
    write_emergency_sheet(
        path, secret_key=secret_key, vault_id=VAULT_ID, centre_name=None, created=CREATED
    )
    assert path.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["sheet.pdf"]


def test_failed_write_leaves_no_temp_file(tmp_path: pathlib.Path, secret_key: str) -> None:
    # A directory where the file should go makes the final rename fail.
    target = tmp_path / "sheet.pdf"
    target.mkdir()
    with pytest.raises(OSError):
        write_emergency_sheet(
            target, secret_key=secret_key, vault_id=VAULT_ID, centre_name=None, created=CREATED
        )
    assert sorted(os.listdir(tmp_path)) == ["sheet.pdf"]
    assert target.is_dir()
    assert list(target.iterdir()) == []


def test_centre_name_outside_latin1_is_still_rendered(
    tmp_path: pathlib.Path, secret_key: str
) -> None:
    path = tmp_path / "sheet.pdf"
    write_emergency_sheet(
        path,
        secret_key=secret_key,
        vault_id=VAULT_ID,
        centre_name="Canolfan Cyswllt Plant Ŵyddgrug",
        created=CREATED,
    )
    assert "Canolfan Cyswllt Plant Wyddgrug" in _squash(_text(path))


@pytest.mark.parametrize("bad", ["", "AGE-SECRET-KEY-1 ABC", "AGE-SECRET-KEY-1ÄBC"])
def test_bad_key_is_refused_without_echoing_it(tmp_path: pathlib.Path, bad: str) -> None:
    path = tmp_path / "sheet.pdf"
    with pytest.raises(ValueError) as excinfo:
        write_emergency_sheet(
            path, secret_key=bad, vault_id=VAULT_ID, centre_name=None, created=CREATED
        )
    if bad:
        assert bad not in str(excinfo.value)
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_key_is_not_logged(
    tmp_path: pathlib.Path, secret_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    write_emergency_sheet(
        tmp_path / "sheet.pdf",
        secret_key=secret_key,
        vault_id=VAULT_ID,
        centre_name=CENTRE,
        created=CREATED,
    )
    assert secret_key not in caplog.text
