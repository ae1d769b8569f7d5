"""Every run of tesseract: the one place the program is started.

One run per page gives the text, a text-only PDF page (the invisible layer of
a searchable PDF) and the word table (TSV) with confidences and boxes. The
input is an image file in the work folder, never a PIL image (re-encoding
it as PNG would drop its resolution). ``--dpi`` is always given. Each run is
an argument list with a timeout, gets the vault's environment without its
secrets, and is killed when the worker that started it dies, so a killed
vault leaves no tesseract writing page text into the work folder
(``vault.children``); failures become ``OcrEngineError``.

Tesseract runs with OMP_THREAD_LIMIT=1 (set by the worker process that calls
us): pages run in parallel processes, which is far faster than its threads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vault.children import dying_with_parent, environment
from vault.errors import OcrEngineError, UsageError

LANGUAGES = re.compile(r"[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*")
PSM_AUTO = 3  # layout analysis, no orientation detection
PSM_AUTO_OSD = 1  # layout analysis with orientation and script detection
OUTPUTS = ("txt", "pdf", "tsv")
CONFIDENT_WORD = 80.0


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float
    left: int
    top: int
    width: int
    height: int
    line: tuple[int, int, int]  # block, paragraph, line


@dataclass(frozen=True)
class Recognition:
    text: str
    words: list[Word]
    text_pdf: Path  # one page, text only, sized from the image and --dpi

    @property
    def confidence(self) -> float:
        """Mean word confidence, 0 when no word was found."""
        if not self.words:
            return 0.0
        return sum(w.confidence for w in self.words) / len(self.words)

    @property
    def score(self) -> int:
        """Characters in confidently read words: compares two readings of a page."""
        return sum(len(w.text) for w in self.words if w.confidence >= CONFIDENT_WORD)


def check_languages(languages: str) -> None:
    if not LANGUAGES.fullmatch(languages):
        raise UsageError(
            f"OCR languages must look like eng or eng+pol, not {languages!r}",
            hint="name tesseract language packs joined by +",
        )


def recognise(
    image: Path, out_base: Path, *, dpi: int, languages: str, psm: int, timeout: float
) -> Recognition:
    """OCR one page image; the outputs are ``out_base`` + .txt/.pdf/.tsv."""
    check_languages(languages)
    config = f"--dpi {int(dpi)} --psm {int(psm)} -c textonly_pdf=1 -c tessedit_create_tsv=1"
    _run(image, out_base, extensions="txt pdf", languages=languages, config=config, timeout=timeout)
    paths = {ext: out_base.with_name(f"{out_base.name}.{ext}") for ext in OUTPUTS}
    missing = [ext for ext, path in paths.items() if not path.is_file()]
    if missing:
        raise OcrEngineError(f"tesseract wrote no {'/'.join(missing)} output")
    text = paths["txt"].read_text(encoding="utf-8", errors="replace").rstrip("\f\n ")
    words = parse_tsv(paths["tsv"].read_text(encoding="utf-8", errors="replace"))
    paths["txt"].unlink()
    paths["tsv"].unlink()
    return Recognition(text, words, paths["pdf"])


def parse_tsv(tsv: str) -> list[Word]:
    """The recognised words (level 5 rows with a confidence) of a TSV table."""
    words = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) != 12 or cells[0] != "5" or not cells[11].strip():
            continue
        try:
            confidence = float(cells[10])
            block, par, line, left, top, width, height = map(int, cells[2:5] + cells[6:10])
        except ValueError:
            continue
        if confidence >= 0:
            words.append(Word(cells[11], confidence, left, top, width, height, (block, par, line)))
    return words


def _run(
    image: Path, out_base: Path, *, extensions: str, languages: str, config: str, timeout: float
) -> None:
    """``tesseract IMAGE OUT_BASE -l LANGS CONFIG… EXTENSIONS…``: no shell, a
    timeout, no secret in its environment, and killed if its parent dies."""
    argv = [
        *dying_with_parent("KILL"), _binary(), str(image), str(out_base), "-l", languages,
        *config.split(), *extensions.split(),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            env=environment(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OcrEngineError(
            f"tesseract timed out after {timeout:g} s on a page",
            hint="the computer may be busy; try again, or allow more time per page",
        ) from exc
    except OSError as exc:
        raise OcrEngineError(f"tesseract could not run: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace")
        raise OcrEngineError(
            f"tesseract failed (exit {done.returncode}): {_last_line(message)}",
            hint=_hint(message, languages),
        )


def _binary() -> str:
    found = shutil.which("tesseract")
    if found is None:
        raise OcrEngineError(
            "tesseract is not installed or not on PATH",
            hint="install tesseract-ocr (scripts/setup does it)",
        )
    return found


def _last_line(message: str) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return (lines[-1] if lines else "no message")[:200]


def _hint(message: str, languages: str) -> str | None:
    if "Failed loading language" in str(message):
        packs = " ".join(f"tesseract-ocr-{lang}" for lang in languages.split("+"))
        return f"install the language data ({packs})"
    return None
