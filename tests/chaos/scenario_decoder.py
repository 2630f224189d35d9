"""Hypothesis over the envelope decoder, in process: whatever bytes a record holds, ``JobEnvelope.from_json``
returns an envelope or raises pydantic's ``ValidationError``, nothing else; a valid envelope round-trips."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from stoker_queue import JobEnvelope
from tests.chaos.corruption import JSON, envelope_kinds
from tests.chaos.report import Result


@dataclass(frozen=True)
class Size:
    examples: int
    derandomize: bool  # reduced: the same examples every run


FULL = Size(examples=3000, derandomize=False)
REDUCED = Size(examples=300, derandomize=True)
VALID = st.builds(
    lambda tag, seconds, priority, metadata, attempts: JobEnvelope(
        id="chaos.01JDX3K0000000000000000000",
        task="chaos_a",
        queue="chaos",
        input={"tag": tag, "seconds": seconds},
        priority=priority,
        metadata=metadata,
        max_attempts=attempts,
    ),
    st.text(max_size=20),
    st.floats(0, 10),
    st.sampled_from(["high", "normal", "low"]),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    st.integers(1, 100),
)


def run(size: Size) -> list[Result]:
    result = Result("envelope decoder (hypothesis)")
    started = time.monotonic()
    written = _sample()
    raw = st.one_of(
        *(kind.map(lambda corrupt: corrupt(written)) for kind in envelope_kinds().values()),
        JSON.map(lambda v: json.dumps(v).encode()),
    )
    seen: Counter[str] = Counter()
    wrong: list[str] = []

    @given(data=raw)
    @settings(
        max_examples=size.examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def decode(data: bytes) -> None:
        try:
            JobEnvelope.from_json(data)
            seen["decoded"] += 1
        except ValidationError:
            seen["refused"] += 1
        except Exception as exc:  # anything else would escape a worker's decoding
            seen["raised"] += 1
            if len(wrong) < 3:
                wrong.append(f"{data[:60]!r}: {type(exc).__name__}: {exc}")

    @given(envelope=VALID)
    @settings(
        max_examples=max(50, size.examples // 10), deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def round_trip(envelope: JobEnvelope) -> None:
        seen["round trips"] += 1
        if JobEnvelope.from_json(envelope.to_json()) != envelope:
            wrong.append(f"round trip changed {envelope.to_json()[:80]}")

    decode()
    round_trip()
    result.jobs = f"{sum(seen.values())} inputs"
    result.notes.append(f"outcomes: {dict(seen)}")
    result.check(not wrong, f"{seen['raised']} inputs raised something other than ValidationError: {wrong}")
    result.seconds = time.monotonic() - started
    return [result]


def _sample() -> bytes:
    envelope = JobEnvelope(id="chaos.01JDX3K0000000000000000000", task="chaos_a", queue="chaos", input={"tag": "x"})
    return envelope.to_json().encode()
