"""Word 97-2003 documents (.doc): their text, by the antiword program.

No Python library reads the old binary Word format, and writing a reader
would be writing a parser; antiword is the reader Debian keeps (security
fixes included) and ``scripts/setup`` installs. It runs as any outside
program does here: an argument list, never a shell, a timeout, and its
output capped. Where it is not installed (Windows, macOS), or it cannot
read the file (a version it does not know, a damaged file), the document
is still stored, with a note that no text could be taken: the original is
kept safe, and can be searched by what is typed in with 'vault edit'.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ingest.readers.common import DocumentText, Limits, TextBudget, check_size
from vault.errors import UnreadableInputError

MEDIA_TYPE = "application/msword"
PROGRAM = "antiword"
NO_TEXT = "no text could be taken"
NOT_INSTALLED = f"{NO_TEXT}: the antiword program, which reads .doc files, is not installed"


def read(path: Path, limits: Limits) -> DocumentText:
    check_size(path.stat().st_size, limits)
    program = shutil.which(PROGRAM)
    if program is None:
        return DocumentText([], note=NOT_INSTALLED)
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    try:
        done = subprocess.run(
            [program, "-m", "UTF-8.txt", "-w", "0", "--", str(path)],
            capture_output=True,
            timeout=limits.seconds,
            env=env,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise UnreadableInputError(
            f"reading it took longer than {limits.seconds:g} seconds (a hostile file?)"
        ) from exc
    except OSError as exc:
        return DocumentText([], note=f"{NO_TEXT}: antiword did not start ({exc.strerror})")
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").replace(str(path), "the file")
        lines = said.strip().splitlines()
        why = lines[-1] if lines else f"it ended with status {done.returncode}"
        return DocumentText([], note=f"{NO_TEXT}: antiword says: {why[:200]}")
    text = TextBudget(limits.max_chars).take(done.stdout.decode("utf-8", "replace"))
    return DocumentText([text])
