"""Reading the vault's append-only JSON-lines files (journal, audit log).

Appends write a whole line or nothing (``fsutil.append_line``), but a file
written by an older version, or torn by a power cut, may hold a fragment of a
line, with the next record glued onto it. Reading never drops a complete
record for that: every ``{`` that starts a whole JSON object accepted by the
caller is a record, and whatever lies between records is counted as damage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_DECODER = json.JSONDecoder()


@dataclass
class Lines:
    """The records of a JSON-lines file, and its damaged lines (text that is
    not, or not only, whole records)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)


def parse_line(line: str, accept: Callable[[Any], bool], found: Lines) -> None:
    """Add the records of one line to ``found`` (see the module's docstring).

    A last line without its line end is a write a crash cut short (the next
    append cuts it off): its whole records count, the rest is no damage.
    """
    torn = not line.endswith("\n")
    text = line.strip()
    if not text:
        return
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if whole is not None and accept(whole):
        found.records.append(whole)
        return
    pos, junk = 0, False
    while pos < len(text):
        start = text.find("{", pos)
        if start < 0:
            junk = True
            break
        junk = junk or bool(text[pos:start].strip())
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            junk, pos = True, start + 1
            continue
        if accept(value):
            found.records.append(value)
        else:
            junk = True
        pos = end
    if junk and not torn:
        found.damaged.append(text)


def parse(text: str, accept: Callable[[Any], bool]) -> Lines:
    found = Lines()
    lines = text.split("\n")
    for line in lines[:-1]:
        parse_line(line + "\n", accept, found)
    if lines[-1]:
        parse_line(lines[-1], accept, found)
    return found
