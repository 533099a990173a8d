#!/usr/bin/env bash
# A throw-away PostgreSQL for the register tests (the PostgreSQL leg of tests/test_register*.py).
#
#   source .ci/postgres.sh        start it and export HAZARD_KB_TEST_POSTGRES_URL (and _DIR) into this shell
#   eval "$(.ci/postgres.sh)"     the same, for a caller that runs it as a program
#   .ci/postgres.sh stop [DIR]    stop it and remove its data (DIR defaults to $HAZARD_KB_TEST_POSTGRES_DIR)
#
# initdb into a fresh temporary directory, start on a free port on 127.0.0.1 only (scram password, the unix
# socket inside that directory), create database hazard_kb_test. PostgreSQL refuses to run as root: as root the
# server runs as the `postgres` system user (created if missing). Installs the server from Debian's packages
# if no PostgreSQL binaries are found.

_hk_pg_main() {
    set -euo pipefail
    local cmd="${1:-start}"
    if [[ "$cmd" == "stop" ]]; then
        local dir="${2:-${HAZARD_KB_TEST_POSTGRES_DIR:-}}"
        [[ -n "$dir" && -d "$dir" ]] || { echo "postgres.sh: nothing to stop" >&2; return 0; }
        local bindir; bindir="$(cat "$dir/bindir")"
        _hk_pg_as "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$dir"
        return 0
    fi

    local bindir=""
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && { bindir="$d"; break; }
    done
    if [[ -z "$bindir" ]] && command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        bindir="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
    fi
    if [[ -z "$bindir" ]]; then
        echo "postgres.sh: no PostgreSQL found; installing it from Debian's packages" >&2
        if [[ "$(id -u)" != 0 ]]; then echo "postgres.sh: need root to install postgresql" >&2; return 1; fi
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V -r | head -1)"
    fi

    local dir; dir="$(mktemp -d "${TMPDIR:-/tmp}/hazard-kb-pg.XXXXXX")"
    echo "$bindir" > "$dir/bindir"
    local password; password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" > "$dir/pwfile"
    if [[ "$(id -u)" == 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
        fi
        chown -R postgres: "$dir"
        chmod 700 "$dir"
    fi
    _hk_pg_as "$dir" "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" --auth-host=scram-sha-256 \
        --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    rm -f "$dir/pwfile"

    local port="" attempt
    for attempt in 1 2 3 4 5; do
        port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
        if _hk_pg_as "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
               -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null 2>&1; then
            break
        fi
        port=""
    done
    if [[ -z "$port" ]]; then
        echo "postgres.sh: the server did not start; its log:" >&2; cat "$dir/server.log" >&2 || true; return 1
    fi
    PGPASSWORD="$password" _hk_pg_as "$dir" "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qc \
        "CREATE DATABASE hazard_kb_test" >/dev/null

    export HAZARD_KB_TEST_POSTGRES_URL="postgresql://postgres:${password}@127.0.0.1:${port}/hazard_kb_test"
    export HAZARD_KB_TEST_POSTGRES_DIR="$dir"
    echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir" >&2
}

# run a command as the server's owner (postgres when we are root)
_hk_pg_as() {
    local dir="$1"; shift
    if [[ "$(id -u)" == 0 ]]; then
        (cd "$dir" && runuser -u postgres -- env PGPASSWORD="${PGPASSWORD:-}" "$@")
    else
        "$@"
    fi
}

if (return 0 2>/dev/null); then
    # sourced: do the work in a child shell (its `set -e` and failures stay there), export its result here
    if [[ "${1:-start}" == "stop" ]]; then
        bash "${BASH_SOURCE[0]}" "$@"
    else
        _hk_pg_exports="$(bash "${BASH_SOURCE[0]}" "$@")" && eval "$_hk_pg_exports"
        unset _hk_pg_exports
        [[ -n "${HAZARD_KB_TEST_POSTGRES_URL:-}" ]]
    fi
else
    _hk_pg_main "$@"
    if [[ "${1:-start}" != "stop" ]]; then
        printf 'export HAZARD_KB_TEST_POSTGRES_URL=%q\nexport HAZARD_KB_TEST_POSTGRES_DIR=%q\n' \
            "$HAZARD_KB_TEST_POSTGRES_URL" "$HAZARD_KB_TEST_POSTGRES_DIR"
    fi
fi
