"""``copyright-guard complaints ...`` and ``copyright-guard reviewers ...``: thin over store/complaints.py."""

from __future__ import annotations

import codecs
import getpass
import json
import mimetypes
import os
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

import click

from ..core.complaints import workflow as wf
from ..core.files import InputFileError, read_input_file
from ..core.text import problems_line
from ..store import complaints as store
from ..store import outbox, reviewers
from ..store.complaints_export import to_csv, to_json, to_jsonl
from .db import db_option, open_engine
from .errors import CLIError, output_file
from .policy_cmd import policy_or_fail

ACTOR_ENV = "COPYRIGHT_GUARD_REVIEWER"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def policy_option(function):
    return click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
                        help="Policy file (its [complaints] deadlines and contact). Default: the bundled one.")(function)


def actor_options(function):
    function = click.option("--why", required=True, help="Why this step is taken (recorded, and sent with decisions).")(function)
    return click.option("--by", "actor", envvar=ACTOR_ENV, required=True,
                        help=f"Who takes this step (default: ${ACTOR_ENV}).")(function)


def json_option(function):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(function)


def _run(action):
    """Turn workflow refusals into one-line errors (exit 2)."""
    try:
        return action()
    except (wf.WorkflowError, store.ComplaintNotFound, reviewers.ReviewerError) as exc:
        raise CLIError(str(exc)) from None


def _show(record: store.ComplaintRecord, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(record.as_dict(now=_now()), indent=2))
        return
    c = record.complaint
    click.echo(f"{c.reference}  {c.status.value}" + (f" (duplicate of {c.duplicate_of})" if c.duplicate_of else ""))
    click.echo(f"  received    {c.received_at.isoformat()} via {record.channel}")
    click.echo(f"  complainant {c.complainant.name}" + (f", {c.complainant.organisation}" if c.complainant.organisation else "")
               + f" <{c.complainant.email}> ({c.complainant.role.value})")
    click.echo(f"  type        {c.type.value}")
    for target in c.targets:
        click.echo(f"  target      {target.kind.value}: {target.value}")
    click.echo(f"  ack due     {c.acknowledge_due.isoformat()}   decide due {c.decide_due.isoformat()}")
    for late in wf.overdue(c, _now()):
        click.echo(f"  OVERDUE     {late}")
    for attachment in record.attachments:
        click.echo(f"  attachment  {attachment.filename} ({attachment.content_type}, {attachment.size} bytes, sha256 {attachment.sha256})")
    click.echo("  description:")
    for line in c.description.splitlines() or [""]:
        click.echo(f"    {line}")
    click.echo("  history:")
    for event in record.events:
        click.echo(f"    {event.at.isoformat()}  {event.actor}  {event.kind}: {event.what}" + (f" - {event.why}" if event.why else ""))


@click.group("complaints")
def complaints_group() -> None:
    """Lodge, review and decide rightsholders' complaints (Code of Practice, Measure 1.5).

    \b
    Example:
      copyright-guard complaints list --status received
    """


@complaints_group.command("submit")
@click.option("--name", required=True, help="Complainant's name.")
@click.option("--organisation", default="", help="Complainant's organisation.")
@click.option("--email", required=True, help="Complainant's email (acknowledgement and decision go there).")
@click.option("--role", required=True, type=click.Choice([r.value for r in wf.Role]))
@click.option("--type", "kind", required=True, type=click.Choice([t.value for t in wf.ComplaintType]))
@click.option("--description", help="What happened and why (or --description-file).")
@click.option("--description-file", metavar="FILE", help="Read the description from a UTF-8 file ('-' for stdin).")
@click.option("--url", "urls", multiple=True, help="A URL concerned (repeatable).")
@click.option("--domain", "domains", multiple=True, help="A domain concerned (repeatable).")
@click.option("--work", "works", multiple=True, help="A work concerned: title or identifier (repeatable).")
@click.option("--attach", "attachments", multiple=True, metavar="FILE",
              help="Evidence file: PDF, PNG, JPEG or text, at most 5 of 5 MiB (repeatable).")
@policy_option
@db_option
@json_option
def submit_command(name, organisation, email, role, kind, description, description_file, urls, domains, works,
                   attachments, policy_file, db_url, as_json) -> None:
    """Record a complaint received by other means (email, letter), as the portal would.

    Prints the reference and the tracking token (shown only once) for the complainant.

    \b
    Example:
      copyright-guard complaints submit --name "Ada Author" --email ada@example.org \\
        --role rightsholder --type opt-out-not-honoured --url https://example.org/novel \\
        --description-file complaint.txt
    """
    if description is not None and description_file is not None:
        raise CLIError("--description and --description-file were both given", "give the description one way")
    if description_file is not None:
        description = _read_description(description_file)
    submission, errors = wf.validate_submission({
        "name": name, "organisation": organisation, "email": email, "role": role, "type": kind,
        "description": description or "", "urls": list(urls), "domains": list(domains), "works": list(works)})
    if errors:
        raise CLIError(problems_line([f"{field}: {message}" for field, message in errors.items()]))
    uploads = []
    for path in attachments:
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        # A regular file only (a FIFO would hang, a device never end), one byte past the limit at most.
        data = _read_file("--attach", path, wf.MAX_ATTACHMENT_BYTES, "attachment")
        uploads.append(store.Upload(Path(path).name, content_type, data))
    policy = policy_or_fail(policy_file)
    engine = open_engine(db_url, must_exist=False)
    record, token = _run(lambda: store.submit(engine, submission, now=_now(), rules=policy.complaints,
                                              channel="cli", uploads=uploads))
    c = record.complaint
    if as_json:
        click.echo(json.dumps({"reference": c.reference, "tracking_token": token, "status": c.status.value,
                               "acknowledge_due": c.acknowledge_due.isoformat(), "decide_due": c.decide_due.isoformat()}))
    else:
        click.echo(f"{c.reference} received; tracking token (give it to the complainant, it is not stored): {token}")


def _read_file(option: str, path: str, max_bytes: int, what: str) -> bytes:
    """At most ``max_bytes + 1`` bytes of the regular file ``path`` (core/files.py), or one line
    naming the option and the file."""
    try:
        return read_input_file(path, max_bytes, what)
    except InputFileError as exc:
        raise CLIError(f"{option} {exc}") from None


# UTF-8 takes at most 4 bytes a character: this many bytes always hold one character past the limit.
_MAX_DESCRIPTION_BYTES = 4 * (wf.MAX_DESCRIPTION + 1)


def _read_description(path: str) -> str:
    """The description in ``path`` (``-``: stdin), decoded as UTF-8, cut one character past the
    limit (enough to refuse it): never more than a bounded read, never a hang on a FIFO."""
    if path == "-":
        data = sys.stdin.buffer.read(_MAX_DESCRIPTION_BYTES + 1)
    else:
        data = _read_file("--description-file", path, _MAX_DESCRIPTION_BYTES, "description file")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # A read cut at the limit may end inside a character: only the complete ones count.
        text = decoder.decode(data, final=len(data) <= _MAX_DESCRIPTION_BYTES)
    except UnicodeDecodeError as exc:
        shown = "(stdin)" if path == "-" else path if path.isprintable() else repr(path)
        raise CLIError(f"--description-file {shown}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
                       "save the description as UTF-8") from None
    # As a text-mode read would: line breaks are \n whatever the file used.
    return text.replace("\r\n", "\n").replace("\r", "\n")[:wf.MAX_DESCRIPTION + 1]


@complaints_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in wf.Status]), help="Only complaints in this status.")
@db_option
@json_option
def list_command(status, db_url, as_json) -> None:
    """List complaints, oldest first.

    \b
    Example:
      copyright-guard complaints list --status under_review --json
    """
    now = _now()
    found = store.list_complaints(open_engine(db_url), status=status)
    if as_json:
        click.echo(json.dumps([{"reference": c.reference, "status": c.status.value, "received_at": c.received_at.isoformat(),
                                "email": c.complainant.email, "type": c.type.value, "decide_due": c.decide_due.isoformat(),
                                "overdue": wf.overdue(c, now)} for c in found], indent=2))
        return
    for c in found:
        late = " OVERDUE" if wf.overdue(c, now) else ""
        click.echo(f"{c.reference}  {c.status.value:<20} received {c.received_at:%Y-%m-%d}  decide by {c.decide_due:%Y-%m-%d}"
                   f"{late}  {c.complainant.email}")
    if not found:
        click.echo("no complaints")


@complaints_group.command("show")
@click.argument("reference")
@db_option
@json_option
def show_command(reference, db_url, as_json) -> None:
    """Show one complaint with its targets, attachments and full history.

    \b
    Example:
      copyright-guard complaints show CG-2026-0001
    """
    _show(_run(lambda: store.load(open_engine(db_url), reference)), as_json)


def _step(reference, to, actor, why, policy_file, db_url, duplicate_of="", as_json=False):
    policy = policy_or_fail(policy_file)
    engine = open_engine(db_url)
    record = _run(lambda: store.transition(engine, reference, to, actor=actor, why=why, now=_now(),
                                           rules=policy.complaints, duplicate_of=duplicate_of))
    c = record.complaint
    if not as_json:  # --json: the caller prints the complaint as it now stands, once
        click.echo(f"{c.reference} is now {c.status.value}")
    return engine, record


@complaints_group.command("ack")
@click.argument("reference")
@actor_options
@policy_option
@db_option
@json_option
def ack_command(reference, actor, why, policy_file, db_url, as_json) -> None:
    """Acknowledge a received complaint (queues the acknowledgement email).

    \b
    Example:
      copyright-guard complaints ack CG-2026-0001 --by alice --why "receipt confirmed"
    """
    _, record = _step(reference, "acknowledged", actor, why, policy_file, db_url, as_json=as_json)
    if as_json:
        _show(record, as_json=True)


@complaints_group.command("review")
@click.argument("reference")
@actor_options
@policy_option
@db_option
@json_option
def review_command(reference, actor, why, policy_file, db_url, as_json) -> None:
    """Start reviewing an acknowledged complaint.

    \b
    Example:
      copyright-guard complaints review CG-2026-0001 --by alice --why "checking the robots.txt history"
    """
    _, record = _step(reference, "under_review", actor, why, policy_file, db_url, as_json=as_json)
    if as_json:
        _show(record, as_json=True)


@complaints_group.command("decide")
@click.argument("reference")
@click.argument("outcome", type=click.Choice(sorted(s.value for s in wf.OUTCOMES)))
@click.option("--duplicate-of", default=None, metavar="REFERENCE", help="For 'duplicate': the complaint already answered.")
@click.option("--exclude-domain", multiple=True, metavar="DOMAIN",
              help="With 'upheld': add this domain (and every host under it) to the complaint's exclusion list.")
@click.option("--exclude-host", multiple=True, metavar="HOST", help="With 'upheld': add this single host.")
@click.option("--affected", is_flag=True, help="With 'upheld': list already-collected items to purge (from the audit log).")
@actor_options
@policy_option
@db_option
@json_option
def decide_command(reference, outcome, duplicate_of, exclude_domain, exclude_host, affected, actor, why,
                   policy_file, db_url, as_json) -> None:
    """Decide a complaint under review: upheld, rejected, manifestly_unfounded or duplicate.

    The decision email is queued. For an upheld complaint, --exclude-domain / --exclude-host add a
    new version of the exclusion list complaint-<REFERENCE>, which every later decision consults.

    \b
    Example:
      copyright-guard complaints decide CG-2026-0001 upheld --by alice \\
        --why "tdmrep.json reserved TDM since 2025" --exclude-domain books.example.org --affected
    """
    if (exclude_domain or exclude_host or affected) and outcome != "upheld":
        raise CLIError("--exclude-domain, --exclude-host and --affected go with 'upheld' only")
    if duplicate_of is not None and outcome != "duplicate":
        raise CLIError(f"--duplicate-of goes with 'duplicate' only, not {outcome!r}",
                       "leave --duplicate-of out, or decide 'duplicate'")
    entries = [wf.ProposedExclusion("domain", d) for d in exclude_domain] + [wf.ProposedExclusion("host", h) for h in exclude_host]
    if entries:
        # Checked before the decision is recorded: once upheld, this command cannot be run again,
        # so an exclusion refused afterwards could never be added with it.
        try:
            store.check_exclusions(reference, entries, actor=actor, why=why, now=_now())
        except wf.WorkflowError as exc:
            raise CLIError(f"{_exclude_option(exc, exclude_domain, exclude_host)}{exc}",
                           "nothing was recorded; correct it and run the command again") from None
    engine, record = _step(reference, outcome, actor, why, policy_file, db_url, duplicate_of or "", as_json=as_json)
    if entries:
        try:
            record = store.add_exclusions(engine, reference, entries, actor=actor, why=why, now=_now())
        except (wf.WorkflowError, store.ComplaintNotFound) as exc:
            raise CLIError(f"{record.complaint.reference} is upheld, but the exclusions were not added: {exc}",
                           f"add them on the portal's page /review/complaints/{record.complaint.reference}") from None
        if not as_json:
            click.echo(record.events[-1].what)
    items = _run(lambda: store.affected_items(engine, reference, actor=actor, now=_now())) if affected else None
    if as_json:
        # The complaint as it now stands (its history names the exclusions added), and with
        # --affected the items to purge.
        document = record.as_dict(now=_now())
        if items is not None:
            document["affected_items"] = items
        click.echo(json.dumps(document, indent=2, default=str))
    elif items is not None:
        _print_items(items)


def _exclude_option(exc: Exception, domains, hosts) -> str:
    """``--exclude-domain: `` or ``--exclude-host: `` when the refusal quotes a value of only one of them."""
    text = str(exc)
    named = [option for option, values in (("--exclude-domain", domains), ("--exclude-host", hosts))
             if any(repr(value.strip()[:80]) in text for value in values)]
    return f"{named[0]}: " if len(named) == 1 else ""


def _print_items(items: list[dict]) -> None:
    click.echo(f"{len(items)} already-collected item(s) to purge:")
    for item in items:
        click.echo(f"  {item.get('decided_at', '')}  {item.get('url')}  decision {item.get('id', '')}")


@complaints_group.command("close")
@click.argument("reference")
@actor_options
@policy_option
@db_option
@json_option
def close_command(reference, actor, why, policy_file, db_url, as_json) -> None:
    """Close a decided complaint once its actions are done.

    \b
    Example:
      copyright-guard complaints close CG-2026-0001 --by alice --why "exclusion in force, items purged"
    """
    _, record = _step(reference, "closed", actor, why, policy_file, db_url, as_json=as_json)
    if as_json:
        _show(record, as_json=True)


@complaints_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "json"]), default="csv", show_default=True,
              help="csv, jsonl (one JSON object per line) or json (one JSON array).")
@click.option("--out", "-o", metavar="FILE", help="Write to this file (default: stdout).")
@db_option
def export_command(fmt, out, db_url) -> None:
    """Export every complaint (CSV cells that a spreadsheet would run as formulas are neutralised).

    \b
    Example:
      copyright-guard complaints export --format csv --out complaints.csv
    """
    rows = store.export_rows(open_engine(db_url))
    text = {"csv": to_csv, "jsonl": to_jsonl, "json": to_json}[fmt](rows)
    if out:
        with output_file(out, "w", newline="") as stream:  # a full disk: one line naming the path
            stream.write(text)
        click.echo(f"{len(rows)} complaint(s) written to {out}", err=True)
    else:
        sys.stdout.write(text)


@complaints_group.command("overdue")
@db_option
@json_option
def overdue_command(db_url, as_json) -> None:
    """List open complaints whose acknowledgement or decision deadline has passed.

    \b
    Example:
      copyright-guard complaints overdue --json
    """
    late = store.overdue(open_engine(db_url), _now())
    if as_json:
        click.echo(json.dumps([{"reference": c.reference, "status": c.status.value, "overdue": why} for c, why in late], indent=2))
        return
    for c, why in late:
        click.echo(f"{c.reference}  {c.status.value:<14} {'; '.join(why)}")
    if not late:
        click.echo("nothing overdue")


@complaints_group.command("stats")
@click.option("--period", type=click.Choice(wf.PERIODS), default="month", show_default=True)
@db_option
@json_option
def stats_command(period, db_url, as_json) -> None:
    """Public figures: complaints received, decided, and median days to decision per period.

    \b
    Example:
      copyright-guard complaints stats --period quarter
    """
    rows = store.figures(open_engine(db_url), period)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    click.echo(f"{'period':<10} {'received':>8} {'decided':>8} {'median days':>12}")
    for row in rows:
        median = f"{row.median_days_to_decision:.1f}" if row.median_days_to_decision is not None else "-"
        click.echo(f"{row.period:<10} {row.received:>8} {row.decided:>8} {median:>12}")


def smtp_options(function):
    """SMTP settings as options, each also read from its environment variable (see notify.py)."""
    for name, help_text in reversed((
        ("host", "SMTP server (no host: mail stays queued)."),
        ("port", "SMTP port (default 587 starttls, 465 tls, 25 none)."),
        ("security", "starttls (default), tls or none."),
        ("user", "SMTP AUTH user."),
        ("from", "Sender address (default: the policy's complaints.contact_email)."),
        ("ca-file", "CA bundle to verify the SMTP server."),
    )):
        from ..notify import ENV_VARS

        env = ENV_VARS[name.replace("-", "_")]
        function = click.option(f"--smtp-{name}", f"smtp_{name.replace('-', '_')}", default=None,
                                help=f"{help_text} [env: {env}]")(function)
    return function


def smtp_settings(options: dict, policy):
    """The SMTP settings (``None``: no host), every one given checked whether or not a host is:
    the one place the commands validate them (notify.settings_from), before any work starts."""
    from ..notify import SMTPConfigError, settings_from

    values = {key.removeprefix("smtp_"): value for key, value in options.items() if key.startswith("smtp_")}
    try:
        return settings_from(values, default_sender=policy.complaints.contact_email)
    except SMTPConfigError as exc:
        raise CLIError(str(exc), "see docs/complaints.md for the SMTP settings") from None


@complaints_group.command("outbox")
@click.option("--send", is_flag=True, help="Deliver the messages that are due now over SMTP.")
@smtp_options
@policy_option
@db_option
@json_option
def outbox_command(send, policy_file, db_url, as_json, **smtp) -> None:
    """Show queued notification emails; with --send, deliver those due (failures retry with backoff).

    SMTP password: $COPYRIGHT_GUARD_SMTP_PASSWORD (never an option, to keep it out of shell history).

    \b
    Example:
      COPYRIGHT_GUARD_SMTP_HOST=mail.example.org copyright-guard complaints outbox --send
    """
    from ..notify import deliver_due

    settings = smtp_settings(smtp, policy_or_fail(policy_file))  # checked even without --send
    if send and settings is None:
        raise CLIError("no SMTP server configured", "set --smtp-host or $COPYRIGHT_GUARD_SMTP_HOST")
    engine = open_engine(db_url)
    if send:
        report = deliver_due(engine, settings, _now())
        click.echo(f"sent {report.sent}, failed {report.failed}")
        for error in report.errors:
            click.echo(f"  {error}", err=True)
    pending = outbox.messages(engine, unsent_only=True)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in pending], indent=2))
        return
    for m in pending:
        click.echo(f"#{m.id} {m.kind:<16} to {m.to_addr}  attempts {m.attempts}  next {m.next_attempt_at:%Y-%m-%d %H:%M}"
                   + (f"  last error: {m.last_error}" if m.last_error else ""))
    click.echo(f"{len(pending)} message(s) waiting")


@click.group("reviewers")
def reviewers_group() -> None:
    """Manage reviewer accounts for the complaint portal (passwords stored as argon2id hashes).

    \b
    Example:
      copyright-guard reviewers add alice
    """


MAX_PASSWORD_LINE = 4096  # characters read from stdin for a password


def _password_from_stdin() -> str:
    """The first line of stdin, as UTF-8 (a password is hashed as UTF-8: bytes that are not would
    only fail later, with a traceback-like message)."""
    # Bounded: stdin may be endless (/dev/zero, yes). 4 bytes is the longest UTF-8 character.
    line = sys.stdin.buffer.readline(4 * MAX_PASSWORD_LINE + 1)
    too_long = CLIError(f"--password-stdin: the first line is longer than {MAX_PASSWORD_LINE} characters",
                        "give the password on one line")
    if len(line) > 4 * MAX_PASSWORD_LINE and not line.endswith(b"\n"):
        raise too_long  # (checked before decoding: the read may have cut a character)
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise CLIError(f"--password-stdin: the password is not UTF-8 text (byte 0x{line[exc.start]:02x} at offset {exc.start})",
                       "pipe it in UTF-8") from None
    if len(text) > MAX_PASSWORD_LINE:
        raise too_long
    return text


def _terminal_available() -> bool:
    """Whether a password can be asked for without echo: getpass reads the controlling terminal
    (/dev/tty), else falls back to stdin with a warning and echo on."""
    try:
        descriptor = os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return sys.stdin is not None and sys.stdin.isatty()
    os.close(descriptor)
    return True


def _password_from_terminal() -> str:
    """The password typed twice on the terminal; one line (exit 2) when there is none to ask on."""
    no_terminal = CLIError("no terminal to read the password from", "pipe it in with --password-stdin")
    if not _terminal_available():
        raise no_terminal
    with warnings.catch_warnings():
        # getpass's fallback (echo on, "Warning: Password input may be echoed") is never wanted.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        except getpass.GetPassWarning:
            raise no_terminal from None
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:  # a terminal in another encoding: undecodable bytes arrive as surrogates
        raise CLIError("the password is not valid text in the terminal's encoding",
                       "set a UTF-8 locale, or pipe it in UTF-8 with --password-stdin") from None
    return password


@reviewers_group.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (for scripts).")
@db_option
@json_option
def reviewers_add(username, password_stdin, db_url, as_json) -> None:
    """Create a reviewer account; asks for the password (at least 12 characters).

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | copyright-guard reviewers add alice --password-stdin
    """
    password = _password_from_stdin() if password_stdin else _password_from_terminal()
    engine = open_engine(db_url, must_exist=False)
    _run(lambda: reviewers.add(engine, username, password, now=_now()))
    if as_json:
        click.echo(json.dumps({"reviewer": username.strip().lower(), "active": True}))
    else:
        click.echo(f"reviewer {username.strip().lower()} added")


@reviewers_group.command("list")
@db_option
@json_option
def reviewers_list(db_url, as_json) -> None:
    """List reviewer accounts.

    \b
    Example:
      copyright-guard reviewers list --json
    """
    found = reviewers.list_all(open_engine(db_url))
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in found], indent=2))
        return
    for r in found:
        click.echo(f"{r.username:<24} {'active' if r.active else 'disabled':<9} created {r.created_at:%Y-%m-%d}")
    if not found:
        click.echo("no reviewers")


@reviewers_group.command("disable")
@click.argument("username")
@db_option
@json_option
def reviewers_disable(username, db_url, as_json) -> None:
    """Disable a reviewer account; its sessions stop working at their next request.

    \b
    Example:
      copyright-guard reviewers disable alice
    """
    _run(lambda: reviewers.disable(open_engine(db_url), username, now=_now()))
    if as_json:
        click.echo(json.dumps({"reviewer": username.strip().lower(), "active": False}))
    else:
        click.echo(f"reviewer {username.strip().lower()} disabled")


COMMANDS = [complaints_group, reviewers_group]
