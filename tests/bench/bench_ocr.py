"""Benchmark OCR (``ocr_document``) against raw tesseract and ocrmypdf.

    python -m tests.bench.bench_ocr [--pages 30] [--dir DIR] [--repeats 1]

(PYTHONPATH = the repository root.) ``--pages`` A4 pages are drawn at 300 dpi
with known text (``tests.scans.dense_text``), spoilt like a real post bag:
mostly clean, three skewed 2 degrees, one noisy, one upside down, one
sideways. They are written as one image-only PDF (a JPEG per page), and each
page's image is extracted from that PDF to a PNG, so every engine reads the
same pixels. All of it happens in a fresh work folder made in ``--dir``
(default /var/tmp) and removed at the end. Then, in the same run, on the same
machine (the shared 2 cores):

* raw tesseract: ``OMP_THREAD_LIMIT=1 tesseract page.png out --dpi 300 txt pdf``
  on every PNG, 2 processes at a time (like ``xargs -P 2``); the wall time
  from the first start to the last finish; CER of the txt output.
* vault: ``ocr_document(pdf, "application/pdf", workdir, jobs=2)`` in this
  process (its worker pool starts inside the call), end to end including the
  searchable PDF; CER of each ``PageResult.text``.
* ocrmypdf, at its own fastest settings (``--jobs 2 --output-type pdf
  --optimize 0``), once as it is and once with ``--rotate-pages`` (without it
  the upside-down and sideways pages are read as they lie); the wall time of
  the whole ``ocrmypdf`` process; CER of ``pdftotext -raw`` on each output page.
  ocrmypdf is installed for the benchmark only, in a throwaway venv
  (/var/tmp/bench-ocrmypdf-venv, reused when it is there); it needs
  ghostscript, which is installed with apt-get when ``gs`` is missing and we
  are root. If ocrmypdf cannot be had, the reason is printed and its rows are
  left out.

CER (``tests.scans``): character edits per expected character after collapsing
whitespace, summed over all pages. The edit distance is computed here with a
bit-parallel algorithm (Myers/Hyyro) that gives exactly the same number as
``tests.scans.levenshtein``, which is too slow for 30 dense pages per engine.

Before the measurements one small untimed tesseract run loads the language
data into the page cache. With ``--repeats`` above 1 the engines take turns,
round after round, and the best time of each is kept.

The report always exits 0; only an error (a failing tesseract or vault run, a
wrong page count) makes it fail.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from PIL import Image

from tests import scans

DPI = 300
TESSERACT = shutil.which("tesseract") or "/usr/bin/tesseract"
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
OCRMYPDF_VENV = Path("/var/tmp/bench-ocrmypdf-venv")
OCRMYPDF_FLAGS = ["--jobs", "2", "--output-type", "pdf", "--optimize", "0"]
JOBS = 2
RAW_GOAL = 1.0  # vault pages/min over raw tesseract pages/min
# Spoilt pages, spread evenly through the bag; every other page is clean.
SPOILT = ("skewed", "noisy", "skewed", "upside-down", "skewed", "sideways")
TIMEOUT = 3600  # seconds for any one external command


# --- the pages -------------------------------------------------------------------------


def variants_for(pages: int) -> list[str]:
    """``pages`` scans variants: the SPOILT ones spread evenly, the rest clean."""
    kinds = ["clean"] * pages
    count = min(len(SPOILT), pages)
    for k in range(count):
        kinds[(k + 1) * pages // (count + 1)] = SPOILT[k]
    return kinds


def make_inputs(work: Path, variants: list[str]) -> tuple[Path, list[Path], list[str]]:
    """The image-only PDF, a PNG per page extracted from it, the expected texts."""
    texts = [scans.dense_text(seed) for seed in range(1, len(variants) + 1)]
    pages = [scans.spoil(scans.draw_page(t, dpi=DPI), v) for t, v in zip(texts, variants)]
    pdf = scans.write_image_pdf(work / "bag.pdf", pages, dpi=DPI)
    del pages
    png_dir = work / "png"
    png_dir.mkdir()
    pngs = []
    with pikepdf.open(pdf) as doc:
        if len(doc.pages) != len(variants):
            raise RuntimeError(f"the PDF has {len(doc.pages)} pages, expected {len(variants)}")
        for number, page in enumerate(doc.pages, 1):
            (image,) = page.get_images().values()
            png = png_dir / f"page-{number:03d}.png"
            pikepdf.PdfImage(image).as_pil_image().save(png, "PNG", dpi=(DPI, DPI))
            pngs.append(png)
    return pdf, pngs, texts


def warm_up(work: Path, png: Path) -> None:
    """Untimed: a strip of one page through tesseract (text and OSD), so the
    language data is in the page cache before the first measurement."""
    strip = work / "warm-up.png"
    with Image.open(png) as page:
        page.crop((0, 0, page.width, min(page.height, 600))).save(strip, dpi=(DPI, DPI))
    for extra in ([], ["--psm", "0"]):
        subprocess.run(
            [TESSERACT, str(strip), "-", "--dpi", str(DPI), *extra],
            capture_output=True,
            env=_one_thread_env(),
            timeout=TIMEOUT,
            check=False,
        )
    strip.unlink()


# --- grading ---------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (unit costs), bit-parallel (Hyyro's form of Myers' algorithm)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    m = len(b)
    peq: dict[str, int] = {}
    for i, c in enumerate(b):
        peq[c] = peq.get(c, 0) | (1 << i)
    mask = (1 << m) - 1
    high = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for c in a:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & mask)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = mh | (~(xv | ph) & mask)
        mv = ph & xv
    return score


@dataclass
class Grade:
    cer: float  # all pages: edits / expected characters
    per_page: list[float]  # CER of each page


def grade(expected: list[str], got: list[str]) -> Grade:
    if len(got) != len(expected):
        raise RuntimeError(f"{len(got)} pages of text, expected {len(expected)}")
    edits = chars = 0
    per_page = []
    for want, have in zip(expected, got):
        want, have = scans.normalise(want), scans.normalise(have)
        e = edit_distance(want, have)
        edits += e
        chars += len(want)
        per_page.append(e / len(want) if want else float(bool(have)))
    return Grade(edits / chars if chars else 0.0, per_page)


def pdf_page_texts(pdf: Path, pages: int) -> list[str]:
    """pdftotext's text of each page (it ends every page with a form feed), in
    content-stream order (``-raw``): its default rebuilds lines from word
    positions and tears lines tilted 2 degrees into one-word scraps."""
    done = subprocess.run(
        [PDFTOTEXT, "-raw", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        timeout=TIMEOUT,
        check=True,
    )
    texts = done.stdout.decode().split("\f")
    if len(texts) < pages or any(t.strip() for t in texts[pages:]):
        raise RuntimeError(f"{pdf.name}: pdftotext found {len(texts) - 1} pages, not {pages}")
    return texts[:pages]


# --- the engines -----------------------------------------------------------------------


@dataclass
class Row:
    engine: str
    seconds: list[float] = field(default_factory=list)
    grade: Grade | None = None
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.seconds)


def _one_thread_env() -> dict[str, str]:
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def run_raw_tesseract(pngs: list[Path], out_dir: Path) -> tuple[float, list[str]]:
    """``tesseract page.png out --dpi 300 txt pdf``, JOBS at a time; wall seconds, texts."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    env = _one_thread_env()

    def one(png: Path) -> Path:
        base = out_dir / png.stem
        done = subprocess.run(
            [TESSERACT, str(png), str(base), "--dpi", str(DPI), "txt", "pdf"],
            capture_output=True,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tesseract failed on {png.name}: {done.stderr.decode()[-500:]}")
        return base

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        bases = list(pool.map(one, pngs))
    seconds = time.perf_counter() - t0
    for base in bases:
        if base.with_suffix(".pdf").stat().st_size == 0:
            raise RuntimeError(f"tesseract wrote an empty PDF for {base.name}")
    return seconds, [base.with_suffix(".txt").read_text() for base in bases]


def run_vault(pdf: Path, pages: int) -> tuple[float, list[str], list[str]]:
    """``ocr_document`` end to end; wall seconds, page texts, and the text of
    its searchable PDF as pdftotext reads it."""
    from ocr import ocr_document
    from vault.fsutil import private_workdir

    with private_workdir() as workdir:
        t0 = time.perf_counter()
        result = ocr_document(pdf, "application/pdf", workdir, jobs=JOBS)
        seconds = time.perf_counter() - t0
        if result.searchable_pdf is None or not result.searchable_pdf.exists():
            raise RuntimeError("ocr_document made no searchable PDF")
        with pikepdf.open(result.searchable_pdf) as out:
            if len(out.pages) != pages:
                raise RuntimeError(f"the searchable PDF has {len(out.pages)} pages, not {pages}")
        pdf_texts = pdf_page_texts(result.searchable_pdf, pages)
    return seconds, [p.text for p in result.pages], pdf_texts


def ocrmypdf_command() -> tuple[Path | None, str]:
    """The ocrmypdf in the throwaway venv (made and filled if need be), or why not."""
    exe = OCRMYPDF_VENV / "bin" / "ocrmypdf"
    if not shutil.which("gs"):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            return None, "ghostscript (gs) is missing and cannot be installed here"
        log("installing ghostscript for ocrmypdf (apt-get install -y ghostscript)")
        done = subprocess.run(
            ["apt-get", "install", "-y", "ghostscript"],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        if done.returncode != 0 or not shutil.which("gs"):
            return None, f"apt-get install ghostscript failed: {done.stderr.decode()[-300:]}"
    if not exe.exists():
        log(f"installing ocrmypdf into {OCRMYPDF_VENV} (for the benchmark only)")
        for argv in (
            [sys.executable, "-m", "venv", str(OCRMYPDF_VENV)],
            [str(OCRMYPDF_VENV / "bin" / "pip"), "install", "-q", "ocrmypdf"],
        ):
            done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
            if done.returncode != 0:
                return None, f"{' '.join(argv[:3])}... failed: {done.stderr.decode()[-300:]}"
    if not exe.exists():
        return None, f"{exe} is missing after the install"
    done = subprocess.run([str(exe), "--version"], capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        return None, f"ocrmypdf --version failed: {done.stderr.decode()[-300:]}"
    return exe, done.stdout.decode().strip()


def run_ocrmypdf(
    exe: Path, extra: list[str], pdf: Path, out: Path, pages: int
) -> tuple[float, list[str]]:
    """One ocrmypdf process; wall seconds and pdftotext's text of each output page."""
    out.unlink(missing_ok=True)
    argv = [str(exe), *OCRMYPDF_FLAGS, *extra, str(pdf), str(out)]
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(
            f"ocrmypdf exited {done.returncode}: {done.stderr.decode(errors='replace')[-800:]}"
        )
    return seconds, pdf_page_texts(out, pages)


# --- driver ----------------------------------------------------------------------------


def bench(pages: int, base_dir: Path, repeats: int) -> None:
    started = time.perf_counter()
    base_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ocr-bench-", dir=base_dir))
    try:
        _bench_in(work, pages, repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nwhole benchmark (setup, all runs, grading): {time.perf_counter() - started:.0f}s")


def _bench_in(work: Path, pages: int, repeats: int) -> None:
    variants = variants_for(pages)
    log(f"work folder {work}; drawing {pages} pages at {DPI} dpi")
    t0 = time.perf_counter()
    pdf, pngs, texts = make_inputs(work, variants)
    log(f"inputs ready in {time.perf_counter() - t0:.1f}s: {pdf.stat().st_size // 1024} KiB PDF")
    spoilt = ", ".join(f"{n} {v}" for n, v in enumerate(variants, 1) if v != "clean")
    exe, about = ocrmypdf_command()
    log(f"ocrmypdf: {about}" if exe else f"ocrmypdf left out: {about}")
    warm_up(work, pngs[0])

    raw = Row("raw tesseract")
    vault = Row("vault ocr_document")
    vault_pdf_grade: Grade | None = None
    ocrmypdf_rows: list[tuple[Row, list[str]]] = []
    if exe:
        ocrmypdf_rows = [(Row("ocrmypdf"), []), (Row("ocrmypdf --rotate-pages"), ["-r"])]
    failed: dict[str, str] = {}

    for round_ in range(1, repeats + 1):
        seconds, got = run_raw_tesseract(pngs, work / "raw")
        raw.seconds.append(seconds)
        raw.grade = grade(texts, got)
        log(f"round {round_}: raw tesseract {seconds:.1f}s CER {raw.grade.cer:.2%}")

        seconds, got, pdf_got = run_vault(pdf, pages)
        vault.seconds.append(seconds)
        vault.grade = grade(texts, got)
        vault_pdf_grade = grade(texts, pdf_got)
        log(f"round {round_}: vault {seconds:.1f}s CER {vault.grade.cer:.2%}")

        for row, extra in ocrmypdf_rows:
            if row.engine in failed:
                continue
            try:
                seconds, got = run_ocrmypdf(exe, extra, pdf, work / "ocrmypdf.pdf", pages)  # type: ignore[arg-type]
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                failed[row.engine] = str(exc)
                log(f"round {round_}: {row.engine} failed: {exc}")
                continue
            row.seconds.append(seconds)
            row.grade = grade(texts, got)
            log(f"round {round_}: {row.engine} {seconds:.1f}s CER {row.grade.cer:.2%}")

    rows = [raw, vault, *(row for row, _ in ocrmypdf_rows if row.seconds)]
    report(rows, variants, spoilt, repeats, vault_pdf_grade, about if exe else None, failed)
    if not exe:
        print(f"ocrmypdf rows left out: {about}")


def ppm(pages: int, seconds: float) -> float:
    return pages * 60 / seconds


def report(
    rows: list[Row],
    variants: list[str],
    spoilt: str,
    repeats: int,
    vault_pdf_grade: Grade | None,
    ocrmypdf_version: str | None,
    failed: dict[str, str],
) -> None:
    pages = len(variants)
    raw, vault = rows[0], rows[1]
    raw_ppm = ppm(pages, raw.best)
    print()
    best = f", best of {repeats}" if repeats > 1 else ""
    print(f"OCR throughput on {JOBS} cores, {pages} A4 pages at {DPI} dpi{best}")
    print(f"spoilt pages: {spoilt}; the rest clean")
    print(f"{'engine':<26} {'seconds':>8} {'pages/min':>10} {'vs raw':>7} {'CER %':>7}")
    for row in rows:
        assert row.grade is not None
        rate = ppm(pages, row.best)
        print(
            f"{row.engine:<26} {row.best:>8.1f} {rate:>10.1f} {rate / raw_ppm:>6.2f}x"
            f" {row.grade.cer * 100:>7.2f}"
        )
    print()
    print("'vs raw' = pages/min over raw tesseract's (txt + pdf, PNG pages, 2 processes).")
    print("CER = character edits / expected characters over all pages, whitespace collapsed.")
    if ocrmypdf_version:
        print(
            f"ocrmypdf {ocrmypdf_version}: {' '.join(OCRMYPDF_FLAGS)}; CER of pdftotext -raw text."
        )
    if vault_pdf_grade is not None:
        print(f"vault's searchable PDF read back by pdftotext -raw: CER {vault_pdf_grade.cer:.2%}")
    print("worst pages (CER):")
    for row in rows:
        assert row.grade is not None
        worst = sorted(zip(row.grade.per_page, range(1, pages + 1), variants), reverse=True)[:3]
        shown = ", ".join(f"p{n} {v} {c:.1%}" for c, n, v in worst)
        print(f"  {row.engine}: {shown}")
    for engine, why in failed.items():
        print(f"{engine} failed: {why}")

    print()
    ratio = ppm(pages, vault.best) / raw_ppm
    verdict = "PASS" if ratio >= RAW_GOAL else "FAIL"
    print(f"goal: vault >= {RAW_GOAL:.1f}x raw tesseract (txt+pdf): {ratio:.2f}x {verdict}")
    assert vault.grade is not None
    others = rows[2:]
    if not others:
        print("goal: vault pages/min > ocrmypdf and CER <= ocrmypdf's: SKIP (no ocrmypdf run)")
    for row in others:
        assert row.grade is not None
        faster = ppm(pages, vault.best) > ppm(pages, row.best)
        as_good = vault.grade.cer <= row.grade.cer
        verdict = "PASS" if faster and as_good else "FAIL"
        print(
            f"goal: vault pages/min > {row.engine} and CER <= its: "
            f"{ppm(pages, vault.best):.1f} vs {ppm(pages, row.best):.1f} pages/min, "
            f"CER {vault.grade.cer:.2%} vs {row.grade.cer:.2%} {verdict}"
        )


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.bench_ocr", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pages", type=int, default=30, help="pages to generate (default 30)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/var/tmp"),
        help="folder in which a fresh work folder is made (and removed at the end)",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="rounds of measurements; best kept (default 1)"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.pages < 1 or args.repeats < 1:
        parser.error("--pages and --repeats must be at least 1")
    if not os.path.exists(TESSERACT):
        parser.error("tesseract was not found")
    bench(args.pages, args.dir.resolve(), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
