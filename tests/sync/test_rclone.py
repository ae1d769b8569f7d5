"""The rclone module: errors become one line, secrets never show, no shell."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sync import rclone
from tests.sync.s3server import free_port
from vault.errors import ExitCode, RemoteError


def test_binary_is_the_venvs() -> None:
    assert Path(rclone.binary()).name.startswith("rclone")


def test_unreachable_remote_fails_fast_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "SeCrEt" + "x" * 20
    for key, value in {
        "TYPE": "s3", "PROVIDER": "Rclone", "ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "ACCESS_KEY_ID": "AKTEST", "SECRET_ACCESS_KEY": secret, "FORCE_PATH_STYLE": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"RCLONE_CONFIG_DEAD_{key}", value)
    started = time.monotonic()
    with pytest.raises(RemoteError) as caught:
        rclone.list_files(
            "dead:bucket/vault", what="sync to remote 'dead'", recursive=False,
            timeout=rclone.PREFLIGHT_TIMEOUT, preflight=True,
        )  # fmt: skip
    assert time.monotonic() - started < 30
    error = caught.value
    assert error.exit_code == ExitCode.REMOTE
    assert "cannot reach the remote" in error.message and "\n" not in error.message
    assert secret not in error.message and "{" not in error.message


def test_unknown_rclone_remote_is_named() -> None:
    with pytest.raises(RemoteError, match="rclone has no remote called 'nosuchremote'"):
        rclone.list_files(
            "nosuchremote:x", what="sync", recursive=False, timeout=30, preflight=True
        )


def test_missing_folder_is_none_not_an_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing")
    assert rclone.list_files(missing, what="x", recursive=True, timeout=30) is None


def test_secrets_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCLONE_CONFIG_X_SECRET_ACCESS_KEY", "topsecretvalue")
    monkeypatch.setenv("RCLONE_CONFIG_X_TYPE", "s3")
    found = rclone.secrets_in_environment()
    assert "topsecretvalue" in found and "s3" not in found
    result = rclone.Result(1, b"", [{"level": "error", "msg": "bad key topsecretvalue here"}])
    assert "topsecretvalue" not in rclone.remote_error("x", result).message


def test_timeout_becomes_a_remote_error() -> None:
    with pytest.raises(RemoteError, match="did not finish within"):
        rclone.run(["test", "info", "--help"], timeout=0.0001, what="x")


def test_join() -> None:
    assert rclone.join("remote:", "a") == "remote:a"
    assert rclone.join("remote:bucket", "a/b") == "remote:bucket/a/b"
    assert rclone.join("/tmp/x/", "a") == "/tmp/x/a"
