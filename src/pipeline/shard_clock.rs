//! The time a shard closes periods by: the wall clock, except right after the shard's thread
//! could not run for a while (the process was stopped, the machine paused or starved).
//!
//! The exchange went on trading meanwhile, and the trades it sent wait in the sockets' buffers
//! until the io threads read them. Closing the periods of the pause by the wall clock would
//! close them before those trades are read, and the trades would come too late to count. So
//! after a pause the clock follows the newest trade the shard has applied, as the backlog is
//! read, until it is within [`CAUGHT_UP_MS`] of the wall clock again; a quiet shard whose
//! trades never catch up goes back to the wall clock once the pause's own length has passed
//! again (at most [`MAX_CATCH_UP_MS`]).

/// A shard loop that did not come round for this long was not running: twice the longest park
/// (`threads.park_us` is at most 1 s).
pub const STALL_MS: i64 = 2_000;

/// Trades this close to the wall clock mean the backlog of a pause has been read.
pub const CAUGHT_UP_MS: i64 = 500;

/// The longest a shard follows its trades instead of the wall clock after a pause.
pub const MAX_CATCH_UP_MS: i64 = 60_000;

/// A shard thread's clock (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct ShardClock {
    /// The wall clock at the last call, if any.
    last_wall_ms: Option<i64>,
    catch_up: Option<CatchUp>,
}

/// Following the trades after a pause.
#[derive(Debug, Clone, Copy)]
struct CatchUp {
    /// The clock: where the pause began, then the newest trade applied.
    held_ms: i64,
    /// The wall clock from which the shard goes back to it whatever its trades say.
    until_wall_ms: i64,
}

impl ShardClock {
    /// The time to tick the shard with, given the wall clock and the newest time the shard
    /// knows of (its newest trade, or the last time it was ticked with).
    pub fn now(&mut self, wall_ms: i64, newest_ms: i64) -> i64 {
        let last = self.last_wall_ms.replace(wall_ms);
        if let Some(last) = last
            && wall_ms - last > STALL_MS
        {
            let paused = wall_ms - last;
            log::warn!(
                "aggregator: the shard thread did not run for {paused} ms; its periods close \
                 by the trades read until they catch up with the clock"
            );
            let held_ms = self.catch_up.map_or(last, |c| c.held_ms);
            self.catch_up = Some(CatchUp {
                held_ms,
                until_wall_ms: wall_ms + paused.min(MAX_CATCH_UP_MS),
            });
        }
        let Some(catch_up) = &mut self.catch_up else {
            return wall_ms;
        };
        catch_up.held_ms = catch_up.held_ms.max(newest_ms);
        if newest_ms >= wall_ms - CAUGHT_UP_MS || wall_ms >= catch_up.until_wall_ms {
            self.catch_up = None;
            return wall_ms;
        }
        catch_up.held_ms
    }

    /// True while the clock follows the trades after a pause.
    #[cfg(test)]
    fn catching_up(&self) -> bool {
        self.catch_up.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_with_the_wall_clock_while_the_thread_runs() {
        let mut clock = ShardClock::default();
        for wall in (0..10_000).step_by(700) {
            assert_eq!(clock.now(wall, wall - 50), wall);
        }
        assert!(!clock.catching_up());
    }

    #[test]
    fn after_a_pause_follows_the_trades_read_until_they_catch_up() {
        let mut clock = ShardClock::default();
        assert_eq!(clock.now(100_000, 99_990), 100_000);
        // Stopped for 20 s: nothing read yet, the clock stays where the pause began.
        assert_eq!(clock.now(120_000, 100_000), 100_000);
        assert!(clock.catching_up());
        // The backlog is read: the clock follows its trades.
        assert_eq!(clock.now(120_010, 104_000), 104_000);
        assert_eq!(clock.now(120_020, 115_000), 115_000);
        // Never backwards, whatever a slower connection's trades say.
        assert_eq!(clock.now(120_030, 110_000), 115_000);
        // Caught up: the wall clock again.
        assert_eq!(clock.now(120_040, 119_600), 120_040);
        assert!(!clock.catching_up());
    }

    #[test]
    fn a_quiet_shard_goes_back_to_the_wall_clock_after_the_pause_once_more() {
        let mut clock = ShardClock::default();
        clock.now(100_000, 90_000);
        assert_eq!(clock.now(103_000, 100_000), 100_000);
        for wall in [104_000, 105_000, 105_900] {
            assert_eq!(clock.now(wall, 100_000), 100_000);
        }
        assert_eq!(clock.now(106_000, 100_000), 106_000);
        assert!(!clock.catching_up());
        // A pause of hours is followed for a minute at most.
        clock.now(10_000_000, 106_000);
        for wall in (10_001_000..10_060_000).step_by(1_000) {
            assert_eq!(clock.now(wall, 106_000), 106_000);
        }
        assert_eq!(clock.now(10_060_000, 106_000), 10_060_000);
    }

    #[test]
    fn a_second_pause_while_catching_up_keeps_the_first_ones_start() {
        let mut clock = ShardClock::default();
        clock.now(100_000, 100_000);
        assert_eq!(clock.now(105_000, 101_000), 101_000);
        assert_eq!(clock.now(110_000, 102_000), 102_000);
        assert!(clock.catching_up());
    }
}
