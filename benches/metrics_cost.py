#!/usr/bin/env python3
"""The instructions metrics add to one public form fetch, counted by
callgrind: repeatable to the instruction, whatever else the machine does
(unlike requests per second on a shared VM).

Runs a release `keel serve` under `valgrind --tool=callgrind` with `/metrics`
on (KEEL_METRICS_BIND set) and off (empty), sends N then 3N
`GET /api/public/forms/{slug}` over one keep-alive connection, and takes the
difference, so start-up and shutdown cancel out: instructions per request
in each mode and the share metrics add.

    python3 benches/metrics_cost.py [--binary target/release/keel] [--requests 2000]
"""

import argparse
import glob
import http.client
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

from benchlib import Client, free_port


def run(binary, folder, requests, metrics, slug):
    port = free_port()
    out = os.path.join(folder, f"callgrind.{metrics}.{requests}")
    env = {"PATH": os.environ.get("PATH", ""), "KEEL_LOG_LEVEL": "warn",
           "KEEL_METRICS_BIND": f"127.0.0.1:{free_port()}" if metrics else ""}
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                             binary, "serve", "--bind", f"127.0.0.1:{port}"], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    if slug is None:
        client = Client(f"http://127.0.0.1:{port}")
        client.signup()
        form = client.call("POST", "/api/forms", {"title": "Bench", "fields": [
            {"key": "name", "label": "Name", "type": "short_text"}]})
        slug = form["slug"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(requests):
        conn.request("GET", f"/api/public/forms/{slug}")
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
    conn.close()
    proc.terminate()
    proc.wait(timeout=120)
    with open(out) as f:
        total = next(int(line.split()[1]) for line in f if line.startswith("summary:") or line.startswith("totals:"))
    return total, slug


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    folder = tempfile.mkdtemp(prefix="keel-metrics-cost-")
    try:
        # The first run creates the database and the form; the others reuse them.
        _, slug = run(binary, folder, 1, False, None)
        per_request = {}
        for metrics in (False, True):
            low, _ = run(binary, folder, args.requests, metrics, slug)
            high, _ = run(binary, folder, 3 * args.requests, metrics, slug)
            per_request[metrics] = (high - low) / (2 * args.requests)
            print(f"metrics {'on ' if metrics else 'off'}: {per_request[metrics]:,.0f} instructions per request")
        extra = per_request[True] - per_request[False]
        print(f"metrics add {extra:,.0f} instructions per public form fetch ({extra / per_request[False]:.1%})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for leftover in glob.glob("callgrind.out.*"):
            os.remove(leftover)


if __name__ == "__main__":
    main()
