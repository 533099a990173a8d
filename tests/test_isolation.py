"""The engine runs in a child process: a crash or a hang inside it costs one request a 5xx
problem+json, never the API process; limits on the request are enforced with clear errors."""

import os

import pytest
from fastapi.testclient import TestClient

from hazard_kb.api.app import create_app
from hazard_kb.engine.worker import FAULTS_ENV

FREEZER = {"enterprise": {"name": "某冷冻食品公司", "industries": ["轻工"], "regimes": ["涉氨制冷"]},
           "objects": [{"ref": "速冻间1", "class": "速冻间", "properties": {"作业人员数量": 12}}]}


def named(name):
    return {**FREEZER, "enterprise": {**FREEZER["enterprise"], "name": name}}


@pytest.fixture(scope="module")
def isolated():
    os.environ[FAULTS_ENV] = "crash:引擎崩溃测试 hang:引擎卡死测试"  # read by the child when it starts
    try:
        app = create_app(isolate=True, timeout=2.0)
        with TestClient(app) as client:
            yield client, app
    finally:
        os.environ.pop(FAULTS_ENV, None)


def test_isolated_determination_matches_in_process(isolated, engine):
    client, app = isolated
    r = client.post("/v1/determinations", json=FREEZER)
    assert r.status_code == 200
    assert r.json()["answer"] == "yes"
    assert [h["pinpoint"] for h in r.json()["hazards"]] == ["gongmao-2023/art12/item2"]
    assert r.json()["engine"] == "durable-rules"


def test_a_crash_in_the_engine_costs_one_request_not_the_server(isolated):
    client, app = isolated
    pid = app.state.worker.pid
    r = client.post("/v1/determinations", json=named("引擎崩溃测试"))
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in r.text and "abort" not in r.text
    assert app.state.worker.pid != pid, "the engine process was replaced"
    assert client.post("/v1/determinations", json=FREEZER).json()["answer"] == "yes"


def test_a_hanging_determination_is_cut_off(isolated):
    client, app = isolated
    r = client.post("/v1/determinations", json=named("引擎卡死测试"))
    assert r.status_code == 504
    assert r.json()["type"] == "/problems/engine-timeout"
    assert client.post("/v1/determinations", json=FREEZER).status_code == 200


def test_bad_input_is_answered_by_the_child_with_field_names(isolated):
    client, _ = isolated
    r = client.post("/v1/determinations", json={**FREEZER, "objects": [{"ref": "a", "class": "速冻间x"}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "objects.0.class"


def test_oversized_bodies_get_413_problem(isolated):
    client, _ = isolated
    big = b'{"enterprise": "' + b"a" * 1_100_000 + b'"}'
    r = client.post("/v1/determinations", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["title"] == "Payload too large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(12):
            yield b"a" * 100_000

    r = client.post("/v1/determinations", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"


def test_too_many_objects_and_long_strings_are_refused(isolated):
    client, _ = isolated
    many = {**FREEZER, "objects": [{"ref": f"o{i}", "class": "速冻间"} for i in range(2001)]}
    r = client.post("/v1/determinations", json=many)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "objects"
    r = client.post("/v1/determinations", json=named("某" * 201))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "enterprise.name"


def test_requests_do_not_queue_without_bound_for_a_busy_engine(isolated):
    """A request that cannot get the engine within the timeout is told so (503 + Retry-After), not queued."""
    import threading

    client, app = isolated
    worker = app.state.worker
    worker.lock.acquire()  # the engine is held by another determination
    try:
        r = client.post("/v1/determinations", json=FREEZER)
    finally:
        worker.lock.release()
    assert r.status_code == 503 and r.json()["type"] == "/problems/engine-busy"
    assert r.headers["Retry-After"]
    assert client.post("/v1/determinations", json=FREEZER).status_code == 200
    assert threading.active_count() < 60
