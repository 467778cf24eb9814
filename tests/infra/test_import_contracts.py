"""The import contracts (.importlinter) hold, and they really fail on a new cycle or an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = str(Path(sys.executable).with_name("lint-imports"))
PACKAGES = ["common", "users", "feed", "interactions", "notifications", "analytics", "timeline", "devdata", "schema", "config"]


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def tree_copy(tmp_path):
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # a lower app importing a higher one (and so a cycle between apps)
        ("users/selectors.py", "import feed.models", "Layers point one way"),
        # a cycle inside schema/: users' loaders importing feed's types, which import users' loaders
        ("schema/users/loaders.py", "import schema.feed.types", "No import cycle"),
        # the shared GraphQL core importing a domain
        ("schema/core/errors.py", "import schema.users.types", "schema.core imports no domain package"),
        # graphene outside schema/
        ("interactions/selectors.py", "import graphene", "Only schema/ imports graphene"),
    ],
)
def test_a_deliberate_violation_fails_the_build(tree_copy, module, line, contract):
    with open(tree_copy / module, "a") as f:
        f.write(f"\n{line}  # deliberate\n")
    result = lint(tree_copy)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
