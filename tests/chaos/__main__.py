"""``python -m tests.chaos [--reduced] [--only NAME ...]``: run the chaos scenarios, print one table.

Exit status 1 when any scenario's verdict is FAIL. The details under the table say what failed,
with numbers; ``CHAOS_KEEP=1`` keeps each scenario's logs and ledger for a look afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from tests.chaos.report import Result, table
from tests.chaos.scenarios import SCENARIOS, runner

BUDGET_S = 600  # the whole full run, as the suite promises: bounded, under 10 minutes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--reduced", action="store_true", help="the small sizes `make test` runs")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), help="run these scenarios alone")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results: list[Result] = []
    for name in args.only or list(SCENARIOS):
        print(f"chaos: {name} ...", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            got = runner(name, reduced=args.reduced)()
        except Exception:  # a scenario that cannot run is a FAIL row, not a missing one
            failed = Result(name, seconds=time.monotonic() - began)
            failed.failures.append("the scenario could not run: " + traceback.format_exc(limit=3).replace("\n", " "))
            got = [failed]
        for r in got:
            print(f"chaos: {r.scenario}: {r.verdict} ({r.seconds:.0f}s)", file=sys.stderr, flush=True)
        results += got
    print()
    print(table(results))
    took = time.monotonic() - started
    print(f"{len(results)} scenarios in {took:.0f}s ({'reduced' if args.reduced else 'full'} sizes)")
    if took > BUDGET_S:
        print(f"OVER BUDGET: the run took {took:.0f}s, more than {BUDGET_S}s")
    print()
    for r in results:
        print(r.describe())
    return 0 if all(r.verdict == "PASS" for r in results) and took <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
