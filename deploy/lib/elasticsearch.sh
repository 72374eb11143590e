# shellcheck shell=bash
# Elasticsearch from the integ-test-zip distribution on Maven Central, run as
# a single node with security disabled.

# 8.19.21 is the newest integ-test-zip on Maven Central (there is no 9.x one)
# and runs on Java 17. The platform's Python client must stay on 8.x to match.
ES_VERSION=8.19.21
ES_ARTIFACT=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip
# SHA-1 of elasticsearch-8.19.21.zip, as published in the .sha1 file beside it.
ES_SHA1=8861771bbfe2fab12ccc386bc8b4c5c6f9619865
# maven-dependency-plugin version that fetches the zip, pinned so that Maven
# does not look up the newest plugin on every download.
ES_MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
ES_PORT=${ES_PORT:-9200}
ES_HEAP=${ES_HEAP:-1g}

elasticsearch_paths() {
    es_dir=$COL_VAR_DIR/elasticsearch
    es_home=$es_dir/elasticsearch-$ES_VERSION
    es_conf_dir=$es_dir/config
    es_data_dir=$es_dir/data
    es_pid_file=$es_dir/elasticsearch.pid
    # Temporary files of the server (ES_TMPDIR) and of the launcher JVM. The
    # launcher leaves files in /tmp on every start unless pointed here.
    es_tmp_dir=$es_dir/tmp
    es_logs_dir=$COL_LOG_DIR/elasticsearch
    # Console output of `elasticsearch -d`, which contains the server log up
    # to the moment the node has started. The server keeps writing its own logs
    # (cities-of-learning.log, gc.log) to es_logs_dir.
    es_launcher_log=$COL_LOG_DIR/elasticsearch.log
    es_server_log=$es_logs_dir/cities-of-learning.log
    es_maven_repo=$COL_CACHE_DIR/maven
    es_zip=$es_maven_repo/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip
    # Elasticsearch refuses to run as root, so root runs it as this user.
    if is_root; then
        es_user=colearn-es
    else
        es_user=$(id -un)
    fi
}

elasticsearch_url() {
    printf 'http://127.0.0.1:%s\n' "$ES_PORT"
}

# Set ES_JAVA_HOME to Debian's OpenJDK 17 unless the caller set it, and
# install that package when it is missing.
elasticsearch_find_java() {
    if [[ -z ${ES_JAVA_HOME:-} ]]; then
        ES_JAVA_HOME=/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)
        [[ -x $ES_JAVA_HOME/bin/java ]] || ensure_debs openjdk-17-jre-headless
    fi
    [[ -x $ES_JAVA_HOME/bin/java ]] || die "ES_JAVA_HOME=$ES_JAVA_HOME has no bin/java. Point ES_JAVA_HOME at a Java 17 or newer runtime."
    export ES_JAVA_HOME
}

elasticsearch_zip_valid() {
    [[ -f $es_zip ]] && [[ $(sha1sum "$es_zip" | cut -d' ' -f1) == "$ES_SHA1" ]]
}

# Fetch the zip into the Maven repository under the cache. Maven writes to a
# temporary file and renames it, but a copy that was cut short or damaged some
# other way fails the SHA-1 check, and then the artifact is fetched again.
elasticsearch_download() {
    local attempt maven_log=$COL_LOG_DIR/elasticsearch-download.log
    command -v mvn >/dev/null 2>&1 || ensure_debs maven
    : >"$maven_log"
    for attempt in 1 2; do
        if elasticsearch_zip_valid; then
            return 0
        fi
        if [[ -e $es_zip ]]; then
            info "cached $es_zip does not match SHA-1 $ES_SHA1, deleting it"
        fi
        rm -rf "$(dirname "$es_zip")"
        info "downloading $ES_ARTIFACT with Maven (attempt $attempt, log $maven_log)"
        (cd "$COL_CACHE_DIR" && mvn --batch-mode --no-transfer-progress --strict-checksums \
            -Dstyle.color=never -Dmaven.repo.local="$es_maven_repo" \
            "$ES_MAVEN_DEPENDENCY_PLUGIN:get" -Dartifact="$ES_ARTIFACT" -Dtransitive=false) \
            >>"$maven_log" 2>&1 || true
    done
    elasticsearch_zip_valid \
        || fail_component elasticsearch "download of $ES_ARTIFACT failed or does not match SHA-1 $ES_SHA1" "$maven_log"
}

elasticsearch_install() {
    command -v curl >/dev/null 2>&1 || ensure_debs curl
    elasticsearch_find_java
    if is_root; then
        ensure_system_user "$es_user" "Cities of Learning Elasticsearch"
    fi
    # The marker contains the SHA-1 of the zip that was extracted, so a changed
    # ES_VERSION or an interrupted extraction leads to a fresh one.
    if [[ -f $es_home/.deploy-stack-sha1 && $(cat "$es_home/.deploy-stack-sha1") == "$ES_SHA1" ]]; then
        return 0
    fi
    command -v unzip >/dev/null 2>&1 || ensure_debs unzip
    elasticsearch_download

    local staging=$es_dir/.extract
    info "extracting Elasticsearch $ES_VERSION into $es_home"
    mkdir -p "$es_dir"
    rm -rf "$staging" "$es_home"
    mkdir -p "$staging"
    unzip -q "$es_zip" -d "$staging" || die "unzip of $es_zip failed"
    # The server user only reads the distribution. Its writable files live in
    # es_conf_dir, es_data_dir and es_logs_dir.
    chmod -R go+rX,go-w "$staging/elasticsearch-$ES_VERSION"
    mv "$staging/elasticsearch-$ES_VERSION" "$es_home"
    rmdir "$staging"
    printf '%s\n' "$ES_SHA1" >"$es_home/.deploy-stack-sha1"
}

elasticsearch_pid() {
    live_pid "$es_pid_file" org.elasticsearch.bootstrap.Elasticsearch
}

elasticsearch_healthy() {
    curl --silent --fail --max-time 10 \
        "$(elasticsearch_url)/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null
}

# Write elasticsearch.yml and the heap options into es_conf_dir. Both are
# rewritten on every start, so edit this function, not the files.
elasticsearch_write_config() {
    [[ $ES_HEAP =~ ^[0-9]+[kKmMgG]$ ]] || die "ES_HEAP must be a size such as 512m or 1g, got '$ES_HEAP'"
    # Only a stopped node calls this, so nothing uses the old temporary files.
    rm -rf "$es_tmp_dir"
    mkdir -p "$es_conf_dir" "$es_data_dir" "$es_logs_dir" "$es_tmp_dir"
    # Copy the distribution's defaults (jvm.options, log4j2.properties and
    # the security files) and keep the keystore that the server creates.
    cp -R "$es_home/config/." "$es_conf_dir/"
    cat >"$es_conf_dir/elasticsearch.yml" <<EOF
# Written by deploy/stack on every start.
cluster.name: cities-of-learning
node.name: local
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
path.data: "$es_data_dir"
path.logs: "$es_logs_dir"
# Local development only: no TLS and no authentication, on loopback.
xpack.security.enabled: false
# Keep indices writable when the disk is nearly full, as developer and CI
# disks often are. By default Elasticsearch makes them read-only at 95%.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
    mkdir -p "$es_conf_dir/jvm.options.d"
    printf -- '-Xms%s\n-Xmx%s\n' "$ES_HEAP" "$ES_HEAP" >"$es_conf_dir/jvm.options.d/heap.options"
    chown "$es_user:" "$es_dir"
    chown -R "$es_user:" "$es_conf_dir" "$es_data_dir" "$es_logs_dir" "$es_tmp_dir"
}

elasticsearch_start() {
    local pid
    if pid=$(elasticsearch_pid); then
        if elasticsearch_healthy; then
            info "elasticsearch is already running (pid $pid)"
            return 0
        fi
        info "elasticsearch is running (pid $pid) but not healthy yet, waiting"
    else
        rm -f "$es_pid_file"
        require_port_free elasticsearch "$ES_PORT" ES_PORT
        require_reachable_by "$es_user" "$es_home/bin"
        elasticsearch_write_config
        info "starting elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT with heap $ES_HEAP (log $es_server_log)"
        printf '\n===== %s deploy/stack start =====\n' "$(date -Is)" >>"$es_launcher_log"
        # With -d the launcher returns once the node has started or failed.
        # The working directory receives the JVM's gc.log and crash files.
        if ! (
            release_lock_in_subshell
            cd "$es_logs_dir" || exit
            run_as "$es_user" setsid timeout "$COL_START_TIMEOUT" \
                env ES_JAVA_HOME="$ES_JAVA_HOME" ES_PATH_CONF="$es_conf_dir" ES_TMPDIR="$es_tmp_dir" \
                CLI_JAVA_OPTS="${CLI_JAVA_OPTS:+$CLI_JAVA_OPTS }-Djava.io.tmpdir=$es_tmp_dir" \
                "$es_home/bin/elasticsearch" -d -p "$es_pid_file" \
                </dev/null >>"$es_launcher_log" 2>&1
        ); then
            fail_component elasticsearch "bin/elasticsearch -d exited with an error" "$es_launcher_log"
        fi
        pid=$(elasticsearch_pid) \
            || fail_component elasticsearch "no live process in $es_pid_file after the launcher returned" "$es_launcher_log" "$es_server_log"
    fi

    local wait_status=0
    wait_healthy "$pid" elasticsearch_healthy || wait_status=$?
    case $wait_status in
        0) ;;
        2) fail_component elasticsearch "the node exited during startup" "$es_launcher_log" "$es_server_log" ;;
        *) fail_component elasticsearch "cluster health not yellow after ${COL_START_TIMEOUT}s" "$es_server_log" ;;
    esac
    info "elasticsearch is healthy (pid $pid, $(elasticsearch_url))"
}

elasticsearch_stop() {
    local pid
    if ! pid=$(elasticsearch_pid); then
        rm -f "$es_pid_file"
        info "elasticsearch is not running"
        return 0
    fi
    info "stopping elasticsearch (pid $pid)"
    terminate_pid elasticsearch "$pid"
    rm -f "$es_pid_file"
}

elasticsearch_status() {
    local pid health
    if ! pid=$(elasticsearch_pid); then
        printf '%-14s stopped\n' elasticsearch
        return 1
    fi
    health=$(curl --silent --fail --max-time 10 "$(elasticsearch_url)/_cluster/health" \
        | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p') || true
    if [[ $health == green || $health == yellow ]]; then
        printf '%-14s running    pid %-8s %s cluster %s\n' elasticsearch "$pid" "$(elasticsearch_url)" "$health"
        return 0
    fi
    printf '%-14s unhealthy  pid %-8s cluster %s, log %s\n' elasticsearch "$pid" "${health:-unreachable}" "$es_server_log"
    return 1
}
