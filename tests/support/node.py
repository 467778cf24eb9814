"""Node clients driven from pytest (tests/js: the graphql-http audit, Apollo Client 4).

The npm packages are pinned in tests/js/package.json and package-lock.json; .ci/extra-setup runs
`npm ci`, and so does :func:`run_node` when node_modules is missing or older than the lock file.
Tests using it skip only when node itself is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[1] / "js"


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    return node


def ensure_packages() -> None:
    lock = JS_DIR / "package-lock.json"
    installed = JS_DIR / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not: cannot install tests/js's packages (npm ci)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_DIR, check=True,
                   timeout=600)


def run_node(script: str, *args: str, timeout: float = 180, env: dict | None = None) -> dict:
    """Runs tests/js/<script> and returns the JSON object it prints last on stdout."""
    node = require_node()
    ensure_packages()
    completed = subprocess.run([node, script, *args], cwd=JS_DIR, capture_output=True, text=True,
                               timeout=timeout, env=env)
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines:
        raise AssertionError(f"node {script} exited {completed.returncode}:\n{completed.stdout[-4000:]}\n"
                             f"{completed.stderr[-4000:]}")
    return json.loads(lines[-1])
