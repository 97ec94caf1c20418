#!/usr/bin/env python3
"""Off-the-shelf Binance kline client code, pointed at klagg's gateway.

It uses the PyPI package websocket-client (module ``websocket``) the way client code written
for Binance's USD-M market streams does:

* a raw stream, ``/market/ws/<symbol>@kline_<interval>``, read by a ``WebSocketApp`` with an
  ``on_message`` callback in a thread (``run_forever``);
* a combined stream, ``/market/stream?streams=a/b``, read with ``create_connection``, on which
  it sends ``SUBSCRIBE`` and then ``LIST_SUBSCRIPTIONS``.

Every message is printed to stdout as one JSON line: ``{"conn": "raw", "event": {...}}``,
``{"conn": "combined", "stream": "...", "event": {...}}`` or
``{"conn": "combined", "reply": {...}}``. The script checks what a Binance client relies on
(event shapes and types, decimals as strings, the envelope, the replies, every stream
delivering) and exits 1 naming the first mismatch, or 0.
"""

import argparse
import json
import queue
import re
import sys
import threading
import time

try:
    import websocket
except ImportError:
    sys.stderr.write("the Python module 'websocket' is missing: pip install websocket-client\n")
    sys.exit(3)

DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
INT_FIELDS = ("t", "T", "f", "L", "n")
DECIMAL_FIELDS = ("o", "c", "h", "l", "v", "q", "V", "Q", "B")


class Mismatch(Exception):
    """What the gateway sent is not what a Binance client expects."""


def check_event(event, stream):
    """Checks one kline event against the stream it came on, as a Binance client reads it."""
    symbol, interval = stream.split("@kline_")
    if not isinstance(event, dict) or event.get("e") != "kline":
        raise Mismatch(f"{stream}: not a kline event: {event!r}")
    if event.get("s") != symbol.upper():
        raise Mismatch(f"{stream}: event of symbol {event.get('s')!r}")
    if not isinstance(event.get("E"), int):
        raise Mismatch(f"{stream}: event time E is not an integer: {event!r}")
    k = event.get("k")
    if not isinstance(k, dict):
        raise Mismatch(f"{stream}: no kline object: {event!r}")
    if k.get("s") != symbol.upper() or k.get("i") != interval:
        raise Mismatch(f"{stream}: kline of {k.get('s')!r} {k.get('i')!r}")
    for field in INT_FIELDS:
        if not isinstance(k.get(field), int) or isinstance(k.get(field), bool):
            raise Mismatch(f"{stream}: k.{field} is not an integer: {k!r}")
    for field in DECIMAL_FIELDS:
        value = k.get(field)
        if not isinstance(value, str) or not DECIMAL.match(value):
            raise Mismatch(f"{stream}: k.{field} is not a decimal string: {value!r}")
    if not isinstance(k.get("x"), bool):
        raise Mismatch(f"{stream}: k.x is not a boolean: {k!r}")
    if k["T"] <= k["t"]:
        raise Mismatch(f"{stream}: close time before open time: {k!r}")


OUTPUT = threading.Lock()


def emit(line):
    """One JSON line on stdout; whole lines, although two readers print."""
    text = json.dumps(line, separators=(",", ":")) + "\n"
    with OUTPUT:
        sys.stdout.write(text)
        sys.stdout.flush()


def read_raw(url, stream, seconds, seen):
    """The raw stream through WebSocketApp callbacks, for `seconds`."""
    messages = queue.Queue()
    errors = []
    app = websocket.WebSocketApp(
        url,
        on_message=lambda ws, message: messages.put(message),
        on_error=lambda ws, error: errors.append(error),
    )
    thread = threading.Thread(target=app.run_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = messages.get(timeout=0.1)
        except queue.Empty:
            continue
        event = json.loads(message)
        check_event(event, stream)
        seen[stream] = seen.get(stream, 0) + 1
        emit({"conn": "raw", "event": event})
    app.close()
    thread.join(timeout=5)
    if errors:
        raise Mismatch(f"raw stream error: {errors[0]!r}")


def read_combined(url, streams, subscribe, seconds, seen):
    """The combined stream with create_connection: events, SUBSCRIBE, LIST_SUBSCRIPTIONS."""
    ws = websocket.create_connection(url, timeout=5)
    ws.settimeout(0.2)
    subscribed = set(streams)
    expected = {}
    deadline = time.monotonic() + seconds
    sent_subscribe = False
    sent_list = False
    listed = False
    while time.monotonic() < deadline:
        if not sent_subscribe and seen:
            # Once events flow, as client code does after its first message.
            ws.send(json.dumps({"method": "SUBSCRIBE", "params": subscribe, "id": 1}))
            expected[1] = {"result": None, "id": 1}
            sent_subscribe = True
        try:
            message = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        value = json.loads(message)
        if "id" in value and ("result" in value or "error" in value):
            emit({"conn": "combined", "reply": value})
            want = expected.pop(value["id"], None)
            if value != want:
                raise Mismatch(f"reply {value!r}, expected {want!r}")
            if value["id"] == 1:
                subscribed.update(subscribe)
                ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
                expected[2] = {"result": streams + subscribe, "id": 2}
                sent_list = True
            else:
                listed = True
            continue
        stream = value.get("stream")
        if stream not in subscribed or "data" not in value:
            raise Mismatch(f"combined message on an unsubscribed stream: {value!r}")
        check_event(value["data"], stream)
        seen[stream] = seen.get(stream, 0) + 1
        emit({"conn": "combined", "stream": stream, "event": value["data"]})
    ws.close()
    if not (sent_subscribe and sent_list and listed):
        raise Mismatch("SUBSCRIBE and LIST_SUBSCRIPTIONS were not both answered")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--raw", required=True, help="a stream, e.g. btcusdt@kline_1m")
    parser.add_argument("--combined", required=True, help="streams, e.g. a@kline_1m/b@kline_5m")
    parser.add_argument("--subscribe", required=True, help="streams to SUBSCRIBE, comma separated")
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()

    base = f"ws://{args.host}:{args.port}"
    combined = args.combined.split("/")
    subscribe = args.subscribe.split(",")
    seen = {}
    failures = []

    def guarded(target, *target_args):
        try:
            target(*target_args)
        except Exception as error:  # any failure of a reader is a mismatch to report
            failures.append(error)

    raw_seen = {}
    raw = threading.Thread(
        target=guarded,
        args=(read_raw, f"{base}/market/ws/{args.raw}", args.raw, args.seconds, raw_seen),
    )
    raw.start()
    guarded(
        read_combined,
        f"{base}/market/stream?streams={args.combined}",
        combined,
        subscribe,
        args.seconds,
        seen,
    )
    raw.join()
    seen.update(raw_seen)
    missing = [s for s in [args.raw] + combined + subscribe if not seen.get(s)]
    if not failures and missing:
        failures.append(Mismatch(f"no event on {', '.join(missing)}"))
    if failures:
        sys.stderr.write(f"mismatch: {failures[0]}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
