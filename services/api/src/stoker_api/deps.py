"""Dependency aliases: routes ask for the queue objects the lifespan built."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stoker_api.settings import ApiSettings
from stoker_queue import Broker, Producer, Reader


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


def _broker(request: Request) -> Broker:
    broker: Broker = request.app.state.broker
    return broker


def _producer(request: Request) -> Producer:
    return Producer(_broker(request))


def _reader(request: Request) -> Reader:
    return Reader(_broker(request))


SettingsDep = Annotated[ApiSettings, Depends(_settings)]
BrokerDep = Annotated[Broker, Depends(_broker)]
ProducerDep = Annotated[Producer, Depends(_producer)]
ReaderDep = Annotated[Reader, Depends(_reader)]
