"""Does batching pay for ``embed``? Sentences per second at 1 per call against 16 per call,
same process, same texts, best of three runs; on CUDA when present, else the CPU."""

from __future__ import annotations

import random
import time

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
SENTENCES = 256


def _sentences(n: int) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(20)) for _ in range(n)]


def _rate(model: Embed, texts: list[str], per_call: int) -> float:
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        for i in range(0, len(texts), per_call):
            model([EmbedInput(texts=[t]) for t in texts[i : i + per_call]])
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def main() -> None:
    model = Embed()
    model.setup()
    texts = _sentences(SENTENCES)
    one, batched = _rate(model, texts, 1), _rate(model, texts, 16)
    print(f"\nembed benchmark: all-MiniLM-L6-v2 on {model.device}, {SENTENCES} sentences of 20 words\n")
    print(f"| {'measure':<18} | {'baseline':<24} | {'stoker':<24} | {'ratio':>6} |")
    print(f"|{'-' * 20}|{'-' * 26}|{'-' * 26}|{'-' * 8}|")
    row = ("sentences/s", f"{one:,.0f} (1 per call)", f"{batched:,.0f} (16 per call)", batched / one)
    print(f"| {row[0]:<18} | {row[1]:<24} | {row[2]:<24} | {row[3]:>5.1f}x |")


if __name__ == "__main__":
    main()
