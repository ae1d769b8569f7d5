"""Synthetic scans with known text, and the character error rate to grade OCR.

A page is an A4 letter drawn with a real TrueType font (DejaVu Sans from
Debian's fonts-dejavu-core) at 200 or 300 dpi, then spoilt the way scanners
and phones spoil paper: skewed, noisy, upside down, sideways. Writers turn
pages into the files a centre receives: image-only PDF (JPEG inside),
CCITT G4 TIFF, JPEG (optionally stored sideways with an EXIF orientation),
PNG, and a born-digital PDF made by fpdf2.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import pikepdf
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# Words the OCR must find: a Polish surname, a family-court case number, a rare word.
NEEDLES = ("Przybylski", "NT26P00412", "quincunx")

LETTER = """\
Harbour View Child Contact Centre
14 Mill Lane, Norwich NR3 1AB
Our reference: NT26P00412
Dear Mrs Przybylski,
Following the hearing at the Family Court in Norwich, the judge has ordered
supervised contact for your two children on alternate Saturday mornings.
Sessions will take place between 10:00 and 12:00 in the main hall.
Please arrive fifteen minutes early so that staff can complete the handover.
The court also asked us to keep the quincunx seating plan agreed at the
hearing, with a member of staff present in the room at all times.
If you cannot attend, please telephone the centre at least two days before.
Yours sincerely,
Margaret Ellison, Centre Coordinator"""

SECOND_LETTER = """\
Referral from Riverside Family Support Service
Family name: Przybylski
Children: Amelia (7) and Tomasz (4)
Reason for referral: handover support after separation.
The father will bring the children; the mother will collect them.
Please confirm a first visit date by letter to our office.
Signed on behalf of the service, case NT26P00412."""

SENTENCES = (
    "The referral was received by post on Monday and logged by the coordinator.",
    "Both parents attended the intake meeting and signed the centre agreement.",
    "Contact will be supervised by two members of staff for the first month.",
    "The children enjoyed painting and reading with their father during the visit.",
    "A review of the arrangement is due before the next hearing in the spring.",
    "Please bring photographic identification to every session at the centre.",
    "The solicitor for the mother asked for a copy of the attendance record.",
    "Handover took place in the car park at the back entrance as agreed.",
    "No concerns were raised by staff and the session ended on time at noon.",
    "The court order requires the centre to report any missed session promptly.",
    "Parking is available on Mill Lane after ten o'clock on Saturday mornings.",
    "The family support worker will telephone the grandparents next week.",
)


def dense_text(seed: int, *, lines: int = 42) -> str:
    """A full page of plausible case notes (for throughput measurements)."""
    rng = random.Random(seed)
    return "\n".join(rng.choice(SENTENCES) for _ in range(lines))


A4_INCHES = (8.27, 11.69)
VARIANTS = ("clean", "skewed", "very-skewed", "noisy", "very-noisy", "upside-down", "sideways")


def font(size_px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if FONT_PATH.exists():
        return ImageFont.truetype(str(FONT_PATH), size_px)
    return ImageFont.load_default(size=size_px)


def draw_page(text: str = LETTER, *, dpi: int = 300) -> Image.Image:
    """A clean white A4 page in mode L with ``text`` in 11 pt, one line per line."""
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    face = font(round(11 / 72 * dpi))
    x, y = round(0.9 * dpi), round(1.0 * dpi)
    step = round(11 / 72 * dpi * 1.6)
    for line in text.splitlines():
        draw.text((x, y), line, font=face, fill=0)
        y += step
    return page


def add_noise(page: Image.Image, *, amount: float = 0.08, seed: int = 7) -> Image.Image:
    """Salt-and-pepper noise: ``amount`` of the pixels flipped to black or white."""
    rng = random.Random(seed)
    noise = Image.frombytes("L", page.size, rng.randbytes(page.width * page.height))
    cut = round(amount * 128)
    pepper = noise.point(lambda v: 255 if v < cut else 0)
    salt = noise.point(lambda v: 255 if v >= 256 - cut else 0)
    noisy = page.copy()
    noisy.paste(0, mask=pepper)
    noisy.paste(255, mask=salt)
    return noisy


def spoil(page: Image.Image, variant: str) -> Image.Image:
    """The page as a scanner might deliver it; ``variant`` is one of VARIANTS."""
    if variant == "clean":
        return page
    if variant == "skewed":
        return page.rotate(2.0, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if variant == "very-skewed":  # beyond what tesseract straightens by itself
        return page.rotate(-5.0, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if variant == "noisy":
        return add_noise(page)
    if variant == "very-noisy":  # tesseract reads nothing at all from this as it is
        return add_noise(page, amount=0.12)
    if variant == "upside-down":
        return page.transpose(Image.Transpose.ROTATE_180)
    if variant == "sideways":
        return page.transpose(Image.Transpose.ROTATE_90)
    raise ValueError(f"unknown variant {variant!r}")


def scan(variant: str = "clean", *, dpi: int = 300, text: str = LETTER) -> Image.Image:
    return spoil(draw_page(text, dpi=dpi), variant)


def to_bilevel(page: Image.Image) -> Image.Image:
    """Threshold (no dithering) to mode 1, as a fax-mode scanner would."""
    return page.point(lambda v: 255 if v > 160 else 0, mode="1")


# --- writers -------------------------------------------------------------------------


def write_image_pdf(
    path: Path, pages: Sequence[Image.Image], *, dpi: int = 300, bilevel: bool = False
) -> Path:
    """An image-only PDF: each page one JPEG (DCTDecode) image, no text; with
    ``bilevel``, one 1-bit CCITT G4 image, as scanners make in text mode."""
    if bilevel:
        first, *rest = [to_bilevel(p) for p in pages]
        first.save(path, "PDF", resolution=dpi, save_all=True, append_images=rest)
        return path
    first, *rest = [p.convert("L") if p.mode not in ("L", "RGB") else p for p in pages]
    first.save(path, "PDF", resolution=dpi, save_all=True, append_images=rest, quality=80)
    return path


def write_tiff_g4(path: Path, pages: Sequence[Image.Image], *, dpi: int = 300) -> Path:
    """A (multi-page) bilevel TIFF, CCITT Group 4 compressed."""
    first, *rest = [to_bilevel(p) for p in pages]
    first.save(
        path, "TIFF", compression="group4", dpi=(dpi, dpi), save_all=True, append_images=rest
    )
    return path


def write_jpeg(path: Path, page: Image.Image, *, dpi: int = 300, exif_rotate: bool = False) -> Path:
    """A JPEG; with ``exif_rotate`` the pixels are stored turned 90 degrees
    clockwise and EXIF Orientation 8 tells a viewer to turn them back."""
    exif = Image.Exif()
    if exif_rotate:
        page = page.transpose(Image.Transpose.ROTATE_270)
        exif[0x0112] = 8
    page.save(path, "JPEG", quality=85, dpi=(dpi, dpi), exif=exif)
    return path


def write_png(path: Path, page: Image.Image, *, dpi: int = 300) -> Path:
    page.save(path, "PNG", dpi=(dpi, dpi))
    return path


def write_born_digital(path: Path, texts: Sequence[str] = (LETTER,)) -> Path:
    """A born-digital PDF (fpdf2, embedded Unicode TrueType font), a page per text."""
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", fname=str(FONT_PATH))
    pdf.set_font("DejaVu", size=11)
    for text in texts:
        pdf.add_page()
        for line in text.splitlines():
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def write_garbage_text_pdf(path: Path, page: Image.Image, *, dpi: int = 300) -> Path:
    """An image-only PDF page that also carries a text layer of gibberish, as a
    font without a Unicode map produces: it must be OCR'd all the same."""
    buffer = io.BytesIO()
    write_image_pdf_to(buffer, [page], dpi=dpi)
    with pikepdf.open(buffer) as pdf:
        target = pikepdf.Page(pdf.pages[0])
        helv = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
        name = target.add_resource(helv, pikepdf.Name.Font, prefix="F")
        rng = random.Random(3)
        junk = "".join(rng.choice("#$%&*+<>@[]^_{|}~0123") for _ in range(300))
        target.contents_add(f"BT 3 Tr {name} 10 Tf 72 400 Td ({junk}) Tj ET".encode())
        pdf.save(path)
    return path


def write_image_pdf_to(out: io.BytesIO, pages: Sequence[Image.Image], *, dpi: int) -> None:
    first, *rest = [p.convert("L") for p in pages]
    first.save(out, "PDF", resolution=dpi, save_all=True, append_images=rest, quality=80)
    out.seek(0)


def merge_pdfs(path: Path, parts: Sequence[Path]) -> Path:
    """One PDF made of the pages of ``parts`` in order (for mixed documents)."""
    with pikepdf.new() as out:
        for part in parts:
            with pikepdf.open(part) as src:
                out.pages.extend(src.pages)
        out.save(path)
    return path


def set_page_rotation(path: Path, turns: dict[int, int]) -> Path:
    """Give pages (0-based) a /Rotate, as scanners do for landscape pages."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for index, degrees in turns.items():
            pdf.pages[index].Rotate = degrees
        pdf.save(path)
    return path


def write_encrypted_pdf(path: Path, source: Path, *, password: str = "s3cret") -> Path:
    with pikepdf.open(source) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user=password, owner=password))
    return path


def write_tiff_with_broken_page(path: Path, pages: Sequence[Image.Image], *, broken: int) -> Path:
    """A G4 TIFF whose page ``broken`` (0-based) points its pixel data past the
    end of the file: the file opens and counts its pages, that page fails to decode."""
    first, *rest = [to_bilevel(p) for p in pages]
    first.save(
        path, "TIFF", compression="group4", save_all=True, append_images=rest, strip_size=10**9
    )  # one strip per page: the offset sits inside the IFD entry
    with Image.open(path) as tiff:
        tiff.seek(broken)
        offset = tiff.tag_v2[273][0]
    data = path.read_bytes()
    entry = struct.pack("<HHII", 273, 4, 1, offset)
    assert data.count(entry) == 1
    path.write_bytes(data.replace(entry, struct.pack("<HHII", 273, 4, 1, len(data) + 4096)))
    return path


def write_truncated_jpeg(path: Path, page: Image.Image) -> Path:
    """A JPEG cut off half way: its header is fine, its pixels are not all there."""
    write_jpeg(path, page)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_png_bomb(path: Path, *, side: int = 30000) -> Path:
    """A valid 1-bit PNG of side x side pixels: ~100 KB on disk, ~1 GB decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 1000) for _ in range(side // 1000))
    idat += packer.compress(row * (side % 1000)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


# --- grading -------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(text.split())


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(expected: str, got: str) -> float:
    """Character error rate: edits to turn ``got`` into ``expected``, per
    expected character, after collapsing runs of whitespace."""
    want, have = normalise(expected), normalise(got)
    if not want:
        return 0.0 if not have else 1.0
    return levenshtein(want, have) / len(want)


# --- batch scans: separator sheets and blank backs --------------------------------------


def separator_page(
    *, doc_type: str | None = None, family: str | None = None, dpi: int = 300
) -> Image.Image:
    """The vault's own separator sheet (``vault separator-sheet``) as a
    scanner sees it: its PDF drawn at ``dpi``, in grey."""
    import pypdfium2

    from vault.separator_sheet import Sheet, render

    document = pypdfium2.PdfDocument(render(Sheet(doc_type, family)))
    try:
        page: Image.Image = document[0].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        document.close()
    return page.convert("L")


def patch_t_page(*, dpi: int = 300, module_mm: float = 0.5) -> Image.Image:
    """A PATCH T sheet of other scanning software: ``PATCHT`` as a Code 128
    barcode (made by zxing-cpp's writer), bars ``module_mm`` wide, and a word."""
    import zxingcpp

    code = zxingcpp.create_barcode("PATCHT", zxingcpp.BarcodeFormat.Code128)
    drawn = memoryview(code.to_image(scale=1, add_quiet_zones=True))
    bars = Image.frombuffer("L", (drawn.shape[1], drawn.shape[0]), bytes(drawn), "raw", "L", 0, 1)
    module = module_mm / 25.4 * dpi
    bars = bars.resize(
        (round(bars.width * module), round(15 / 25.4 * dpi)), Image.Resampling.NEAREST
    )
    page = Image.new("L", (round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)), 255)
    page.paste(bars, ((page.width - bars.width) // 2, round(3 * dpi)))
    ImageDraw.Draw(page).text(
        (round(1.5 * dpi), round(5 * dpi)), "PATCH T", font=font(round(dpi / 2)), fill=0
    )
    return page


def blank_page(*, dpi: int = 300, noisy: bool = False) -> Image.Image:
    """The empty back of a duplex page: white, or with scanner specks."""
    page = Image.new("L", (round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)), 255)
    return add_noise(page, amount=0.01, seed=11) if noisy else page
