"""The web view at ``/ui`` and the API docs at ``/docs``, every asset served by the API itself.

Both pages are public (they hold no data); what they show comes from the /v1 routes, with the key the
person gives the page; ``/v1/whoami`` (routes/whoami.py) tells the page what that key may do.
"""

from __future__ import annotations

from fastapi import APIRouter

from stoker_api.ui import docs, pages

router = APIRouter()
for _module in (pages, docs):
    router.include_router(_module.router)

__all__ = ["router"]
