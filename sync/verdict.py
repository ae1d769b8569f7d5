"""The few lines at the top of the committee report: is all well, at a glance.

Kept apart so that the vault's checkup can give its own one-line verdict
here without touching the report's layout: ``verdict_lines`` returns the
lines, most important first, and ``ok`` says whether they are good news
(the report draws them in a green or an amber box).

The rule they follow: never "all well" while there is a warning, and never
more than the checks have shown (a check of sizes says nothing of contents).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.status import Status
from vault.clock import shown


@dataclass(frozen=True)
class Verdict:
    ok: bool
    lines: list[str]


def verdict_lines(status: Status) -> Verdict:
    count = len(status.alerts)
    if count:
        things = "thing needs" if count == 1 else "things need"
        lines = [f'{count} {things} attention: see "Warnings and what to ask" below.']
        lines.append(status.alerts[0].for_committee())
        return Verdict(False, lines)
    lines = ["No warnings."]
    last = max((r.last_sync for r in status.remotes if r.last_sync), default=None)
    if last:
        lines.append(f"Last backup {shown(last)}. No missing or damaged file is known of.")
    return Verdict(True, lines)
