"""Document types from keyword rules: referral, court order, letter, other.

A rule set maps each type to phrases that suggest it. A document gets the
type whose phrases it contains most (distinct phrases, case-insensitive,
whole words, any run of spaces and line breaks matching a space, so OCR line
wrapping does not matter); a tie goes to the type listed first; no match
gives ``other``. The vault's ``config.json`` may set ``"rules"``: each type it
names replaces the default list for that type (an empty list switches the
type off), new types are added after the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from vault.errors import UsageError

CONFIG_KEY = "rules"
FALLBACK = "other"

# Tuned for UK family-court and children's-services post to a contact centre.
DEFAULT_RULES: dict[str, tuple[str, ...]] = {
    "court-order": (
        "IN THE FAMILY COURT",
        "IN THE HIGH COURT OF JUSTICE",
        "FAMILY DIVISION",
        "CHILD ARRANGEMENTS ORDER",
        "PROHIBITED STEPS ORDER",
        "SPECIFIC ISSUE ORDER",
        "NON-MOLESTATION ORDER",
        "SPECIAL GUARDIANSHIP ORDER",
        "CARE ORDER",
        "SUPERVISION ORDER",
        "THE CHILDREN ACT 1989",
        "FAMILY LAW ACT 1996",
        "ORDER MADE BY",
        "IT IS ORDERED THAT",
        "THE COURT ORDERS THAT",
        "BEFORE DISTRICT JUDGE",
        "BEFORE HIS HONOUR JUDGE",
        "BEFORE HER HONOUR JUDGE",
        "BEFORE THE JUSTICES",
        "WARNING: IF YOU DO NOT COMPLY WITH THIS ORDER",
        "SEALED",
    ),
    "referral": (
        "REFERRAL FORM",
        "REFERRAL NUMBER",
        "REFERRAL FOR SUPERVISED CONTACT",
        "REFERRAL FOR SUPPORTED CONTACT",
        "REASON FOR REFERRAL",
        "REASONS FOR REFERRAL",
        "REFERRING AGENCY",
        "REFERRER",
        "REFERRED BY",
        "SELF-REFERRAL",
        "SUPERVISED CONTACT",
        "SUPPORTED CONTACT",
        "HANDOVER",
        "RISK ASSESSMENT",
        "CHILDREN'S SERVICES",
        "SOCIAL WORKER",
        "CAFCASS",
    ),
    "letter": (
        "DEAR",
        "YOURS SINCERELY",
        "YOURS FAITHFULLY",
        "KIND REGARDS",
        "BEST WISHES",
        "OUR REF",
        "OUR REFERENCE",
        "YOUR REF",
        "YOUR REFERENCE",
    ),
}


@dataclass(frozen=True)
class Rules:
    """Types in order of precedence, each with its phrases."""

    types: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def default(cls) -> Rules:
        return cls(tuple(DEFAULT_RULES.items()))

    def names(self) -> list[str]:
        return [name for name, _ in self.types]


def load_rules(config: Mapping[str, object]) -> Rules:
    """The default rules with the ``rules`` setting of ``config.json`` applied."""
    custom = config.get(CONFIG_KEY)
    if custom is None:
        return Rules.default()
    if not isinstance(custom, dict) or not all(
        isinstance(name, str)
        and name.strip()
        and isinstance(phrases, list)
        and all(isinstance(p, str) and p.strip() for p in phrases)
        for name, phrases in custom.items()
    ):
        raise UsageError(
            f"the '{CONFIG_KEY}' setting in config.json is malformed",
            hint="it maps each document type to a list of phrases, "
            'e.g. {"referral": ["REFERRAL FORM"]}',
        )
    merged = dict(DEFAULT_RULES)
    for name, phrases in custom.items():
        merged[name] = tuple(phrases)
    return Rules(tuple(merged.items()))


@lru_cache(maxsize=512)
def _pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=512)
def _needle(phrase: str) -> str | None:
    """What an ASCII text must contain, lower-cased and with each run of spaces
    made one, for ``phrase`` to match (None: a phrase beyond ASCII is always
    tried with its pattern, whose case-insensitive match goes beyond ``lower``)."""
    return " ".join(phrase.split()).lower() if phrase.isascii() else None


def _folded(text: str) -> str | None:
    """``text`` as ``_needle`` compares it, or None when it is not ASCII."""
    return " ".join(text.split()).lower() if text.isascii() else None


def _occurs(phrase: str, text: str, folded: str | None) -> bool:
    if folded is not None:
        needle = _needle(phrase)
        if needle is not None and needle not in folded:
            return False  # cannot match: the pattern is not run
    return _pattern(phrase).search(text) is not None


def score(text: str, phrases: tuple[str, ...], *, folded: str | None = None) -> int:
    """How many of ``phrases`` occur in ``text`` (``folded``: ``_folded(text)``,
    when the caller has it)."""
    if folded is None:
        folded = _folded(text)
    return sum(1 for phrase in phrases if _occurs(phrase, text, folded))


def classify(text: str, rules: Rules) -> str:
    """The document type the rules give ``text`` (``other`` if none matches)."""
    folded = _folded(text)  # once for every phrase: most are then ruled out by a substring test
    best, best_score = FALLBACK, 0
    for name, phrases in rules.types:
        found = score(text, phrases, folded=folded)
        if found > best_score:
            best, best_score = name, found
    return best
