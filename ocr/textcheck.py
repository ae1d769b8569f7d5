"""Deciding whether text taken from a PDF is real words or font garbage.

A PDF font without a Unicode map yields glyph codes, not letters: control
characters, symbols, or letter salad. Such a page must be OCR'd like a scan.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_VOWELS = frozenset("aeiouyàáâãäåąæèéêëęìíîïòóôõöøœùúûüůýÿ")
_CONSONANT_RUN = re.compile(r"[^aeiouyàáâãäåąæèéêëęìíîïòóôõöøœùúûüůýÿ\W\d_]{6,}")
_EDGE_PUNCTUATION = "\"'“”‘’«»()[]{}<>.,;:!?-–—/*&%£$€#@"

MIN_REAL_SHARE = 0.6  # of non-blank characters that must sit in plausible words
MIN_REAL_WORDS = 3
# Vowels are 35-45% of the letters of English, Polish, German, French...; and
# about half of their letter pairs are common ones. Letter salad from a font
# whose codes were shifted falls outside one or the other.
VOWEL_SHARE = (0.25, 0.65)
MIN_COMMON_PAIR_SHARE = 0.4
MIN_LETTERS_FOR_STATISTICS = 40
_COMMON_PAIRS = frozenset(
    re.findall(
        r"[a-z]{2}",
        "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io"
        " le ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns ge ly ei"
        " ie ni na ow ki ze sz cz rz wa ia po pr dz ka au un ai qu us ad ac ec em ol il wi"
        " ot ct ss ee oo rt ry ay ho wh wo fo fi da di do mi mo pa pe pl sc sh so su tr tu",
    )
)


def _plausible_word(word: str) -> bool:
    if word.isdigit():
        return True
    lower = word.lower()
    if not (word.islower() or word.isupper() or word.istitle()):
        return False
    if _CONSONANT_RUN.search(lower):
        return False
    return len(word) <= 3 or any(ch in _VOWELS for ch in lower)


@lru_cache(maxsize=8192)  # words recur: a page of a letter has many of them twice
def _plausible_token(token: str) -> bool:
    """A token such as ``Przybylski,`` or ``NT26P00412`` or ``10:00``."""
    core = token.strip(_EDGE_PUNCTUATION)
    if not core or len(core) > 30:
        return False
    pieces = _WORD.findall(core)
    if not pieces or sum(map(len, pieces)) < len(core) * 0.7:
        return False
    letters = [p for p in pieces if not p.isdigit()]
    if any(p.isdigit() for p in pieces) and letters:
        return all(p.isupper() or len(p) <= 2 for p in letters)  # references: NT26P00412
    return all(_plausible_word(p) for p in pieces)


def is_real_text(text: str) -> bool:
    """True when most of ``text`` is made of plausible words (any Latin language)."""
    tokens = _TOKEN.findall(text)
    total = sum(map(len, tokens))
    if total == 0:
        return False
    needed = MIN_REAL_SHARE * total
    words, characters = 0, 0
    for token in tokens:  # until enough are seen to be plausible
        if _plausible_token(token):
            words += 1
            characters += len(token)
            if words >= MIN_REAL_WORDS and characters >= needed:
                return _letters_look_like_language(text)
    return False


def _letters_look_like_language(text: str) -> bool:
    folded = unicodedata.normalize("NFKD", text.lower())
    runs = re.findall(r"[a-z]+", folded)
    letters = sum(map(len, runs))
    if letters < MIN_LETTERS_FOR_STATISTICS:
        return True
    vowels = sum(ch in _VOWELS for run in runs for ch in run)
    if not VOWEL_SHARE[0] <= vowels / letters <= VOWEL_SHARE[1]:
        return False
    pairs = [run[i : i + 2] for run in runs for i in range(len(run) - 1)]
    common = sum(pair in _COMMON_PAIRS for pair in pairs)
    return not pairs or common / len(pairs) >= MIN_COMMON_PAIR_SHARE
