"""Family references: one form, F- and digits (vault.family)."""

from __future__ import annotations

import pytest

from vault import family
from vault.errors import UsageError


@pytest.mark.parametrize(
    "text", ["f51", "F51", "F-51", "F-0051", "f-00051", " F - 51 ", "F\u201351"]
)
def test_spellings_of_one_family(text: str) -> None:
    assert family.normalise(text) == "F-0051"


def test_more_than_four_digits_are_kept() -> None:
    assert family.normalise("F-123456") == "F-123456"


@pytest.mark.parametrize("text", ["Kowalczyk", "F-", "F-12a", "FF-12", "51", "F-0042 Smith", ""])
def test_anything_else_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        family.normalise(text)
    assert "F- and digits" in caught.value.message
    assert len(text) < 4 or text not in caught.value.message
    assert "F-0042" in (caught.value.hint or "")


def test_display_of_stored_values() -> None:
    assert family.display("f51") == "F-0051"
    assert family.display(None) is None
    assert family.display("Kowalczyk") == "Kowalczyk"  # shown as stored, never rewritten
