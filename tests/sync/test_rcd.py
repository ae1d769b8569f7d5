"""The rclone daemon a sync drives: private, quiet, stopped on every path, one-line errors."""

from __future__ import annotations

import base64
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from sync import rcd, rclone
from sync.backup import sync_remote
from tests.sync.s3server import S3Server, free_port
from vault.errors import RemoteError
from vault.repository import Vault


class Started:
    """Records the daemons started (wraps ``rclone.start_daemon``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.folders: list[Path] = []
        real = rclone.start_daemon

        def start(folder: Path, address: str, **kw: Any) -> subprocess.Popen[bytes]:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
            self.folders.append(folder)
            self.procs.append(real(folder, address, **kw))
            return self.procs[-1]

        monkeypatch.setattr(rclone, "start_daemon", start)


def source_files(folder: Path, count: int) -> list[str]:
    names = []
    for n in range(count):
        path = folder / "objects" / f"{n:02x}" / f"file{n}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (100 + n))
        names.append(path.relative_to(folder).as_posix())
    return names


def test_one_daemon_per_sync_and_nothing_left_behind(
    local_remote: tuple[Vault, str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    vault, name, folder = local_remote
    started = Started(monkeypatch)
    sync_remote(vault, name, str(folder))
    assert len(started.procs) == 1
    assert started.procs[0].poll() is not None  # stopped
    assert not started.folders[0].exists()  # socket and log removed
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # rclone's log never reaches the terminal


def test_ctrl_c_mid_copy_stops_the_daemon(
    local_remote: tuple[Vault, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, name, folder = local_remote
    started = Started(monkeypatch)

    def interrupt(stats: dict[str, Any]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync_remote(vault, name, str(folder), on_stats=interrupt)
    assert started.procs[0].poll() is not None
    assert not started.folders[0].exists()
    assert not (vault.layout.tmp / f"sync-{name}").exists()


def test_copy_reports_each_file_and_stats(tmp_path: Path) -> None:
    source, dest, work = tmp_path / "src", tmp_path / "dst", tmp_path / "work"
    work.mkdir()
    names = source_files(source, 12)
    seen: list[dict[str, Any]] = []
    copied: list[str] = []
    with rcd.Daemon("copy") as daemon:
        sent = daemon.copy_files(
            source, str(dest), [*names, "objects/zz/gone"], work,
            timeout=60, on_stats=seen.append, copied=copied,
        )  # fmt: skip
        assert daemon.list_files(str(dest), recursive=True, timeout=30) is not None
    assert sent == 12  # the file that does not exist is skipped, and the count shows it
    assert sorted(copied) == sorted(names)
    assert seen and seen[-1]["transfers"] == 12 and seen[-1]["totalBytes"] > 0
    assert all((dest / n).read_bytes() == (source / n).read_bytes() for n in names)


def test_one_file_copy_download_delete(tmp_path: Path) -> None:
    source, dest, work = tmp_path / "src", tmp_path / "dst", tmp_path / "work"
    work.mkdir()
    names = source_files(source, 3)
    with rcd.Daemon("steps") as daemon:
        daemon.copy_file(source, names[0], str(dest), "a", timeout=30)
        daemon.copy_file(source, names[1], str(dest), "a", timeout=30)  # replaced
        assert (dest / "a").read_bytes() == (source / names[1]).read_bytes()
        daemon.copy_file(source, names[0], str(dest), "a", timeout=30)
        daemon.download_file(str(dest), "a", work / "back", timeout=30)
        assert (work / "back" / "a").read_bytes() == (source / names[0]).read_bytes()
        daemon.copy_files(source, str(dest), names, work, timeout=30)
        assert daemon.delete_files(str(dest), [*names[:2], "not-there"], work, timeout=30) == 2
        listed = daemon.list_files(str(dest), recursive=True, timeout=30)
    assert sorted(e.path for e in listed or []) == ["a", names[2]]
    assert daemon.calls > 5


def test_missing_folder_is_none_and_unknown_remote_is_named(tmp_path: Path) -> None:
    with rcd.Daemon("sync to remote 'x'") as daemon:
        assert daemon.list_files(str(tmp_path / "none"), recursive=False, timeout=30) is None
        with pytest.raises(RemoteError, match="rclone has no remote called 'nosuchremote'"):
            daemon.list_files("nosuchremote:x", recursive=False, timeout=30, preflight=True)


def test_dead_s3_remote_fails_fast_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # rclone's rc calls a bucket-based remote it could not reach "a file"; the
    # error must still say why.
    secret = "SeCrEt" + "y" * 20
    for key, value in {
        "TYPE": "s3", "PROVIDER": "Rclone", "ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "ACCESS_KEY_ID": "AKTEST", "SECRET_ACCESS_KEY": secret, "FORCE_PATH_STYLE": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"RCLONE_CONFIG_DEAD_{key}", value)
    started = time.monotonic()
    with rcd.Daemon("sync to remote 'dead'") as daemon, pytest.raises(RemoteError) as caught:
        daemon.list_files("dead:bucket/vault", recursive=False, timeout=30, preflight=True)
    assert time.monotonic() - started < 30
    message = caught.value.message
    assert "cannot reach the remote" in message and "\n" not in message
    assert secret not in message and "{" not in message


def test_rc_error_messages_are_classified() -> None:
    refused = (
        "error in ListJSON: operation error S3: ListObjectsV2, https response error "
        "StatusCode: 403, RequestID: , HostID: , api error SignatureDoesNotMatch: The request "
        "signature we calculated does not match"
    )
    error = rclone.describe_failure("sync to remote 'x'", refused)
    assert error.message == "sync to remote 'x' failed: access refused (403 SignatureDoesNotMatch)"
    assert (
        "rclone has no remote called 'y'"
        in rclone.describe_failure("sync", 'didn\'t find section in config file ("y")').message
    )
    assert rclone.describe_failure("sync", "").message == "sync failed: rclone gave no reason"


def test_a_daemon_that_cannot_start_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rclone, "DAEMON_FLAGS", [*rclone.DAEMON_FLAGS, "--no-such-flag"])
    with rcd.Daemon("sync") as daemon, pytest.raises(RemoteError, match="no-such-flag"):
        daemon.list_files(str(tmp_path), recursive=False, timeout=30)


def test_without_unix_sockets_a_loopback_port_with_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.client

    monkeypatch.setattr(rcd, "HAVE_UNIX_SOCKETS", False)
    started = Started(monkeypatch)
    with rcd.Daemon("sync") as daemon:
        assert daemon.list_files(str(tmp_path), recursive=False, timeout=30) == []
        port = daemon._port
        assert port
        anonymous = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        anonymous.request("POST", "/operations/list", body=b'{"fs": "/", "remote": ""}')
        assert anonymous.getresponse().status == 401
        anonymous.close()
        token = daemon._headers["Authorization"].split()[1]
    user, password = base64.b64decode(token).decode().split(":", 1)
    argv = " ".join(str(a) for a in started.procs[0].args)  # type: ignore[union-attr]
    assert user not in argv and password not in argv and "--rc-no-auth" not in argv


def test_the_checksum_after_a_copy_is_skipped_only_from_local_to_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "TYPE": "s3", "PROVIDER": "Rclone", "ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "ACCESS_KEY_ID": "AKTEST", "SECRET_ACCESS_KEY": "x" * 20,
    }.items():  # fmt: skip
        monkeypatch.setenv(f"RCLONE_CONFIG_FAR_{key}", value)
    with rcd.Daemon("sync") as daemon:
        assert daemon._between(tmp_path, str(tmp_path / "dst")) == {"IgnoreChecksum": True}
        assert daemon._between(tmp_path, "far:bucket") == {}  # S3's own MD5 is compared
        assert daemon._between(str(tmp_path), str(tmp_path / "dst")) == {}  # not known local


def test_an_s3_remote_is_never_said_to_have_emptied_its_old_versions(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rclone's cleanup of S3 only ends unfinished uploads: a versioned bucket
    (Backblaze B2's S3 interface always is) keeps every deleted file's old
    version. So an S3 remote counts as one that cannot empty them, and the
    sync after an erasure says to do it in the provider's web page."""
    s3_server.client_env("s3v", monkeypatch)
    source = tmp_path / "src"
    names = source_files(source, 1)
    with rcd.Daemon("sync to remote 's3v'") as daemon:
        daemon.copy_files(source, "s3v:vault/backup", names, tmp_path, timeout=30)
        assert daemon.clean_up("s3v:vault/backup", timeout=30) is False
