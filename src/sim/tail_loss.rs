//! A trailing loss, staged on request: a symbol's last trades reach the exchange's REST
//! history but no socket, the connection drops right after them (or stays up, having lost
//! them all the same), and the symbol trades no more. A client then has no later agg id to
//! show it the loss: only a tail check finds it.

use super::SimTrade;

/// The loss to stage (see [`crate::sim::simulation::Simulation::lose_tail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailLoss {
    /// The symbol whose last trades are lost.
    pub symbol: u32,
    /// How many trades after its last published one the exchange makes without sending them.
    pub unsent: usize,
    /// Silence every symbol from then on, not only this one: nothing trades any more.
    pub silence_all: bool,
    /// Drop the oldest connection right after the lost trades; without, no reconnect tells the
    /// client anything happened.
    pub drop_connection: bool,
}

/// Which symbols trade no more, and each symbol's last trade, kept by the market thread.
#[derive(Debug)]
pub(crate) struct Silence {
    silenced: Vec<bool>,
    all: bool,
    last: Vec<Option<SimTrade>>,
}

impl Silence {
    /// Nothing silenced among `symbols` symbols.
    pub(crate) fn new(symbols: usize) -> Silence {
        Silence {
            silenced: vec![false; symbols],
            all: false,
            last: vec![None; symbols],
        }
    }

    /// True unless the trade's symbol was silenced.
    pub(crate) fn keeps(&self, trade: &SimTrade) -> bool {
        !self.all
            && !self
                .silenced
                .get(trade.symbol as usize)
                .copied()
                .unwrap_or(false)
    }

    /// Notes a trade published.
    pub(crate) fn saw(&mut self, trade: &SimTrade) {
        if let Some(last) = self.last.get_mut(trade.symbol as usize) {
            *last = Some(*trade);
        }
    }

    /// Silences what `loss` says and returns the trades its symbol makes unsent, at `now_ms`:
    /// each one raw trade at the last price, following its last published trade (none if it
    /// never traded).
    pub(crate) fn stage(&mut self, loss: &TailLoss, now_ms: i64) -> Vec<SimTrade> {
        self.all |= loss.silence_all;
        let index = loss.symbol as usize;
        if let Some(silenced) = self.silenced.get_mut(index) {
            *silenced = true;
        }
        let Some(Some(mut trade)) = self.last.get(index).copied() else {
            return Vec::new();
        };
        let lost: Vec<SimTrade> = (0..loss.unsent)
            .map(|_| {
                trade.agg_id += 1;
                trade.first_trade_id = trade.last_trade_id + 1;
                trade.last_trade_id = trade.first_trade_id;
                trade.time_ms = trade.time_ms.max(now_ms);
                trade.is_buyer_maker = !trade.is_buyer_maker;
                trade
            })
            .collect();
        self.last[index] = lost.last().copied().or(self.last[index]);
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(symbol: u32, agg_id: i64) -> SimTrade {
        SimTrade {
            symbol,
            agg_id,
            price: 500,
            quantity: 3,
            first_trade_id: agg_id * 2,
            last_trade_id: agg_id * 2 + 1,
            time_ms: 1_000,
            is_buyer_maker: false,
        }
    }

    #[test]
    fn the_lost_trades_follow_the_last_and_the_symbol_goes_quiet() {
        let mut silence = Silence::new(3);
        silence.saw(&trade(1, 7));
        let loss = TailLoss {
            symbol: 1,
            unsent: 2,
            silence_all: false,
            drop_connection: true,
        };
        let lost = silence.stage(&loss, 5_000);
        let ids: Vec<(i64, i64, i64, i64)> = lost
            .iter()
            .map(|t| (t.agg_id, t.first_trade_id, t.last_trade_id, t.time_ms))
            .collect();
        assert_eq!(ids, [(8, 16, 16, 5_000), (9, 17, 17, 5_000)]);
        assert!(!silence.keeps(&trade(1, 10)));
        assert!(silence.keeps(&trade(0, 10)));
        let never = TailLoss {
            symbol: 2,
            unsent: 2,
            silence_all: true,
            drop_connection: false,
        };
        assert!(silence.stage(&never, 5_000).is_empty());
        assert!(!silence.keeps(&trade(0, 10)));
    }
}
