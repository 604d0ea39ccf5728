#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the test suite, on free loopback ports.
#
# .ci/test.sh sources this file and calls the functions below. It also works as a command:
#   .ci/services.sh start      start both in a new var/ci/svc.XXXXXX and print `export ...` lines
#                              (eval "$(.ci/services.sh start)" to use them in your shell)
#   .ci/services.sh stop DIR   stop the servers started in DIR and delete it
#   .ci/services.sh reap       stop and delete what runs killed with SIGKILL left under var/ci
#
# Layout of a run directory DIR:
#   DIR/owner.pid   pid of the process that owns the run (no file: started by hand, never reaped)
#   DIR/pg/         cluster: data/, sock/, postgres.log   (DIR/pg.path points elsewhere if moved)
#   DIR/pg.bin      the PostgreSQL bin directory used
#   DIR/redis/      redis.pid, redis.log, working dir
#
# The functions return non-zero on failure and leave a one-line reason in SVC_ERROR.
# After success they set PG_BIN PG_PORT PG_USER PG_URL, or REDIS_SERVER REDIS_PORT REDIS_URL.

SVC_ERROR=""
SVC_PYTHON=${SVC_PYTHON:-python3}

svc_is_root() { [ "$(id -u)" = 0 ]; }

# svc_alive PID: the process exists and is not a zombie waiting for init to reap it.
svc_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/stat" ] || return 0
    [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# A TCP port that is free on 127.0.0.1 right now.
svc_free_port() {
    "$SVC_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# PostgreSQL refuses to run as root: as root, run its tools as the `postgres` system user.
svc_as_pg_owner() {
    if svc_is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# --- PostgreSQL ------------------------------------------------------------------------------

# The bin directory of the newest installed PostgreSQL (Debian layout first, then PATH).
pg_find_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    done
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null)
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    fi
    if command -v initdb >/dev/null 2>&1; then
        d=$(dirname "$(readlink -f "$(command -v initdb)")")
        if [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    fi
    return 1
}

# pg_start RUN_DIR: initdb + start a cluster with a `tracemark` database.
pg_start() {
    local run_dir=$1 pgdir port attempt started=0
    SVC_ERROR=""
    PG_BIN=$(pg_find_bin) || {
        SVC_ERROR="PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin, pg_config, PATH)"
        return 1
    }
    if svc_is_root; then
        id postgres >/dev/null 2>&1 || {
            SVC_ERROR="running as root, but there is no 'postgres' system user to run the server as"
            return 1
        }
        PG_USER=postgres
    else
        PG_USER=$(id -un)
    fi
    echo "$PG_BIN" >"$run_dir/pg.bin"

    pgdir="$run_dir/pg"
    mkdir -p "$pgdir"
    svc_is_root && chown postgres: "$pgdir"
    # Unix socket paths are limited to ~107 bytes, and as root the postgres user must be able
    # to reach the directory (a clone under /root is not): in either case use /tmp instead.
    if [ ${#pgdir} -gt 80 ] || { svc_is_root && ! runuser -u postgres -- test -w "$pgdir"; }; then
        rm -rf "$pgdir"
        pgdir=$(mktemp -d /tmp/tracemark-pg.XXXXXX)
        svc_is_root && chown postgres: "$pgdir"
        echo "$pgdir" >"$run_dir/pg.path"
    fi
    svc_as_pg_owner mkdir -p "$pgdir/sock"

    # C.UTF-8: byte-order collation but Unicode-aware upper()/lower(); plain C where it is missing.
    local locale
    for locale in C.UTF-8 C; do
        svc_as_pg_owner rm -rf "$pgdir/data"
        svc_as_pg_owner "$PG_BIN/initdb" -D "$pgdir/data" -U "$PG_USER" --auth=trust \
            --encoding=UTF8 --locale="$locale" --no-sync >"$run_dir/initdb.log" 2>&1 && break
    done
    if [ ! -f "$pgdir/data/postgresql.conf" ]; then
        SVC_ERROR="initdb failed: $(tail -n 3 "$run_dir/initdb.log" | tr '\n' ' ')"
        return 1
    fi
    cat >>"$pgdir/data/postgresql.conf" <<EOF

# --- throwaway test cluster (.ci/services.sh): loopback only, durability off for speed ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pgdir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

    for attempt in 1 2 3; do
        port=$(svc_free_port) || { SVC_ERROR="could not pick a free port"; return 1; }
        if svc_as_pg_owner "$PG_BIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" \
            -o "-p $port" -w -t 60 start >"$run_dir/pg_ctl.log" 2>&1; then
            started=1
            break
        fi
        # Only a lost race for the port is worth another try.
        grep -q "could not bind\|already in use" "$pgdir/postgres.log" 2>/dev/null || break
    done
    if [ "$started" != 1 ]; then
        SVC_ERROR="PostgreSQL did not start: $(tail -n 3 "$pgdir/postgres.log" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    if ! "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" tracemark >"$run_dir/createdb.log" 2>&1; then
        SVC_ERROR="createdb failed: $(tail -n 2 "$run_dir/createdb.log" | tr '\n' ' ')"
        return 1
    fi
    PG_PORT=$port
    PG_URL="postgres://$PG_USER@127.0.0.1:$PG_PORT/tracemark"
}

# pg_stop RUN_DIR: stop the cluster (if running) and delete its files. Safe to call twice.
pg_stop() {
    local run_dir=$1 pgdir bin pid
    pgdir="$run_dir/pg"
    [ -f "$run_dir/pg.path" ] && pgdir=$(cat "$run_dir/pg.path")
    [ -d "$pgdir" ] || return 0
    bin=$(cat "$run_dir/pg.bin" 2>/dev/null || true)
    if [ -f "$pgdir/data/postmaster.pid" ]; then
        pid=$(head -n 1 "$pgdir/data/postmaster.pid")
        if [ -n "$bin" ]; then
            # immediate: no shutdown checkpoint, the data is thrown away anyway
            svc_as_pg_owner "$bin/pg_ctl" -D "$pgdir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
        if [ -n "$pid" ] && svc_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$pgdir" "$run_dir/pg" "$run_dir/pg.path"
}

# --- Redis -----------------------------------------------------------------------------------

redis_find_server() {
    local p
    for p in "$(command -v redis-server 2>/dev/null)" /usr/bin/redis-server /usr/sbin/redis-server; do
        if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
    done
    return 1
}

# redis_ping PORT: true when a Redis server answers PING on 127.0.0.1:PORT.
redis_ping() {
    local reply=""
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ $reply == +PONG* ]]
}

# redis_start RUN_DIR: a daemonized, non-persistent redis-server.
redis_start() {
    local run_dir=$1 rdir port attempt i
    SVC_ERROR=""
    REDIS_SERVER=$(redis_find_server) || { SVC_ERROR="redis-server not found"; return 1; }
    rdir="$run_dir/redis"
    mkdir -p "$rdir"
    for attempt in 1 2 3; do
        port=$(svc_free_port) || { SVC_ERROR="could not pick a free port"; return 1; }
        rm -f "$rdir/redis.pid"
        if "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$rdir/redis.pid" --dir "$rdir" --logfile "$rdir/redis.log" \
            >"$rdir/start.log" 2>&1; then
            for i in $(seq 1 50); do
                if redis_ping "$port"; then
                    REDIS_PORT=$port
                    REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
                    return 0
                fi
                sleep 0.1
            done
        fi
        redis_stop "$run_dir" keep
        grep -q "already in use" "$rdir/redis.log" 2>/dev/null || break
    done
    SVC_ERROR="redis-server did not start: $(tail -n 2 "$rdir/redis.log" "$rdir/start.log" 2>/dev/null | tr '\n' ' ')"
    return 1
}

# redis_stop RUN_DIR [keep]: stop the server (if running); delete its files unless `keep`.
redis_stop() {
    local run_dir=$1 rdir pid i
    rdir="$run_dir/redis"
    [ -d "$rdir" ] || return 0
    pid=$(cat "$rdir/redis.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && svc_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do
            svc_alive "$pid" || break
            sleep 0.05
        done
        if svc_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$rdir/redis.pid"
    [ "${2:-}" = keep ] || rm -rf "$rdir"
}

# --- Whole runs ------------------------------------------------------------------------------

# services_stop RUN_DIR: stop everything started in RUN_DIR and delete it.
services_stop() {
    local run_dir=$1
    [ -d "$run_dir" ] || return 0
    redis_stop "$run_dir"
    pg_stop "$run_dir"
    rm -rf "$run_dir"
}

# services_reap CI_DIR: clean up after runs whose owner process is gone (e.g. killed -9).
services_reap() {
    local ci_dir=$1 d owner
    for d in "$ci_dir"/run.*; do
        [ -f "$d/owner.pid" ] || continue
        owner=$(cat "$d/owner.pid")
        if [ -n "$owner" ] && svc_alive "$owner"; then continue; fi
        echo "services: cleaning up leftovers of an interrupted run in $d" >&2
        services_stop "$d"
    done
}

# --- Command-line use ------------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    [ -x .venv/bin/python ] && SVC_PYTHON=$PWD/.venv/bin/python
    case "${1:-}" in
        start)
            mkdir -p var/ci
            dir=$(mktemp -d "$PWD/var/ci/svc.XXXXXX")
            chmod 755 "$dir"
            if pg_start "$dir"; then
                echo "export DATABASE_URL=$PG_URL TRACEMARK_TEST_PG_BIN=$PG_BIN"
            else
                echo "# PostgreSQL not started: $SVC_ERROR" >&2
            fi
            if redis_start "$dir"; then
                echo "export TRACEMARK_TEST_REDIS_URL=$REDIS_URL TRACEMARK_TEST_REDIS_SERVER=$REDIS_SERVER"
            else
                echo "# Redis not started: $SVC_ERROR" >&2
            fi
            echo "# stop with: .ci/services.sh stop $dir"
            ;;
        stop)
            [ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
            services_stop "$2"
            ;;
        reap)
            [ -d var/ci ] && services_reap var/ci
            ;;
        *)
            echo "usage: $0 start | stop DIR | reap" >&2
            exit 2
            ;;
    esac
fi
