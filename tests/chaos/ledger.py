"""From the ledger, the kill log and the final records to the numbers of the table.

- **lost**: accepted, but its final record is missing or not ``succeeded``, or its stored output is
  not what it was given. A job dead-lettered as poison (``crashed``) after ``max_crashes`` crashes,
  each of them a kill of a worker that held it, is what the design asks for: counted apart (``poison``).
- **ran twice**: its handler started more than once. A rerun is *justified* when the run before it
  was on a worker SIGKILLed after that run started.
- **wrongly charged**: ``error`` attempts (no chaos handler raises), and ``crash`` attempts beyond
  the number of kills of a worker that held the job. ``evicted`` is free, and counted apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import JsonValue

from stoker_queue import Job, JobStatus
from tests.chaos.harness import Kill


@dataclass(frozen=True)
class Run:
    pid: int
    started: float
    ended: float | None  # None: the process died in the handler


def read_runs(path: Path) -> dict[str, list[Run]]:
    """Each job's handler runs, in order."""
    starts: dict[tuple[str, int], list[float]] = defaultdict(list)
    runs: dict[str, list[Run]] = defaultdict(list)
    ends: dict[tuple[str, int], list[float]] = defaultdict(list)
    for line in path.read_text().splitlines():
        job_id, pid_text, at, event = line.split()
        (starts if event == "start" else ends)[(job_id, int(pid_text))].append(float(at))
    for (job_id, pid), times in starts.items():
        finished = sorted(ends.get((job_id, pid), []))
        for n, started in enumerate(sorted(times)):
            runs[job_id].append(Run(pid, started, finished[n] if n < len(finished) else None))
    return {job_id: sorted(r, key=lambda run: run.started) for job_id, r in runs.items()}


@dataclass
class Outcome:
    jobs: int = 0
    lost: list[str] = field(default_factory=list)
    poison: list[str] = field(default_factory=list)  # dead-lettered after crashes that kills explain
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # error code of each job that did not succeed
    ran_twice: int = 0
    unjustified_twice: list[str] = field(default_factory=list)
    extra_runs: int = 0
    wrongly_charged: int = 0
    charged_examples: list[str] = field(default_factory=list)
    crash_attempts: int = 0
    error_attempts: int = 0
    evicted_attempts: int = 0
    never_ran: int = 0  # succeeded without a ledger line: the output came from somewhere else

    @property
    def twice_cell(self) -> str:
        if not self.ran_twice:
            return "0"
        bad = len(self.unjustified_twice)
        return (
            f"{self.ran_twice} ({self.ran_twice - bad} justified, {bad} not)"
            if bad
            else f"{self.ran_twice} (justified)"
        )


def analyse(
    inputs: dict[str, JsonValue],
    records: dict[str, Job | None],
    outputs: dict[str, JsonValue],
    runs: dict[str, list[Run]],
    kills: list[Kill],
) -> Outcome:
    """``inputs``: the input each accepted job was given, by id."""
    killed_at = {k.pid: k.at for k in kills}
    held_kills: Counter[str] = Counter(job_id for k in kills for job_id in k.held)
    out = Outcome(jobs=len(inputs))
    for job_id, given in inputs.items():
        job = records.get(job_id)
        status = job.status.value if job else "missing"
        out.statuses[status] += 1
        if job is None or job.status is not JobStatus.SUCCEEDED or outputs.get(job_id) != given:
            out.errors[job.error.code if job and job.error else status] += 1
            poisoned = job is not None and job.error is not None and job.error.code == "crashed"
            if poisoned and job is not None and job.attempts.crash <= held_kills[job_id]:
                out.poison.append(job_id)
            else:
                out.lost.append(job_id)
        job_runs = runs.get(job_id, [])
        if job is not None and job.status is JobStatus.SUCCEEDED and not job_runs:
            out.never_ran += 1
        if len(job_runs) > 1:
            out.ran_twice += 1
            out.extra_runs += len(job_runs) - 1
            # Every run but the last that was cut short by a kill of its own worker.
            justified = sum(1 for r in job_runs[:-1] if killed_at.get(r.pid, 0) >= r.started)
            if len(job_runs) - 1 > justified:
                out.unjustified_twice.append(job_id)
        if job is None:
            continue
        a = job.attempts
        out.crash_attempts += a.crash
        out.error_attempts += a.error
        out.evicted_attempts += a.evicted
        wrong = a.error + max(0, a.crash - held_kills[job_id])
        if wrong:
            out.wrongly_charged += wrong
            if len(out.charged_examples) < 3:
                out.charged_examples.append(
                    f"{job_id} error={a.error} crash={a.crash} held-at-kill={held_kills[job_id]}"
                )
    return out
