//! The market thread's handle on the server: records what is published and fans it out.

use std::sync::Arc;

use super::encode::{Form, frame, text, write_agg_trade};
use super::hub::Hub;
use super::lock::lock;
use super::stats::Counters;
use super::symbols::{MINI_TICKER_STREAM, StreamId};
use super::written::WriteKey;
use crate::sim::SimTrade;

/// Publishes trades and tickers to every subscribed connection. Cheap to clone and `Send`.
#[derive(Debug, Clone)]
pub struct Publisher {
    hub: Arc<Hub>,
}

impl Publisher {
    pub(crate) fn new(hub: Arc<Hub>) -> Publisher {
        Publisher { hub }
    }

    /// Publishes a trade: records it (history for REST, the server's own exact klines, the
    /// ticker) and queues its aggTrade frame to every connection subscribed to
    /// `<symbol lowercase>@aggTrade`. The frame is encoded at most once per form (raw and
    /// combined) and shared between subscribers; a subscriber whose queue is full is marked
    /// too slow and dropped by its own thread, never blocking this call. A trade of a symbol
    /// not yet listed lists it. A symbol index the server does not know is logged and ignored.
    /// Returns whether any connection was sent the trade. When write stamps are on and pick
    /// the trade, each connection stamps it once its frame is written.
    pub fn publish(&self, trade: &SimTrade, event_time_ms: i64) -> bool {
        let hub = &*self.hub;
        let Some(symbol) = hub.symbols.get(trade.symbol) else {
            log::warn!(
                "sim: trade of unknown symbol index {} ignored",
                trade.symbol
            );
            return false;
        };
        Counters::bump(&hub.counters.trades_published);
        lock(&hub.market).record(trade, event_time_ms);
        let stamp = hub
            .written
            .get()
            .is_some_and(|w| w.picks(trade.last_trade_id));
        let key = stamp.then_some(WriteKey {
            symbol: trade.symbol,
            trade_id: trade.last_trade_id,
            event_ms: event_time_ms,
        });
        hub.routes
            .deliver(StreamId::AggTrade(trade.symbol), key, |form| {
                frame(form, &symbol.agg_trade_stream, |out| {
                    write_agg_trade(out, symbol, trade, event_time_ms, hub.config.market);
                })
            })
    }

    /// Records a trade the exchange made but sent to no connection (lost with a dropped
    /// connection): REST history and klines have it, no socket does.
    pub fn publish_unsent(&self, trade: &SimTrade, event_time_ms: i64) {
        Counters::bump(&self.hub.counters.trades_published);
        lock(&self.hub.market).record(trade, event_time_ms);
    }

    /// Has the longest-open connection dropped (see
    /// [`super::SimServer::drop_oldest_connection`]); false if none is open.
    pub fn drop_oldest_connection(&self) -> bool {
        self.hub.routes.drop_oldest()
    }

    /// Marks symbol `index` listed: it then appears in exchangeInfo and in tickers once it has
    /// traded. Unknown indices are ignored.
    pub fn list_symbol(&self, index: u32) {
        if let Some(listed) = lock(&self.hub.market).listed.get_mut(index as usize) {
            *listed = true;
        }
    }

    /// The most frames any open connection has queued and not yet written. A market that
    /// publishes as fast as possible should wait while this is high: a connection whose queue
    /// fills up ([`super::ServerConfig::send_queue`]) is dropped as too slow.
    pub fn backlog(&self) -> usize {
        self.hub.routes.backlog()
    }

    /// Sends one `!miniTicker@arr` frame (every listed symbol that has traded) to its
    /// subscribers; nothing when no listed symbol has traded yet. Call it about once a second.
    /// Also moves the klines closed since the last call into the REST series.
    pub fn publish_mini_tickers(&self, now_ms: i64) {
        let hub = &*self.hub;
        let mut event = Vec::new();
        let written = {
            let mut market = lock(&hub.market);
            market.klines.pull_closed();
            if !hub.routes.has_subscribers(StreamId::MiniTickers) {
                return;
            }
            market
                .tickers
                .write_event(&mut event, &hub.symbols, &market.listed, now_ms)
        };
        if written == 0 {
            return;
        }
        let event = text(event);
        hub.routes
            .deliver(StreamId::MiniTickers, None, |form| match form {
                Form::Raw => event.clone(),
                Form::Combined => frame(form, MINI_TICKER_STREAM, |out| {
                    out.extend_from_slice(event.as_bytes());
                }),
            });
    }
}
