"""The review page: ``dashboards/review.html`` with its CSS, script and data inlined into one self-contained file.

What must be readable without the script (integrity, ALCOA+, charts, totals) is rendered here as HTML and SVG; the
script adds the paged tables (runs, records), the run timelines and the CSV/JSON export from the embedded data.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from gxp_otel.display import visible_text
from gxp_otel.review.charts import bar_chart, time_chart

def _dashboards() -> Path:
    """``dashboards/`` of the source tree (editable installs), else a copy shipped inside the package."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "dashboards", here.parents[1] / "dashboards"):
        if (candidate / "review.html").is_file():
            return candidate
    raise FileNotFoundError("dashboards/review.html not found next to the source tree or inside the package")


ALCOA_MEANING = {
    "attributable": "the record names the user or agent who acted",
    "legible": "the record is a well-formed, canonical line that could be read",
    "contemporaneous": "it was recorded within the allowed delay after the event it describes",
    "original": "its hash and its link to the record before it verified",
    "accurate": "no value was coerced, ids are valid, spans end after they start",
    "complete": "nothing was dropped from it (whole lost records appear as gap records)",
    "consistent": "its recorded time is not earlier than the record before it",
    "enduring": "a signed checkpoint later in the chain seals it",
    "available": "it is in a chain file that could be read to its end",
}


def _e(value: Any) -> str:
    """HTML text of ``value``: control and bidi characters made visible first (a U+202E never reverses the page)."""
    return escape(visible_text("" if value is None else value))


def _visible_strings(value: Any) -> Any:
    """``value`` with :func:`visible_text` applied to every string, keys included (for the embedded data)."""
    if isinstance(value, str):
        # printable ASCII holds no control, bidi or format character: visible_text would return it as it is
        return value if value.isascii() and value.isprintable() else visible_text(value)
    if isinstance(value, dict):
        return {_visible_strings(k): _visible_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_visible_strings(v) for v in value]
    return value


def _integrity(data: dict[str, Any]) -> str:
    integrity = data["integrity"]
    n_problems = integrity["problems_total"]
    chains = integrity["chains"]
    verdict = integrity.get("verdict", "VERIFIED" if integrity["ok"] else "NOT VERIFIED")  # §13 of the spec
    if verdict == "NO RECORDS":
        banner = ('<div class="banner empty" id="integrity-banner" data-ok="false"><strong>NO RECORDS.</strong> No '
                  "audit-trail record was found at this path: nothing was verified. Check that the path is the "
                  "trail directory.</div>")
    elif integrity["ok"]:
        caveat = f" Caution: {_e(integrity['caveat'])}." if integrity.get("caveat") else ""
        banner = (f'<div class="banner ok" id="integrity-banner" data-ok="true"><strong>{verdict}.</strong> The '
                  f"audit trail is intact: {integrity['records']:,} records in {chains} chain(s) and "
                  f"{integrity['files']} file(s) were checked (hash chain, checkpoints, signatures); no record was "
                  f"changed, removed, added or reordered.{caveat}</div>")
    elif verdict == "UNSEALED-TAIL":
        banner = (f'<div class="banner empty" id="integrity-banner" data-ok="false"><strong>UNSEALED-TAIL.</strong> '
                  f"Every record up to the last trusted checkpoint verified; the newest records of a live stream are "
                  f"not yet sealed (see below). Run again after the next checkpoint.</div>")
    else:
        banner = (f'<div class="banner fail" id="integrity-banner" data-ok="false"><strong>NOT VERIFIED.</strong> '
                  f"{n_problems:,} problem(s) found in {chains} chain(s) ({integrity['records']:,} records, "
                  f"{integrity['files']} file(s)). The records listed below may not be what was originally "
                  f"recorded; each problem names the file, line and sequence number to investigate.</div>")
    rows = []
    for s in integrity["streams"]:
        cp = s.get("last_checkpoint")
        signer = "unsigned" if cp and cp["key_id"] == "none" else (cp["key_id"] if cp else "")
        checkpoint = f"seals seq {cp['seq']} at {_e(cp['time'])}<br><span class=small>signer {_e(signer)}</span>" if cp \
            else '<span class="warn">no valid checkpoint</span>'
        span = f"{s['first_seq']} to {s['last_seq']}" if s["last_seq"] is not None else "no records"
        notes = "".join(f"<li>{_e(n)}</li>" for n in s["notes"])
        rows.append(
            f"<tr><td><code>{_e(s['stream'])}</code></td><td class=num>{s['records']:,}</td><td>{span}</td>"
            f"<td class=num>{len(s['files'])}</td><td>{checkpoint}</td><td>{_e(s['key_source'])}</td>"
            f"<td>{'closed' if s['closed'] else 'open'}</td><td><ul class=notes>{notes}</ul></td></tr>")
    chains_table = ("<table class=data id=chains><thead><tr><th>Chain (stream)</th><th>Records</th><th>Sequence "
                    "range read</th><th>Files</th><th>Last checkpoint</th><th>Keys</th><th>State</th><th>Notes</th>"
                    "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    problems = ""
    if integrity["problems"]:
        prow = "".join(
            f"<tr><td><span class=kind>{_e(p['kind'])}</span></td><td>{_e(p['words'])}</td><td><code>{_e(p['file'])}"
            f"</code></td><td class=num>{_e(p['line'] or '')}</td><td class=num>{_e('' if p['seq'] is None else p['seq'])}"
            f"</td><td class=small>{_e(p['detail'])}</td></tr>" for p in integrity["problems"])
        more = "" if n_problems <= len(integrity["problems"]) else \
            f"<p>{n_problems - len(integrity['problems']):,} more: run <code>gxp-otel verify --json</code>.</p>"
        problems = ("<h3>Problems</h3><table class=data id=problems><thead><tr><th>Kind</th><th>What it means</th>"
                    "<th>File</th><th>Line</th><th>Seq</th><th>Detail</th></tr></thead><tbody>" + prow +
                    "</tbody></table>" + more)
    return banner + chains_table + problems


def _cards(data: dict[str, Any]) -> str:
    t = data["totals"]
    first = (t["first_time"] or "")[:19].replace("T", " ")
    last = (t["last_time"] or "")[:19].replace("T", " ")
    cards = [("Records in scope", f"{t['records']:,}"), ("Workflow runs", f"{t['runs']:,}"),
             ("Users", f"{t['users']:,}"), ("Agents", f"{t['agents']:,}"), ("Failed spans", f"{t['errors']:,}"),
             ("Human approvals", f"{t['approvals']:,}"), ("First recorded (UTC)", first or "-"),
             ("Last recorded (UTC)", last or "-")]
    return "".join(f'<div class=card><div class=label>{_e(k)}</div><div class=value>{_e(v)}</div></div>'
                   for k, v in cards)


def _alcoa(data: dict[str, Any]) -> str:
    alcoa = data.get("alcoa")
    if not alcoa:
        return "<p>Not computed.</p>"
    rows = []
    for name, finding in alcoa["principles"].items():
        total = finding["passed"] + finding["failed"]
        share = 100.0 * finding["passed"] / total if total else 100.0
        state = "pass" if finding["failed"] == 0 else "fail"
        examples = "".join(
            f"<li><code>{_e(x['file'])}</code> line {_e(x['line'])} seq {_e(x['seq'])}: {_e(x['reason'])}</li>"
            for x in finding["examples"][:3])
        rows.append(
            f"<tr class={state}><td><strong>{_e(name.capitalize())}</strong><br><span class=small>"
            f"{_e(ALCOA_MEANING.get(name, ''))}</span></td><td class=num>{finding['passed']:,}</td>"
            f"<td class=num>{finding['failed']:,}</td><td><div class=meter><span style=\"width:{share:.1f}%\"></span>"
            f"</div>{share:.1f}%</td><td><ul class=notes>{examples}</ul></td></tr>")
    return (f"<p>{alcoa['records_assessed']:,} span and log records of the whole trail assessed by the verifier "
            "(computed from each record and its chain; nothing is taken from a stored flag).</p>"
            "<table class=data id=alcoa><thead><tr><th>Principle</th><th>Passed</th><th>Failed</th><th>Share passed"
            "</th><th>First failing records</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _flag(row: dict[str, Any]) -> str:
    return f" <span class=kind>{_e(row['problem'])}</span>" if row.get("problem") else ""


def _target(row: dict[str, Any]) -> str:
    target = row["target"]
    run = f"<br><span class=small>run {_e(row['run_id'])}</span>" if row.get("run_id") else ""
    return f"<code>{_e(target['stream'])}</code> seq {_e(target['seq'])}{run}"


def _part11(data: dict[str, Any]) -> str:
    part11 = data["part11"]
    counts = part11["counts"]
    parts = [f"<p>{counts['signature']:,} electronic signature(s), {counts['correction']:,} correction(s), "
             f"{counts['purge']:,} purge tombstone(s) in the whole trail (whatever the scope). Whether each verifies "
             "is part of the integrity check above; a failing one is flagged here.</p>"]
    if part11["signature"]:
        rows = "".join(
            f"<tr class=\"{'fail' if r['problem'] else ''}\"><td>{_e(r['signed_at'][:23].replace('T', ' '))}</td>"
            f"<td><strong>{_e(r['printed_name'])}</strong><br><span class=small>{_e(r['user_id'])}</span></td>"
            f"<td><strong>{_e(r['meaning'])}</strong></td><td>{_e(r['reason'])}</td><td>{_target(r)}</td>"
            f"<td class=small>{_e(r['authentication'])}<br>{_e(r['key_id'])}</td>"
            f"<td class=small><code>{_e(r['stream'])}</code> seq {_e(r['seq'])}{_flag(r)}</td></tr>"
            for r in part11["signature"])
        parts.append("<h3>Electronic signatures</h3><table class=data id=signatures><thead><tr><th>Signed (UTC)</th>"
                     "<th>Signer (printed name, user id)</th><th>Meaning</th><th>Reason</th><th>Signed record</th>"
                     "<th>Authentication, key</th><th>Signature record</th></tr></thead><tbody>" + rows +
                     "</tbody></table>")
    if part11["correction"]:
        rows = "".join(
            f"<tr class=\"{'fail' if r['problem'] else ''}\"><td>{_e(r['recorded'][:23].replace('T', ' '))}</td>"
            f"<td>{_target(r)}</td><td><code>{_e(r['path'])}</code></td><td><code>{_e(r['old_value'])}</code></td>"
            f"<td><code>{_e(r['new_value'])}</code></td><td>{_e(r['reason'])}</td>"
            f"<td>{_e(r['printed_name'])}<br><span class=small>{_e(r['user_id'])}</span></td>"
            f"<td class=small><code>{_e(r['stream'])}</code> seq {_e(r['seq'])}{_flag(r)}</td></tr>"
            for r in part11["correction"])
        parts.append("<h3>Corrections (the original records are unchanged)</h3><table class=data id=corrections>"
                     "<thead><tr><th>Recorded (UTC)</th><th>Corrected record</th><th>Value</th><th>Old</th>"
                     "<th>New</th><th>Reason</th><th>By</th><th>Correction record</th></tr></thead><tbody>" + rows +
                     "</tbody></table>")
    if part11["purge"]:
        rows = "".join(
            f"<tr class=\"{'fail' if r['problem'] else ''}\"><td>{_e(r['purged_at'][:23].replace('T', ' '))}</td>"
            f"<td><code>{_e(r['purged_stream'])}</code>: {_e(', '.join(r['files']))}</td><td>{_e(r['before'][:10])}</td>"
            f"<td>{_e(r['policy'])}<br><span class=small>{_e(r['reason'])}</span></td>"
            f"<td>{_e(r['printed_name'])}<br><span class=small>{_e(r['user_id'])}</span></td>"
            f"<td class=small><code>{_e(r['stream'])}</code> seq {_e(r['seq'])}{_flag(r)}</td></tr>"
            for r in part11["purge"])
        parts.append("<h3>Purged after retention (signed tombstones)</h3><table class=data id=purges><thead><tr>"
                     "<th>Purged (UTC)</th><th>Files</th><th>Recorded before</th><th>Policy, reason</th><th>By</th>"
                     "<th>Tombstone record</th></tr></thead><tbody>" + rows + "</tbody></table>")
    return "".join(parts)


def _charts(data: dict[str, Any]) -> str:
    charts = data["charts"]
    return (f'<figure class="wide"><figcaption>Records over time (recorded, UTC)</figcaption>'
            f"{time_chart(charts['over_time'])}</figure>"
            f"<figure><figcaption>By agent</figcaption>{bar_chart(charts['agents'], 'By agent', '#7c3aed')}</figure>"
            f"<figure><figcaption>By user</figcaption>{bar_chart(charts['users'], 'By user', '#0891b2')}</figure>"
            f"<figure><figcaption>By GAMP category</figcaption>{bar_chart(charts['gamp'], 'By GAMP category', '#ea580c')}"
            f"</figure><figure><figcaption>Stream events by type</figcaption>"
            f"{bar_chart(charts['event_types'], 'By event type', '#16a34a')}</figure>")


def _embed(data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_review(data: dict[str, Any], dashboards: Path | None = None) -> str:
    """The whole page as one string; every string from the trail has its control and bidi characters made visible
    first (charts, tables and the embedded data alike)."""
    data = _visible_strings(data)
    dashboards = dashboards or _dashboards()
    template = Template((dashboards / "review.html").read_text(encoding="utf-8"))
    status = data["integrity"].get("verdict", "VERIFIED" if data["integrity"]["ok"] else "NOT VERIFIED")
    return template.substitute(
        title=_e(f"{data['title']}: {status}: {data['trail']}"),
        styles=(dashboards / "review.css").read_text(encoding="utf-8"),
        script=(dashboards / "review.js").read_text(encoding="utf-8"),
        data=_embed(data),
        trail=_e(data["trail"]),
        generated=_e(data["generated"]),
        tool=_e(data["tool"]),
        scope=_e(f"{data['scope']}; found by {data.get('found_by', 'scan')}"),
        integrity=_integrity(data),
        cards=_cards(data),
        charts=_charts(data),
        alcoa=_alcoa(data),
        signatures=_part11(data),
        runs_note=_e(_runs_note(data)),
        records_note=_e(_records_note(data)),
    )


def _runs_note(data: dict[str, Any]) -> str:
    t = data["totals"]
    if t["runs"] > t["runs_shown"]:
        return (f"{t['runs']:,} runs in scope; this page holds the {t['runs_shown']:,} most recently recorded. "
                "Narrow the scope (--since/--until, --user, --trace-id) to review the others.")
    return f"{t['runs']:,} run(s) in scope."


def _records_note(data: dict[str, Any]) -> str:
    t = data["totals"]
    if t["records"] > t["records_shown"]:
        return (f"{t['records']:,} records in scope; this page holds the newest {t['records_shown']:,}. The complete "
                "electronic copy: gxp-otel query PATH --json (same scope options).")
    return f"All {t['records']:,} records in scope."
