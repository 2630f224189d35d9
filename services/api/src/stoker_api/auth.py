"""Bearer keys: every /v1 route needs one; queue administration needs an admin key.

``RequireKey`` checks the key before anything else looks at a /v1 request, so an unauthenticated
request is a 401 whatever its body; routes read the caller it found from the request state.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from stoker_api.errors import ApiError, error_response
from stoker_api.settings import ApiSettings
from stoker_queue import RateLimiter

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
PROTECTED_PREFIX = "/v1/"
# Where RequireKey leaves the caller, in the ASGI scope's state (``request.state.principal``).
STATE_KEY = "principal"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling.

    Args:
        key_id: derived from the key, never the key: it owns the caller's jobs, idempotency keys and
            rate limit, and is safe to store and log.
        admin: may administer queues and sees every tenant's jobs and worker tracebacks.
    """

    key_id: str
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

    def authenticate(self, authorization: str) -> Principal:
        """The caller an ``Authorization`` header value names; ``ApiError`` 401 for a missing or unknown key."""
        if self.disabled:
            return Principal(key_id=ANONYMOUS, admin=True)
        scheme, _, token = authorization.partition(" ")
        challenge = {"WWW-Authenticate": "Bearer"}
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <key>'", headers=challenge)
        raw = token.strip().encode()
        admin = _matches(raw, self._admin_keys)
        if not (_matches(raw, self._keys) or admin):
            raise ApiError(401, "unauthorized", "unknown API key", headers=challenge)
        return Principal(key_id=RateLimiter.scope_of(token.strip()), admin=admin)


def require_admin(principal: Principal) -> None:
    if not principal.admin:
        raise ApiError(403, "forbidden", "this operation needs an admin key")


def _route_path(scope: Scope) -> str:
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class RequireKey:
    """Pure ASGI: a /v1 request without a known key is answered 401 before its body is read."""

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator) -> None:
        self.app = app
        self.auth = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _route_path(scope).startswith(PROTECTED_PREFIX):
            header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            try:
                principal = self.auth.authenticate(header.decode("latin-1"))
            except ApiError as exc:
                response = error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})[STATE_KEY] = principal
        await self.app(scope, receive, send)
