"""Reading the sealed emergency key from where the user gives it.

The key never comes from the command line, where ``ps`` and the shell history
show it: it comes from a text file, an image of the emergency sheet (a photo
or a scan: its QR code is read), or a hidden prompt. Typing and copying are
forgiven: spaces, line breaks and letter case do not matter (the sheet prints
the key in groups of four), and ``#`` comment lines (as ``age-keygen`` writes
them) are skipped. Nothing here ever puts the key, or any part of it, in a
message.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from vault.errors import UsageError

if TYPE_CHECKING:
    from PIL.Image import Image

_PREFIX = "AGE-SECRET-KEY-"
# A whole key typed without its prefix: bech32 letters, as on the sheet.
_BARE_KEY = re.compile(r"[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L1]{50,}")
_MAX_FILE = 50 * 1024 * 1024  # a photo of the sheet, at most
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM", b"RIFF")
_PDF_MAGIC = b"%PDF-"
_PDF_DPI = 200


def normalise(text: str) -> str:
    """The key as age wants it: no spaces or line breaks, upper case, without
    ``#`` comment lines."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return "".join("".join(lines).split()).upper()


def looks_like_key(value: str) -> bool:
    """True for a command-line value that is (most likely) the key itself."""
    compact = normalise(value)
    return compact.startswith(_PREFIX) or bool(_BARE_KEY.fullmatch(compact))


def refusal() -> UsageError:
    """The error for a key given on the command line (it never quotes it)."""
    return UsageError(
        "the emergency key must not be given on the command line",
        hint="ps and the shell history show it: type it at the prompt "
        "(--emergency-key with no value), or give a file or a photo of the sheet",
    )


def in_arguments(args: list[str]) -> bool:
    """True when the words after ``--emergency-key``, up to the next option,
    hold the key: typed unquoted as the sheet prints it (groups of four), it
    is many arguments, which would otherwise be taken as other arguments and
    echoed back in a usage error."""
    for n, arg in enumerate(args):
        if arg == "--":
            return False
        name, equals, value = arg.partition("=")
        if name != "--emergency-key":
            continue
        words = [value] if equals else []
        for word in args[n + 1 :]:
            if word.startswith("-") and word != "-":
                break
            words.append(word)
        if any(looks_like_key(" ".join(words[:end])) for end in range(1, len(words) + 1)):
            return True
    return False


def from_answer(text: str) -> str:
    """The key typed at the prompt."""
    key = normalise(text)
    if not key:
        raise UsageError("no emergency key was typed")
    return key


def from_file(path: Path) -> str:
    """The key in a text file, or in the QR code of an image or PDF of the sheet."""
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_FILE + 1)
    except IsADirectoryError as exc:
        raise UsageError(f"the emergency key file {path.name} is a folder") from exc
    except OSError as exc:
        raise UsageError(
            f"cannot read the emergency key file {path.name}: {exc.strerror}",
            hint="give a text file holding the key, a photo of the emergency sheet, "
            "or type the key at the prompt (--emergency-key with no value)",
        ) from exc
    if len(data) > _MAX_FILE:
        raise UsageError(f"the emergency key file {path.name} is too large")
    if data.startswith(_PDF_MAGIC) or data.startswith(_IMAGE_MAGIC):
        return _from_picture(data, path.name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _from_picture(data, path.name)
    key = normalise(text)
    if not key:
        raise UsageError(f"the emergency key file {path.name} is empty")
    return key


def _from_picture(data: bytes, name: str) -> str:
    """The text of the QR code on an image (or the first page of a PDF) of the sheet."""
    from PIL import Image as images
    from PIL import UnidentifiedImageError

    try:
        if data.startswith(_PDF_MAGIC):
            picture = _render_pdf(data)
        else:
            with images.open(io.BytesIO(data)) as opened:
                opened.load()
                picture = opened.copy()
    except (
        UnidentifiedImageError, images.DecompressionBombError, OSError, ValueError,
        RuntimeError,  # pypdfium2's PdfiumError
    ) as exc:  # fmt: skip
        raise UsageError(
            f"the emergency key file {name} is neither text nor a readable image",
            hint="give a text file holding the key or a photo (PNG, JPEG) of the sheet",
        ) from exc
    from vault.barcodes import read_codes

    keys = {normalise(text) for text in read_codes(picture)}
    keys = {key for key in keys if key.startswith(_PREFIX)}
    if len(keys) != 1:
        raise UsageError(
            f"no emergency key QR code could be read in {name}",
            hint="photograph the whole sheet flat and in focus, or type the key "
            "at the prompt (--emergency-key with no value)",
        )
    return keys.pop()


def _render_pdf(data: bytes) -> Image:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        if len(document) < 1:
            raise ValueError("no pages")
        page = document[0]
        return page.render(scale=_PDF_DPI / 72).to_pil()
    finally:
        document.close()
