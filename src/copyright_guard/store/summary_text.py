"""The public summary (store/summary.py) as Markdown or HTML, under the Template's own headings.

Headings follow the Commission's Template for the public summary of training content
(C(2025) 8311): section 2.3 "Data crawled and scraped from online sources" and the crawler part of
section 3.1 on respecting reservations of rights, so a provider can paste them in. Every value
from the log is escaped (a domain or a User-Agent is data, never markup).
"""

from __future__ import annotations

import html

from ..core.content import MODALITIES

TITLE_23 = "2.3 Data crawled and scraped from online sources"
TITLE_31 = "3.1 Measures to respect reservations of rights from the text and data mining exception (crawlers)"


def _size(value: int) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= factor:
            return f"{value / factor:.1f} {unit} ({value:,} bytes)"
    return f"{value:,} bytes"


def _plural(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def _md(text: object) -> str:
    """Markdown cell text: pipes and backslashes escaped, no line breaks, no HTML."""
    return html.escape(str(text), quote=False).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(summary: dict) -> str:
    lines = [f"## {TITLE_23}", "", "### Crawlers used", ""]
    if not summary["crawlers"]:
        lines.append("No crawl is recorded in the scope of this summary.")
    for crawler in summary["crawlers"]:
        policies = ", ".join(f"{p['name']} (sha256 {p['hash'][:12]})" for p in crawler["policies"])
        lines += [f"- **{_md(crawler['product_token'])}** — User-Agent `{_md(crawler['user_agent'])}`; "
                  f"purposes: {_md(', '.join(crawler['purposes']) or 'none recorded')}; "
                  f"{_plural(len(crawler['runs']), 'run')}; policy {_md(policies)}"]
    period = summary["period"]
    lines += ["", "### Collection period", "",
              f"From {period['first'] or '-'} to {period['last'] or '-'} (UTC).", ""]
    if period["runs"]:
        lines += ["| Run | First decision | Last decision | Decisions |", "|---|---|---|---:|"]
        lines += [f"| {r['run']} | {r['first']} | {r['last']} | {r['decisions']:,} |" for r in period["runs"]]
    lines += ["", "### Behaviour", "",
              "The crawler reads robots.txt (RFC 9309) before any other request to a site and honours it for "
              "its own product token and the tokens of peer AI crawlers; it does not circumvent access "
              "restrictions (HTTP 401/402/403/407/451, paywalls, login walls) and sends no credentials; "
              "CAPTCHAs are not solved. Figures are in section 3.1 below.", "",
              "### Modalities and volumes collected", "",
              "| Modality | Items | Size | Domains |", "|---|---:|---:|---:|"]
    for modality in MODALITIES:
        m = summary["modalities"].get(modality, {"items": 0, "bytes": 0, "domains": 0})
        lines.append(f"| {modality} | {m['items']:,} | {_size(m['bytes'])} | {m['domains']:,} |")
    share = summary["share"]
    lines += ["", f"### Most relevant domain names ({_md(share['rule'])})", ""]
    for modality in MODALITIES:
        top = summary["top_domains"].get(modality, [])
        figures = share["modalities"][modality]
        if not figures["domains"]:
            continue
        lines += [f"**{modality}** — {figures['listed']:,} of {_plural(figures['domains'], 'domain')}:", "",
                  "| Domain | Items | Size | First collected | Last collected |", "|---|---:|---:|---|---|"]
        lines += [f"| {_md(d['domain'])} | {d['items']:,} | {_size(d['bytes'])} | {d['first']} | {d['last']} |"
                  for d in top]
        lines.append("")
    if summary.get("decisions_predating_fields"):
        lines += [f"Note: {_plural(summary['decisions_predating_fields'], 'decision')} in scope predate the "
                  "recording of content facts (audit database revision 0005) and are not counted above.", ""]
    lines += [f"## {TITLE_31}", "", "### Opt-out protocols honoured", "",
              "| Protocol | Reason codes | URLs refused | Domains |", "|---|---|---:|---:|"]
    lines += [f"| {_md(o['protocol'])} | {', '.join(o['reason_codes'])} | {o['urls_refused']:,} | {o['domains']:,} |"
              for o in summary["opt_outs"]]
    access = summary["access_restricted"]
    lines += ["", "### Access restrictions respected", "",
              f"{_plural(access['urls_refused'], 'URL')} on {_plural(access['domains'], 'domain')} not collected "
              "because access was restricted" + (":" if access["by_kind"] else "."), ""]
    lines += [f"- {_md(k['kind'])}: {_plural(k['urls_refused'], 'URL')}, {_plural(k['domains'], 'domain')}"
              for k in access["by_kind"]]
    lines += ["", "### Exclusion lists in force", ""]
    if not summary["exclusion_lists"]:
        lines.append("None recorded for the runs in scope.")
    lines += [f"- {_md(e['list'])} version {e['version']} (sha256 {e['sha256'][:12]}, "
              f"{e['entry_count']:,} {'entry' if e['entry_count'] == 1 else 'entries'}), {_plural(len(e['runs']), 'run')}"
              for e in summary["exclusion_lists"]]
    complaints = summary["complaints"]
    lines += ["", "### Complaints from rightsholders", "",
              f"{_plural(complaints['received'], 'complaint')} received"
              + (": " + ", ".join(f"{n:,} {s}" for s, n in sorted(complaints["by_status"].items())) if complaints["received"] else "")
              + ".", ""]
    lines += _withdrawn_markdown(summary.get("withdrawn"))
    return "\n".join(lines)


def _withdrawn_markdown(withdrawn: dict | None) -> list[str]:
    """Items collected and withdrawn later by a recheck (docs/recheck.md), per collecting run."""
    if not withdrawn or not withdrawn["rechecks"]:
        return []
    lines = ["### Withdrawn after collection", "",
             f"{_plural(withdrawn['items'], 'collected item')} ({_size(withdrawn['bytes'])}) withdrawn by "
             f"{_plural(withdrawn['rechecks'], 'recheck')} (latest {withdrawn['last_recheck']}).", ""]
    if withdrawn["by_run"]:
        lines += ["| Collecting run | Items | Size | Why (reason: items) |", "|---|---:|---:|---|"]
        lines += [f"| {run['run']} | {run['items']:,} | {_size(run['bytes'])} | "
                  + _md(", ".join(f"{code}: {n:,}" for code, n in run["reasons"].items())) + " |"
                  for run in withdrawn["by_run"]]
        lines.append("")
    return lines


def _withdrawn_html(withdrawn: dict | None) -> str:
    if not withdrawn or not withdrawn["rechecks"]:
        return ""
    e = html.escape
    out = [f"<h3>Withdrawn after collection</h3><p>{e(_plural(withdrawn['items'], 'collected item'))} "
           f"({e(_size(withdrawn['bytes']))}) withdrawn by {e(_plural(withdrawn['rechecks'], 'recheck'))} "
           f"(latest {e(str(withdrawn['last_recheck']))}).</p>"]
    if withdrawn["by_run"]:
        out.append("<table class=withdrawn><tr><th>Collecting run<th class=n>Items<th class=n>Size<th>Why</tr>")
        out += [f"<tr><td>{e(run['run'])}<td class=n>{run['items']:,}<td class=n>{e(_size(run['bytes']))}"
                f"<td>{e(', '.join(f'{code}: {n:,}' for code, n in run['reasons'].items()))}</tr>"
                for run in withdrawn["by_run"]]
        out.append("</table>")
    return "".join(out)


def to_html(summary: dict) -> str:
    """A self-contained page (no scripts) with the same sections as :func:`to_markdown`."""
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            "<title>Public summary of training content: crawled data</title>"
            "<style>body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
            "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
            "text-align:left;overflow-wrap:anywhere}td.n,th.n{text-align:right}</style></head><body>"
            + summary_section(summary) + "</body></html>\n")


def summary_section(summary: dict) -> str:
    """The summary as an HTML fragment (also a section of ``audit report``)."""
    e = html.escape
    out = [f"<section id=public-summary><h2>{e(TITLE_23)}</h2><h3>Crawlers used</h3><ul>"]
    for crawler in summary["crawlers"]:
        out.append(f"<li><b>{e(crawler['product_token'])}</b> — User-Agent <code>{e(crawler['user_agent'])}</code>; "
                   f"purposes: {e(', '.join(crawler['purposes']) or 'none recorded')}; {e(_plural(len(crawler['runs']), 'run'))}</li>")
    out.append("</ul>")
    period = summary["period"]
    out.append(f"<h3>Collection period</h3><p>From {e(str(period['first'] or '-'))} to {e(str(period['last'] or '-'))} (UTC).</p>")
    out.append("<h3>Modalities and volumes collected</h3><table><tr><th>Modality<th class=n>Items<th class=n>Size"
               "<th class=n>Domains</tr>")
    for modality in MODALITIES:
        m = summary["modalities"].get(modality, {"items": 0, "bytes": 0, "domains": 0})
        out.append(f"<tr><td>{modality}<td class=n>{m['items']:,}<td class=n>{e(_size(m['bytes']))}<td class=n>{m['domains']:,}</tr>")
    out.append(f"</table><h3>Most relevant domain names</h3><p>{e(summary['share']['rule'])}.</p>")
    for modality in MODALITIES:
        top = summary["top_domains"].get(modality, [])
        if not top:
            continue
        out.append(f"<h4>{modality}</h4><table class=top-domains data-modality={modality}><tr><th>Domain<th class=n>Items"
                   "<th class=n>Size<th>First collected<th>Last collected</tr>")
        out += [f"<tr><td>{e(d['domain'])}<td class=n>{d['items']:,}<td class=n>{e(_size(d['bytes']))}"
                f"<td>{e(d['first'])}<td>{e(d['last'])}</tr>" for d in top]
        out.append("</table>")
    if summary.get("decisions_predating_fields"):
        out.append(f"<p>{e(_plural(summary['decisions_predating_fields'], 'decision'))} predate the recording of "
                   "content facts and are not counted above.</p>")
    out.append(f"<h2>{e(TITLE_31)}</h2><table><tr><th>Opt-out protocol<th>Reason codes<th class=n>URLs refused"
               "<th class=n>Domains</tr>")
    out += [f"<tr><td>{e(o['protocol'])}<td>{e(', '.join(o['reason_codes']))}<td class=n>{o['urls_refused']:,}"
            f"<td class=n>{o['domains']:,}</tr>" for o in summary["opt_outs"]]
    access = summary["access_restricted"]
    out.append(f"</table><p>Access restrictions respected: {e(_plural(access['urls_refused'], 'URL'))} on "
               f"{e(_plural(access['domains'], 'domain'))} not collected.</p>")
    complaints = summary["complaints"]
    out.append(f"<p>Complaints received: {complaints['received']:,}.</p>")
    out.append(_withdrawn_html(summary.get("withdrawn")) + "</section>")
    return "".join(out)
