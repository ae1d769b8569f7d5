"""The text of an office document's XML part, streamed through defusedxml.

defusedxml refuses what makes XML hostile (entity expansion, "billion
laughs", external entities and DTDs that fetch files or URLs). The part is
read as a stream (``iterparse``): each paragraph is turned into a line of
text as soon as it is complete and then dropped, so a long document never
sits whole in memory, and the ``Deadline`` and ``TextBudget`` are checked as
it goes. What counts as a paragraph, a tab, a line break, text and what is
left out is each format's (``XmlText``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ingest.readers.common import Deadline, TextBudget
from vault.errors import UnreadableInputError

CHECK_EVERY = 2000  # parser events between looks at the deadline
MAX_SPACES = 100  # a run of spaces written as one element (ODF's text:s)


def tags(namespaces: Iterable[str], *names: str) -> frozenset[str]:
    """Each name in each namespace, as ElementTree writes them ({ns}name)."""
    return frozenset(f"{{{ns}}}{name}" for ns in namespaces for name in names)


@dataclass(frozen=True)
class XmlText:
    paragraphs: frozenset[str]  # each ends with a line break
    text: frozenset[str] | None  # only these elements' text counts; None: all character data
    tabs: frozenset[str] = frozenset()
    breaks: frozenset[str] = frozenset()
    spaces: frozenset[str] = frozenset()  # a run of spaces, its count in the attribute below
    space_count: str = ""
    skip: frozenset[str] = frozenset()  # left out with all they hold
    within: frozenset[str] | None = None  # only paragraphs inside these count


def stream_text(part: IO[bytes], spec: XmlText, deadline: Deadline, budget: TextBudget) -> str:
    """The text of the XML ``part``, a line a paragraph."""
    lines: list[str] = []
    stack: list[Element] = []
    skipping = inside = paragraphs = 0
    try:
        for count, (event, elem) in enumerate(iterparse(part, events=("start", "end"))):
            if count % CHECK_EVERY == 0:
                deadline.check()
            tag = elem.tag
            if event == "start":
                stack.append(elem)
                if tag in spec.skip:
                    skipping += 1
                if spec.within is not None and tag in spec.within:
                    inside += 1
                if tag in spec.paragraphs and not skipping and (spec.within is None or inside):
                    paragraphs += 1
                continue
            stack.pop()
            parent = stack[-1] if stack else None
            counted = not skipping and (spec.within is None or inside)
            if tag in spec.paragraphs and counted:
                paragraphs -= 1
                if paragraphs == 0:
                    lines.append(budget.take(_render(elem, spec)))
                    if parent is not None:
                        parent.remove(elem)
            if tag in spec.skip:
                skipping -= 1
                if not paragraphs and parent is not None:
                    parent.remove(elem)
            if spec.within is not None and tag in spec.within:
                inside -= 1
    except (ParseError, DefusedXmlException) as exc:
        raise UnreadableInputError(f"its XML is damaged or hostile ({type(exc).__name__})") from exc
    return "\n".join(lines)


def _render(paragraph: Element, spec: XmlText) -> str:
    """One paragraph's text (paragraphs nested in it, as in a text box, on lines
    of their own); iterative, so deep nesting cannot exhaust the stack."""
    out: list[str] = []
    mixed = spec.text is None
    todo: list[tuple[Element, bool]] = [(paragraph, False)]
    while todo:
        node, closing = todo.pop()
        if closing:
            if node is not paragraph:
                if node.tag in spec.paragraphs:
                    out.append("\n")
                if mixed and node.tail:
                    out.append(node.tail)
            continue
        tag = node.tag
        if tag in spec.skip:
            if mixed and node.tail and node is not paragraph:
                out.append(node.tail)
            continue
        if tag in spec.paragraphs and node is not paragraph:
            out.append("\n")
        elif tag in spec.tabs:
            out.append("\t")
        elif tag in spec.breaks:
            out.append("\n")
        elif tag in spec.spaces:
            out.append(" " * _count(node.get(spec.space_count)))
        if node.text and (mixed or (spec.text is not None and tag in spec.text)):
            out.append(node.text)
        todo.append((node, True))
        todo.extend((child, False) for child in reversed(node))
    return "".join(out).rstrip("\n")


def _count(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), MAX_SPACES))
    except ValueError:
        return 1
