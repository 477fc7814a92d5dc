"""Python logging benchmark: aiaudit vs secureml 0.3.1 vs the standard library, side by side.

Runs the same 20,000 events through
  * aiaudit ``AuditLogger.log_event`` (Async durability),
  * secureml 0.3.1 ``AuditTrail.log_event`` (the seed-004 reference implementation), and
  * stdlib ``logging`` with a ``FileHandler`` (the event as one JSON line),
and prints events/s and the ratios, plus aiaudit's import time and memory, and the latency of
single ``log_event`` calls while the writer commits (the caller must not wait for commits).

Usage (in a virtual environment with aiaudit installed; the script installs secureml 0.3.1
without its dependencies — only its ``audit`` module, which needs nothing but the stdlib, is
loaded):

    python python/bench/bench_logging.py [--events 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def load_secureml_audit():
    """secureml.audit from secureml 0.3.1, loaded from its file (the package's __init__ imports
    torch, spacy and more, which the audit module does not use)."""
    try:
        from importlib.metadata import version

        have = version("secureml")
    except Exception:
        have = None
    if have != "0.3.1":
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "secureml==0.3.1"],
            check=True,
        )
    spec = importlib.util.find_spec("secureml")
    assert spec is not None and spec.submodule_search_locations
    path = Path(list(spec.submodule_search_locations)[0]) / "audit.py"
    mod_spec = importlib.util.spec_from_file_location("secureml_audit_031", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    # Its console echo goes to a null device, not a terminal: measured, but not at tty speed.
    devnull = open(os.devnull, "w")
    for h in logging.getLogger("secureml").handlers:
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
            h.setStream(devnull)
    return module


def make_events(n: int) -> list[tuple[str, dict]]:
    stages = ["Data Ingestion completed", "Feature Engineering completed", "Prediction served", "Drift checked"]
    return [
        (
            stages[i % len(stages)],
            {
                "rows": 1000 + i,
                "feature": "user_age",
                "drift_score": round((i % 100) / 100, 2),
                "model": "credit-risk",
                "version": "2.3.0",
                "user": f"user_{i % 50}",
            },
        )
        for i in range(n)
    ]


def bench_aiaudit(events, workdir: Path) -> tuple[float, float, int]:
    import aiaudit

    log = aiaudit.AuditLogger(workdir / "aiaudit.db", durability="async")
    start = time.perf_counter()
    for name, details in events:
        log.log_event(name, details, "INFO")
    calls = time.perf_counter() - start
    size = log.flush()
    total = time.perf_counter() - start
    log.close()
    return calls, total, size


def bench_secureml(audit_mod, events, workdir: Path) -> float:
    trail = audit_mod.AuditTrail("bench", log_dir=str(workdir / "secureml"))
    start = time.perf_counter()
    for name, details in events:
        trail.log_event(name, details)
    elapsed = time.perf_counter() - start
    trail.close()
    return elapsed


def bench_stdlib(events, workdir: Path) -> float:
    logger = logging.getLogger(f"bench.stdlib.{workdir.name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(workdir / "stdlib.log")
    handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
    logger.addHandler(handler)
    start = time.perf_counter()
    for name, details in events:
        logger.info(json.dumps({"event": name, "status": "INFO", "details": details}))
    elapsed = time.perf_counter() - start
    logger.removeHandler(handler)
    handler.close()
    return elapsed


def call_latencies(events, workdir: Path) -> dict:
    """Per-call latency of log_event while the writer commits in the background."""
    import aiaudit

    log = aiaudit.AuditLogger(workdir / "latency.db")
    clock = time.perf_counter_ns
    lat = []
    for name, details in events:
        t = clock()
        log.log_event(name, details, "INFO")
        lat.append(clock() - t)
        # Pace the caller at about 50k events/s, as a busy pipeline would, so that the queue
        # never fills: what is left is the cost of the call itself.
        while clock() - t < 20_000:
            pass
    size = log.flush()
    checkpoints = len(log.query(limit=1)) and log.verify().checkpoints
    log.close()
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] / 1000
    return {"p50_us": q(0.5), "p99_us": q(0.99), "p999_us": q(0.999), "max_us": lat[-1] / 1000, "commits": checkpoints, "size": size}


def import_cost() -> tuple[float, float, float]:
    code = (
        "import time, re\n"
        "def rss():\n"
        "    return int(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024\n"
        "before = rss()\n"
        "t = time.perf_counter()\n"
        "import aiaudit\n"
        "print(time.perf_counter() - t, before, rss())\n"
    )
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        runs.append(tuple(float(x) for x in out))
    runs.sort()
    return runs[len(runs) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    secureml_audit = load_secureml_audit()
    events = make_events(args.events)
    a_calls, a_total, s_rates, l_rates = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="aiaudit-bench-") as tmp:
        for r in range(args.rounds):
            d = Path(tmp) / f"round{r}"
            d.mkdir()
            calls, total, size = bench_aiaudit(events, d)
            assert size == args.events, f"aiaudit committed {size} of {args.events}"
            a_calls.append(args.events / calls)
            a_total.append(args.events / total)
            s_rates.append(args.events / bench_secureml(secureml_audit, events, d))
            l_rates.append(args.events / bench_stdlib(events, d))
        lat = call_latencies(events, Path(tmp))
    med = statistics.median
    imp_s, rss_before, rss_after = import_cost()

    print(f"Python {sys.version.split()[0]}, {args.events} events x {args.rounds} rounds (median), {os.cpu_count()} cores")
    print(f"{'':44}{'events/s':>12}{'vs secureml':>13}{'vs stdlib':>11}")
    rows = [
        ("aiaudit log_event, Async (calls return)", med(a_calls)),
        ("aiaudit log_event, Async (+ flush: committed)", med(a_total)),
        ("secureml 0.3.1 AuditTrail.log_event", med(s_rates)),
        ("stdlib logging + FileHandler (JSON line)", med(l_rates)),
    ]
    for label, rate in rows:
        print(f"{label:44}{rate:12,.0f}{rate / med(s_rates):12.1f}x{rate / med(l_rates):10.1f}x")
    print(f"targets: >= 10x secureml and >= 5x stdlib")
    print(f"import aiaudit: {imp_s * 1000:.1f} ms; RSS {rss_before:.1f} MB before, {rss_after:.1f} MB after (target <= 150 ms, <= 40 MB)")
    print(
        "log_event call latency while committing (paced at 50k/s): "
        f"p50 {lat['p50_us']:.2f} us, p99 {lat['p99_us']:.2f} us, p99.9 {lat['p999_us']:.2f} us, "
        f"max {lat['max_us']:.1f} us over {lat['commits']} commits"
    )


if __name__ == "__main__":
    main()
