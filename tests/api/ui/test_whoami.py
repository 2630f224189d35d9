"""GET /v1/whoami: the caller's key id and whether it is an admin key; no key is a 401 like any /v1 route."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import error_of, make_client
from tests.support.work import read_job


def test_a_user_key_is_not_admin(client: TestClient) -> None:
    r = client.get("/v1/whoami")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"key_id": body["key_id"], "admin": False, "auth_disabled": False}
    assert body["key_id"].startswith("key-")


def test_an_admin_key_is_admin_and_has_an_id_of_its_own(client: TestClient, admin: TestClient) -> None:
    mine, theirs = admin.get("/v1/whoami").json(), client.get("/v1/whoami").json()
    assert mine["admin"] is True
    assert mine["key_id"] != theirs["key_id"]


def test_the_key_id_is_the_owner_recorded_on_the_callers_jobs(client: TestClient, redis_url: str) -> None:
    job_id = client.post("/v1/jobs", json={"task": "echo"}).json()["id"]
    assert read_job(redis_url, job_id).owner == client.get("/v1/whoami").json()["key_id"]


def test_no_key_or_an_unknown_key_is_401_with_the_error_shape(redis_url: str) -> None:
    with make_client(redis_url, key=None) as anonymous:
        r = anonymous.get("/v1/whoami")
        assert r.status_code == 401
        assert error_of(r)["code"] == "unauthorized"
        r = anonymous.get("/v1/whoami", headers={"Authorization": "Bearer not-a-key-0123456789"})
        assert r.status_code == 401
        assert error_of(r)["message"] == "unknown API key"


def test_without_auth_every_caller_is_an_anonymous_admin(redis_url: str) -> None:
    with make_client(redis_url, key=None, auth_disabled=True, api_keys=[], admin_keys=[]) as open_api:
        assert open_api.get("/v1/whoami").json() == {"key_id": "anonymous", "admin": True, "auth_disabled": True}


def test_it_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/whoami"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/KeyView")
    assert "401" in operation["responses"]
