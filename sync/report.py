"""``vault report``: a one-page backup report for the management committee.

Plain English, the facts of ``vault status``, in this order: the verdict at
the top (``verdict.py``: green, amber or red, with its reasons), the
warnings worded as what to ask the coordinator (never a command), the
figures for the minutes (the one document count, the vault's state code and
number: a rollback of the vault shows against the last meeting's), each
backup's last run and what waits to go, the checks called what they are
(``wording.py``), every use of the emergency key since the committee last
acknowledged them, with its recorded reason, the expected post (how many
are awaited, the overdue ones by type and by how many days, what was
received, cancelled or lost since the last report), the data breaches (each open
one with its deadline to report it to the ICO and the time left or overdue,
each closed since the last report with its decision), the passphrase's age,
and the keys that open the vault (``key_check.py``: each label, its age, the
day it was last used, the last key rotation). Times are local, with the
zone.

Given the policy checklist (``sync.checkup``), the report ends with it, on a
page of its own in the PDF: each check's state, the policy's words, what was
found and what to ask.

Charts only when they can say something: once the vault is a week old, a
strip of the days (up to the last 90) with and without a backup, summed up
in words, and the number of documents held, drawn only when it changed.

PDF (drawn with fpdf2: text, lines and filled rectangles) or HTML (inline
SVG), chosen by the file's suffix. Made without the key, so it cannot
contain a name, a document's text or a file name; the file is written 0600,
and like an export it never replaces an existing file without ``force``
(``vault.outfile``).
"""

from __future__ import annotations

import html
import itertools
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF

from sync import wording
from sync.key_check import UNVERIFIED_KEYS, key_line, level_line, rotation_line
from sync.status import Status, expected_lines, incident_lines, retention_line
from sync.verdict import Verdict, verdict_lines
from vault import clock
from vault.display import escaped
from vault.errors import UsageError
from vault.outfile import check_destination, place, work_file

if TYPE_CHECKING:
    from sync.checkup.checklist import Checklist

CHART_DAYS = 90  # at most
MIN_CHART_DAYS = 7  # a younger vault gets no chart: it would say nothing

UNVERIFIED = (
    "unverified: the report was made without the passphrase, which alone can check "
    "that these figures were written by the vault"
)


@dataclass(frozen=True)
class Day:
    day: date  # a local calendar day
    backups: int
    documents: int


def chart_days(status: Status, today: date | None = None) -> list[Day]:
    """Each local day from the vault's creation (at most the last 90) to today:
    successful backups (all remotes) and documents held. Empty when the vault
    is younger than a week."""
    today = today or clock.local_date(clock.now())
    backups: dict[str, int] = {}
    documents: dict[str, int] = {}
    for remote in status.remotes:
        for day, entry in remote.daily.items():
            backups[day] = backups.get(day, 0) + int(entry.get("syncs", 0))
            documents[day] = max(documents.get(day, 0), int(entry.get("documents", 0)))
    created = clock.parse(status.created)
    first = clock.local_date(created) if created else None
    if first is None and documents:
        first = date.fromisoformat(min(documents))
    if first is None or (today - first).days + 1 < MIN_CHART_DAYS:
        return []
    start = max(first, today - timedelta(days=CHART_DAYS - 1))
    known = [d for d in sorted(documents) if d < start.isoformat()]
    carried = documents[known[-1]] if known else 0
    days = []
    for n in range((today - start).days + 1):
        when = start + timedelta(days=n)
        key = when.isoformat()
        carried = documents.get(key, carried)
        if when == today:
            carried = status.documents
        days.append(Day(when, backups.get(key, 0), carried))
    return days


def backups_summary(days: list[Day]) -> str:
    """The strip of days in words: how many had a backup, and the longest gap."""
    done = sum(1 for d in days if d.backups)
    line = f"Backed up on {done} of the last {len(days)} days"
    gap = best = 0
    best_end: date | None = None
    for d in days:
        gap = 0 if d.backups else gap + 1
        if gap > best:
            best, best_end = gap, d.day
    if best and best_end is not None:
        begin = best_end - timedelta(days=best - 1)
        span = clock.shown_day(begin)
        if best > 1:
            span += f" to {clock.shown_day(best_end)}"
        line += f"; the longest time without one: {best} day{'s' if best > 1 else ''} ({span})"
    return line + "."


def documents_summary(days: list[Day]) -> str | None:
    """The documents held over the days, in words; None if it never changed."""
    counts = [d.documents for d in days]
    if not counts or min(counts) == max(counts):
        return None
    return (
        f"Documents held: {days[0].documents} on {clock.shown_day(days[0].day)}, "
        f"{days[-1].documents} on {clock.shown_day(days[-1].day)}."
    )


def report_lines(status: Status) -> list[tuple[str, list[str]]]:
    """The report's sections under the verdict, as (heading, plain-English lines)."""
    sections: list[tuple[str, list[str]]] = []
    if status.alerts:
        sections.append(
            ("Warnings and what to ask", [alert.for_committee() for alert in status.alerts])
        )
    minutes = [wording.documents_line(status)]
    state = wording.state_line(status)
    if state is not None:
        minutes.append(state[:-1] + ("." if status.head_verified else f"; {UNVERIFIED}."))
        minutes.append(
            "Write the number of documents, the state code and its number in the minutes. "
            "The number should only ever go up from one meeting to the next: a lower one "
            "means the vault was rolled back."
        )
    if status.documents_untrusted:
        minutes.append(
            f"Not counted: {status.documents_untrusted} journal entries not signed by this "
            "vault's signing key (untrusted; they will be set aside)."
        )
    minutes.append(f"Last document stored: {clock.shown(status.last_ingest)}.")
    sections.append(("For the minutes", minutes))
    backups = [wording.backup_line(remote) for remote in status.remotes]
    sections.append(("Backups", backups or ["No backup is set up."]))
    checks = [wording.here_check_line(status)]
    for remote in status.remotes:
        checks.extend(wording.remote_check_lines(remote))
    sections.append(("Checks", checks))
    since = (
        f"since the committee last acknowledged its uses ({clock.shown(status.emergency_since)})"
        if status.emergency_since
        else "since the vault was made"
    )
    if status.emergency_uses:
        uses = len(status.emergency_uses)
        emergency = [f"Used {uses} time{'' if uses == 1 else 's'} {since}:"] + [
            f"{clock.shown(use['time'])}: reason given: {escaped(use['reason']) or '(none)'}"
            for use in status.emergency_uses
        ]
    else:
        emergency = [f"Not used {since}."]
    sections.append(("Emergency key", emergency))
    sections.append(("Expected post", expected_lines(status)))
    sections.append(("Data breaches", breach_lines(status)))
    passphrase = f"Last changed {clock.shown(status.passphrase_changed)}" + (
        f" ({status.passphrase_age_days} days ago)."
        if status.passphrase_age_days is not None
        else "."
    )
    sections.append(("Passphrase", [passphrase]))
    keys = [key_line(k) for k in status.keys] + [rotation_line(status.last_rotation)]
    if not status.keys_verified:
        keys.insert(0, f"This list is {UNVERIFIED_KEYS}.")
    sections.append(("Keys that open the vault", keys))
    if any(level.keys or level.documents for level in status.levels[1:]):
        sections.append(("Access levels", [level_line(level) for level in status.levels]))
    sections.append(("Records kept", [retention_line(status.retention_due)]))
    return sections


def breach_lines(status: Status) -> list[str]:
    """Every open breach with its ICO deadline and the time left or overdue, then
    each closed since the last report with its decision. No notes or reasons:
    they are encrypted, and this report is made without the key."""
    since = (
        f"since the last report ({clock.shown(status.last_report)})"
        if status.last_report
        else "since the vault was made"
    )
    closed = len(status.incidents) - status.incidents_open
    summary = (
        f"Open: {status.incidents_open}"
        + (
            f" ({status.incidents_overdue} past the 72 hours to report to the ICO)"
            if status.incidents_overdue
            else ""
        )
        + f". Closed {since}: {closed}."
    )
    lines = [summary, *incident_lines(status)]
    if status.incidents_overdue:
        lines.append(
            "Ask the coordinator whether each breach past its deadline was reported to the "
            "ICO, and to record the decision in the vault."
        )
    return lines


def check_report_path(out: Path, *, force: bool = False) -> None:
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise UsageError(f"cannot tell the report type from {out.name}", hint="use .pdf or .html")
    check_destination(out, force=force)


def write_report(
    status: Status,
    out: Path,
    today: date | None = None,
    *,
    force: bool = False,
    tmp: Path | None = None,
    checklist: Checklist | None = None,
) -> None:
    """Write the report to ``out`` (made in ``tmp``, the vault's own, if given);
    with ``checklist`` (``sync.checkup``), its verdict weighs the checklist too
    and the report ends with it."""
    check_report_path(out, force=force)
    days = chart_days(status, today)
    verdict = verdict_lines(status, checklist)
    if out.suffix.lower() == ".pdf":
        data = _pdf(status, verdict, days, checklist)
    else:
        data = _html(status, verdict, days, checklist).encode()
    with work_file(tmp, out) as made:
        with open(made, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        place(made, out, force=force)


def report_bytes(
    status: Status,
    kind: str,
    today: date | None = None,
    *,
    checklist: Checklist | None = None,
) -> bytes:
    """The report as ``kind`` ("pdf" or "html") in memory, as ``write_report``
    writes it (the web page hands it to the browser; it holds no personal data)."""
    days = chart_days(status, today)
    verdict = verdict_lines(status, checklist)
    if kind == "pdf":
        return _pdf(status, verdict, days, checklist)
    return _html(status, verdict, days, checklist).encode()


def report_charts(status: Status, today: date | None = None) -> list[tuple[str, str, str]]:
    """The report's charts as (heading, summary, SVG), none while the vault is new."""
    days = chart_days(status, today)
    if not days:
        return []
    charts = [("Daily backups", backups_summary(days), _svg_strip(days))]
    summary = documents_summary(days)
    if summary is not None:
        charts.append(("Documents held", summary, _svg_documents(days)))
    return charts


def _title(status: Status) -> str:
    centre = f" - {escaped(status.centre_name)}" if status.centre_name else ""
    return f"Backup status report{centre}"


def _made(status: Status) -> str:
    made = clock.shown(status.generated)
    return f"Vault ID {status.vault_id}; this report was made {made} (times are local)."


# --- PDF ---------------------------------------------------------------------------

GREEN = (226, 240, 217)
AMBER = (252, 229, 205)
RED = (244, 199, 195)
FILLS = {"green": GREEN, "amber": AMBER, "red": RED}
BAR = (46, 110, 158)
EMPTY = (222, 222, 222)


def _latin1(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _pdf(
    status: Status, verdict: Verdict, days: list[Day], checklist: Checklist | None = None
) -> bytes:
    pdf = FPDF(format="A4")
    # A second page only when the text does not fit on one (many data
    # breaches listed); the charts below are drawn only where there is room.
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_margins(15, 12, 15)
    pdf.add_page()
    pdf.set_creator("centre vault")
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 8, _latin1(_title(status)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 5, _latin1(_made(status)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_fill_color(*FILLS.get(verdict.colour, AMBER))
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(
        0, 5.5, _latin1(verdict.lines[0]), fill=True, new_x="LMARGIN", new_y="NEXT", padding=(1, 2)
    )
    pdf.set_font("Helvetica", "", 9.5)
    for line in verdict.brief()[1:]:
        pdf.multi_cell(
            0, 4.8, _latin1(line), fill=True, new_x="LMARGIN", new_y="NEXT", padding=(1, 2)
        )
    for heading, lines in report_lines(status):
        pdf.ln(1.5)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 6, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9.5)
        for line in lines:
            pdf.multi_cell(0, 4.6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_auto_page_break(False)
    if days:
        _pdf_charts(pdf, days)
    if checklist is not None:
        _pdf_checklist(pdf, checklist)
    return bytes(pdf.output())


def _pdf_charts(pdf: FPDF, days: list[Day]) -> None:
    bottom = 285.0
    top = pdf.get_y() + 3
    if top + 22 > bottom:
        return  # no room left: the words above say it all
    pdf.set_xy(15, top)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, "Daily backups", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9.5)
    pdf.multi_cell(0, 4.6, _latin1(backups_summary(days)), new_x="LMARGIN", new_y="NEXT")
    left, width, cell = 15.0, 180.0, 6.0
    step = width / len(days)
    y = pdf.get_y() + 1.5
    for n, d in enumerate(days):
        pdf.set_fill_color(*(BAR if d.backups else EMPTY))
        pdf.rect(left + n * step + step * 0.1, y, step * 0.8, cell, style="F")
    pdf.set_font("Helvetica", "", 7)
    for n in _ticks(days):
        pdf.set_xy(left + n * step + step / 2 - 10, y + cell + 0.5)
        pdf.cell(20, 3, _latin1(clock.shown_day(days[n].day)), align="C")
    pdf.set_xy(15, y + cell + 4)
    summary = documents_summary(days)
    if summary is None or pdf.get_y() + 30 > bottom:
        return
    pdf.ln(1)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, "Documents held", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9.5)
    pdf.multi_cell(0, 4.6, _latin1(summary), new_x="LMARGIN", new_y="NEXT")
    height = 16.0
    base = pdf.get_y() + 1.5 + height
    counts = [d.documents for d in days]
    low, high = min(counts), max(counts)
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, base, left + width, base)
    pdf.set_draw_color(*BAR)
    pdf.set_line_width(0.5)
    points = [
        (left + n * step + step / 2, base - height * (c - low) / ((high - low) or 1))
        for n, c in enumerate(counts)
    ]
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        pdf.line(x1, y1, x2, y1)  # a step: the count holds until the day it changed
        pdf.line(x2, y1, x2, y2)
    pdf.set_line_width(0.2)
    pdf.set_font("Helvetica", "", 7)
    pdf.set_xy(left + width - 20, base - height - 3.5)
    pdf.cell(20, 3, f"{high}", align="R")
    pdf.set_xy(left + width - 20, base + 0.5)
    pdf.cell(20, 3, f"{low}", align="R")


def _ticks(days: list[Day]) -> list[int]:
    """Where to write dates under the strip: the first day, the last, and between."""
    last = len(days) - 1
    if last < 14:
        return [0, last]
    return [0, last // 2, last]


# --- the policy checklist (``sync.checkup``) -----------------------------------------


def checklist_heading(checklist: Checklist) -> str:
    return f"Policy checklist (taken {clock.shown(checklist.taken)})"


def checklist_lines(checklist: Checklist) -> list[tuple[str, list[str]]]:
    """Each check: its title and state, then the policy's words, what was
    found and what to ask the coordinator (never a command)."""
    items = []
    for check in checklist.checks:
        lines = [f"Policy: {check.policy}", f"Found: {check.found}"]
        if check.ask and check.state != "ok":
            lines.append(f"To ask: {check.ask}.")
        items.append((f"{check.title}: {check.state.upper()}", lines))
    return items


def _pdf_checklist(pdf: FPDF, checklist: Checklist) -> None:
    """The checklist on a page of its own (more pages if it needs them)."""
    pdf.add_page()
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 7, _latin1(checklist_heading(checklist)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 4.4, _latin1(CHECKLIST_INTRO), new_x="LMARGIN", new_y="NEXT")
    for title, lines in checklist_lines(checklist):
        pdf.ln(1.2)
        state = title.rsplit(": ", 1)[-1].lower()
        pdf.set_fill_color(*FILLS.get(_FILL_OF_STATE.get(state, ""), (240, 240, 240)))
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 5.5, _latin1(title), fill=True, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        for line in lines:
            pdf.multi_cell(0, 4.4, _latin1(line), new_x="LMARGIN", new_y="NEXT")


CHECKLIST_INTRO = (
    "Each line: a policy the committee signed, and what this computer and its backups "
    "show against it (ok, warning, problem, or unknown: not checked by the vault, to be "
    "confirmed by hand)."
)
_FILL_OF_STATE = {"ok": "green", "warning": "amber", "problem": "red"}
HTML_FILLS = {"green": "#e2f0d9", "amber": "#fce5cd", "red": "#f4c7c3"}


def _html_checklist(checklist: Checklist) -> list[str]:
    parts = [
        f"<h2>{html.escape(checklist_heading(checklist))}</h2>",
        f"<p>{html.escape(CHECKLIST_INTRO)}</p>",
    ]
    for title, lines in checklist_lines(checklist):
        state = title.rsplit(": ", 1)[-1].lower()
        fill = HTML_FILLS.get(_FILL_OF_STATE.get(state, ""), "#f0f0f0")
        parts.append(f'<h3 style="background:{fill}">{html.escape(title)}</h3><ul>')
        parts.extend(f"<li>{html.escape(line)}</li>" for line in lines)
        parts.append("</ul>")
    return parts


# --- HTML --------------------------------------------------------------------------


def _svg_strip(days: list[Day]) -> str:
    width, left, cell = 640, 0, 18
    step = (width - left) / len(days)
    cells = []
    for n, d in enumerate(days):
        colour = "#2e6e9e" if d.backups else "#dedede"
        label = f"{clock.shown_day(d.day)}: " + (
            f"{d.backups} backup{'s' if d.backups != 1 else ''}" if d.backups else "no backup"
        )
        cells.append(
            f'<rect x="{left + n * step + step * 0.1:.1f}" y="0" width="{step * 0.8:.1f}" '
            f'height="{cell}" fill="{colour}"><title>{html.escape(label)}</title></rect>'
        )
    labels = []
    for n in _ticks(days):
        middle = left + n * step + step / 2
        anchor = "start" if n == 0 else "end" if n == len(days) - 1 else "middle"
        x = left if anchor == "start" else width if anchor == "end" else middle
        labels.append(
            f'<text x="{x:.1f}" y="{cell + 13}" font-size="10" text-anchor="{anchor}">'
            f"{html.escape(clock.shown_day(days[n].day))}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{cell + 16}" '
        f'role="img" aria-label="Days with and without a backup">'
        f"{''.join(cells)}{''.join(labels)}</svg>"
    )


def _svg_documents(days: list[Day]) -> str:
    width, height, top = 640, 60, 6
    counts = [d.documents for d in days]
    low, high = min(counts), max(counts)
    step = width / len(days)
    points = []
    for n, c in enumerate(counts):
        y = top + (height - top) * (1 - (c - low) / ((high - low) or 1))
        points.append(f"{n * step:.1f},{y:.1f} {(n + 1) * step:.1f},{y:.1f}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 4}" '
        f'role="img" aria-label="Documents held">'
        f'<polyline fill="none" stroke="#2e6e9e" stroke-width="2" points="{" ".join(points)}"/>'
        f'<text x="{width}" y="12" font-size="10" text-anchor="end">{high}</text>'
        f'<text x="{width}" y="{height}" font-size="10" text-anchor="end">{low}</text></svg>'
    )


def _html(
    status: Status, verdict: Verdict, days: list[Day], checklist: Checklist | None = None
) -> str:
    colour = HTML_FILLS.get(verdict.colour, HTML_FILLS["amber"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(_title(status))}</title>",
        "<style>body{font-family:sans-serif;max-width:44em;margin:2em auto;line-height:1.4}"
        "h2{margin-bottom:0.2em}.verdict{padding:0.5em 1em}"
        ".verdict p{margin:0.2em 0}</style></head><body>",
        f"<h1>{html.escape(_title(status))}</h1>",
        f"<p>{html.escape(_made(status))}</p>",
        f'<div class="verdict" style="background:{colour}">',
        f"<p><strong>{html.escape(verdict.lines[0])}</strong></p>",
        *(f"<p>{html.escape(line)}</p>" for line in verdict.brief()[1:]),
        "</div>",
    ]
    for heading, lines in report_lines(status):
        parts.append(f"<h2>{html.escape(heading)}</h2><ul>")
        parts.extend(f"<li>{html.escape(line)}</li>" for line in lines)
        parts.append("</ul>")
    if days:
        parts.append(f"<h2>Daily backups</h2><p>{html.escape(backups_summary(days))}</p>")
        parts.append(_svg_strip(days))
        summary = documents_summary(days)
        if summary is not None:
            parts.append(f"<h2>Documents held</h2><p>{html.escape(summary)}</p>")
            parts.append(_svg_documents(days))
    if checklist is not None:
        parts.extend(_html_checklist(checklist))
    parts.append("</body></html>")
    return "\n".join(parts)
