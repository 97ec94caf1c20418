#!/usr/bin/env python3
"""ccxt (REST fetch_ohlcv) and ccxt.pro (watch_ohlcv) against klagg's gateway.

Pointed at it by ccxt's documented ``urls`` overrides only: USD-M as ``binanceusdm`` with
``urls.api.fapiPublic`` and ``urls.api.ws.linear`` (which ccxt turns into ``/market/ws/<n>``),
spot as ``binance`` with ``urls.api.public`` and ``urls.api.ws.spot`` (``/ws/<n>``). ``binance``
loads spot, USD-M and COIN-M markets by default; a gateway serves one market, so the spot client
asks for spot markets only (the ``fetchMarkets`` option). ``load_markets`` reads the gateway's
exchangeInfo, so the unified symbols (``BTC/USDT:USDT``, ``BTC/USDT``) come from it.
"""

import asyncio

import ccxt
import ccxt.pro

from client_io import arguments, emit, rest_rows


def options(args):
    """The exchange class name and its config for the market."""
    if args.market == "usdm":
        return "binanceusdm", {
            "urls": {"api": {"fapiPublic": f"{args.http}/fapi/v1", "ws": {"linear": f"{args.ws}/ws"}}},
        }
    return "binance", {
        "urls": {"api": {"public": f"{args.http}/api/v3", "ws": {"spot": f"{args.ws}/ws"}}},
        "options": {"fetchMarkets": {"types": ["spot"]}},
    }


def unified(exchange, symbol):
    """The unified symbol of an exchange name, from the markets the gateway listed."""
    return exchange.markets_by_id[symbol][0]["symbol"]


async def watch(exchange, symbol, interval, seconds):
    """Every candle watch_ohlcv hands out for `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        try:
            candles = await asyncio.wait_for(
                exchange.watch_ohlcv(unified(exchange, symbol), interval),
                timeout=max(0.1, deadline - loop.time()),
            )
        except asyncio.TimeoutError:
            break
        for candle in candles:
            emit({"source": "ws", "symbol": symbol, "interval": interval, "row": candle})


async def stream(args, name, config):
    exchange = getattr(ccxt.pro, name)(config)
    try:
        await exchange.load_markets()
        await asyncio.gather(
            *(watch(exchange, symbol, args.interval, args.seconds) for symbol in args.symbols)
        )
    finally:
        await exchange.close()


def main():
    args = arguments(__doc__.splitlines()[0])
    name, config = options(args)
    asyncio.run(stream(args, name, config))
    exchange = getattr(ccxt, name)(config)
    exchange.load_markets()
    for symbol in args.symbols:
        rows = exchange.fetch_ohlcv(unified(exchange, symbol), args.interval, limit=5)
        rest_rows(symbol, args.interval, rows)


if __name__ == "__main__":
    main()
