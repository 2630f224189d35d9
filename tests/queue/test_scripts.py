"""Drift guards for the Lua side: headers match wrappers, keys share one slot, scripts survive a flush."""

from __future__ import annotations

import re
from importlib import resources

from redis.crc import key_slot

from stoker_queue import Broker
from stoker_queue.keys import QueueKeys, core_keys
from stoker_queue.scripts import CORE_KEY_COUNT, SCRIPT_EXTRA_KEYS, STANDALONE_SCRIPTS, script_source
from tests.queue.helpers import make_kit

LUA = resources.files("stoker_queue") / "lua"


def _header(name: str) -> str:
    text = (LUA / f"{name}.lua").read_text()
    return "\n".join(line for line in text.splitlines() if line.startswith("--"))


def test_every_script_file_has_a_wrapper_and_back() -> None:
    files = {p.name.removesuffix(".lua") for p in LUA.iterdir() if p.name.endswith(".lua")}
    assert files - {"_prelude", "_clock"} == set(SCRIPT_EXTRA_KEYS) | set(STANDALONE_SCRIPTS)


def test_headers_document_the_keys_their_wrappers_pass() -> None:
    for name, extra in SCRIPT_EXTRA_KEYS.items():
        header = _header(name)
        assert f"KEYS[1..{CORE_KEY_COUNT}]" in header, name
        extra_lines = re.findall(r"KEYS\[(\d+)(\.\.)?\]", header)
        documented = [(int(n), bool(dots)) for n, dots in extra_lines if int(n) > CORE_KEY_COUNT]
        if extra is None:
            assert documented == [(CORE_KEY_COUNT + 1, True)], name
        else:
            assert documented == [(CORE_KEY_COUNT + i + 1, False) for i in range(extra)], name
        assert "ARGV[1]      now ms or ''" in header, name


def test_standalone_headers_document_their_keys() -> None:
    for name, count in STANDALONE_SCRIPTS.items():
        documented = re.findall(r"KEYS\[(\d+)\]", _header(name))
        assert documented == [str(i) for i in range(1, count + 1)], name


def test_prelude_documents_the_core_keys_in_order() -> None:
    prelude = (LUA / "_prelude.lua").read_text()
    keys = core_keys(QueueKeys("q"))
    assert len(keys) == CORE_KEY_COUNT
    assert f"FIRST_EXTRA_KEY = {CORE_KEY_COUNT + 1}" in prelude
    for i, key in [*enumerate(keys[:14], start=1), (CORE_KEY_COUNT, keys[-1])]:
        suffix = key.split("}:", 1)[1]
        assert re.search(rf"KEYS\[{i}\]\s+{re.escape(suffix)}\s", prelude), (i, suffix)


def test_every_key_of_a_queue_hashes_to_one_slot() -> None:
    q = QueueKeys("embed")
    keys = [*core_keys(q), q.result("embed.X"), q.idempotency("k"), q.reaper_lock]
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert all(k.startswith("stoker:{embed}:") for k in keys)


def test_sources_are_helpers_plus_script() -> None:
    clock, prelude = (LUA / "_clock.lua").read_text(), (LUA / "_prelude.lua").read_text()
    assert script_source("ack") == "\n".join([clock, prelude, (LUA / "ack.lua").read_text()])
    assert script_source("ratelimit") == "\n".join([clock, (LUA / "ratelimit.lua").read_text()])


async def test_scripts_reload_after_script_flush(broker: Broker) -> None:
    kit = make_kit(broker)
    await kit.submit()
    await broker.redis.script_flush()
    await kit.submit()  # on a pipeline
    await broker.redis.script_flush()
    assert len((await kit.consumer.claim("q", 5)).jobs) == 2  # direct
