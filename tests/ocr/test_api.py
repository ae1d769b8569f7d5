"""The public API of the ocr package, pinned."""

from __future__ import annotations

import dataclasses
import inspect
import os
import subprocess
import sys
from pathlib import Path

import ocr
from tests import scans


def test_public_names() -> None:
    assert sorted(ocr.__all__) == ["OcrResult", "PageResult", "ocr_document"]


def test_result_fields() -> None:
    assert [f.name for f in dataclasses.fields(ocr.PageResult)] == [
        "number",
        "text",
        "confidence",
        "rotation",
        "skew",
        "source",
    ]
    assert [f.name for f in dataclasses.fields(ocr.OcrResult)] == [
        "pages",
        "searchable_pdf",
        "born_digital",
    ]


def test_ocr_document_signature() -> None:
    parameters = inspect.signature(ocr.ocr_document).parameters
    assert list(parameters)[:3] == ["path", "media_type", "workdir"]
    assert parameters["languages"].default == "eng"
    assert parameters["jobs"].default is None
    assert parameters["max_pages"].default == 200
    assert parameters["on_page"].default is None
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in parameters.items()
        if name not in ("path", "media_type", "workdir")
    )


def test_workers_do_not_run_the_calling_script_again(tmp_path: Path) -> None:
    """A script that calls ocr_document at its top level (no __main__ guard)
    runs once: the spawned workers do not import it again."""
    page = scans.write_png(tmp_path / "page.png", scans.scan("clean", dpi=200), dpi=200)
    runs = tmp_path / "runs.txt"
    work = tmp_path / "work"
    work.mkdir(mode=0o700)
    script = tmp_path / "script.py"
    script.write_text(
        "from pathlib import Path\n"
        "import ocr\n"
        f"with open({str(runs)!r}, 'a') as f:\n"
        "    f.write('run\\n')\n"
        f"page, work = Path({str(page)!r}), Path({str(work)!r})\n"
        "result = ocr.ocr_document(page, 'image/png', work, jobs=2)\n"
        "print(len(result.pages))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"]
    assert runs.read_text() == "run\n"
