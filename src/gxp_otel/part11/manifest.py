"""Human-readable Part 11 manifestations: a signed record is shown with name, UTC time and meaning (11.50)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from gxp_otel.display import terminal_text


def signature_line(s: dict[str, Any]) -> str:
    state = "" if s["linked"] else " [NOT LINKED]"
    reason = f", reason: {s['reason']}" if s["reason"] else ""
    return (f"signed by {s['printed_name']} ({s['user_id']}) on {s['time']} UTC, meaning: {s['meaning']}{reason}; "
            f"record {s['record']['stream']} seq {s['record']['seq']}: {s['record']['what']}{state}")


def correction_line(c: dict[str, Any]) -> str:
    who = c["corrected_by"]
    return (f"corrected by {who['printed_name']} ({who['user_id']}) at {c['time']} UTC: {c['record']['stream']} seq "
            f"{c['record']['seq']} {c['path']}: {_json(c['old_value'])} -> {_json(c['new_value'])}, "
            f"reason: {c['reason']}")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def purge_line(p: dict[str, Any]) -> str:
    who = p["purged_by"]
    return (f"purged by policy: {p['file']} (seq {p['first_seq']}..{p['last_seq']}) at {p['time']} UTC by "
            f"{who['printed_name']} ({who['user_id']}), policy {p['policy']}: {p['reason']}")


def print_part11(part11: dict[str, Any], out: Console) -> None:
    for title, render, key in (("Electronic signatures", signature_line, "signatures"),
                               ("Corrections", correction_line, "corrections"),
                               ("Purges", purge_line, "purges")):
        if part11.get(key):
            out.print(f"  {title}:", highlight=False)
            for item in part11[key]:
                out.print(f"    {terminal_text(render(item))}", highlight=False, markup=False)
