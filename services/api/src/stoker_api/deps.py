"""Dependency aliases: routes ask for the context and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stoker_api.auth import Principal, require_admin
from stoker_api.context import ApiContext


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def _caller(request: Request) -> Principal:
    return _context(request).auth.authenticate(request)


def _admin(caller: Annotated[Principal, Depends(_caller)]) -> Principal:
    require_admin(caller)
    return caller


Ctx = Annotated[ApiContext, Depends(_context)]
Caller = Annotated[Principal, Depends(_caller)]
AdminCaller = Annotated[Principal, Depends(_admin)]
