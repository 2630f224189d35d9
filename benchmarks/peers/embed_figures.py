"""``embed`` (all-MiniLM-L6-v2) at one job per call against its task's default batch size, in one process:
sentences per second over the same texts, and the p99 of one call's time. On CUDA when present, else the CPU.

    python embed_figures.py SENTENCES   ->   {"device": .., "batch": 32, "one_s": .., "one_p99_ms": .., ...}
"""

from __future__ import annotations

import json
import random
import sys
import time

import figures

from stoker_worker import load_tasks
from stoker_worker.tasks.embed import Embed, EmbedInput

WORDS = [
    "model",
    "queue",
    "worker",
    "batch",
    "latency",
    "tensor",
    "cluster",
    "request",
    "result",
    "token",
    "stream",
    "vector",
]


def _sentences(n: int) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(20)) for _ in range(n)]


def _pass(model: Embed, texts: list[str], per_call: int) -> tuple[float, float]:
    """Sentences/s and p99 call time (ms), each call one batch of ``per_call`` jobs of one sentence."""
    calls: list[float] = []
    began = time.perf_counter()
    for i in range(0, len(texts), per_call):
        t0 = time.perf_counter()
        model([EmbedInput(texts=[t]) for t in texts[i : i + per_call]])
        calls.append((time.perf_counter() - t0) * 1000)
    return len(texts) / (time.perf_counter() - began), figures.pct(calls, 99)


def main(sentences: int) -> dict[str, object]:
    batch = load_tasks(["stoker_worker.tasks.embed"])["embed"].options.batch_size
    model = Embed()
    model.setup()
    texts = _sentences(sentences)
    _pass(model, texts[:batch], batch)  # warm both shapes once
    one, one_p99 = _pass(model, texts, 1)
    many, many_p99 = _pass(model, texts, batch)
    return {
        "device": model.device,
        "batch": batch,
        "one_s": one,
        "one_p99_ms": one_p99,
        "many_s": many,
        "many_p99_ms": many_p99,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
