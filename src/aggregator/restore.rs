//! Why a stored open kline could not be restored ([`super::Shard::restore_open`]).

/// Why a stored kline was not restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreError {
    /// The symbol or interval index is outside the shard.
    OutOfRange,
    /// The slot has already seen a trade: live state wins over stored state.
    AlreadyLive,
    /// The kline is not a period of the slot's interval (wrong open or close time).
    NotAPeriod,
}

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RestoreError::OutOfRange => "symbol or interval outside the shard",
            RestoreError::AlreadyLive => "the slot already has live trades",
            RestoreError::NotAPeriod => "the kline's times are not a period of its interval",
        })
    }
}

impl std::error::Error for RestoreError {}
