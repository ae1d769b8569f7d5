"""An e-mail's attachments in the catalog: the e-mail's row names them, the
``attached`` table leads back, whatever fills the catalog (add, a chain
record, an older snapshot brought up to date)."""

from __future__ import annotations

import json
import sqlite3

from vault.catalog import Catalog
from vault.manifest import Manifest, parse
from vault.title import make_title


def _manifest(doc_id: str, attachments: list[str] | None = None, **more: object) -> Manifest:
    return Manifest(
        doc_id=doc_id, original="o" * 64, name=f"{doc_id}.eml", media_type="message/rfc822",
        size=1, received="2026-12-03T10:00:00Z", attachments=attachments or [], **more,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_way_back_follows_the_emails_rows() -> None:
    catalog = Catalog.new()
    catalog.add(_manifest("D-AAAAAA"), "m1")
    catalog.add(_manifest("D-BBBBBB"), "m2")
    catalog.add(_manifest("D-EEEEEE", ["D-AAAAAA", "D-BBBBBB"]), "m3")
    assert catalog.attachments_of("D-EEEEEE") == ["D-AAAAAA", "D-BBBBBB"]
    assert catalog.emails_of("D-AAAAAA") == ["D-EEEEEE"]
    assert catalog.get("D-AAAAAA")["attachments"] == []  # type: ignore[index]

    # a copy dropped at a fold: its e-mail leads to the document kept
    catalog.add(_manifest("D-FFFFFF", ["D-CCCCCC"]), "m4")
    catalog.note_duplicate("D-CCCCCC", "D-AAAAAA")
    assert catalog.emails_of("D-AAAAAA") == ["D-EEEEEE", "D-FFFFFF"]

    # the chain's record of the e-mail carries the link to another catalog
    other = Catalog.new()
    for record in catalog.records():
        other.apply(json.loads(json.dumps(record)))
    assert other.emails_of("D-AAAAAA") == ["D-EEEEEE", "D-FFFFFF"]

    catalog.remove("D-EEEEEE")
    assert catalog.emails_of("D-AAAAAA") == ["D-FFFFFF"]
    catalog.remove("D-BBBBBB")  # an attachment erased: the e-mail still names it
    other.remove("D-BBBBBB")
    assert other.attachments_of("D-EEEEEE") == ["D-AAAAAA", "D-BBBBBB"]


def test_an_older_catalog_is_brought_up_to_date() -> None:
    conn = sqlite3.connect(":memory:")
    catalog = Catalog.opened(conn)
    catalog.add(_manifest("D-AAAAAA"), "m1")
    conn.execute("DROP TABLE attached")
    conn.execute("ALTER TABLE documents DROP COLUMN attachments")
    again = Catalog.opened(conn)
    assert again.get("D-AAAAAA")["attachments"] == []  # type: ignore[index]
    again.add(_manifest("D-EEEEEE", ["D-AAAAAA"]), "m2")
    assert again.emails_of("D-AAAAAA") == ["D-EEEEEE"]


def test_a_manifest_names_its_attachments_only_when_it_has_some() -> None:
    plain = _manifest("D-AAAAAA")
    assert b"attachments" not in plain.to_json()  # older manifests keep their bytes
    email = _manifest("D-EEEEEE", ["D-AAAAAA"])
    assert parse(email.to_json(), check_mac=None)[0].attachments == ["D-AAAAAA"]


def test_an_emails_title_is_its_subject_and_the_day_it_was_sent() -> None:
    fields = {"subject": "Referral for the Smith family", "date": "2026-11-30T09:00:00+00:00",
              "dates": ["2026-12-03"]}  # fmt: skip
    title = make_title("referral", ["From: Jane <j@x.org>"], fields, "2026-12-04T10:00:00Z")
    assert title == "Referral \u2014 Referral for the Smith family \u2014 30 Nov 2026"
