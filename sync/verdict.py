"""The few lines at the top of the committee report: is all well, at a glance.

Kept apart so that the vault's checkup can give its own one-line verdict
here without touching the report's layout: ``verdict_lines`` returns the
lines, most important first, ``ok`` says whether they are good news, and
``colour`` is the verdict a committee reads in a second (the report draws
the box in it):

- green: nothing to do;
- amber: something to do before the next meeting (a warning of the status,
  or of the policy checklist);
- red: act now (a problem in the policy checklist: an unencrypted disk, no
  backup away from the computer, damaged files not mended, readable files in
  the vault folder).

Without a checklist (``sync.checkup``) the verdict is green or amber from
the status alone, as it always was.

The rule they follow: never "all well" while there is a warning, and never
more than the checks have shown (a check of sizes says nothing of contents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync.status import Status
from vault.clock import shown

if TYPE_CHECKING:
    from sync.checkup.checklist import Checklist

GREEN, AMBER, RED = "green", "amber", "red"
HEADLINES = {
    GREEN: "Green: nothing to do.",
    AMBER: "Amber: something to do before the next meeting.",
    RED: "Red: act now.",
}
# The checks whose facts the status's warnings already give (in "Warnings and
# what to ask"): not repeated among the verdict's reasons.
_SAID_BY_WARNINGS = ("backups-current", "keys")


SHOWN_REASONS = 4  # the report's verdict box: the most urgent, then "and N more"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    lines: list[str]
    colour: str = GREEN

    def brief(self) -> list[str]:
        """The headline and the most urgent reasons, for a box read in a
        second; the rest are counted (each is in its section below)."""
        head, reasons = self.lines[:1], self.lines[1:]
        if len(reasons) <= SHOWN_REASONS:
            return self.lines
        more = len(reasons) - SHOWN_REASONS + 1
        return [
            *head,
            *reasons[: SHOWN_REASONS - 1],
            f"And {more} more: see the warnings and the policy checklist below.",
        ]


def breach_reasons(status: Status) -> list[str]:
    """The open data breaches as one verdict reason: red when one is past the
    72 hours the ICO allows, amber while all are within them."""
    count, overdue = status.incidents_open, status.incidents_overdue
    if not count:
        return []
    which = "A data breach is" if count == 1 else f"{count} data breaches are"
    if overdue:
        past = "" if overdue == count else f" ({overdue} past the 72 hours to report to the ICO)"
        late = " past the 72 hours to report to the ICO" if overdue == count else " open"
        return [
            f"Data breaches: {which}{late}{past}. "
            "Ask the coordinator to decide and record whether each is reportable, today."
        ]
    return [
        f"Data breaches: {which} open, within the 72 hours to report to the ICO. "
        "Ask the coordinator when the decision will be made."
    ]


def expected_reasons(status: Status) -> list[str]:
    """The overdue expected post as one verdict reason (amber): to chase
    before the next meeting, and perhaps a breach to record."""
    overdue = status.expected_overdue
    if not overdue:
        return []
    which = "A document" if overdue == 1 else f"{overdue} documents"
    verb = "is" if overdue == 1 else "are"
    return [
        f"Expected post: {which} expected by post {verb} overdue. Ask the coordinator "
        "whether each sender has been contacted and a copy asked for."
    ]


def verdict_lines(status: Status, checklist: Checklist | None = None) -> Verdict:
    if checklist is not None:
        return _with_checklist(status, checklist)
    first = breach_reasons(status) + expected_reasons(status)
    count = len(status.alerts) + len(first)
    if count:
        things = "thing needs" if count == 1 else "things need"
        lines = [f'{count} {things} attention: see "Warnings and what to ask" below.']
        lines.append(first[0] if first else status.alerts[0].for_committee())
        return Verdict(False, lines, RED if status.incidents_overdue else AMBER)
    lines = ["No warnings."]
    lines.extend(_last_backup(status))
    return Verdict(True, lines, GREEN)


def _last_backup(status: Status) -> list[str]:
    last = max((r.last_sync for r in status.remotes if r.last_sync), default=None)
    if last:
        return [f"Last backup {shown(last)}. No missing or damaged file is known of."]
    return []


def reasons(status: Status, checklist: Checklist) -> list[str]:
    """Why the verdict is not green, in plain words, the most urgent first:
    open data breaches, the checklist's problems, then the status's
    warnings, then the checklist's other warnings (one line each, none
    twice), with overdue expected post after the breaches. A breach past the
    ICO's 72 hours makes the verdict red."""
    found: list[str] = breach_reasons(status) + expected_reasons(status)
    asked: set[str] = set()

    def add(title: str, fact: str, ask: str) -> None:
        if ask and ask in asked:
            return
        asked.add(ask)
        found.append(f"{title}: {first_sentence(fact)} {ask}.".replace(". .", "."))

    for check in checklist.problems:
        add(check.title, check.found, check.ask)
    found.extend(alert.for_committee() for alert in status.alerts)
    for check in checklist.warnings:
        if check.name not in _SAID_BY_WARNINGS or not status.alerts:
            add(check.title, check.found, check.ask)
    return found


def _with_checklist(status: Status, checklist: Checklist) -> Verdict:
    why = reasons(status, checklist)
    colour = RED if checklist.problems or status.incidents_overdue else AMBER if why else GREEN
    if colour == GREEN:
        lines = [HEADLINES[GREEN] + " The computer and the backups meet the policy checklist."]
        lines.extend(_last_backup(status))
        return Verdict(True, lines, GREEN)
    count = len(why)
    things = "thing needs" if count == 1 else "things need"
    head = f"{HEADLINES[colour]} {count} {things} attention:"
    return Verdict(False, [head, *why], colour)


def first_sentence(text: str) -> str:
    matched = re.match(r"(.+?\.)(\s|$)", text)
    return matched.group(1) if matched else text
