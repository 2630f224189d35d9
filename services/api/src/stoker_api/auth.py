"""Bearer keys: every /v1 route needs one; queue administration needs an admin key."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from fastapi import Request

from stoker_api.errors import ApiError
from stoker_api.settings import ApiSettings
from stoker_queue import RateLimiter

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a rate-limit scope derived from the key (never the key), and admin rights."""

    scope: str
    admin: bool


def _matches(token: bytes, keys: list[bytes]) -> bool:
    # Compare against every key, whatever matched first, so timing reveals nothing.
    found = False
    for key in keys:
        found |= hmac.compare_digest(token, key)
    return found


class Authenticator:
    """Checks ``Authorization: Bearer <key>`` against the configured keys in constant time."""

    def __init__(self, settings: ApiSettings) -> None:
        self.disabled = settings.auth_disabled
        self._keys = [k.get_secret_value().encode() for k in settings.api_keys]
        self._admin_keys = [k.get_secret_value().encode() for k in settings.admin_keys]
        if self.disabled:
            log.warning("authentication is DISABLED: anyone who reaches this API may submit and administer jobs")

    def authenticate(self, request: Request) -> Principal:
        """Raises ``ApiError`` 401 for a missing or unknown key."""
        if self.disabled:
            return Principal(scope=ANONYMOUS, admin=True)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": "Bearer"}
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <key>'", headers=challenge)
        raw = token.strip().encode()
        admin = _matches(raw, self._admin_keys)
        if not (_matches(raw, self._keys) or admin):
            raise ApiError(401, "unauthorized", "unknown API key", headers=challenge)
        return Principal(scope=RateLimiter.scope_of(token.strip()), admin=admin)


def require_admin(principal: Principal) -> None:
    if not principal.admin:
        raise ApiError(403, "forbidden", "this operation needs an admin key")
