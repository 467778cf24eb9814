"""The README's shell examples run as written against a live server (URLs pointed at it)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.live_server import daphne  # noqa: F401 - fixture
from users.models import User

pytestmark = [pytest.mark.live, pytest.mark.slow]

README = Path(__file__).resolve().parents[2] / "README.md"
BASE = "http://127.0.0.1:8000"


def shell_examples() -> list[str]:
    """The sh blocks that call the server with curl (not those that start it with make)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), re.M | re.S)
    return [block for block in blocks if BASE in block and "curl " in block and "make " not in block]


def test_the_readme_shell_examples_run_as_written(daphne):  # noqa: F811
    for tool in ("curl", "sha256sum", "python3"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    from feed import services

    demo = User(username="demo", email="demo@example.com", display_name="Demo")
    demo.set_password("demo-password-123")
    demo.save()
    services.post_create(author=demo, body="first #readme")
    services.post_create(author=demo, body="second #readme")
    server = daphne()

    examples = shell_examples()
    assert len(examples) >= 6
    script = "set -euo pipefail\n" + "\n".join(examples).replace(BASE, server.http)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    out = done.stdout
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n{out[-3000:]}"
    assert "INTERNAL_SERVER_ERROR" not in out
    assert '"viewer":{"username":"demo"' in out  # the tour's token, sent in the header
    assert '"refreshToken":{"token":' in out  # refreshed with an expired header
    assert "400 application/graphql-response+json" in out and "200 application/json" in out
    assert "type Query {" in out and '{"status": "ok"}' in out
    assert '[{"data":{"users":' in out and '{"data":{"__typename":"Query"}}]' in out  # the batch
    assert "PersistedQueryNotFound" in out and "public, max-age=" in out.lower()
    assert out.count('"body":"second #readme"') >= 3  # a query, the APQ registration and the GET by hash
