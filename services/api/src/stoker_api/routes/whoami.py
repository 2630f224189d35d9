"""``GET /v1/whoami``: what the caller's key may do, so a client (the web view) shows only what works."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from stoker_api.deps import Caller, Ctx
from stoker_api.routes.common import errors

router = APIRouter(prefix="/v1", tags=["keys"])


class KeyView(BaseModel):
    """The caller, as the API sees its key."""

    key_id: str = Field(description="Derived from the key, never the key: the owner recorded on its jobs.")
    admin: bool = Field(description="May administer queues, sees every key's jobs and worker tracebacks.")
    auth_disabled: bool = Field(description="The API runs without keys (local development): every caller is admin.")


@router.get("/whoami", response_model=KeyView, responses=errors(), summary="What the caller's key may do")
async def whoami(ctx: Ctx, caller: Caller) -> KeyView:
    """The caller's key id and whether it is an admin key, so a client offers only what the key may do."""
    return KeyView(key_id=caller.key_id, admin=caller.admin, auth_disabled=ctx.auth.disabled)
