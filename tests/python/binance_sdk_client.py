#!/usr/bin/env python3
"""Binance's current official Python SDKs against klagg's gateway.

USD-M: ``binance-sdk-derivatives-trading-usds-futures``, spot: ``binance-sdk-spot``, each pointed
at the gateway by its documented ``ConfigurationRestAPI(base_path=...)`` and
``ConfigurationWebSocketStreams(stream_url=...)``. REST klines come from ``rest_api``; streams
from ``websocket_streams``, which sends ``SUBSCRIBE`` with UUID string ids, and which on USD-M
opens ``/market/stream``, ``/public/stream`` and ``/private/stream`` at once and subscribes a
kline stream and the perpetual's continuous-kline stream.
"""

import asyncio

from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketStreams

from client_io import arguments, event, rest_rows


def client(args):
    rest = ConfigurationRestAPI(base_path=args.http)
    streams = ConfigurationWebSocketStreams(stream_url=args.ws)
    if args.market == "usdm":
        from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
            DerivativesTradingUsdsFutures,
        )

        return DerivativesTradingUsdsFutures(config_rest_api=rest, config_ws_streams=streams)
    from binance_sdk_spot.spot import Spot

    return Spot(config_rest_api=rest, config_ws_streams=streams)


def as_dict(message):
    """An event model as Binance's JSON (its fields are named as the JSON's)."""
    value = message.model_dump(by_alias=True, exclude_none=True)
    value.pop("additional_properties", None)
    if isinstance(value.get("k"), dict):
        value["k"].pop("additional_properties", None)
    return value


async def stream(args, sdk):
    connection = await sdk.websocket_streams.create_connection()
    first, second = args.symbols
    try:
        if args.market == "usdm":
            kline = connection.kline_candlestick_streams
            continuous = await connection.continuous_contract_kline_candlestick_streams(
                pair=first.lower(), contract_type="perpetual", interval=args.interval
            )
            continuous.on("message", lambda message: event(as_dict(message)))
        else:
            kline = connection.kline
        for symbol in (first, second):
            handle = await kline(symbol=symbol.lower(), interval=args.interval)
            handle.on("message", lambda message: event(as_dict(message)))
        await asyncio.sleep(args.seconds)
        listed = await connection.list_subscribe()
        if not isinstance(listed.get("id"), str) or len(listed["result"]) < 2:
            raise RuntimeError(f"LIST_SUBSCRIPTIONS answered {listed}")
    finally:
        await connection.close_connection()


def main():
    args = arguments(__doc__.splitlines()[0])
    sdk = client(args)
    asyncio.run(stream(args, sdk))
    for symbol in args.symbols:
        if args.market == "usdm":
            response = sdk.rest_api.kline_candlestick_data(symbol=symbol, interval=args.interval, limit=5)
        else:
            response = sdk.rest_api.klines(symbol=symbol, interval=args.interval, limit=5)
        rest_rows(symbol, args.interval, response.data())


if __name__ == "__main__":
    main()
