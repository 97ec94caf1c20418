//! The points on a trade's way from the exchange to a consumer where latency is stamped.

/// A point a trade passes, in path order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// The simulator handed the trade's frame to its connections.
    SimWrite,
    /// An io thread has the frame parsed (the parse of one frame takes about 0.1 µs).
    FrameRead,
    /// The trade's payload is in its shard's ring (the baseline: sent on its channel).
    Pushed,
    /// The aggregator has applied the trade to its klines.
    Updated,
    /// A consumer has received a kline containing the trade.
    Delivered,
}

impl Stage {
    /// Every stage, in path order.
    pub const ALL: [Stage; 5] = [
        Stage::SimWrite,
        Stage::FrameRead,
        Stage::Pushed,
        Stage::Updated,
        Stage::Delivered,
    ];

    /// The name used in stamp files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::SimWrite => "sim_write",
            Stage::FrameRead => "frame_read",
            Stage::Pushed => "pushed",
            Stage::Updated => "updated",
            Stage::Delivered => "delivered",
        }
    }

    /// The stage named `name` (see [`Stage::name`]).
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Position in [`Stage::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_path_order() {
        for (i, stage) in Stage::ALL.into_iter().enumerate() {
            assert_eq!(Stage::from_name(stage.name()), Some(stage));
            assert_eq!(stage.index(), i);
        }
        assert_eq!(Stage::from_name("read"), None);
    }
}
