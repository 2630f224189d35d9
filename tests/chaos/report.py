"""One row per scenario, and the table they make. A verdict is PASS only when no check failed."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.chaos.api import Tally
from tests.chaos.ledger import Outcome


@dataclass
class Result:
    scenario: str
    jobs: str = "-"
    lost: str = "-"
    twice: str = "-"
    charged: str = "-"
    fives: str = "-"
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)  # each check that failed, with its numbers
    notes: list[str] = field(default_factory=list)  # what else was measured

    @property
    def verdict(self) -> str:
        return "PASS" if not self.failures else "FAIL"

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)

    def fill(self, outcome: Outcome, tally: Tally) -> None:
        """The job columns from ``outcome``, the answer column from ``tally``."""
        self.jobs = str(outcome.jobs)
        self.lost = str(len(outcome.lost)) + (f" (+{len(outcome.poison)} poison)" if outcome.poison else "")
        if outcome.poison:
            self.notes.append(
                f"{len(outcome.poison)} jobs dead-lettered as poison after max_crashes crashes, every one a kill "
                f"of a worker holding them (e.g. {outcome.poison[:2]})"
            )
        self.twice = outcome.twice_cell
        self.charged = str(outcome.wrongly_charged)
        unexpected = len(tally.unexpected_5xx)
        self.fives = str(unexpected + tally.expected_503)
        if tally.expected_503:
            self.fives += f" ({tally.expected_503} expected 503)"
        self.check(
            not outcome.lost,
            f"{len(outcome.lost)} jobs lost (final statuses {dict(outcome.statuses)}, "
            f"errors {dict(outcome.errors)}; e.g. {outcome.lost[:2]})",
        )
        self.check(not unexpected, f"{unexpected} answers >= 500 {tally.by_route()}: {tally.unexpected_5xx[:1]}")
        self.check(not outcome.never_ran, f"{outcome.never_ran} jobs succeeded with no run in the ledger")
        self.notes.append(
            f"attempts: crash {outcome.crash_attempts}, error {outcome.error_attempts}, "
            f"evicted {outcome.evicted_attempts}; extra runs {outcome.extra_runs}"
        )

    def describe(self) -> str:
        lines = [f"{self.scenario}: {self.verdict} in {self.seconds:.0f}s"]
        lines += [f"  FAILED: {f}" for f in self.failures]
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


COLUMNS = ("scenario", "jobs", "lost", "ran twice", "wrongly charged", "responses >= 500", "verdict")


def table(results: list[Result]) -> str:
    rows = [COLUMNS] + [
        (r.scenario, r.jobs, r.lost, r.twice, r.charged, r.fives, f"{r.verdict} ({r.seconds:.0f}s)") for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    rule = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [rule, "| " + " | ".join(c.ljust(w) for c, w in zip(rows[0], widths, strict=True)) + " |", rule]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows[1:]]
    out.append(rule)
    return "\n".join(out)
