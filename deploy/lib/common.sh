# shellcheck shell=bash
# Shared helpers for deploy/stack: paths, messages, Debian packages, users,
# pid files and health waits. Sourced by deploy/stack, which sets STACK_DIR.

COL_REPO_DIR=$(cd "$STACK_DIR/.." && pwd)
# The servers run as their own system users when root starts them, and those
# users must be able to enter COL_VAR_DIR. A checkout under a private home
# such as /root is closed to them, so root then keeps server data in
# /var/lib, in a directory named after the checkout's path.
default_var_dir() {
    if [[ $EUID -eq 0 ]] && ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
        test -x "$COL_REPO_DIR" 2>/dev/null; then
        printf '/var/lib/cities-of-learning/%s\n' "$(printf '%s' "$COL_REPO_DIR" | sha256sum | cut -c1-12)"
    else
        printf '%s/var\n' "$COL_REPO_DIR"
    fi
}
COL_VAR_DIR=${COL_VAR_DIR:-$(default_var_dir)}
COL_CACHE_DIR=${COL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cities-of-learning}
# Seconds that one component may take to become healthy, or to exit on stop.
COL_START_TIMEOUT=${COL_START_TIMEOUT:-180}
COL_STOP_TIMEOUT=${COL_STOP_TIMEOUT:-60}

info() {
    printf 'deploy/stack: %s\n' "$*" >&2
}

die() {
    printf 'deploy/stack: error: %s\n' "$*" >&2
    exit 1
}

# Make COL_VAR_DIR and COL_CACHE_DIR absolute, because the servers run in
# other working directories and FerretDB takes its data path as a file: URL.
init_paths() {
    mkdir -p "$COL_VAR_DIR" "$COL_CACHE_DIR" || die "cannot create $COL_VAR_DIR or $COL_CACHE_DIR"
    COL_VAR_DIR=$(cd "$COL_VAR_DIR" && pwd)
    COL_CACHE_DIR=$(cd "$COL_CACHE_DIR" && pwd)
    COL_LOG_DIR=$COL_VAR_DIR/log
    mkdir -p "$COL_LOG_DIR"
}

require_integer() {
    local name=$1 value=$2
    [[ $value =~ ^[0-9]+$ ]] || die "$name must be a whole number, got '$value'"
}

require_port() {
    local name=$1 value=$2
    require_integer "$name" "$value"
    ((value >= 1 && value <= 65535)) || die "$name must be a TCP port between 1 and 65535, got '$value'"
}

# Serialize install/start/stop runs, so two callers cannot start the same
# server twice. The lock is released when the script exits and every process
# that inherited file descriptor 9 has closed it.
acquire_lock() {
    exec 9>"$COL_VAR_DIR/.stack.lock"
    if ! flock -n 9; then
        info "waiting for another deploy/stack run to finish (lock $COL_VAR_DIR/.stack.lock)"
        flock -w "$COL_START_TIMEOUT" 9 || die "timed out after ${COL_START_TIMEOUT}s waiting for $COL_VAR_DIR/.stack.lock"
    fi
}

# Close the lock in a subshell that is about to start a server, because a
# server that inherits it would hold the lock until it exits.
release_lock_in_subshell() {
    exec 9>&-
}

is_root() {
    [[ $EUID -eq 0 ]]
}

# --- Debian packages -------------------------------------------------------

apt_lists_fresh=false

deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

# Install the given Debian packages that are missing. `apt-get update` runs
# only when something must be installed, and at most once per run.
ensure_debs() {
    local missing=() package
    for package in "$@"; do
        deb_installed "$package" || missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0

    is_root || die "missing Debian packages: ${missing[*]}. Install them as root (apt-get install ${missing[*]}) or run deploy/stack as root."
    if [[ $apt_lists_fresh != true ]]; then
        info "running apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
        apt_lists_fresh=true
    fi
    info "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
}

# --- users -----------------------------------------------------------------

# Create a system user and group of the same name, without a home directory
# or login shell, unless it exists.
ensure_system_user() {
    local user=$1 comment=$2
    id -u "$user" >/dev/null 2>&1 && return 0
    is_root || die "system user $user is missing and only root can create it"
    info "creating system user $user"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --comment "$comment" "$user" || die "useradd $user failed"
}

# Run a command as USER. Unlike su and runuser, setpriv opens no PAM session
# and execs the command without staying around as its parent.
run_as() {
    local user=$1
    shift
    if [[ $user == "$(id -un)" ]]; then
        "$@"
        return
    fi
    local home
    home=$(getent passwd "$user" | cut -d: -f6)
    setpriv --reuid="$user" --regid="$user" --init-groups \
        env HOME="$home" USER="$user" LOGNAME="$user" "$@"
}

# Fail unless USER can enter every directory on the way to DIR, which breaks
# when COL_VAR_DIR lies under a private home such as /root.
require_reachable_by() {
    local user=$1 dir=$2
    run_as "$user" test -x "$dir" \
        || die "user $user cannot enter $dir. Set COL_VAR_DIR to a directory whose parents every user can enter (mode o+x)."
}

# --- processes and health --------------------------------------------------

# True when process PID exists and is not a zombie. A server that exited can
# stay a zombie when its parent, often init here, does not reap it.
process_alive() {
    local state
    state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# Print the pid from a pid file if that process is alive and its command line
# contains PATTERN, which guards against a recycled pid.
live_pid() {
    local pid_file=$1 pattern=$2 pid
    [[ -r $pid_file ]] || return 1
    pid=$(tr -dc '0-9' <"$pid_file")
    [[ -n $pid ]] || return 1
    process_alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern" || return 1
    printf '%s\n' "$pid"
}

tcp_port_open() {
    local host=$1 port=$2
    # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash.
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

# Fail when something that is not our server already listens on PORT.
require_port_free() {
    local component=$1 port=$2 variable=$3
    if tcp_port_open 127.0.0.1 "$port"; then
        die "$component cannot start: 127.0.0.1:$port is already in use by another process. Stop that process or set $variable to a free port."
    fi
}

# Poll CHECK (a command) once a second until it succeeds, then return 0.
# Returns 1 when COL_START_TIMEOUT passes and 2 as soon as process PID exits.
wait_healthy() {
    local pid=$1
    shift
    local deadline=$((SECONDS + COL_START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [[ -n $pid ]] && ! process_alive "$pid"; then
            return 2
        fi
        sleep 1
    done
    "$@" >/dev/null 2>&1
}

# Send SIGTERM to PID and wait up to COL_STOP_TIMEOUT seconds for it to exit,
# then send SIGKILL.
terminate_pid() {
    local component=$1 pid=$2
    kill -TERM "$pid" 2>/dev/null || return 0
    local deadline=$((SECONDS + COL_STOP_TIMEOUT))
    while process_alive "$pid"; do
        if ((SECONDS >= deadline)); then
            info "$component (pid $pid) did not exit ${COL_STOP_TIMEOUT}s after SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            sleep 1
            return 0
        fi
        sleep 0.5
    done
}

# Report a component that failed to start or install, with the end of its
# log, and exit non-zero.
fail_component() {
    local component=$1 message=$2
    shift 2
    printf 'deploy/stack: error: %s failed: %s\n' "$component" "$message" >&2
    local log_file
    for log_file in "$@"; do
        [[ -s $log_file ]] || continue
        printf -- '----- last 40 lines of %s -----\n' "$log_file" >&2
        tail -n 40 "$log_file" >&2
        printf -- '----- end of %s -----\n' "$log_file" >&2
    done
    printf 'deploy/stack: full %s log: %s\n' "$component" "$*" >&2
    exit 1
}
