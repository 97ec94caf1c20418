"""What every library client script shares: its arguments and its output.

A script is pointed at a running klagg gateway by host and port (and told the market, the
symbols and the interval), uses one Binance client library exactly as that library's users do,
with nothing changed but the base URLs the library documents as settings, and prints what the
library handed it as JSON lines on stdout:

* ``{"source": "rest", "symbol": ..., "interval": ..., "row": [...]}``: one REST kline as the
  library returned it (``row`` is Binance's 12-element array; ccxt's 6-element candle);
* ``{"source": "ws", "event": {...}}``: one kline stream event as the library delivered it
  (``stream`` added when it came in the combined envelope);
* ``{"source": "ws", "symbol": ..., "interval": ..., "row": [...]}``: a candle built by a
  library that does not hand out events (ccxt.pro).

The Rust test that started the script compares every line with the engine's own klines. A
library error ends the script with a traceback on stderr and exit status 1.
"""

import argparse
import json
import sys
import threading

OUTPUT = threading.Lock()


def arguments(description):
    """The arguments every client script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--market", choices=["usdm", "spot"], required=True)
    parser.add_argument(
        "--symbols", required=True, help="two exchange names, comma separated, e.g. BTCUSDT,ETHUSDT"
    )
    parser.add_argument("--interval", default="1s", help="the kline interval streamed and fetched")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long streams are read")
    args = parser.parse_args()
    args.symbols = args.symbols.split(",")
    args.http = f"http://{args.host}:{args.port}"
    args.ws = f"ws://{args.host}:{args.port}"
    return args


def emit(line):
    """One JSON line on stdout, whole even when several threads print."""
    text = json.dumps(line, separators=(",", ":")) + "\n"
    with OUTPUT:
        sys.stdout.write(text)
        sys.stdout.flush()


def rest_rows(symbol, interval, rows):
    """Prints each REST kline of a response."""
    if not rows:
        raise AssertionError(f"no REST klines for {symbol} {interval}")
    for row in rows:
        emit({"source": "rest", "symbol": symbol, "interval": interval, "row": list(row)})


def event(message, stream=None):
    """Prints one stream event (a dict), with the stream it came on if combined."""
    line = {"source": "ws", "event": message}
    if stream is not None:
        line["stream"] = stream
    emit(line)
