"""Stoker's HTTP API. Build it with ``create_app(settings)``; run it with ``stoker-api``."""

from stoker_api.main import create_app
from stoker_api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
