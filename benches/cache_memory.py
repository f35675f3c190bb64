#!/usr/bin/env python3
"""Memory of `keel serve` while large public forms are fetched anonymously.

Starts a release `keel serve` (SQLite, memory cache) on loopback, creates
45 forms of about 0.9 MB each (within the 1 MiB body limit), then sends
about 1,700 HEAD requests for their public endpoints from a few threads,
and prints the server's RSS before, right after, and after a short idle.
The cache is bounded (64 MiB memory cache, 16 MiB memo, forms over 256 KiB
not cached), so RSS should stay within those bounds plus a constant.

    python3 benches/cache_memory.py [--binary target/release/keel] [--forms 45] [--heads 1700]
"""

import argparse
import http.client
import os
import shutil
import tempfile
import threading
import time

from benchlib import Client, free_port, serve, status_kib


def big_form(i):
    """About 0.9 MB of JSON: 100 choice fields of 100 options."""
    option = "o" * 85
    fields = [{"key": f"f{n}", "label": f"Field {n}", "type": "choice",
               "options": [f"{option}{m:02}" for m in range(100)]} for n in range(100)]
    return {"title": f"Big form {i}", "fields": fields}


def heads(port, slugs, count, threads):
    """`count` HEADs spread over `slugs`, from `threads` keep-alive clients."""
    statuses = {}
    lock = threading.Lock()

    def run(worker):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(worker, count, threads):
            conn.request("HEAD", f"/api/public/forms/{slugs[n % len(slugs)]}")
            response = conn.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()

    workers = [threading.Thread(target=run, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return statuses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--forms", type=int, default=45)
    parser.add_argument("--heads", type=int, default=1700)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    folder = tempfile.mkdtemp(prefix="keel-cache-memory-")
    port = free_port()
    proc = serve(binary, folder, port, KEEL_SUBMISSION_RATE="100000/1m")
    try:
        client = Client(f"http://127.0.0.1:{port}")
        client.signup()
        slugs = [client.call("POST", "/api/forms", big_form(i))["slug"] for i in range(args.forms)]
        before = status_kib(proc.pid, "VmRSS")
        started = time.perf_counter()
        statuses = heads(port, slugs, args.heads, args.threads)
        elapsed = time.perf_counter() - started
        after = status_kib(proc.pid, "VmRSS")
        peak = status_kib(proc.pid, "VmHWM")
        time.sleep(args.idle)
        idle = status_kib(proc.pid, "VmRSS")
        print(f"{args.forms} forms of ~0.9 MB, {args.heads} HEADs from {args.threads} threads "
              f"in {elapsed:.1f} s, statuses {statuses}")
        print(f"RSS before {before / 1024:.1f} MiB, after {after / 1024:.1f} MiB, "
              f"after {args.idle:.0f} s idle {idle / 1024:.1f} MiB; peak (VmHWM) {peak / 1024:.1f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
