"""The per-remote state: paths appended, rewritten on removal, old format read."""

from __future__ import annotations

import json
from pathlib import Path

from sync.state import load_state, remove_state, save_state, state_path, stored_path

PATH = "offsite:bucket/vault"


def paths(n: int, store: str = "objects") -> set[str]:
    return {f"{store}/{i:02x}/{i:02x}{'0' * 62}" for i in range(n)}


def body(root: Path) -> list[str]:
    return stored_path(root, "r").read_text().splitlines()[1:]


def test_new_paths_are_appended_and_removals_rewrite(tmp_path: Path) -> None:
    state = load_state(tmp_path, "r", PATH)
    assert state.fresh and state.stored == set()
    state.stored = paths(3)
    save_state(tmp_path, "r", state)
    again = load_state(tmp_path, "r", PATH)
    assert not again.fresh and again.stored == paths(3)

    again.stored |= paths(2, "manifests")
    save_state(tmp_path, "r", again)
    assert body(tmp_path)[:3] == sorted(paths(3))  # kept as written: appended to
    assert load_state(tmp_path, "r", PATH).stored == paths(3) | paths(2, "manifests")

    again.stored.discard(sorted(paths(3))[0])
    save_state(tmp_path, "r", again)
    assert sorted(body(tmp_path)) == sorted(again.stored)  # rewritten
    assert load_state(tmp_path, "r", PATH).stored == again.stored


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    state = load_state(tmp_path, "r", PATH)
    state.stored = paths(2)
    save_state(tmp_path, "r", state)
    with open(stored_path(tmp_path, "r"), "ab") as f:
        f.write(b"objects/ff/ff00")  # no newline: the append never finished
    assert load_state(tmp_path, "r", PATH).stored == paths(2)


def test_another_path_or_a_lost_list_starts_afresh(tmp_path: Path) -> None:
    state = load_state(tmp_path, "r", PATH)
    state.stored = paths(2)
    state.daily = {"2025-01-01": {"syncs": 1, "documents": 2}}
    save_state(tmp_path, "r", state)
    other = load_state(tmp_path, "r", "usb:/elsewhere")
    assert other.fresh and other.stored == set() and other.daily == state.daily
    other.stored = paths(1, "manifests")
    save_state(tmp_path, "r", other)  # a new path: the list is rewritten for it
    assert load_state(tmp_path, "r", "usb:/elsewhere").stored == paths(1, "manifests")
    assert json.loads(stored_path(tmp_path, "r").read_text().splitlines()[0])["path"] == (
        "usb:/elsewhere"
    )
    stored_path(tmp_path, "r").unlink()
    lost = load_state(tmp_path, "r", "usb:/elsewhere")
    assert lost.fresh and lost.stored == set() and lost.daily == state.daily


def test_format_1_is_read_and_rewritten_as_format_2(tmp_path: Path) -> None:
    state_path(tmp_path, "r").parent.mkdir()
    old = {"format": 1, "path": PATH, "stored": sorted(paths(2)), "files": {}, "daily": {}}
    state_path(tmp_path, "r").write_text(json.dumps(old))
    state = load_state(tmp_path, "r", PATH)
    assert not state.fresh and state.stored == paths(2)
    save_state(tmp_path, "r", state)
    assert "stored" not in json.loads(state_path(tmp_path, "r").read_text())
    assert load_state(tmp_path, "r", PATH).stored == paths(2)


def test_remove_state_removes_both_files(tmp_path: Path) -> None:
    state = load_state(tmp_path, "r", PATH)
    state.stored = paths(1)
    save_state(tmp_path, "r", state)
    remove_state(tmp_path, "r")
    assert not state_path(tmp_path, "r").exists() and not stored_path(tmp_path, "r").exists()
