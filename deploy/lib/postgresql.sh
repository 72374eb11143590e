# shellcheck shell=bash
# PostgreSQL from Debian's packages, as FerretDB's storage. It listens on a
# Unix socket in COL_VAR_DIR only, with no TCP port, so no other program on
# the machine reaches it through the network.
#
# FerretDB 1.x with its SQLite backend scans a whole collection for every
# query, even one by _id, which made a lookup in a few thousand documents take
# tens of milliseconds. Its PostgreSQL backend pushes filters on _id and on
# simple fields down into SQL, which is several times faster on the same data
# (docs/operations.md has the figures).

POSTGRES_DATABASE=ferretdb
POSTGRES_ROLE=ferret
# FerretDB holds one pooled PostgreSQL connection per running query and per
# open cursor, and its default pool of 50 connections can run dry when
# several platform instances share one server (the tests start their own
# beside deploy/up's). Every request then waits for a connection that never
# comes free, and FerretDB stops answering even ping. A larger pool, with
# room in max_connections for it, keeps that from happening at this scale.
FERRETDB_POOL_MAX_CONNS=400
POSTGRES_MAX_CONNECTIONS=450

postgresql_paths() {
    pg_dir=$COL_VAR_DIR/postgresql
    pg_data_dir=$pg_dir/data
    # The socket directory, mode 0700, which keeps other users out.
    pg_socket_dir=$pg_dir/run
    pg_log=$COL_LOG_DIR/postgresql.log
    # PostgreSQL refuses to run as root, so root runs it as the package's
    # postgres user.
    if is_root; then
        pg_user=postgres
    else
        pg_user=$(id -un)
    fi
    pg_bin=$(postgresql_bin_dir) || pg_bin=/usr/lib/postgresql/bin
}

# Print the bin directory of the newest installed PostgreSQL server.
postgresql_bin_dir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/pg_ctl ]] || return 1
    printf '%s\n' "$dir"
}

postgresql_install() {
    postgresql_bin_dir >/dev/null || ensure_debs postgresql
    pg_bin=$(postgresql_bin_dir) || die "no PostgreSQL server found under /usr/lib/postgresql although the postgresql package is installed"
    id -u "$pg_user" >/dev/null 2>&1 || die "user $pg_user not found; reinstall the postgresql package"
}

# The URL that FerretDB connects with: the role, the database and the socket
# directory. It has no password because only root and the server's user can
# enter the socket directory.
postgresql_ferretdb_url() {
    printf 'postgres://%s@/%s?host=%s&pool_max_conns=%s\n' "$POSTGRES_ROLE" "$POSTGRES_DATABASE" \
        "$pg_socket_dir" "$FERRETDB_POOL_MAX_CONNS"
}

# Print the server's pid, the first line of the postmaster.pid file that the
# server writes and removes itself, if that process is alive.
postgresql_pid() {
    local pid
    pid=$(head -n 1 "$pg_data_dir/postmaster.pid" 2>/dev/null | tr -dc '0-9') || return 1
    [[ -n $pid ]] && process_alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- postgres || return 1
    printf '%s\n' "$pid"
}

postgresql_healthy() {
    run_as "$pg_user" "$pg_bin/pg_isready" -q -h "$pg_socket_dir" -d "$POSTGRES_DATABASE" -U "$POSTGRES_ROLE"
}

# Create the cluster once: the ferret role is its superuser, local socket
# connections are trusted and TCP is off.
postgresql_init() {
    [[ -f $pg_data_dir/PG_VERSION ]] && return 0
    require_reachable_by "$pg_user" "$COL_VAR_DIR"
    info "creating the PostgreSQL cluster in $pg_data_dir"
    mkdir -p "$pg_data_dir" "$pg_socket_dir"
    chown "$pg_user:" "$pg_dir" "$pg_data_dir" "$pg_socket_dir"
    chmod 0700 "$pg_data_dir" "$pg_socket_dir"
    touch "$pg_log"
    chown "$pg_user:" "$pg_log"
    if ! run_as "$pg_user" "$pg_bin/initdb" --pgdata="$pg_data_dir" --username="$POSTGRES_ROLE" \
        --auth-local=trust --auth-host=reject --encoding=UTF8 --locale=C.UTF-8 \
        >>"$pg_log" 2>&1; then
        rm -rf "$pg_data_dir"
        fail_component postgresql "initdb failed" "$pg_log"
    fi
}

postgresql_start() {
    local pid
    postgresql_init
    if pid=$(postgresql_pid); then
        info "postgresql is already running (pid $pid)"
    else
        info "starting postgresql $(basename "$(dirname "$pg_bin")") on socket $pg_socket_dir (log $pg_log)"
        printf '\n===== %s deploy/stack start =====\n' "$(date -Is)" >>"$pg_log"
        if ! (
            release_lock_in_subshell
            cd "$pg_dir" || exit
            run_as "$pg_user" "$pg_bin/pg_ctl" start --pgdata="$pg_data_dir" --log="$pg_log" \
                --wait --timeout="$COL_START_TIMEOUT" --silent \
                -o "-c listen_addresses='' -c unix_socket_directories='$pg_socket_dir' -c max_connections=$POSTGRES_MAX_CONNECTIONS" \
                </dev/null >>"$pg_log" 2>&1
        ); then
            fail_component postgresql "pg_ctl start failed" "$pg_log"
        fi
    fi
    wait_healthy "" postgresql_healthy_server \
        || fail_component postgresql "no answer on socket $pg_socket_dir after ${COL_START_TIMEOUT}s" "$pg_log"
    if ! run_as "$pg_user" "$pg_bin/psql" -h "$pg_socket_dir" -U "$POSTGRES_ROLE" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$POSTGRES_DATABASE'" 2>>"$pg_log" | grep -qx 1; then
        run_as "$pg_user" "$pg_bin/createdb" -h "$pg_socket_dir" -U "$POSTGRES_ROLE" "$POSTGRES_DATABASE" >>"$pg_log" 2>&1 \
            || fail_component postgresql "createdb $POSTGRES_DATABASE failed" "$pg_log"
    fi
    info "postgresql is healthy (pid $(postgresql_pid))"
}

# True when the server accepts connections, whether or not the ferretdb
# database exists yet.
postgresql_healthy_server() {
    run_as "$pg_user" "$pg_bin/pg_isready" -q -h "$pg_socket_dir" -U "$POSTGRES_ROLE" -d postgres
}

postgresql_stop() {
    if ! postgresql_pid >/dev/null; then
        info "postgresql is not running"
        return 0
    fi
    info "stopping postgresql"
    run_as "$pg_user" "$pg_bin/pg_ctl" stop --pgdata="$pg_data_dir" --mode=fast --wait \
        --timeout="$COL_STOP_TIMEOUT" --silent >>"$pg_log" 2>&1 \
        || info "pg_ctl stop failed; see $pg_log"
}

postgresql_status() {
    local pid
    if ! pid=$(postgresql_pid); then
        printf '%-14s stopped\n' postgresql
        return 1
    fi
    if postgresql_healthy 2>/dev/null; then
        printf '%-14s running    pid %-8s socket %s\n' postgresql "$pid" "$pg_socket_dir"
        return 0
    fi
    printf '%-14s unhealthy  pid %-8s log %s\n' postgresql "$pid" "$pg_log"
    return 1
}
