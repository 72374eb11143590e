# shellcheck shell=bash
# RabbitMQ from Debian's rabbitmq-server package, run as a private node with
# its data under COL_VAR_DIR instead of the package's system service.

RABBITMQ_PORT=${RABBITMQ_PORT:-5672}
# Erlang distribution port of the node, which rabbitmqctl connects to. It
# defaults to the AMQP port + 20000, as RabbitMQ's own default does.
RABBITMQ_DIST_PORT=${RABBITMQ_DIST_PORT:-$((RABBITMQ_PORT + 20000))}
RABBITMQ_NODENAME=${RABBITMQ_NODENAME:-colearn@localhost}

rabbitmq_scripts=/usr/lib/rabbitmq/bin

rabbitmq_paths() {
    rabbitmq_dir=$COL_VAR_DIR/rabbitmq
    rabbitmq_log=$COL_LOG_DIR/rabbitmq.log
    rabbitmq_pid_file=$rabbitmq_dir/rabbitmq.pid
    # As root the node runs as the package's rabbitmq user, so that the
    # /usr/sbin/rabbitmqctl wrapper, which switches to that user and its
    # ~/.erlang.cookie, can reach it. Otherwise it runs as the caller.
    if is_root; then
        rabbitmq_user=rabbitmq
    else
        rabbitmq_user=$(id -un)
    fi
}

rabbitmq_amqp_uri() {
    printf 'amqp://guest:guest@127.0.0.1:%s/\n' "$RABBITMQ_PORT"
}

rabbitmq_install() {
    ensure_debs rabbitmq-server
    [[ -x $rabbitmq_scripts/rabbitmq-server ]] \
        || die "$rabbitmq_scripts/rabbitmq-server not found although rabbitmq-server is installed"
    id -u "$rabbitmq_user" >/dev/null 2>&1 || die "user $rabbitmq_user not found; reinstall rabbitmq-server"
}

# Export the environment that the node and the CLI tools read, so that no
# setting comes from /etc/rabbitmq or the package's defaults.
rabbitmq_export_env() {
    export RABBITMQ_NODENAME
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$RABBITMQ_PORT
    export RABBITMQ_DIST_PORT
    # epmd is started by the first Erlang node on the machine, and this keeps
    # it on loopback when that node is ours.
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_MNESIA_BASE=$rabbitmq_dir/mnesia
    export RABBITMQ_LOG_BASE=$rabbitmq_dir/log
    # "-" sends the server log to standard output, which start appends to
    # var/log/rabbitmq.log together with boot errors printed before logging starts.
    export RABBITMQ_LOGS=-
    export RABBITMQ_PID_FILE=$rabbitmq_pid_file
    export RABBITMQ_CONFIG_FILE=$rabbitmq_dir/rabbitmq.conf
    export RABBITMQ_ADVANCED_CONFIG_FILE=$rabbitmq_dir/advanced.config
    export RABBITMQ_CONF_ENV_FILE=$rabbitmq_dir/rabbitmq-env.conf
    export RABBITMQ_ENABLED_PLUGINS_FILE=$rabbitmq_dir/enabled_plugins
    export ERL_CRASH_DUMP=$rabbitmq_dir/erl_crash.dump
    # Bind the Erlang distribution listeners of the node and of the CLI tools
    # to loopback as well. Erlang reads this tuple syntax literally.
    # Erlang schedulers spin for a while when they run out of work. On a
    # small machine shared with Elasticsearch and the services, that spinning
    # takes CPU from them; +sbwt none and its dirty-scheduler twins turn it off.
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# Run a RabbitMQ CLI tool (rabbitmqctl, rabbitmq-diagnostics) against our
# node, as the user that owns the node's Erlang cookie, and kill it after
# TIMEOUT seconds.
rabbitmq_cli() {
    local timeout_seconds=$1 tool=$2
    shift 2
    (
        rabbitmq_export_env
        # A CLI tool starts epmd when none is running, and epmd must not
        # inherit the lock.
        release_lock_in_subshell
        cd "$rabbitmq_dir" \
            && run_as "$rabbitmq_user" timeout "$timeout_seconds" \
                "$rabbitmq_scripts/$tool" -n "$RABBITMQ_NODENAME" "$@"
    )
}

rabbitmq_healthy() {
    tcp_port_open 127.0.0.1 "$RABBITMQ_PORT" \
        && rabbitmq_cli 30 rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1
}

rabbitmq_pid() {
    live_pid "$rabbitmq_pid_file" beam
}

# Write the node's configuration files. They are rewritten on every start,
# so edit this function, not the files.
rabbitmq_write_config() {
    mkdir -p "$rabbitmq_dir/mnesia" "$rabbitmq_dir/log"
    cat >"$rabbitmq_dir/rabbitmq.conf" <<'EOF'
# Written by deploy/stack on every start. The listener address and port come
# from RABBITMQ_NODE_IP_ADDRESS and RABBITMQ_NODE_PORT.
# The guest user may only connect from loopback, which is where clients are.
loopback_users.guest = true
EOF
    printf '# Written by deploy/stack. Settings come from the environment it sets.\n' \
        >"$rabbitmq_dir/rabbitmq-env.conf"
    # No plugins: the platform uses AMQP 0-9-1 and rabbitmqctl only.
    printf '[].\n' >"$rabbitmq_dir/enabled_plugins"
    if [[ $(stat -c %U "$rabbitmq_dir") != "$rabbitmq_user" ]]; then
        chown -R "$rabbitmq_user:" "$rabbitmq_dir"
    else
        chown "$rabbitmq_user:" "$rabbitmq_dir"/*.conf "$rabbitmq_dir/enabled_plugins"
    fi
}

rabbitmq_start() {
    local pid
    if pid=$(rabbitmq_pid); then
        if rabbitmq_healthy; then
            info "rabbitmq is already running (pid $pid, node $RABBITMQ_NODENAME)"
            return 0
        fi
        info "rabbitmq is running (pid $pid) but not healthy yet, waiting"
    else
        rm -f "$rabbitmq_pid_file"
        require_port_free rabbitmq "$RABBITMQ_PORT" RABBITMQ_PORT
        require_port_free "rabbitmq (Erlang distribution)" "$RABBITMQ_DIST_PORT" RABBITMQ_DIST_PORT
        require_reachable_by "$rabbitmq_user" "$COL_VAR_DIR"
        rabbitmq_write_config
        info "starting rabbitmq node $RABBITMQ_NODENAME on 127.0.0.1:$RABBITMQ_PORT (log $rabbitmq_log)"
        printf '\n===== %s deploy/stack start =====\n' "$(date -Is)" >>"$rabbitmq_log"
        # The server script runs in the foreground in its own session instead
        # of with -detached, which detaches the VM from the console where boot
        # errors appear before logging starts.
        (
            rabbitmq_export_env
            release_lock_in_subshell
            cd "$rabbitmq_dir" || exit
            run_as "$rabbitmq_user" setsid "$rabbitmq_scripts/rabbitmq-server" </dev/null >>"$rabbitmq_log" 2>&1 &
            printf '%s\n' "$!" >"$rabbitmq_dir/launcher.pid"
        )
        pid=$(cat "$rabbitmq_dir/launcher.pid")
    fi

    local wait_status=0
    wait_healthy "$pid" rabbitmq_healthy || wait_status=$?
    case $wait_status in
        0) ;;
        2) fail_component rabbitmq "the node exited during startup" "$rabbitmq_log" ;;
        *) fail_component rabbitmq "not healthy after ${COL_START_TIMEOUT}s (rabbitmq-diagnostics check_port_connectivity failed)" "$rabbitmq_log" ;;
    esac
    info "rabbitmq is healthy (pid $(rabbitmq_pid || echo '?'), $(rabbitmq_amqp_uri))"
}

rabbitmq_stop() {
    local pid
    if ! pid=$(rabbitmq_pid); then
        rm -f "$rabbitmq_pid_file" "$rabbitmq_dir/launcher.pid"
        info "rabbitmq is not running"
        return 0
    fi
    info "stopping rabbitmq (pid $pid)"
    # With the pid file, rabbitmqctl stop returns only after the process exited.
    if ! rabbitmq_cli "$COL_STOP_TIMEOUT" rabbitmqctl -q stop "$rabbitmq_pid_file" >>"$rabbitmq_log" 2>&1; then
        info "rabbitmqctl stop failed (see $rabbitmq_log), sending SIGTERM to pid $pid"
        terminate_pid rabbitmq "$pid"
    fi
    rm -f "$rabbitmq_pid_file" "$rabbitmq_dir/launcher.pid"
}

rabbitmq_status() {
    local pid
    if ! pid=$(rabbitmq_pid); then
        printf '%-14s stopped\n' rabbitmq
        return 1
    fi
    if rabbitmq_healthy; then
        printf '%-14s running    pid %-8s %s node %s\n' rabbitmq "$pid" "$(rabbitmq_amqp_uri)" "$RABBITMQ_NODENAME"
        return 0
    fi
    printf '%-14s unhealthy  pid %-8s log %s\n' rabbitmq "$pid" "$rabbitmq_log"
    return 1
}
