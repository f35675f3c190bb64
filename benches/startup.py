#!/usr/bin/env python3
"""Cold start and idle memory of `keel serve`.

Cold start: process launch to the first 200 on /healthz, on a fresh folder
(so it includes creating and migrating the SQLite database) and on a folder
that already has one. Idle memory: VmRSS of the process after it has served
a few requests and sat idle for a second. Also prints the binary's size.

    python3 benches/startup.py [--binary target/release/keel] [--runs 20]
"""

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from benchlib import free_port, status_kib


def healthz(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def start(binary, folder, port):
    env = {"PATH": os.environ.get("PATH", ""), "KEEL_LOG_LEVEL": "warn"}
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = started + 10
    while time.perf_counter() < deadline:
        if healthz(port) == 200:
            return proc, (time.perf_counter() - started) * 1000
        time.sleep(0.0005)
    proc.kill()
    raise SystemExit("keel serve did not answer /healthz within 10 s")


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)

    fresh, warm, rss = [], [], []
    for _ in range(args.runs):
        folder = tempfile.mkdtemp(prefix="keel-start-")
        try:
            proc, ms = start(binary, folder, free_port())
            fresh.append(ms)
            stop(proc)
            port = free_port()
            proc, ms = start(binary, folder, port)
            warm.append(ms)
            for _ in range(20):
                healthz(port)
            time.sleep(1)
            rss.append(status_kib(proc.pid, "VmRSS") / 1024)
            stop(proc)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def row(name, values, unit):
        values = sorted(values)
        p90 = values[int(len(values) * 0.9) - 1] if len(values) >= 10 else values[-1]
        print(f"{name:<38} median {statistics.median(values):7.1f} {unit}   p90 {p90:7.1f} {unit}   max {values[-1]:7.1f} {unit}")

    print(f"keel serve, {args.runs} runs, binary {binary}")
    row("cold start, fresh folder (migrates)", fresh, "ms")
    row("cold start, existing database", warm, "ms")
    row("idle RSS after 20 requests", rss, "MB")
    print(f"{'binary size':<38} {os.path.getsize(binary) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
