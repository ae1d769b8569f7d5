"""Generated born-digital documents, and vaults and catalogs made of them.

For tests and benchmarks that need many realistic documents without OCR:
every run with the same seed makes the same documents, and the first N
documents of a longer run are the N documents of a shorter one.

- ``documents(count, seed=...)`` yields ``Document``: the text of 1-3 pages
  (about 3.5 kB of text in all, as a scanned letter gives), its type
  (``referral``, ``court-order``, ``letter``, ``other``), family reference,
  fields (found in the text as ingest finds them), received time (spread over
  2018-2026) and a fixed document id.
- ``build_catalog(count)``: a catalog alone (``Catalog.new()`` + ``add``), the
  fastest way to search many documents.
- ``build_vault(root, count, passphrase)``: a real vault made through the
  library, unlocked, so every manifest carries a MAC: each document is
  stored with ``Vault.store_file`` (its id and received time are the
  generated ones: the id maker and the clock are set for each call), then
  the journal is folded once. ``fast=True`` puts off every fsync to one
  ``os.sync()`` at the end (the files written are the same). Measured on 2
  busy cores: about 6 ms a document stored one by one, 4 ms with ``fast``
  (10,000 documents, the fold included, in 72 s); a catalog alone takes
  about 2 ms a document (100,000 in under 10 minutes).

The words: common English words drawn with a Zipf-like frequency ("the" the
most frequent), the words of the centre's post (contact, supervised, hearing),
and a long tail of surnames (British, Irish, Polish, South Asian, West
African and others, with accents: ``Wiśniewski``, ``O'Connor``, ``Núñez``),
most families with their own case number (``NT26P00412``) and reference
(``F-0042``). Planted for the search tests: the rare surname ``Przybylśki``
and the case number ``NT26P00412`` (one family, in documents 40, 7,500 and
60,000 only) and near spellings in the long tail (``Przybylska``).

Run ``python -m tests.generate N`` to print the first N documents.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from ingest.fields import extract_fields, family_reference
from vault import clock
from vault.manifest import Manifest

if TYPE_CHECKING:
    from vault.catalog import Catalog
    from vault.repository import Vault

SEED = 21
TYPES = ("referral", "court-order", "letter", "other")
_TYPE_WEIGHTS = (30, 20, 35, 15)
RARE_SURNAME = "Przybylśki"
RARE_CASE = "NT26P00412"
RARE_FAMILY = "F-0412"
RARE_DOCUMENTS = (40, 7_500, 60_000)  # the documents of the planted family
_START = datetime(2018, 1, 1, tzinfo=UTC)
_SPAN = int((datetime(2026, 11, 30, tzinfo=UTC) - _START).total_seconds())

# --- words -------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return text.split()


# Common English words, roughly the most frequent first.
_COMMON = _split("""
the of and to a in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their
has would when if so no will more can who said what about up out them then
some into only other time could these two may first any new very like our
after also did many before must through back years where much your way well
down should because each just those people how too little state good very make
world still own see men work long get here between both life being under never
day same another know while last might us great old year off come since against
go came right used take three states himself few house use during without again
place around however home small found thought went say part once general high
upon school every number week does got united left later until often end less
sure told given asked going felt seen kept better held made done several early
nothing away always rather clear able important already together enough though
set full care support need needs needed help open room short hand case point
group problem fact days hours times next whole child children parent parents
mother father family families contact centre court order hearing session
sessions visit visits supervised supported staff worker social report reports
arrangements arrangement review reviewed attend attended attendance handover
safety concerns concern plan plans agreed agreement meeting meetings
letter letters date dates address telephone email weekend saturday sunday
monday tuesday wednesday thursday friday morning afternoon evening
indirect direct supervision supervisor manager team local authority council
service services information application applicant respondent parties party
judge district magistrates legal solicitor solicitors counsel representative
welfare wishes feelings assessment progress behaviour play toys games lunch
snack arrived arrival left leaving departure late early cancelled rearranged
booked booking fee fees invoice paid payment grant funding volunteer volunteers
quiet happy upset calm settled warm positive appropriate inappropriate
discussed explained confirmed requested provided received noted recorded
observed reported advised informed contacted telephoned wrote sent enclosed
copy copies file record records note notes form forms details detail
grandmother grandfather grandparents brother sister siblings aunt uncle carer
foster placement school nursery health doctor visitor police probation
further following previous current recent future possible necessary relevant
""")

# Two-word phrases of the centre's post, drawn as one word.
_PHRASES = [
    "family court", "contact centre", "supervised contact", "supported contact",
    "social worker", "children's services", "local authority", "next hearing",
    "contact session", "child arrangements", "risk assessment", "the court",
    "the child", "the mother", "the father", "the centre", "the family",
]  # fmt: skip

_FIRST_NAMES = _split("""
Anna Maria Sarah Emma Olivia Amelia Isla Ava Mia Sophie Grace Lily Chloe Ella
Zofia Agnieszka Małgorzata Joanna Katarzyna Aoife Siobhán Niamh Saoirse Fatima
Aisha Amira Zainab Priya Ananya Chidinma Adaeze Ama Efua Ioana Zsófia Léa Chloé
Noah Oliver George Harry Jack Leo Oscar Charlie Jacob Thomas James William Adam
Piotr Krzysztof Tomasz Paweł Łukasz Michał Seán Ciarán Pádraig Mohammed Yusuf
Omar Ibrahim Arjun Rohan Chinedu Kwame Kofi Andrei Bence Mathéo José Jürgen
""")

_SURNAMES = _split("""
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts
Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris
Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee
King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price
Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins
Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams
Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt
Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler
Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Nowak O'Connor
O'Brien O'Neill O'Sullivan McCarthy MacDonald McLaughlin Ahmed Rahman
Chowdhury Islam Akhtar Kaur Gill Sharma Okafor Adeyemi Mensah Owusu Boateng
Nwosu Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński
Szymański Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk
Piotrowski Grabowski Nowakowski Pawłowski Michalski Przybylska Przybysz
Popescu Ionescu Horváth Nagy Kovács Tóth Szabó Novák Dvořák Černý Procházka
Jovanović Petrović Müller Schröder Björk Øvergaard Núñez García Fernández López
Martínez González Rodríguez Pérez Sánchez Gómez Ibáñez Çelik Yılmaz Öztürk
Şahin Doğan Nguyễn Trần Phạm Hoàng Dubois Lefèvre Fontaine Girard Rossi Russo
Ferrari Esposito Bianchi Silva Santos Ferreira Pereira Costa Gonçalves
""")

# The long tail: surnames made of a root, a joint and an ending.
_ROOTS = _split("""
Kal Brze Wol Stan Grzyb Ash Brad Craw Dun Fair Hal Mor Pen Rad Sut Thorn Wick
Yar Bor Cież Dro Fil Gor Hen Jar Kor Lis Mił Pod Róż Sob Tar Wit Zar Ald Bram
Carr Dal Elm Fen Gar Holt Ing Kem Lang Marl Nor Os
""")
_JOINTS = ("", "a", "e", "o", "in", "er")
_ENDINGS = _split("""
ski śka wicz czyk son ton ley well ford by ham more ett ová escu oğlu ides ini
""")

_CITIES = _split("""
Leeds Manchester Bristol Sheffield Nottingham Leicester Coventry Bradford Hull
Stoke Derby Plymouth Reading Luton Preston Norwich York Exeter Chester Bath
""")
_COURTS = ("NT", "ZE", "LS", "MA", "BS", "SF", "NG", "LE", "CV", "BD", "HU", "PR")
_TITLES = ("Ms", "Mrs", "Mr", "Miss", "Dr")


def _zipf_cumulative(count: int, shift: float = 2.7) -> list[float]:
    total, out = 0.0, []
    for rank in range(count):
        total += 1.0 / (rank + 1 + shift)
        out.append(total)
    return out


def _long_tail() -> list[str]:
    made = [
        root + joint + ending
        for ending in _ENDINGS
        for joint in _JOINTS
        for root in _ROOTS
        if not (joint == "" and root[-1] == ending[0])
    ]
    # a fixed shuffle, so the tail mixes languages
    random.Random(7).shuffle(made)
    known = set(_SURNAMES) | {RARE_SURNAME}
    return _SURNAMES + [name for name in made if name not in known]


_WORDS = _COMMON + _PHRASES
_WORD_WEIGHTS = _zipf_cumulative(len(_WORDS))
_ALL_SURNAMES = _long_tail()
_SURNAME_WEIGHTS = _zipf_cumulative(len(_ALL_SURNAMES), shift=10.0)


# --- documents ----------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One generated document, with what ingest would record of it."""

    index: int  # its place in the sequence (0 first)
    doc_id: str
    name: str
    media_type: str
    received: str  # ISO 8601, UTC
    doc_type: str
    family: str | None
    pages: list[str]
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def original(self) -> bytes:
        """The original file: the text itself, pages split by form feeds."""
        return "\f".join(self.pages).encode()

    def manifest(self, original: str = "0" * 64, fingerprint: str | None = None) -> Manifest:
        """The manifest ingest would write (``original``: the object id)."""
        from vault.title import title_of

        made = Manifest(
            doc_id=self.doc_id,
            original=original,
            name=self.name,
            media_type=self.media_type,
            size=len(self.original),
            received=self.received,
            pages=len(self.pages),
            doc_type=self.doc_type,
            family=self.family,
            text=list(self.pages),
            fields=self.fields,
            fingerprint=fingerprint,
        )
        return replace(made, title=title_of(made))


@dataclass
class _Family:
    number: int
    case: str
    surnames: tuple[str, ...]  # the mother's, the father's (may be the same)
    mother: str
    father: str
    child: str
    city: str


_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def document_id(index: int) -> str:
    """A fixed, distinct id for document ``index`` (below 32**6)."""
    value = (index * 0x2F4A5B + 0x1234567) % (32**6)  # odd multiplier: a bijection
    chars = []
    for _ in range(6):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "D-" + "".join(reversed(chars))


class _Writer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.families: list[_Family] = []
        self.planted: _Family | None = None
        self.family: _Family | None = None  # the one the document being written is about

    def words(self, count: int) -> list[str]:
        return self.rng.choices(_WORDS, cum_weights=_WORD_WEIGHTS, k=count)

    def surname(self) -> str:
        return self.rng.choices(_ALL_SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]

    def first(self) -> str:
        return self.rng.choice(_FIRST_NAMES)

    def sentence(self) -> str:
        words = self.words(self.rng.randint(6, 22))
        chance = self.rng.random()
        if chance < 0.08 and self.family is not None:  # the family the document is about
            words.insert(self.rng.randrange(len(words)), self.rng.choice(self.family.surnames))
        elif chance < 0.11:  # someone else: staff, a solicitor, a relative
            words.insert(self.rng.randrange(len(words)), self.surname())
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def filler(self, words: int) -> list[str]:
        out, made = [], 0
        while made < words:
            paragraph = self.paragraph(self.rng.randint(2, 6))
            made += paragraph.count(" ") + 1
            out.append(paragraph)
        return out

    def new_family(self, when: datetime) -> _Family:
        mother, father = self.surname(), self.surname()
        if self.rng.random() < 0.5:
            father = mother
        family = _Family(
            number=self.rng.randint(1, 9999),
            case=f"{self.rng.choice(_COURTS)}{when.year % 100:02d}"
            f"{self.rng.choice('PPPC')}{self.rng.randint(0, 99999):05d}",
            surnames=(mother, father),
            mother=self.first(),
            father=self.first(),
            child=self.first(),
            city=self.rng.choice(_CITIES),
        )
        return family

    def family_for(self, index: int, when: datetime) -> _Family:
        if index in RARE_DOCUMENTS:
            if self.planted is None:
                self.planted = _Family(
                    number=int(RARE_FAMILY[2:]),
                    case=RARE_CASE,
                    surnames=(RARE_SURNAME, "Nowak"),
                    mother="Anna",
                    father="Piotr",
                    child="Zofia",
                    city="Nottingham",
                )
            return self.planted
        if not self.families or self.rng.random() < 0.35:
            self.families.append(self.new_family(when))
            del self.families[:-300]  # the families with open cases
        return self.rng.choice(self.families)

    def document(self, index: int) -> Document:
        rng = self.rng
        when = _START + timedelta(seconds=rng.randrange(_SPAN))
        doc_type = rng.choices(TYPES, weights=_TYPE_WEIGHTS)[0]
        family = self.family = self.family_for(index, when)
        day = f"{when.day} {when:%B %Y}"
        ref = f"F-{family.number:04d}"
        mother = f"{family.mother} {family.surnames[0]}"
        father = f"{family.father} {family.surnames[1]}"
        child = f"{family.child} {family.surnames[0]}"
        head = _HEADS[doc_type](self, family, index, when, day, ref, mother, father, child)
        pages = []
        for number in range(rng.choices((1, 2, 3), weights=(35, 40, 25))[0]):
            body = self.filler(rng.randint(180, 420))
            if number == 0:
                body = [*head, *body]
            if rng.random() < 0.3:
                body.append(f"The next hearing is listed for {self.later_day(when)}.")
            pages.append("\n\n".join(body) + "\n")
        if doc_type == "letter":
            pages[-1] += f"\nYours sincerely,\n\n{self.first()} {self.surname()}\n"
        text = "\n".join(pages)
        fields = extract_fields(text)
        fields["ocr_confidence"] = [None] * len(pages)
        name = f"{doc_type}-{when:%Y%m%d}-{index:06d}.pdf"
        return Document(
            index=index,
            doc_id=document_id(index),
            name=name,
            media_type="text/plain",
            received=when.isoformat(timespec="seconds"),
            doc_type=doc_type,
            family=family_reference(text),
            pages=pages,
            fields=fields,
        )

    def later_day(self, when: datetime) -> str:
        later = when + timedelta(days=self.rng.randint(7, 120))
        return f"{later.day} {later:%B %Y}"


def _referral(w: _Writer, f: _Family, index: int, when: datetime, day: str, ref: str,
              mother: str, father: str, child: str) -> list[str]:  # fmt: skip
    worker = f"{w.first()} {w.surname()}"
    return [
        "REFERRAL FOR SUPERVISED CONTACT",
        f"Referral number: REF-{when.year}-{index % 100000:05d}\n"
        f"Referring agency: {f.city} Children's Services\nSocial worker: {worker}\n"
        f"Family reference: {ref}\nCase number: {f.case}\nDate of referral: {day}",
        f"Child: {child}\nMother: {w.rng.choice(_TITLES[:3])} {mother}\nFather: Mr {father}",
        "Reason for referral",
    ]


def _order(w: _Writer, f: _Family, index: int, when: datetime, day: str, ref: str,
           mother: str, father: str, child: str) -> list[str]:  # fmt: skip
    return [
        f"IN THE FAMILY COURT AT {f.city.upper()}\nCase number: {f.case}\n"
        f"THE CHILDREN ACT 1989\nCHILD ARRANGEMENTS ORDER",
        f"Before District Judge {w.surname()} sitting at {f.city} on {day}",
        f"The applicant is {mother} (the mother). The respondent is {father} "
        f"(the father). The child is {child} ({ref}).",
        "IT IS ORDERED THAT",
        f"1. The child shall spend time with the father at the {f.city} contact centre, "
        "supervised, on alternate Saturdays.",
        f"Order number {index}.",
    ]


def _letter(w: _Writer, f: _Family, index: int, when: datetime, day: str, ref: str,
            mother: str, father: str, child: str) -> list[str]:  # fmt: skip
    whom = w.rng.choice((mother, father))
    return [
        f"{f.city} Family Contact Centre\nOur ref: CC/{when.year}/{index}",
        day,
        f"Dear {w.rng.choice(_TITLES)} {whom.split(' ', 1)[1]},",
        f"Re: {child} ({ref}), case {f.case}" if w.rng.random() < 0.7 else f"Re: {child}",
    ]


def _other(w: _Writer, f: _Family, index: int, when: datetime, day: str, ref: str,
           mother: str, father: str, child: str) -> list[str]:  # fmt: skip
    return [
        f"Contact session record {index}\nFamily: {ref}\nDate: {when:%d/%m/%Y}\n"
        f"Supervisor: {w.first()} {w.surname()}",
        f"Present: {child}, {father} (visiting parent).",
        "Notes",
    ]


_HEADS = {"referral": _referral, "court-order": _order, "letter": _letter, "other": _other}


def documents(count: int, seed: int = SEED, start: int = 0) -> Iterator[Document]:
    """Documents ``start`` to ``count - 1`` of the sequence of ``seed``."""
    writer = _Writer(seed)
    for index in range(count):
        made = writer.document(index)
        if index >= start:
            yield made


# --- catalogs and vaults -------------------------------------------------------


def build_catalog(count: int, seed: int = SEED, progress: bool = False) -> Catalog:
    """A catalog of the first ``count`` documents (no vault, no encryption)."""
    from vault.catalog import Catalog

    catalog = Catalog.new()
    began = time.monotonic()
    for doc in documents(count, seed):
        catalog.add(doc.manifest(), f"{doc.index:064x}")
        if progress and doc.index % 5000 == 4999:
            print(f"  catalog: {doc.index + 1} documents, {time.monotonic() - began:.0f} s",
                  file=sys.stderr)  # fmt: skip
    catalog.conn.commit()
    return catalog


@contextmanager
def _as_generated(doc: Document) -> Iterator[None]:
    """``store_file`` gives the document its generated id and received time."""
    before = os.environ.get(clock.TEST_NOW)
    os.environ[clock.TEST_NOW] = doc.received
    try:
        with mock.patch("vault.manifest.new_document_id", return_value=doc.doc_id):
            yield
    finally:
        if before is None:
            del os.environ[clock.TEST_NOW]
        else:
            os.environ[clock.TEST_NOW] = before


def build_vault(
    root: Path,
    count: int,
    passphrase: str,
    *,
    seed: int = SEED,
    fast: bool = False,
    progress: bool = False,
) -> Vault:
    """A new vault at ``root`` holding the first ``count`` documents, returned
    unlocked (its lock released). See the module for ``fast``."""
    from vault.repository import Vault

    vault = Vault.create(root, passphrase, deliver_emergency_key=lambda keys, config: None)
    add_documents(vault, documents(count, seed), fast=fast, progress=progress)
    return vault


def add_documents(
    vault: Vault, docs: Iterator[Document] | list[Document], *, fast: bool = False,
    progress: bool = False,
) -> int:  # fmt: skip
    """Store ``docs`` in the unlocked ``vault`` with ``store_file``, fold the
    journal once, and return how many were stored. ``fast``: every write's
    fsync is put off to one ``os.sync()`` at the end."""
    vault.unlocked_key()
    began = time.monotonic()
    stored = 0
    with vault.lock, _fsync_deferred(fast):
        work = vault.layout.tmp / "generated"
        work.mkdir(mode=0o700, exist_ok=True)
        try:
            for doc in docs:
                with _as_generated(doc):
                    store_one(vault, doc, work)
                stored += 1
                if progress and stored % 1000 == 0:
                    print(f"  vault: {stored} documents, {time.monotonic() - began:.0f} s",
                          file=sys.stderr)  # fmt: skip
        finally:
            for leftover in work.iterdir():
                leftover.unlink()
            work.rmdir()
        vault.fold_journal()
    return stored


def store_one(vault: Vault, doc: Document, work: Path) -> None:
    """Store ``doc`` in ``vault`` from a file in ``work``, removed after."""
    path = work / doc.name
    path.write_bytes(doc.original)
    vault.store_file(
        path,
        name=doc.name,
        media_type=doc.media_type,
        doc_type=doc.doc_type,
        family=doc.family,
        text=doc.pages,
        pages=len(doc.pages),
        fields=doc.fields,
    )
    path.unlink()


@contextmanager
def _fsync_deferred(deferred: bool) -> Iterator[None]:
    """With ``deferred``, ``os.fsync`` does nothing until one ``os.sync()`` at the end."""
    if not deferred:
        yield
        return
    with mock.patch("os.fsync", lambda fd: None):
        yield
    os.sync()


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 3
    for doc in itertools.islice(documents(count), count):
        print(f"=== {doc.doc_id} {doc.name} {doc.doc_type} {doc.family} {doc.received}")
        print(f"    fields: {doc.fields}")
        for number, page in enumerate(doc.pages, 1):
            print(f"--- page {number}\n{page}")


if __name__ == "__main__":
    main(sys.argv[1:])
