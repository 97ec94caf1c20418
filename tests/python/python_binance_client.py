#!/usr/bin/env python3
"""python-binance against klagg's gateway: REST klines and kline sockets.

Pointed at it by the URL attributes python-binance documents for other endpoints
(``API_URL``/``FUTURES_URL`` on the client, ``STREAM_URL``/``FSTREAM_URL`` on the socket
manager). USD-M: ``futures_klines``, ``futures_multiplex_socket`` (``/market/stream?streams=``)
and ``kline_futures_socket``, which asks for the continuous-contract stream
``<pair>_perpetual@continuousKline_<interval>``. Spot: ``get_klines``, ``kline_socket``
(``/ws/<stream>``) and ``multiplex_socket`` (``/stream?streams=``).
"""

import asyncio

from binance import AsyncClient, BinanceSocketManager

from client_io import arguments, event, rest_rows


async def read(socket, seconds, combined):
    """Every message a socket delivers for `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with socket as messages:
        while loop.time() < deadline:
            try:
                message = await asyncio.wait_for(messages.recv(), max(0.05, deadline - loop.time()))
            except asyncio.TimeoutError:
                break
            if message.get("e") == "error":
                raise RuntimeError(f"socket error: {message}")
            if combined:
                event(message["data"], message["stream"])
            else:
                event(message)


async def run(args):
    client = AsyncClient()
    client.API_URL = f"{args.http}/api"
    client.FUTURES_URL = f"{args.http}/fapi"
    sockets = BinanceSocketManager(client)
    sockets.STREAM_URL = f"{args.ws}/"
    sockets.FSTREAM_URL = f"{args.ws}/"
    first, second = args.symbols
    names = [f"{symbol.lower()}@kline_{args.interval}" for symbol in args.symbols]
    try:
        if args.market == "usdm":
            await asyncio.gather(
                read(sockets.futures_multiplex_socket(names), args.seconds, True),
                read(sockets.kline_futures_socket(first, args.interval), args.seconds, False),
            )
            fetch = client.futures_klines
        else:
            await asyncio.gather(
                read(sockets.multiplex_socket(names[1:]), args.seconds, True),
                read(sockets.kline_socket(first, args.interval), args.seconds, False),
            )
            fetch = client.get_klines
        for symbol in (first, second):
            rest_rows(symbol, args.interval, await fetch(symbol=symbol, interval=args.interval, limit=5))
    finally:
        await client.close_connection()


def main():
    args = arguments(__doc__.splitlines()[0])
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
