"""Bearer keys: 401 without a known key, 403 for admin routes with a user key, open health routes."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from tests.api.conftest import ADMIN_KEY, error_of, make_client, settings_for

PROTECTED = [
    ("POST", "/v1/jobs"),
    ("POST", "/v1/jobs/batch"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/default.01JDX3K0000000000000000000"),
    ("GET", "/v1/queues"),
    ("GET", "/v1/workers"),
    ("GET", "/v1/tasks"),
    ("POST", "/v1/queues/default/pause"),
]


@pytest.mark.parametrize("header", [None, "Bearer wrong-key-0123456789", "Basic dXNlcjpwYXNz", "Bearer ", "bearer"])
def test_missing_or_unknown_keys_are_401(redis_url: str, header: str | None) -> None:
    with make_client(redis_url, key=None) as client:
        headers = {"Authorization": header} if header is not None else {}
        for method, path in PROTECTED:
            r = client.request(method, path, headers=headers, json={"task": "echo"})
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["WWW-Authenticate"] == "Bearer"
            assert error_of(r)["code"] == "unauthorized"


def test_user_keys_cannot_administer_queues(redis_url: str) -> None:
    with make_client(redis_url) as client:
        for action in ("pause", "resume", "purge", "dead/retry"):
            r = client.post(f"/v1/queues/default/{action}")
            assert r.status_code == 403 and error_of(r)["code"] == "forbidden", action
    with make_client(redis_url, key=ADMIN_KEY) as admin:
        assert admin.post("/v1/queues/default/pause").status_code == 200
        assert admin.post("/v1/jobs", json={"task": "echo"}).status_code == 202  # admins may submit too


def test_health_metrics_and_docs_need_no_key(redis_url: str) -> None:
    with make_client(redis_url, key=None) as client:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
            assert client.get(path).status_code == 200, path


def test_auth_must_be_configured_or_disabled_explicitly(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValidationError, match="API_AUTH_DISABLED"):
        settings_for(redis_url, api_keys=[], admin_keys=[])
    with pytest.raises(ValidationError, match="at least 16"):
        settings_for(redis_url, api_keys=["short"])
    with caplog.at_level(logging.WARNING), make_client(redis_url, key=None, auth_disabled=True, api_keys=[]) as c:
        assert c.post("/v1/jobs", json={"task": "echo"}).status_code == 202
        assert c.post("/v1/queues/default/pause").status_code == 200
    assert "authentication is DISABLED" in caplog.text


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    from stoker_api import ApiSettings

    monkeypatch.setenv("API_API_KEYS", "k1-0123456789abcdef, k2-0123456789abcdef")
    monkeypatch.setenv("API_ADMIN_KEYS", "a1-0123456789abcdef")
    monkeypatch.setenv("REDIS_URL", redis_url)
    settings = ApiSettings()
    assert [k.get_secret_value() for k in settings.api_keys] == ["k1-0123456789abcdef", "k2-0123456789abcdef"]
    assert "0123456789" not in repr(settings)  # secrets never print


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"task": 1, "unknown": true}', "application/json"),
        (b"task=echo", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
    ],
)
def test_401_comes_before_body_validation(redis_url: str, body: bytes, content_type: str) -> None:
    with make_client(redis_url, key=None) as client:
        for path in ("/v1/jobs", "/v1/jobs/batch"):
            r = client.post(path, content=body, headers={"Content-Type": content_type})
            assert r.status_code == 401, (path, body, r.text)
            assert error_of(r)["code"] == "unauthorized"
