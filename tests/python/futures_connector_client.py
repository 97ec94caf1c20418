#!/usr/bin/env python3
"""binance-futures-connector (USD-M only) against klagg's gateway.

Pointed at it by the constructors' documented ``base_url`` and ``stream_url``: ``UMFutures.klines``
for REST; ``UMFuturesWebsocketClient`` on ``<stream_url>/ws`` subscribing a kline stream and the
perpetual's continuous-kline stream, and another with ``is_combined=True`` on
``<stream_url>/stream``. The stream URL is ``ws://host:port/market``, as for Binance's
``wss://fstream.binance.com/market``.
"""

import json
import queue
import time

from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

from client_io import arguments, event, rest_rows


def main():
    args = arguments(__doc__.splitlines()[0])
    first, second = args.symbols
    messages = queue.Queue()
    errors = []

    def client(combined):
        return UMFuturesWebsocketClient(
            stream_url=f"{args.ws}/market",
            on_message=lambda _, message: messages.put((combined, message)),
            on_error=lambda _, error: errors.append(error),
            is_combined=combined,
        )

    raw = client(False)
    raw.kline(symbol=first.lower(), interval=args.interval)
    raw.continuous_kline(pair=first.lower(), contractType="perpetual", interval=args.interval)
    combined = client(True)
    combined.kline(symbol=second.lower(), interval=args.interval)
    deadline = time.monotonic() + args.seconds
    replies = 0
    try:
        while time.monotonic() < deadline:
            try:
                is_combined, message = messages.get(timeout=0.1)
            except queue.Empty:
                continue
            value = json.loads(message)
            if "result" in value or "error" in value:
                if value.get("result") is not None or "error" in value:
                    raise RuntimeError(f"request refused: {value}")
                replies += 1
            elif is_combined:
                event(value["data"], value["stream"])
            else:
                event(value)
    finally:
        raw.stop()
        combined.stop()
    if errors:
        raise RuntimeError(f"websocket error: {errors[0]!r}")
    if replies != 3:
        raise RuntimeError(f"{replies} SUBSCRIBE replies, expected 3")
    rest = UMFutures(base_url=args.http)
    for symbol in (first, second):
        rest_rows(symbol, args.interval, rest.klines(symbol=symbol, interval=args.interval, limit=5))


if __name__ == "__main__":
    main()
