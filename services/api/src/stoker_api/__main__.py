"""``stoker-api``: serve the API with uvicorn, configured from the environment."""

from __future__ import annotations

import logging

import uvicorn

from stoker_api.main import create_app
from stoker_api.settings import ApiSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = ApiSettings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
