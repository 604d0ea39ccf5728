#!/usr/bin/env bash
# `make test`: the whole suite on a throwaway PostgreSQL (+ Redis), then again on SQLite.
#
#   1. make venv (installs requirements.lock into .venv when it changed)
#   2. as root with apt-get: install the missing system packages (servers, PDF/browser tools, fonts)
#   3. start PostgreSQL and Redis on free 127.0.0.1 ports under var/ci/ (stopped again at exit)
#   4. pytest on PostgreSQL: DATABASE_URL=postgres://...  (whole suite)
#   5. pytest on SQLite:     DATABASE_URL unset, -m "not postgres"
#
# Extra pytest arguments: `make test ARGS="-k intake -x"`, `.ci/test.sh -k intake`, or PYTEST_ARGS.
# A pass or service that cannot run is skipped and reported at the end; set
# TRACEMARK_REQUIRE_SERVICES=1 to turn such a skip into a failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=.ci/services.sh
. "$ROOT/.ci/services.sh"

SKIPPED=()
skip() {
    SKIPPED+=("$1")
    echo "make test: SKIP: $1" >&2
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- 1. virtualenv ---------------------------------------------------------------------------
make --no-print-directory venv || { echo "make test: could not set up .venv" >&2; exit 1; }
PY=$ROOT/.venv/bin/python
SVC_PYTHON=$PY

# --- 2. system packages ----------------------------------------------------------------------
SYSTEM_PACKAGES=(
    postgresql redis-server                 # test servers
    poppler-utils                           # pdftoppm: report PDFs to PNG
    chromium fonts-dejavu-core              # headless browser checks
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1  # WeasyPrint
)

install_system_packages() {
    local missing=() p policy_added=0 apt=(apt-get -q -o DPkg::Lock::Timeout=300)
    command -v dpkg-query >/dev/null 2>&1 || {
        skip "system packages: no dpkg/apt-get here; install ${SYSTEM_PACKAGES[*]} (or equivalents) yourself"
        return 0
    }
    for p in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! svc_is_root; then
        skip "system packages not installed (not root): ${missing[*]}"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        skip "system packages not installed (no apt-get): ${missing[*]}"
        return 0
    fi
    echo "make test: installing system packages: ${missing[*]}"
    # Keep the packages' init scripts from starting system-wide servers: the tests start their own.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    if ! { "${apt[@]}" update && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y \
        --no-install-recommends "${missing[@]}"; }; then
        skip "apt-get install failed for: ${missing[*]} (see the apt output above)"
    fi
    [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

t=$(now)
install_system_packages
echo "make test: system packages checked in $(since "$t") s"

# --- 3. services -----------------------------------------------------------------------------
mkdir -p "$ROOT/var/ci"
services_reap "$ROOT/var/ci"
RUN_DIR=$(mktemp -d "$ROOT/var/ci/run.XXXXXX")
chmod 755 "$RUN_DIR"  # as root, the postgres user must reach RUN_DIR/pg
echo $$ >"$RUN_DIR/owner.pid"

cleanup() {
    local t
    t=$(now)
    services_stop "$RUN_DIR"
    echo "make test: services stopped in $(since "$t") s"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

unset DATABASE_URL TRACEMARK_TEST_REDIS_URL TRACEMARK_TEST_PG_BIN TRACEMARK_TEST_REDIS_SERVER
PG_OK=0
REDIS_OK=0
t=$(now)
if pg_start "$RUN_DIR"; then
    PG_OK=1
    echo "make test: PostgreSQL ($PG_BIN) on 127.0.0.1:$PG_PORT"
else
    skip "PostgreSQL: $SVC_ERROR"
fi
[ -n "${PG_BIN:-}" ] && export TRACEMARK_TEST_PG_BIN=$PG_BIN
if redis_start "$RUN_DIR"; then
    REDIS_OK=1
    export TRACEMARK_TEST_REDIS_URL=$REDIS_URL
    echo "make test: Redis ($REDIS_SERVER) on 127.0.0.1:$REDIS_PORT"
else
    skip "Redis: $SVC_ERROR (tests that need it skip themselves)"
fi
[ -n "${REDIS_SERVER:-}" ] && export TRACEMARK_TEST_REDIS_SERVER=$REDIS_SERVER
echo "make test: services started in $(since "$t") s"

# --- 4./5. the two pytest passes -------------------------------------------------------------
EXTRA=("$@")
if [ -n "${PYTEST_ARGS:-}" ]; then
    eval "EXTRA+=($PYTEST_ARGS)"  # shell quoting, as typed: PYTEST_ARGS='-k "a and b"'
fi

describe() {  # pytest exit code -> word for the summary
    case "$1" in
        0) echo "OK" ;;
        5) echo "FAILED (no tests collected)" ;;
        *) echo "FAILED (pytest exit $1)" ;;
    esac
}

FAILED=0
if [ "$PG_OK" = 1 ]; then
    echo
    echo "======== make test: PostgreSQL pass (DATABASE_URL=$PG_URL) ========"
    (
        export DATABASE_URL=$PG_URL TRACEMARK_VAR_DIR=$RUN_DIR/var-postgres
        exec "$PY" -m pytest ${EXTRA[@]+"${EXTRA[@]}"}
    )
    rc=$?
    [ "$rc" = 0 ] || FAILED=1
    PG_RESULT="postgres pass $(describe "$rc")"
else
    skip "PostgreSQL pass: no PostgreSQL server (see above)"
    PG_RESULT="postgres pass SKIPPED"
fi

echo
echo "======== make test: SQLite pass (-m \"not postgres\") ========"
(
    unset DATABASE_URL
    export TRACEMARK_VAR_DIR=$RUN_DIR/var-sqlite
    exec "$PY" -m pytest -m "not postgres" ${EXTRA[@]+"${EXTRA[@]}"}
)
rc=$?
[ "$rc" = 0 ] || FAILED=1
SQLITE_RESULT="sqlite pass $(describe "$rc")"

# --- summary ---------------------------------------------------------------------------------
echo
if [ ${#SKIPPED[@]} -gt 0 ]; then
    echo "make test: skipped:"
    printf '  - %s\n' "${SKIPPED[@]}"
    if [ "${TRACEMARK_REQUIRE_SERVICES:-0}" = 1 ]; then
        echo "make test: TRACEMARK_REQUIRE_SERVICES=1, so a skip is a failure"
        FAILED=1
    fi
fi
echo "make test: $PG_RESULT, $SQLITE_RESULT"
exit "$FAILED"
