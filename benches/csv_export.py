#!/usr/bin/env python3
"""Peak memory, size and time of `keel serve` exporting 100,000 responses as CSV.

Starts a release `keel serve` on a fresh SQLite database, creates a form
through the API, writes N responses straight into the database (fast), then
downloads `/api/forms/{id}/responses.csv` three times: uncompressed, then
asking for gzip, then for brotli (`Accept-Encoding`), and reports for each
the bytes transferred and the time taken, and the process's peak RSS
(VmHWM) before and during the exports.

    python3 benches/csv_export.py [--binary target/release/keel] [--responses 100000]
"""

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
import time
import urllib.request
import uuid

from benchlib import Client, free_port, serve, status_kib


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--responses", type=int, default=100_000)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    folder = tempfile.mkdtemp(prefix="keel-csv-")
    port = free_port()
    proc = serve(binary, folder, port)
    try:
        base = f"http://127.0.0.1:{port}"
        client = Client(base)
        client.signup()
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
        rss_during = 0
        plain = None
        for encoding in ("identity", "gzip", "br"):
            request = urllib.request.Request(f"{base}/api/forms/{form['id']}/responses.csv",
                                             headers={"Accept-Encoding": encoding})
            started = time.perf_counter()
            size = 0
            with client.opener.open(request) as response:
                sent = response.headers.get("Content-Encoding", "identity")
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    rss_during = max(rss_during, status_kib(proc.pid, "VmRSS"))
            elapsed = time.perf_counter() - started
            plain = plain or size
            print(f"CSV export of {args.responses:,} responses, {sent:8}: {size / 1e6:6.1f} MB transferred "
                  f"({size / plain:.1%} of plain) in {elapsed:.2f} s")
        after = status_kib(proc.pid, "VmHWM")
        print(f"peak RSS before the exports {before / 1024:.1f} MB, "
              f"during them {rss_during / 1024:.1f} MB, peak after {after / 1024:.1f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
