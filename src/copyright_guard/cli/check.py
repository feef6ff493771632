"""``copyright-guard check URL``: what the crawler would decide for one URL, and why.

Thin: parse the options, load the policy and the exclusion lists, run
:func:`copyright_guard.fetch.page.check_url` (the same fetch state machine and decision code the
crawler uses), print. Exit status 0 allowed, 1 denied, 2 usage or configuration error.
"""

from __future__ import annotations

import functools
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import click

from ..core.lists.exclusions import ExclusionIndex
from ..core.model import PURPOSES, Effect, Evidence, Reason
from ..core.policy import Policy
from ..core.urls import URLError, parse_target
from ..fetch.batch import MAX_CONCURRENCY
from ..fetch.http import HttpxTransport
from ..fetch.page import CheckResult, check_url
from .errors import CLIError
from .policy_cmd import policy_or_fail, signer_or_fail

DB_ENV = "COPYRIGHT_GUARD_DB"
DEFAULT_DB_FILE = Path("copyright-guard.db")
EXIT_DENIED = 1


@click.command("check")
@click.argument("url", required=False)
@click.option("--urls", "urls_file", metavar="FILE|-",
              help="Decide every URL of FILE (one a line; - reads stdin) and print JSON Lines, one object per URL.")
@click.option("--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), default=8, show_default=True,
              help="With --urls: origins decided at once (each origin's site-wide files are fetched once).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Policy file (TOML), or a bundled policy by name. Default: strict-default (bundled).")
@click.option("--purpose", type=click.Choice(PURPOSES), help="Purpose to decide for. Default: the policy's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--no-fetch", is_flag=True, help="Stop after the pre-fetch decision; do not request the URL itself.")
@click.option("--db", "db_url", metavar="URL|FILE",
              help=f"Database with the exclusion lists (SQLAlchemy URL, or a file path meaning SQLite). Default: ${DB_ENV}, else ./copyright-guard.db if it exists.")
def check(url: str | None, urls_file: str | None, concurrency: int, policy_file: str | None, purpose: str | None,
          as_json: bool, no_fetch: bool, db_url: str | None) -> None:
    """Decide whether URL may be collected, printing the verdict and every reason with its evidence.

    Fetches the origin's robots.txt, tdmrep.json, ai.txt and RSL licences (as the crawler does:
    RFC 9309 status handling, redirects, size limit), decides pre-fetch, then requests the URL
    itself and decides post-fetch on the response. A site on an exclusion list gets no request.
    Exit status: 0 allowed, 1 denied, 2 usage or configuration error.

    With --urls FILE (or - for stdin) every URL of the list is decided in this one process, each
    exactly as above: site-wide files are fetched once per origin, origins concurrently; one JSON
    object per URL (with its line number) as it is decided; exit status 1 if any is denied.

    \b
    Example:
      copyright-guard check https://example.com/articles/1 --purpose train-ai --json
      copyright-guard check --urls urls.txt --no-fetch > decisions.jsonl
    """
    if (url is None) == (urls_file is None):
        raise CLIError("give one URL, or --urls FILE", "copyright-guard check URL, or copyright-guard check --urls FILE")
    if urls_file is not None:
        _check_list(urls_file, concurrency, policy_file, purpose, no_fetch, db_url)
        return
    try:
        url = parse_target(url).url  # surrounding whitespace stripped
    except URLError as exc:
        raise CLIError(f"cannot check {url[:200]!r}: {exc}", "give an absolute http:// or https:// URL") from None
    policy = policy_or_fail(policy_file)
    exclusions, lists_note, in_force = _load_exclusions(db_url, policy)
    now = datetime.now(timezone.utc)
    with HttpxTransport(signer=signer_or_fail(policy), max_codings=policy.cache.max_content_codings) as transport:
        result = check_url(url, policy, transport, now=now, purpose=purpose, exclusions=exclusions,
                           fetch_page=not no_fetch)
    if as_json:
        data = result.as_dict()
        data["exclusion_lists"] = lists_note
        # The versions this answer was checked against ([] when none are in force; null without a database).
        data["exclusion_list_versions"] = in_force
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(render_text(result, lists_note))
    raise SystemExit(0 if result.verdict.value == "allow" else EXIT_DENIED)


def _check_list(urls_file: str, concurrency: int, policy_file: str | None, purpose: str | None,
                no_fetch: bool, db_url: str | None) -> None:
    """``check --urls``: the list checked first (one line naming what is wrong), then each URL."""
    import sys

    from ..core.files import InputFileError, read_input_file
    from ..fetch.batch import MAX_URLS_BYTES, URLListError, check_many, parse_url_list

    try:
        if urls_file == "-":
            raw = sys.stdin.buffer.read(MAX_URLS_BYTES + 1)
        else:
            raw = read_input_file(urls_file, MAX_URLS_BYTES, "URL list")
        urls = parse_url_list(raw, "stdin" if urls_file == "-" else urls_file)
    except (InputFileError, URLListError) as exc:
        raise CLIError(str(exc)) from None
    policy = policy_or_fail(policy_file)
    exclusions, _note, in_force = _load_exclusions(db_url, policy)
    denied = 0
    # Each batch transport sends what `check URL` sends: signed, with the policy's coding bound.
    make_transport = functools.partial(HttpxTransport, signer=signer_or_fail(policy),
                                       max_codings=policy.cache.max_content_codings)
    results = check_many(urls, policy, make_transport, purpose=purpose, exclusions=exclusions,
                         fetch_page=not no_fetch, concurrency=concurrency)
    # A progress bar only for a person watching (stderr a terminal); stdout stays pure JSON Lines.
    bar = click.progressbar(length=len(urls), label="checking", file=sys.stderr) if sys.stderr.isatty() else None
    try:
        for item in results:
            data = item.as_dict()
            data["exclusion_list_versions"] = in_force
            click.echo(json.dumps(data))
            denied += item.result.verdict.value != "allow"
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.render_finish()
    raise SystemExit(EXIT_DENIED if denied else 0)


def _load_exclusions(db_url: str | None, policy: Policy) -> tuple[ExclusionIndex | None, str, list[dict] | None]:
    """The exclusion index from the database, one line saying where it came from and which
    versions are in force, and those versions (``[{list, version, sha256, entry_count}]``).

    An explicit database (--db or $COPYRIGHT_GUARD_DB) that cannot be used or does not exist is a
    configuration error (exit 2): checking without the lists the operator asked for would answer
    the wrong question.
    Without one, ./copyright-guard.db is used if it exists; otherwise no lists apply (and we say so).
    """
    explicit = db_url or os.environ.get(DB_ENV)
    if not explicit and not DEFAULT_DB_FILE.exists():
        if policy.exclusions.lists:  # the lists the policy relies on are missing: never decide without them
            raise CLIError(f"the policy names exclusion lists ({', '.join(policy.exclusions.lists)}) but there is "
                           "no database to read them from", "give --db or set COPYRIGHT_GUARD_DB")
        return None, "none (no database: give --db or set COPYRIGHT_GUARD_DB)", None
    # Imported here: `check` without a database need not load SQLAlchemy.
    from ..store.db import StoreError, describe
    from ..store.lists import ListError, load_exclusion_index
    from ..store.runs import describe_exclusion_lists, exclusion_list_records
    from .db import open_engine

    # must_exist: a mistyped --db (sqlite:///reall.db) must not quietly create an empty database and
    # answer "no lists in force"; the default ./copyright-guard.db is only used when it exists anyway.
    engine = open_engine(explicit or None, must_exist=True)
    try:
        index = load_exclusion_index(engine, policy.exclusions.lists or None)
        with engine.connect() as connection:
            in_force = exclusion_list_records(connection, index.versions)
    except (ListError, StoreError) as exc:
        raise CLIError(str(exc), "see docs/lists.md") from None
    finally:
        engine.dispose()
    names = ", ".join(policy.exclusions.lists) if policy.exclusions.lists else "every active list"
    return index, f"{names} from {describe(engine.url)}: {describe_exclusion_lists(in_force)}", in_force


# -- text output ------------------------------------------------------------------------------------

_MARK = {Effect.DENY: "DENY ", Effect.ALLOW: "ALLOW", Effect.NOTE: "note "}


def render_text(result: CheckResult, lists_note: str) -> str:
    deciding = result.deciding
    policy = result.policy
    lines = [
        f"{result.verdict.value.upper()}  {result.url}",
        f"  decided {deciding.stage.value} for purpose {result.purpose}; policy {policy.policy.name!r}"
        f" (sha256 {policy.hash[:12]}); exclusion lists: {lists_note}",
    ]
    reasons = result.reasons
    lines.append("reasons:" if reasons else "reasons: none (nothing reserves this URL for this purpose)")
    for reason in reasons:
        lines.extend(_reason_lines(reason))
    for origin, view in result.sites.items():
        lines.append(f"site-wide files of {origin}:")
        for site_file in (view.robots, view.tdmrep, view.ai_txt, *view.rsl):
            if site_file is not None:
                lines.append("  " + _site_file_line(site_file))
    lines.append("decisions:")
    for decision in result.decisions:
        lines.append(f"  {decision.stage.value:<10} {decision.verdict.value:<5}  {decision.url}")
    if result.fetch_error:
        lines.append(f"page not fetched: {result.fetch_error}")
    elif result.response is not None:
        response = result.response
        cut = " (body cut)" if response.truncated else ""
        content_type = (response.header("content-type") or ["no Content-Type"])[0]
        lines.append(f"page: HTTP {response.status}, {len(response.body)} bytes{cut}, {content_type[:100]}")
    return "\n".join(lines)


def _reason_lines(reason: Reason) -> list[str]:
    lines = [f"  [{_MARK[reason.effect]}] {reason.code}: {reason.detail}"]
    evidence = reason.evidence
    if evidence is not None:
        if evidence.location and evidence.location not in reason.detail:
            lines.append(f"      at {evidence.location}")
        fetched = _evidence_line(evidence)
        if fetched:
            lines.append(f"      {fetched}")
    return lines


def _evidence_line(evidence: Evidence) -> str:
    parts = []
    if evidence.url:
        parts.append(evidence.url if not evidence.final_url or evidence.final_url == evidence.url
                     else f"{evidence.url} -> {evidence.final_url}")
    if evidence.status is not None:
        parts.append(f"HTTP {evidence.status}")
    if evidence.fetched_at is not None:
        parts.append(f"fetched {evidence.fetched_at.isoformat(timespec='seconds')}")
    if evidence.sha256:
        parts.append(f"sha256 {evidence.sha256[:16]}")
    return ", ".join(parts)


def _site_file_line(site_file) -> str:
    status = site_file.status.value
    detail = f"HTTP {site_file.evidence.status}" if site_file.evidence.status is not None else site_file.error
    if site_file.error and site_file.error != detail:
        detail += f" ({site_file.error})"
    extra = ""
    if site_file.evidence.sha256:
        extra += f", sha256 {site_file.evidence.sha256[:16]}"
    if site_file.parsed is not None and site_file.last_good is not None:
        extra += ", last good copy applies"
    name = site_file.kind if site_file.kind != "rsl" else f"rsl {site_file.evidence.url}"
    return f"{name:<12} {status:<11} {detail}{extra}"


COMMANDS = [check]
