//! The trade every stage of the pipeline shares: small, `Copy`, plain numbers only.

/// One Binance aggTrade, reduced to exact integers so it can cross a ring by value.
///
/// Prices and quantities are fixed-point in units of 1e-8 (see [`crate::decimal`]); times are
/// milliseconds since the Unix epoch. The symbol is a dense index assigned by whoever owns the
/// symbol table (the io thread live, the reader in replay), never text.
///
/// Aligned to a 64-byte cache line (its size anyway), so a ring slot or an array element never
/// straddles two lines: one trade, one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(align(64))]
pub struct AggTradePayload {
    /// Dense global symbol index.
    pub symbol: u32,
    /// True when the buyer was the maker, i.e. the aggressor sold (Binance field `m`).
    pub is_buyer_maker: bool,
    /// Price in units of 1e-8.
    pub price: i64,
    /// Quantity in units of 1e-8.
    pub quantity: i64,
    /// Aggregate trade id (`a`): consecutive per symbol, so a jump is a gap.
    pub agg_id: i64,
    /// First raw trade id covered by this aggregate (`f`).
    pub first_trade_id: i64,
    /// Last raw trade id covered by this aggregate (`l`).
    pub last_trade_id: i64,
    /// Trade time in ms (`T`): decides which period the trade belongs to.
    pub trade_time_ms: i64,
    /// Event time in ms (`E`): when the exchange published it, for latency accounting.
    pub event_time_ms: i64,
}

impl AggTradePayload {
    /// Number of raw trades this aggregate stands for; Binance's kline count sums these.
    #[inline]
    pub fn trade_count(&self) -> i64 {
        self.last_trade_id - self.first_trade_id + 1
    }

    /// Checks the invariants the aggregator relies on, so bad input is counted and dropped
    /// instead of corrupting sums: a positive price, a non-negative quantity and `f <= l`.
    #[inline]
    pub fn is_valid(&self) -> bool {
        // Bitwise `&`: one branch for the caller instead of three.
        (self.price > 0) & (self.quantity >= 0) & (self.first_trade_id <= self.last_trade_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<AggTradePayload>(), 64);
        assert_eq!(std::mem::align_of::<AggTradePayload>(), 64);
    }

    #[test]
    fn trade_count_is_inclusive_range() {
        let t = AggTradePayload {
            first_trade_id: 10,
            last_trade_id: 12,
            ..Default::default()
        };
        assert_eq!(t.trade_count(), 3);
    }

    #[test]
    fn validity_rejects_inverted_trade_ids_and_bad_numbers() {
        let ok = AggTradePayload {
            price: 1,
            quantity: 0,
            first_trade_id: 5,
            last_trade_id: 5,
            ..Default::default()
        };
        assert!(ok.is_valid());
        assert!(
            !AggTradePayload {
                first_trade_id: 6,
                ..ok
            }
            .is_valid()
        );
        assert!(!AggTradePayload { price: 0, ..ok }.is_valid());
        assert!(!AggTradePayload { quantity: -1, ..ok }.is_valid());
    }
}
