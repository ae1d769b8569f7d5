"""The register of readable copies is changed by several processes (a
command noting an export, the detached remover of a view copy, status
forgetting what is gone): none of them loses another's note."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vault import copies


def test_a_note_made_while_another_process_rewrites_the_register_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "vault"
    root.mkdir()
    gone = tmp_path / "viewed.pdf"
    copies.note(root, copies.VIEW, gone, expires=time.time() + 60)
    export = tmp_path / "export.pdf"
    export.write_bytes(b"readable")
    script = (
        "import sys; from pathlib import Path; from vault import copies; "
        "copies.note(Path(sys.argv[1]), copies.EXPORT, Path(sys.argv[2]))"
    )
    real_read = copies._read
    others: list[subprocess.Popen[bytes]] = []

    def read_then_another_process_notes(where: Path) -> list[copies.Copy]:
        found = real_read(where)
        other = subprocess.Popen([sys.executable, "-c", script, str(root), str(export)])
        others.append(other)
        with contextlib.suppress(subprocess.TimeoutExpired):
            other.wait(timeout=3)  # done at once unless it waits for the register
        monkeypatch.setattr(copies, "_read", real_read)
        return found

    monkeypatch.setattr(copies, "_read", read_then_another_process_notes)
    copies.forget(root, gone)  # the view copy was removed: rewrites the register
    assert [other.wait(timeout=30) for other in others] == [0]
    assert [c.path for c in copies.found(root)] == [export]
