"""Dependency aliases: routes ask for the context and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stoker_api.auth import STATE_KEY, Principal, require_admin
from stoker_api.context import ApiContext

# Dependencies are coroutines: FastAPI runs a plain function's dependency in a thread, a hop per request.


async def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def _caller(request: Request) -> Principal:
    found = request.scope.get("state", {}).get(STATE_KEY)  # RequireKey checked the key already
    if isinstance(found, Principal):
        return found
    return (await _context(request)).auth.authenticate(request.headers.get("authorization", ""))


async def _admin(caller: Annotated[Principal, Depends(_caller)]) -> Principal:
    require_admin(caller)
    return caller


Ctx = Annotated[ApiContext, Depends(_context)]
Caller = Annotated[Principal, Depends(_caller)]
AdminCaller = Annotated[Principal, Depends(_admin)]
