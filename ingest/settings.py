"""Ingest settings: command-line options over ``config.json`` over defaults.

Settings a centre may put in the vault's ``config.json`` (plain, no secrets):

    quarantine_dir   where unreadable inputs go (default: beside the vault folder)
    max_pages        longest document accepted, in pages (default 200)
    ocr_languages    tesseract languages, e.g. "eng" or "eng+pol" (default "eng")
    rules            document-type keyword rules (see ingest/rules.py)
    split_on_blank   true: a blank page splits a batch scan too, as a separator
                     sheet does (for simplex batches without sheets; default false)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.quarantine import Quarantine, quarantine_folder
from ingest.rules import Rules, load_rules
from vault.errors import UsageError

DEFAULT_MAX_PAGES = 200
DEFAULT_LANGUAGES = "eng"


@dataclass(frozen=True)
class IngestSettings:
    quarantine: Quarantine
    rules: Rules
    max_pages: int = DEFAULT_MAX_PAGES
    languages: str = DEFAULT_LANGUAGES
    doc_type: str | None = None  # None: from the rules
    family: str | None = None  # None: from the text
    verbose: bool = False  # messages name files by full path, not only by name
    split: bool = True  # a batch scan is split at its separator sheets (``ingest.batch``)
    split_on_blank: bool = False  # ... and at blank pages
    # the access levels every document is granted to, besides those its type
    # gives (``vault.levels``)
    levels: tuple[str, ...] = ()


def ingest_settings(
    vault_root: Path,
    config: Mapping[str, Any],
    *,
    quarantine: Path | None = None,
    max_pages: int | None = None,
    doc_type: str | None = None,
    family: str | None = None,
    verbose: bool = False,
    split: bool = True,
    split_on_blank: bool | None = None,
    levels: tuple[str, ...] = (),
) -> IngestSettings:
    if max_pages is None:
        max_pages = config.get("max_pages", DEFAULT_MAX_PAGES)
        if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
            raise UsageError("the 'max_pages' setting in config.json must be a whole number ≥ 1")
    languages = config.get("ocr_languages", DEFAULT_LANGUAGES)
    if not isinstance(languages, str) or not languages.strip():
        raise UsageError(
            "the 'ocr_languages' setting in config.json must be tesseract language codes",
            hint='for example "eng" or "eng+pol"',
        )
    if split_on_blank is None:
        split_on_blank = config.get("split_on_blank", False)
        if not isinstance(split_on_blank, bool):
            raise UsageError("the 'split_on_blank' setting in config.json must be true or false")
    return IngestSettings(
        quarantine=Quarantine(quarantine_folder(vault_root, quarantine, config), verbose=verbose),
        rules=load_rules(config),
        max_pages=max_pages,
        languages=languages.strip(),
        doc_type=doc_type,
        family=family,
        verbose=verbose,
        split=split,
        split_on_blank=split_on_blank,
        levels=levels,
    )
