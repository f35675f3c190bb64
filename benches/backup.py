#!/usr/bin/env python3
"""`keel backup`, `--verify` and `keel restore` on a site with 100,000
responses and 1 GiB of media in 1,000 files, on SQLite and on PostgreSQL:
the time of each, the archive's size, and each command's peak RSS.

Each site is made through the API (an owner and a form), then filled
straight in the database (the responses) and the media folder (random,
incompressible files of 1 MiB). Restores go into a fresh database and an
empty media folder. PostgreSQL databases are created and dropped on the
server of --postgres (the `keel_bench_*` names).

    python3 benches/backup.py [--binary target/release/keel] [--responses 100000] [--files 1000]
        [--file-size 1048576] [--postgres postgres://postgres@127.0.0.1:5432]
"""

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid

from benchlib import Client, free_port, serve


def keel(binary, folder, env, *args):
    """Runs one command; its wall time and peak RSS (MiB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([binary, *args], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"keel {' '.join(args)} failed:\n{out}{err}")
    return elapsed, usage.ru_maxrss / 1024, out.strip()


def base_env(database_url, media):
    return {"PATH": os.environ.get("PATH", ""), "KEEL_LOG_LEVEL": "warn", "KEEL_METRICS_BIND": "",
            "DATABASE_URL": database_url, "KEEL_MEDIA_STORAGE": f"file://{media}"}


def psql(url, sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True, capture_output=True)


def fill(binary, folder, env, backend, responses, files, file_size):
    port = free_port()
    proc = serve(binary, folder, port, **{k: v for k, v in env.items() if k != "PATH"})
    try:
        client = Client(f"http://127.0.0.1:{port}")
        client.signup()
        fields = [{"key": f"q{i}", "label": f"Question {i}", "type": "short_text"} for i in range(8)]
        form = client.call("POST", "/api/forms", {"title": "Backup bench", "fields": fields})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    answers = json.dumps({f"q{i}": f"answer number {i} with some text" for i in range(8)})
    if backend == "sqlite":
        db = sqlite3.connect(os.path.join(folder, "var", "keel.sqlite3"), timeout=30)
        form_id = uuid.UUID(form["id"]).bytes
        db.executemany("INSERT INTO form_responses (id, form_id, answers, created_at) VALUES (?, ?, ?, ?)",
                       ((uuid.uuid4().bytes, form_id, answers, "2026-12-02T00:00:00+00:00") for _ in range(responses)))
        db.commit()
        db.close()
    else:
        psql(env["DATABASE_URL"], "INSERT INTO form_responses (id, form_id, answers, created_at) "
             f"SELECT gen_random_uuid(), '{form['id']}', '{answers}', now() FROM generate_series(1, {responses})")
    media = env["KEEL_MEDIA_STORAGE"].removeprefix("file://")
    for n in range(files):
        path = os.path.join(media, "forms", form["id"], f"r{n // 10}", f"f{n}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(os.urandom(file_size))


def run(binary, backend, args, postgres):
    root = tempfile.mkdtemp(prefix=f"keel-backup-{backend}-", dir=args.tmp)
    made = []
    try:
        def database(name):
            if backend == "sqlite":
                return f"sqlite://{root}/{name}/var/keel.sqlite3"
            db = f"keel_bench_{name}_{uuid.uuid4().hex[:8]}"
            psql(f"{postgres}/postgres", f"CREATE DATABASE {db}")
            made.append(db)
            return f"{postgres}/{db}"

        source, target = os.path.join(root, "source"), os.path.join(root, "target")
        for folder in (source, target):
            os.makedirs(os.path.join(folder, "media"))
        source_env = base_env(database("source"), os.path.join(source, "media"))
        target_env = base_env(database("target"), os.path.join(target, "media"))
        fill(binary, source, source_env, backend, args.responses, args.files, args.file_size)
        archive = os.path.join(root, "site.tar.zst")
        took, rss, said = keel(binary, source, source_env, "backup", "--out", archive)
        print(f"{backend:10} backup   {took:6.1f} s  peak RSS {rss:5.1f} MiB  archive {os.path.getsize(archive) / 2**20:7.1f} MiB")
        os.remove(archive)
        took, rss, said = keel(binary, source, source_env, "backup", "--out", archive, "--verify")
        print(f"{backend:10} backup --verify {took:6.1f} s  peak RSS {rss:5.1f} MiB  ({said})")
        took, rss, said = keel(binary, target, target_env, "restore", archive)
        print(f"{backend:10} restore  {took:6.1f} s  peak RSS {rss:5.1f} MiB  ({said})")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for db in made:
            psql(f"{postgres}/postgres", f"DROP DATABASE IF EXISTS {db}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/keel")
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-size", type=int, default=1 << 20)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--tmp", default=None, help="where the sites and archives go (default: the system's)")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    print(f"{args.responses:,} responses, {args.files:,} files of {args.file_size / 2**20:.1f} MiB")
    for backend in args.backends.split(","):
        run(binary, backend, args, args.postgres)


if __name__ == "__main__":
    main()
