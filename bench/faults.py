"""Faults: real producers keep sending while the servers under them are stopped, killed and restarted.

    .venv/bin/python bench/faults.py                  # 20,000 events, 4 producer processes, every fault twice
    .venv/bin/python bench/faults.py --quick          # 1,000 events, each fault once (tests/faults runs this)
    .venv/bin/python bench/faults.py --events 50000 --producers 6 --outage 15

What runs, all on 127.0.0.1 and all its own (nothing outside this machine is touched):

- PostgreSQL from ``.ci/services.sh`` (``pg_start``), switched to ``fsync=on`` and
  ``synchronous_commit=on`` first: the fault is a crash (``pg_ctl stop -m immediate``), and an
  acknowledged event must survive it, as on a real server;
- Redis with ``appendonly yes`` (as docs/deploy.md asks of a production broker);
- gunicorn (``config.wsgi``, gthread), two Celery workers and one beat, in production settings;
- producer processes using the ``openlineage-python`` client (HttpTransport, its default retries),
  each event re-emitted until the client reports success (a pipeline's at-least-once delivery).
  An event counts as *acknowledged* when ``emit`` returned without raising.

The faults, spread over the run by how many events have been acknowledged: SIGKILL of a gunicorn
worker (mid-request: it is busy), SIGTERM + restart of every Celery worker, Redis stopped and
restarted, PostgreSQL crashed and restarted. Afterwards it checks and prints: every acknowledged
event is in the ledger exactly once (by run id, one event per run), ``verify_ledger`` passes, the
outbox is drained, and the findings equal those of a clean re-evaluation (``evaluate_policies``).
Exit status 0 only if all hold. ``--json`` prints the figures as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SERVICES = ROOT / ".ci" / "services.sh"


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL (from .ci/services.sh) and Redis (our own, persistent) ---------------------------


@dataclass
class Postgres:
    run_dir: Path
    bin: Path = Path()
    data: Path = Path()
    port: int = 0
    user: str = ""

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/tracemark"

    def _as_owner(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)

    def start_new(self) -> None:
        script = (
            f'. "{SERVICES}"; SVC_PYTHON="{sys.executable}"; pg_start "{self.run_dir}" '
            '|| { echo "ERR $SVC_ERROR"; exit 1; }; echo "PG $PG_BIN $PG_PORT $PG_USER"'
        )
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=180, check=False)
        match = re.search(r"^PG (\S+) (\d+) (\S+)$", out.stdout, re.M)
        if not match:
            raise SystemExit(f"faults: PostgreSQL did not start: {out.stdout} {out.stderr}")
        self.bin, self.port, self.user = Path(match[1]), int(match[2]), match[3]
        pg_path = self.run_dir / "pg.path"
        self.data = (Path(pg_path.read_text().strip()) if pg_path.exists() else self.run_dir / "pg") / "data"
        # Durable like production: a crash must not lose an acknowledged commit.
        conf = self.data / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n# bench/faults.py: durable, so that a crash loses nothing acknowledged\n")
            fh.write("fsync = on\nsynchronous_commit = on\nfull_page_writes = on\nmax_connections = 200\n")
        self.stop(mode="fast")
        self.start()

    def start(self) -> None:
        subprocess.run(
            self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data.parent / "postgres.log"),
                           "-o", f"-p {self.port}", "-w", "-t", "120", "start"),
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run(
            self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop"),
            check=False, capture_output=True, timeout=180,
        )  # fmt: skip

    def destroy(self) -> None:
        subprocess.run(["bash", "-c", f'. "{SERVICES}"; pg_stop "{self.run_dir}"'], check=False, timeout=120)


@dataclass
class Redis:
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync",
             "always", "--save", "", "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")],
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            time.sleep(0.1)
        raise SystemExit("faults: redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


# --- Tracemark processes -----------------------------------------------------------------------------


class Tracemark:
    def __init__(self, pg: Postgres, redis: Redis, var: Path, web_workers: int, celery_workers: int) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "CELERY_BROKER_URL": redis.url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "TRACEMARK_VAR_DIR": str(var),
            "LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.var = var
        self.port = free_port()
        self.web_workers = web_workers
        self.celery_count = celery_workers
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.beat: subprocess.Popen[bytes] | None = None
        self.logs = var / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out

    def _spawn(self, name: str, *cmd: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as fh:
            return subprocess.Popen(list(cmd), cwd=ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT)

    def start_web(self) -> None:
        self.web = self._spawn(
            "gunicorn", str(VENV_BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
            "--worker-class", "gthread", "--workers", str(self.web_workers), "--threads", "4",
            "--graceful-timeout", "30", "--timeout", "60", "--backlog", "1024",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                return
            time.sleep(0.2)
        raise SystemExit("faults: gunicorn did not start")

    def web_worker_pids(self) -> list[int]:
        assert self.web is not None
        path = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children")
        with contextlib.suppress(OSError):
            return [int(p) for p in path.read_text().split()]
        return []

    def start_workers(self) -> None:
        self.workers = [
            self._spawn(
                f"worker{i}", str(VENV_BIN / "celery"), "-A", "config", "worker", "-Q", "celery,reports",
                "--concurrency", "1", "-n", f"faults{i}-{uuid.uuid4().hex[:6]}@%h", "-l", "WARNING",
            )
            for i in range(self.celery_count)
        ]  # fmt: skip

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()

    def start_beat(self) -> None:
        self.beat = self._spawn(
            "beat",
            str(VENV_BIN / "celery"),
            "-A",
            "config",
            "beat",
            "-s",
            str(self.var / "celerybeat-schedule"),
            "-l",
            "WARNING",
        )

    def stop_all(self) -> None:
        self.stop_workers()
        for proc in (self.beat, self.web):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()


# --- Producers -------------------------------------------------------------------------------------


def _producer(
    index: int, url: str, key: str, count: int, known: list[list[str]], acked_file: str, progress, resent
) -> None:
    """Send ``count`` events (one run each) with the OpenLineage client; record each acknowledged run id."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import Dataset, Job, Run, RunEvent, RunState
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

    client = OpenLineageClient(
        transport=HttpTransport(HttpConfig(url=url, auth=ApiKeyTokenProvider({"apiKey": key}), timeout=30))
    )
    rnd = random.Random(index)
    with open(acked_file, "a", buffering=1) as acked:
        for n in range(count):
            run_id = str(uuid.uuid4())
            inputs = [Dataset(namespace=ns, name=name) for ns, name in rnd.sample(known, k=min(2, len(known)))]
            event = RunEvent(
                eventType=RunState.COMPLETE,
                eventTime=datetime.now(tz=UTC).isoformat(),
                run=Run(runId=run_id),
                job=Job(namespace="faults://producers", name=f"p{index}.job{n % 50}"),
                producer="https://github.com/tracemark/bench/faults",
                inputs=inputs,
                outputs=[Dataset(namespace="faults://out", name=f"p{index}/t{n % 200}")],
            )
            for attempt in range(120):
                try:
                    client.emit(event)
                except Exception:  # the client gave up after its own retries: the pipeline tries again
                    with resent.get_lock():
                        resent.value += 1
                    time.sleep(min(5.0, 0.5 * (attempt + 1)))
                    continue
                acked.write(run_id + "\n")
                with progress.get_lock():
                    progress.value += 1
                break


# --- The run -----------------------------------------------------------------------------------------


@dataclass
class Figures:
    events_sent: int = 0
    acknowledged: int = 0
    acknowledged_missing: int = 0
    stored_twice: int = 0
    stored_events: int = 0
    ledger_ok: bool = False
    ledger_entries: int = 0
    outbox_pending: int = -1
    findings: int = 0
    findings_match_reevaluation: bool = False
    faults: list[str] = field(default_factory=list)
    seconds: float = 0.0
    client_giveups: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.acknowledged == self.events_sent
            and self.acknowledged_missing == 0
            and self.stored_twice == 0
            and self.ledger_ok
            and self.outbox_pending == 0
            and self.findings_match_reevaluation
        )


def _query(pg: Postgres, sql: str) -> list[tuple]:
    import psycopg

    for attempt in range(60):
        try:
            with psycopg.connect(pg.url, connect_timeout=5, autocommit=True) as conn:
                return conn.execute(sql).fetchall()
        except psycopg.OperationalError:
            time.sleep(1 + attempt * 0.1)
    raise RuntimeError("database unreachable")


def _findings(pg: Postgres) -> set[tuple]:
    return set(_query(pg, "SELECT policy_key, subject, item, status FROM catalog_finding"))


def run(args: argparse.Namespace) -> Figures:
    figures = Figures(events_sent=args.events)
    tmp = Path(tempfile.mkdtemp(prefix="tracemark-faults-"))
    (ROOT / "var" / "ci").mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="faults.", dir=ROOT / "var" / "ci"))
    run_dir.chmod(0o755)
    pg, redis = Postgres(run_dir), Redis(tmp / "redis")
    app: Tracemark | None = None
    started = time.monotonic()
    try:
        log("starting PostgreSQL (durable) and Redis (appendonly)")
        pg.start_new()
        redis.start()
        app = Tracemark(pg, redis, tmp / "var", args.web_workers, args.celery_workers)
        app.manage("migrate", "--noinput")
        if not args.no_demo:
            log("seeding the demo catalog (AI systems, policies, their lineage)")
            app.manage("seed_demo")
        key = re.search(r"\btm_[A-Za-z0-9_-]+", app.manage("issue_api_key", "faults").stdout)[0]  # type: ignore[index]
        known = [
            list(r)
            for r in _query(
                pg,
                "SELECT n.name, d.name FROM lineage_dataset d "
                "JOIN lineage_namespace n ON n.id = d.namespace_id LIMIT 200",
            )
        ]
        known = known or [["faults://in", "seed"]]
        app.start_web()
        app.start_workers()
        app.start_beat()

        progress, resent = mp.Value("i", 0), mp.Value("i", 0)
        acked_dir = tmp / "acked"
        acked_dir.mkdir()
        per = [
            args.events // args.producers + (1 if i < args.events % args.producers else 0)
            for i in range(args.producers)
        ]
        ctx = mp.get_context("fork")
        producers = [
            ctx.Process(
                target=_producer, args=(i, app.url, key, per[i], known, str(acked_dir / f"{i}.txt"), progress, resent)
            )
            for i in range(args.producers)
        ]
        log(f"{args.producers} producers sending {args.events} events to {app.url}")
        for p in producers:
            p.start()

        schedule = _schedule(args.quick)
        faults = threading.Thread(
            target=_run_faults, args=(schedule, args, app, pg, redis, progress, figures), daemon=True
        )
        faults.start()
        while any(p.is_alive() for p in producers):
            time.sleep(2)
            log(f"acknowledged {progress.value}/{args.events}")
        faults.join(timeout=600)
        figures.acknowledged = progress.value
        figures.client_giveups = resent.value

        log("producers done; waiting for the outbox to drain")
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline:
            figures.outbox_pending = _query(
                pg, "SELECT count(*) FROM lineage_outboxmessage WHERE dispatched_at IS NULL"
            )[0][0]
            if figures.outbox_pending == 0:
                break
            time.sleep(2)
        _wait_for_idle_workers(pg, timeout=args.drain_timeout)

        acked = Counter()
        for path in acked_dir.glob("*.txt"):
            acked.update(line.strip() for line in path.read_text().splitlines() if line.strip())
        stored = Counter(
            json.loads(payload)["run"]["runId"]
            for (payload,) in _query(pg, "SELECT payload FROM lineage_ledgerentry WHERE kind = 'event'")
            if '"faults://producers"' in payload
        )
        figures.stored_events = sum(stored.values())
        figures.acknowledged_missing = sum(1 for run_id in acked if stored[run_id] == 0)
        figures.stored_twice = sum(1 for n in stored.values() if n > 1)
        verify = app.manage("verify_ledger", check=False)
        figures.ledger_ok = verify.returncode == 0
        figures.ledger_entries = _query(pg, "SELECT count(*) FROM lineage_ledgerentry")[0][0]
        log(verify.stdout.strip() or verify.stderr.strip())

        app.stop_all()  # nothing may change the findings while they are compared
        before = _findings(pg)
        app.manage("evaluate_policies")
        after = _findings(pg)
        figures.findings = len(before)
        figures.findings_match_reevaluation = before == after
        if before != after:
            log(
                f"findings differ from a clean re-evaluation: {len(before - after)} only before, "
                f"{len(after - before)} only after"
            )
    finally:
        figures.seconds = time.monotonic() - started
        if app is not None:
            app.stop_all()
        redis.stop()
        pg.destroy()
        shutil.rmtree(run_dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return figures


def _wait_for_idle_workers(pg: Postgres, timeout: float) -> None:
    """Wait until the findings stop changing (the workers have worked through their queue)."""
    deadline = time.monotonic() + timeout
    last, stable = None, 0
    while time.monotonic() < deadline and stable < 3:
        now = _query(pg, "SELECT count(*), coalesce(max(updated_at)::text, '') FROM catalog_finding")[0]
        stable = stable + 1 if now == last else 0
        last = now
        time.sleep(2)


def _schedule(quick: bool) -> list[tuple[float, str]]:
    once = [(0.15, "kill-web-worker"), (0.30, "restart-celery"), (0.45, "restart-redis"), (0.60, "crash-postgres")]
    if quick:
        return once
    twice = [(0.70, "kill-web-worker"), (0.78, "restart-celery"), (0.85, "restart-redis"), (0.92, "crash-postgres")]
    return [*once, *twice]


def _run_faults(schedule, args, app: Tracemark, pg: Postgres, redis: Redis, progress, figures: Figures) -> None:
    for fraction, fault in schedule:
        while progress.value < fraction * args.events:
            time.sleep(0.05)
            if progress.value >= args.events:
                return
        at = progress.value
        if fault == "kill-web-worker":
            pids = app.web_worker_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
            log(f"FAULT at {at}: SIGKILL gunicorn worker {pids[:1]} (the master starts another)")
        elif fault == "restart-celery":
            log(f"FAULT at {at}: SIGTERM every Celery worker; {args.outage:.0f} s without workers")
            app.stop_workers()
            time.sleep(args.outage)
            app.start_workers()
        elif fault == "restart-redis":
            log(f"FAULT at {at}: Redis stopped for {args.outage:.0f} s")
            redis.stop()
            time.sleep(args.outage)
            redis.start()
        elif fault == "crash-postgres":
            log(f"FAULT at {at}: PostgreSQL crashed (immediate stop) for {args.outage:.0f} s")
            pg.stop(mode="immediate")
            time.sleep(args.outage)
            pg.start()
        figures.faults.append(f"{fault}@{at}")
        log(f"recovered from {fault}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=None, help="events to send (default 20000; --quick 1000)")
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument(
        "--outage", type=float, default=None, help="seconds each server stays down (default 8; --quick 3)"
    )
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--quick", action="store_true", help="1,000 events, each fault once")
    parser.add_argument("--no-demo", action="store_true", help="skip seed_demo (no AI systems, no findings)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on the last line")
    args = parser.parse_args(argv)
    args.events = args.events or (1000 if args.quick else 20000)
    args.outage = args.outage if args.outage is not None else (3.0 if args.quick else 8.0)

    figures = run(args)
    print()
    print("Faults run")
    print(f"  events sent / acknowledged        {figures.events_sent:,} / {figures.acknowledged:,}")
    print(f"  client gave up, event re-emitted  {figures.client_giveups}")
    print(f"  acknowledged but not in ledger    {figures.acknowledged_missing}")
    print(f"  stored more than once             {figures.stored_twice}")
    print(f"  producer events in the ledger     {figures.stored_events:,}")
    print(f"  ledger entries in all             {figures.ledger_entries:,}")
    print(f"  verify_ledger                     {'OK' if figures.ledger_ok else 'BROKEN'}")
    print(f"  outbox pending after drain        {figures.outbox_pending}")
    print(f"  findings = clean re-evaluation    {figures.findings_match_reevaluation} ({figures.findings} findings)")
    print(f"  faults                            {', '.join(figures.faults)}")
    print(f"  wall time                         {figures.seconds:.0f} s")
    print(f"  result                            {'PASS' if figures.ok else 'FAIL'}")
    if args.json:
        print(json.dumps({**figures.__dict__, "ok": figures.ok}))
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
