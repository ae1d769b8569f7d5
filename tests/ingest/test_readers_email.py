"""E-mails (.eml and Outlook .msg): headers, body and attachments, under limits."""

from __future__ import annotations

import os
import random
from email.message import EmailMessage
from pathlib import Path

import pytest

from ingest.detect import detect_media_type
from ingest.readers import Limits, read_document, read_mail
from ingest.readers.mail import MEDIA_TYPE, OUTLOOK, attachment_name
from tests.ingest.mails import eml, msg, nested_eml
from vault.errors import UnreadableInputError

PDF = b"%PDF-1.4\n% a small pdf\n"


def test_plain_and_html_alternative_takes_the_plain_body(tmp_path: Path) -> None:
    path = eml(tmp_path / "mail.eml", html="<p>the <b>html</b> version: tapir</p>")
    assert detect_media_type(path) == MEDIA_TYPE
    mail = read_mail(path, MEDIA_TYPE)
    assert mail.body == "Please find the referral attached. Word: pangolin."
    assert "tapir" not in mail.body  # the other version of the same body
    assert mail.attachments == []
    assert mail.fields == {
        "from": "Jane Carter <jane.carter@northshire.example>",
        "to": "Harbour View Centre <post@harbourview.example>",
        "cc": "Team <team@northshire.example>",
        "subject": "Referral for the Smith family",
        "date": "2026-12-03T10:15:00+00:00",
    }
    text = read_document(path, MEDIA_TYPE)
    assert text.sections[0].splitlines() == [
        "From: Jane Carter <jane.carter@northshire.example>",
        "To: Harbour View Centre <post@harbourview.example>",
        "Cc: Team <team@northshire.example>",
        "Date: Thu, 03 Dec 2026 10:15:00 +0000",
        "Subject: Referral for the Smith family",
    ]
    assert text.sections[1] == mail.body
    assert text.fields["subject"] == "Referral for the Smith family"


def test_html_only_body_is_its_visible_text(tmp_path: Path) -> None:
    html = (
        "<html><head><title>t</title><style>p {color: stylecolour}</style></head><body>"
        "<p>Visit booked for the <b>quokka</b> room.</p><script>scriptword</script>"
        '<img src="http://127.0.0.1:9/track.png"></body></html>'
    )
    mail = read_mail(eml(tmp_path / "mail.eml", body=None, html=html), MEDIA_TYPE)
    assert "Visit booked for the quokka room." in mail.body
    for hidden in ("stylecolour", "scriptword", "127.0.0.1"):
        assert hidden not in mail.body


def test_attachments_are_taken_with_safe_names(tmp_path: Path) -> None:
    path = eml(
        tmp_path / "mail.eml",
        attachments=[
            ("referral.pdf", PDF, "application/pdf"),
            ("../../etc/passwd", b"not a password file", "text/plain"),
            ("C:\\Users\\x\\notes\x07.txt", b"notes", "text/plain"),
            ("", b"no name", "text/plain"),
        ],
    )
    mail = read_mail(path, MEDIA_TYPE)
    assert [(a.name, a.data) for a in mail.attachments] == [
        ("referral.pdf", PDF),
        ("passwd.txt", b"not a password file"),
        ("notes.txt", b"notes"),
        ("attachment-4.txt", b"no name"),
    ]
    for attachment in mail.attachments:
        assert "/" not in attachment.name and "\\" not in attachment.name
    listed = read_document(path, MEDIA_TYPE).sections[-1].splitlines()
    assert listed[0] == "Attachments (4):" and listed[1].strip() == "referral.pdf"


@pytest.mark.parametrize(
    ("raw", "media_type", "expected"),
    [
        ("report.PDF", None, "report.PDF"),
        ("/tmp/../con.txt", "text/plain", "attachment-1.txt"),
        (None, "application/pdf", "attachment-1.pdf"),
        ("  ..  ", "message/rfc822", "attachment-1.eml"),
        ("x" * 300 + ".docx", None, "x" * 100 + ".docx"),
    ],
)
def test_attachment_names(raw: str | None, media_type: str | None, expected: str) -> None:
    assert attachment_name(raw, 1, media_type) == expected


def test_a_small_inline_picture_is_left_out(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"] = "a@example.org"
    message["Message-ID"] = "<1@example.org>"
    message["Subject"] = "with a logo"
    message.set_content("Body text.")
    message.add_alternative('<p>Body text.</p><img src="cid:logo">', subtype="html")
    html = message.get_payload()[1]
    html.add_related(b"\x89PNG\r\n\x1a\n" + b"\0" * 500, "image", "png", cid="<logo>")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\0" * 500, maintype="image",
                           subtype="png", filename="photo.png")  # fmt: skip
    path = tmp_path / "logo.eml"
    path.write_bytes(message.as_bytes())
    mail = read_mail(path, MEDIA_TYPE)
    assert [a.name for a in mail.attachments] == ["photo.png"]  # attached: taken
    assert mail.pictures == 1


def test_an_attached_email_is_an_attachment_of_its_own(tmp_path: Path) -> None:
    mail = read_mail(nested_eml(tmp_path / "fwd.eml", 2), MEDIA_TYPE)
    assert mail.body == "Forwarded, level 2."
    (inner,) = mail.attachments
    assert inner.name == "level 1.eml"
    (tmp_path / "inner.eml").write_bytes(inner.data)
    assert detect_media_type(tmp_path / "inner.eml") == MEDIA_TYPE
    again = read_mail(tmp_path / "inner.eml", MEDIA_TYPE)
    assert again.headers["subject"] == "level 1"
    assert [a.name for a in again.attachments] == ["innermost.eml"]
    assert "narwhal" not in mail.body  # the inner e-mails' text is theirs


def test_emails_nested_too_deep_are_refused(tmp_path: Path) -> None:
    read_mail(nested_eml(tmp_path / "three.eml", 3), MEDIA_TYPE)  # at the limit
    with pytest.raises(UnreadableInputError, match="e-mails inside e-mails more than 3 deep"):
        read_mail(nested_eml(tmp_path / "four.eml", 4), MEDIA_TYPE)


def test_500_attachments_are_refused_naming_the_count(tmp_path: Path) -> None:
    attachments = [(f"n{n}.txt", f"note {n}".encode(), "text/plain") for n in range(500)]
    path = eml(tmp_path / "many.eml", attachments=attachments)
    with pytest.raises(UnreadableInputError, match="it has 500 attachments, more than the 100"):
        read_mail(path, MEDIA_TYPE)
    read_mail(eml(tmp_path / "hundred.eml", attachments=attachments[:100]), MEDIA_TYPE)


def test_attachment_size_limits(tmp_path: Path) -> None:
    two = [(name, os.urandom(3000), "application/pdf") for name in ("a.bin", "b.bin")]
    path = eml(tmp_path / "big.eml", attachments=two)
    with pytest.raises(UnreadableInputError, match="an attachment is"):
        read_mail(path, MEDIA_TYPE, Limits(max_attachment_bytes=2000))
    with pytest.raises(UnreadableInputError, match="its attachments come to more than"):
        read_mail(path, MEDIA_TYPE, Limits(max_unpacked_bytes=5000))
    with pytest.raises(UnreadableInputError, match="the file is"):
        read_mail(path, MEDIA_TYPE, Limits(max_file_bytes=1000))


def test_too_many_parts_and_too_deep_multiparts_are_refused(tmp_path: Path) -> None:
    boundary = "b"
    deep = "".join(
        f'Content-Type: multipart/mixed; boundary="{boundary}{n}"\n\n--{boundary}{n}\n'
        for n in range(40)
    )
    path = tmp_path / "deep.eml"
    path.write_text(f"From: a@example.org\nMessage-ID: <1@x>\nMIME-Version: 1.0\n{deep}\nx\n")
    with pytest.raises(UnreadableInputError, match="deep inside each other"):
        read_mail(path, MEDIA_TYPE)
    parts = "".join(f"--p\nContent-Type: text/plain\n\npart {n}\n" for n in range(1200))
    path = tmp_path / "parts.eml"
    path.write_text(
        "From: a@example.org\nMessage-ID: <1@x>\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="p"\n\n{parts}--p--\n'
    )
    with pytest.raises(UnreadableInputError, match="more than 1000 MIME parts"):
        read_mail(path, MEDIA_TYPE)


def test_broken_mime_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    path = tmp_path / "broken.eml"
    path.write_bytes(
        b"From: a@example.org\nMessage-ID: <1@x>\nMIME-Version: 1.0\n"
        b"Date: not a date at all\nSubject: =?utf-8?b?broken?=\n"
        b'Content-Type: multipart/mixed; boundary="never"\n\n'
        b"no boundary ever comes: wombat\n"
        b"--never\nContent-Type: application/pdf; name=cut.pdf\n"
        b"Content-Transfer-Encoding: base64\n\n!!!not base64!!!"
    )
    mail = read_mail(path, MEDIA_TYPE)
    assert mail.sent is None and "date" not in mail.fields
    assert mail.headers["date"] == "not a date at all"
    assert [a.name for a in mail.attachments] == ["cut.pdf"]


@pytest.mark.parametrize(
    "content_type",
    [
        b'multipart/mixed; boundary="b""',  # a quote too many
        b'multipart/mixed; boundary="b\r',  # a quote left open, a stray carriage return
        b"multipart/mixed;\r\n\tboundary=b",  # folded, as Outlook writes it
        b'multipart/mixed; boundary="=?utf-8?q?b?="',  # an encoded word where none belongs
    ],
)
def test_a_damaged_structure_is_read_as_leniently_as_the_standard_library_does(
    tmp_path: Path, content_type: bytes
) -> None:
    # Well-formed structure headers are read as they came, any other through
    # policy.default; these are read as policy.default reads them.
    path = tmp_path / "damaged.eml"
    path.write_bytes(
        b"From: a@example.org\nMessage-ID: <1@x>\nMIME-Version: 1.0\n"
        b"Content-Type: " + content_type + b"\n\n"
        b"--b\nContent-Type: text/plain\n\nThe body: okapi.\n"
        b'--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename="'
        b'=?utf-8?q?caf=C3=A9.pdf?="\n\n%PDF\n'
        b"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; "
        b"filename*=no-such-charset''%C3%A9dition.pdf\nContent-Transfer-Encoding: base64\n\n"
        b"JVBERg==\n--b--\n"
    )
    mail = read_mail(path, MEDIA_TYPE)
    assert mail.body == "The body: okapi."
    assert [(a.name, a.data) for a in mail.attachments] == [
        ("café.pdf", b"%PDF"),
        ("édition.pdf", b"%PDF"),
    ]


def test_an_unknown_charset_is_decoded_by_the_text_rules(tmp_path: Path) -> None:
    path = tmp_path / "charset.eml"
    path.write_bytes(
        b"From: a@example.org\nMessage-ID: <1@x>\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\n\nZo\xc3\xab and the zebra\n"
    )
    assert read_mail(path, MEDIA_TYPE).body == "Zoë and the zebra"


def test_a_typed_memo_is_not_an_email(tmp_path: Path) -> None:
    path = tmp_path / "memo.txt"
    path.write_text("To: all staff\nFrom: the manager\n\nThe rota changes on Monday.\n")
    assert detect_media_type(path) == "text/plain"
    path.write_text("Thread-Topic: visit\nARC-Seal: i=1\nMessage-ID: <1@x>\nFrom: a@x\n\nBody\n")
    assert detect_media_type(path) == MEDIA_TYPE


def test_outlook_msg(tmp_path: Path) -> None:
    path = msg(
        tmp_path / "mail.msg",
        attachments=[("referral.pdf", PDF, "application/pdf"),
                     ("notes.txt", b"About an okapi.", "text/plain")],
    )  # fmt: skip
    assert detect_media_type(path) == OUTLOOK
    mail = read_mail(path, OUTLOOK)
    assert mail.body == "Outlook body about a capybara."
    assert mail.fields == {
        "from": "Jane Carter <jane.carter@northshire.example>",
        "to": "Harbour View Centre <post@harbourview.example>",
        "subject": "Outlook referral",
        "date": "2026-12-03T10:15:00+00:00",
    }
    assert [(a.name, a.data) for a in mail.attachments] == [
        ("referral.pdf", PDF),
        ("notes.txt", b"About an okapi."),
    ]
    assert "capybara" in "\n".join(read_document(path, OUTLOOK).sections)


def test_outlook_msg_with_too_many_attachments_is_refused(tmp_path: Path) -> None:
    attachments = [(f"n{n}.txt", b"x", "text/plain") for n in range(101)]
    path = msg(tmp_path / "many.msg", attachments=attachments)
    with pytest.raises(UnreadableInputError, match="it has 101 attachments"):
        read_mail(path, OUTLOOK)


def test_a_damaged_outlook_file_is_refused(tmp_path: Path) -> None:
    good = msg(tmp_path / "mail.msg").read_bytes()
    path = tmp_path / "cut.msg"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(UnreadableInputError):
        read_mail(path, OUTLOOK)


PLAIN_NAMES = ["Jane Carter", "O'Brien", "Team", "x_y-z", "Harbour View Centre 2"]
PLAIN_ADDRESSES = ["jane@example.org", "a.b+c@mail.example.co.uk", "x@y", "a%b@x", "UP@EX.ORG"]
NAMES = ["J. Smith", '"Carter, Jane"', "=?utf-8?q?Zo=C3=AB?=", "Zoë", "Duty  Team",
         "(comment)", "", "a,b", "<x>"]  # fmt: skip
ADDRESSES = [".bad@x", "a..b@x", '"quoted"@x', "no-at-sign", "a@[127.0.0.1]", "a@b.", "@x"]


def test_addresses_are_shown_as_the_standard_library_shows_them() -> None:
    """Plain lists of addresses are shown as they came, without parsing: the
    same as policy.default shows them; any other is parsed by it."""
    from email import policy
    from email.message import Message

    from ingest.readers.mail import _PLAIN_ADDRESSES, _header

    rng = random.Random(13)
    plain = 0
    for _ in range(1000):
        mailboxes = []
        for _ in range(rng.randint(1, 3)):
            plainly = rng.random() < 0.7
            name = rng.choice(PLAIN_NAMES if plainly else NAMES + PLAIN_NAMES)
            address = rng.choice(PLAIN_ADDRESSES if plainly else ADDRESSES + PLAIN_ADDRESSES)
            form = rng.choice(["named", "named", "bare", "bracketed"])
            mailboxes.append(
                {"named": f"{name} <{address}>", "bare": address, "bracketed": f"<{address}>"}[form]
            )
        raw = rng.choice([", ", ", ", ", ", ",", " , "]).join(mailboxes)
        raw += rng.choice(["", "", "", " "])
        message = Message()
        message["To"] = raw
        try:
            expected = str(policy.default.header_fetch_parse("to", raw))
        except Exception:  # what the parser cannot make sense of is shown as it came
            expected = raw
        assert _header(message, "to") == expected, raw
        plain += _PLAIN_ADDRESSES.fullmatch(raw) is not None
    assert plain > 100  # many were taken as they came
