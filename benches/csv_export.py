#!/usr/bin/env python3
"""Peak memory of `keel serve` while exporting 100,000 responses as CSV.

Starts a release `keel serve` on a fresh SQLite database, creates a form
through the API, writes N responses straight into the database (fast), then
downloads `/api/forms/{id}/responses.csv` and reports the process's peak
RSS (VmHWM) before and during the export, the CSV size and the time taken.

    python3 benches/csv_export.py [--binary target/release/keel] [--responses 100000]
"""

import argparse
import http.cookiejar
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Client:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method, path, body=None):
        token = json.load(self.opener.open(self.base + "/api/csrf"))["csrfToken"]
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Content-Type": "application/json", "X-CSRFToken": token, "Origin": self.base})
        return json.load(self.opener.open(req))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--responses", type=int, default=100_000)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    folder = tempfile.mkdtemp(prefix="keel-csv-")
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "KEEL_LOG_LEVEL": "warn"}
    proc = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz")
                break
            except OSError:
                time.sleep(0.05)
        client = Client(base)
        client.call("POST", "/api/auth/signup", {"email": "bench@example.com", "password": "correct horse battery staple 42"})
        fields = [{"key": f"q{i}", "label": f"Question {i}", "type": "short_text"} for i in range(8)]
        form = client.call("POST", "/api/forms", {"title": "Export", "fields": fields})
        form_id = uuid.UUID(form["id"]).bytes

        db = sqlite3.connect(os.path.join(folder, "var", "keel.sqlite3"), timeout=30)
        answers = json.dumps({f"q{i}": f"answer number {i} with some text" for i in range(8)})
        now = "2026-11-22T00:00:00+00:00"
        db.executemany("INSERT INTO form_responses (id, form_id, answers, created_at) VALUES (?, ?, ?, ?)",
                       ((uuid.uuid4().bytes, form_id, answers, now) for _ in range(args.responses)))
        db.commit()
        db.close()

        before = status_kib(proc.pid, "VmHWM")
        started = time.perf_counter()
        size = 0
        rss_during = 0
        with client.opener.open(f"{base}/api/forms/{form['id']}/responses.csv") as response:
            while chunk := response.read(1 << 16):
                size += len(chunk)
                rss_during = max(rss_during, status_kib(proc.pid, "VmRSS"))
        elapsed = time.perf_counter() - started
        after = status_kib(proc.pid, "VmHWM")
        print(f"CSV export of {args.responses:,} responses ({size / 1e6:.1f} MB) in {elapsed:.2f} s")
        print(f"peak RSS before the export {before / 1024:.1f} MB, "
              f"during it {rss_during / 1024:.1f} MB, peak after {after / 1024:.1f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
