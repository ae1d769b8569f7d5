"""Removing a view copy once its time is up, in a process of its own.

``vault view`` starts this, detached from the terminal, when the computer's
viewer hands the file to another program and returns at once (as xdg-open
does): ``python -m vault.view_remover VAULT_FOLDER FILE SECONDS`` sleeps,
then removes the copy and its private folder, and the vault's register of
readable copies forgets it. Should it not run (the computer was switched
off), the next vault command removes the copy (``copies.sweep_views``).
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from vault import copies


def remove_after(root: Path, path: Path, seconds: float) -> None:
    time.sleep(max(0.0, seconds))
    copies.remove_view(path)
    with contextlib.suppress(OSError):
        copies.forget(root, path)


if __name__ == "__main__":
    with contextlib.suppress(Exception, KeyboardInterrupt):
        remove_after(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]))
