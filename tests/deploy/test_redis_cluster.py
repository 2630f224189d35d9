"""``externalRedis.cluster``: the services are told Redis is a cluster, and KEDA's triggers become
``redis-cluster`` ones; on a real cluster, what the services write is what the triggers read."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from stoker_queue import Broker, JobRequest, Producer, RedisSettings
from tests.deploy.chart import (
    SCENARIO_IDS,
    SCENARIOS,
    Doc,
    RenderError,
    env_map,
    of_kind,
    one,
    pod_specs,
    render,
    render_yaml,
)
from tests.deploy.test_keda_replicas import evaluate


def _triggers(docs: list[Doc]) -> list[Doc]:
    scalers = of_kind(docs, "ScaledObject") + of_kind(docs, "ScaledJob")
    assert scalers
    return [t for s in scalers for t in s["spec"]["triggers"]]


def _redis_clients(docs: list[Doc]) -> list[dict[str, str]]:
    envs = [env_map(c) for _, spec in pod_specs(docs) for c in spec["containers"]]
    return [env for env in envs if "REDIS_URL" in env]


def test_the_cluster_scenario_tells_the_services_and_keda() -> None:
    docs = render(SCENARIOS[SCENARIO_IDS.index("external-redis-cluster")])
    host = "clustercfg.stoker.abc123.use1.cache.amazonaws.com"
    for env in _redis_clients(docs):
        assert env["REDIS_URL"] == f"rediss://{host}:6379/0"
        assert env["REDIS_CLUSTER"] == "true"
    nodes = [f"stoker-000{n}-001.stoker.abc123.use1.cache.amazonaws.com:6379" for n in (1, 2, 3)]
    for trigger in _triggers(docs):
        assert trigger["type"] == "redis-cluster"
        meta = trigger["metadata"]
        assert meta["addresses"] == ",".join(nodes)
        assert "address" not in meta and "databaseIndex" not in meta  # a cluster has database 0 only
        assert meta["enableTLS"] == "true" and meta["listName"].startswith("stoker:{")


def test_a_single_redis_keeps_redis_triggers_and_no_cluster_setting() -> None:
    docs = render()
    assert {t["type"] for t in _triggers(docs)} == {"redis"}
    assert all("REDIS_CLUSTER" not in env for env in _redis_clients(docs))


def test_without_addresses_keda_starts_from_host_and_port(tmp_path: Path) -> None:
    docs = render_yaml(
        {"externalRedis": {"host": "redis-cluster", "port": 7000, "cluster": {"enabled": True}}}, tmp_path
    )
    assert {t["metadata"]["addresses"] for t in _triggers(docs)} == {"redis-cluster:7000"}


def test_a_cluster_with_another_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="only database 0"):
        render_yaml({"externalRedis": {"database": 2, "cluster": {"enabled": True}}}, tmp_path)


@pytest.mark.every_redis("cluster")
async def test_on_a_real_cluster_the_triggers_count_what_the_services_wrote(
    any_redis: RedisSettings, tmp_path: Path
) -> None:
    probe = Broker.from_settings(any_redis)
    assert isinstance(probe.redis, RedisCluster)
    await probe.redis.flushdb()
    nodes = [f"{n.host}:{n.port}" for n in (await probe.redis.initialize()).get_primaries()]
    await probe.close()
    host, port = nodes[0].split(":")
    values = {"host": host, "port": int(port), "cluster": {"enabled": True, "addresses": nodes}}
    pool = {"name": "gpu", "queues": ["gpu-large", "embed", "audio"]}
    docs = render_yaml({"externalRedis": values, "workers": {"pools": [pool]}}, tmp_path)
    (container,) = one(docs, "Deployment", "demo-stoker-api")["spec"]["template"]["spec"]["containers"]
    env = {k.lower(): v for k, v in env_map(container).items() if k.startswith("REDIS_")}
    broker = Broker.from_settings(RedisSettings(**env))
    try:
        assert broker.cluster
        producer = Producer(broker)
        await producer.submit_many([JobRequest(task="echo", queue=q) for q in pool["queues"] for _ in range(3)])
        spec = one(docs, "ScaledObject")["spec"]
        # KEDA's redis-cluster scaler: a cluster client from the addresses, LLEN of each listName.
        (first, *_) = {t["metadata"]["addresses"] for t in spec["triggers"]}.pop().split(",")
        scaler_host, scaler_port = first.split(":")
        keda = RedisCluster(host=scaler_host, port=int(scaler_port), decode_responses=True)
        try:
            lengths = {t["name"]: await keda.llen(t["metadata"]["listName"]) for t in spec["triggers"]}
        finally:
            await keda.aclose()
        assert evaluate(spec["advanced"]["scalingModifiers"]["formula"], lengths) == 9
    finally:
        await broker.close()
