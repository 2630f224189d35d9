"""Stoker against arq, rq, saq, dramatiq and taskiq: one table, measured side by side in one run.

Each figure runs for each queue on a fresh ``redis-server``, figure by figure. Each peer runs in its own
virtualenv (``build/bench-venvs/<peer>``, pinned by ``peers/versions.txt``, installed on first use) through a
small adapter (``peers/<peer>_peer.py``) that speaks one JSON line; ``peers/figures.py`` times every queue the
same way. Stoker's HTTP figures and ``embed`` have no peer counterpart.

    .venv/bin/python benchmarks/compare.py                  # make bench: the full run, under 10 minutes
    BENCH_QUICK=1 .venv/bin/python benchmarks/compare.py    # smoke: tiny sizes, installs nothing, no embed
    BENCH_PEERS=stoker,saq ...                              # only these queues
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "peers")]

import api_figures
import report
import run
import stoker_peer
import venvs

PEERS = ["stoker", *venvs.pins()]
API_FULL = {
    "api-wait": run.Size(600, 5),  # 3 s at 200 jobs/s
    "http-roundtrip": run.Size(300, 4),
    "api-single": run.Size(0, 4),
    "api-batch": run.Size(0, 4),
}
API_QUICK = {"api-wait": run.Size(20, 1), "http-roundtrip": run.Size(10, 1), "api-batch": run.Size(0, 1)}
EMBED_SENTENCES = 128


def _embed() -> run.Values | str:
    cmd = [sys.executable, str(HERE / "peers" / "embed_figures.py"), str(EMBED_SENTENCES)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        return f"exit {out.returncode}: {out.stderr.strip()[-300:]}"
    values: run.Values = json.loads(lines[-1])
    return values


def main() -> int:
    quick = os.environ.get("BENCH_QUICK") == "1"
    wanted = [p.strip() for p in os.environ.get("BENCH_PEERS", ",".join(PEERS)).split(",") if p.strip()]
    unknown = sorted(set(wanted) - set(PEERS))
    if unknown:
        raise SystemExit(f"BENCH_PEERS: unknown {unknown}; known: {', '.join(PEERS)}")
    began = time.monotonic()
    pythons = {"stoker": Path(sys.executable)} if "stoker" in wanted else {}
    # The smoke run installs nothing: it takes the peers already installed at their pins, or none.
    pythons |= venvs.ensure([p for p in wanted if p != "stoker"], install=not quick)
    sizes = run.QUICK if quick else run.FULL
    results = run.run_all(pythons, sizes)
    if "stoker" in pythons:
        for figure, got in api_figures.run_api(API_QUICK if quick else API_FULL, shared=quick).items():
            results[(figure, "stoker")] = got
        if not quick:
            results[("embed", "stoker")] = got = _embed()
            print(f"  embed          stoker    {got}", file=sys.stderr, flush=True)
    embed = results.get(("embed", "stoker"))
    batch = embed["batch"] if isinstance(embed, dict) and embed.get("batch") else "default"
    device = f", embed on {embed['device']}" if isinstance(embed, dict) else ""
    peers = [p for p in PEERS if p in pythons]
    headers = {p: "stoker (this tree)" if p == "stoker" else f"{p} {venvs.version_of(p)}" for p in peers}
    kill = sizes["kill"]
    print(
        f"\nStoker and its peers, one run on this machine ({os.cpu_count()} CPUs), Redis {run.redis_version()}, "
        f"a fresh redis-server per figure and queue{device}{' (BENCH_QUICK: smoke sizes)' if quick else ''}\n"
    )
    print(report.table(results, peers, headers, kill.jobs, batch))
    print(
        f"\nstoker ÷ best peer: Stoker's figure over the best peer's (higher is better for jobs/s and sentences/s, "
        f"lower for ms, s and lost jobs); - where the queue has no such thing or no peer has. "
        f"*: some jobs did not start within the figure's window, and the figure is over those that did. "
        f"never: no interrupted job ran again within the SIGKILL figure (when each queue would: below).\n"
        f"drain: {sizes['drain-sync'].jobs} no-op jobs queued while one worker process is stopped, then timed from "
        f"its first start to its last. submit→start: {sizes['latency'].jobs} jobs at {run.RATE:.0f}/s, each from "
        f"just before its submit to its first line of code. SIGKILL: {kill.jobs} jobs of 50 ms; the worker "
        f"and every process it started are killed once a tenth have started and one is running, and a new "
        f"worker starts at once; "
        f"counted when no job has started or ended for 6 s (at most {kill.seconds:.0f} s after the kill). "
        f"Stoker runs this figure with a {stoker_peer.KILL_LEASE_S} s lease and a reaper pass every "
        f"{stoker_peer.KILL_REAP_S} s (defaults 30 s and 5 s).\n"
    )
    print(report.defaults(peers))
    if problems := report.errors(results):
        print(f"\nerrors:\n{problems}")
    print(f"\n({time.monotonic() - began:.0f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
