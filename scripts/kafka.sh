#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, broker+controller in one JVM) on 127.0.0.1 for
# development, tests and CI. No Docker, no download outside Maven Central: the broker's jars come
# from Maven Central through scripts/kafka/pom.xml and are cached in .cache/kafka/libs.
#
#   scripts/kafka.sh start    fetch jars if needed, format fresh storage, start, wait until ready
#   scripts/kafka.sh stop     stop the broker and delete its data
#   scripts/kafka.sh status   exit 0 and print the pid if running, exit 3 if not
#
# Environment:
#   KAFKA_PORT              client listener port (default 19092)
#   KAFKA_CONTROLLER_PORT   controller listener port (default KAFKA_PORT + 1)
#   KAFKA_START_TIMEOUT     seconds to wait for readiness (default 60)
#   KAFKA_HEAP_OPTS         JVM heap flags (default -Xms256m -Xmx512m: the machine is shared)
#   KAFKA_STOP_WITH_PID     stop the broker when this process exits (test runs that get killed
#                           would otherwise leave a broker behind)
#   KAFKA_KEEP_DATA=1       stop keeps the data directory and start reuses it: a broker restarted
#                           with its topics and records, as in an outage (tests of one)
#
# Otherwise each start formats an empty data directory: the broker is disposable, never a store of record.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/kafka.sh"
POM="$ROOT/scripts/kafka/pom.xml"
CACHE="$ROOT/.cache/kafka"
LIBS="$CACHE/libs"
CLASSES="$CACHE/classes"
AWAIT_SRC="$ROOT/scripts/kafka/AwaitBroker.java"
PORT="${KAFKA_PORT:-19092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
DATA="$CACHE/data-$PORT"
PROPS="$CACHE/broker-$PORT.properties"
PIDFILE="$CACHE/broker-$PORT.pid"
LOG="$CACHE/broker-$PORT.log"
LOG4J="-Dlog4j2.configurationFile=$ROOT/scripts/kafka/log4j2.properties"

die() {
  echo "kafka.sh: ERROR: $*" >&2
  exit 1
}

require() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH. $2"
}

require_java() {
  require java "The Kafka broker needs a Java 17+ runtime and JDK (e.g. apt-get install openjdk-17-jdk-headless)."
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')"
  [[ -n "$major" && "$major" -ge 17 ]] || die "Kafka 4 needs Java 17 or newer; 'java' is version '${major:-unknown}'."
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# kill -0 alone also succeeds for a zombie: a broker that died while start still waits on it.
alive() {
  kill -0 "$1" 2>/dev/null && [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]]
}

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  alive "$pid" || return 1
  echo "$pid"
}

# Fetch the broker's jars once per POM content and compile the readiness check once (launching it
# from source would compile it on every start, ~1.5 s); a lock keeps concurrent starts from racing.
prepare() {
  local stamp
  stamp="$(sha256sum "$POM" | cut -d' ' -f1)"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/fetch.lock"
  flock 9
  if [[ "$(cat "$LIBS/.pom.sha256" 2>/dev/null || true)" != "$stamp" ]]; then
    require mvn "It fetches the Kafka broker jars from Maven Central (e.g. apt-get install maven)."
    echo "kafka.sh: fetching Kafka jars from Maven Central into $LIBS" >&2
    local tmp="$CACHE/libs.tmp"
    rm -rf "$tmp"
    if ! mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$CACHE/fetch.log" 2>&1; then
      cat "$CACHE/fetch.log" >&2
      die "mvn could not fetch the Kafka jars (output above, also in $CACHE/fetch.log)."
    fi
    echo "$stamp" >"$tmp/.pom.sha256"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
  fi
  if [[ ! "$CLASSES/AwaitBroker.class" -nt "$AWAIT_SRC" || ! "$CLASSES/AwaitBroker.class" -nt "$LIBS/.pom.sha256" ]]; then
    require javac "It compiles the broker readiness check (install a JDK, not only a JRE)."
    rm -rf "$CLASSES"
    javac -nowarn -d "$CLASSES" -cp "$LIBS/*" "$AWAIT_SRC" || die "compiling $AWAIT_SRC failed."
  fi
  flock -u 9
  exec 9>&-
}

write_properties() {
  cat >"$PROPS" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=1
# Topics are created on purpose (KafkaAdmin.createTopics); a typo must not create an empty one.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
# The default 50 partitions make the first consumer group wait while they are created.
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Tests and benchmarks produce records with event-time timestamps months in the past: time-based
# retention (7 days by default) would delete them from under a consumer at its first check.
log.retention.ms=-1
# The machine has 2 cores shared with everything else.
num.network.threads=2
num.io.threads=2
EOF
}

# A Kafka cluster id is 16 random bytes in URL-safe base64 without padding; one starting with '-'
# would be read as an option by the storage tool (Kafka's own generator avoids those too).
cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [[ "$id" != -* ]] && break
  done
  echo "$id"
}

fail_start() {
  echo "kafka.sh: ERROR: $*" >&2
  echo "---- last lines of $LOG ----" >&2
  tail -n 40 "$LOG" >&2 || true
  local pid
  if pid="$(running_pid)"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # The log stays for a closer look; a later stop on this port removes it.
  rm -rf "$PIDFILE" "$DATA" "$PROPS"
  exit 1
}

start() {
  require_java
  local pid
  if pid="$(running_pid)"; then
    echo "kafka.sh: broker already running on 127.0.0.1:$PORT (pid $pid)"
    return 0
  fi
  port_open "$PORT" && die "port $PORT is already in use by another process."
  port_open "$CPORT" && die "controller port $CPORT is already in use by another process."
  prepare

  local began=$SECONDS
  write_properties
  if [[ "${KAFKA_KEEP_DATA:-}" == 1 && -f "$DATA/meta.properties" ]]; then
    echo "kafka.sh: starting on the data kept in $DATA" >"$LOG"
  else
    rm -rf "$DATA"
    mkdir -p "$DATA"
    # Static controller.quorum.voters: Kafka 4 refuses --standalone/--initial-controllers with it.
    java "$LOG4J" -cp "$LIBS/*" kafka.tools.StorageTool format --cluster-id="$(cluster_id)" -c "$PROPS" >"$LOG" 2>&1 ||
      fail_start "formatting storage failed."
  fi

  # shellcheck disable=SC2086 # HEAP_OPTS holds several flags
  java $HEAP_OPTS "$LOG4J" -cp "$LIBS/*" kafka.Kafka "$PROPS" </dev/null >>"$LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"

  local deadline=$((SECONDS + TIMEOUT))
  until port_open "$PORT"; do
    alive "$pid" || fail_start "the broker exited during startup."
    ((SECONDS < deadline)) || fail_start "port $PORT did not open within ${TIMEOUT}s."
    sleep 0.2
  done
  local left_ms=$(((deadline - SECONDS) * 1000))
  ((left_ms > 0)) || left_ms=1000
  java "$LOG4J" -cp "$CLASSES:$LIBS/*" AwaitBroker "127.0.0.1:$PORT" "$left_ms" >>"$LOG" 2>&1 ||
    fail_start "the broker did not answer metadata requests within ${TIMEOUT}s."

  if [[ -n "${KAFKA_STOP_WITH_PID:-}" ]]; then
    watch_owner "$KAFKA_STOP_WITH_PID" "$pid" </dev/null >/dev/null 2>&1 &
  fi
  echo "kafka.sh: broker ready on 127.0.0.1:$PORT (pid $pid, $((SECONDS - began))s, log $LOG)"
}

# Stops the broker once its owner process is gone, unless it was stopped before.
watch_owner() {
  local owner="$1" broker="$2"
  while alive "$owner" && alive "$broker"; do
    sleep 2
  done
  if alive "$broker"; then
    KAFKA_KEEP_DATA= KAFKA_PORT="$PORT" "$SELF" stop
  fi
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "kafka.sh: no broker running on port $PORT"
    rm -rf "$DATA" "$PIDFILE" "$PROPS" "$LOG"
    return 0
  fi
  kill -TERM "$pid"
  # A clean single-node shutdown takes a few seconds; past 30 s it is stuck.
  local deadline=$((SECONDS + 30))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      echo "kafka.sh: broker (pid $pid) ignored SIGTERM for 30s, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  if [[ "${KAFKA_KEEP_DATA:-}" == 1 ]]; then
    rm -f "$PIDFILE"
    echo "kafka.sh: broker on port $PORT stopped, its data kept in $DATA"
    return 0
  fi
  rm -rf "$DATA" "$PIDFILE" "$PROPS" "$LOG"
  echo "kafka.sh: broker on port $PORT stopped"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "kafka.sh: broker running on 127.0.0.1:$PORT (pid $pid)"
  else
    echo "kafka.sh: no broker running on port $PORT"
    exit 3
  fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: scripts/kafka.sh start|stop|status  (port from KAFKA_PORT, default 19092; KAFKA_KEEP_DATA=1 keeps data across stop/start)" >&2
  exit 2
  ;;
esac
