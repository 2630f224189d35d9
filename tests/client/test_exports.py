"""``stoker_client.__all__`` names exactly what the package exports, and the package stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import stoker_client


def test_all_lists_every_public_name() -> None:
    public = {n for n, v in vars(stoker_client).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert set(stoker_client.__all__) == public
    assert sorted(stoker_client.__all__) == stoker_client.__all__


def test_the_client_and_cli_import_no_server_side_package() -> None:
    probe = "import sys, stoker_client, stoker_client.cli; print(' '.join(m.split('.')[0] for m in sys.modules))"
    loaded = set(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    )
    assert not loaded & {"torch", "fastapi", "starlette", "redis", "pydantic", "stoker_api", "stoker_queue"}
