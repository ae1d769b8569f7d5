"""Commands that check the vault: verify, audit, rebuild-catalog."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import (
    UnlockSpec,
    available_passphrase,
    json_option,
    opened,
    passphrase_options,
    print_json,
    unlock_options,
    unlocked,
    warn_if_read_only,
)
from vault.display import escaped
from vault.errors import IntegrityError, UsageError


def _subset(value: str | None) -> float | None:
    """``10%`` or ``10`` -> 0.1."""
    if value is None:
        return None
    text = value.strip().rstrip("%")
    try:
        percent = float(text)
    except ValueError:
        raise UsageError(
            f"--read-data-subset needs a percentage, e.g. 10%, not {value!r}"
        ) from None
    if not 0 < percent <= 100:
        raise UsageError("--read-data-subset must be more than 0% and at most 100%")
    return percent / 100


@click.command()
@click.option("--remote", "remote_name", metavar="NAME", help="Check the backup on remote NAME.")
@click.option(
    "--read-data", is_flag=True, help="With --remote: download every file and re-hash it."
)
@click.option(
    "--read-data-subset",
    metavar="PCT",
    help="With --remote: download and re-hash a random PCT of the files, e.g. 10%.",
)
@json_option
@passphrase_options
@click.pass_obj
def verify(
    root: Path,
    remote_name: str | None,
    read_data: bool,
    read_data_subset: str | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """Re-hash every stored object; report corrupt and missing ones.

    With --remote NAME, check the backup on that remote instead: its head
    must be the one this computer last sent there (or, with the passphrase
    given by VAULT_PASSPHRASE or --passphrase-file, a newer one that
    proves it was made with the vault's key), its journal, log, keys and
    settings what was sent, and everything this computer sent there and
    everything its head and journal need must be there with the right size.
    That is all it checks without --read-data: sizes, not contents (a file
    damaged in place keeps its size), and it says when the contents were
    last fully checked. With --read-data (or --read-data-subset 10%) files
    are downloaded and re-hashed too. Needs no passphrase. Exits with status 4 if anything is
    wrong, 5 if the remote cannot be reached. Objects that no document names
    (left by an interrupted ingest) are counted and reported; they are not
    an error.

    \b
    Example:
        vault verify
        vault verify --remote offsite --read-data-subset 10%
    """
    if remote_name is None:
        if read_data or read_data_subset:
            raise UsageError("--read-data and --read-data-subset need --remote NAME")
        _verify_local(root, as_json)
        return
    if read_data and read_data_subset:
        raise UsageError("give --read-data or --read-data-subset, not both")
    fraction = 1.0 if read_data else _subset(read_data_subset)
    _verify_remote(root, remote_name, fraction, as_json, passphrase_file)


def _verify_local(root: Path, as_json: bool) -> None:
    with opened(root, reading=True) as vault:
        result = vault.verify()
    if as_json:
        print_json(
            {
                "checked": result.checked,
                "ok": result.ok,
                "bad": [{"id": b.id, "problem": b.problem} for b in result.bad],
                "unreferenced": result.unreferenced,
            }
        )
    else:
        for bad in result.bad:
            click.echo(f"{bad.problem}: {bad.id}")
        click.echo(
            f"Checked {result.checked} objects: "
            + ("all good." if result.ok else f"{len(result.bad)} bad."),
            err=True,
        )
        if result.unreferenced:
            click.echo(
                f"{result.unreferenced} objects are named by no document (left by interrupted "
                "ingests): they take space but hold nothing the vault needs.",
                err=True,
            )
            click.echo(
                "vault: hint: 'vault prune' removes them (it comes in a later version)", err=True
            )
    if not result.ok:
        stray = [b.id for b in result.bad if b.problem == "not in the list of keys"]
        if stray and len(stray) == len(result.bad):
            raise IntegrityError(
                f"{len(stray)} key files are not in the list of keys (left by a 'vault key "
                "add' or 'remove' cut short, or put there): they are not tried and not "
                "backed up",
                hint="delete them; check 'vault key list' and the audit log",
            )
        raise IntegrityError(
            f"{len(result.bad)} objects are missing or corrupt",
            hint="a backup copy can replace them",
        )


def _verify_remote(
    root: Path, name: str, read_data: float | None, as_json: bool, passphrase_file: Path | None
) -> None:
    from sync.check import check_remote, is_replaceable
    from sync.history import read_history
    from sync.remotes import resolve
    from sync.wording import contents_last_checked
    from vault.keys import DataKey
    from vault.readonly import adapt as read_only_adapt
    from vault.repository import Vault, require_vault

    require_vault(root)
    vault = Vault.open(root)
    path = resolve(vault.config, name)[name]

    def key_at_hand() -> DataKey | None:
        passphrase = available_passphrase(passphrase_file)
        if passphrase is None:
            return None
        vault.unlock(passphrase)
        return vault.key

    result = check_remote(vault, name, path, read_data=read_data, unlock=key_at_hand)
    scope = "sizes" if not result.read else "full" if read_data == 1.0 else "subset"
    before = read_history(vault.audit.entries()).of(name)
    vault.lock.read_only_ok = True
    with vault.lock:
        read_only_adapt(vault)
        vault.audit.append(
            "verify",
            sorted({p.id for p in result.problems}),
            ok=result.ok,
            remote=name,
            read=result.read,
            scope=scope,
            corrupt=sum(1 for p in result.problems if p.problem == "corrupt"),
        )
        warn_if_read_only(vault)
    if as_json:
        print_json(
            {
                "remote": name,
                "checked": result.checked,
                "read": result.read,
                "head": result.head,
                "documents": result.documents,
                "ok": result.ok,
                "bad": [{"id": p.id, "problem": p.problem} for p in result.problems],
            }
        )
    else:
        for problem in result.problems:
            click.echo(f"{problem.problem}: {problem.id}")
        click.echo(_remote_summary(name, result.checked, result.read, scope, result), err=True)
        if scope != "full":
            click.echo(
                f"Contents last fully checked: {contents_last_checked(before)}; "
                f"'vault verify --remote {name} --read-data' downloads and checks every file.",
                err=True,
            )
    if not result.ok:
        if any(is_replaceable(p.path) for p in result.problems):
            hint = (
                f"'vault sync {name}' puts this computer's head, journal, log and keys back "
                "and sends whatever else is missing there"
            )
        else:
            hint = f"'vault repair {name}' sends good copies from this computer"
        count = len(result.problems)
        files = "1 file of the backup on" if count == 1 else f"{count} files of the backup on"
        raise IntegrityError(
            f"{files} {name} {'is' if count == 1 else 'are'} missing, damaged "
            "or not what this computer sent",
            hint=hint,
        )


def _remote_summary(name: str, checked: int, read: int, scope: str, result: object) -> str:
    """What a check of a remote showed, called what it is."""
    ok = bool(getattr(result, "ok", False))
    bad = len(getattr(result, "problems", []))
    if scope == "sizes":
        found = "all present and the right size" if ok else f"{bad} missing, wrong or damaged"
        return f"Checked {checked} files on {name}: {found} (sizes only, contents not read)."
    how = "every one" if scope == "full" else f"{read} of them at random"
    found = "all good" if ok else f"{bad} missing, wrong or damaged"
    return f"Checked {checked} files on {name}, downloaded and re-hashed {how}: {found}."


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def audit(ctx: click.Context, as_json: bool) -> None:
    """List the audit log (event types and ids only, never names or text).

    \b
    Example:
        vault audit
        vault audit verify
        vault audit ack --note "minutes 2026-12-01, item 4"
    """
    if ctx.invoked_subcommand is not None:
        return
    with opened(ctx.obj, reading=True) as vault:
        entries = [entry.as_dict() for entry in vault.audit.entries()]
    if as_json:
        print_json(entries)
        return
    for e in entries:
        detail = " ".join(f"{k}={v}" for k, v in sorted(e["detail"].items()))
        ids = " ".join(i[:12] for i in e["ids"])
        line = f"{e['seq']:>5} {e['time']} {e['event']:<14} {ids} {detail}".rstrip()
        click.echo(escaped(line))  # a recorded reason is free text


@audit.command(name="verify")
@click.pass_obj
def audit_verify(root: Path) -> None:
    """Check the audit log's hash chain; exit 4 if an entry was edited or removed.

    \b
    Example:
        vault audit verify
    """
    with opened(root, reading=True) as vault:
        problems = vault.audit.verify(vault.audit_anchor())
    for problem in problems:
        click.echo(f"entry {problem.seq}: {problem.problem}")
    if problems:
        raise IntegrityError("the audit log has been altered")
    click.echo("The audit log is intact.", err=True)


@audit.command(name="ack")
@click.option("--note", help="A note for the log, e.g. where the minutes record the uses.")
@click.pass_obj
def audit_ack(root: Path, note: str | None) -> None:
    """Acknowledge the emergency key's uses shown by 'vault status' (the committee).

    Once each use is recorded in the committee's minutes, this clears them
    from 'vault status' and the committee report; the acknowledgement itself
    is recorded in the audit log. Needs no passphrase.

    \b
    Example:
        vault audit ack --note "minutes 2026-12-01, item 4"
    """
    from sync.status import gather_status

    with opened(root) as vault:
        uses = gather_status(vault).emergency_uses
        detail = {"uses": len(uses)} | ({"note": note.strip()} if note and note.strip() else {})
        vault.audit.append("ack", [], **detail)
    click.echo(f"Acknowledged {len(uses)} uses of the emergency key.")


@click.command(name="rebuild-catalog")
@unlock_options
@click.pass_obj
def rebuild_catalog(root: Path, unlock: UnlockSpec) -> None:
    """Rebuild the catalog and search index from the document manifests.

    Works whatever state head.json is in (missing, damaged, forged, older):
    the new head goes on from the highest state number this vault can
    authenticate. Anything the last saved state named that is gone is listed
    and the exit status is 4; so is a manifest that fails its checks. Of two
    versions of a document (an edit cut short) the newer is kept. A missing
    snapshot under a good head is rebuilt automatically.

    \b
    Example:
        vault rebuild-catalog
    """
    with unlocked(root, unlock) as vault:
        result = vault.rebuild_catalog()
        rebuilt = vault.catalog.count()
        vault.fold_journal()
        count = vault.catalog.count()
    for object_id in result.missing:
        click.echo(f"missing: {object_id}")
    click.echo(f"Rebuilt the catalog: {count} documents.", err=True)
    problems = []
    if result.missing:
        problems.append(f"{len(result.missing)} files named by the last saved state are gone")
    elif result.last_documents is not None and rebuilt < result.last_documents:
        problems.append(
            f"the last saved state had {result.last_documents} documents, "
            f"the manifests give {rebuilt}"
        )
    if result.rejected:
        problems.append(f"{len(result.rejected)} manifests failed their checks and were left out")
    if problems:
        raise IntegrityError(
            "; ".join(problems),
            hint="a backup may still hold them: 'vault verify --remote NAME'",
        )
