"""Shared plumbing for the benchmarks: PostgreSQL databases, gunicorn, child processes, reporting.

Nothing here talks to anything but 127.0.0.1, and every wait is bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
BENCH_SETTINGS = "bench.settings_bench"


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    database_url: str  # a PostgreSQL server where we may create databases
    broker_url: str  # a throwaway Redis: the intake publishes its outbox messages there after commit


@contextlib.contextmanager
def services() -> Iterator[Services]:
    """PostgreSQL and Redis for a benchmark: the caller's, or throwaway ones from .ci/services.sh.

    PostgreSQL: ``DATABASE_URL`` if it is a postgres:// URL. Redis: ``BENCH_REDIS_URL`` or
    ``TRACEMARK_TEST_REDIS_URL`` (what ``.ci/services.sh start`` exports) — never CELERY_BROKER_URL,
    which may be a real broker that would then receive every benchmark event's outbox message.
    """
    database = os.environ.get("DATABASE_URL", "")
    database = database if database.startswith(("postgres://", "postgresql://")) else ""
    broker = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TRACEMARK_TEST_REDIS_URL") or ""
    if database and broker:
        yield Services(database, broker)
        return
    out = subprocess.run(
        ["bash", str(ROOT / ".ci/services.sh"), "start"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    exports = dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^export (.*)$", out.stdout, re.M))))
    run_dir = re.search(r"services\.sh stop (\S+)", out.stdout)
    try:
        database = database or exports.get("DATABASE_URL", "")
        broker = broker or exports.get("TRACEMARK_TEST_REDIS_URL", "")
        if not database or not broker:
            raise SystemExit(f"bench: could not start PostgreSQL/Redis with .ci/services.sh: {out.stderr.strip()}")
        print(f"bench: using PostgreSQL {database} and Redis {broker} (throwaway)", file=sys.stderr)
        yield Services(database, broker)
    finally:
        if run_dir:
            subprocess.run(
                ["bash", str(ROOT / ".ci/services.sh"), "stop", run_dir.group(1)],
                cwd=ROOT,
                timeout=120,
                check=False,
            )


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """DATABASE_URL of a PostgreSQL server (see services(); also sets the broker Django processes use)."""
    with services() as svc:
        BROKER.url = svc.broker_url
        yield svc.database_url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_connect(url: str):  # -> psycopg.Connection
    import psycopg

    return psycopg.connect(with_database(url, "postgres"), autocommit=True, connect_timeout=10)


def drop_database(url: str, name: str) -> None:
    import psycopg.sql as sql

    with admin_connect(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(url: str, name: str, *, template: str | None = None) -> str:
    """(Re)create database ``name``, optionally as a copy of ``template``; return its URL."""
    import psycopg.sql as sql

    drop_database(url, name)
    with admin_connect(url) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(query)
    return with_database(url, name)


def server_facts(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        facts = {"server_version": str(conn.execute("SHOW server_version").fetchone()[0])}
        for name in ("fsync", "synchronous_commit", "shared_buffers", "max_connections"):
            facts[name] = str(conn.execute(f"SHOW {name}").fetchone()[0])
    return facts


def scalar(url: str, query: str) -> object:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        return conn.execute(query).fetchone()[0]


# --- Django processes -------------------------------------------------------------------------


@dataclass
class _Broker:
    url: str = "redis://127.0.0.1:6379/0"


BROKER = _Broker()  # set by the benchmark from services() before any Django process starts


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a production-like Tracemark process (DEBUG off) on ``database_url``."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE=BENCH_SETTINGS,
        DEBUG="0",
        SECRET_KEY="bench-" + "x" * 60,
        # A throwaway Redis (see services()): the intake publishes each outbox message after commit.
        CELERY_BROKER_URL=BROKER.url,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def manage(database_url: str, *args: str, timeout: float = 600) -> str:
    out = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=django_env(database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ServerConfig:
    """A gunicorn shape: worker class, workers, threads, and settings of the server's environment."""

    worker_class: str = "gthread"
    workers: int = 3
    threads: int = 4
    env: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        shape = (
            f"sync w={self.workers}"
            if self.worker_class == "sync"
            else f"{self.worker_class} w={self.workers} t={self.threads}"
        )
        return " ".join([shape, *(f"{k}={v}" for k, v in self.env)])

    @classmethod
    def parse(cls, text: str) -> ServerConfig:
        """``sync:3`` or ``gthread:2x4`` (workers x threads), then ``+NAME=value`` for each setting."""
        text, *settings = text.split("+")
        env = tuple((name, value) for name, _, value in (s.partition("=") for s in settings))
        kind, _, shape = text.partition(":")
        if kind == "sync":
            return cls("sync", int(shape or 3), 1, env)
        workers, _, threads = (shape or "3x4").partition("x")
        return cls(kind, int(workers), int(threads or 1), env)


@dataclass
class Gunicorn:
    config: ServerConfig
    database_url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # extra environment of the server

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        self.log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            self.config.worker_class,
            "--workers",
            str(self.config.workers),
            "--threads",
            str(self.config.threads),
            "--backlog",
            "1024",
            "--keep-alive",
            "30",
            "--timeout",
            "120",
            "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir(),
            "--chdir",
            str(ROOT),
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=django_env(self.database_url, **dict(self.config.env), **self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2):
                    pass
                if len(self.worker_pids()) >= self.config.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError("gunicorn did not become ready")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self.log is not None:
            self.log.unlink(missing_ok=True)

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- Child processes: wall time, peak RSS ---------------------------------------------------------


@dataclass
class ChildRun:
    returncode: int
    wall: float
    peak_rss: int  # bytes, from wait4's ru_maxrss
    samples: list[tuple[float, int]]  # (seconds since start, VmRSS bytes)
    stdout: str
    stderr: str


def _vm_rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_measured(cmd: Sequence[str], *, env: dict[str, str], timeout: float, sample_every: float = 0.5) -> ChildRun:
    """Run ``cmd``; wall time, peak RSS (wait4) and an RSS trace from /proc. Killed past ``timeout``."""
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=ROOT, env=env, stdout=out_file, stderr=err_file)
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(sample_every):
                rss = _vm_rss(proc.pid)
                if rss is not None:
                    samples.append((time.perf_counter() - started, rss))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            stop.set()
            sampler.join()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        return ChildRun(
            returncode=proc.returncode,
            wall=wall,
            peak_rss=usage.ru_maxrss * 1024,
            samples=samples,
            stdout=out_file.read().decode(errors="replace"),
            stderr=err_file.read().decode(errors="replace"),
        )


# --- Machine ----------------------------------------------------------------------------------


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def background_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over ``seconds`` (run it while the benchmark itself is idle)."""
    busy0, total0 = _cpu_times()
    time.sleep(seconds)
    busy1, total1 = _cpu_times()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> float:
    """Wait (at most ``max_wait`` s) until the machine is quiet; return the last busy share seen."""
    deadline = time.monotonic() + max_wait
    busy = background_busy(1.0)
    while busy > threshold and time.monotonic() < deadline:
        busy = background_busy(1.0)
    return busy


def _proc_cpu(pid: int) -> tuple[int, int, str] | None:
    """(ppid, utime+stime ticks, cmdline) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12]), cmdline


class CpuAccount:
    """CPU used by the benchmark (its process tree and its PostgreSQL backends) versus everything else.

    On a shared machine the second number says how far the figures are from an idle machine's.
    """

    def __init__(self, db_marker: str) -> None:
        self.marker = db_marker
        self.tick = os.sysconf("SC_CLK_TCK")

    def _ours(self) -> dict[int, int]:
        table = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (info := _proc_cpu(int(entry))) is not None:
                table[int(entry)] = info
        me = os.getpid()
        ours: dict[int, int] = {}
        for pid, (_, ticks, cmdline) in table.items():
            node, hops = pid, 0
            while node in table and node not in (0, 1, me) and hops < 64:
                node, hops = table[node][0], hops + 1
            if node == me or self.marker in cmdline:
                ours[pid] = ticks
        return ours

    def __enter__(self) -> CpuAccount:
        self.started = time.monotonic()
        self.busy0, _ = _cpu_times()
        self.children0 = _children_ticks()
        self.live0 = self._ours()
        return self

    def __exit__(self, *exc: object) -> None:
        live1 = self._ours()
        busy1, _ = _cpu_times()
        self.wall = time.monotonic() - self.started
        ours = sum(t - self.live0.get(pid, 0) for pid, t in live1.items())
        ours += _children_ticks() - self.children0
        self.ours = ours / self.tick
        self.total = (busy1 - self.busy0) / self.tick
        self.others = max(0.0, self.total - self.ours)

    @property
    def others_share(self) -> float:
        """Share of the machine's CPU capacity used by other work during the block."""
        return self.others / max(1e-9, self.wall * (os.cpu_count() or 1))


def _children_ticks() -> int:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * os.sysconf("SC_CLK_TCK"))


def machine_facts() -> dict[str, str]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        kb = int(next(line.split()[1] for line in fh if line.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    versions = {}
    for dist in ("django", "gunicorn", "psycopg", "orjson", "jsonschema-rs"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            versions[dist] = "?"
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "memory": mem,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": commit + (" (+ uncommitted changes)" if dirty else ""),
        **versions,
    }


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip()


# --- Reporting --------------------------------------------------------------------------------


def fmt_rate(value: float | None, unit: str = "ev/s") -> str:
    return "—" if value is None else f"{value:,.0f} {unit}"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


def fmt_mb(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:,.0f} MB"


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# --- Profiles (py-spy collapsed stacks) -----------------------------------------------------------

_LINE = re.compile(r":\d+\)$")
_PROJECT = ("lineage/", "config/", "catalog/", "reports/")


def profile_summary(path: Path, top: int = 12) -> str:
    """Top functions of a py-spy ``--format raw`` file: self time overall, inclusive time in our code."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    with path.open() as fh:
        for line in fh:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_LINE.sub(")", f) for f in stack.split(";") if not f.startswith("process ")]
            if not frames:
                continue
            total += count
            own[frames[-1]] = own.get(frames[-1], 0) + count
            for frame in set(frames):
                if any(p in frame for p in _PROJECT):
                    inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return f"{path.name}: no samples"

    def rows(counts: dict[str, int]) -> list[str]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [f"    {100 * n / total:5.1f}%  {name}" for name, n in ranked]

    return "\n".join(
        [
            f"{path.name}: {total} samples (CPU only)",
            "  self time:",
            *rows(own),
            "  inclusive, project code:",
            *rows(inclusive),
        ]
    )
