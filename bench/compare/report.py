"""Figures per workload and connection count: the table printed, the JSON, the plot."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

PEER = "postgraphile"
PROJECT = "project"


def series_key(workload: str, server: str, variant: str | None = None) -> str:
    return "/".join(part for part in (workload, server, variant) if part)


def aggregate(rounds: list[dict]) -> dict:
    """Medians over the rounds (and each round's req/s)."""
    def median(key):
        values = [r[key] for r in rounds if r.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    return {"rounds": len(rounds), "rps": median("rps"), "rps_rounds": [r["rps"] for r in rounds],
            "p50_ms": median("p50_ms"), "p99_ms": median("p99_ms"),
            "p99_ms_worst": max((r["p99_ms"] for r in rounds), default=None),
            "errors": sum(r["errors"] for r in rounds), "server_cpu_ms_per_req": median("server_cpu_ms_per_req"),
            "db_cpu_ms_per_req": median("db_cpu_ms_per_req"),
            # True: every round started on a quiet machine; False: some did not; None: not waited for.
            "quiet": None if all(r.get("quiet") is None for r in rounds) else all(r.get("quiet") for r in rounds)}


def summarize(series: dict[str, dict], sql: dict[str, float]) -> list[dict]:
    """One row per (series, connections), with the ratio of its req/s to PostGraphile's newest posts
    at the same connection count."""
    rows = []
    for key, spec in series.items():
        for connections, rounds in sorted(spec["rounds"].items()):
            figures = aggregate(rounds)
            peer = series.get(series_key("newest_posts", PEER), {}).get("rounds", {}).get(connections)
            peer_rps = aggregate(peer)["rps"] if peer else None
            ratio = round(figures["rps"] / peer_rps, 3) if peer_rps and figures["rps"] is not None else None
            rows.append({"series": key, "label": spec["label"], "workload": spec["workload"],
                         "server": spec["server"], "connections": connections,
                         "sql_per_request": sql.get(key), "vs_postgraphile": ratio, **figures})
    return rows


def _fmt(value, digits=1, suffix=""):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def print_table(rows: list[dict]) -> None:
    header = (f"{'workload':<58} {'conns':>5} {'req/s (rounds)':>22} {'p50 ms':>7} {'p99 ms':>7} {'SQL/req':>7} "
              f"{'CPU ms/req':>10} {'DB CPU ms':>9} {'errors':>6} {'vs PG':>6}")
    print(header)
    print("-" * len(header))
    for row in rows:
        rounds = " / ".join(f"{rps:,.0f}" for rps in row["rps_rounds"])
        ratio = "1" if row["server"] == PEER else _fmt(row["vs_postgraphile"], 2)
        print(f"{row['label']:<58} {row['connections']:>5} {rounds:>22} {_fmt(row['p50_ms']):>7} "
              f"{_fmt(row['p99_ms']):>7} {_fmt(row['sql_per_request'], 2):>7} "
              f"{_fmt(row['server_cpu_ms_per_req'], 2):>10} {_fmt(row['db_cpu_ms_per_req'], 2):>9} "
              f"{row['errors']:>6} {ratio:>6}{' (not quiet)' if row['quiet'] is False else ''}", flush=True)


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def plot(rows: list[dict], title: str, paths: list[Path]) -> None:
    """Throughput and p99 against connections, one line per series (log-scaled axes)."""
    import logging

    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 5.6))
    styles = {PEER: dict(color="#d62728", marker="s"), PROJECT: dict(color="#1f77b4", marker="o")}
    # The project's other newest-posts servers (bench/compare/__main__.py variants).
    variants = {"1proc": dict(color="#7fb3e0", marker="o", linestyle="--"),
                "mixed": dict(color="#1f77b4", marker="x", linestyle="-."),
                "cache": dict(color="#2ca02c", marker="D"),
                "cache-mixed": dict(color="#2ca02c", marker="x", linestyle="-.")}
    by_series: dict[str, list[dict]] = {}
    for row in rows:
        by_series.setdefault(row["series"], []).append(row)
    for key, points in by_series.items():
        points.sort(key=lambda r: r["connections"])
        style = dict(styles[points[0]["server"]])
        variant = key.rsplit("/", 1)[-1] if key.count("/") == 2 else None
        if points[0]["workload"] == "newest_posts" and variant in variants:
            style = dict(variants[variant])
        elif points[0]["workload"] != "newest_posts":
            style.update(linestyle="--" if "median" in key else ":", marker="^" if "median" in key else "v")
        xs = [p["connections"] for p in points]
        left.plot(xs, [p["rps"] for p in points], label=points[0]["label"], **style)
        right.plot(xs, [p["p99_ms"] for p in points], label=points[0]["label"], **style)
    for axis, ylabel in ((left, "requests per second"), (right, "p99 latency (ms)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("concurrent connections")
        axis.set_ylabel(ylabel)
        connections = sorted({row["connections"] for row in rows})
        axis.set_xticks(connections, [str(c) for c in connections])
        axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.grid(True, which="both", alpha=0.3)
    left.set_title("Throughput (median of rounds)")
    right.set_title("p99 latency (median of rounds)")
    handles, labels = left.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0.16, 1, 1))
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=110)
    plt.close(figure)
