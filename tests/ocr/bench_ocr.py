"""Throughput and accuracy of ``ocr_document`` on synthetic scans.

    .venv/bin/python -m tests.ocr.bench_ocr [--pages 10] [--jobs 2] [--cer]

Throughput: a PDF of full pages of text at 300 dpi (JPEG inside), OCR'd end
to end (page images, tesseract, searchable PDF, worker start-up included),
against bare tesseract writing txt+pdf for the same page images (drawn from
the PDF at 300 dpi, saved as PNG), the same number of processes,
OMP_THREAD_LIMIT=1. CPU seconds are counted too: on a busy machine they
say more than the clock. ``--cer``: the character
error rate of every variant in every format.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ocr import ocr_document
from ocr.pageimage import load_page
from tests import scans

FORMATS = ("pdf-300", "tiff-g4-200", "jpeg-300", "png-200")


def _cpu_seconds() -> float:
    """CPU used so far by this process and all its finished descendants."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _raw_tesseract(pngs: list[Path], jobs: int) -> float:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(png: Path) -> None:
        argv = ["tesseract", str(png), str(png.with_suffix("")), "--dpi", "300", "txt", "pdf"]
        subprocess.run(argv, env=env, capture_output=True, timeout=600, check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, pngs))
    return time.perf_counter() - start


def throughput(pages: int, jobs: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = [scans.draw_page(scans.dense_text(i)) for i in range(pages)]
        pdf = scans.write_image_pdf(folder / "bench.pdf", images)
        pngs = []
        for index in range(pages):
            drawn, dpi = load_page(pdf, "application/pdf", index)
            pngs.append(scans.write_png(folder / f"p{index:02d}.png", drawn, dpi=dpi))
        for _ in range(rounds):
            work = folder / "work"
            work.mkdir(mode=0o700)
            start, cpu = time.perf_counter(), _cpu_seconds()
            result = ocr_document(pdf, "application/pdf", work, jobs=jobs)
            ours, ours_cpu = time.perf_counter() - start, _cpu_seconds() - cpu
            errors = [scans.cer(scans.dense_text(i), p.text) for i, p in enumerate(result.pages)]
            for path in work.iterdir():
                path.unlink()
            work.rmdir()
            cpu = _cpu_seconds()
            raw = _raw_tesseract(pngs, jobs)
            raw_cpu = _cpu_seconds() - cpu
            print(
                f"{pages} pages, {jobs} processes (mean CER {sum(errors) / pages:.2%})\n"
                f"  ocr_document       {ours:5.1f} s = {pages / ours * 60:5.1f} pages/min,"
                f" CPU {ours_cpu / pages:.2f} s/page -> {jobs * 60 * pages / ours_cpu:5.1f}"
                f" pages/min on {jobs} idle cores\n"
                f"  raw tesseract      {raw:5.1f} s = {pages / raw * 60:5.1f} pages/min,"
                f" CPU {raw_cpu / pages:.2f} s/page -> {jobs * 60 * pages / raw_cpu:5.1f}"
                f" pages/min on {jobs} idle cores"
            )


def _write(fmt: str, variant: str, folder: Path) -> tuple[Path, str]:
    kind, *rest = fmt.split("-")
    dpi = int(rest[-1])
    page = scans.scan(variant, dpi=dpi)
    name = folder / f"{variant}-{fmt}"
    if kind == "pdf":
        return scans.write_image_pdf(name.with_suffix(".pdf"), [page], dpi=dpi), "application/pdf"
    if kind == "tiff":
        return scans.write_tiff_g4(name.with_suffix(".tif"), [page], dpi=dpi), "image/tiff"
    if kind == "jpeg":
        return scans.write_jpeg(name.with_suffix(".jpg"), page, dpi=dpi), "image/jpeg"
    return scans.write_png(name.with_suffix(".png"), page, dpi=dpi), "image/png"


def cer_table(jobs: int) -> None:
    print("| variant | " + " | ".join(FORMATS) + " |")
    print("|---|" + "---|" * len(FORMATS))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for variant in scans.VARIANTS:
            cells = []
            for fmt in FORMATS:
                path, media_type = _write(fmt, variant, folder)
                work = folder / f"work-{variant}-{fmt}"
                work.mkdir(mode=0o700)
                page = ocr_document(path, media_type, work, jobs=jobs).pages[0]
                found = all(n in page.text for n in scans.NEEDLES)
                cells.append(f"{scans.cer(scans.LETTER, page.text):.2%}{'' if found else ' *'}")
            print(f"| {variant} | " + " | ".join(cells) + " |")
    print("(* a needle was misread)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cer", action="store_true", help="print the CER table too")
    args = parser.parse_args()
    throughput(args.pages, args.jobs, args.rounds)
    if args.cer:
        cer_table(args.jobs)


if __name__ == "__main__":
    main()
