"""``vault status``: the health of the vault and its backups, without a key.

Everything here comes from files that hold no personal data: the head (the
document count and its short hash), the journal (documents stored but not yet
checked by an unlocked command: only entries signed by the signing key the
head names count; others are shown as untrusted, since the fold will set
them aside), the audit log (event types, times, ids and
emergency-key reasons), ``config.json`` and the remotes' state files. Pages
are not counted: the page counts are inside the encrypted catalog. No
document name, text or remote path (a local path can contain a person's
name) is shown.

The head's figures (document count, state code) are authentic only if its
MAC checks, which needs the key: with the vault unlocked they are checked
(``head_verified``), otherwise shown as unverified. A head whose MAC fails
is a warning naming ``vault rebuild-catalog``.

Warnings, in plain words, when a remote's last backup is older than
``backup_max_age_hours`` (config, default 24), when a check of the vault or
of a remote found a problem that no later check has cleared (``history.py``),
when nothing has been verified for ``verify_max_age_days`` (config, default
30), or when no restore drill of a remote passed within
``drill_max_age_days`` (config, default 92). Each warning is an ``Alert``
with two wordings: for the coordinator (``warnings``: what to run) and for
the committee's report (what to ask the coordinator to do).

Data breaches (``vault.incidents``) come from the audit log too: each open
one with its deadline to report it to the ICO (72 hours after the centre
became aware), and each closed since the last committee report (a ``report``
entry) with its decision; never their notes, which are encrypted.

Expected post (``vault.expected``) comes from the audit log too: each open
expectation (its type and due day, overdue by how many days, whether the
sender was asked again) and each received, cancelled or written off as lost
since the last committee report; never the family, the sender or the
notes, which are encrypted.

Emergency-key uses are counted from the committee's last acknowledgement
(``vault audit ack``), whatever else happened since: making a report does
not reset them. Times are recorded in UTC and shown in local time
(``vault.clock``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sync import segments
from sync.backup import make_plan
from sync.history import Checks, History, add_entry
from sync.key_check import KeyCheck, KeyStatus, LevelStatus, check_keys, check_levels, unused
from sync.remotes import remotes
from sync.snapshot import HEAD, take_snapshot
from sync.state import load_state
from vault import clock, dates, expected, incidents, signing
from vault import journal as journals
from vault.anchor import check_present
from vault.audit import UNREADABLE, AuditEntry
from vault.errors import IntegrityError, VaultError
from vault.head import Head, read_head
from vault.repository import Vault

DEFAULT_BACKUP_MAX_AGE_HOURS = 24
DEFAULT_VERIFY_MAX_AGE_DAYS = 30
DEFAULT_DRILL_MAX_AGE_DAYS = 92


@dataclass(frozen=True)
class Alert:
    """A warning, worded for the coordinator at the computer and for the committee.

    ``fact``: what is wrong, a sentence without its full stop. ``todo``: what
    the coordinator does about it, often a command. ``ask``: what the
    committee does about it, a whole sentence addressed to people ("Ask the
    coordinator to ..."), never a command.
    """

    fact: str
    todo: str = ""
    ask: str = ""

    def for_coordinator(self) -> str:
        return f"{self.fact}: {self.todo}." if self.todo else f"{self.fact}."

    def for_committee(self) -> str:
        return f"{self.fact}. {self.ask}." if self.ask else f"{self.fact}."


@dataclass
class RemoteStatus:
    name: str
    last_sync: str | None = None
    hours_since_sync: float | None = None
    synced_head: str | None = None
    waiting_files: int | None = None
    waiting_bytes: int | None = None
    waiting_deletions: int | None = None  # files of erased or replaced documents still there
    last_verify: dict[str, Any] | None = None  # the last check asked for (not a sample)
    last_drill: dict[str, Any] | None = None  # time, ok, reason
    last_drill_passed: str | None = None
    checks: Checks = field(default_factory=Checks)  # sizes, sample, contents, full, outstanding
    daily: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class Status:
    vault_id: str
    centre_name: str | None
    generated: str
    documents: int
    documents_unchecked: int
    head: dict[str, Any] | None
    last_ingest: str | None
    passphrase_changed: str | None
    passphrase_age_days: int | None
    last_verify: dict[str, Any] | None
    emergency_uses: list[dict[str, str]]
    emergency_since: str | None
    remotes: list[RemoteStatus]
    warnings: list[str]
    missing_here: int = 0
    head_verified: bool = False  # the head's MAC was checked (needs the key)
    documents_untrusted: int = 0  # journal entries the fold would set aside (see _trusted)
    created: str | None = None  # when the vault was made
    here: Checks = field(default_factory=Checks)  # the checks of this computer's copy
    alerts: list[Alert] = field(default_factory=list)  # the warnings, in both wordings
    keys: list[KeyStatus] = field(default_factory=list)  # the key check (``key_check``)
    last_rotation: str | None = None  # when the keys were last rotated; None: never
    keys_verified: bool = False  # the list of keys was checked with the key (``key_check``)
    # the access levels: keys and documents of each, counts only (``key_check``)
    levels: list[LevelStatus] = field(default_factory=list)
    access_cut_short: bool = False  # a change of access (``vault.access``) to finish
    # documents past their retention date (``vault.retention``): counted only
    # with the key at hand (the catalog is encrypted); None: not known
    retention_due: int | None = None
    # data breaches (``vault.incidents``, from the audit log: no notes): every
    # open one, and those closed since the last committee report
    incidents: list[dict[str, Any]] = field(default_factory=list)
    last_report: str | None = None  # when the last committee report was made
    # expected post (``vault.expected``, from the audit log: types and days only):
    # every open one, and those closed since the last committee report
    expected: list[dict[str, Any]] = field(default_factory=list)
    # the overdue ones by type: {"type", "days": days overdue, most first, "chased"}
    expected_overdue_types: list[dict[str, Any]] = field(default_factory=list)

    @property
    def expected_open(self) -> int:
        return sum(1 for e in self.expected if e["state"] == expected.OPEN)

    @property
    def expected_overdue(self) -> int:
        return sum(1 for e in self.expected if e["overdue"])

    @property
    def expected_oldest_due(self) -> str | None:
        """The due day of the one overdue longest (None: none is overdue)."""
        return min((e["due"] for e in self.expected if e["overdue"]), default=None)

    @property
    def incidents_open(self) -> int:
        return sum(1 for i in self.incidents if i["status"] == "open")

    @property
    def incidents_overdue(self) -> int:
        return sum(1 for i in self.incidents if i["overdue"])

    @property
    def ok(self) -> bool:
        return not self.warnings

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for remote in data["remotes"]:
            remote.pop("daily")
        data["ok"] = self.ok
        data["incidents_open"] = self.incidents_open
        data["incidents_overdue"] = self.incidents_overdue
        data["expected_open"] = self.expected_open
        data["expected_overdue"] = self.expected_overdue
        data["expected_oldest_due"] = self.expected_oldest_due
        return data


def gather_status(vault: Vault, now: datetime | None = None) -> Status:
    """Collect the facts and the warnings (no lock, no key, nothing written)."""
    now = now or clock.now()
    config = vault.config
    damaged_head = forged_head = False
    head_verified = False
    try:
        found_head = read_head(vault.layout.head)
    except IntegrityError:
        found_head, damaged_head = None, True
    head = found_head[0] if found_head else None
    if found_head is not None and vault.key is not None:
        try:
            vault.key.check_mac(found_head[0].body(), found_head[1], "the vault head")
            head_verified = True
        except IntegrityError:
            forged_head = True
    last_ingest = None
    history = History()
    remote_verify: dict[str, dict[str, Any]] = {}
    drills: dict[str, dict[str, Any]] = {}
    drills_passed: dict[str, str] = {}
    emergency: list[AuditEntry] = []
    last_ack: str | None = None
    damaged_audit = 0
    breaches: list[AuditEntry] = []
    awaited: list[AuditEntry] = []
    last_report: AuditEntry | None = None
    for entry in vault.audit.entries():
        before = history.last
        add_entry(history, entry)
        if entry.hash == UNREADABLE:
            damaged_audit += 1
        elif entry.event in (incidents.RECORD, incidents.CLOSE):
            breaches.append(entry)
        elif entry.event in _EXPECTED_EVENTS:
            awaited.append(entry)
        elif entry.event == "report":
            last_report = entry
        elif entry.event == "ingest":
            last_ingest = entry.time
        elif entry.event == "verify":
            if history.last is not before and history.last and history.last["remote"]:
                remote_verify[str(history.last["remote"])] = dict(history.last)
        elif entry.event == "emergency-use":
            emergency.append(entry)
        elif entry.event == "drill":
            remote = str(entry.detail.get("remote", ""))
            ok = bool(entry.detail.get("ok"))
            drills[remote] = {
                "time": entry.time,
                "ok": ok,
                "reason": str(entry.detail.get("reason", "")),
            }
            if ok:
                drills_passed[remote] = entry.time
        elif entry.event == "ack":
            last_ack = entry.time
            emergency = []  # acknowledged by the committee (never by making a report)
    uses = [{"time": e.time, "reason": str(e.detail.get("reason", ""))} for e in emergency]
    changed = config.get("passphrase_changed")
    changed_time = clock.parse(changed)
    entries = vault.journal_entries()
    journaled = _trusted(vault, head if not forged_head else None, entries)
    status = Status(
        vault_id=vault.vault_id,
        centre_name=config.get("centre_name"),
        generated=clock.stamp(now),
        documents=(head.documents if head else 0) + journaled,
        documents_unchecked=journaled,
        head=(
            {"short": head.short, "seq": head.seq, "time": head.time, "documents": head.documents}
            if head
            else None
        ),
        last_ingest=last_ingest,
        passphrase_changed=changed,
        passphrase_age_days=(now - changed_time).days if changed_time else None,
        last_verify=dict(history.last) if history.last else None,
        emergency_uses=uses,
        emergency_since=last_ack,
        remotes=[],
        warnings=[],
        head_verified=head_verified,
        documents_untrusted=len(entries) - journaled,
        created=config.get("created"),
        here=history.here,
        incidents=_incidents(breaches, last_report.seq if last_report else 0, now),
        last_report=last_report.time if last_report else None,
    )
    status.expected, status.expected_overdue_types = _expected(
        awaited, last_report.seq if last_report else 0, clock.local_date(now)
    )
    for name, path in sorted(remotes(config).items()):
        found = _remote_status(vault, name, path, now, remote_verify.get(name))
        found.checks = history.of(name)
        found.last_drill = drills.get(name)
        found.last_drill_passed = drills_passed.get(name)
        status.remotes.append(found)
    _waiting(vault, status)
    found_keys = check_keys(vault, now)
    status.keys, status.last_rotation = found_keys.keys, found_keys.last_rotation
    status.keys_verified = found_keys.verified
    status.levels = check_levels(vault, found_keys, status.documents)
    status.access_cut_short = (vault.root / "access").exists()
    if head_verified:
        status.retention_due = _retention_due(vault, now)
    status.alerts = _vault_alerts(vault, status, head, damaged_head, forged_head, damaged_audit)
    status.alerts += warnings(status, config, now)
    status.alerts += _key_alerts(found_keys, config)
    if status.access_cut_short:
        status.alerts.append(
            Alert(
                "A change of access (a grant, a revoke or a level's new key) was cut short",
                "run 'vault access resume'",
                "Ask the coordinator to finish the change of access that was cut short",
            )
        )
    status.warnings = [alert.for_coordinator() for alert in status.alerts]
    return status


def _incidents(entries: list[AuditEntry], last_report: int, now: datetime) -> list[dict[str, Any]]:
    """Every open breach, then each closed since the audit entry of the last
    report (``last_report``: its seq), as in ``--json``."""
    found = incidents.register(entries)
    shown = [i for i in found if i.open] + incidents.closed_since(found, last_report)
    return [i.as_dict(now) for i in shown]


_EXPECTED_EVENTS = (expected.ADD, expected.RECEIVED, expected.CANCEL, expected.CHASE, expected.LOST)


def _expected(
    entries: list[AuditEntry], last_report: int, today: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every open expectation, then each closed since the audit entry of the
    last report, as in ``--json``; and the overdue ones by type."""
    found = expected.register(entries)
    shown = [e for e in found if e.open] + expected.closed_since(found, last_report)
    by_type = [
        {"type": group.doc_type, "days": group.days, "chased": group.chased}
        for group in expected.overdue_by_type(found, today)
    ]
    return [e.as_dict(today) for e in shown], by_type


def _retention_due(vault: Vault, now: datetime) -> int | None:
    """How many documents are past their retention date, read from the
    catalog without writing anything (None when it cannot be read)."""
    from vault import retention
    from vault.head import SnapshotError, load_catalog

    key = vault.key
    assert key is not None
    try:
        catalog, _ = load_catalog(
            vault.layout.catalog, vault.layout.local, vault.layout.head, key,
            vault.vault_id, vault.manifest_texts(key),
        )  # fmt: skip
    except (VaultError, OSError, SnapshotError):
        return None
    try:
        return len(retention.due(catalog.documents(), vault.config, now.date()))
    finally:
        catalog.conn.close()


def _vault_alerts(
    vault: Vault,
    status: Status,
    head: Head | None,
    damaged_head: bool,
    forged_head: bool,
    damaged_audit: int,
) -> list[Alert]:
    """The warnings about this computer's own files, most serious first."""
    check_vault = "Ask the coordinator to check the vault and mend it from a backup"
    rebuild = "Ask the coordinator to rebuild the vault's catalog from its documents"
    found: list[Alert] = []
    if forged_head:
        found.append(
            Alert(
                "The vault's head failed its authenticity check (its figures are not to be "
                "trusted)",
                "run 'vault rebuild-catalog'",
                rebuild,
            )
        )
    if damaged_head:
        found.append(Alert("The vault's head file is damaged", "run 'vault verify'", check_vault))
    if head is None and not damaged_head and not forged_head and _head_missing(vault):
        found.append(
            Alert(
                "The vault's head file (head.json) is missing",
                "run 'vault rebuild-catalog'",
                rebuild,
            )
        )
    if damaged_audit:
        found.append(
            Alert(
                f"The audit log has {damaged_audit} damaged lines",
                "run 'vault audit verify'",
                "Ask the coordinator to check the audit log",
            )
        )
    damaged_journal = vault.journal_damage()
    if damaged_journal:
        found.append(
            Alert(
                f"The journal has {damaged_journal} damaged lines",
                "run 'vault verify'",
                check_vault,
            )
        )
    set_aside = len(vault.set_aside_entries())
    if set_aside:
        found.append(
            Alert(
                f"{set_aside} journal entries were set aside as not genuine or unreadable; "
                "they are kept, untouched, in journal-set-aside.log"
            )
        )
    if status.documents_untrusted:
        found.append(
            Alert(
                f"{status.documents_untrusted} journal entries are not signed by the signing "
                "key the vault names: they are not counted, and the next command that "
                "unlocks the vault sets them aside"
            )
        )
    return found


def _key_alerts(found: KeyCheck, config: dict[str, Any]) -> list[Alert]:
    """A damaged key register; each personal key unused for ``key_unused_warn_days``."""
    if found.damaged:
        return [
            Alert(
                "The list of the vault's keys (keys/people.json) is damaged or was altered",
                "run 'vault repair NAME' to restore it from a backup",
                "Ask the coordinator to restore the list of keys from a backup",
            )
        ]
    alerts = [
        Alert(
            f"The key file of '{k.label}' is missing (the list of keys names it)",
            "run 'vault verify', then 'vault repair NAME' to restore it from a backup",
            f"Ask the coordinator why the key file of '{k.label}' is missing",
        )
        for k in found.keys
        if k.missing
    ]
    for k in unused(found, config):
        since = "was last used" if k.last_used else "has not been used since it was made"
        fact = (
            f"The key '{k.label}' has not been used for {k.unused_days} days"
            if k.last_used
            else f"The key '{k.label}' {since}, {k.unused_days} days ago"
        )
        alerts.append(
            Alert(
                fact,
                f"if its holder no longer needs it, remove it: 'vault key remove {k.label}'",
                f"Ask the coordinator whether the holder of the key '{k.label}' still needs "
                "it, and to remove it if not",
            )
        )
    return alerts


def _trusted(vault: Vault, head: Head | None, entries: list[dict[str, Any]]) -> int:
    """How many journal entries the fold would take in: those signed by the
    signing key the head names (every one under a head from before signing
    keys); without a head to go by (none, or its MAC failed), those signed by
    this computer's key, as the fold does (``Vault.accepts``)."""
    if head is not None and head.signer is None:
        return len(entries)
    signer = head.signer if head is not None else None
    if signer is None:
        try:
            local = signing.load(signing.key_path(vault.root))
        except IntegrityError:
            local = None
        signer = local.public if local else None
    return sum(1 for entry in entries if journals.check_entry(entry, signer))


def _head_missing(vault: Vault) -> bool:
    """head.json is gone from a vault that held something (see ``vault.anchor``)."""
    try:
        check_present(vault.root, vault.vault_id, vault.layout.head, any(vault.manifests.ids()))
    except IntegrityError:
        return True
    return False


def _remote_status(
    vault: Vault, name: str, path: str, now: datetime, verify: dict[str, Any] | None
) -> RemoteStatus:
    state = load_state(vault.root, name, path)
    found = RemoteStatus(name=name, last_verify=verify, daily=state.daily)
    if state.last_sync and not state.fresh:
        found.last_sync = state.last_sync.get("time")
        found.synced_head = state.last_sync.get("head")
        when = clock.parse(found.last_sync)
        if when is not None:
            found.hours_since_sync = round((now - when).total_seconds() / 3600, 1)
    return found


def _waiting(vault: Vault, status: Status) -> None:
    """Fill in each remote's waiting files and bytes (left None if the vault is mid-change)."""
    for remote in status.remotes:
        path = remotes(vault.config)[remote.name]
        state = load_state(vault.root, remote.name, path)
        try:
            snap = take_snapshot(vault, state.stored)
        except (VaultError, OSError):
            continue
        status.missing_here = len(snap.missing)
        plan = make_plan(snap, state)
        files = [*plan.stored, *plan.early]
        size = sum(max(snap.stored.get(rel, 0), 0) for rel in plan.stored)
        size += sum(len(snap.files[rel]) for rel in plan.early)
        if plan.head:
            files.append(HEAD)
            size += len(snap.files[HEAD])
        files += sorted(plan.logs.upload)  # the logs' new segments, and their lists
        size += sum(len(piece) for piece in plan.logs.upload.values())
        for logs in (plan.logs.before, plan.logs.after):
            if logs is not None:
                files.append(segments.LIST)
                size += len(segments.dump(logs))
        remote.waiting_files = len(files)
        remote.waiting_bytes = size
        remote.waiting_deletions = sum(
            1 for rel in plan.delete if rel.startswith(("objects/", "manifests/"))
        )


def warnings(status: Status, config: dict[str, Any], now: datetime) -> list[Alert]:
    """The warnings about the backups, the checks and the emergency key."""
    found: list[Alert] = []
    limit = float(config.get("backup_max_age_hours", DEFAULT_BACKUP_MAX_AGE_HOURS))
    verify_days = int(config.get("verify_max_age_days", DEFAULT_VERIFY_MAX_AGE_DAYS))
    drill_days = int(config.get("drill_max_age_days", DEFAULT_DRILL_MAX_AGE_DAYS))
    if not status.remotes:
        found.append(
            Alert(
                "No backup is set up",
                "add one with 'vault remote add NAME PATH'",
                "Ask the coordinator to set up a backup",
            )
        )
    for remote in status.remotes:
        name = remote.name
        if remote.last_sync is None:
            found.append(
                Alert(
                    f"Nothing has been backed up to {name} yet",
                    f"run 'vault sync {name}'",
                    f"Ask the coordinator to back up to {name}",
                )
            )
        elif remote.hours_since_sync is not None and remote.hours_since_sync > limit:
            found.append(
                Alert(
                    f"The last backup to {name} was {_ago(remote.hours_since_sync)} ago "
                    f"(it should be at most {limit:g} hours)",
                    f"run 'vault sync {name}'",
                    f"Ask the coordinator to back up to {name} now and to find out why the "
                    "backups stopped",
                )
            )
        for check in remote.checks.outstanding:
            what = "read-back at a backup" if check.scope == "sample" else "check"
            found.append(
                Alert(
                    f"The {what} of the backup on {name} on {clock.shown(check.time)} "
                    f"found {_files(check.bad)} missing or damaged, not mended since",
                    f"run 'vault repair {name}'",
                    f"Ask the coordinator to mend the backup on {name} from this computer's "
                    "copy and to check it again",
                )
            )
        passed = clock.parse(remote.last_drill_passed)
        if passed is None or now - passed > timedelta(days=drill_days):
            found.append(
                Alert(
                    f"No restore drill of {name} has passed in the last {drill_days} days",
                    f"run 'vault drill {name}'",
                    f"Ask the coordinator to do a restore drill of the backup on {name} "
                    "(it proves the backup can be restored)",
                )
            )
    for check in status.here.outstanding:
        found.append(
            Alert(
                f"The check of this computer's vault on {clock.shown(check.time)} found "
                f"{_files(check.bad)} missing or damaged, not mended since",
                "run 'vault repair NAME' with a backup",
                "Ask the coordinator to mend the vault from a backup",
            )
        )
    last = status.last_verify
    when = clock.parse(str(last["time"])) if last else None
    if when is None:
        found.append(
            Alert(
                "The vault and its backups have never been checked",
                "run 'vault verify' and 'vault verify --remote NAME --read-data'",
                "Ask the coordinator to check the vault and each backup",
            )
        )
    elif now - when > timedelta(days=verify_days):
        found.append(
            Alert(
                f"Nothing has been checked for {(now - when).days} days "
                f"(it should be at most {verify_days})",
                "run 'vault verify'",
                "Ask the coordinator to check the vault and each backup",
            )
        )
    if status.emergency_uses:
        uses = len(status.emergency_uses)
        found.append(
            Alert(
                f"The emergency key was used {uses} time{'' if uses == 1 else 's'} since the "
                "committee last acknowledged it",
                "record each use in the minutes, then run 'vault audit ack'",
                "Record each use in the minutes, then ask the coordinator to mark them "
                "acknowledged",
            )
        )
    if status.missing_here:
        found.append(
            Alert(
                f"{status.missing_here} files the vault needs are missing on this computer",
                "run 'vault verify'",
                "Ask the coordinator to check the vault and mend it from a backup",
            )
        )
    return found


def _files(count: int) -> str:
    return f"{count} file" + ("" if count == 1 else "s")


def _ago(hours: float) -> str:
    if hours < 48:
        return f"{hours:.0f} hours"
    return f"{hours / 24:.0f} days"


def incidents_line(status: Status) -> str:
    """The data breaches in one line: how many are open, how many past 72 hours."""
    count = status.incidents_open
    if not count:
        return "Data breaches open: none."
    overdue = status.incidents_overdue
    line = f"Data breaches open: {count}"
    if overdue:
        which = "it is" if count == 1 else f"{overdue} {'is' if overdue == 1 else 'are'}"
        line += f" ({which} past the 72 hours to report to the ICO)"
    return line + "."


def incident_lines(status: Status) -> list[str]:
    """Each open breach with its ICO deadline, then each closed since the last
    report with its decision (kinds, times and ICO references only)."""
    lines = []
    for found in status.incidents:
        kind = incidents.KIND_WORDS.get(found["kind"], found["kind"])
        if found.get("expectation"):
            kind += f": expected post {found['expectation']} that never came"
        what = f"{found['id']} ({kind})"
        if found["status"] == "open":
            lines.append(
                f"{what}, open: aware {clock.shown(found['aware'])}; deadline to report it "
                f"to the ICO {clock.shown(found['deadline'])}, {found['time_left']}."
            )
        elif found["decision"] == incidents.REPORTED:
            lines.append(
                f"{what}, closed {clock.shown(found['closed'])}: reported to the ICO "
                f"(reference {found['ico_reference']})."
            )
        else:
            lines.append(
                f"{what}, closed {clock.shown(found['closed'])}: judged not reportable to "
                "the ICO (the reason is kept, encrypted, in the vault)."
            )
    return lines


def expected_line(status: Status) -> str:
    """The expected post in one line: how many awaited, how many overdue, the
    oldest due day (types and days only)."""
    count = status.expected_open
    if not count:
        return "Expected post awaited: none."
    overdue = status.expected_overdue
    if not overdue:
        return f"Expected post awaited: {count} (none overdue)."
    oldest = status.expected_oldest_due
    assert oldest is not None
    return (
        f"Expected post awaited: {count} ({overdue} overdue; the oldest was due "
        f"{dates.spoken(oldest)})."
    )


def expected_lines(status: Status) -> list[str]:
    """The expected post for the committee: counts, the overdue ones by type
    and how many days, what was received or written off since the last report.
    No family, sender or note: those are encrypted."""
    since = (
        f"since the last report ({clock.shown(status.last_report)})"
        if status.last_report
        else "since the vault was made"
    )
    closed = [e for e in status.expected if e["state"] != expected.OPEN]
    received = sum(1 for e in closed if e["state"] == expected.CLOSED_RECEIVED)
    cancelled = sum(1 for e in closed if e["state"] == expected.CANCELLED)
    lost = [e for e in closed if e["state"] == expected.WRITTEN_OFF]
    overdue = status.expected_overdue
    lines = [
        f"Awaited: {status.expected_open}" + (f" ({overdue} overdue)" if overdue else "")
        + f". Received {since}: {received}. Cancelled {since}: {cancelled}. "
        f"Lost {since}: {len(lost)}."
    ]  # fmt: skip
    for group in status.expected_overdue_types:
        days = [int(d) for d in group["days"]]
        count = len(days)
        shown = _days_list(days)
        asked = int(group["chased"])
        chased = (
            f"; the sender was asked for a copy of {asked}" if asked and count > 1
            else "; the sender was asked for a copy" if asked
            else "; the sender was not asked for a copy yet" if count == 1
            else "; no sender was asked for a copy yet"
        )  # fmt: skip
        lines.append(
            f"{expected.plural_words(str(group['type'])).capitalize()} overdue: {count}, "
            f"by {shown}{chased}."
        )
    for item in lost:
        lines.append(
            f"{expected.type_words(item['type']).capitalize()} due {dates.spoken(item['due'])}: "
            f"lost, recorded as data breach {item['incident']}."
        )
    if overdue:
        lines.append(
            "Ask the coordinator whether each sender has been contacted and a copy asked for, "
            "and whether any of it should be treated as lost paper (a possible data breach)."
        )
    return lines


def _days_list(days: list[int]) -> str:
    """``12, 5 and 3 days``; ``1 day``; the longest ten, then how many more."""
    words = [str(d) for d in days[:10]]
    more = len(days) - len(words)
    unit = "day" if days == [1] else "days"
    if more:
        return f"{', '.join(words)} {unit} and {more} more"
    if len(words) == 1:
        return f"{words[0]} {unit}"
    return f"{', '.join(words[:-1])} and {words[-1]} {unit}"


def retention_line(due: int | None) -> str:
    """The documents past their retention date, in words (a count, never names)."""
    if due is None:
        return "Documents past their retention date: not known (it needs the passphrase)."
    if due == 0:
        return "Documents past their retention date: none."
    return (
        f"Documents past their retention date: {due} ('vault retention' lists them; "
        "the coordinator decides what is erased)."
    )
