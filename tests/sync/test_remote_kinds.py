"""Each remote in words for the emergency sheet: kind and name, never the path."""

from __future__ import annotations

import pytest

from sync.remote_kinds import describe, describe_remotes


@pytest.mark.parametrize(
    "path,words",
    [
        ("/media/pat/USB1/vault", "USB disk folder 'b'"),
        ("/run/media/pat/KINGSTON/vault", "USB disk folder 'b'"),
        ("E:\\vault", "USB disk folder 'b'"),
        ("/srv/backup/vault", "folder 'b' on this computer"),
        (":local:/media/usb/vault", "USB disk folder 'b'"),
        (":b2:centre-bucket/vault", "Backblaze B2 remote 'b'"),
        ("offsite:centre-bucket", "Google Drive remote 'b'"),
        ("nas:vault", "folder 'b' on this computer"),
        ("odd:vault", "rclone remote 'b'"),
        ("unknown:vault", "rclone remote 'b'"),
    ],
)
def test_kind_and_name_only(path: str, words: str) -> None:
    types = {"offsite": "drive", "nas": "local", "odd": "someday-backend"}
    assert describe("b", path, types) == words


def test_the_kind_of_a_named_remote_comes_from_rclone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCLONE_CONFIG_OFFSITE_TYPE", "onedrive")
    config = {"remotes": {"usb": "/media/usb/vault", "cloud": "offsite:vault"}}
    assert describe_remotes(config) == [
        "Microsoft OneDrive remote 'cloud'",
        "USB disk folder 'usb'",
    ]
    assert describe_remotes({}) == []
