"""The web view and /docs in a real headless Chromium that cannot reach anything but this machine,
against a real API and worker: jobs submitted here show up, and an admin's retry runs a job again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.ui.browser import Page
from tests.api.ui.conftest import Stack

pytestmark = pytest.mark.slow
HOSTILE = "<img src=x onerror=document.title='owned'><b>bold</b>"
STATUS = '#detail-fields dd[data-field="status"]'
NOTHING = "\N{EN DASH}"  # what the page shows for an empty field


def _submit(stack: Stack, key: str, body: dict[str, Any]) -> str:
    r = httpx.post(f"{stack.url}/v1/jobs", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _job(stack: Stack, job_id: str, *, wait: float = 0) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.admin_key}"}
    r = httpx.get(f"{stack.url}/v1/jobs/{job_id}", params={"wait": wait}, headers=headers, timeout=wait + 10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _ended(stack: Stack, job_id: str) -> str:
    return str(_job(stack, job_id, wait=30)["status"])


def _listed_status(page: Page, job_id: str) -> str:
    return page.text(f'#jobs tr[data-job-id="{job_id}"] .status')


def _assert_offline(page: Page) -> None:
    urls = page.requested_urls()
    assert any(u.startswith(page.base) for u in urls), urls  # the log works
    assert not [u for u in urls if not u.startswith((page.base, "data:"))], urls


def test_the_page_loads_offline_and_shows_a_submitted_job(page: Page, stack: Stack) -> None:
    job_id = _submit(stack, stack.user_key, {"task": "echo", "input": {"text": HOSTILE}, "metadata": {"note": HOSTILE}})
    assert _ended(stack, job_id) == "succeeded"

    page.open("/ui", key=stack.admin_key)
    assert page.text("#role") == "admin"
    page.wait(lambda: _listed_status(page, job_id) == "succeeded", what="the job in the list")
    page.wait(lambda: page.texts('#queues tr[data-queue="default"] td')[:1] == ["default"], what="the queue")

    page.click(f'#jobs tr[data-job-id="{job_id}"] a.job-link')
    page.wait(lambda: HOSTILE in page.text("#detail-result"), what="the result")
    assert page.text(STATUS) == "succeeded"
    assert HOSTILE in page.text('#detail-fields dd[data-field="metadata"]')
    assert page.text("#detail-error") == NOTHING
    page.wait(lambda: page.texts("#detail-events li strong") == ["status", "end"], what="the events")
    # User data is text: the markup in the input, the result and the metadata never became an element.
    assert page.count("main img, main b") == 0
    assert page.driver.title == "Stoker"
    _assert_offline(page)
    assert not page.console_errors()


def test_the_list_filters_by_queue_and_status(page: Page, stack: Stack) -> None:
    done = _submit(stack, stack.user_key, {"task": "echo", "input": 1})
    failed = _submit(stack, stack.user_key, {"task": "fail", "input": {"why": "for the filter"}})
    assert (_ended(stack, done), _ended(stack, failed)) == ("succeeded", "failed")

    page.open("/ui/#status=failed", key=stack.admin_key)
    page.wait(lambda: _listed_status(page, failed) == "failed", what="the failed job")
    assert set(page.texts("#jobs .status")) == {"failed"}

    page.choose("#filter-status", "")
    page.wait(lambda: _listed_status(page, done) == "succeeded", what="every status")
    page.wait(lambda: page.count("#filter-queue option[value=default]"), what="the queue in the filter")
    page.choose("#filter-queue", "default")
    page.wait(lambda: "queue=default" in page.driver.current_url)
    page.wait(lambda: set(page.texts("#jobs tbody td:nth-child(3)")) == {"default"}, what="one queue")
    page.choose("#filter-status", "canceled")
    page.wait(lambda: page.visible("#jobs-empty"), what="no canceled job")
    assert page.count("#jobs tbody tr") == 0


def test_more_pages_of_jobs_follow_the_cursor(page: Page, stack: Stack) -> None:
    jobs = [{"task": "echo", "input": n, "delay_s": 600} for n in range(55)]
    headers = {"Authorization": f"Bearer {stack.user_key}"}
    assert httpx.post(f"{stack.url}/v1/jobs/batch", json={"jobs": jobs}, headers=headers).status_code == 202
    listed = httpx.get(f"{stack.url}/v1/jobs", params={"status": "scheduled", "limit": 500}, headers=headers)
    scheduled = len(listed.json()["items"])
    assert scheduled >= 55

    page.open("/ui/#status=scheduled", key=stack.user_key)
    page.wait(lambda: page.count("#jobs tbody tr") == 50, what="the first page")
    page.click("#more")
    page.wait(lambda: page.count("#jobs tbody tr") == scheduled, what="the next page")
    assert not page.visible("#more")
    assert len(set(page.texts("#jobs tbody td:first-child"))) == scheduled  # no job twice


def test_a_running_jobs_detail_follows_its_progress(page: Page, stack: Stack, tmp_path: Path) -> None:
    go_on = tmp_path / "go-on"
    job_id = _submit(stack, stack.user_key, {"task": "halfway_until_file", "input": {"path": str(go_on)}})
    page.open(f"/ui/#job={job_id}", key=stack.admin_key)
    page.wait(lambda: page.text(STATUS) == "running", what="the running job")
    page.wait(lambda: "50% halfway" in page.text('#detail-fields dd[data-field="progress"]'), what="its progress")
    go_on.touch()
    live = '#detail-events li[data-event="progress"]'
    page.wait(lambda: any("100% done" in t for t in page.texts(live)), what="the live progress event")
    page.wait(lambda: page.text(STATUS) == "succeeded", what="the end")
    assert "100% done" in page.text('#detail-fields dd[data-field="progress"]')
    page.wait(lambda: '"done": true' in page.text("#detail-result"), what="the result")
    _assert_offline(page)


def test_an_admin_retries_a_failed_job_and_it_runs_again(page: Page, stack: Stack, tmp_path: Path) -> None:
    marker = tmp_path / "mended"
    job_id = _submit(stack, stack.user_key, {"task": "until_file", "input": {"path": str(marker)}})
    assert _ended(stack, job_id) == "failed"
    first_run = _job(stack, job_id)

    page.open(f"/ui/#job={job_id}", key=stack.admin_key)
    page.wait(lambda: "is not there yet" in page.text("#detail-error"), what="the error")
    assert "Traceback" in page.text("#detail-error")  # admin keys see the worker's traceback
    assert page.count("#cancel") == 0
    marker.write_text("now it is")
    page.click("#retry")

    page.wait(lambda: page.count('#detail-events li[data-event="retry"]'), what="the retry")
    page.wait(lambda: page.text(STATUS) == "succeeded", what="the second run")
    page.wait(lambda: '"found": "now it is"' in page.text("#detail-result"), what="the result")
    assert page.text("#detail-error") == NOTHING
    assert page.count("#retry") == 0
    again = _job(stack, job_id)
    assert again["status"] == "succeeded"
    assert again["started_at"] > first_run["started_at"]
    assert again["error"] is None
    _assert_offline(page)


def test_an_admin_cancels_a_waiting_job(page: Page, stack: Stack) -> None:
    job_id = _submit(stack, stack.user_key, {"task": "echo", "input": 3, "delay_s": 600})
    page.open(f"/ui/#job={job_id}", key=stack.admin_key)
    page.wait(lambda: page.text(STATUS) == "scheduled", what="the delayed job")
    page.click("#cancel")
    page.wait(lambda: page.text(STATUS) == "canceled", what="the cancel")
    assert _job(stack, job_id)["status"] == "canceled"
    page.wait(lambda: page.count("#retry"), what="a retry for the canceled job")


def test_a_user_key_sees_its_own_jobs_but_no_retry_or_cancel(page: Page, stack: Stack) -> None:
    failed = _submit(stack, stack.user_key, {"task": "fail", "input": {"why": "no retry here"}})
    assert _ended(stack, failed) == "failed"
    waiting = _submit(stack, stack.user_key, {"task": "echo", "input": 2, "delay_s": 600})

    page.open(f"/ui/#job={failed}", key=stack.user_key)
    assert page.text("#role") == "user"
    page.wait(lambda: "no retry here" in page.text("#detail-error"), what="the error")
    assert "Traceback" not in page.text("#detail-error")  # tracebacks are for admin keys
    assert page.text(STATUS) == "failed"
    page.wait(lambda: _listed_status(page, failed) == "failed", what="the job in the list")
    assert page.count("#retry") == 0

    page.driver.get(f"{stack.url}/ui/#job={waiting}")
    page.wait(lambda: page.text(STATUS) == "scheduled", what="the delayed job")
    assert page.count("#cancel, #retry") == 0
    page.click("#forget-key")
    page.wait(lambda: page.visible("#key-input"), what="the key form again")
    assert page.driver.execute_script("return sessionStorage.length") == 0


def test_a_wrong_key_is_refused_on_the_page(page: Page, stack: Stack) -> None:
    page.driver.get(f"{stack.url}/ui")
    page.wait(lambda: page.visible("#key-input"), what="the key form")
    page.find("#key-input").send_keys("not-a-key-0123456789abcdef")
    page.click("#key-form button[type=submit]")
    page.wait(lambda: "did not accept" in page.text("#notice"), what="the refusal")
    assert not page.visible("#board")


def test_docs_render_every_operation_offline(page: Page, stack: Stack) -> None:
    operations = httpx.get(f"{stack.url}/openapi.json").json()["paths"]
    expected = sum(len(methods) for methods in operations.values())
    page.driver.get(f"{stack.url}/docs")
    page.wait(lambda: page.count(".opblock") == expected, what="every operation in Swagger UI")
    paths = {text.replace("\u200b", "") for text in page.texts(".opblock-summary-path")}
    assert {"/v1/jobs", "/v1/whoami"} <= paths
    _assert_offline(page)
    assert not page.console_errors()  # nothing refused by the page's policy either
