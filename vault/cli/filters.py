"""The options that narrow a list of documents, shared by list and search:
``--type``, ``--family``, ``--since``, ``--until`` (days as the UK writes
them, ``vault.dates``; family references in any accepted spelling,
``vault.family``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import click

from vault.cli.common import DOC_TYPES

F = TypeVar("F", bound=Callable[..., Any])
DAY = "DATE"


@dataclass(frozen=True)
class Filters:
    doc_type: str | None
    family: str | None
    since: date | None
    until: date | None

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "doc_type": self.doc_type,
            "family": self.family,
            "since": self.since,
            "until": self.until,
        }


def filter_options(func: F) -> F:
    """--type, --family, --since, --until, given to the command as ``filters``."""
    options = [
        click.option(
            "--type", "doc_type", type=click.Choice(DOC_TYPES), help="Only this kind of document."
        ),
        click.option(
            "--family",
            metavar="REF",
            help="Only this family, e.g. F-0042 (f42, F42 and F-42 mean the same).",
        ),
        click.option(
            "--since",
            metavar=DAY,
            help="Only documents received on or after this day, e.g. 1/11/2026 or 1 Nov 2026.",
        ),
        click.option(
            "--until",
            metavar=DAY,
            help="Only documents received on or before this day, e.g. 04/12/2026.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def read_filters(
    doc_type: str | None, family: str | None, since: str | None, until: str | None
) -> Filters:
    """The filters as given, checked (one clear line for a bad date or reference)."""
    from vault import dates
    from vault import family as families

    return Filters(
        doc_type=doc_type,
        family=families.normalise(family) if family is not None else None,
        since=dates.parse(since, "--since") if since is not None else None,
        until=dates.parse(until, "--until") if until is not None else None,
    )
