"""The secret environment variables, withheld for a command, are in no
child's /proc/PID/environ: not in a spawned program's, and not in a forked
object-part worker's, which shares the block its parent was started with."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import descendants_of, environ_of, program_of

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

_STORE_IN_PARTS = r"""
import sys
from pathlib import Path
from pyrage import x25519
from vault.children import withheld_secrets
from vault.objects import ObjectStore

root = Path(sys.argv[1])
with withheld_secrets():
    store = ObjectStore(root / "objects", root / "tmp", part_size=256 * 1024, jobs=2)
    store.open()
    recipient = x25519.Identity.generate().to_public()
    stored = store.put_file(root / "large.bin", [recipient])
print(len(stored.objects))
"""


def test_forked_part_workers_do_not_show_the_passphrase(tmp_path: Path) -> None:
    (tmp_path / "large.bin").write_bytes(os.urandom(24 * 1024 * 1024))
    child = subprocess.Popen(
        [sys.executable, "-c", _STORE_IN_PARTS, str(tmp_path)],
        env={**os.environ, "VAULT_PASSPHRASE": "Correct Horse 42"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen: dict[int, dict[bytes, bytes]] = {}
    own: list[dict[bytes, bytes]] = []
    while child.poll() is None:
        for pid in descendants_of(child.pid) - seen.keys():
            environ = environ_of(pid)
            if environ is not None and program_of(pid).startswith("python"):
                seen[pid] = environ
        if seen and not own:
            environ = environ_of(child.pid)  # the vault itself, while its workers run
            if environ is not None:
                own.append(environ)
        time.sleep(0.002)
    out, err = child.communicate()
    assert child.returncode == 0, err.decode()
    assert int(out) == 96
    assert seen, "no part worker was seen"
    assert all(b"VAULT_PASSPHRASE" not in environ for environ in seen.values())
    assert own and b"VAULT_PASSPHRASE" not in own[0]
    values = b"".join(v for environ in seen.values() for v in environ.values())
    assert b"Correct Horse" not in values
