"""What the Python benchmarks share: a free port, a process's memory from
/proc, a `keel serve` started and waited for, and an API client that logs in
with a cookie and sends the CSRF token like a single-page frontend."""

import http.cookiejar
import json
import os
import socket
import subprocess
import time
import urllib.request

PASSWORD = "correct horse battery staple 42"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, field):
    """A field of /proc/PID/status in KiB (VmRSS, VmHWM), 0 when absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def serve(binary, folder, port, **settings):
    """Starts `keel serve` in `folder` (dev, SQLite there) with the access log
    at warn and `settings` as extra environment; returns once /healthz
    answers."""
    env = {"PATH": os.environ.get("PATH", ""), "KEEL_LOG_LEVEL": "warn", **settings}
    proc = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("keel serve did not answer /healthz within 10 s")


class Client:
    """The owner's side of the API: a cookie jar, and a fresh CSRF token for
    every call."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method, path, body=None):
        token = json.load(self.opener.open(self.base + "/api/csrf", timeout=10))["csrfToken"]
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Content-Type": "application/json", "X-CSRFToken": token, "Origin": self.base})
        return json.load(self.opener.open(req, timeout=10))

    def signup(self, email="bench@example.com"):
        return self.call("POST", "/api/auth/signup", {"email": email, "password": PASSWORD})
