"""The table: one row per figure, one column per queue, and Stoker's figure over the best peer's."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from run import Results

HERE = Path(__file__).resolve().parent
DASH = "-"


@dataclass(frozen=True)
class Row:
    label: str
    figure: str
    key: str
    higher_is_better: bool
    digits: int = 0


def rows(killed: int, batch: int | str) -> list[Row]:
    many = f"batch {batch} (default)" if isinstance(batch, int) else "default batch"
    return [
        Row("drain, plain functions, jobs/s", "drain-sync", "jobs_s", True),
        Row("drain, coroutines, jobs/s", "drain-async", "jobs_s", True),
        Row("enqueue one at a time, jobs/s", "enqueue", "jobs_s", True),
        Row("submit→start at 200/s, p50 ms", "latency", "p50_ms", False, 1),
        Row("submit→start at 200/s, p95 ms", "latency", "p95_ms", False, 1),
        Row("submit→start at 200/s, p99 ms", "latency", "p99_ms", False, 1),
        Row("result seen by a waiting client, p50 ms", "roundtrip", "p50_ms", False, 1),
        Row("result seen by a waiting client, p99 ms", "roundtrip", "p99_ms", False, 1),
        Row(f"SIGKILL: jobs never run again, of {killed}", "kill", "lost", False),
        Row("SIGKILL: an interrupted job runs again, s", "kill", "rerun_s", False, 1),
        Row("API ?wait=, one at a time: answer p50 ms", "api-wait", "closed_p50_ms", False, 1),
        Row("API ?wait=, one at a time: answer p99 ms", "api-wait", "closed_p99_ms", False, 1),
        Row("API ?wait= at 200/s: submit→start p50 ms", "api-wait", "p50_ms", False, 1),
        Row("API ?wait= at 200/s: submit→start p95 ms", "api-wait", "p95_ms", False, 1),
        Row("API ?wait= at 200/s: submit→start p99 ms", "api-wait", "p99_ms", False, 1),
        Row("API ?wait= at 200/s: answer p50 ms", "api-wait", "answer_p50_ms", False, 1),
        Row("API ?wait= at 200/s: answer p99 ms", "api-wait", "answer_p99_ms", False, 1),
        Row("HTTP client, result seen by waiter, p50 ms", "http-roundtrip", "p50_ms", False, 1),
        Row("one API process, single submits/s", "api-single", "jobs_s", True),
        Row("one API process, jobs/s in batches of 100", "api-batch", "jobs_s", True),
        Row("embed, batch 1, sentences/s", "embed", "one_s", True, 1),
        Row("embed, batch 1, p99 ms per call", "embed", "one_p99_ms", False),
        Row(f"embed, {many}, sentences/s", "embed", "many_s", True, 1),
        Row(f"embed, {many}, p99 ms per call", "embed", "many_p99_ms", False),
    ]


def _cell(results: Results, row: Row, peer: str) -> tuple[str, float | None]:
    got = results.get((row.figure, peer))
    if got is None:
        return DASH, None
    if isinstance(got, str):
        return "error", None
    value = got.get(row.key)
    if value is None:
        return ("never" if row.key == "rerun_s" and got.get("interrupted") else DASH), None
    text = f"{value:,.{row.digits}f}"
    done, of = got.get("done"), got.get("of")
    if done is not None and of and done < of:
        text += "*"  # some jobs did not start within the figure's window; the figure is over those that did
    return text, float(value)


def _ratio(row: Row, ours: float | None, best: tuple[str, float] | None) -> str:
    if ours is None or best is None:
        return DASH
    if ours == 0 or best[1] == 0:  # no ratio to a zero: both counts, side by side
        return f"{ours:,.{row.digits}f} vs {best[1]:,.{row.digits}f} ({best[0]})"
    return f"{ours / best[1]:.2f}x ({best[0]})"


def table(results: Results, peers: list[str], headers: dict[str, str], killed: int, batch: int | str) -> str:
    """Markdown: the figure, Stoker, each peer, then Stoker ÷ the best peer (named)."""
    others = [p for p in peers if p != "stoker"]
    head = ["figure", headers["stoker"], *(headers[p] for p in others), "stoker ÷ best peer"]
    body = []
    for row in rows(killed, batch):
        ours_text, ours = _cell(results, row, "stoker")
        cells, candidates = [], []
        for peer in others:
            text, value = _cell(results, row, peer)
            cells.append(text)
            if value is not None:
                candidates.append((peer, value))
        best = (max if row.higher_is_better else min)(candidates, key=lambda c: c[1]) if candidates else None
        body.append([row.label, ours_text, *cells, _ratio(row, ours, best)])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
    for r in body:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def defaults(peers: list[str]) -> str:
    """Each queue's configuration, from its adapter's docstring."""
    out = []
    for peer in peers:
        doc = ast.get_docstring(ast.parse((HERE / f"{peer}_peer.py").read_text())) or ""
        out.append(f"- **{peer}**: {' '.join(doc.split())}")
    return "\n".join(out)


def errors(results: Results) -> str:
    return "\n".join(f"- {peer}, {figure}: {got}" for (figure, peer), got in results.items() if isinstance(got, str))
