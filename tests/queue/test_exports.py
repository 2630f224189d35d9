"""The public surface: everything exported is importable and listed, nothing more."""

from __future__ import annotations

import stoker_queue


def test_all_lists_exactly_the_public_names() -> None:
    public = {n for n in dir(stoker_queue) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(stoker_queue, n)).__name__ == "module"}
    assert set(stoker_queue.__all__) == public - modules
    assert sorted(stoker_queue.__all__) == sorted(set(stoker_queue.__all__))
