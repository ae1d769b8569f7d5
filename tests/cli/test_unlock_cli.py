"""One unlock a morning: ``vault unlock`` leaves the key with the user's key
agent, commands that read take it from there, ``vault lock`` and the idle
time and the end of the session take it away; three tries at the prompt.

Every command runs as a real process; the agent's folder is each test's own
(``XDG_RUNTIME_DIR``), and the agent is stopped when the test ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CANARY, PASSPHRASE, Template
from tests.processes import all_gone, command_line, environ_of, running
from tests.pty_session import Terminal
from vault import agent_client, crypto
from vault.repository import Vault

REASON = ["--reason", "coordinator away, court deadline"]


@pytest.fixture
def session(vault_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment of a user's session: its own agent folder (short, as
    a socket's path must be), no passphrase. The agent is stopped at the end."""
    runtime = Path(tempfile.mkdtemp(prefix="run-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("VAULT_DIR", str(vault_dir))
    monkeypatch.delenv("VAULT_PASSPHRASE", raising=False)
    yield dict(os.environ)
    agents = {pid for pid in pids() if str(runtime).encode() in b" ".join(command_line(pid))}
    for pid in agents:  # found by their command line, whatever a test did to the folder
        os.kill(pid, signal.SIGTERM)
    assert all_gone(agents)
    shutil.rmtree(runtime, ignore_errors=True)


def pids() -> set[int]:
    return {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}


def vault(
    *args: str, env: dict[str, str] | None = None, passphrase: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the vault command with no terminal: it can ask nothing."""
    run_env = dict(env if env is not None else os.environ)
    if passphrase:
        run_env["VAULT_PASSPHRASE"] = PASSPHRASE
    done = subprocess.run(
        [sys.executable, "-m", "vault", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=run_env,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert PASSPHRASE not in done.stdout + done.stderr
    return done


def stored(vault_dir: Path) -> str:
    """Store one small text document through the library (no OCR); its id."""
    source = vault_dir.parent / "letter.txt"
    source.write_text(f"Letter about {CANARY}.\n")
    opened = Vault.open(vault_dir)
    with opened.lock:
        opened.unlock(PASSPHRASE)
        doc = opened.store_file(
            source, name="letter.txt", media_type="text/plain", text=[source.read_text()]
        )
        opened.fold_journal()
    source.unlink()
    return doc.doc_id


def set_config(vault_dir: Path, **settings: object) -> None:
    path = vault_dir / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **settings}))


def asks_for_the_passphrase(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode == 2 and "no passphrase given" in done.stderr


def test_unlock_then_list_and_show_ask_nothing(
    session: dict[str, str], vault_dir: Path, template_vault: Template
) -> None:
    doc = stored(vault_dir)
    assert asks_for_the_passphrase(vault("list"))
    unlocked = vault("unlock", passphrase=True)
    assert unlocked.returncode == 0, unlocked.stderr
    assert unlocked.stdout.startswith("Unlocked until ")
    assert "10 minutes without use" in unlocked.stderr

    listed = vault("list")
    assert listed.returncode == 0, listed.stderr
    assert doc in listed.stdout
    shown = vault("show", doc)
    assert shown.returncode == 0 and CANARY in shown.stdout
    found = vault("search", "Letter")
    assert found.returncode == 0 and doc in found.stdout
    edited = vault("edit", doc, "--family", "f42")
    assert edited.returncode == 0 and "F-0042" in edited.stdout + edited.stderr
    out = vault_dir.parent / "for-the-solicitor.txt"
    exported = vault("export", doc, "--out", str(out))
    assert exported.returncode == 0 and CANARY in out.read_text(), exported.stderr
    out.unlink()
    viewed = vault("view", doc, env={**session, "VAULT_VIEWER": "true"})
    assert viewed.returncode == 0, viewed.stderr

    status = vault("status")
    assert "Unlocked: until " in status.stdout
    assert json.loads(vault("status", "--json").stdout)["unlocked_until"]
    # The agent holds the key in memory only: not in its folder, not in its
    # environment, and it cannot leave a core file.
    pid = agent_client.agent_pid()
    assert pid is not None
    secret = template_vault.data_secret.encode()
    folder = agent_client.folder()
    for path in [folder, *folder.rglob("*")]:
        assert not path.is_file() or secret not in path.read_bytes()
    for path in Path(session["XDG_STATE_HOME"]).rglob("*"):
        assert not path.is_file() or secret not in path.read_bytes()
    assert b"VAULT_PASSPHRASE" not in b"".join((environ_of(pid) or {}).keys())
    limits = Path(f"/proc/{pid}/limits").read_text()
    core = [line for line in limits.splitlines() if line.startswith("Max core file size")]
    assert core and core[0].split()[4:6] == ["0", "0"], core


def test_lock_then_a_command_asks_again(session: dict[str, str], vault_dir: Path) -> None:
    assert vault("unlock", passphrase=True).returncode == 0
    pid = agent_client.agent_pid()
    assert pid is not None and vault("list").returncode == 0
    locked = vault("lock")
    assert locked.returncode == 0 and "Locked" in locked.stdout
    assert asks_for_the_passphrase(vault("list"))
    assert all_gone({pid}), "the agent holds no key and must have left"
    assert "Unlocked: no" in vault("status").stdout
    assert "was not unlocked" in vault("lock").stdout


def test_one_agent_serves_two_vaults(
    session: dict[str, str], vault_dir: Path, template_vault: Template, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    subprocess.run(["cp", "-a", str(template_vault.path), str(other)], check=True)
    assert vault("unlock", passphrase=True).returncode == 0
    pid = agent_client.agent_pid()
    assert vault("--vault", str(other), "unlock", passphrase=True).returncode == 0
    assert agent_client.agent_pid() == pid
    assert vault("lock").returncode == 0
    assert asks_for_the_passphrase(vault("list"))
    assert vault("--vault", str(other), "list").returncode == 0
    assert vault("lock", "--all").returncode == 0
    assert asks_for_the_passphrase(vault("--vault", str(other), "list"))
    assert pid is not None and all_gone({pid})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_the_agent_forgets_on_a_signal(
    session: dict[str, str], vault_dir: Path, signum: signal.Signals
) -> None:
    assert vault("unlock", passphrase=True).returncode == 0
    pid = agent_client.agent_pid()
    assert pid is not None
    os.kill(pid, signum)
    assert all_gone({pid})
    assert not (agent_client.folder() / agent_client.SOCKET_NAME).exists()
    assert asks_for_the_passphrase(vault("list"))


def test_idle_lock_from_the_vaults_settings(session: dict[str, str], vault_dir: Path) -> None:
    set_config(vault_dir, ui_idle_lock_minutes=0.05)  # 3 s: room for a slow start
    assert vault("unlock", passphrase=True).returncode == 0
    pid = agent_client.agent_pid()
    assert pid is not None
    time.sleep(1.5)
    assert vault("list").returncode == 0  # a use: the idle time starts again
    time.sleep(1.6)  # past 3 s since the unlock
    assert vault("list").returncode == 0
    assert all_gone({pid}, within=10.0)
    assert asks_for_the_passphrase(vault("list"))


def test_a_malformed_idle_setting_is_one_clear_error(
    session: dict[str, str], vault_dir: Path
) -> None:
    set_config(vault_dir, ui_idle_lock_minutes="ten")
    done = vault("unlock", passphrase=True)
    assert done.returncode == 2 and "ui_idle_lock_minutes" in done.stderr


@pytest.mark.parametrize("minutes", [1e300, float("inf"), 525_600])
def test_an_idle_setting_that_never_locks_is_refused(
    session: dict[str, str], vault_dir: Path, minutes: float
) -> None:
    """An idle lock of a year, forever (JSON's Infinity) or beyond the clock
    is no lock: refused in one line, nothing unlocked."""
    path = vault_dir / "config.json"
    config = json.loads(path.read_text())
    config["ui_idle_lock_minutes"] = minutes
    path.write_text(json.dumps(config))  # Infinity, as Python's json writes it
    done = vault("unlock", passphrase=True)
    assert done.returncode == 2, done.stderr
    assert "ui_idle_lock_minutes" in done.stderr
    assert agent_client.agent_pid() is None


def test_folder_and_socket_are_private(session: dict[str, str], vault_dir: Path) -> None:
    assert vault("unlock", passphrase=True).returncode == 0
    folder = agent_client.folder()
    assert folder.parent == Path(session["XDG_RUNTIME_DIR"])
    info = folder.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()
    sock = folder / agent_client.SOCKET_NAME
    assert stat.S_ISSOCK(sock.lstat().st_mode) and stat.S_IMODE(sock.lstat().st_mode) == 0o600


def test_an_unsafe_folder_is_refused_before_asking(
    session: dict[str, str], vault_dir: Path
) -> None:
    folder = agent_client.folder()
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    done = vault("unlock", passphrase=True)
    assert done.returncode == 1 and "is not private" in done.stderr
    assert agent_client.agent_pid() is None


CLIENT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print("connect", exc.errno)
    sys.exit()
try:
    s.sendall(b'{"op": "get", "vault": "%s"}\\n' % sys.argv[2].encode())
    answer = s.recv(4096)
except OSError:
    answer = b""  # closed unread: reset
print("answer", repr(answer))
"""


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def as_nobody(sock: Path, name: str, *, by_descriptor: bool = False) -> str:
    """Ask the agent for the key as user nobody. ``by_descriptor``: reach the
    socket through a descriptor opened here (``/proc/self/fd/N``), past the
    folders around it, so that only the socket's own mode and the agent's
    check of who is asking stand in the way."""
    fd = os.open(sock, os.O_PATH)
    try:
        where = f"/proc/self/fd/{fd}" if by_descriptor else str(sock)
        done = subprocess.run(
            [*NOBODY, "/usr/bin/python3", "-c", CLIENT, where, name],
            capture_output=True,
            text=True,
            timeout=30,
            cwd="/",
            pass_fds=[fd],
        )
    finally:
        os.close(fd)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_another_user_cannot_reach_the_key(
    session: dict[str, str], vault_dir: Path, template_vault: Template
) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to run a process as another user")
    assert vault("unlock", passphrase=True).returncode == 0
    sock = agent_client.folder() / agent_client.SOCKET_NAME
    name = agent_client.key_name(vault_dir)
    assert as_nobody(sock, name) == "connect 13"  # the private folder: permission denied
    assert as_nobody(sock, name, by_descriptor=True) == "connect 13"  # the socket: 0600
    # With the socket opened to everyone, the agent checks who is asking, and
    # answers another user nothing.
    sock.chmod(0o666)
    answer = as_nobody(sock, name, by_descriptor=True)
    assert answer == "answer b''", answer
    assert template_vault.data_secret not in answer
    sock.chmod(0o600)
    assert vault("list").returncode == 0  # its own user is still served


def test_the_agent_leaves_with_the_session(session: dict[str, str], vault_dir: Path) -> None:
    env = {**session, "VAULT_PASSPHRASE": PASSPHRASE}
    shell = subprocess.Popen(  # a login shell: the leader of its own session
        ["sh", "-c", f"{sys.executable} -m vault unlock >/dev/null 2>&1 && exec sleep 120"],
        env=env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while agent_client.unlocked_until(vault_dir) is None:
            assert time.monotonic() < deadline and shell.poll() is None
            time.sleep(0.1)
        pid = agent_client.agent_pid()
        assert pid is not None and running(pid)
        assert vault("list").returncode == 0
    finally:
        shell.kill()  # the session ends (logging out, the terminal closed)
        shell.wait()
    assert all_gone({pid}, within=10.0)
    assert asks_for_the_passphrase(vault("list"))


@pytest.mark.parametrize("stale", ["re-keyed", "another vault"])
def test_a_stale_key_falls_back_to_asking(
    session: dict[str, str], vault_dir: Path, stale: str
) -> None:
    config = json.loads((vault_dir / "config.json").read_text())
    if stale == "re-keyed":
        other_secret, _ = crypto.generate_identity()
        vault_id, secret = config["vault_id"], other_secret
    else:
        vault_id, secret = "0123456789abcdef", "AGE-SECRET-KEY-1NOTAKEY"
    agent_client.store_key(vault_dir, vault_id, secret, idle_seconds=60, watch_pid=None)
    done = vault("list")
    assert asks_for_the_passphrase(done)
    assert "no longer opens this vault" in done.stderr
    assert secret not in done.stderr
    assert agent_client.unlocked_until(vault_dir) is None  # forgotten
    assert vault("list", passphrase=True).returncode == 0


def test_a_passphrase_given_still_wins(session: dict[str, str], vault_dir: Path) -> None:
    assert vault("unlock", passphrase=True).returncode == 0
    wrong = {**session, "VAULT_PASSPHRASE": "Wrong Horse 42"}
    done = vault("list", env=wrong)
    assert done.returncode == 3 and "wrong passphrase" in done.stderr
    assert "emergency" not in done.stderr  # one mistake in a script: no envelope


def test_changing_keys_asks_even_when_unlocked(session: dict[str, str], vault_dir: Path) -> None:
    assert vault("unlock", passphrase=True).returncode == 0
    assert asks_for_the_passphrase(vault("passwd"))


def test_the_emergency_key_is_audited_every_time(
    session: dict[str, str], vault_dir: Path, template_vault: Template, tmp_path: Path
) -> None:
    keyfile = tmp_path / "key.txt"
    keyfile.write_text(template_vault.emergency_secret + "\n")

    def uses() -> int:
        return sum(1 for e in Vault.open(vault_dir).audit.entries() if e.event == "emergency-use")

    done = vault("unlock", "--emergency-key", str(keyfile), *REASON)
    assert done.returncode == 0, done.stderr
    assert "emergency key was used" in done.stderr and uses() == 1
    assert vault("list").returncode == 0 and uses() == 1
    assert vault("list", "--emergency-key", str(keyfile), *REASON).returncode == 0
    assert uses() == 2


def on_terminal(args: list[str], answers: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the vault command on a pseudo-terminal, typing ``answers`` at its
    passphrase prompts; return its exit status and what the terminal showed."""
    terminal = Terminal(args, env)
    for answer in answers:
        terminal.expect("Passphrase:")
        terminal.send(answer)
    return terminal.finish(), terminal.seen


def test_a_typo_gets_another_try_and_no_envelope(session: dict[str, str], vault_dir: Path) -> None:
    status, shown = on_terminal(["list"], ["Correct Hrose 42", PASSPHRASE], session)
    assert status == 0, shown
    assert shown.count("Passphrase:") == 2
    assert "Wrong passphrase; try again (2 tries left)." in shown
    assert "emergency" not in shown and "Hrose" not in shown


def test_three_wrong_tries_then_the_envelope(session: dict[str, str], vault_dir: Path) -> None:
    wrong = ["Wrong Horse 1", "Wrong Horse 2", "Wrong Horse 3"]
    status, shown = on_terminal(["unlock"], wrong, session)
    assert status == 3, shown
    assert shown.count("Passphrase:") == 3
    assert shown.count("try again") == 2
    last = shown.split("Passphrase:")[-1]
    assert "vault: error: wrong passphrase (3 tries)" in last
    assert "emergency" in last and "emergency" not in shown.split("Passphrase:")[-2]
    assert not any(word in shown for word in wrong)
    assert agent_client.agent_pid() is None


def test_an_agent_answering_a_time_beyond_the_clock_breaks_nothing(
    session: dict[str, str], vault_dir: Path
) -> None:
    """Whatever answers at the agent's socket (a broken or stand-in agent),
    a lock time of Infinity or NaN is no time: status says locked, unlock
    says the key was not taken, neither ends in a traceback."""
    import socket
    import threading

    path = agent_client.checked_folder(create=True) / agent_client.SOCKET_NAME
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                agent_client.read_line(conn)
                conn.sendall(b'{"ok": true, "pid": 1, "until": Infinity, "forgot": 0}\n')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert agent_client.unlocked_until(vault_dir) is None
        status = vault("status")
        assert "Unlocked: no." in status.stdout, status.stdout + status.stderr
        done = vault("unlock", passphrase=True)
        assert done.returncode == 1 and "did not take the key" in done.stderr, done.stderr
    finally:
        stop.set()
        thread.join()
        server.close()


def test_ingest_while_unlocked_names_a_duplicate_at_once(
    session: dict[str, str], vault_dir: Path, tmp_path: Path
) -> None:
    """The key the agent holds lets ingest find a copy of a stored document
    straight away, as a passphrase given would."""
    from tests.conftest import make_pdf

    letter = make_pdf(tmp_path / "letter.pdf", "A letter for family F-0042")
    first = vault("ingest", "--keep-source", str(letter), passphrase=True)
    assert first.returncode == 0, first.stderr
    doc = first.stdout.split()[0]
    assert vault("unlock", passphrase=True).returncode == 0
    again = vault("ingest", "--keep-source", str(letter))
    assert again.returncode == 0, again.stderr
    assert f"a duplicate of {doc}, not stored again" in again.stdout + again.stderr
    assert "looked for when the vault is next unlocked" not in again.stderr


def test_a_session_key_unlocked_reads_only_its_level_until_it_is_removed(
    session: dict[str, str], vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    from tests.conftest import TEST_WORK_FACTOR
    from vault import access, key_register, scrypt_file

    volunteer = "Volunteer Tea 58"
    doc = stored(vault_dir)
    other = vault_dir.parent / "other.txt"
    other.write_text("Another letter, not for the session.\n")
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )
    opened = Vault.open(vault_dir)
    with opened.lock:
        opened.unlock(PASSPHRASE)
        key = opened.unlocked_key()
        key_register.add_key(
            opened.key_paths, opened.config, key, "volunteer", volunteer, "session"
        )
        withheld = opened.store_file(
            other, name="other.txt", media_type="text/plain", text=[other.read_text()]
        ).doc_id
        opened.fold_journal()
        access.change(opened, access.GRANT, "session", [doc])
    unlocked = vault("unlock", env={**session, "VAULT_PASSPHRASE": volunteer})
    assert unlocked.returncode == 0, unlocked.stderr
    listed = vault("list")
    assert listed.returncode == 0 and doc in listed.stdout and withheld not in listed.stdout
    viewed = vault("view", doc, env={**session, "VAULT_VIEWER": "true"})
    assert viewed.returncode == 0, viewed.stderr
    refused = vault("export", doc, "--out", str(vault_dir.parent / "out.txt"))
    assert refused.returncode == 7 and "key of the access level 'session'" in refused.stderr
    assert volunteer not in listed.stdout + refused.stderr
    removed = vault("key", "remove", "volunteer", "--yes", passphrase=True)
    assert removed.returncode == 0, removed.stderr
    assert asks_for_the_passphrase(vault("list"))  # the session unlock ended with the key
