"""The web page lets in only the holder of the token, and guards every request."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.web.conftest import BASE, PORT, Web

SECURITY_HEADERS = {
    "cache-control": "no-store, max-age=0",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
PAGES = ["/", "/committee", "/results?q=x", "/static/style.css", "/static/app.js", "/backups",
         "/quarantine", "/store", "/store/progress", "/backups/progress"]  # fmt: skip
# Every route that changes something, with its method.
CHANGING = [
    ("post", "/unlock"),
    ("post", "/unlock/emergency"),
    ("post", "/lock"),
    ("post", "/doc/{letter}/download"),
    ("post", "/doc/{letter}/edit"),
    ("post", "/committee/report"),
    ("put", "/store/upload?name=a.pdf"),
    ("post", "/backups/run"),
]


def _check_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.request.url)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "unsafe-eval" not in policy
    assert "script-src" not in policy or "script-src 'self'" in policy


@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_served_without_the_token(web: Web, path: str) -> None:
    stranger = TestClient(web.client.app, base_url=BASE, follow_redirects=False)
    answer = stranger.get(path)
    assert answer.status_code == 403
    assert "vault ui" in answer.text
    _check_headers(answer)
    assert stranger.get(f"{path}{'&' if '?' in path else '?'}token=wrong").status_code == 403


def test_the_token_gives_a_strict_session_cookie_and_leaves_the_address(web: Web) -> None:
    stranger = TestClient(web.client.app, base_url=BASE, follow_redirects=False)
    answer = stranger.get(f"/committee?token={web.guard.token}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/committee"  # the token is not kept in the address
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"vault_ui_{PORT}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert web.guard.token not in cookie
    assert stranger.get("/committee").status_code == 200


def test_a_cookie_of_another_run_is_refused(web: Web) -> None:
    stranger = TestClient(web.client.app, base_url=BASE, follow_redirects=False)
    stranger.cookies.set(f"vault_ui_{PORT}", "made-up-session")
    assert stranger.get("/").status_code == 403
    web.guard.end_sessions()
    assert web.client.get("/").status_code == 403


def test_another_host_name_is_refused(web: Web) -> None:
    answer = web.client.get("/", headers={"host": f"evil.example:{PORT}"})
    assert answer.status_code == 421


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(web: Web, path: str) -> None:
    web.unlock()
    answer = web.client.get(path)
    assert answer.status_code == 200, path
    _check_headers(answer)


@pytest.mark.parametrize(("method", "path"), CHANGING)
def test_every_change_needs_the_csrf_token(web: Web, method: str, path: str) -> None:
    web.unlock()
    path = path.format(**web.docs)
    send = getattr(web.client, method)
    without = send(path, data={"passphrase": "x", "type": "letter"})
    assert without.status_code == 403, path
    assert "out of date" in without.text
    wrong = send(path, data={"csrf": "wrong", "type": "letter"})
    assert wrong.status_code == 403
    header = send(path, headers={"x-csrf-token": "wrong"})
    assert header.status_code == 403
    assert web.keeper.unlocked  # nothing happened (/lock did not lock)


def test_a_write_from_another_site_is_refused(web: Web) -> None:
    web.unlock()
    answer = web.client.post(
        "/lock", data={"csrf": web.csrf()}, headers={"origin": "http://evil.example"}
    )
    assert answer.status_code == 403
    assert web.keeper.unlocked


def test_the_page_loads_nothing_from_elsewhere(web: Web) -> None:
    web.unlock()
    for path in ("/", f"/doc/{web.docs['letter']}", "/committee", "/store", "/backups"):
        page = web.client.get(path).text
        assert "http://" not in page and "https://" not in page, path
        assert "<script>" not in page.replace('<script src="/static/app.js" defer></script>', "")


def test_answers_go_out_at_once() -> None:
    """The page's socket (and so each connection accepted from it) sends
    without waiting to fill a packet: an answer in two writes (headers, body)
    would otherwise wait about 40 ms for the browser's acknowledgement."""
    import socket

    from vault.web.server import bound_socket

    sock = bound_socket(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()
