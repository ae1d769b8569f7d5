"""OCR of a whole document: plan, pages in parallel processes, searchable PDF.

``ocr_document`` is the package's entry point. It plans the document (and
refuses unreadable input), makes a phone or web picture (WebP, HEIC, GIF,
BMP) into JPEG or PNG pages in a child process with a time limit
(``convert``), keeps the text of born-digital pages, OCRs the
other pages in a process pool (one tesseract thread per process; a PDF page
that is only its JPEG scan goes to its worker as those bytes, see
``embedded``), and lays the recognised text over the original pages. Every
temporary file lives in a private folder inside the caller's ``workdir``
that is removed on every path; only the searchable PDF is left, and on
error nothing is.

Workers are started with ``spawn`` on every system (the default on Windows
and macOS): no inherited locks or threads, the same behaviour everywhere.
It costs about 0.2 s a worker, once per document, or once per batch scan:
the documents split from one (``ingest.batch``) share an ``OcrPool``, which
also gives its pages their first look (``ocr.separator``). They are started
without the caller's main module (see ``_main_module_hidden``): a script
that calls this is not imported again in each worker. A Ctrl-C is this
process's to handle (``vault.workers``): the pool is stopped, tesseract
runs end, and the private folder is removed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
import os
import secrets
import shutil
import sys
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pikepdf

from ocr import convert, imagepdf, images, source, tesseract
from ocr.embedded import StoredScans
from ocr.result import SOURCE_BLANK, SOURCE_OCR, SOURCE_TEXT, OcrResult, PageResult
from ocr.searchable import TextLayer, add_text_layers
from ocr.worker import PageJob, PageOutcome, init_worker, ocr_page
from vault.errors import OcrEngineError, UnreadableInputError
from vault.fsutil import DIR_MODE, FILE_MODE, remove_quietly
from vault.workers import workers_starting

PAGE_TIMEOUT = 180.0  # seconds of tesseract per page run
# Seconds a picture may take to be decoded into pages (``convert``), in all:
# a 12 MP phone photo takes under a second, the largest image allowed
# (``images.MAX_PIXELS``) a few.
CONVERT_TIMEOUT = 30.0
CONVERT_TIMEOUT_PER_PAGE = 10.0
QUEUED_PER_WORKER = 2  # pages handed to the pool per worker at any time
_MAIN_SWAP = threading.Lock()

ProgressCallback = Callable[[int, int], None]


def ocr_document(
    path: Path,
    media_type: str,
    workdir: Path,
    *,
    languages: str = "eng",
    jobs: int | None = None,
    max_pages: int = 200,
    on_page: ProgressCallback | None = None,
    page_timeout: float = PAGE_TIMEOUT,
    pool: OcrPool | None = None,
) -> OcrResult:
    """Text of every page of ``path`` and a searchable PDF inside ``workdir``.

    ``media_type`` is one of ``source.MEDIA_TYPES`` (PDF and images).
    ``on_page(done, total)`` is called as each page is finished. Raises
    ``UnreadableInputError`` for input that cannot be read and
    ``OcrEngineError`` when tesseract is missing, fails or times out.
    ``pool``: worker processes to share (an ``OcrPool``), else its own.
    """
    tesseract.check_languages(languages)
    plan = source.plan_document(path, media_type, max_pages)
    folder = workdir / f"ocr-{secrets.token_hex(6)}"
    folder.mkdir(mode=DIR_MODE)
    searchable = workdir / f"searchable-{secrets.token_hex(6)}.pdf"
    progress = _Progress(plan.page_count, on_page)
    try:
        for _ in plan.text_pages:
            progress.step()
        pictures = None
        if media_type in source.CONVERTED:
            pictures = _convert(path, media_type, folder, plan.page_count)
        outcomes = _ocr_pages(
            plan, path, media_type, folder, languages, jobs, page_timeout, progress, pictures, pool
        )
        pdf_made = _make_searchable(path, media_type, plan, outcomes, searchable, pictures)
        pages = _page_results(plan, outcomes)
    except BaseException:
        remove_quietly(searchable)
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return OcrResult(pages, searchable if pdf_made else None, plan.born_digital)


class _Progress:
    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.done, self.total, self.callback = 0, total, callback

    def step(self) -> None:
        self.done += 1
        if self.callback:
            self.callback(self.done, self.total)


class OcrPool:
    """OCR worker processes kept for several documents (the parts of a batch
    scan): started once, on the first job, and stopped with the ``with``
    block, their temporary files in a private folder of ``workdir``.
    ``submit`` runs any picklable function there (a page's first look,
    ``ocr.separator``, as well as a page's OCR)."""

    def __init__(self, workdir: Path, jobs: int | None = None) -> None:
        self.workers = max(1, jobs or os.cpu_count() or 1)
        self.folder = workdir / f"ocr-pool-{secrets.token_hex(6)}"
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None

    def __enter__(self) -> OcrPool:
        self.folder.mkdir(mode=DIR_MODE)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
        finally:
            self._executor = None
            shutil.rmtree(self.folder, ignore_errors=True)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> concurrent.futures.Future[Any]:
        """``fn(*args)`` in a worker (one is started if none is idle);
        ``OcrEngineError`` when a worker died."""
        if self._executor is None:
            self._executor = _executor(self.workers, self.folder)
        try:
            with _main_module_hidden(), workers_starting():
                return self._executor.submit(fn, *args)
        except BrokenProcessPool as exc:
            raise OcrEngineError("an OCR worker process stopped unexpectedly") from exc


def _executor(workers: int, folder: Path) -> concurrent.futures.ProcessPoolExecutor:
    with workers_starting():  # it may start multiprocessing's resource tracker
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(str(folder), os.getpid()),
        )


def _ocr_pages(
    plan: source.Plan,
    path: Path,
    media_type: str,
    folder: Path,
    languages: str,
    jobs: int | None,
    timeout: float,
    progress: _Progress,
    pages: list[convert.Page] | None = None,
    pool: OcrPool | None = None,
) -> dict[int, PageOutcome]:
    """OCR the planned pages in parallel; results by 0-based page index.
    ``pages``: the picture's frames as files (``convert``), read instead.
    ``pool``: the workers to use (kept when done), else a pool of its own.

    Pages are handed out in order, a few more than there are workers (so none
    waits), each with its stored JPEG when it is only that (``embedded``):
    no more than that is held in memory however long the document."""
    if not plan.ocr_pages:
        return {}
    with contextlib.ExitStack() as stack:
        if pool is None:
            workers = max(1, min(jobs or os.cpu_count() or 1, len(plan.ocr_pages)))
            pool = stack.enter_context(OcrPool(folder, workers))
        return _pages_in(pool, plan, path, media_type, folder, languages, timeout, progress, pages)


def _pages_in(
    pool: OcrPool,
    plan: source.Plan,
    path: Path,
    media_type: str,
    folder: Path,
    languages: str,
    timeout: float,
    progress: _Progress,
    pages: list[convert.Page] | None,
) -> dict[int, PageOutcome]:
    outcomes: dict[int, PageOutcome] = {}
    waiting = list(reversed(plan.ocr_pages))
    running: dict[concurrent.futures.Future[PageOutcome], int] = {}
    try:
        with contextlib.ExitStack() as stack:
            scans = stack.enter_context(StoredScans(path)) if media_type == source.PDF else None

            def hand_out() -> None:
                while waiting and len(running) < pool.workers * QUEUED_PER_WORKER:
                    index = waiting.pop()
                    job = PageJob(index + 1, path, media_type, index, folder, languages, timeout)
                    if pages is not None:
                        job = dataclasses.replace(
                            job, path=pages[index][0], media_type=pages[index][1], index=0
                        )
                    if scans is not None:
                        job = dataclasses.replace(job, scan=scans.scan(index))
                    running[pool.submit(ocr_page, job)] = index

            hand_out()
            while running:
                done, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in done:
                    outcomes[running.pop(future)] = future.result()
                    progress.step()
                hand_out()
    except BrokenProcessPool as exc:
        raise OcrEngineError("an OCR worker process stopped unexpectedly") from exc
    finally:  # a shared pool goes on: this document's pages are stopped
        for future in running:
            future.cancel()
        concurrent.futures.wait(running)
    return outcomes


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """A blank ``__main__`` while worker processes are started.

    A spawned process imports the parent's main module again, in case a
    function defined there is sent to it. Ours run only ``ocr.worker``, so
    they are spared the caller's imports (half a second a worker for the OCR
    benchmark's, with fpdf) and its unguarded top-level code."""
    with _MAIN_SWAP:  # two documents OCR'd in threads must not swap it in turn
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is None:
                del sys.modules["__main__"]
            else:
                sys.modules["__main__"] = main


def _convert(path: Path, media_type: str, folder: Path, page_count: int) -> list[convert.Page]:
    """The picture's pages as JPEG or PNG files in ``folder``, made by a child
    process that is killed if it takes longer than its time limit."""
    timeout = CONVERT_TIMEOUT + CONVERT_TIMEOUT_PER_PAGE * page_count
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=convert.run_child,
        args=(send, path, media_type, folder, page_count, os.getpid()),
        daemon=True,
    )
    try:
        with _main_module_hidden(), workers_starting():
            child.start()
        send.close()  # so that the child's end alone keeps the pipe open
        if not receive.poll(timeout):
            raise UnreadableInputError(f"{images.kind(media_type)} takes too long to decode")
        try:
            kind, value = receive.recv()
        except EOFError:  # it died without a word
            raise UnreadableInputError(f"the {images.kind(media_type)} reader crashed") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if kind != "ok":
        raise UnreadableInputError(str(value))
    return list(value)


def _make_searchable(
    path: Path,
    media_type: str,
    plan: source.Plan,
    outcomes: dict[int, PageOutcome],
    out: Path,
    pages: list[convert.Page] | None = None,
) -> bool:
    """Write the searchable PDF to ``out`` (mode 0600); False if the original
    PDF is one pdfium could read but qpdf cannot rewrite."""
    if plan.born_digital and media_type == source.PDF:
        shutil.copyfile(path, out)
        os.chmod(out, FILE_MODE)
        return True
    layers = [
        TextLayer(index, o.text_pdf, o.rotation, o.straightened, o.turned, o.frame)
        for index, o in sorted(outcomes.items())
        if o.text_pdf is not None  # a blank page has no text to lay over it
    ]
    if pages is not None:
        with imagepdf.build_pages_pdf(pages) as pdf:
            add_text_layers(pdf, layers, out)
        os.chmod(out, FILE_MODE)
        return True
    if media_type != source.PDF:
        with imagepdf.build_image_pdf(path, media_type, plan.page_count) as pdf:
            add_text_layers(pdf, layers, out)
        os.chmod(out, FILE_MODE)
        return True
    try:
        with pikepdf.open(path) as original:
            add_text_layers(original, layers, out)
    except pikepdf.PdfError:  # includes PasswordError
        remove_quietly(out)
        return False
    os.chmod(out, FILE_MODE)
    return True


def _page_results(plan: source.Plan, outcomes: dict[int, PageOutcome]) -> list[PageResult]:
    pages = []
    for index in range(plan.page_count):
        if index in plan.text_pages:
            pages.append(PageResult(index + 1, plan.text_pages[index], None, 0, 0.0, SOURCE_TEXT))
            continue
        o = outcomes.get(index)
        if o is None:
            raise UnreadableInputError("a page could not be processed")
        if o.text_pdf is None:
            pages.append(PageResult(index + 1, "", None, 0, 0.0, SOURCE_BLANK))
            continue
        pages.append(
            PageResult(
                index + 1, o.text, round(o.confidence, 2), o.rotation, round(o.skew, 2), SOURCE_OCR
            )
        )
    return pages
