"""Benchmark batch scans: one scan of many letters split at separator
sheets, against the same pages scanned as separate files, in the same run.

    python -m tests.bench.bench_batch [--letters 20] [--pages 2] [--dir DIR]

(PYTHONPATH = the repository root; ``scripts/bench batch``.) Letters of
``--pages`` pages each (a different page of case notes each, drawn at 300
dpi by the test suite's scan generator, JPEG in a PDF as scanners make
them) are written three ways into a fresh work folder in ``--dir``
(default /var/tmp, removed at the end):

* **separate**: one PDF per letter (the baseline);
* **batch**: one PDF of every letter, a separator sheet on top of each
  (20 letters of 2 pages: a 60-page batch);
* **batch with blank backs**: the same, every letter page followed by the
  empty back of a duplex page (a third of its pages blank, slightly
  speckled), and **printed backs**: the same, every back printed instead
  (the baseline of the blank backs: the same number of pages).

Each is stored by the real ``vault ingest`` (its own process, into a fresh
copy of one vault, without the passphrase, ``--quiet --keep-source``), and
``vault list`` must then show one document per letter. Pages per minute
counts the letters' pages (sheets are not counted; blank backs are). Goals,
printed as PASS/FAIL: the batch at least 0.95x the separate files (finding
the sheets and splitting cost next to nothing), and the batch with blank
backs at least 1.3x the batch with printed backs (blank pages are not
OCR'd). The report always exits 0; only an error makes it fail.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import scans
from tests.bench.bench_ingest import vault, vault_env

SPLIT_GOAL = 0.95
BLANK_GOAL = 1.3


def _letter(number: int, pages: int) -> list:  # type: ignore[type-arg]
    return [
        scans.draw_page(
            f"Letter {number}, page {page} of {pages}\n"
            + scans.dense_text(number * 10 + page, lines=20)
        )
        for page in range(1, pages + 1)
    ]


def make_inputs(work: Path, letters: int, pages: int) -> dict[str, Path]:
    separate = work / "separate"
    separate.mkdir()
    batch, blank_backs, printed_backs = [], [], []
    sheet = scans.separator_page()
    blank = scans.blank_page(noisy=True)
    for number in range(1, letters + 1):
        letter = _letter(number, pages)
        scans.write_image_pdf(separate / f"letter-{number:03d}.pdf", letter)
        batch += [sheet, *letter]
        blank_backs.append(sheet)
        printed_backs.append(sheet)
        for n, page in enumerate(letter):
            blank_backs += [page, blank]
            printed_backs += [page, _letter(number + 1000 + n, 1)[0]]
    found = {"separate": separate}
    for name, pages_of in (("batch", batch), ("blank", blank_backs), ("printed", printed_backs)):
        folder = work / name
        folder.mkdir()
        scans.write_image_pdf(folder / f"{name}.pdf", pages_of)
        found[name] = folder
    return found


def time_ingest(folder: Path, template: Path, work: Path, env: dict[str, str], count: int) -> float:
    root = work / f"vault-{folder.name}"
    shutil.copytree(template, root)
    locked = dict(env)
    locked.pop("VAULT_PASSPHRASE")
    subprocess.run(["sync"], check=False)
    start = time.perf_counter()
    vault(["--vault", str(root), "ingest", str(folder), "--quiet", "--keep-source"], locked)
    took = time.perf_counter() - start
    listed = json.loads(vault(["--vault", str(root), "list", "--json"], env).stdout)
    if len(listed) != count:
        raise RuntimeError(f"{folder.name}: vault list shows {len(listed)} documents, not {count}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_batch", description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=20)
    parser.add_argument("--pages", type=int, default=2, help="pages of each letter")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-batch-", dir=args.dir))
    try:
        print(f"writing {args.letters} letters of {args.pages} pages ...", file=sys.stderr)
        inputs = make_inputs(work, args.letters, args.pages)
        state = work / "state"
        state.mkdir()
        env = vault_env(state)
        template = work / "template"
        vault(["--vault", str(template), "init", "--emergency-sheet", str(work / "sheet.pdf"),
               "--centre-name", "Bench"], env)  # fmt: skip
        pages = args.letters * args.pages
        times = {}
        for name in ("separate", "batch", "blank", "printed"):
            print(f"ingesting {name} ...", file=sys.stderr)
            times[name] = time_ingest(inputs[name], template, work, env, args.letters)
        ppm = {
            "separate": pages / times["separate"] * 60,
            "batch": pages / times["batch"] * 60,
            "blank": 2 * pages / times["blank"] * 60,
            "printed": 2 * pages / times["printed"] * 60,
        }
        batch_pages = args.letters * (args.pages + 1)
        print(f"batch scans: {args.letters} letters of {args.pages} pages "
              f"(a {batch_pages}-page batch with separator sheets)")  # fmt: skip
        for name, label in (
            ("separate", "separate files"),
            ("batch", "one batch, split"),
            ("blank", "batch with blank backs"),
            ("printed", "batch with printed backs"),
        ):
            print(f"  {label:<26} {times[name]:7.1f} s  {ppm[name]:6.1f} pages/min")
        split = ppm["batch"] / ppm["separate"]
        blank = ppm["blank"] / ppm["printed"]
        print(f"  batch / separate files: {split:.2f}x (goal >= {SPLIT_GOAL}x): "
              f"{'PASS' if split >= SPLIT_GOAL else 'FAIL'}")  # fmt: skip
        print(f"  blank backs / printed backs: {blank:.2f}x (goal >= {BLANK_GOAL}x): "
              f"{'PASS' if blank >= BLANK_GOAL else 'FAIL'}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
