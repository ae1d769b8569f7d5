"""Real words or font garbage: the test that decides whether a PDF page's
own text is kept or the page is OCR'd."""

from __future__ import annotations

import random

import pytest

from ocr.textcheck import is_real_text
from tests import scans

REAL = {
    "English letter": scans.LETTER,
    "referral": scans.SECOND_LETTER,
    "Polish": "Sąd Rejonowy postanowił, że kontakty ojca z dziećmi odbywać się będą w "
    "obecności pracownika ośrodka. Matka przyprowadzi dzieci w każdą sobotę.",
    "German": "Die Kinder haben mit ihrem Vater gemalt und gelesen. Das Gericht hat die "
    "Übergabe angeordnet und wünscht einen Bericht.",
    "French": "Les enfants ont peint et lu avec leur père pendant la visite. Le tribunal a "
    "ordonné la remise des enfants.",
    "short": "Case NT26P00412 closed",
}


def _shifted(text: str, by: int) -> str:
    return "".join(
        chr((ord(c.lower()) - 97 + by) % 26 + 97) if "a" <= c.lower() <= "z" else c for c in text
    )


def _garbage() -> dict[str, str]:
    rng = random.Random(5)
    cases = {f"letters shifted by {k}": _shifted(scans.LETTER, k) for k in (1, 3, 7, 13, 20)}
    cases["symbols"] = "".join(rng.choice("#$%&*+<>@[]^_{|}~0123") for _ in range(300))
    cases["control codes"] = "".join(chr(rng.randrange(1, 31)) for _ in range(200))
    cases["glyph offsets"] = "".join(chr(ord(c) - 29) if c.isalpha() else c for c in scans.LETTER)
    cases["replacement chars"] = "\ufffd" * 120
    cases["empty"] = ""
    return cases


@pytest.mark.parametrize("name", list(REAL))
def test_real_text_is_kept(name: str) -> None:
    assert is_real_text(REAL[name])


@pytest.mark.parametrize("name", list(_garbage()))
def test_garbage_is_not_text(name: str) -> None:
    assert not is_real_text(_garbage()[name])
