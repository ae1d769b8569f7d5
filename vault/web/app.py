"""The web page's routes: unlock and lock, search, documents, the committee page.

Every page is a Jinja2 template rendered with autoescaping, so text from
documents (OCR, file names, fields) is always shown as text, never as
markup. Documents go from memory to the browser (``_decrypted``): nothing
decrypted is written to disk. What the CLI records in the audit log is
recorded here too: the unlock, each document shown or viewed, each
download as an export, each search, each report.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vault.errors import (
    AccessRefusedError,
    LockedError,
    NotFoundError,
    UsageError,
    VaultError,
    WrongKeyError,
)
from vault.web.guard import DOCUMENT_CSP, Guard, GuardMiddleware, Session, csrf_matches
from vault.web.keeper import Keeper, LockedVaultError

if TYPE_CHECKING:
    from vault.repository import Vault
    from vault.web.jobs import Jobs

DOC_TYPES = ["referral", "court-order", "letter", "other"]
HERE = Path(__file__).parent
# Shown in the browser itself: PDFs in its own viewer, pictures it can draw.
INLINE = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
}
SEARCH_LIMIT = 50

Endpoint = Callable[[Request], Awaitable[Response]]


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("vault.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["day"] = _day
    env.filters["size"] = _size
    return env


def _day(value: str | None) -> str:
    from vault.dates import spoken

    try:
        return spoken(value or "")
    except ValueError:
        return (value or "-")[:10]


def _size(value: int | None) -> str:
    size = float(value or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


class Page:
    """The application: its guard, its keeper and its templates."""

    def __init__(self, root: Path, guard: Guard, keeper: Keeper, jobs: Jobs | None = None) -> None:
        self.root = root
        self.guard = guard
        self.keeper = keeper
        self.env = templates()
        if jobs is None:
            from vault.web.jobs import Jobs

            jobs = Jobs(root, keeper)
        self.jobs = jobs

    def close(self) -> None:
        """The page stops: its jobs end (within their time limit) and the key is dropped."""
        try:
            self.jobs.close()
        finally:
            self.keeper.close()

    def render(self, request: Request, name: str, code: int = 200, **context: Any) -> Response:
        session: Session = request.scope["state"]["session"]
        unlocked = self.keeper.unlocked
        body = self.env.get_template(name).render(
            csrf=session.csrf,
            unlocked=unlocked,
            emergency_used=unlocked and self.keeper.by_emergency_key,
            key_label=self.keeper.key_label if unlocked else None,
            level=self.keeper.level if unlocked else None,
            path=request.url.path,
            **context,
        )
        return HTMLResponse(body, status_code=code)

    def fragment(self, name: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context))


class Form:
    """A submitted form (application/x-www-form-urlencoded: the page sends no other)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def getlist(self, name: str) -> list[str]:
        return self.fields.get(name, [])


MAX_FORM = 1024 * 1024


async def form_of(request: Request) -> Form:
    """The request's form, read once and kept (the CSRF check reads it first)."""
    from urllib.parse import parse_qs

    kept = request.scope.setdefault("state", {}).get("form")
    if kept is not None:
        return kept
    fields: dict[str, list[str]] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await request.body()
        if len(body) <= MAX_FORM:
            fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    form = Form(fields)
    request.scope["state"]["form"] = form
    return form


def needs_csrf(endpoint: Endpoint) -> Endpoint:
    """Refuse a request that changes something unless it carries this session's CSRF token."""

    @functools.wraps(endpoint)
    async def checked(request: Request) -> Response:
        session: Session = request.scope["state"]["session"]
        given = request.headers.get("x-csrf-token")
        if given is None:
            given = (await form_of(request)).get("csrf")
        if not csrf_matches(session, given):
            return PlainTextResponse(
                "Refused: the form was out of date. Go back, reload the page and try again.",
                status_code=403,
            )
        return await endpoint(request)

    return checked


def build(
    root: Path,
    guard: Guard,
    keeper: Keeper,
    jobs: Jobs | None = None,
    *,
    idle_check_seconds: float | None = None,
) -> Starlette:
    """The Starlette application of ``vault ui``. While it runs, a task locks
    the vault once it has gone unused for the idle time, every
    ``idle_check_seconds`` (None: only when a request comes); when it stops,
    its jobs end and the key is dropped (``Page.close``)."""
    page = Page(root, guard, keeper, jobs)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async def watch(every: float) -> None:
            while True:
                await asyncio.sleep(every)
                keeper.lock_if_idle()

        task = asyncio.create_task(watch(idle_check_seconds)) if idle_check_seconds else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            await _in_thread(page.close)

    routes = [
        Route("/", functools.partial(home, page)),
        Route("/unlock", needs_csrf(functools.partial(unlock, page)), methods=["POST"]),
        Route(
            "/unlock/emergency",
            needs_csrf(functools.partial(unlock_emergency, page)),
            methods=["POST"],
        ),
        Route("/lock", needs_csrf(functools.partial(lock, page)), methods=["POST"]),
        Route("/results", functools.partial(results, page)),
        Route("/doc/{doc_id}", functools.partial(document, page)),
        Route("/doc/{doc_id}/file/{version}", functools.partial(original, page)),
        Route(
            "/doc/{doc_id}/download",
            needs_csrf(functools.partial(download, page)),
            methods=["POST"],
        ),
        Route("/doc/{doc_id}/edit", needs_csrf(functools.partial(edit, page)), methods=["POST"]),
        Route("/committee", functools.partial(committee, page)),
        Route(
            "/committee/report",
            needs_csrf(functools.partial(committee_report, page)),
            methods=["POST"],
        ),
        Route("/store", functools.partial(store_page, page)),
        Route("/store/upload", needs_csrf(functools.partial(upload, page)), methods=["PUT"]),
        Route("/store/progress", functools.partial(store_progress, page)),
        Route("/quarantine", functools.partial(quarantine_page, page)),
        Route("/backups", functools.partial(backups_page, page)),
        Route("/backups/run", needs_csrf(functools.partial(backup_now, page)), methods=["POST"]),
        Route("/backups/progress", functools.partial(backup_progress, page)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(GuardMiddleware, guard=guard)],
        exception_handlers={VaultError: functools.partial(vault_error, page)},
        lifespan=lifespan,
    )
    return app


async def vault_error(page: Page, request: Request, exc: Exception) -> Response:
    if isinstance(exc, LockedVaultError):
        if request.headers.get("x-requested-with") == "fetch":
            return JSONResponse({"locked": True}, status_code=401)
        return RedirectResponse("/", status_code=303)
    assert isinstance(exc, VaultError)
    status = 404 if isinstance(exc, NotFoundError) else 503 if isinstance(exc, LockedError) else 400
    if isinstance(exc, WrongKeyError | AccessRefusedError):
        status = 403
    return page.render(request, "error.html", code=status, message=exc.message, hint=exc.hint or "")


# --- unlocking ---------------------------------------------------------------------


async def home(page: Page, request: Request) -> Response:
    if not page.keeper.unlocked:
        return page.render(request, "unlock.html")
    return page.render(request, "search.html", types=DOC_TYPES, query=request.query_params)


async def unlock(page: Page, request: Request) -> Response:
    form = await form_of(request)
    passphrase = form.get("passphrase")
    if not isinstance(passphrase, str) or not passphrase:
        return page.render(request, "unlock.html", code=400, wrong=True)
    try:
        await _in_thread(page.keeper.unlock, passphrase)
    except WrongKeyError:
        return page.render(request, "unlock.html", code=403, wrong=True)
    return RedirectResponse("/", status_code=303)


async def unlock_emergency(page: Page, request: Request) -> Response:
    """Unlock with the emergency key of the sealed sheet, typed, and a reason:
    the use is recorded in the audit log, as the CLI's --emergency-key does."""
    from vault import emergency_key

    form = await form_of(request)
    reason = (form.get("reason") or "").strip()
    try:
        secret = emergency_key.from_answer(form.get("emergency_key") or "")
        if not reason:
            raise UsageError("say why the emergency key is used: it goes to the audit log")
        await _in_thread(page.keeper.unlock_with_emergency_key, secret, reason)
    except WrongKeyError:
        problem = "That is not this vault's emergency key. Check it against the sheet."
        return page.render(request, "unlock.html", code=403, emergency=problem, reason=reason)
    except UsageError as exc:
        problem = exc.message[:1].upper() + exc.message[1:] + "."
        return page.render(request, "unlock.html", code=400, emergency=problem, reason=reason)
    return RedirectResponse("/", status_code=303)


async def lock(page: Page, request: Request) -> Response:
    await _in_thread(page.keeper.lock)
    return RedirectResponse("/", status_code=303)


async def _in_thread(work: Callable[..., Any], *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work, *args)


# --- searching -------------------------------------------------------------------------


def read_filters(params: Any) -> dict[str, Any]:
    """The filters of the search form, checked as the CLI checks them."""
    from vault import dates
    from vault import family as families

    doc_type = params.get("type") or None
    if doc_type is not None and doc_type not in DOC_TYPES:
        raise UsageError(f"unknown type {doc_type!r}")
    family = (params.get("family") or "").strip()
    since = (params.get("since") or "").strip()
    until = (params.get("until") or "").strip()
    return {
        "doc_type": doc_type,
        "family": families.normalise(family, "Family") if family else None,
        "since": dates.parse(since, "From") if since else None,
        "until": dates.parse(until, "Until") if until else None,
    }


async def results(page: Page, request: Request) -> Response:
    """The hits for the search box, as an HTML fragment (search as you type)."""
    from vault.search import parse_query, search

    text = request.query_params.get("q", "").strip()
    try:
        filters = read_filters(request.query_params)
    except UsageError as exc:
        return page.fragment("results.html", hits=[], problem=exc.message, text=text)
    if not text:
        return page.fragment("results.html", hits=[], problem=None, text="")
    try:
        query = parse_query(text)
    except UsageError:  # too short yet: say so quietly while the user types on
        return page.fragment("results.html", hits=[], problem=None, text=text, short=True)

    def find(vault: Vault) -> list[Any]:
        hits = search(vault.catalog, query, **filters, limit=SEARCH_LIMIT)
        # Snippets show text: recorded as 'vault search' records (ids, never
        # the words), once a minute for the same documents (``Keeper.record_shown``).
        page.keeper.record_shown(vault, "search", [hit.id for hit in hits])
        return hits

    hits = await page.keeper.run(find)
    return page.fragment("results.html", hits=hits, problem=None, text=text)


# --- one document ----------------------------------------------------------------------


async def document(page: Page, request: Request) -> Response:
    doc_id = request.path_params["doc_id"]

    def read(vault: Vault) -> tuple[dict[str, Any], list[str]]:
        row = vault.document(doc_id)
        text = vault.text(row["id"])
        vault.audit.append("show", [row["id"]])
        return row, text

    row, text = await page.keeper.run(read)
    return page.render(
        request,
        "document.html",
        doc=row,
        text=text,
        inline=_shown_versions(row),
        types=DOC_TYPES,
        fields=sorted((row.get("fields") or {}).items()),
        editable=sorted((k, v) for k, v in (row.get("fields") or {}).items() if isinstance(v, str)),
        saved=request.query_params.get("saved") == "1",
    )


def _shown_versions(row: dict[str, Any]) -> dict[str, str]:
    """The versions the browser can show itself: {version: media type}."""
    shown = {}
    if row.get("media_type") in INLINE:
        shown["original"] = str(row["media_type"])
    if row.get("searchable") and row.get("media_type") != "application/pdf":
        shown["searchable"] = "application/pdf"
    return shown


def _decrypted(vault: Vault, ref: str) -> Iterator[bytes]:
    """The plaintext of object ``ref`` (parts one after another), from memory."""
    from vault.parts import split_ref

    identities = [vault.reading_identity()]  # the data key, or the level's that unlocked
    for object_id in split_ref(ref):
        yield vault.objects.get_bytes(object_id, identities)


async def original(page: Page, request: Request) -> Response:
    """A document shown in the browser (PDF viewer, picture), streamed from memory;
    recorded as a view, as 'vault view' is."""
    from vault.export import version_object
    from vault.parts import split_ref

    doc_id, version = request.path_params["doc_id"], request.path_params["version"]

    def read(vault: Vault) -> tuple[str, list[bytes]]:
        row = vault.document(doc_id)
        media_type = _shown_versions(row).get(version)
        ref = version_object(row, version) if media_type else None
        if media_type is None or ref is None:
            raise NotFoundError(f"document {row['id']} cannot be shown in the browser")
        chunks = list(_decrypted(vault, ref))
        vault.audit.append("view", [row["id"], *split_ref(ref)], version=version)
        return media_type, chunks

    media_type, chunks = await page.keeper.run(read)
    response = StreamingResponse(iter(chunks), media_type=media_type)
    response.headers["content-disposition"] = "inline"
    response.headers["content-security-policy"] = DOCUMENT_CSP
    return response


async def download(page: Page, request: Request) -> Response:
    """The document as a download, recorded in the audit log as an export."""
    from vault.export import media_type_of, version_object
    from vault.filename import document_filename
    from vault.parts import split_ref

    doc_id = request.path_params["doc_id"]
    form = await form_of(request)
    version = "searchable" if form.get("version") == "searchable" else "original"

    def read(vault: Vault) -> tuple[str, str, list[bytes]]:
        refuse_at_level(vault, "export")  # a copy out of the vault: a full key's
        row = vault.document(doc_id)
        ref = version_object(row, version)
        if ref is None:
            raise NotFoundError(f"document {row['id']} has no {version} version")
        media_type = media_type_of(row, version)
        chunks = list(_decrypted(vault, ref))
        vault.audit.append(
            "export",
            [row["id"], *split_ref(ref)],
            version=version,
            to="browser download",
            reason="not given",
            encrypted=False,
        )
        return document_filename(row, media_type), media_type, chunks

    name, media_type, chunks = await page.keeper.run(read)
    response = StreamingResponse(iter(chunks), media_type=media_type)
    response.headers["content-disposition"] = _attachment(name)
    return response


def refuse_at_level(vault: Vault, command: str) -> None:
    """A key of an access level reads and searches; anything else is refused
    (exit status 7 for the CLI), and the refusal recorded, as the CLI does."""
    if vault.level_key is None:
        return
    from vault.key_register import level_refusal

    vault.audit.append("refused", [], command=command)
    raise level_refusal(vault.key_label or "?", vault.level, "this")


def _attachment(name: str) -> str:
    from urllib.parse import quote

    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"


async def edit(page: Page, request: Request) -> Response:
    """Correct the type, family reference and fields, as 'vault edit' does."""
    doc_id = request.path_params["doc_id"]
    form = await form_of(request)
    doc_type = form.get("type")
    family = str(form.get("family") or "").strip()
    names = [str(v) for v in form.getlist("field_name")]
    values = [str(v) for v in form.getlist("field_value")]
    fields: dict[str, Any] = {}
    for name, value in zip(names, values, strict=False):
        if name.strip():
            fields[name.strip()] = value.strip() or None
    new_name, new_value = str(form.get("new_name") or "").strip(), form.get("new_value")
    if new_name and new_value:
        fields[new_name] = str(new_value).strip()

    def change(vault: Vault) -> str:
        refuse_at_level(vault, "edit")
        row = vault.document(doc_id)
        kept = row.get("fields") or {}
        changed = {  # only text fields are edited here; others (OCR confidence) are kept
            k: v for k, v in fields.items() if kept.get(k) != v and isinstance(kept.get(k, ""), str)
        }
        family_now = row.get("family") or ""
        wanted_type = doc_type if doc_type in DOC_TYPES and doc_type != row["doc_type"] else None
        from vault import family as families

        new_family = families.normalise(family, "Family") if family else None
        if wanted_type is None and not changed and (new_family or "") == family_now:
            return str(row["id"])
        vault.edit(
            row["id"],
            doc_type=wanted_type,
            family=new_family if new_family != (family_now or None) else None,
            clear_family=not family and bool(family_now),
            fields=changed or None,
        )
        return str(row["id"])

    done = await page.keeper.run(change)
    return RedirectResponse(f"/doc/{done}?saved=1", status_code=303)


# --- the committee (no passphrase) ---------------------------------------------------------


def _committee_facts(root: Path) -> tuple[Any, Any, Any]:
    from sync.checkup.checklist import take_checklist
    from sync.status import gather_status
    from sync.verdict import verdict_lines
    from vault.repository import Vault, require_vault

    require_vault(root)
    vault = Vault.open(root)
    status = gather_status(vault)
    checklist = take_checklist(vault, status)
    return vault, status, (checklist, verdict_lines(status, checklist))


async def committee(page: Page, request: Request) -> Response:
    """What the committee report says, with its charts; needs no passphrase."""
    from sync.report import checklist_heading, checklist_lines, report_charts, report_lines

    def gather() -> tuple[Any, Any, Any]:
        _, status, (checklist, verdict) = _committee_facts(page.root)
        return status, verdict, checklist

    status, verdict, checklist = await _in_thread(gather)
    return page.render(
        request,
        "committee.html",
        status=status,
        verdict=verdict,
        sections=report_lines(status),
        charts=report_charts(status),
        checks=checklist_lines(checklist),
        checks_heading=checklist_heading(checklist),
    )


async def committee_report(page: Page, request: Request) -> Response:
    """The committee's PDF report, made in memory; recorded as 'vault report' records it."""
    from sync.report import report_bytes
    from vault.readonly import adapt as read_only_adapt

    def make() -> bytes:
        vault, status, (checklist, _) = _committee_facts(page.root)
        data = report_bytes(status, "pdf", checklist=checklist)
        vault.lock.read_only_ok = True
        with vault.lock:
            read_only_adapt(vault)
            vault.audit.append("report", [], documents=status.documents)
        return data

    data = await _in_thread(make)
    return Response(
        data,
        media_type="application/pdf",
        headers={"content-disposition": 'attachment; filename="committee-report.pdf"'},
    )


# --- storing, quarantine and backups (vault.web.jobs) -------------------------------------


async def store_page(page: Page, request: Request) -> Response:
    if not page.keeper.unlocked:
        return RedirectResponse("/", status_code=303)
    return page.render(request, "store.html", types=DOC_TYPES)


async def upload(page: Page, request: Request) -> Response:
    return await page.jobs.receive(request)


async def store_progress(page: Page, request: Request) -> Response:
    return JSONResponse(page.jobs.ingest_progress())


async def quarantine_page(page: Page, request: Request) -> Response:
    found = await _in_thread(page.jobs.quarantined)
    return page.render(request, "quarantine.html", files=found)


async def backups_page(page: Page, request: Request) -> Response:
    found = await _in_thread(page.jobs.backups)
    return page.render(request, "backups.html", remotes=found, running=page.jobs.backup_running)


async def backup_now(page: Page, request: Request) -> Response:
    started = page.jobs.start_backup()
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"started": started})
    return RedirectResponse("/backups", status_code=303)


async def backup_progress(page: Page, request: Request) -> Response:
    return JSONResponse(page.jobs.backup_progress())
