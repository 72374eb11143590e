# shellcheck shell=bash
# FerretDB 1.x with the PostgreSQL backend (deploy/lib/postgresql.sh), built
# from the Go module proxy, as the MongoDB wire protocol server.

# v1.24.2 is the newest 1.x release on the Go module proxy. FerretDB 2.x
# needs PostgreSQL with the DocumentDB extension, which Debian does not package
# (docs.ferretdb.io, "Migrating from FerretDB v1.x").
FERRETDB_VERSION=v1.24.2
FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_PORT=${FERRETDB_PORT:-27017}
FERRETDB_DEBUG_ADDR=${FERRETDB_DEBUG_ADDR:--}

ferretdb_paths() {
    ferretdb_dir=$COL_VAR_DIR/ferretdb
    ferretdb_log=$COL_LOG_DIR/ferretdb.log
    ferretdb_build_log=$COL_LOG_DIR/ferretdb-build.log
    ferretdb_pid_file=$ferretdb_dir/ferretdb.pid
    ferretdb_bin=$COL_CACHE_DIR/bin/ferretdb-$FERRETDB_VERSION
}

ferretdb_mongo_url() {
    printf 'mongodb://127.0.0.1:%s/\n' "$FERRETDB_PORT"
}

# True when BINARY runs and reports FERRETDB_VERSION.
ferretdb_binary_valid() {
    local binary=$1 output
    [[ -x $binary ]] || return 1
    output=$("$binary" --version 2>/dev/null) || return 1
    grep -qx "version: $FERRETDB_VERSION" <<<"$output"
}

find_go() {
    if command -v go >/dev/null 2>&1; then
        command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then
        printf '/usr/local/go/bin/go\n'
    else
        die "go not found. Building FerretDB $FERRETDB_VERSION needs Go 1.24 or newer on PATH (Debian 12's golang package is too old)."
    fi
}

# Build the ferretdb binary into the cache unless a valid one is there.
#
# `go install $FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION` builds a binary
# that panics at start with "Invalid build/version/version.txt file content",
# because the module zip lacks build/version/version.txt, which FerretDB's
# release process generates with `git describe`. So this copies the module
# source out of the read-only module cache, writes that file and builds there.
ferretdb_install() {
    # The health check (mongo_ping.py) needs python3.
    command -v python3 >/dev/null 2>&1 || ensure_debs python3
    if ferretdb_binary_valid "$ferretdb_bin"; then
        return 0
    fi

    local go build_root source_dir module_dir
    go=$(find_go)
    build_root=$COL_CACHE_DIR/build
    source_dir=$build_root/ferretdb-$FERRETDB_VERSION
    mkdir -p "$build_root" "$(dirname "$ferretdb_bin")"
    info "building FerretDB $FERRETDB_VERSION with $("$go" env GOVERSION) (log $ferretdb_build_log)"
    : >"$ferretdb_build_log"

    module_dir=$(
        cd "$build_root" \
            && GOWORK=off GOFLAGS=-mod=mod "$go" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" 2>>"$ferretdb_build_log" \
            | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
    ) || true
    [[ -n $module_dir && -d $module_dir ]] \
        || fail_component ferretdb "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed" "$ferretdb_build_log"

    rm -rf "$source_dir"
    cp -R "$module_dir" "$source_dir"
    chmod -R u+w "$source_dir"
    printf '%s\n' "$FERRETDB_VERSION" >"$source_dir/build/version/version.txt"

    # Both backends' drivers (pgx and modernc.org/sqlite) are pure Go, so cgo
    # is not needed.
    if ! (cd "$source_dir" && GOWORK=off CGO_ENABLED=0 "$go" build -trimpath -buildvcs=false \
        -o "$ferretdb_bin.tmp" ./cmd/ferretdb) >>"$ferretdb_build_log" 2>&1; then
        fail_component ferretdb "go build of FerretDB $FERRETDB_VERSION failed" "$ferretdb_build_log"
    fi
    if ! ferretdb_binary_valid "$ferretdb_bin.tmp"; then
        "$ferretdb_bin.tmp" --version >>"$ferretdb_build_log" 2>&1 || true
        fail_component ferretdb "the built binary does not report version $FERRETDB_VERSION" "$ferretdb_build_log"
    fi
    mv "$ferretdb_bin.tmp" "$ferretdb_bin"
    rm -rf "$source_dir"
    info "built $ferretdb_bin"
}

ferretdb_pid() {
    live_pid "$ferretdb_pid_file" "ferretdb-$FERRETDB_VERSION"
}

ferretdb_healthy() {
    tcp_port_open 127.0.0.1 "$FERRETDB_PORT" \
        && python3 "$STACK_DIR/lib/mongo_ping.py" 127.0.0.1 "$FERRETDB_PORT"
}

ferretdb_start() {
    local pid
    if pid=$(ferretdb_pid); then
        if ferretdb_healthy 2>/dev/null; then
            info "ferretdb is already running (pid $pid)"
            return 0
        fi
        info "ferretdb is running (pid $pid) but not healthy yet, waiting"
    else
        rm -f "$ferretdb_pid_file"
        require_port_free ferretdb "$FERRETDB_PORT" FERRETDB_PORT
        # The PostgreSQL URL names the socket directory in its query, where
        # a space is invalid and ?, #, & and % change how it is parsed.
        [[ $COL_VAR_DIR != *[[:space:]?#%\&]* ]] \
            || die "COL_VAR_DIR must not contain spaces, ?, #, & or % because FerretDB takes it in a URL: $COL_VAR_DIR"
        mkdir -p "$ferretdb_dir"
        info "starting ferretdb $FERRETDB_VERSION on 127.0.0.1:$FERRETDB_PORT (log $ferretdb_log)"
        printf '\n===== %s deploy/stack start =====\n' "$(date -Is)" >>"$ferretdb_log"
        (
            release_lock_in_subshell
            cd "$ferretdb_dir" || exit
            setsid "$ferretdb_bin" \
                --handler=postgresql \
                --postgresql-url="$(postgresql_ferretdb_url)" \
                --listen-addr="127.0.0.1:$FERRETDB_PORT" \
                --state-dir="$ferretdb_dir" \
                --debug-addr="$FERRETDB_DEBUG_ADDR" \
                --telemetry=disable \
                --log-format=text \
                </dev/null >>"$ferretdb_log" 2>&1 &
            printf '%s\n' "$!" >"$ferretdb_pid_file"
        )
        pid=$(cat "$ferretdb_pid_file")
    fi

    local wait_status=0
    wait_healthy "$pid" ferretdb_healthy || wait_status=$?
    case $wait_status in
        0) ;;
        2) fail_component ferretdb "the process exited during startup" "$ferretdb_log" ;;
        *) fail_component ferretdb "no ping reply on 127.0.0.1:$FERRETDB_PORT after ${COL_START_TIMEOUT}s" "$ferretdb_log" ;;
    esac
    info "ferretdb is healthy (pid $pid, $(ferretdb_mongo_url))"
}

ferretdb_stop() {
    local pid
    if ! pid=$(ferretdb_pid); then
        rm -f "$ferretdb_pid_file"
        info "ferretdb is not running"
        return 0
    fi
    info "stopping ferretdb (pid $pid)"
    terminate_pid ferretdb "$pid"
    rm -f "$ferretdb_pid_file"
}

ferretdb_status() {
    local pid
    if ! pid=$(ferretdb_pid); then
        printf '%-14s stopped\n' ferretdb
        return 1
    fi
    if ferretdb_healthy 2>/dev/null; then
        printf '%-14s running    pid %-8s %s\n' ferretdb "$pid" "$(ferretdb_mongo_url)"
        return 0
    fi
    printf '%-14s unhealthy  pid %-8s log %s\n' ferretdb "$pid" "$ferretdb_log"
    return 1
}
