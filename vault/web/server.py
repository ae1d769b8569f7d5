"""Serving the web page: a socket on 127.0.0.1, uvicorn, the browser opened.

The socket is bound before anything else so that the port is known (and
free) when the address with its token is made; uvicorn then serves on it.
While the page runs, a small task locks the vault once it has gone unused
for the idle time, whether or not a request comes. When the server stops
(Ctrl-C, SIGTERM, the terminal closed), a request still running gets
``GRACE_SECONDS``, the jobs end (a file being read stops after its page,
``vault.web.jobs``) and the key is dropped.
"""

from __future__ import annotations

import socket
import sys
import threading
import webbrowser
from pathlib import Path

import click
from starlette.applications import Starlette

from vault.web.app import build
from vault.web.guard import Guard
from vault.web.keeper import Keeper

HOST = "127.0.0.1"
IDLE_CHECK_SECONDS = 5.0
GRACE_SECONDS = 5


def make_app(root: Path, port: int) -> tuple[Starlette, Guard, Keeper]:
    """The application for the vault at ``root`` served on ``port``."""
    from vault.config import idle_lock_minutes
    from vault.repository import Vault, require_vault

    require_vault(root)
    minutes = idle_lock_minutes(Vault.open(root).config)
    guard = Guard(port)
    keeper = Keeper(root, idle_minutes=minutes)
    app = build(root, guard, keeper, idle_check_seconds=IDLE_CHECK_SECONDS)
    return app, guard, keeper


def bound_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers go out at once: the connections accepted from it inherit this
    # (uvicorn does not set it on a socket it is given), and without it every
    # answer in two writes (headers, body) waited about 40 ms for the
    # browser's delayed acknowledgement.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        from vault.errors import UsageError

        raise UsageError(
            f"cannot serve on port {port}: {exc.strerror}",
            hint="leave out --port to use a free one",
        ) from exc
    sock.listen(64)
    return sock


def serve(root: Path, *, port: int = 0, open_browser: bool = True) -> None:
    import uvicorn

    sock = bound_socket(port)
    port = sock.getsockname()[1]
    app, guard, keeper = make_app(root, port)
    url = guard.url()
    click.echo(f"The vault's page is at {url}")
    sys.stdout.flush()  # at once, even into a pipe: a script may wait for the address
    click.echo(
        "Keep this window open while you use it; Ctrl-C stops it and locks the vault.",
        err=True,
    )
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        # A request still running when it is told to stop gets this long.
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    if open_browser:
        opener = threading.Timer(0.5, webbrowser.open, args=(url,))
        opener.daemon = True  # a browser that never returns does not keep this program
        opener.start()
    try:
        server.run(sockets=[sock])
    finally:
        keeper.close()
        sock.close()
