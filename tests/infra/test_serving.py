"""Production serving (config/serve.py, config/wsgi.py, config/tuning.py): the HTTP tier is granian's WSGI
server with one process per core, the websocket tier daphne; the garbage collector is tuned once loaded."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import psutil
import pytest
from graphql_jwt.shortcuts import get_token

from config import serve, tuning
from tests.conftest import make_user
from tests.support.live_server import BASE_DIR, start_http_tier


def test_the_http_tier_runs_one_process_per_core_by_default(monkeypatch):
    monkeypatch.delenv("WEB_WORKERS", raising=False)
    command = serve.http_command("0.0.0.0", "8000")
    assert command[1:4] == ["-m", "granian", "--interface"] and "wsgi" in command
    assert command[command.index("--workers") + 1] == str(psutil.cpu_count() or 1)
    assert command[-1] == "config.wsgi:application"
    monkeypatch.setenv("WEB_WORKERS", "3")
    assert serve.http_command("0.0.0.0", "8000")[serve.http_command("0.0.0.0", "8000").index("--workers") + 1] == "3"
    assert "--workers" in serve.http_command("h", "1", 5) and "5" in serve.http_command("h", "1", 5)


def test_the_websocket_tier_is_daphne_behind_the_balancer():
    command = serve.ws_command("0.0.0.0", "8000")
    assert command[1:3] == ["-m", "daphne"] and "--proxy-headers" in command
    assert command[-1] == "config.asgi:application"


def test_the_image_and_compose_serve_through_config_serve():
    assert 'CMD ["python", "-m", "config.serve", "http"]' in (BASE_DIR / "Dockerfile").read_text()
    compose = (BASE_DIR / "compose.yaml").read_text()
    assert 'command: ["python", "-m", "config.serve", "http"]' in compose
    assert 'command: ["python", "-m", "config.serve", "ws"]' in compose


@pytest.mark.parametrize("raw, expected", [("", tuning.DEFAULT_THRESHOLDS), ("default", None),
                                           ("1000, 10,10", (1000, 10, 10))])
def test_gc_thresholds_come_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("GC_THRESHOLDS", raw)
    assert tuning.thresholds() == expected


@pytest.mark.parametrize("raw", ["1,2", "a,b,c", "-1,2,3"])
def test_bad_gc_thresholds_stop_the_start_with_a_message(monkeypatch, raw):
    monkeypatch.setenv("GC_THRESHOLDS", raw)
    with pytest.raises(SystemExit, match="GC_THRESHOLDS"):
        tuning.thresholds()


def test_the_wsgi_application_loads_the_schema_and_freezes_start_up_objects():
    code = ("import gc, os; os.environ['GC_THRESHOLDS'] = '40000,15,90'; import config.wsgi, sys; "
            "print(gc.get_freeze_count() > 10000, gc.get_threshold(), 'schema.api' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "(40000,", "15,", "90)", "True"]


def _post(server, query: str, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{server.http}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, json.loads(response.read())


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_http_tier_serves_queries_and_mutations_from_several_processes():
    alice = make_user("alice")
    server = start_http_tier(processes=2)
    try:
        assert len(psutil.Process(server.process.pid).children(recursive=True)) >= 2  # the workers
        token = get_token(alice)
        status, headers, body = _post(server, 'mutation { createPost(input: {body: "served by granian"}) '
                                              '{ post { body author { username } } errors { code } } }', token)
        assert status == 200 and body["data"]["createPost"] == {
            "post": {"body": "served by granian", "author": {"username": "alice"}}, "errors": []}
        assert headers.get("X-Request-ID")
        for _ in range(6):  # whichever process answers, the committed post is there
            status, _, body = _post(server, "{ posts(first: 5) { edges { node { body } } } }")
            assert status == 200 and body["data"]["posts"]["edges"] == [{"node": {"body": "served by granian"}}]
        with urllib.request.urlopen(f"{server.http}/readyz", timeout=10) as response:
            assert response.status == 200
    finally:
        children = psutil.Process(server.process.pid).children(recursive=True)
        server.stop()
        # granian gives its workers WEB_KILL_TIMEOUT (15 s) to finish before killing them: wait past that.
        gone, alive = psutil.wait_procs(children, timeout=30)
        print(server.output()[-3000:])
    assert not alive, "a worker outlived the server"


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_http_tier_refuses_a_request_head_over_16_kib():
    server = start_http_tier(processes=1)
    try:
        with urllib.request.urlopen(f"{server.http}/healthz?pad={'a' * 15000}", timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.http}/healthz?pad={'a' * 17000}", timeout=10)
        assert refused.value.code == 431
    finally:
        server.stop()
