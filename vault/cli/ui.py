"""The ``ui`` command: the vault in a web browser, on this computer only."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    help="The port to serve on (default: a free one).",
)
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
@click.pass_obj
def ui(root: Path, port: int, no_browser: bool) -> None:
    """Open the vault in your web browser: find, read, store, back up.

    Serves a page on this computer only (127.0.0.1) and opens the default
    browser at an address carrying a one-time random code; without it the
    page shows nothing. Unlock once with the passphrase (or your own key's);
    the key stays in this program's memory only, and is forgotten after
    ui_idle_lock_minutes (config.json; 10 unless set) without use, with the
    page's Lock button, and when this program stops (Ctrl-C). Documents go
    from memory to the browser; nothing decrypted is written to disk, except
    a copy you download (recorded in the audit log as an export). The
    committee page needs no passphrase.

    \b
    Example:
        vault ui
        vault ui --no-browser --port 8765
    """
    from vault.web.server import serve

    serve(root, port=port, open_browser=not no_browser)
