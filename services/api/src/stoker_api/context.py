"""Everything a request needs, built once per app by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from stoker_api.auth import Authenticator
from stoker_api.catalog import TaskCatalog
from stoker_api.metrics import ApiMetrics
from stoker_api.settings import ApiSettings
from stoker_queue import Broker, JobEvents, Producer, QueueAdmin, RateLimiter, Reader, Registry


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

    @classmethod
    def build(cls, settings: ApiSettings) -> ApiContext:
        # The pool connects lazily: the app starts, and answers 503, while Redis is down.
        broker = Broker.from_settings(settings.queue_redis())
        registry = Registry(broker)
        return cls(
            settings=settings,
            broker=broker,
            producer=Producer(broker),
            reader=Reader(broker),
            admin=QueueAdmin(broker),
            registry=registry,
            events=JobEvents(broker),
            catalog=TaskCatalog(registry, settings.catalog_ttl_s),
            limiter=RateLimiter(broker),
            auth=Authenticator(settings),
            metrics=ApiMetrics(),
        )

    async def close(self) -> None:
        await self.events.close()
        await self.broker.close()
