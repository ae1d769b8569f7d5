"""Family references: the one pseudonymous form a family is known by.

A family reference is ``F-`` and digits, shown with at least four digits:
``F-0042``. Typed forms are forgiving about case, the hyphen and leading
zeros (``f42``, ``F42``, ``F-42``, ``F-0042`` are the same family), and
anything else, a surname above all, is refused: the reference reaches
minutes and reports that must not name anyone.

Vaults written before this rule may hold references in another spelling
(``f51``): ``key`` and ``display`` read those as the family they name, and a
stored value that is no reference at all is shown as it is, never rewritten.
"""

from __future__ import annotations

import re

from vault.errors import UsageError

FORM = "F- and digits, e.g. F-0042"
_TYPED = re.compile(r"\s*[Ff]\s*[-\u2010-\u2015]?\s*(\d{1,9})\s*")


def parse(text: str) -> str | None:
    """The canonical reference of ``text`` (``F-0042``), or None if it is none."""
    match = _TYPED.fullmatch(text)
    if match is None:
        return None
    return f"F-{int(match.group(1)):04d}"


def normalise(text: str, option: str = "--family") -> str:
    """The canonical form of a reference given by a user; refuse anything else."""
    found = parse(text)
    if found is None:
        raise UsageError(
            f"{option}: a family reference is {FORM}, not a name or other text",
            hint="families are known by a pseudonymous reference such as F-0042; "
            "f42, F42 and F-42 are accepted and mean F-0042",
        )
    return found


def display(stored: str | None) -> str | None:
    """A stored reference as shown and compared: canonical when it is one."""
    if stored is None:
        return None
    return parse(stored) or stored
