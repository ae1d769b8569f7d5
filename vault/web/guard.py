"""Who may use the web page: the token, the session cookie, CSRF and the headers.

``vault ui`` makes a random token when it starts and opens the browser at
a URL carrying it; a request with the right token gets a session cookie
(HttpOnly, SameSite=Strict, valid only while this process with this token
runs) and is sent on to the same page without the token in its address.
Without the token or such a cookie nothing is served, not even the style
sheet. Each session has its own CSRF token, which every request that
changes something must carry (a form field or the ``X-CSRF-Token`` header).
Requests for another host name than the page's own (DNS rebinding) and
cross-origin writes are refused. Every response says: never cache, never
frame, never guess a type, no referrer to other sites, and a
Content-Security-Policy that allows only this page's own scripts and styles.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# A document shown inline (a PDF in the browser's own viewer, an image): no
# script, nothing fetched, and a sandbox for images.
DOCUMENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'"
HEADERS = {
    "cache-control": "no-store, max-age=0",
    "pragma": "no-cache",
    "expires": "0",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
REFUSED = (
    "This page opens only from the link that 'vault ui' printed (or opened) "
    "on this computer. Run 'vault ui' again to get a new link."
)


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))


class Guard:
    """The token of this run and its sessions."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        self.cookie = f"vault_ui_{port}"
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}
        self._sessions: dict[str, Session] = {}

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}?{urlencode({'token': self.token})}"

    def session_of(self, request: Request) -> Session | None:
        value = request.cookies.get(self.cookie, "")
        return self._sessions.get(value) if value else None

    def new_session(self) -> str:
        value = secrets.token_urlsafe(32)
        self._sessions[value] = Session()
        return value

    def end_sessions(self) -> None:
        self._sessions.clear()

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())


def csrf_matches(session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), session.csrf.encode())


class GuardMiddleware:
    """Refuses what the guard does not let in, and adds the headers to every response."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response = self._refusal(request)
        if response is not None:
            await _secured(response)(scope, receive, send)
            return
        await self.app(scope, receive, _secured_send(send))

    def _refusal(self, request: Request) -> Response | None:
        guard = self.guard
        if request.headers.get("host", "") not in guard.hosts:
            return PlainTextResponse("Unknown host name.", status_code=421)
        given = request.query_params.get("token")
        if given is not None:
            if not guard.token_matches(given):
                return PlainTextResponse(REFUSED, status_code=403)
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = URL(path=request.url.path, query=urlencode(kept))
            response = RedirectResponse(str(target), status_code=303)
            response.set_cookie(
                guard.cookie,
                guard.new_session(),
                httponly=True,
                samesite="strict",
                path="/",
            )
            return response
        session = guard.session_of(request)
        if session is None:
            return PlainTextResponse(REFUSED, status_code=403)
        request.scope.setdefault("state", {})["session"] = session
        if request.method in UNSAFE:
            origin = request.headers.get("origin")
            if origin is not None and origin not in guard.origins:
                return PlainTextResponse("Refused: a request from another site.", status_code=403)
        return None


def _secured(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers[name] = value
    response.headers["content-security-policy"] = CSP
    return response


def _secured_send(send: Send) -> Callable[[Message], Awaitable[None]]:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (k, v)
                for k, v in message.get("headers", [])
                if k.decode("latin-1").lower() not in HEADERS
            ]
            names = {k.decode("latin-1").lower() for k, _ in headers}
            headers.extend((k.encode(), v.encode()) for k, v in HEADERS.items())
            if "content-security-policy" not in names:
                headers.append((b"content-security-policy", CSP.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return sending
