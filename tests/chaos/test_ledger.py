"""The harness's own arithmetic: which reruns a kill explains, which charges are wrong, what is lost."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import JsonValue

from stoker_queue import Job, JobEnvelope
from tests.chaos.harness import Kill
from tests.chaos.ledger import analyse, read_runs

GIVEN: JsonValue = {"tag": "t", "seconds": 0.0}


def _job(job_id: str, status: str, *, crash: int = 0, error: int = 0, code: str | None = None) -> Job:
    envelope = JobEnvelope(id=job_id, task="chaos_a", queue="chaos", input=GIVEN).to_json()
    state: dict[str, object] = {"status": status, "priority": "normal", "created_at": 1, "finished_at": 2}
    state |= {"crash_attempts": crash, "error_attempts": error}
    if code:
        state["error"] = json.dumps({"code": code, "message": "m", "details": None})
    return Job.decode(envelope, json.dumps(state))


def _ledger(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "ledger.log"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_a_rerun_after_a_kill_of_its_worker_is_justified_and_one_without_is_not(tmp_path: Path) -> None:
    a, b = "chaos.01JDX3K0000000000000000001", "chaos.01JDX3K0000000000000000002"
    runs = read_runs(
        _ledger(
            tmp_path,
            [
                f"{a} 10 1.0 start",
                f"{a} 11 5.0 start",
                f"{a} 11 5.1 end",
                f"{b} 12 1.0 start",
                f"{b} 12 1.1 end",
                f"{b} 13 6.0 start",
                f"{b} 13 6.1 end",
            ],
        )
    )
    assert [r.ended for r in runs[a]] == [None, 5.1]
    kills = [Kill(pid=10, at=2.0, held=frozenset({a}))]
    records: dict[str, Job | None] = {a: _job(a, "succeeded", crash=1), b: _job(b, "succeeded", crash=1)}
    out = analyse({a: GIVEN, b: GIVEN}, records, {a: GIVEN, b: GIVEN}, runs, kills)
    assert out.ran_twice == 2 and out.unjustified_twice == [b]
    assert out.wrongly_charged == 1  # b's crash: no killed worker held it
    assert not out.lost


def test_lost_counts_missing_failed_and_wrong_output_but_not_poison_that_kills_explain(tmp_path: Path) -> None:
    ids = [f"chaos.01JDX3K000000000000000000{n}" for n in range(5)]
    records: dict[str, Job | None] = {
        ids[0]: None,
        ids[1]: _job(ids[1], "failed", code="unknown_task"),
        ids[2]: _job(ids[2], "succeeded"),
        ids[3]: _job(ids[3], "failed", crash=3, code="crashed"),
        ids[4]: _job(ids[4], "failed", crash=3, code="crashed"),
    }
    kills = [Kill(pid=p, at=1.0, held=frozenset({ids[3]})) for p in (1, 2, 3)]
    outputs: dict[str, JsonValue] = {ids[2]: {"tag": "other"}}
    out = analyse(dict.fromkeys(ids, GIVEN), records, outputs, read_runs(_ledger(tmp_path, [])), kills)
    assert out.lost == [ids[0], ids[1], ids[2], ids[4]]
    assert out.poison == [ids[3]]
    assert out.errors["unknown_task"] == 1 and out.statuses["missing"] == 1
