"""Everything a request needs, built once per app by ``create_app``."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stoker_api.auth import Authenticator
from stoker_api.catalog import TaskCatalog
from stoker_api.metrics import ApiMetrics
from stoker_api.queue_gauges import QueueGauges
from stoker_api.settings import ApiSettings
from stoker_api.telemetry import TracedProducer
from stoker_api.upkeep import QueueUpkeep
from stoker_queue import Broker, JobEvents, Producer, QueueAdmin, RateLimiter, Reader, Reaper, Registry, Scheduler

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


@dataclass
class ApiContext:
    settings: ApiSettings
    broker: Broker
    producer: Producer
    reader: Reader
    admin: QueueAdmin
    registry: Registry
    events: JobEvents
    catalog: TaskCatalog
    limiter: RateLimiter
    auth: Authenticator
    metrics: ApiMetrics
    scheduler: Scheduler
    upkeep: QueueUpkeep

    @classmethod
    def build(cls, settings: ApiSettings, *, tracer: Tracer | None = None) -> ApiContext:
        """The context for one app.

        Args:
            settings: the API's settings.
            tracer: when tracing is on, submits go through a producer that opens a PRODUCER span per job.
        """
        # The pool connects lazily: the app starts, and answers 503, while Redis is down.
        broker = Broker.from_settings(settings.queue_redis())
        registry = Registry(broker)
        reader = Reader(broker)
        producer = Producer(broker) if tracer is None else TracedProducer(broker, tracer)
        metrics = ApiMetrics(QueueGauges(reader, timeout_s=settings.redis_timeout_s))
        scheduler = Scheduler(broker)
        return cls(
            settings=settings,
            broker=broker,
            producer=producer,
            reader=reader,
            admin=QueueAdmin(broker),
            registry=registry,
            events=JobEvents(broker),
            catalog=TaskCatalog(registry, settings.catalog_ttl_s),
            limiter=RateLimiter(broker),
            auth=Authenticator(settings),
            metrics=metrics,
            scheduler=scheduler,
            upkeep=QueueUpkeep(
                reader,
                Reaper(broker, owner=f"api-{socket.gethostname()}-{os.getpid()}", interval_s=settings.reap_interval_s),
                settings.reap_interval_s,
                scheduler,
                on_tick=metrics.ticked,
            ),
        )

    async def close(self) -> None:
        await self.events.close()
        await self.broker.close()
