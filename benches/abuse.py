#!/usr/bin/env python3
"""Keel under abuse and outages, on the release build in `dev` defaults
(SQLite), loopback only, bounded in requests and time (about two minutes).

1. Failed-login floods of 100 and 1,000 concurrent requests kept up for 5 s
   (each attacker sends its next attempt when the last one is answered),
   first with the
   default limits (one client address: most are refused before any hashing),
   then with the limits lifted so that every request asks for an Argon2 hash
   (the hashing bound is all that stands). Prints peak and settled RSS (10 s
   after the flood, while a health check probes twice a second) against the
   RSS before it, the answers, and the p99 of `GET /healthz` and of the
   public form measured during the flood (by processes of their own, at a
   higher priority than the flooding client).
2. 5,000 slow connections (a request line, then one header line every 3 s):
   how long each takes to be dropped (header timeout 10 s), p99 of
   `/healthz` and of the public form meanwhile, and the server's open file
   descriptors before, during and after.
3. A Redis of its own, stopped (refused) and then frozen (SIGSTOP): public
   form p50/p99 during each outage (after its first second), the warnings
   the server logged per outage, and how long after Redis's return the
   cache is used again (`/readyz` says `"cache": "ok"`).

    python3 benches/abuse.py [--binary target/release/keel]
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from benchlib import PASSWORD, Client, free_port, serve, status_kib

ORIGIN_HOST = "127.0.0.1"
# How long each flood keeps its `count` failed logins in flight.
FLOOD_SECONDS = 5


def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def http(port, method, path, headers=None, body=None, timeout=30):
    """One request on its own connection; returns the status (0: no answer)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(ORIGIN_HOST, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return 0
    data = body.encode() if body else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {ORIGIN_HOST}:{port}", "Connection: close",
             f"Content-Length: {len(data)}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        await asyncio.wait_for(reader.read(), timeout)
        parts = status_line.split()
        return int(parts[1]) if len(parts) > 1 else 0
    except (OSError, asyncio.TimeoutError, ValueError):
        return 0
    finally:
        writer.close()


async def _sample(port, path, stop, reset, results):
    latencies, failures = [], 0
    reader = writer = None
    while not stop.is_set():
        if reset.is_set():
            reset.clear()
            latencies.clear()
            failures = 0
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(ORIGIN_HOST, port)
            start = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {ORIGIN_HOST}:{port}\r\n\r\n".encode())
            status = await asyncio.wait_for(reader.readline(), 10)
            length = 0
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await asyncio.wait_for(reader.readexactly(length), 10)
            latencies.append((time.perf_counter() - start) * 1000)
            if b" 200 " not in status:
                failures += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            failures += 1
            writer = None
        await asyncio.sleep(0.005)
    results.put((latencies, failures))


def _sampler_main(port, path, stop, reset, results):
    try:
        # The measuring client goes before the flooding one on the CPU.
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except OSError:
        pass
    asyncio.run(_sample(port, path, stop, reset, results))


class Sampler:
    """Requests `path` one after another on a keep-alive connection and
    keeps each latency in ms, until stopped. It runs in a process of its
    own, so the load this script makes does not delay its measurements."""

    def __init__(self, port, path):
        ctx = multiprocessing.get_context("spawn")
        self.latencies, self.failures, self.running = [], 0, True
        self._stop, self._reset, self._results = ctx.Event(), ctx.Event(), ctx.Queue()
        self._process = ctx.Process(target=_sampler_main, daemon=True,
                                    args=(port, path, self._stop, self._reset, self._results))
        self._process.start()

    async def run(self):
        """Waits (without blocking the caller's loop) until `running` is
        cleared, then collects the measurements."""
        while self.running:
            await asyncio.sleep(0.05)
        self._stop.set()
        self.latencies, self.failures = await asyncio.get_running_loop().run_in_executor(None, self._results.get)
        self._process.join()

    def clear(self):
        """Forgets what was measured so far (the warm-up)."""
        self._reset.set()

    def summary(self):
        return f"p50 {pct(self.latencies, 0.5):.1f} ms, p99 {pct(self.latencies, 0.99):.1f} ms " \
               f"({len(self.latencies)} requests, {self.failures} failed)"


async def probed_pause(port, seconds):
    """Waits `seconds` while a load balancer's health check probes
    `/healthz` twice a second (the allocator does its deferred returns of
    memory on activity; a production instance is never fully idle)."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        await http(port, "GET", "/healthz", timeout=5)
        await asyncio.sleep(0.5)


def rss_mib(pid):
    return status_kib(pid, "VmRSS") / 1024


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


async def login_flood(port, pid, slug, count, csrf_cookie, csrf_token):
    headers = {"Content-Type": "application/json", "X-CSRFToken": csrf_token, "Origin": f"http://{ORIGIN_HOST}:{port}",
               "Cookie": f"csrftoken={csrf_cookie}"}
    await probed_pause(port, 5)  # the setup's allocations settle first
    before = rss_mib(pid)
    reset_peak(pid)
    samplers = [Sampler(port, "/healthz"), Sampler(port, f"/api/public/forms/{slug}")]
    tasks = [asyncio.create_task(s.run()) for s in samplers]
    await asyncio.sleep(1)
    for s in samplers:
        s.clear()
    started = time.perf_counter()
    deadline = started + FLOOD_SECONDS
    statuses = []

    async def attacker(i):
        # One login after another for FLOOD_SECONDS: `count` in flight.
        body = json.dumps({"email": f"user{i}@example.com", "password": f"wrong password {i}"})
        while True:
            statuses.append(await http(port, "POST", "/api/auth/login", headers, body, timeout=60))
            if time.perf_counter() > deadline:
                return

    await asyncio.gather(*(attacker(i) for i in range(count)))
    took = time.perf_counter() - started
    for s in samplers:
        s.running = False
    await asyncio.gather(*tasks)
    peak = status_kib(pid, "VmHWM") / 1024
    await probed_pause(port, 10)
    settled = rss_mib(pid)
    answers = {code: statuses.count(code) for code in sorted(set(statuses))}
    print(f"  {count:>5} concurrent for {took:.1f} s ({len(statuses)} requests): RSS before {before:.1f} MiB, "
          f"peak {peak:.1f} MiB, 10 s after {settled:.1f} MiB ({settled - before:+.1f}); answers {answers}")
    print(f"         during it: /healthz {samplers[0].summary()}")
    print(f"                    public form {samplers[1].summary()}")


async def slow_connections(port, pid, slug, count):
    before = fds(pid)
    samplers = [Sampler(port, "/healthz"), Sampler(port, f"/api/public/forms/{slug}")]
    tasks = [asyncio.create_task(s.run()) for s in samplers]
    await asyncio.sleep(1)
    for s in samplers:
        s.clear()
    dropped_after = []
    most_fds = [before]

    async def slowloris(i):
        try:
            reader, writer = await asyncio.open_connection(ORIGIN_HOST, port)
        except OSError:
            return
        opened = time.perf_counter()
        writer.write(b"GET /healthz HTTP/1.1\r\n")

        async def drip():
            for n in range(20):
                await asyncio.sleep(3)
                writer.write(f"X-Slow-{n}: {i}\r\n".encode())
                await writer.drain()

        dripping = asyncio.create_task(drip())
        try:
            await asyncio.wait_for(reader.read(), 65)
        except (OSError, asyncio.TimeoutError):
            pass
        dropped_after.append(time.perf_counter() - opened)
        dripping.cancel()
        try:
            await dripping
        except (asyncio.CancelledError, OSError):
            pass
        writer.close()

    async def watch_fds():
        while len(dropped_after) < count:
            most_fds[0] = max(most_fds[0], fds(pid))
            await asyncio.sleep(0.5)

    started = time.perf_counter()
    watcher = asyncio.create_task(watch_fds())
    await asyncio.gather(*(slowloris(i) for i in range(count)))
    await watcher
    took = time.perf_counter() - started
    for s in samplers:
        s.running = False
    await asyncio.gather(*tasks)
    await asyncio.sleep(1)
    after = fds(pid)
    print(f"  {count} slow connections: dropped after p50 {pct(dropped_after, 0.5):.1f} s, "
          f"max {max(dropped_after):.1f} s (header timeout 10 s); all done in {took:.1f} s")
    print(f"    file descriptors: before {before}, most {most_fds[0]}, after {after}")
    print(f"    meanwhile: /healthz {samplers[0].summary()}")
    print(f"               public form {samplers[1].summary()}")


def start_redis(port):
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def readiness(base):
    try:
        return json.load(urllib.request.urlopen(base + "/readyz", timeout=5))
    except OSError as err:
        return {"error": str(err)}


async def redis_outage(port, slug, log_path, kind, redis):
    """Public form latency during an outage of `kind` (after its first
    second) and the warnings logged for it."""
    lines_before = warnings(log_path)
    if kind == "refused":
        redis.kill()
        redis.wait()
    else:
        os.kill(redis.pid, signal.SIGSTOP)
    sampler = Sampler(port, f"/api/public/forms/{slug}")
    task = asyncio.create_task(sampler.run())
    await asyncio.sleep(1)
    sampler.clear()
    await asyncio.sleep(5)
    sampler.running = False
    await task
    print(f"  Redis {kind}: public form {sampler.summary()}")
    return lines_before


def warnings(log_path):
    with open(log_path, errors="replace") as f:
        return sum(1 for line in f if "WARN" in line and "cache" in line)


async def wait_cache_ok(base):
    started = time.perf_counter()
    while time.perf_counter() - started < 30:
        if readiness(base).get("checks", {}).get("cache") == "ok":
            return time.perf_counter() - started
        await asyncio.sleep(0.02)
    return float("inf")


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--slow", type=int, default=5000)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.slow + 1000)), hard))

    folder = tempfile.mkdtemp(prefix="keel-abuse-")
    try:
        for label, extra in [("default limits (10 failed logins per address per 15 min)", {}),
                             ("limits lifted: every attempt asks for a hash", {"KEEL_LOGIN_RATE": "1000000/15m"})]:
            port = free_port()
            proc = serve(binary, folder, port, **extra)
            try:
                base = f"http://127.0.0.1:{port}"
                owner = Client(base)
                owner.signup(f"owner{port}@example.com")
                form = owner.call("POST", "/api/forms", {"title": "Abuse", "notify_owner": False, "fields": [
                    {"key": "name", "label": "Name", "type": "short_text"}]})
                cookie_client = Client(base)
                token = json.load(cookie_client.opener.open(base + "/api/csrf"))["csrfToken"]
                cookie = next(c.value for c in cookie_client.jar if c.name == "csrftoken")
                print(f"failed-login floods, {label}:")
                for count in (100, 1000):
                    await login_flood(port, proc.pid, form["slug"], count, cookie, token)
                if not extra:
                    print("slow connections:")
                    await slow_connections(port, proc.pid, form["slug"], args.slow)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)

        redis_port = free_port()
        redis = start_redis(redis_port)
        time.sleep(0.3)
        port = free_port()
        log_path = os.path.join(folder, "serve.log")
        env = {"PATH": os.environ.get("PATH", ""), "KEEL_LOG_LEVEL": "warn",
               "KEEL_CACHE_URL": f"redis://127.0.0.1:{redis_port}"}
        with open(log_path, "w") as log:
            proc = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], cwd=folder, env=env,
                                    stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                if readiness(base).get("status") == "ok":
                    break
                time.sleep(0.05)
            owner = Client(base)
            owner.signup(f"redis{port}@example.com")
            form = owner.call("POST", "/api/forms", {"title": "Redis", "notify_owner": False, "fields": [
                {"key": "name", "label": "Name", "type": "short_text"}]})
            print("Redis outages (public form, SQLite behind):")
            sampler = Sampler(port, f"/api/public/forms/{form['slug']}")
            task = asyncio.create_task(sampler.run())
            await asyncio.sleep(3)
            sampler.running = False
            await task
            print(f"  Redis up: public form {sampler.summary()}")
            logged = await redis_outage(port, form["slug"], log_path, "refused", redis)
            redis = start_redis(redis_port)
            back = await wait_cache_ok(base)
            await asyncio.sleep(0.5)
            print(f"    back to cached reads {back:.2f} s after Redis restarted; "
                  f"warnings logged for the whole outage: {warnings(log_path) - logged}")
            logged = await redis_outage(port, form["slug"], log_path, "frozen", redis)
            os.kill(redis.pid, signal.SIGCONT)
            back = await wait_cache_ok(base)
            await asyncio.sleep(0.5)
            print(f"    back to cached reads {back:.2f} s after Redis was thawed; "
                  f"warnings logged for the whole outage: {warnings(log_path) - logged}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            redis.kill()
            redis.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
