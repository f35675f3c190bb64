#!/usr/bin/env python3
"""The cost of Prometheus metrics on the public form fetch.

Starts two release `keel serve` processes on one fresh SQLite database, one
with `/metrics` (KEEL_METRICS_BIND on a loopback port) and one without
(KEEL_METRICS_BIND empty: no recorder, no request layer), creates a form,
then drives `GET /api/public/forms/{slug}` with `wrk -t1 -c64` for 10 s
per run, the two servers taking turns for five rounds, each server pinned
to core 0 and wrk to core 1. Prints each server's median requests/s, the
overhead, and an excerpt of a scrape taken after the runs.

    python3 benches/metrics_overhead.py [--binary target/release/keel] [--rounds 5]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import urllib.request

from benchlib import Client, free_port, serve


def wrk(url, seconds):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    folder = tempfile.mkdtemp(prefix="keel-metrics-")
    metrics_port = free_port()
    ports = {"metrics on": free_port(), "metrics off": free_port()}
    settings = {"metrics on": {"KEEL_METRICS_BIND": f"127.0.0.1:{metrics_port}"},
                "metrics off": {"KEEL_METRICS_BIND": ""}}
    procs = {}
    try:
        for name, port in ports.items():
            procs[name] = serve(binary, folder, port, **settings[name])
            subprocess.run(["taskset", "-pc", "0", str(procs[name].pid)], capture_output=True, check=True)
        client = Client(f"http://127.0.0.1:{ports['metrics off']}")
        client.signup()
        form = client.call("POST", "/api/forms", {"title": "Bench", "fields": [
            {"key": "name", "label": "Name", "type": "short_text"}]})
        path = f"/api/public/forms/{form['slug']}"
        results = {name: [] for name in ports}
        for _ in range(args.rounds):
            for name, port in ports.items():
                results[name].append(wrk(f"http://127.0.0.1:{port}{path}", args.seconds))
        on, off = (statistics.median(results[n]) for n in ("metrics on", "metrics off"))
        for name in ports:
            runs = ", ".join(f"{r:,.0f}" for r in results[name])
            print(f"{name:12} median {statistics.median(results[name]):>9,.0f} req/s  (runs: {runs})")
        print(f"overhead of metrics on the public form: {(off - on) / off:.1%} of throughput")
        scrape = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        print("\nscrape excerpt:")
        for line in scrape.splitlines():
            if line.startswith(("keel_http_requests_total{route=\"/api/public", "keel_http_request_duration_seconds_count",
                                "keel_cache_requests_total", "keel_db_pool_connections", "process_resident_memory_bytes",
                                "keel_build_info")):
                print("  " + line)
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
