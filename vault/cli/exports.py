"""``vault exports``: every document taken out of the vault, for the committee."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vault.cli.common import json_option, print_json
from vault.display import escaped


@click.command()
@json_option
@click.pass_obj
def exports(root: Path, as_json: bool) -> None:
    """List every export: when, which document, where to, why, encrypted or not.

    From the audit log, with no passphrase: the document's id (a bundle's:
    how many and their ids), the kind of destination (a removable drive, or
    this computer), the reason given and whether the file was encrypted. No
    names and no paths (a folder's name can hold a person's). Newest last.

    \b
    Example:
        vault exports
        vault exports --json
    """
    from vault.clock import shown
    from vault.repository import Vault, require_vault

    require_vault(root)
    vault = Vault.open(root)
    found: list[dict[str, Any]] = []
    for entry in vault.audit.entries():
        if entry.event != "export":
            continue
        detail = entry.detail
        bundle = detail.get("version") == "bundle"
        found.append(
            {
                "time": entry.time,
                "id": entry.ids[0] if entry.ids else None,
                "ids": list(entry.ids) if bundle else entry.ids[:1],
                "documents": int(detail.get("documents", len(entry.ids))) if bundle else 1,
                "version": detail.get("version"),
                "to": detail.get("to", "not recorded"),
                "reason": detail.get("reason", "not recorded"),
                "encrypted": bool(detail.get("encrypted", False)),
                "key": detail.get("key"),
            }
        )
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo("No document has been exported.")
        return
    for row in found:
        sealed = "encrypted" if row["encrypted"] else "NOT encrypted"
        what = _bundle(row) if row["version"] == "bundle" else row["id"]
        line = f"{shown(row['time'])}  {what}  to {row['to']}, {sealed}, reason: {row['reason']}"
        click.echo(escaped(line))
    stick = sum(1 for row in found if row["to"] == "removable drive" and not row["encrypted"])
    if stick:
        click.echo(
            f"warning: {stick} exports went to a removable drive unencrypted (the policy asks "
            "that a data stick's contents are encrypted).",
            err=True,
        )


def _bundle(row: dict[str, Any]) -> str:
    """``bundle of 12 documents (D-AAAAAA, D-BBBBBB, D-CCCCCC and 9 more)``."""
    ids, count = row["ids"], row["documents"]
    shown_ids = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    noun = "document" if count == 1 else "documents"
    return f"bundle of {count} {noun} ({shown_ids})"
