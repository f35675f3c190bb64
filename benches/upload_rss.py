#!/usr/bin/env python3
"""Peak memory of `keel serve` while one 50 MiB file is uploaded.

Starts a release `keel serve` with KEEL_MAX_UPLOAD_BYTES=64MiB on a fresh
SQLite database and the local media folder, creates a form with a `file`
field accepting application/pdf, fetches its submission token, then sends a
multipart submission whose file is random bytes behind a PDF header,
streamed from disk so this script's own memory stays small. Reports the
server's peak RSS (VmHWM) before the upload, then resets the peak (so the
Argon2 hash of the sign-up does not hide the upload's) and reports the peak
after it, the largest RSS seen while it ran, and checks that the stored
object has the whole size.

    python3 benches/upload_rss.py [--binary target/release/keel] [--mib 50]
"""

import argparse
import http.client
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.request

from benchlib import Client, free_port, serve, status_kib

BOUNDARY = "keel-bench-boundary-5b1e"


def reset_peak(pid):
    """Resets VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def make_file(path, size):
    """Random bytes behind a PDF header, written in 1 MiB pieces."""
    with open(path, "wb") as f:
        f.write(b"%PDF-1.7\n")
        left = size - 9
        while left > 0:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


def upload(port, slug, token, path, size):
    """POSTs the multipart body with a Content-Length, streaming the file."""
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"submission_token\"\r\n\r\n{token}\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"answers\"\r\n\r\n{{}}\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"big.pdf\"\r\n"
        f"Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.putrequest("POST", f"/api/public/forms/{slug}/responses")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    return response.status, response.read().decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--mib", type=int, default=50)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    size = args.mib << 20
    folder = tempfile.mkdtemp(prefix="keel-upload-")
    port = free_port()
    proc = serve(binary, folder, port, KEEL_MAX_UPLOAD_BYTES="64MiB")
    try:
        base = f"http://127.0.0.1:{port}"
        client = Client(base)
        client.signup()
        fields = [{"key": "document", "label": "Document", "type": "file", "accept": ["application/pdf"]}]
        form = client.call("POST", "/api/forms", {"title": "Upload", "fields": fields})
        public = json.load(urllib.request.urlopen(f"{base}/api/public/forms/{form['slug']}"))
        path = os.path.join(folder, "big.pdf")
        make_file(path, size)

        before = status_kib(proc.pid, "VmHWM")
        rss_before = status_kib(proc.pid, "VmRSS")
        # Signing up hashed a password with Argon2 (19 MiB), which set the
        # peak so far; reset it so the peak after is the upload's own.
        reset = reset_peak(proc.pid)
        rss_during = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                rss_during[0] = max(rss_during[0], status_kib(proc.pid, "VmRSS"))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        status, body = upload(port, form["slug"], public["submission_token"], path, size)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        after = status_kib(proc.pid, "VmHWM")
        if status != 201:
            raise SystemExit(f"upload answered {status}: {body}")
        stored = [os.path.getsize(os.path.join(d, f))
                  for d, _, files in os.walk(os.path.join(folder, "var", "media")) for f in files]
        assert stored == [size], f"the stored object should be {size} bytes: {stored}"
        print(f"uploaded {args.mib} MiB in {elapsed:.2f} s ({args.mib / elapsed:.0f} MiB/s), stored whole")
        print(f"server peak RSS (VmHWM) before the upload {before / 1024:.1f} MiB (Argon2 at sign-up), "
              f"RSS at its start {rss_before / 1024:.1f} MiB")
        label = "since the start of the upload" if reset else "overall (peak could not be reset)"
        print(f"server peak RSS (VmHWM) after the upload, {label}: {after / 1024:.1f} MiB "
              f"(+{(after - rss_before) / 1024:.1f} MiB over the RSS at its start); "
              f"largest RSS sampled during it {rss_during[0] / 1024:.1f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
