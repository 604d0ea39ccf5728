"""``make run``: the embedded default — migrate, seed on first start, serve web + Celery worker.

SQLite and a filesystem broker under var/, nothing else to install. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True, text=True, capture_output=True
    )


def _first_run_setup(var_dir: Path) -> str:
    """Create the admin user, a producer key and the demo data once; return the credentials text."""
    creds_file = var_dir / "first-run-credentials.txt"
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from lineage.models import LedgerEntry
    from lineage.services import api_key_issue

    user_model = get_user_model()
    if user_model.objects.exists() or LedgerEntry.objects.exists():
        if creds_file.exists():
            return creds_file.read_text()
        return "Existing database: sign in with the account you created.\n"
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser("admin", "admin@example.org", password)
    issued = api_key_issue(name="demo-producer")
    print("Loading the demo scenario through the intake…", flush=True)
    print(_manage("seed_demo").stdout.strip(), flush=True)
    text = (
        f"Admin login:        admin / {password}\n"
        f"Producer API key:   {issued.secret}\n"
        f"(saved in {creds_file}, delete it once you have stored them)\n"
    )
    creds_file.write_text(text)
    creds_file.chmod(0o600)
    return text


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    from django.conf import settings

    print("Applying migrations…", flush=True)
    _manage("migrate", "--noinput")
    credentials = _first_run_setup(Path(settings.VAR_DIR))

    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-B",
            "--pool=solo",
            "-Q",
            "celery,reports",
            "-l",
            "info",
            "-s",
            str(Path(settings.VAR_DIR) / "celerybeat-schedule"),
        ],
        cwd=ROOT,
    )
    web = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"{host}:{port}"], cwd=ROOT
    )
    time.sleep(1.5)
    base = f"http://{host}:{port}"
    print(
        "\n"
        f"Tracemark is running on {base}  (SQLite + Celery worker on the filesystem broker, under var/)\n"
        f"  Staff pages:      {base}/ui/   (sign in with the admin login below)\n"
        f"  Admin:            {base}/admin/\n"
        f"  Auditor portal:   {base}/portal/   (manage.py create_user NAME --role auditor, then grant systems)\n"
        f"  OpenLineage:      OPENLINEAGE_URL={base} OPENLINEAGE_API_KEY=<producer key>\n"
        f"  API schema:       {base}/api/schema/\n"
        f"{credentials}"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )

    def stop(*_: object) -> None:
        for proc in (web, worker):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (web, worker):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        for name, proc in (("web server", web), ("celery worker", worker)):
            if proc.poll() is not None:
                print(f"The {name} exited ({proc.returncode}); stopping.", file=sys.stderr, flush=True)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
