"""Moving files aside without overwriting, and the quarantine folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.quarantine import Quarantine, quarantine_folder, reason_file
from ingest.relocate import candidate_names, move_aside
from tests.conftest import CANARY
from vault.errors import UsageError


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_candidate_names() -> None:
    names = candidate_names("scan.pdf")
    assert [next(names) for _ in range(3)] == ["scan.pdf", "scan-1.pdf", "scan-2.pdf"]
    assert list(candidate_names("README"))[:2] == ["README", "README-1"]
    assert list(candidate_names(".hidden"))[:2] == [".hidden", ".hidden-1"]
    assert list(candidate_names("a.tar.gz"))[:2] == ["a.tar.gz", "a.tar-1.gz"]


def test_move_aside_never_overwrites(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    for n in range(3):
        src = tmp_path / f"in{n}" / "scan.pdf"
        src.parent.mkdir()
        src.write_text(f"scan {n}")
        moved = move_aside(src, dest)
        assert not src.exists()
        assert moved.read_text() == f"scan {n}"
        assert mode(moved) == 0o600
    assert sorted(p.name for p in dest.iterdir()) == ["scan-1.pdf", "scan-2.pdf", "scan.pdf"]
    assert mode(dest) == 0o700


def test_companion_names_are_kept_free(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "scan.pdf.reason.txt").write_text("left from before")
    src = tmp_path / "scan.pdf"
    src.write_text("x")
    assert move_aside(src, dest, companions=(".reason.txt",)).name == "scan-1.pdf"


def test_symbolic_link_is_moved_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text(CANARY)
    link = tmp_path / "inbox" / "link.pdf"
    link.parent.mkdir()
    link.symlink_to(target)
    moved = move_aside(link, tmp_path / "dest")
    assert moved.is_symlink() and os.readlink(moved) == str(target)
    assert not link.exists() and not link.is_symlink()
    assert target.read_text() == CANARY


def test_quarantine_writes_a_reason_without_text(tmp_path: Path) -> None:
    src = tmp_path / "broken.pdf"
    src.write_bytes(b"%PDF-1.4 " + CANARY.encode())
    quarantine = Quarantine(tmp_path / "q")
    moved = quarantine.put(src, "damaged PDF")
    assert moved == tmp_path / "q" / "broken.pdf" and not src.exists()
    note = reason_file(moved)
    assert note.name == "broken.pdf.reason.txt"
    text = note.read_text()
    assert "damaged PDF" in text and "Quarantined:" in text and "From: broken.pdf\n" in text
    assert str(tmp_path) not in text  # the name only, no folder names
    assert CANARY not in text
    assert mode(note) == 0o600 and mode(moved) == 0o600 and mode(tmp_path / "q") == 0o700
    again = tmp_path / "broken.pdf"
    again.write_bytes(b"other")
    assert quarantine.put(again, "damaged PDF").name == "broken-1.pdf"
    assert (tmp_path / "q" / "broken-1.pdf.reason.txt").exists()
    verbose = tmp_path / "broken.pdf"
    verbose.write_bytes(b"third")
    moved = Quarantine(tmp_path / "q", verbose=True).put(verbose, "damaged PDF")
    assert f"From: {verbose}\n" in reason_file(moved).read_text()


def test_quarantine_folder_choice(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    assert quarantine_folder(root, None, {}) == (tmp_path / "quarantine").resolve()
    configured = {"quarantine_dir": str(tmp_path / "from-config")}
    assert quarantine_folder(root, None, configured) == (tmp_path / "from-config").resolve()
    option = tmp_path / "from-option"
    assert quarantine_folder(root, option, configured) == option.resolve()


@pytest.mark.parametrize("inside", [".", "quarantine", "objects/q"])
def test_quarantine_folder_inside_the_vault_is_refused(tmp_path: Path, inside: str) -> None:
    root = tmp_path / "vault"
    root.mkdir()
    with pytest.raises(UsageError, match="inside the vault folder"):
        quarantine_folder(root, root / inside, {})
    with pytest.raises(UsageError, match="inside the vault folder"):
        quarantine_folder(root, None, {"quarantine_dir": str(root / inside)})


def test_quarantine_setting_must_be_a_path(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="quarantine_dir"):
        quarantine_folder(tmp_path / "vault", None, {"quarantine_dir": 7})
