"""Run every benchmark script in bench/ that defines a top-level ``main()``, one after the other.

    .venv/bin/python bench/run_all.py            # all of them, full size
    .venv/bin/python bench/run_all.py --quick    # pass --quick to the scripts that accept it
    .venv/bin/python bench/run_all.py ingest     # only bench/ingest.py

Each script runs in its own process (``main()`` is called with the script's own argv), so one that
fails, hangs past ``--timeout`` or does not exist yet does not stop the others. Helper modules
(no ``main``, or a name starting with ``_``) are skipped. Exits non-zero if any script failed.
"""

from __future__ import annotations

import argparse
import ast
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SKIP = {"run_all.py", "__init__.py"}

# Imports the script as a module (not as __main__), then calls its main(); an int result is the exit code.
_RUNNER = """
import runpy, sys
path = sys.argv[1]
sys.argv = sys.argv[1:]
namespace = runpy.run_path(path, run_name="bench_script")
result = namespace["main"]()
sys.exit(result if isinstance(result, int) else 0)
"""


def has_main(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return True  # let it run and fail visibly rather than vanish from the summary
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main" for node in tree.body)


def accepts(path: Path, flag: str) -> bool:
    try:
        return f'"{flag}"' in path.read_text(encoding="utf-8")
    except OSError:
        return False


def scripts(names: list[str]) -> list[Path]:
    found = sorted(p for p in BENCH.glob("*.py") if p.name not in SKIP and not p.name.startswith("_"))
    if names:
        wanted = {n.removesuffix(".py") for n in names}
        missing = wanted - {p.stem for p in found}
        for name in sorted(missing):
            print(f"run_all: bench/{name}.py does not exist; skipped", file=sys.stderr)
        found = [p for p in found if p.stem in wanted]
    return [p for p in found if has_main(p)]


def run(path: Path, extra: list[str], timeout: float) -> str:
    """Run one script; past ``timeout`` it gets SIGINT (to clean up its servers), then SIGKILL."""
    proc = subprocess.Popen([sys.executable, "-c", _RUNNER, str(path), *extra], cwd=ROOT)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return f"timed out after {timeout:.0f} s"
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        raise
    return "ok" if code == 0 else f"failed (exit {code})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every bench/*.py that defines main().")
    parser.add_argument("names", nargs="*", help="only these scripts (e.g. ingest graph)")
    parser.add_argument("--quick", action="store_true", help="pass --quick to scripts that accept it")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="limit per script, seconds")
    parser.add_argument("--list", action="store_true", help="only list the scripts that would run")
    args = parser.parse_args(argv)
    if args.list:
        for path in scripts(args.names):
            print(f"bench/{path.name}")
        return 0

    results: list[tuple[str, str, float]] = []
    for path in scripts(args.names):
        extra = ["--quick"] if args.quick and accepts(path, "--quick") else []
        print(f"\n=== bench/{path.name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.monotonic()
        results.append((path.name, run(path, extra, args.timeout), time.monotonic() - started))

    print("\n=== summary")
    if not results:
        print("no benchmark scripts found")
    for name, status, seconds in results:
        print(f"  {name:<24} {status:<28} {seconds:7.1f} s")
    return 0 if all(status == "ok" for _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
