"""A real Redis Cluster for tests: three masters, no replicas, from one ``redis-server`` binary."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

MASTERS = 3
BUS_OFFSET = 10_000  # each node also listens on its port plus this, for the cluster bus


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port is free too (an ephemeral port's is often past 65535)."""
    while True:
        port = random.randint(20_000, 50_000)
        if _bindable(port) and _bindable(port + BUS_OFFSET):
            return port


def _cluster_ok(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True)
    try:
        info = str(client.execute_command("CLUSTER", "INFO"))
    except redis.RedisError:
        return False
    finally:
        client.close()
    return "cluster_state:ok" in info


@contextmanager
def redis_cluster(binary: str, workdir: Path) -> Iterator[list[int]]:
    """Yield the ports of a three-master cluster made of ``binary`` processes, all stopped afterwards."""
    cli = shutil.which("redis-cli", path=str(Path(binary).parent)) or shutil.which("redis-cli")
    if cli is None:
        raise LookupError("redis-cli")
    ports = [cluster_port() for _ in range(MASTERS)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node_dir = workdir / str(port)
            node_dir.mkdir(parents=True)
            args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
            args += ["--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000", "--dir", str(node_dir)]
            args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
            procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        for port, proc in zip(ports, procs, strict=True):
            _wait_for_ping(port, proc)
        create = [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas", "0"]
        subprocess.run([*create, "--cluster-yes"], check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 30
        while not all(_cluster_ok(p) for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not reach cluster_state:ok")
            time.sleep(0.05)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


def _wait_for_ping(port: int, proc: subprocess.Popen[bytes]) -> None:
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {port} exited with {proc.returncode}")
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
    finally:
        client.close()
