"""Benchmark `vault ingest` of born-digital documents against the libraries
that take their text.

    python -m tests.bench.bench_ingest [--documents 2000] [--kinds pdf,docx,txt,eml] [--dir DIR]

(PYTHONPATH = the repository root; ``scripts/bench ingest``.) ``--documents``
documents are written into a fresh work folder in ``--dir`` (default
/var/tmp, removed at the end), taking turns through ``--kinds``: a PDF with
its own text (fpdf2, one page), a Word .docx (python-docx: a heading, two
paragraphs, a table, a header), a plain text file (UTF-8), an e-mail (.eml,
made by the standard library: the letter as its text body and a short text
attachment, which the vault stores as a document of its own); each a letter
of about 1,500 characters, each different. A new kind is one entry in
``KINDS``: a writer and the library call that takes its text. Then, in the
same run, on the same machine:

* **libraries alone** (the baseline the goal is judged against): in this
  process, each document's text taken by its library and nothing more:
  pypdfium2's text of each page of a PDF, python-docx's paragraphs, tables
  and headers of a .docx, a text file read and decoded, the standard
  library's e-mail parser taking an e-mail's body and its attachment's text. The wall time of the
  whole loop (after one untimed document of each kind, so imports are not
  counted).
* **vault ingest**: the real command in its own process, without the
  passphrase (as a scanner's scheduled task runs it), ``--quiet
  --keep-source``, on the folder: its start, detection, each reader, the
  searchable PDF made from a .docx's or text file's text, the encryption of
  the original, the PDF and the manifest, each made durable, and the
  journal. Then ``vault list --json`` (with the passphrase) must list every
  document.
* for comparison only: the vault's readers and its text-to-PDF rendition
  alone, in this process (``read_document`` and ``render_pdf``), to show
  how much of the command's time they take.

Documents per second of each; the goal: vault ingest at least 0.7x the
libraries' rate, printed as PASS/FAIL. The report always exits 0; only an
error (a failing command, a document missing) makes it fail.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "Bench Willow Kettle 2026"
GOAL = 0.7  # vault docs/s over the libraries' docs/s
WORDS = [
    "referral", "contact", "centre", "family", "visit", "court", "order", "supervised",
    "handover", "report", "parent", "child", "social", "worker", "assessment", "arrangements",
    "weekend", "Saturday", "afternoon", "review", "meeting",
]  # fmt: skip


def letter(number: int) -> list[str]:
    """About 1,500 characters of a letter, different for each ``number``."""
    lines = [f"Referral {number:05d} for family F-{number % 9000 + 1000:04d}"]
    for line in range(12):
        words = [WORDS[(number * 7 + line * 3 + k) % len(WORDS)] for k in range(18)]
        lines.append(" ".join(words).capitalize() + f" (item {number}-{line}).")
    return lines


# --- the kinds: a writer and the library call that takes the text -----------------------


def write_pdf(path: Path, lines: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def text_of_pdf(path: Path) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def write_docx(path: Path, lines: list[str]) -> None:
    import docx

    document = docx.Document()
    document.add_heading(lines[0], level=1)
    document.add_paragraph(" ".join(lines[1:7]))
    document.add_paragraph(" ".join(lines[7:]))
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Family", lines[0][-6:]
    document.sections[0].header.paragraphs[0].text = "Northshire Children's Services"
    document.save(str(path))


def text_of_docx(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts)


def write_eml(path: Path, lines: list[str]) -> None:
    """An e-mail as a mail program saves it: the letter as its text body and
    a short note as a text attachment (two documents in the vault)."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["From"] = "Duty Team <duty@northshire.example>"
    message["To"] = "Harbour View Centre <post@harbourview.example>"
    message["Date"] = format_datetime(datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    message["Subject"] = lines[0]
    message["Message-ID"] = make_msgid(domain="northshire.example")
    message.set_content("\n".join(lines) + "\n")
    note = "\n".join(lines[-3:]) + "\n"
    message.add_attachment(note.encode(), maintype="text", subtype="plain", filename="note.txt")
    path.write_bytes(message.as_bytes())


def text_of_eml(path: Path) -> str:
    """The standard library's parser: the body's text and each attachment's."""
    from email import policy
    from email.parser import BytesParser

    with open(path, "rb") as f:
        message = BytesParser(policy=policy.default).parse(f)
    body = message.get_body(preferencelist=("plain", "html"))
    parts = [body.get_content() if body is not None else ""]
    parts += [part.get_content() for part in message.iter_attachments()]
    return "\n".join(parts)


def write_txt(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def text_of_txt(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


Kind = tuple[str, str, Callable[[Path, list[str]], None], Callable[[Path], str]]
# name -> (extension, media type, writer, the library alone)
KINDS: dict[str, Kind] = {
    "pdf": (".pdf", "application/pdf", write_pdf, text_of_pdf),
    "docx": (
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        write_docx,
        text_of_docx,
    ),
    "txt": (".txt", "text/plain", write_txt, text_of_txt),
    "eml": (".eml", "message/rfc822", write_eml, text_of_eml),
}
STORED_AS = {"eml": 2}  # documents in the vault from one file (an e-mail and its attachment)


# --- the runs ---------------------------------------------------------------------------


def make_documents(folder: Path, count: int, kinds: list[str]) -> list[tuple[Path, str]]:
    folder.mkdir()
    made = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        extension, _, write, _ = KINDS[kind]
        path = folder / f"doc-{number:05d}{extension}"
        write(path, letter(number))
        made.append((path, kind))
    return made


def time_libraries(documents: list[tuple[Path, str]]) -> float:
    for kind in {kind for _, kind in documents}:  # imports, untimed
        KINDS[kind][3](next(path for path, k in documents if k == kind))
    start = time.perf_counter()
    for path, kind in documents:
        if not KINDS[kind][3](path).strip():
            raise RuntimeError(f"no text from {path.name}")
    return time.perf_counter() - start


def time_readers(documents: list[tuple[Path, str]], work: Path) -> float:
    """The vault's own readers and rendition, in this process (PDFs: pypdfium2)."""
    from ingest.readers import read_document, read_mail, reads
    from ingest.readers.mail import MAIL_TYPES
    from ingest.readers.rendition import render_pdf

    start = time.perf_counter()
    for n, (path, kind) in enumerate(documents):
        media = KINDS[kind][1]
        if media in MAIL_TYPES:  # the e-mail's text and each attachment's, each a PDF
            mail = read_mail(path, media)
            sections = [mail.sections([a.name for a in mail.attachments])]
            for m, attachment in enumerate(mail.attachments):
                part = work / f"a{n}-{m}-{attachment.name}"
                part.write_bytes(attachment.data)
                sections.append(read_document(part, "text/plain").sections)
                part.unlink()
            for m, text in enumerate(sections):
                out = work / f"r{n}-{m}.pdf"
                render_pdf(text, out, max_pages=200)
                out.unlink()
        elif reads(media):
            out = work / f"r{n}.pdf"
            render_pdf(read_document(path, media).sections, out, max_pages=200)
            out.unlink()
        else:
            text_of_pdf(path)
    return time.perf_counter() - start


def vault_env(state: Path) -> dict[str, str]:
    env = dict(os.environ, XDG_STATE_HOME=str(state), VAULT_PASSPHRASE=PASSPHRASE)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("VAULT_DIR", None)
    return env


def vault_command() -> list[str]:
    script = Path(sys.executable).parent / "vault"
    return [str(script)] if script.exists() else [sys.executable, "-m", "vault"]


def vault(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*vault_command(), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=7200,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"vault {args[2]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def time_vault_ingest(folder: Path, work: Path, count: int) -> float:
    root, state = work / "vault", work / "state"
    state.mkdir()
    env = vault_env(state)
    vault(["--vault", str(root), "init", "--emergency-sheet", str(work / "sheet.pdf"),
           "--centre-name", "Bench"], env)  # fmt: skip
    locked = dict(env)
    locked.pop("VAULT_PASSPHRASE")  # ingest as a scheduled task runs it: no passphrase
    subprocess.run(["sync"], check=False)
    start = time.perf_counter()
    vault(["--vault", str(root), "ingest", str(folder), "--quiet", "--keep-source"], locked)
    took = time.perf_counter() - start
    listed = json.loads(vault(["--vault", str(root), "list", "--json"], env).stdout)
    if len(listed) != count:
        raise RuntimeError(f"vault list shows {len(listed)} documents, not {count}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--kinds", default="pdf,docx,txt,eml", help=f"from {', '.join(KINDS)}")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)} (known: {', '.join(KINDS)})")
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=args.dir))
    try:
        print(f"Making {args.documents} documents ({', '.join(kinds)} in turn)...", flush=True)
        documents = make_documents(work / "post", args.documents, kinds)
        size = sum(path.stat().st_size for path, _ in documents)
        print(f"  {size / 1e6:.1f} MB in all")
        libraries = time_libraries(documents)
        readers = time_readers(documents, work)
        stored = sum(STORED_AS.get(kind, 1) for _, kind in documents)
        ingest = time_vault_ingest(work / "post", work, stored)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.documents
    rows = [
        ("libraries alone (baseline)", libraries),
        ("vault readers + PDF rendition, in process", readers),
        ("vault ingest (the command)", ingest),
    ]
    print(f"\n{'':44} {'seconds':>9} {'docs/s':>9} {'ms/doc':>8}")
    for label, seconds in rows:
        print(f"{label:44} {seconds:9.2f} {n / seconds:9.1f} {1000 * seconds / n:8.2f}")
    ratio = libraries / ingest
    verdict = "PASS" if ratio >= GOAL else "FAIL"
    print(f"\nvault ingest / libraries alone: {ratio:.2f}x (goal >= {GOAL}x) {verdict}")
    print(f"(readers + rendition / libraries alone: {libraries / readers:.2f}x, for comparison)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
