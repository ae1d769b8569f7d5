"""pdftotext and pdftoppm (poppler-utils) for checking searchable PDFs: argv
lists, no shell, a timeout, failures raised."""

from __future__ import annotations

import subprocess
from pathlib import Path

TIMEOUT = 60


def run(argv: list[str]) -> bytes:
    done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode()}")
    return done.stdout


def pdftotext(pdf: Path, page: int | None = None, *, raw: bool = False) -> str:
    """The text poppler finds; ``raw`` keeps content-stream order instead of
    rebuilding lines from positions (which splits text tilted 3 degrees or more)."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    mode = ["-raw"] if raw else []
    return run(["pdftotext", "-enc", "UTF-8", *mode, *pages, str(pdf), "-"]).decode()


def word_boxes(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """(word, xmin, ymin, xmax, ymax) in points, origin top left, as displayed."""
    import re

    html = run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"]).decode()
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
    return [
        (m[5], float(m[1]), float(m[2]), float(m[3]), float(m[4]))
        for m in re.finditer(pattern, html)
    ]


def render_page(pdf: Path, page: int, out_base: Path, *, dpi: int) -> Path:
    """Page ``page`` drawn by poppler (its /Rotate applied) as a grey PGM."""
    run(
        [
            "pdftoppm",
            "-gray",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(out_base),
        ]
    )
    return out_base.with_suffix(".pgm")
