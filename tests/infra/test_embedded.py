"""The embedded PostgreSQL and Redis: safe to start from several processes at once, stopped by the last user."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, %r)
    from config import embedded
    import psycopg, redis
    pg = embedded.database_url()
    rd = embedded.redis_url()
    info = embedded.postgres._info()
    with psycopg.connect(host=str(info.socket_dir), user="postgres", dbname="social") as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    client = redis.Redis.from_url(rd)
    client.incr("starts")
    time.sleep(float(sys.argv[1]))
    print(info.pid, client.info("server")["process_id"], flush=True)
    """
) % str(ROOT)


@pytest.mark.slow
def test_concurrent_starts_share_one_server_and_the_last_one_stops_it(tmp_path):
    env = {**os.environ, "EMBEDDED_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(delay)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for delay in (0.5, 1.0, 3.0, 3.0)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    assert len({out.strip() for out, _ in outputs}) == 1, outputs  # the same two server processes

    # One server each, shared; all of them stopped once the last process left.
    sys.path.insert(0, str(ROOT))
    check = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(
            f"""
            import sys; sys.path.insert(0, {str(ROOT)!r})
            from config import embedded
            print(embedded.postgres.is_running(), embedded.redis_server.is_running())
            """)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert check.stdout.split() == ["False", "False"], check.stderr
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftovers == ""
