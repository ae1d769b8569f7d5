"""``vault report``: a one-page backup report for the management committee.

Plain English, the facts of ``vault status``: the document count and the
head's short hash (written in the minutes, so a rollback of the vault shows
against the last meeting's), each backup's last run and what waits to go,
the last checks, every use of the emergency key with its recorded reason,
the passphrase's age, the warnings, and a chart of the last 90 days: backups
per day and the number of documents. PDF (drawn with fpdf2: text, lines and
filled rectangles) or HTML (the chart as inline SVG), chosen by the file's
suffix. Made without the key, so it cannot contain a name, a document's text
or a file name; the file is written 0600, and like an export it never
replaces an existing file without ``force`` (``vault.outfile``).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fpdf import FPDF

from sync.progress import human_bytes
from sync.status import Status
from vault.display import escaped
from vault.errors import UsageError
from vault.outfile import check_destination, place, work_file

CHART_DAYS = 90


@dataclass(frozen=True)
class Day:
    day: date
    backups: int
    documents: int


def chart_days(status: Status, today: date | None = None) -> list[Day]:
    """The last 90 days: successful backups (all remotes) and documents held."""
    today = today or datetime.now(UTC).date()
    backups: dict[str, int] = {}
    documents: dict[str, int] = {}
    for remote in status.remotes:
        for day, entry in remote.daily.items():
            backups[day] = backups.get(day, 0) + int(entry.get("syncs", 0))
            documents[day] = max(documents.get(day, 0), int(entry.get("documents", 0)))
    start = today - timedelta(days=CHART_DAYS - 1)
    known = [d for d in sorted(documents) if d < start.isoformat()]
    carried = documents[known[-1]] if known else 0
    days = []
    for n in range(CHART_DAYS):
        when = start + timedelta(days=n)
        key = when.isoformat()
        carried = documents.get(key, carried)
        if when == today:
            carried = status.documents
        days.append(Day(when, backups.get(key, 0), carried))
    return days


def _when(text: str | None) -> str:
    if not text:
        return "never"
    return text.replace("T", " ")[:16] + " UTC"


UNVERIFIED = (
    "unverified: the report was made without the passphrase, which alone can check "
    "that these figures were written by the vault"
)


def report_lines(status: Status) -> list[tuple[str, list[str]]]:
    """The report's sections as (heading, plain-English lines)."""
    head = status.head
    records = [
        f"The vault holds {status.documents} documents"
        + (" (unverified, see the state code)" if head and not status.head_verified else "")
        + (
            f" ({status.documents_unchecked} of them stored since the vault was last opened)."
            if status.documents_unchecked
            else "."
        ),
        f"Last document stored: {_when(status.last_ingest)}.",
    ]
    if status.documents_untrusted:
        records.append(
            f"Not counted: {status.documents_untrusted} journal entries not signed by this "
            "vault's signing key (untrusted; they will be set aside, see Warnings)."
        )
    if head:
        records.append(
            f"Vault state code: {head['short']} (number {head['seq']}, {head['documents']} "
            f"documents, saved {_when(head['time'])})"
            + ("." if status.head_verified else f"; {UNVERIFIED}.")
        )
        records.append(
            "Write this code and number in the minutes. The number should only ever go up "
            "from one meeting to the next: a lower one means the vault was rolled back."
        )
    backups = []
    for remote in status.remotes:
        line = f"{remote.name}: last backup {_when(remote.last_sync)}"
        if remote.waiting_files:
            line += (
                f"; {remote.waiting_files} files ({human_bytes(remote.waiting_bytes or 0)}) "
                "waiting to be sent"
            )
        elif remote.waiting_files == 0:
            line += "; up to date"
        backups.append(line + ".")
    if not backups:
        backups.append("No backup is set up.")
    checks = []
    last = status.last_verify
    if last is None:
        checks.append("Never checked.")
    else:
        where = f"the backup on {last['remote']}" if last["remote"] else "this computer's vault"
        outcome = "everything was intact" if last["ok"] else f"{last['bad']} files had problems"
        checks.append(f"Last check: {_when(last['time'])}, of {where}: {outcome}.")
    for remote in status.remotes:
        if remote.last_verify and remote.last_verify is not last:
            fact = remote.last_verify
            outcome = "intact" if fact["ok"] else f"{fact['bad']} files had problems"
            checks.append(f"Backup on {remote.name} last checked {_when(fact['time'])}: {outcome}.")
    for remote in status.remotes:
        drill = remote.last_drill
        if drill is None:
            checks.append(f"Backup on {remote.name}: no restore drill yet.")
        else:
            outcome = "passed" if drill["ok"] else f"FAILED ({drill['reason']})"
            checks.append(
                f"Backup on {remote.name}: last restore drill {_when(drill['time'])}: {outcome}."
            )
    since = (
        f"since the committee last acknowledged its use ({_when(status.emergency_since)})"
        if status.emergency_since
        else "ever"
    )
    if status.emergency_uses:
        emergency = [
            f"{_when(use['time'])}: reason given: {escaped(use['reason']) or '(none)'}"
            for use in status.emergency_uses
        ]
    else:
        emergency = [f"Not used {since}."]
    passphrase = [
        f"Last changed {_when(status.passphrase_changed)}"
        + (
            f" ({status.passphrase_age_days} days ago)."
            if status.passphrase_age_days is not None
            else "."
        )
    ]
    warnings = status.warnings or ["None."]
    return [
        ("Records", records),
        ("Backups", backups),
        ("Checks", checks),
        ("Emergency key", emergency),
        ("Passphrase", passphrase),
        ("Warnings", warnings),
    ]


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
) -> None:
    """Write the report to ``out`` (made in ``tmp``, the vault's own, if given)."""
    check_report_path(out, force=force)
    days = chart_days(status, today)
    data = _pdf(status, days) if out.suffix.lower() == ".pdf" else _html(status, days).encode()
    with work_file(tmp, out) as made:
        with open(made, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        place(made, out, force=force)


def _title(status: Status) -> str:
    centre = f" - {escaped(status.centre_name)}" if status.centre_name else ""
    return f"Backup status report{centre}"


# --- PDF ---------------------------------------------------------------------------


def _latin1(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'")
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _pdf(status: Status, days: list[Day]) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(15, 12, 15)
    pdf.add_page()
    pdf.set_creator("centre vault")
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 8, _latin1(_title(status)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(
        0,
        5,
        _latin1(f"Vault {status.vault_id}, made {_when(status.generated)}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for heading, lines in report_lines(status):
        pdf.ln(1.5)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 6, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9.5)
        for line in lines:
            pdf.multi_cell(0, 4.6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    top = max(pdf.get_y() + 4, 185)
    _pdf_chart(pdf, days, top, "Backups per day (all remotes)", [d.backups for d in days])
    _pdf_chart(pdf, days, top + 52, "Documents in the vault", [d.documents for d in days])
    return bytes(pdf.output())


def _pdf_chart(pdf: FPDF, days: list[Day], top: float, title: str, values: list[int]) -> None:
    left, width, height = 25.0, 170.0, 34.0
    pdf.set_font("Helvetica", "B", 9.5)
    pdf.set_xy(15, top)
    pdf.cell(0, 5, title)
    base = top + 7 + height
    peak = max(values) or 1
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, base, left + width, base)
    pdf.line(left, base, left, base - height)
    pdf.set_font("Helvetica", "", 7)
    pdf.set_xy(15, base - height - 1.5)
    pdf.cell(9, 3, str(peak), align="R")
    pdf.set_xy(15, base - 1.5)
    pdf.cell(9, 3, "0", align="R")
    step = width / len(values)
    pdf.set_fill_color(46, 110, 158)
    for n, value in enumerate(values):
        if value > 0:
            bar = height * value / peak
            pdf.rect(left + n * step + step * 0.15, base - bar, step * 0.7, bar, style="F")
    for n in (0, len(days) // 2, len(days) - 1):
        pdf.set_xy(left + n * step - 8, base + 1)
        pdf.cell(16, 3, days[n].day.isoformat(), align="C")


# --- HTML --------------------------------------------------------------------------


def _svg_chart(title: str, days: list[Day], values: list[int]) -> str:
    width, height, left, bottom = 640, 150, 40, 20
    peak = max(values) or 1
    step = (width - left) / len(values)
    bars = []
    for n, value in enumerate(values):
        if value > 0:
            bar = (height - bottom - 10) * value / peak
            x = left + n * step + step * 0.15
            y = height - bottom - bar
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{bar:.1f}">'
                f"<title>{days[n].day.isoformat()}: {value}</title></rect>"
            )
    labels = "".join(
        f'<text x="{left + n * step:.1f}" y="{height - 5}" font-size="10">'
        f"{days[n].day.isoformat()}</text>"
        for n in (0, len(days) // 2, len(days) - 10)
    )
    return (
        f"<h3>{html.escape(title)}</h3>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
        f'stroke="#777"/><line x1="{left}" y1="10" x2="{left}" y2="{height - bottom}" '
        f'stroke="#777"/><text x="0" y="18" font-size="10">{peak}</text>'
        f'<text x="0" y="{height - bottom}" font-size="10">0</text>'
        f'<g fill="#2e6e9e">{"".join(bars)}</g>{labels}</svg>'
    )


def _html(status: Status, days: list[Day]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(_title(status))}</title>",
        "<style>body{font-family:sans-serif;max-width:44em;margin:2em auto;line-height:1.4}"
        "h2{margin-bottom:0.2em}h3{margin:1em 0 0.2em}</style></head><body>",
        f"<h1>{html.escape(_title(status))}</h1>",
        f"<p>Vault {html.escape(status.vault_id)}, made {html.escape(_when(status.generated))}</p>",
    ]
    for heading, lines in report_lines(status):
        parts.append(f"<h2>{html.escape(heading)}</h2><ul>")
        parts.extend(f"<li>{html.escape(line)}</li>" for line in lines)
        parts.append("</ul>")
    parts.append(_svg_chart("Backups per day (all remotes)", days, [d.backups for d in days]))
    parts.append(_svg_chart("Documents in the vault", days, [d.documents for d in days]))
    parts.append("</body></html>")
    return "\n".join(parts)
