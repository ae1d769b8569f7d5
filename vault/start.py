"""The ``vault`` program's entry point: Ctrl-C is taken over before anything loads.

Only ``signal`` and ``sys`` are imported before the first Ctrl-C is made to
raise ``KeyboardInterrupt`` and every later one to be ignored; so a Ctrl-C
(or several) pressed while the command's modules are still loading ends
like one pressed later: ``vault: interrupted``, exit status 130, no
traceback. Once loaded, ``vault.cli.group`` handles it for the command.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

INTERRUPTED = 130  # vault.errors.ExitCode.INTERRUPTED, not imported: it loads the core


def _first(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the ones after it: ignored
    raise KeyboardInterrupt


def main() -> None:
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _first)
    try:
        from vault.cli import main as run_vault
    except KeyboardInterrupt:
        sys.stderr.write("vault: interrupted\n")
        raise SystemExit(INTERRUPTED) from None
    run_vault()
