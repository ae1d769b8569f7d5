"""Facts read from a document's text: case and referral numbers, dates, family code.

Everything found goes into the document's encrypted manifest, never anywhere
in plaintext. Only what is there is returned: a missing fact is a missing key.

- ``case_number``: a labelled one ("Case number: …", "Case No. …") wins over
  a bare UK family-court number (two letters, two-digit year, a letter, five
  digits: ``NT26P00412``, ``ZW23C50123``).
- ``referral_number``: "Referral number: REF-2026-0193", "Our ref: …", or a
  bare ``REF-2026-0193``.
- ``dates``: every real date in the text as ISO ``YYYY-MM-DD``, in order of
  appearance, without repeats: ``12/11/2026`` (day first, as in the UK),
  ``12 November 2026``, ``12th Nov 2026``, ``November 12, 2026``, ``2026-11-12``.
- the family reference: the first pseudonymous code ``F-`` and four digits,
  in the canonical form of ``vault.family``. OCR's near-misses are read as
  the code they spoil: a space inside the digits or after the hyphen
  (``F-005 1``, ``F- 0051``) and a dash in place of the hyphen (``F–0051``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from vault import family as families

# A reference token: letters, digits and / - . _, with at least one digit.
_REF = r"([A-Z0-9](?:[A-Z0-9/\-._]*[A-Z0-9])?)"
_LABEL_END = r"\s*(?:[:.#]|\bis\b)?\s*"

_CASE_LABELLED = re.compile(
    r"\bcase\s*(?:number|no\.?|ref(?:erence)?)" + _LABEL_END + _REF, re.IGNORECASE
)
_CASE_BARE = re.compile(r"\b[A-Z]{2}\d{2}[A-Z]\d{5}\b")
_REFERRAL_LABELLED = re.compile(
    r"\b(?:referral\s*(?:number|no\.?|ref(?:erence)?)|our\s*ref(?:erence)?\.?)" + _LABEL_END + _REF,
    re.IGNORECASE,
)
_REFERRAL_BARE = re.compile(r"\bREF-\d{4}-\d{3,6}\b", re.IGNORECASE)
_FAMILY = re.compile(r"(?<![\w-])F-(\d{4})(?![\w-])")
# One space inside the four digits, or after the hyphen; any dash for the hyphen.
_FAMILY_NEAR = re.compile(
    r"(?<![\w-])F[-\u2010-\u2015] ?(\d ?\d\d\d|\d\d ?\d\d|\d\d\d ?\d)(?! ?\d)(?![\w-])"
)

_MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for name in names
}
# Numeric dates must not be part of a longer run such as 1/12/2026/7 or 2026-11-12-3.
_NOT_AFTER = r"(?=\d)(?<!\d)(?<!\d[/.-])"  # the look ahead first: most places fail it fast
_NOT_BEFORE = r"(?!\d|[/.-]\d)"
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS: list[tuple[re.Pattern[str], tuple[str, str, str]]] = [
    (re.compile(_NOT_AFTER + r"(\d{4})-(\d{2})-(\d{2})" + _NOT_BEFORE), ("y", "m", "d")),
    (
        re.compile(_NOT_AFTER + r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})" + _NOT_BEFORE),
        ("d", "m", "y"),
    ),
    (
        re.compile(
            r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+(\d{4})\b",
            re.IGNORECASE,
        ),
        ("d", "M", "y"),
    ),
    (
        re.compile(
            # every month's name starts with one of these letters: other words fail at once
            r"\b(?=[adfjmnos])" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b",
            re.IGNORECASE,
        ),
        ("M", "d", "y"),
    ),
]


# Quick tests that rule a pattern out before it runs (a pattern scans the
# text position by position; these take a fraction of that): each finds what
# any match of its pattern must hold, so a text they rule out has no match.
# The words of the patterns that ignore case are looked for in the text
# folded: lower case, with the four characters other than A-Z that Python's
# re takes for an ASCII letter when ignoring case (dotted and dotless I, long
# s, the Kelvin sign) made that letter.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_CASE_BARE_HINT = re.compile(r"[A-Z]\d{5}")
_REFERRAL_HINT = re.compile(r"referral\s*(?:n|ref)|our\s*ref")  # in the folded text
_DATE_HINTS = (re.compile(r"\d-\d\d-\d\d"), re.compile(r"\d[/.-]\d{1,2}[/.-]\d{4}"))
_MONTH_STARTS = tuple(sorted({name[:3] for name in _MONTHS}))  # every name begins with one


def _folded(text: str) -> str:
    """``text`` as the quick tests above look at it."""
    return text.translate(_FOLD).lower()


def _has_digit(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _first_labelled(pattern: re.Pattern[str], text: str) -> str | None:
    for match in pattern.finditer(text):
        token = match.group(1)
        if _has_digit(token):
            return token
    return None


def case_number(text: str, folded: str | None = None) -> str | None:
    """``folded``: ``text`` folded (``_folded``), when the caller has it."""
    folded = _folded(text) if folded is None else folded
    labelled = _first_labelled(_CASE_LABELLED, text) if "case" in folded else None
    if labelled:
        return labelled
    bare = _CASE_BARE.search(text) if _CASE_BARE_HINT.search(text) else None
    return bare.group(0) if bare else None


def referral_number(text: str, folded: str | None = None) -> str | None:
    folded = _folded(text) if folded is None else folded
    labelled = None
    if _REFERRAL_HINT.search(folded):
        labelled = _first_labelled(_REFERRAL_LABELLED, text)
    if labelled:
        return labelled
    bare = _REFERRAL_BARE.search(text) if "ref-" in folded else None
    return bare.group(0) if bare else None


def dates(text: str, folded: str | None = None) -> list[str]:
    """Every valid date in ``text`` as ISO strings, in order, without repeats."""
    folded = _folded(text) if folded is None else folded
    numeric = [hint.search(text) is not None for hint in _DATE_HINTS]
    named = any(start in folded for start in _MONTH_STARTS)
    found: list[tuple[int, str]] = []
    for (pattern, order), possible in zip(_DATE_PATTERNS, [*numeric, named, named], strict=True):
        if not possible:
            continue
        for match in pattern.finditer(text):
            parts = dict(zip(order, match.groups(), strict=True))
            month = _MONTHS[_folded(parts["M"])] if "M" in parts else int(parts["m"])
            try:
                day = date(int(parts["y"]), month, int(parts["d"]))
            except ValueError:
                continue
            found.append((match.start(), day.isoformat()))
    ordered: list[str] = []
    for _, iso in sorted(found):
        if iso not in ordered:
            ordered.append(iso)
    return ordered


def family_reference(text: str) -> str | None:
    match = _FAMILY.search(text) or _FAMILY_NEAR.search(text)
    return families.parse("F-" + match.group(1).replace(" ", "")) if match else None


def extract_fields(text: str) -> dict[str, Any]:
    """The facts found in ``text``, keyed ``case_number``, ``referral_number``, ``dates``."""
    fields: dict[str, Any] = {}
    folded = _folded(text)
    if found := case_number(text, folded):
        fields["case_number"] = found
    if found := referral_number(text, folded):
        fields["referral_number"] = found
    if found_dates := dates(text, folded):
        fields["dates"] = found_dates
    return fields
