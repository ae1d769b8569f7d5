"""Large documents in parts, encrypted and decrypted by parallel processes.

pyrage encrypts and decrypts on one core and holds Python's lock while it
does, so one age stream cannot go faster than one core allows. A document
larger than ``PART_SIZE`` is therefore stored as consecutive parts of
``PART_SIZE`` bytes of plaintext (the last one shorter), each part its own
standard age file and its own content-addressed object, and the parts are
encrypted by a pool of worker processes. They are decrypted by threads of
this process: the vault's own age reader lets go of Python's lock while it
reads, hashes and writes, and threads need no process start or memory of
their own.

A document's reference (the ``original`` or ``searchable`` of its manifest)
is the object id for a document in one part, and the ids of its parts in
order, joined by ``,``, otherwise. By hand, with the ``age`` command alone, a
document in parts is the parts decrypted one after the other into one file.

Nothing here touches the store's folders: ``ObjectStore`` reserves the temp
files, hands them over, and commits the results.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from vault import crypto
from vault.errors import CryptoFormatError, IntegrityError, VaultError, WrongKeyError
from vault.fsutil import fsync_file
from vault.workers import start_worker, workers_starting

if TYPE_CHECKING:  # the pools are imported only when a large document is stored or read
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")

PART_SIZE = 64 * 1024 * 1024
SEPARATOR = ","
MAX_JOBS = 4


def split_ref(ref: str) -> list[str]:
    """The object ids a document reference names, in order."""
    return ref.split(SEPARATOR)


def join_ref(ids: Sequence[str]) -> str:
    return SEPARATOR.join(ids)


def spans(size: int, part_size: int = PART_SIZE) -> list[tuple[int, int]]:
    """(offset, length) of each part of a file of ``size`` bytes (one part if it fits)."""
    if size <= part_size:
        return [(0, size)]
    return [(offset, min(part_size, size - offset)) for offset in range(0, size, part_size)]


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_JOBS))


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes (``vault.workers``): forked on Linux."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context(method),
        initializer=start_worker,
        initargs=(os.getpid(),),
    )


def _run_all(
    fn: Callable[..., T],
    calls: list[tuple[Any, ...]],
    jobs: int,
    after: Callable[[int], object] | None = None,
) -> list[T]:
    """``fn(*args)`` for each call, in order; in parallel when there is more than one.

    ``after(i)`` runs in this process once call ``i`` has finished, on a
    thread, while the workers go on with the next calls (used to fsync).
    """
    if len(calls) == 1 or jobs <= 1:
        results = []
        for i, args in enumerate(calls):
            results.append(fn(*args))
            if after is not None:
                after(i)
        return results
    from concurrent.futures import ThreadPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pool = process_pool(min(jobs, len(calls)))
    helpers = ThreadPoolExecutor(max_workers=jobs)
    futures: list[Future[T]] = []
    try:
        with workers_starting():
            futures = [pool.submit(fn, *args) for args in calls]
        number = {future: i for i, future in enumerate(futures)}
        followers = []
        for future in as_completed(futures):
            future.result()  # the first failure stops everything
            if after is not None:
                followers.append(helpers.submit(after, number[future]))
        for follower in followers:
            follower.result()
        return [f.result() for f in futures]
    except BrokenProcessPool:  # a worker killed (the out-of-memory killer, say)
        raise VaultError(
            "a worker process stopped while a large document was being encrypted "
            "(killed, or out of memory)",
            hint="nothing of it was kept: store the file again",
        ) from None
    finally:
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        helpers.shutdown(wait=True)


def _run_threads(fn: Callable[..., T], calls: list[tuple[Any, ...]], jobs: int) -> list[T]:
    """``fn(*args)`` for each call, in order, on up to ``jobs`` threads.

    For reading: the vault's own age reader (``vault.age_x25519``) spends
    most of its time where Python's lock is let go (reading, hashing,
    writing), so threads of one process share the cores nearly as well as
    worker processes, without a process's start or its memory; the first
    failure is raised once the calls already running have stopped."""
    if len(calls) == 1 or jobs <= 1:
        return [fn(*args) for args in calls]
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=min(jobs, len(calls)))
    try:
        futures = [pool.submit(fn, *args) for args in calls]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def encrypt_parts(
    src: Path,
    temps: Sequence[Path],
    part_spans: Sequence[tuple[int, int]],
    recipients: Sequence[str],
    *,
    jobs: int,
) -> list[tuple[str, int]]:
    """Encrypt each span of ``src`` into its temp file; (object id, size) of each.

    Every temp file is fsynced before this returns; the fsyncs run here, on
    threads, so the workers never wait for the disk.
    """
    calls = [
        (src, offset, length, temp, list(recipients), False)
        for temp, (offset, length) in zip(temps, part_spans, strict=True)
    ]
    return _run_all(crypto.encrypt_part, calls, jobs, after=lambda i: fsync_file(temps[i]))


def check_and_decrypt(
    path: Path, object_id: str, dst: Path, offset: int, identities: Sequence[str]
) -> int:
    """Decrypt one part into ``dst`` at ``offset``, checking it against its id.

    The hash is taken as the part is read; a part that does not match its id
    is reported as corrupt whether or not age noticed first.
    """
    try:
        written, digest = crypto.decrypt_part(path, dst, offset, identities)
    except (CryptoFormatError, WrongKeyError):
        _refuse_if_not(path, object_id)
        raise
    if digest != object_id:
        raise _corrupt(object_id)
    return written


def _corrupt(object_id: str) -> IntegrityError:
    return IntegrityError(
        f"object {object_id[:12]} is corrupt (its contents do not match its hash)",
        hint="run 'vault verify'; a backup copy can replace it",
    )


def _refuse_if_not(path: Path, object_id: str) -> None:
    """Raise the corrupt-object error unless ``path`` hashes to ``object_id``
    (which age refused: then the caller's error stands)."""
    with open(path, "rb") as f:
        if hashlib.file_digest(f, "sha256").hexdigest() != object_id:
            raise _corrupt(object_id)


def _plaintext_size(path: Path, object_id: str) -> int:
    try:
        return crypto.plaintext_size(path)
    except CryptoFormatError:  # cut short or emptied: name the object
        _refuse_if_not(path, object_id)
        raise


def decrypt_parts(
    parts: Sequence[tuple[Path, str]], dst: Path, identities: Sequence[str], *, jobs: int
) -> None:
    """Check and decrypt the parts ``(path, object id)``, in order, into the
    existing (empty) file ``dst``.

    Each part's plaintext size follows from its size, so every worker knows
    where its part goes before any is decrypted.
    """
    sizes = [_plaintext_size(path, object_id) for path, object_id in parts]
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    os.truncate(dst, sum(sizes))
    calls = [
        (path, object_id, dst, offset, list(identities))
        for (path, object_id), offset in zip(parts, offsets, strict=True)
    ]
    written = _run_threads(check_and_decrypt, calls, jobs)
    if written != sizes:
        raise CryptoFormatError("a part of the document did not decrypt to its expected size")
