"""One page in a worker: the quick look before tesseract only saves time.
A wrong or missing orientation hint costs a second run, never text; a run
that could only repeat the first is not made."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from ocr import noise, tesseract, upright, worker
from tests import scans
from tests.ocr.conftest import private_dir, small_print

MAX_CER = 0.03


def _job(path: Path, folder: Path) -> worker.PageJob:
    return worker.PageJob(1, path, "image/png", 0, folder, "eng", 120.0)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The --psm of each tesseract run, in order."""
    seen: list[int] = []
    recognise = tesseract.recognise

    def counting(*args: object, **kwargs: object) -> tesseract.Recognition:
        seen.append(int(kwargs["psm"]))  # type: ignore[call-overload]
        return recognise(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tesseract, "recognise", counting)
    return seen


def _page(tmp_path: Path, variant: str, dpi: int = 200) -> tuple[Path, Path]:
    path = scans.write_png(tmp_path / f"{variant}.png", scans.scan(variant, dpi=dpi), dpi=dpi)
    return path, private_dir(tmp_path / "work")


@pytest.mark.parametrize(("variant", "turn"), [("clean", 0), ("upside-down", 180)])
def test_the_hint_turns_the_page_before_one_run(
    tmp_path: Path, runs: list[int], variant: str, turn: int
) -> None:
    path, folder = _page(tmp_path, variant)
    outcome = worker.ocr_page(_job(path, folder))
    assert runs == [tesseract.PSM_AUTO]
    assert (outcome.rotation, outcome.turned) == (turn, turn)
    assert scans.cer(scans.LETTER, outcome.text) < MAX_CER


# (tesseract's own orientation detection reads a sideways page at 200 dpi
# with 4% errors; at 300 dpi with none)
@pytest.mark.parametrize(("variant", "wrong", "dpi"), [("clean", 180, 200), ("sideways", 0, 300)])
def test_a_wrong_hint_costs_a_run_not_the_text(
    tmp_path: Path,
    runs: list[int],
    monkeypatch: pytest.MonkeyPatch,
    variant: str,
    wrong: int,
    dpi: int,
) -> None:
    monkeypatch.setattr(upright, "turn_to_upright", lambda *_: wrong)
    path, folder = _page(tmp_path, variant, dpi)
    outcome = worker.ocr_page(_job(path, folder))
    assert runs == [tesseract.PSM_AUTO, tesseract.PSM_AUTO_OSD]
    assert outcome.rotation == {"clean": 0, "sideways": 90}[variant]
    assert outcome.turned == 0
    assert scans.cer(scans.LETTER, outcome.text) < MAX_CER


def test_without_a_hint_tesseract_finds_the_way_up(
    tmp_path: Path, runs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upright, "turn_to_upright", lambda *_: None)
    path, folder = _page(tmp_path, "upside-down")
    outcome = worker.ocr_page(_job(path, folder))
    assert runs == [tesseract.PSM_AUTO_OSD]
    assert (outcome.rotation, outcome.turned) == (180, 0)
    assert scans.cer(scans.LETTER, outcome.text) < MAX_CER


def test_no_second_run_that_would_read_the_same(tmp_path: Path, runs: list[int]) -> None:
    """Ink but no words, no way up, nothing to clean or straighten: one run."""
    page = Image.new("L", (1654, 2339), 255)
    ImageDraw.Draw(page).rectangle((300, 300, 1300, 1300), fill=0)
    path = scans.write_png(tmp_path / "square.png", page, dpi=200)
    outcome = worker.ocr_page(_job(path, private_dir(tmp_path / "work")))
    assert runs == [tesseract.PSM_AUTO_OSD]
    assert outcome.text == ""


def test_specks_are_told_fromsmall_print() -> None:
    small, _ = small_print()
    assert not noise.looks_speckled(small)
    assert not noise.looks_speckled(scans.scan("clean", dpi=200))
    assert noise.looks_speckled(scans.scan("noisy", dpi=200))
    assert noise.looks_speckled(scans.to_bilevel(scans.scan("noisy", dpi=200)))


def test_small_print_is_read_unfiltered(tmp_path: Path, runs: list[int]) -> None:
    """A 3x3 median filter eats 6 pt print at 200 dpi (15% errors)."""
    page, text = small_print()
    path = scans.write_png(tmp_path / "small.png", page, dpi=200)
    outcome = worker.ocr_page(_job(path, private_dir(tmp_path / "work")))
    assert runs == [tesseract.PSM_AUTO]
    assert scans.cer(text, outcome.text) < MAX_CER


def _dark(image: Image.Image) -> Image.Image:
    return image.convert("L").point(lambda v: 255 if v < noise.DARK else 0)


def test_specks_go_and_thin_strokes_stay_at_200_dpi() -> None:
    """A median filter would keep 94.5% of the print's pixels at 200 dpi,
    and the thin ones it drops turn an "l" into an "i"."""
    clean = scans.scan("clean", dpi=200)
    noisy = scans.add_noise(clean)
    cleaned, speckle = noise.despeckle(noisy, 200)
    print_, left = _dark(clean), _dark(cleaned)
    area = clean.width * clean.height
    kept = ImageChops.multiply(print_, left).histogram()[255] / print_.histogram()[255]
    stray = ImageChops.subtract(left, print_).histogram()[255] / area
    added = ImageChops.subtract(_dark(noisy), print_).histogram()[255] / area
    assert kept > 0.98
    assert stray < added / 20
    assert speckle >= noise.NOISY_SHARE
