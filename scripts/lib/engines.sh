# Shared by scripts/latency.sh and scripts/throughput.sh: start the simulator, then klagg or
# the tokio baseline against it, as separate processes pinned to cores; stop them cleanly.
# Source it after setting OUT (output directory) and the variables named below.

BIN=target/release/klagg
BASELINE=target/release/examples/baseline
FLOOR=target/release/examples/floor

# build_release [EXAMPLE...]: klagg, the baseline and any further examples named.
build_release() {
    local examples=(--example baseline)
    for example in "$@"; do examples+=(--example "$example"); done
    echo "building release binaries (klagg, examples: baseline $*)..."
    cargo build --release --quiet --bin klagg "${examples[@]}"
}

# thread_switches PID: one line per thread name of PID, its voluntary context switches so far
# (threads of one name summed); nothing for threads that end meanwhile.
thread_switches() {
    local task
    for task in /proc/"$1"/task/*; do
        { awk -v name="$(cat "$task/comm" 2>/dev/null)" \
            '/^voluntary_ctxt_switches:/ { print name, $2 }' "$task/status" 2>/dev/null; } || true
    done | awk '{ s[$1] += $2 } END { for (n in s) print n, s[n] }'
}

# switches_during PID FILE: waits for the simulator to finish, and writes to FILE each
# thread's voluntary context switches per message while the market traded: counted from a
# second after trading began to a second before it ends (at $RATE messages a second), since
# an engine may exit once the simulator closes its connections.
switches_during() {
    local pid=$1 out=$2 window=$((DURATION - 2))
    [ "$window" -ge 1 ] || window=1
    # The simulator starts trading once every client connected; a second later it surely has.
    sleep 1
    thread_switches "$pid" >"$out.before"
    sleep "$window"
    thread_switches "$pid" | awk -v msgs=$((RATE * window)) \
        'NR == FNR { b[$1] = $2; next } { printf "%s %.5f\n", $1, ($2 - b[$1]) / msgs }' \
        "$out.before" - >"$out"
    rm -f "$out.before"
    wait_sim
}

# start_sim NAME ARGS...: starts `klagg sim` pinned to $SIM_CORES, logging to $OUT/NAME-sim.log;
# sets SIM_PID and SIM_ADDR once it listens.
start_sim() {
    local name=$1
    shift
    # Made before the simulator starts, so the wait below never reads a file not there yet.
    : >"$OUT/$name-sim.log"
    "$BIN" sim --addr 127.0.0.1:0 --cores "$SIM_CORES" "$@" >>"$OUT/$name-sim.log" 2>&1 &
    SIM_PID=$!
    await_listening sim simulator "$name"
}

# start_blast NAME ARGS...: starts `klagg blast` (the load generator), logging to
# $OUT/NAME-sim.log; sets SIM_PID and SIM_ADDR once it listens, like start_sim.
start_blast() {
    local name=$1
    shift
    : >"$OUT/$name-sim.log"
    "$BIN" blast --addr 127.0.0.1:0 "$@" >>"$OUT/$name-sim.log" 2>&1 &
    SIM_PID=$!
    await_listening blast generator "$name"
}

# await_listening COMMAND WHAT NAME: waits (10 s at most) until `klagg COMMAND`, started as
# SIM_PID and logging to $OUT/NAME-sim.log, says where it listens and sets SIM_ADDR; exits
# with its log if it ends or does not say so in time.
await_listening() {
    local command=$1 what=$2 log="$OUT/$3-sim.log"
    SIM_ADDR=""
    for _ in $(seq 1 100); do
        SIM_ADDR=$(sed -n "s/^klagg $command listening on \(.*\)$/\1/p" "$log")
        [ -n "$SIM_ADDR" ] && return 0
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the $what did not start; its log ($log):" >&2
    cat "$log" >&2
    exit 1
}

# wait_sim: waits for the simulator to finish (duration or count reached).
wait_sim() {
    if ! wait "$SIM_PID"; then
        echo "the simulator failed; its log:" >&2
        tail -20 "$OUT"/*-sim.log >&2
        exit 1
    fi
}

# klagg_connections SYMBOLS / baseline_connections SYMBOLS: how many WebSocket connections
# each opens (200 streams each; klagg's first also carries the !miniTicker@arr stream).
klagg_connections() {
    echo $(((($1 + 200) / 200) * REDUNDANCY))
}
baseline_connections() {
    echo $((($1 + 199) / 200))
}

# klagg_config FILE SAMPLE_EVERY: a config for the simulator at $SIM_ADDR, pinned per
# $IO_CORE, $SHARD_CORE and $CONSUMER_CORE, waiting by $IDLE / $PARK_US, the gateway pushing
# every $PUSH_INTERVAL_MS (0: as klines change), each stream on $REDUNDANCY connections.
klagg_config() {
    cat >"$1" <<TOML
[exchange]
ws_url = "ws://$SIM_ADDR/market/stream"
rest_url = "http://$SIM_ADDR"
symbols = "all"
max_symbols = 4096
streams_per_connection = 200
redundancy = $REDUNDANCY

[klines]
intervals = "all"
database = ""

[threads]
io_cores = [$IO_CORE]
aggregator_cores = [$SHARD_CORE]
consumer_cores = [$CONSUMER_CORE]
idle = "$IDLE"
park_us = $PARK_US
spin_us = $SPIN_US

[gateway]
bind = "127.0.0.1:0"
push_interval_ms = $PUSH_INTERVAL_MS

[backfill]
enabled = $BACKFILL

[latency]
sample_every = $2
TOML
}

# cpu_seconds PID [THREAD_NAME]: CPU time (user + system) a process, or its thread of that
# name, has used so far.
cpu_seconds() {
    local stat=/proc/$1/stat
    if [ -n "${2:-}" ]; then
        stat=$(grep -lx "$2" /proc/"$1"/task/*/comm 2>/dev/null | head -1 | sed 's/comm$/stat/')
    fi
    [ -n "$stat" ] && [ -r "$stat" ] || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "$stat"
}

# wait_engine_run PID [THREAD_NAME]: waits for the simulator like wait_sim. With TRACK_CPU=1 it
# also prints the last CPU seconds seen of PID (and of its thread THREAD_NAME), read every
# 0.5 s, since an engine may exit on its own when the simulator closes its connections. The
# reads start processes, so latency runs leave TRACK_CPU off: they would disturb what they
# measure on a small machine.
wait_engine_run() {
    if [ "${TRACK_CPU:-0}" != 1 ]; then
        wait_sim
        echo "0 0"
        return
    fi
    local total=0 thread=0
    while kill -0 "$SIM_PID" 2>/dev/null; do
        if kill -0 "$1" 2>/dev/null; then
            total=$(cpu_seconds "$1")
            [ -n "${2:-}" ] && thread=$(cpu_seconds "$1" "$2")
        fi
        sleep 0.5
    done
    wait_sim
    if kill -0 "$1" 2>/dev/null; then
        total=$(cpu_seconds "$1")
        [ -n "${2:-}" ] && thread=$(cpu_seconds "$1" "$2")
    fi
    echo "$total $thread"
}

# stop_engine PID NAME WHAT: after $DRAIN_S seconds to take in what is in flight, stops the
# engine with SIGINT and waits for it; a failure shows the end of its log $OUT/NAME.log.
stop_engine() {
    sleep "$DRAIN_S"
    kill -INT "$1" 2>/dev/null || true
    if ! wait "$1"; then
        echo "$3 failed; its log ($OUT/$2.log):" >&2
        tail -20 "$OUT/$2.log" >&2
        exit 1
    fi
}

# run_klagg NAME SAMPLE_EVERY: runs klagg against the simulator until it finishes, then stops
# klagg with SIGINT (after a moment to drain) and waits for its stamp file $OUT/NAME.csv.
# With TRACK_CPU=1, $OUT/NAME.cpu gets the CPU seconds klagg, and the thread running its io
# (klagg-core$IO_CORE, or klagg-io-0 unpinned), used; otherwise $OUT/NAME.csw gets each
# thread's voluntary context switches while the market traded.
run_klagg() {
    local name=$1 sample=$2
    klagg_config "$OUT/$name.toml" "$sample"
    "$BIN" run --config "$OUT/$name.toml" --stamps "$OUT/$name.csv" --status-every 5s \
        >"$OUT/$name.log" 2>&1 &
    local pid=$!
    if [ "${TRACK_CPU:-0}" = 1 ]; then
        wait_engine_run "$pid" "klagg-core${IO_CORE}" >"$OUT/$name.cpu"
    else
        switches_during "$pid" "$OUT/$name.csw"
    fi
    stop_engine "$pid" "$name" klagg
    tail -2 "$OUT/$name.log"
}

# run_floor NAME: the floor reader (examples/floor) on $BASELINE_CORES until the simulator
# finishes; its stamps go to $OUT/NAME.csv, its threads' context switches to $OUT/NAME.csw.
run_floor() {
    local name=$1
    taskset -c "$BASELINE_CORES" "$FLOOR" --url "ws://$SIM_ADDR/market/stream" \
        --symbols "$(sim_symbols)" --stamps "$OUT/$name.csv" \
        >"$OUT/$name.log" 2>&1 &
    local pid=$!
    switches_during "$pid" "$OUT/$name.csw"
    stop_engine "$pid" "$name" "the floor"
    tail -1 "$OUT/$name.log"
}

# sim_symbols: the simulator's symbols, comma-separated, from its exchangeInfo.
sim_symbols() {
    local symbols
    symbols=$(curl -sf "http://$SIM_ADDR/fapi/v1/exchangeInfo" |
        grep -o '"symbol":"[^"]*"' | cut -d'"' -f4 | paste -sd, -)
    if [ -z "$symbols" ]; then
        echo "cannot list the simulator's symbols from http://$SIM_ADDR/fapi/v1/exchangeInfo" >&2
        exit 1
    fi
    echo "$symbols"
}

# run_baseline NAME SAMPLE_EVERY: the same with the tokio baseline, on $BASELINE_CORES, keeping
# at most $BASELINE_MAX_STAMPS stamps; $OUT/NAME.cpu gets the CPU seconds it used.
run_baseline() {
    local name=$1 sample=$2 symbols
    symbols=$(sim_symbols)
    taskset -c "$BASELINE_CORES" "$BASELINE" --url "ws://$SIM_ADDR/market/stream" \
        --symbols "$symbols" --stamps "$OUT/$name.csv" --sample-every "$sample" \
        --worker-threads "$BASELINE_THREADS" --max-stamps "$BASELINE_MAX_STAMPS" \
        >"$OUT/$name.log" 2>&1 &
    local pid=$!
    if [ "${TRACK_CPU:-0}" = 1 ]; then
        wait_engine_run "$pid" >"$OUT/$name.cpu"
    else
        switches_during "$pid" "$OUT/$name.csw"
    fi
    stop_engine "$pid" "$name" "the baseline"
    tail -1 "$OUT/$name.log"
}

# Defaults for a 2-core machine; every one can be overridden from the environment.
: "${SIM_CORES:=1}"
: "${IO_CORE:=0}"
: "${SHARD_CORE:=1}"
: "${CONSUMER_CORE:=1}"
: "${BASELINE_CORES:=0,1}"
: "${BASELINE_THREADS:=2}"
: "${IDLE:=park}"
: "${PARK_US:=20}"
: "${SPIN_US:=100}"
: "${DRAIN_S:=2}"
: "${PUSH_INTERVAL_MS:=0}"
: "${REDUNDANCY:=1}"
: "${BACKFILL:=true}"

# Whatever happens, no simulator or engine outlives the script.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
