"""The centre's passphrase policy.

At least 8 characters; at least two of upper case, lower case and digits; not
a common password, nor a common word with digits or symbols stuck on. A refused
passphrase raises ``WeakPassphraseError`` naming the rule it broke (the
passphrase itself is never echoed).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from vault.errors import WeakPassphraseError

MIN_LENGTH = 8
_HINT = (
    "choose at least 8 characters mixing upper case, lower case and digits,"
    " e.g. three unrelated words and a number"
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
    classes = sum(
        bool(re.search(pattern, passphrase)) for pattern in (r"[A-Z]", r"[a-z]", r"[0-9]")
    )
    if classes < 2:
        raise WeakPassphraseError(
            "passphrase refused: it must contain at least two of upper case letters, "
            "lower case letters and digits",
            hint=_HINT,
        )
    exact, bases = _common()
    lowered = passphrase.lower()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    if lowered in exact or core in bases or lowered in bases:
        raise WeakPassphraseError(
            "passphrase refused: it is on the list of common passwords", hint=_HINT
        )
