"""A batch's reports: JSON (data), CSV (one row per Mac) and one self-contained HTML page for a manager.

Serials, names and outcomes come from Jamf Pro, Entra and Intune, so they are untrusted text: the HTML escapes
every value and forbids scripts and remote loads with its own Content-Security-Policy; CSV cells that a
spreadsheet would run as a formula get a leading quote. Reports are written atomically, mode 0600.
"""

from __future__ import annotations

import csv
import html
import io
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from cleanup.batch.ledger import STATES as MAC_STATES
from cleanup.engine.store import StateStore, atomic_writer
from cleanup.errors import CleanupError

REPORT_FORMAT = "cleanup-batch-report/1"
SERVICES = ("jamf", "entra", "intune")
CSV_HEADER = (
    "serial",
    "name",
    "state",
    "attempts",
    "outcome",
    "deleted_jamf",
    "deleted_entra",
    "deleted_intune",
    "deleted_ids",
    "run_id",
    "started",
    "ended",
    "seconds",
)
UNAVAILABLE = "run state unavailable"


# -- data ---------------------------------------------------------------------------------------------------


def _macs(macs: Iterable[Any] | None) -> Iterator[dict]:
    return (m for m in macs or () if isinstance(m, dict))


def _deleted(mac: dict) -> list[dict]:
    deleted = mac.get("deleted")
    return [d for d in deleted if isinstance(d, dict)] if isinstance(deleted, list) else []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _took(started: Any, ended: Any) -> float | None:
    s, e = _number(started), _number(ended)
    if s is None or e is None or e < s:
        return None
    return round(e - s, 1)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _steps(mac: dict, store: StateStore | None) -> tuple[list[dict] | None, str | None, str]:
    """The Mac's steps from its stored run, its run status, and a note ("" when the steps are there)."""
    run_id = mac.get("run_id")
    if not run_id:
        return None, None, "no run recorded"
    if store is None:
        return None, None, UNAVAILABLE
    try:
        run, _ = store.load(str(run_id))
    except (CleanupError, OSError, ValueError):
        return None, None, UNAVAILABLE
    if mac.get("serial") and run.serial != mac.get("serial"):
        return None, None, f"{UNAVAILABLE} (the run is for another Mac)"
    steps = [{"id": s.id, "state": s.state, "took_seconds": _took(s.started, s.ended), "outcome": s.outcome} for s in run.steps]
    return steps, run.status, ""


def summarize(macs: Iterable[dict]) -> dict:
    """Counts by state, deleted objects per service, wall time (from the first Mac started to the last one
    ended: the time the batch spent working, waits included). One pass."""
    by_state = dict.fromkeys(MAC_STATES, 0)
    deleted = dict.fromkeys(SERVICES, 0)
    count = 0
    first = last = None
    for mac in _macs(macs):
        count += 1
        state = _text(mac.get("state")) or "unknown"
        by_state[state] = by_state.get(state, 0) + 1
        for d in _deleted(mac):
            service = _text(d.get("service")) or "unknown"
            deleted[service] = deleted.get(service, 0) + 1
        s, e = _number(mac.get("started")), _number(mac.get("ended"))
        first = s if s is not None and (first is None or s < first) else first
        last = e if e is not None and (last is None or e > last) else last
    return {
        "macs": count,
        "by_state": by_state,
        "deleted": deleted,
        "deleted_total": sum(deleted.values()),
        "wall_seconds": _took(first, last) if first is not None and last is not None else None,
    }


def report_mac(mac: dict, store: StateStore | None) -> dict:
    """One Mac of the report: its ledger entry with its steps (or why they are missing) and its duration."""
    steps, status, note = _steps(mac, store)
    return {**mac, "steps": steps, "run_status": status, "steps_note": note, "seconds": _took(mac.get("started"), mac.get("ended"))}


def summary_rows(macs: Iterable[dict]) -> Iterator[tuple[str, str, str, str, int]]:
    """(serial, name, state, outcome, number of deleted objects) per Mac, in ledger order."""
    return ((_text(m.get("serial")), _text(m.get("name")), _text(m.get("state")), _text(m.get("outcome")), len(_deleted(m))) for m in _macs(macs))


# -- formatting ---------------------------------------------------------------------------------------------


def _when(epoch: Any) -> str:
    t = _number(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t is not None else ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _ids(mac: dict) -> str:
    return ";".join(f"{_text(d.get('service'))}:{_text(d.get('id'))}" for d in _deleted(mac))


def _cell(value: str) -> str:
    # a spreadsheet would evaluate text starting with these as a formula (CSV injection)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(mac: dict) -> list:
    per = {s: sum(1 for d in _deleted(mac) if d.get("service") == s) for s in SERVICES}
    seconds = mac.get("seconds")
    return [
        _cell(_text(mac.get("serial"))),
        _cell(_text(mac.get("name"))),
        _cell(_text(mac.get("state"))),
        _text(mac.get("attempts")),
        _cell(_text(mac.get("outcome"))),
        per["jamf"],
        per["entra"],
        per["intune"],
        _cell(_ids(mac)),
        _cell(_text(mac.get("run_id"))),
        _when(mac.get("started")),
        _when(mac.get("ended")),
        "" if seconds is None else seconds,
    ]


CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:72em;
 padding:0 1em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin:0 0 .4em}h3{font-size:1em;margin:.8em 0 .3em}
.meta{color:#555;margin-top:0}
table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid #d0d0d5;padding:.25em .6em;text-align:left;
 vertical-align:top}th{background:#f3f3f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}
.card{border:1px solid #d0d0d5;border-radius:6px;padding:.5em .9em;min-width:7em}
.card b{display:block;font-size:1.5em}
section.mac{border:1px solid #d0d0d5;border-left-width:6px;border-radius:6px;padding:.8em 1em;margin:1em 0}
.state{display:inline-block;border-radius:3px;padding:0 .45em;font-size:.9em;font-weight:600;background:#eee}
.s-done{background:#d8f5dd;color:#135c22;border-color:#2e9e45}.s-failed{background:#fbdcdc;color:#8a1414;border-color:#c62828}
.s-refused{background:#fde9cf;color:#7a4200;border-color:#e08a00}.s-waiting{background:#dde9fb;color:#173f7a;border-color:#2f6fd0}
.s-running,.s-pending{background:#eee;color:#333;border-color:#999}
section.s-done,section.s-failed,section.s-refused,section.s-waiting,section.s-running,section.s-pending{background:#fff}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
ul{margin:.2em 0 .6em;padding-left:1.4em}.none{color:#777;font-style:italic}
@media print{section.mac{break-inside:avoid}}
"""


def _e(value: Any) -> str:
    return html.escape(_text(value), quote=True)


def _state_class(state: Any) -> str:
    return f"s-{state}" if state in MAC_STATES else "s-other"


def _mac_section(index: int, mac: dict) -> str:
    state = mac.get("state")
    parts = [
        f'<section class="mac {_state_class(state)}" id="mac-{index}">',
        f'<h2><code>{_e(mac.get("serial"))}</code> {_e(mac.get("name"))} <span class="state {_state_class(state)}">{_e(state)}</span></h2>',
        "<table>",
        f"<tr><th>Outcome</th><td>{_e(mac.get('outcome'))}</td></tr>",
        f"<tr><th>Host</th><td><code>{_e(mac.get('host'))}</code></td></tr>",
        f"<tr><th>Run</th><td><code>{_e(mac.get('run_id'))}</code> {_e(mac.get('run_status'))}</td></tr>",
        f"<tr><th>Attempts</th><td>{_e(mac.get('attempts'))}</td></tr>",
        f"<tr><th>Started / ended</th><td>{_e(_when(mac.get('started')))} &ndash; {_e(_when(mac.get('ended')))}"
        f" ({_e(_duration(mac.get('seconds')))})</td></tr>",
    ]
    if mac.get("not_before") is not None and state == "waiting":
        parts.append(f"<tr><th>Continues after</th><td>{_e(_when(mac.get('not_before')))}</td></tr>")
    parts.append("</table>")
    reasons = mac.get("reasons") if isinstance(mac.get("reasons"), list) else []
    parts.append("<h3>Why it was flagged</h3>")
    parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in reasons) + "</ul>" if reasons else '<p class="none">no reasons recorded</p>')
    parts.append("<h3>Steps</h3>")
    if mac.get("steps"):
        parts.append("<table><tr><th>Step</th><th>State</th><th>Took</th><th>Outcome</th></tr>")
        parts.extend(
            f"<tr><td><code>{_e(s['id'])}</code></td><td>{_e(s['state'])}</td>"
            f'<td class="n">{_e(_duration(s["took_seconds"]))}</td><td>{_e(s["outcome"])}</td></tr>'
            for s in mac["steps"]
        )
        parts.append("</table>")
    else:
        parts.append(f'<p class="none">{_e(mac.get("steps_note") or UNAVAILABLE)}</p>')
    parts.append("<h3>Deleted objects</h3>")
    deleted = _deleted(mac)
    if deleted:
        parts.append("<table><tr><th>Service</th><th>Id</th><th>Object</th></tr>")
        parts.extend(f"<tr><td>{_e(d.get('service'))}</td><td><code>{_e(d.get('id'))}</code></td><td>{_e(d.get('target'))}</td></tr>" for d in deleted)
        parts.append("</table>")
    else:
        parts.append('<p class="none">nothing deleted</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _html_head(meta: dict, summary: dict) -> str:
    title = f"cleanup batch {_text(meta.get('batch_id'))}"
    cards = [f'<div class="card"><b>{summary["macs"]}</b>Macs</div>']
    cards += [f'<div class="card {_state_class(s)}"><b>{n}</b>{_e(s)}</div>' for s, n in summary["by_state"].items() if n or s in ("done", "failed", "waiting")]
    deleted_rows = "".join(f'<tr><td>{_e(s)}</td><td class="n">{n}</td></tr>' for s, n in summary["deleted"].items())
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                # no scripts, no remote loads: the page only needs its own inline style
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
                f"<h1>{_e(title)}</h1>",
                f'<p class="meta">Playbook <b>{_e(meta.get("playbook"))}</b> &middot; created {_e(_when(meta.get("created")))}'
                f" &middot; updated {_e(_when(meta.get('updated')))} &middot; report generated {_e(_when(meta.get('generated')))}"
                f" &middot; wall time {_e(_duration(summary['wall_seconds']) or 'n/a')}</p>",
                f'<div class="cards">{"".join(cards)}</div>',
                f"<h3>Deleted objects ({summary['deleted_total']})</h3>",
                f"<table><tr><th>Service</th><th>Deleted</th></tr>{deleted_rows}</table>",
                "<h3>Macs</h3>",
                "<table><tr><th>Serial</th><th>Name</th><th>State</th><th>Deleted</th><th>Outcome</th></tr>",
            ]
        )
        + "\n"
    )


def _overview_row(index: int, m: dict) -> str:
    return (
        f'<tr><td><a href="#mac-{index}"><code>{_e(m.get("serial"))}</code></a></td><td>{_e(m.get("name"))}</td>'
        f'<td><span class="state {_state_class(m.get("state"))}">{_e(m.get("state"))}</span></td>'
        f'<td class="n">{len(_deleted(m))}</td><td>{_e(m.get("outcome"))}</td></tr>\n'
    )


# -- files --------------------------------------------------------------------------------------------------


def write_reports(batch_dir: Path, meta: dict, macs: Callable[[], Iterable[dict]], store: StateStore | None) -> dict[str, Path]:
    """Write report.json, report.csv and report.html into the batch folder; returns {"json"|"csv"|"html": path}.

    ``macs()`` gives the batch's Macs afresh on each call; they are streamed (a Mac at a time, its run state
    read once), so the reports of ten thousand Macs take no more memory than those of ten."""
    batch_dir = Path(batch_dir)
    batch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = {"json": batch_dir / "report.json", "csv": batch_dir / "report.csv", "html": batch_dir / "report.html"}
    header = {k: v for k, v in meta.items() if k != "macs"}
    header.update(report_format=REPORT_FORMAT, generated=time.time(), summary=summarize(macs()))
    # sections: the HTML's per-Mac sections, written in the same pass
    with tempfile.TemporaryFile(dir=batch_dir) as sections, atomic_writer(paths["json"]) as fj, atomic_writer(paths["csv"]) as fc:
        head = json.dumps(header, indent=1, sort_keys=True, default=str)
        fj.write(head[:-2].encode() + b',\n "macs": [')
        text = io.TextIOWrapper(fc, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(CSV_HEADER)
        for i, mac in enumerate(_macs(macs()), 1):
            rep = report_mac(mac, store)
            fj.write((",\n  " if i > 1 else "\n  ").encode() + json.dumps(rep, sort_keys=True, default=str).encode())
            writer.writerow(csv_row(rep))
            sections.write(_mac_section(i, rep).encode("utf-8") + b"\n")
        fj.write(b"\n ]\n}\n")
        text.detach()
        with atomic_writer(paths["html"]) as fh:
            fh.write(_html_head(header, header["summary"]).encode("utf-8"))
            for i, mac in enumerate(_macs(macs()), 1):
                fh.write(_overview_row(i, mac).encode("utf-8"))
            fh.write(b"</table>\n")
            sections.seek(0)
            shutil.copyfileobj(sections, fh)
            fh.write(b"</body></html>\n")
    return paths
