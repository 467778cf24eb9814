"""The project against PostGraphile 5 on one database: `make bench-compare` (`python -m bench.compare`).

1. The data: the database of --database-url (else BENCH_DATABASE_URL, DATABASE_URL, the embedded
   server), created if missing, migrated, and loaded with `manage.py seed --size standard` when it
   has no users (--seed reloads it; otherwise what is there is reused and its row counts printed).
2. SQL per request: both servers started against a counting proxy (bench/compare/pgcount.py:
   Query and Execute messages on the wire); a few warm-up requests, then --sql-requests requests
   of each workload, one at a time. The same servers check that both return the same newest-posts
   page (post ids, dates, like counts, authors, comment ids, bodies and authors).
3. Timed rounds: both servers restarted against PostgreSQL directly; --rounds rounds, alternating
   (the order of the servers flips every round), at each of --connections, of autocannon -j
   (POST, JSON body, every response compared with the warm-up one: a different body counts as an
   error) for newest posts (both) and the feed page (the project: a median user and `demo`),
   each after the machine is quiet (1-minute load < --load-threshold, at most --max-wait s).
4. The table (medians of the rounds; req/s of each round), a JSON of every figure with the date,
   the machine and the versions, and a plot (PNG and SVG): docs/benchmarks/ (bench/results/ with
   --quick).

--quick (development: the demo data set, 3-second rounds at 1 and 10 connections, no quiet wait)
checks the harness, not the servers: its figures mean little.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))

from bench.compare import data, load, pages, report, servers  # noqa: E402
from bench.compare.pgcount import StatementCounter  # noqa: E402

SQL_METHOD = ("SQL statements per request: Query ('Q') and Execute ('E') messages each server sends "
              "PostgreSQL, counted on the wire by a proxy (bench/compare/pgcount.py) over sequential "
              "requests after warm-up; BEGIN/COMMIT count when sent.")
CPU_METHOD = ("Server CPU ms per request: user+system CPU of the server process and its children "
              "(psutil) over the round, divided by the requests answered; DB CPU: the same for the "
              "PostgreSQL backends connected to the database (pg_stat_activity pids).")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="The database (default: BENCH_DATABASE_URL, DATABASE_URL, embedded).")
    parser.add_argument("--redis-url", help="Redis for the project (default: REDIS_URL, embedded).")
    parser.add_argument("--size", help="The seed size when loading (default: standard; demo with --quick).")
    parser.add_argument("--seed", action="store_true", help="Reload the data set (--flush) even if data is there.")
    parser.add_argument("--quick", action="store_true",
                        help="Develop the harness: demo data, --duration 3, --connections 1,10, no quiet wait.")
    parser.add_argument("--connections", help="Comma-separated connection counts (default 1,10,50).")
    parser.add_argument("--rounds", type=int, default=2, help="Rounds per workload and connection count (default 2).")
    parser.add_argument("--duration", type=float, help="Seconds per round (default 15).")
    parser.add_argument("--first", type=int, default=20, help="Page size (default 20).")
    parser.add_argument("--load-threshold", type=float, default=0.8, help="Quiet: 1-minute load below this.")
    parser.add_argument("--max-wait", type=float, default=600, help="At most this many seconds of waiting per round.")
    parser.add_argument("--no-quiet-wait", action="store_true", help="Do not wait for a quiet machine.")
    parser.add_argument("--sql-requests", type=int, default=20, help="Requests counted for SQL per request.")
    parser.add_argument("--no-feed", action="store_true", help="Skip the feed-page rounds.")
    parser.add_argument("--no-cache", action="store_true", help="Skip the response-cache rounds.")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="The project's HTTP processes (WEB_WORKERS; default: one per core). With more than "
                             "one, a one-process server is measured beside it.")
    parser.add_argument("--log-level", help="The project's LOG_LEVEL (default INFO, as in production).")
    parser.add_argument("--out-dir", type=Path, help="Where the JSON and the plot go "
                        "(default docs/benchmarks, bench/results with --quick).")
    parser.add_argument("--no-plot", action="store_true", help="No plot.")
    parser.add_argument("--replot", type=Path, metavar="JSON",
                        help="Only redraw the plot of a JSON this wrote (beside it), measuring nothing.")
    args = parser.parse_args(argv)
    quick = args.quick
    args.size = args.size or ("demo" if quick else "standard")
    args.connections = [int(c) for c in (args.connections or ("1,10" if quick else "1,10,50")).split(",")]
    args.duration = args.duration or (3.0 if quick else 15.0)
    args.quiet_wait = not (args.no_quiet_wait or quick)
    args.out_dir = args.out_dir or BASE_DIR / ("bench/results" if quick else "docs/benchmarks")
    if args.rounds < 1 or args.duration <= 0 or min(args.connections) < 1:
        parser.error("--rounds, --duration and --connections must be positive")
    return args


def add_query(url: str, **query: str) -> str:
    extra = "&".join(f"{key}={value}" for key, value in query.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


PEER_OPTIONS = {"options": "-c%20jit%3Doff"}
# The mixed rounds: one request in WRITE_EVERY is a like toggled or a comment on the page's posts (5%).
WRITE_EVERY = 20
# RESPONSE_CACHE_MAX_STALENESS + RESPONSE_CACHE_REFRESH_SECONDS (defaults) and a margin.
CACHE_SETTLE_SECONDS = 3.5  # as config/settings.py does for the project


def workloads(args, users, docs, project_url, peer_url, variants: dict | None = None,
              servers_by_name: dict | None = None) -> dict[str, dict]:
    """Each series: what to send where, and as whom. ``variants``: more newest-posts series (a label suffix,
    the name of the project server in ``servers_by_name``, whether 1 request in 20 is a write)."""
    variables = {"first": args.first}
    peer_label = f"newest posts, PostGraphile {servers.package_version('postgraphile')}"
    series = {
        report.series_key("newest_posts", report.PROJECT): dict(
            label=f"newest posts, project ({args.processes} processes, cache off)", workload="newest_posts",
            server=report.PROJECT, url=project_url, body=pages.body(docs["newest_posts"], variables), user=None),
        report.series_key("newest_posts", report.PEER): dict(
            label=peer_label, workload="newest_posts", server=report.PEER, url=peer_url,
            body=pages.body(docs["peer_newest_posts"], variables), user=None),
    }
    for variant, (suffix, server_name, writes) in (variants or {}).items():
        series[report.series_key("newest_posts", report.PROJECT, variant)] = dict(
            label=f"newest posts, project ({suffix})", workload="newest_posts", server=report.PROJECT,
            url=servers_by_name[server_name].http, body=pages.body(docs["newest_posts"], variables), user=None,
            variant=variant, server_name=server_name, writes=writes)
    if not args.no_feed:
        for variant, user in users.items():
            series[report.series_key("feed_page", report.PROJECT, variant)] = dict(
                label=(f"feed page, project, {'median user ' if variant == 'median' else ''}{user.username} "
                       f"({user.following:,} followed)"),
                workload="feed_page", server=report.PROJECT, url=project_url,
                body=pages.body(docs["feed_page"], variables), user=user.username)
    return series


def count_sql(args, db, redis_url, prefix, users, docs) -> tuple[dict[str, float], dict]:
    """Step 2: SQL per request of every series, and the page check, through counting proxies."""
    counters = {name: StatementCounter(db.host, db.port).start() for name in (report.PROJECT, report.PEER)}
    project = peer = None
    try:
        project = servers.start_project(
            add_query(db.with_host("127.0.0.1", counters[report.PROJECT].port), sslmode="disable"),
            redis_url, prefix=prefix, log_level=args.log_level, workers=1)
        peer = servers.start_peer(add_query(db.with_host("127.0.0.1", counters[report.PEER].port),
                                            sslmode="disable", **PEER_OPTIONS))
        series = workloads(args, users, docs, project.http, peer.http)
        newest = series[report.series_key("newest_posts", report.PROJECT)]["body"]
        ours = pages.project_page(pages.checked(project.http, newest))
        theirs = pages.peer_page(pages.checked(peer.http, series[report.series_key("newest_posts", report.PEER)]["body"]))
        differences = pages.differences(ours, theirs)
        check = {"same": not differences, "differences": differences[:20], "project": pages.summary(ours),
                 "postgraphile": pages.summary(theirs)}
        print(f"Page check (newest posts, first {args.first}): "
              f"{'the same' if not differences else 'DIFFERENT'} — project {check['project']}; "
              f"PostGraphile {check['postgraphile']}", flush=True)
        for line in differences[:20]:
            print(f"    {line}")
        sql = {}
        for key, spec in series.items():
            token = pages.login(project.http, spec["user"]) if spec["user"] else None
            counter = counters[spec["server"]]
            for _ in range(3):
                pages.checked(spec["url"], spec["body"], token)
            before = counter.statements
            for _ in range(args.sql_requests):
                pages.checked(spec["url"], spec["body"], token)
            sql[key] = round((counter.statements - before) / args.sql_requests, 2)
            print(f"    SQL per request, {spec['label']}: {sql[key]:g}", flush=True)
        return sql, check
    finally:
        servers.stop(project)
        servers.stop(peer)
        for counter in counters.values():
            counter.stop()


def timed_rounds(args, db, database_url, redis_url, prefix, users, docs) -> dict[str, dict]:
    """Step 3: the alternating rounds against servers connected to PostgreSQL directly."""
    project = peer = None
    extra: dict = {}
    page_pks: list[int] = []
    liked_before: set[int] = set()
    try:
        project = servers.start_project(database_url, redis_url, prefix=prefix, log_level=args.log_level,
                                        workers=args.processes, extra_env={"RESPONSE_CACHE": "0"})
        extra["project"] = project
        variants = {}
        # The same server with one process: how throughput grows with processes.
        if args.processes > 1:
            extra["1proc"] = servers.start_project(database_url, redis_url, prefix=prefix, log_level=args.log_level,
                                                   workers=1, extra_env={"RESPONSE_CACHE": "0"})
            variants["1proc"] = ("1 process, cache off", "1proc", False)
        variants["mixed"] = ("cache off, 5% writes", "project", True)
        if not args.no_cache:
            extra["cache"] = servers.start_project(database_url, redis_url, prefix=prefix, log_level=args.log_level,
                                                   workers=args.processes, extra_env={"RESPONSE_CACHE": "1"})
            variants["cache"] = ("response cache on", "cache", False)
            variants["cache-mixed"] = ("response cache on, 5% writes", "cache", True)
        peer = servers.start_peer(add_query(database_url, **PEER_OPTIONS))
        series = workloads(args, users, docs, project.http, peer.http, variants, extra)
        process = {report.PROJECT: project, report.PEER: peer}
        page_ids = [edge["node"]["id"] for edge in json.loads(pages.checked(
            project.http, series[report.series_key("newest_posts", report.PROJECT)]["body"]))["data"]["posts"]["edges"]]
        page_pks = [pages.pk_of(global_id, "Post") for global_id in page_ids]
        liked_before = data.writer_likes(page_pks)
        for spec in series.values():
            spec["rounds"] = {}
        order = list(series)
        total = args.rounds * len(args.connections) * len(order)
        done = 0
        for round_number in range(args.rounds):
            for connections in args.connections:
                for key in (order if round_number % 2 == 0 else order[::-1]):
                    spec = series[key]
                    done += 1
                    quiet = (load.wait_quiet(args.load_threshold, args.max_wait) if args.quiet_wait
                             else {"load_1m": round(os.getloadavg()[0], 2), "quiet": None})
                    token = pages.login(project.http, spec["user"]) if spec["user"] else None
                    expected = None
                    if spec.get("server_name") == "cache" and not spec.get("writes"):
                        # Past the cache's staleness and refresh time: the warm-up's answer is fresh (an
                        # earlier mixed round changed counters), so every answer of the round must equal it.
                        time.sleep(CACHE_SETTLE_SECONDS)
                    for _ in range(3):  # warm-up; the last answer is what every response must be
                        expected = pages.checked(spec["url"], spec["body"], token)
                    server = extra[spec["server_name"]] if spec.get("server_name") else process[spec["server"]]
                    # A fresh login per round, as for the feed page (access tokens last minutes).
                    writes = ({"token": pages.login(project.http, data.WRITER), "post_ids": page_ids,
                               "every": WRITE_EVERY}
                              if spec.get("writes") else None)
                    result = load.run_round(server=server, database=db.name,
                                            url=f"{spec['url']}/graphql", body=spec["body"], token=token,
                                            expect=None if writes else expected, connections=connections,
                                            duration=args.duration, quiet=quiet, writes=writes)
                    # With writes the counts move: answers are checked for status and errors only.
                    result["body_compared"] = not writes and len(expected) <= load.MAX_EXPECT_BYTES
                    spec["rounds"].setdefault(connections, []).append(result)
                    print(f"  [{done}/{total}] round {round_number + 1}, {connections:>2} conns, {spec['label']}: "
                          f"{result['rps']:,.1f} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
                          f"{result['errors']} errors, CPU {result['server_cpu_ms_per_req']} ms/req "
                          f"(load {quiet['load_1m']})", flush=True)
        return {key: {k: v for k, v in spec.items() if k != "body"} for key, spec in series.items()}
    finally:
        servers.stop(peer)
        for server in extra.values():
            servers.stop(server)
        if page_pks:
            undone = data.undo_writes(page_pks, liked_before)
            print(f"Mixed rounds undone: {undone['likes']} likes restored, {undone['comments']} comments deleted.",
                  flush=True)


def plot_title(document: dict) -> str:
    machine, settings = document["machine"], document["settings"]
    return (f"{document['date'][:10]} · {machine['cores']} cores, {machine['cpu_model']}, "
            f"{machine['memory_gib']} GiB · {document['data']['posts']:,} posts · "
            f"{settings['duration_s']:g} s rounds, {settings['rounds']} each"
            f"{' · QUICK (harness check)' if document['quick'] else ''}")


def replot(path: Path) -> int:
    import json

    document = json.loads(path.read_text())
    plots = [path.with_suffix(".png"), path.with_suffix(".svg")]
    report.plot(document["rows"], plot_title(document), plots)
    print("Wrote " + ", ".join(map(str, plots)))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.replot:
        return replot(args.replot)
    servers.ensure_peer_packages()
    database_url, redis_url = data.resolve_urls(args.database_url, args.redis_url)
    db = data.Database.parse(database_url)
    prefix = "bench-compare"
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix,
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    data.prepare(db, env, size=args.size, reseed=args.seed)
    counts = data.data_counts()
    users = data.bench_users()
    print("Data: " + ", ".join(f"{count:,} {name}" for name, count in counts.items()), flush=True)
    docs = pages.documents()

    sql, check = count_sql(args, db, redis_url, prefix, users, docs)
    if not check["same"]:
        print("The two servers do not return the same page: not timing them.", file=sys.stderr)
        return 1
    print(f"\nTimed rounds: {args.rounds} x {args.connections} connections x {args.duration:g} s"
          f"{', quiet-gated (1-minute load < %g, at most %g s)' % (args.load_threshold, args.max_wait) if args.quiet_wait else ', no quiet wait'}.",
          flush=True)
    series = timed_rounds(args, db, database_url, redis_url, prefix, users, docs)
    for key, spec in series.items():  # the same page from another server of the project: the same SQL
        if spec.get("variant"):
            sql.setdefault(key, sql.get(report.series_key(spec["workload"], report.PROJECT)))
    rows = report.summarize(series, sql)
    print()
    report.print_table(rows)

    machine = data.machine()
    versions = {"postgresql": data.postgres_version(), "node": servers.node_version(),
                "postgraphile": servers.package_version("postgraphile"),
                "autocannon": servers.package_version("autocannon"), "project_commit": data.git_commit()}
    document = {
        "date": data.now(), "machine": machine, "versions": versions, "quick": args.quick,
        "data": counts, "users": {k: vars(v) for k, v in users.items()},
        "settings": {"rounds": args.rounds, "connections": args.connections, "duration_s": args.duration,
                     "first": args.first, "quiet_wait": args.quiet_wait, "load_threshold": args.load_threshold,
                     "max_wait_s": args.max_wait, "project_env": servers.PRODUCTION_ENV,
                     "project_processes": args.processes},
        "methods": {"sql": SQL_METHOD, "cpu": CPU_METHOD,
                    "latency": "autocannon -j: p50/p99 of the round; figures are medians over rounds"},
        "page_check": check, "rows": rows,
        "rounds": {key: spec["rounds"] for key, spec in series.items()},
    }
    name = "compare-quick" if args.quick else "compare"
    report.write_json(args.out_dir / f"{name}.json", document)
    written = [args.out_dir / f"{name}.json"]
    if not args.no_plot:
        plots = [args.out_dir / f"{name}.png", args.out_dir / f"{name}.svg"]
        report.plot(rows, plot_title(document), plots)
        written += plots
    print("\nWrote " + ", ".join(str(path.relative_to(BASE_DIR) if path.is_relative_to(BASE_DIR) else path)
                                 for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
