//! What the simulator's parts exchange: trades, symbols, and the faults to inject.

use std::time::Duration;

/// One trade the simulator publishes, in exact integers like the engine's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimTrade {
    /// Index into the market's symbol list ([`SymbolSpec`]s).
    pub symbol: u32,
    /// Aggregate trade id, consecutive per symbol.
    pub agg_id: i64,
    /// Price in units of 1e-8, on the symbol's tick grid.
    pub price: i64,
    /// Quantity in units of 1e-8, on the symbol's step grid.
    pub quantity: i64,
    /// First raw trade id; raw ids are consecutive per symbol across aggregates.
    pub first_trade_id: i64,
    /// Last raw trade id.
    pub last_trade_id: i64,
    /// Trade time in ms since the epoch.
    pub time_ms: i64,
    /// Buyer was the maker.
    pub is_buyer_maker: bool,
}

impl SimTrade {
    /// The trade as the engine takes it, published with `event_time_ms`.
    pub fn payload(&self, event_time_ms: i64) -> crate::trade::AggTradePayload {
        crate::trade::AggTradePayload {
            symbol: self.symbol,
            is_buyer_maker: self.is_buyer_maker,
            price: self.price,
            quantity: self.quantity,
            agg_id: self.agg_id,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
            trade_time_ms: self.time_ms,
            event_time_ms,
        }
    }
}

/// A listed symbol and how its numbers are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolSpec {
    /// Exchange name, e.g. `BTCUSDT`.
    pub name: String,
    /// Fractional digits of prices (the tick size is 10^-price_decimals).
    pub price_decimals: u32,
    /// Fractional digits of quantities.
    pub quantity_decimals: u32,
    /// When the symbol becomes listed (ms since the epoch); `None` = listed from the start.
    pub listed_at_ms: Option<i64>,
}

/// Where trades come from: a synthetic market or a replayed file.
pub trait MarketSource: Send {
    /// Every symbol the source will ever trade, including ones listed later.
    fn symbols(&self) -> &[SymbolSpec];
    /// Appends to `out` the trades due at or before `now_ms`, in publication order (agg-id order
    /// per symbol). Returns false once the source has nothing more to send.
    fn poll(&mut self, now_ms: i64, out: &mut Vec<SimTrade>) -> bool;
}

/// Faults the server injects, all off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Drop every connection this often; `close_frame` says whether a close frame is sent first.
    pub drop_every: Option<Duration>,
    /// Send a close frame before dropping.
    pub drop_with_close_frame: bool,
    /// Every this often, stop sending anything (frames, pings, pongs) for `stall_for`.
    pub stall_every: Option<Duration>,
    /// How long a stall lasts.
    pub stall_for: Duration,
    /// Garbage frames per second per connection (broken JSON, binary, bad numbers, unknown symbols).
    pub garbage_per_s: u32,
    /// Send every Nth data frame twice (0 = never).
    pub duplicate_every: u32,
    /// Every this often, send one frame larger than any sane limit (2 MiB).
    pub oversized_every: Option<Duration>,
    /// Give each connection its own drop and stall periods, between half and one and a half of
    /// `drop_every` and `stall_every`, so connections opened together do not fail together.
    pub spread: bool,
    /// Take `drop_every` and `stall_every` for the whole server instead of per connection: each
    /// drop or stall hits the next open connection round robin, and never while another is
    /// under way (a dropped connection not yet replaced, a stall not over, then a second more).
    /// Two connections carrying the same streams are then never both faulted at once.
    /// `spread` no longer applies to drops and stalls.
    pub one_at_a_time: bool,
}
