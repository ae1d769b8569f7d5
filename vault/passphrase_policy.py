"""The centre's passphrase policy: long enough, and hard enough to guess.

Three rules, checked in this order, each named when it refuses:

1. at least 8 characters;
2. not a common password, nor a common word with digits or symbols stuck on
   (``vault/data/common-passwords.txt``);
3. hard enough to guess: an estimate of its strength, in bits, of at least
   ``MIN_BITS``.

The estimate cuts the passphrase into runs of letters, digits and other
characters and adds up what each run is worth to someone guessing: a run of
letters is counted as a word (what a guesser would try first), so four
ordinary words ("correct horse battery staple") pass, as do two words and a
number ("tulip7river9"); a common word, a repeated run, a sequence (``abcd``,
``1234``, ``qwerty``), a year or one character over and over count for little,
so "password123", "aaaaaaaaaaaa" and "Summer2026" fail. ``RULES`` is the text
shown before the passphrase is asked for. A refused passphrase raises
``WeakPassphraseError`` naming the rule it broke; the passphrase itself is
never echoed.
"""

from __future__ import annotations

import math
import re
from functools import cache
from importlib import resources

from vault.errors import WeakPassphraseError

MIN_LENGTH = 8
MIN_BITS = 36.0

RULES = (
    "Choose a passphrase that you can remember and nobody can guess:\n"
    f"  - at least {MIN_LENGTH} characters; longer is better;\n"
    "  - four or more ordinary words, with spaces, are good: e.g. 'tulip river kettle drum';\n"
    "  - a shorter one needs a mix: two words and a number ('tulip7river9'), or\n"
    "    upper case, lower case and digits;\n"
    "  - common passwords ('Password1', 'Welcome2026!'), repeats ('aaaa') and\n"
    "    sequences ('abcd', '1234') are refused."
)
_HINT = "use four or more ordinary words with spaces, e.g. 'tulip river kettle drum'"

_LETTER_BITS = math.log2(26)
_DIGIT_BITS = math.log2(10)
_SYMBOL_BITS = 5.0  # about 32 punctuation characters
_WORD_BASE_BITS = 12.0  # a word of n letters: about 12 + n bits (the larger the rarer)
_COMMON_BITS = 8.0  # a common password word: among the first few hundred guesses
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
)


@cache
def _common() -> tuple[frozenset[str], frozenset[str]]:
    text = resources.files("vault").joinpath("data/common-passwords.txt").read_text("utf-8")
    exact: set[str] = set()
    bases: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            bases.add(line[1:].lower())
        else:
            exact.add(line.lower())
    return frozenset(exact), frozenset(bases)


def check_passphrase(passphrase: str) -> None:
    """Raise ``WeakPassphraseError`` if ``passphrase`` breaks the policy."""
    if len(passphrase) < MIN_LENGTH:
        raise WeakPassphraseError(
            f"passphrase refused: it must be at least {MIN_LENGTH} characters long", hint=_HINT
        )
    exact, bases = _common()
    lowered = passphrase.lower()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    if lowered in exact or core in bases or lowered in bases:
        raise WeakPassphraseError(
            "passphrase refused: it is on the list of common passwords", hint=_HINT
        )
    if strength_bits(passphrase) < MIN_BITS:
        raise WeakPassphraseError(
            "passphrase refused: it is too easy to guess (too few words, or repeats, "
            "sequences or a year)",
            hint=_HINT,
        )


def strength_bits(passphrase: str) -> float:
    """An estimate of how hard ``passphrase`` is to guess, in bits."""
    _, bases = _common()
    seen: set[str] = set()
    total = 0.0
    for run in re.findall(r"[^\W\d_]+|\d+|[\W_]+", passphrase):
        lowered = run.lower()
        if lowered in seen:
            total += 1.0  # the same run again
            continue
        seen.add(lowered)
        if run[0].isdigit():
            total += _digits_bits(run)
        elif run[0].isalpha():
            total += _letters_bits(run, common=lowered in bases)
        else:
            total += _separator_bits(run)
    return total


def _letters_bits(run: str, *, common: bool) -> float:
    lowered = run.lower()
    if _is_trivial(lowered):
        bits = 2.0
    elif common:
        bits = _COMMON_BITS
    else:
        bits = min(len(run) * _LETTER_BITS, _WORD_BASE_BITS + len(run))
    if (run.isupper() and len(run) > 1) or (run[0].isupper() and run[1:].islower()):
        bits += 1.0  # all capitals, or a capital first: tried early
    elif not run.islower():
        bits += len(run)  # capitals here and there
    return bits


def _digits_bits(run: str) -> float:
    if _is_trivial(run):
        return 2.0
    if len(run) == 4 and run[:2] in ("19", "20"):
        return 7.0  # a year
    return len(run) * _DIGIT_BITS


def _separator_bits(run: str) -> float:
    if set(run) <= {" "}:
        return 0.0  # the space between words is the first thing tried
    if len(set(run)) == 1:
        return _SYMBOL_BITS
    return min(len(run), 3) * _SYMBOL_BITS


def _is_trivial(run: str) -> bool:
    """One character over and over, a short pattern repeated, or a sequence."""
    if len(run) < 3:
        return False
    for size in range(1, len(run) // 2 + 1):
        if len(run) % size == 0 and run[:size] * (len(run) // size) == run:
            return True
    return any(run in seq or run in seq[::-1] for seq in _SEQUENCES)
