"""Born-digital documents for the tests, made by the formats' own writers
(python-docx, odfpy) or by hand (text in several encodings, HTML, RTF, an
OLE2 container as old Office files are, a Word 97 .doc inside one), and
hostile ones (a cut-short
.docx, zip bombs, a zip whose directory lies, HTML with scripts).

Each document holds distinct words (a "walrus" in the body, an "otter" in
the header…) so a search can show which parts were read.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import docx
from odf.opendocument import OpenDocumentText
from odf.style import Footer, Header, MasterPage, PageLayout
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import H, P

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    f'<Override PartName="/word/document.xml" ContentType="{DOCX_MAIN}"/></Types>'
)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


WORD97 = ("Word 97 letter: narwhal and pelican.", "A fee of £12 – paid.")


def word_docx(path: Path, body: str = "Docx body walrus") -> Path:
    """A .docx by python-docx: body, a table, a header and a footer."""
    document = docx.Document()
    document.add_heading("Referral form", level=1)
    document.add_paragraph(body)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "cell penguin"
    table.cell(0, 1).text = "Family reference F-0042"
    section = document.sections[0]
    section.header.paragraphs[0].text = "header otter"
    section.footer.paragraphs[0].text = "footer badger"
    document.save(str(path))
    return path


def open_odt(path: Path, body: str = "Odt body llama") -> Path:
    """An .odt by odfpy: a heading, body, a table, a page header and footer."""
    document = OpenDocumentText()
    layout = PageLayout(name="pm1")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Standard", pagelayoutname=layout)
    header, footer = Header(), Footer()
    header.addElement(P(text="odt header hedgehog"))
    footer.addElement(P(text="odt footer fox"))
    master.addElement(header)
    master.addElement(footer)
    document.masterstyles.addElement(master)
    document.text.addElement(H(outlinelevel=1, text="Court order"))
    document.text.addElement(P(text=body))
    table = Table(name="t")
    table.addElement(TableColumn())
    row = TableRow()
    cell = TableCell()
    cell.addElement(P(text="odt cell koala"))
    row.addElement(cell)
    table.addElement(row)
    document.text.addElement(table)
    document.save(str(path))
    return path


def docx_by_hand(path: Path, document_xml: bytes, *, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compress) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", document_xml)
    return path


def paragraph_xml(*paragraphs: str) -> bytes:
    runs = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    return f'<w:document xmlns:w="{W}"><w:body>{runs}</w:body></w:document>'.encode()


def truncated_docx(path: Path) -> Path:
    whole = word_docx(path).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def zip_bomb_docx(path: Path, megabytes: int = 1024) -> Path:
    """A .docx whose body unpacks to ``megabytes`` of zeros (about 1 MB a GB packed)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        chunk = b"\0" * (1024 * 1024)
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            for _ in range(megabytes):
                part.write(chunk)
    return path


def lying_docx(path: Path) -> Path:
    """A .docx whose directory says the body is 100 bytes; it unpacks to 5 MB."""
    big = paragraph_xml("lying " * 10) + b" " * (5 * 1024 * 1024)
    docx_by_hand(path, big)
    data = bytearray(path.read_bytes())
    real = len(big)
    # the body's size, in its local header and in the central directory
    for offset in _occurrences(bytes(data), struct.pack("<I", real)):
        data[offset : offset + 4] = struct.pack("<I", 100)
    path.write_bytes(bytes(data))
    return path


def _occurrences(data: bytes, needle: bytes) -> list[int]:
    found, start = [], 0
    while (at := data.find(needle, start)) != -1:
        found.append(at)
        start = at + 1
    return found


def cp1252_text(path: Path) -> Path:
    path.write_bytes(
        "The “marmot” fee is £12 — café visit for family F-0042.\r\nSecond line yak.\r\n".encode(
            "cp1252"
        )
    )
    return path


def utf16_text(path: Path) -> Path:
    path.write_bytes("Letter in UTF-16 from Zoë about the zebra.\n".encode("utf-16"))  # with BOM
    return path


def hostile_html(path: Path) -> Path:
    path.write_text(
        "<!DOCTYPE html>\n<html><head><title>Visit note</title>"
        "<script>document.write('scriptword'); fetch('http://127.0.0.1:9/steal')</script>"
        "<style>body { color: stylecolour }</style></head>\n"
        "<body><h1>Contact visit</h1><p>The giraffe &amp; the emu visited.</p>"
        "<noscript>noscriptword</noscript><template>templateword</template>"
        '<img src="http://127.0.0.1:9/pixel.png" alt="altword">'
        "<!-- commentword --><table><tr><td>cell ibis</td><td>F-0042</td></tr></table>"
        "<script>unclosed scriptword2",
        encoding="utf-8",
    )
    return path


def rtf_file(path: Path) -> Path:
    path.write_bytes(
        b"{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0\\fswiss Helvetica;}}"
        b"{\\info{\\title infoword}}\\f0\\pard RTF body heron, fee \\'a312.\\par "
        b"Second paragraph \\u8364? euro.\\par}"
    )
    return path


def ole_file(path: Path, streams: dict[str, bytes]) -> Path:
    """An OLE2 compound file (as .doc, .xls and .msg files are) holding
    ``streams``, each padded to 4096 bytes so it lies in ordinary sectors."""
    end, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    bodies = [data.ljust(max(4096, -(-len(data) // 512) * 512), b"\0") for data in streams.values()]
    fat = [fat_sector, end]  # sector 0: the FAT, sector 1: the directory
    starts = []
    for body in bodies:
        first = len(fat)
        count = len(body) // 512
        starts.append(first)
        fat.extend(range(first + 1, first + count))
        fat.append(end)
    assert len(fat) <= 128 and len(streams) <= 3
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat).ljust(512, b"\xff")

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", no_stream, right, child)
            + b"\0" * 16
            + b"\0" * 4
            + b"\0" * 16
            + struct.pack("<IQ", start, size)
        )

    names = list(streams)
    entries = [entry("Root Entry", 5, no_stream, 1, end, 0)]
    for n, name in enumerate(names):
        right = n + 2 if n + 1 < len(names) else no_stream
        entries.append(entry(name, 2, right, no_stream, starts[n], len(streams[name])))
    directory = b"".join(entries).ljust(512, b"\0")
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + b"\xff" * (4 * 108)
    )
    assert len(header) == 512
    path.write_bytes(header + fat_bytes + directory + b"".join(bodies))
    return path


def word97_doc(path: Path, paragraphs: tuple[str, ...] = WORD97) -> Path:
    """A Word 97-2003 .doc written by hand, as [MS-DOC] lays it out: in the
    WordDocument stream, the File Information Block (Word 97's, nFib 0xC1;
    its table stream is 1Table) and the text, each paragraph ending in a
    carriage return, as 8-bit Windows-1252; in 1Table, the piece table (one
    piece: all the text, "compressed", that is 8-bit) and a stylesheet of no
    styles. Both streams are at least 4096 bytes, so they lie in ordinary
    sectors of the OLE2 file, as a Word document's do."""
    text = "".join(f"{paragraph}\r" for paragraph in paragraphs).encode("cp1252")
    start = 0x400  # the text's offset in WordDocument, after the FIB
    fib = bytearray(start)
    # FibBase: wIdent, nFib, unused, lid (English), pnNext, flags (fWhichTblStm, fExtChar)
    struct.pack_into("<6H", fib, 0x00, 0xA5EC, 0x00C1, 0, 0x0409, 0, 0x1200)
    struct.pack_into("<H", fib, 0x0C, 0x00BF)  # nFibBack
    struct.pack_into("<II", fib, 0x18, start, start + len(text))  # Word 97's fcMin, fcMac
    struct.pack_into("<H", fib, 0x20, 14)  # csw: 14 words of FibRgW97
    struct.pack_into("<H", fib, 0x3E, 22)  # cslw: 22 longs of FibRgLw97
    struct.pack_into("<I", fib, 0x40, max(4096, start + len(text)))  # cbMac
    struct.pack_into("<I", fib, 0x4C, len(text))  # ccpText
    struct.pack_into("<H", fib, 0x98, 93)  # cbRgFcLcb: FibRgFcLcb97
    pieces = struct.pack("<II", 0, len(text)) + struct.pack("<HIH", 0, start * 2 | 0x40000000, 0)
    clx = b"\x02" + struct.pack("<I", len(pieces)) + pieces  # Pcdt: PlcPcd
    stylesheet = struct.pack("<10H", 18, 0, 10, 1, 0, 0, 0, 0, 0, 0)  # Stshi: no styles
    struct.pack_into("<II", fib, 0xA2, len(clx), len(stylesheet))  # fcStshf, lcbStshf
    struct.pack_into("<II", fib, 0x1A2, 0, len(clx))  # fcClx, lcbClx
    streams = {
        "WordDocument": (bytes(fib) + text).ljust(4096, b"\0"),
        "1Table": (clx + stylesheet).ljust(4096, b"\0"),
    }
    return ole_file(path, streams)


def not_really_word(path: Path) -> Path:
    """A .doc container whose WordDocument stream is no Word document antiword knows."""
    return ole_file(path, {"WordDocument": b"\0" * 4096})


def xls_file(path: Path) -> Path:
    return ole_file(path, {"Workbook": b"\x09\x08" + b"\0" * 4094})


def xlsx_file(path: Path) -> Path:
    main = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Override PartName="/xl/workbook.xml" ContentType="{main}"/></Types>',
        )
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return path
