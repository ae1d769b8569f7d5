"""Polling the inbox: what is taken, and when it has settled."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.watch import SettleTracker, check_inbox, ignored, processed_folder, scan_inbox
from vault.errors import UsageError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "name,skip",
    [
        ("scan0001.pdf", False),
        ("Scan 2026-11-25.TIF", False),
        (".DS_Store", True),
        (".scan0002.pdf", True),
        ("scan0003.pdf.part", True),
        ("upload.TMP", True),
        ("~$letter.docx", True),
        ("photo.jpg.crdownload", True),
    ],
)
def test_ignored_names(name: str, skip: bool) -> None:
    assert ignored(name) is skip


def test_settles_only_after_size_and_time_stay_the_same() -> None:
    clock = Clock()
    tracker = SettleTracker(3.0, clock)
    a, b = Path("a.pdf"), Path("b.pdf")
    assert tracker.update({a: (10, 1), b: (5, 1)}) == ([], 3.0)
    clock.now += 2
    assert tracker.update({a: (20, 2), b: (5, 1)}) == ([], 1.0)  # a grew: starts again
    clock.now += 1
    assert tracker.update({a: (20, 2), b: (5, 1)}) == ([b], 2.0)
    clock.now += 2
    assert tracker.update({a: (20, 2)}) == ([a], None)  # b went away: forgotten
    assert tracker.settled_signature(a) == (20, 2)
    tracker.forget(a)
    assert tracker.update({a: (20, 2)}) == ([], 3.0)


def test_settle_zero_takes_files_at_once() -> None:
    tracker = SettleTracker(0.0, Clock())
    assert tracker.update({Path("a"): (1, 1)}) == ([Path("a")], None)


def test_scan_finds_files_and_links_but_not_hidden_partial_or_skipped(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "2026-11" / "deep").mkdir(parents=True)
    (inbox / ".hidden-folder").mkdir()
    (inbox / "done").mkdir()
    for name in (
        "a.pdf",
        "2026-11/b.tif",
        "2026-11/deep/c.png",
        ".hidden-folder/d.pdf",
        "done/e.pdf",
        "f.pdf.part",
        ".g.pdf",
        "~$h.pdf",
    ):
        (inbox / name).write_bytes(b"x" * 3)
    (inbox / "link.pdf").symlink_to(inbox / "a.pdf")
    (inbox / "dirlink").symlink_to(tmp_path)
    found = scan_inbox(inbox, skip=[inbox / "done"])
    assert sorted(p.relative_to(inbox).as_posix() for p in found.files) == [
        "2026-11/b.tif",
        "2026-11/deep/c.png",
        "a.pdf",
    ]
    assert all(sig[0] == 3 for sig in found.files.values())
    assert found.links == [inbox / "dirlink", inbox / "link.pdf"]


def test_inbox_and_processed_folders_are_checked(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    (vault / "objects").mkdir(parents=True)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    assert check_inbox(inbox, vault) == inbox.resolve()
    done = tmp_path / "done"
    assert processed_folder(inbox, done, vault) == done.resolve()
    for bad in (tmp_path / "missing", vault / "objects", tmp_path):
        with pytest.raises(UsageError):
            check_inbox(bad, vault)
    with pytest.raises(UsageError, match="inside the vault"):
        processed_folder(inbox, vault / "done", vault)
    with pytest.raises(UsageError, match="inbox itself"):
        processed_folder(inbox, inbox, vault)
