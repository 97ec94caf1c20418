//! The time a shard closes periods by: the wall clock, except right after the shard's thread
//! could not run for a while (the process was stopped, the machine paused or starved).
//!
//! The exchange went on trading meanwhile, and the trades it sent wait in the sockets' buffers
//! until the io threads read them. Closing the periods of the pause by the wall clock would
//! close them before those trades are read, and the trades would come too late to count. So
//! after a pause the clock follows the trades read, ring by ring: it is the newest trade time
//! of the ring furthest behind, among the rings that were delivering before the pause (each
//! connection's backlog is read at its own pace). Once that is within [`CAUGHT_UP_MS`] of the
//! wall clock, or the pause's own length has passed again (at most [`MAX_CATCH_UP_MS`]: a
//! connection may have died meanwhile), the wall clock rules again.

/// A shard loop that did not come round for this long was not running: twice the longest park
/// (`threads.park_us` is at most 1 s).
pub const STALL_MS: i64 = 2_000;

/// Trades this close to the wall clock mean the backlog of a pause has been read.
pub const CAUGHT_UP_MS: i64 = 500;

/// The longest a shard follows its trades instead of the wall clock after a pause.
pub const MAX_CATCH_UP_MS: i64 = 60_000;

/// A ring that delivered a trade this recently before a pause is expected to bring a backlog.
pub const ACTIVE_MS: i64 = 5_000;

/// A shard thread's clock (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct ShardClock {
    /// The wall clock at the last call, if any.
    last_wall_ms: Option<i64>,
    catch_up: Option<CatchUp>,
}

/// Following the trades after a pause.
#[derive(Debug, Clone)]
struct CatchUp {
    /// The clock: where the pause began, then where the rings furthest behind have come to.
    held_ms: i64,
    /// The wall clock from which the shard goes back to it whatever its trades say.
    until_wall_ms: i64,
    /// The rings that were delivering before the pause, by index.
    active: Vec<bool>,
}

impl ShardClock {
    /// The time to tick the shard with, given the wall clock and the newest trade time each of
    /// its rings has delivered (`i64::MIN` for none yet).
    pub fn now(&mut self, wall_ms: i64, rings: &[i64]) -> i64 {
        let last = self.last_wall_ms.replace(wall_ms);
        if let Some(last) = last
            && wall_ms - last > STALL_MS
        {
            self.begin_catch_up(last, wall_ms, rings);
        }
        let Some(catch_up) = &mut self.catch_up else {
            return wall_ms;
        };
        let behind = rings
            .iter()
            .zip(&catch_up.active)
            .filter(|(_, active)| **active)
            .map(|(newest, _)| *newest)
            .min()
            .unwrap_or(wall_ms);
        catch_up.held_ms = catch_up.held_ms.max(behind);
        if behind >= wall_ms - CAUGHT_UP_MS || wall_ms >= catch_up.until_wall_ms {
            self.catch_up = None;
            return wall_ms;
        }
        catch_up.held_ms
    }

    #[cold]
    fn begin_catch_up(&mut self, last_wall_ms: i64, wall_ms: i64, rings: &[i64]) {
        let paused = wall_ms - last_wall_ms;
        log::warn!(
            "aggregator: the shard thread did not run for {paused} ms; its periods close by the \
             trades read until they catch up with the clock"
        );
        // A second pause while catching up keeps the first one's start and rings.
        let (held_ms, active) = match self.catch_up.take() {
            Some(c) => (c.held_ms, c.active),
            None => (
                last_wall_ms,
                rings
                    .iter()
                    .map(|&newest| newest >= last_wall_ms - ACTIVE_MS)
                    .collect(),
            ),
        };
        self.catch_up = Some(CatchUp {
            held_ms,
            until_wall_ms: wall_ms + paused.min(MAX_CATCH_UP_MS),
            active,
        });
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

    const NONE: i64 = i64::MIN;

    #[test]
    fn runs_with_the_wall_clock_while_the_thread_runs() {
        let mut clock = ShardClock::default();
        for wall in (0..10_000).step_by(700) {
            assert_eq!(clock.now(wall, &[wall - 50, NONE]), wall);
        }
        assert!(!clock.catching_up());
    }

    #[test]
    fn after_a_pause_follows_the_ring_furthest_behind_until_it_catches_up() {
        let mut clock = ShardClock::default();
        // Rings 0 and 1 deliver; ring 2 has been quiet for a minute.
        assert_eq!(clock.now(100_000, &[99_990, 99_980, 40_000]), 100_000);
        // Stopped for 20 s: nothing read yet, the clock stays where the pause began.
        assert_eq!(clock.now(120_000, &[99_990, 99_980, 40_000]), 100_000);
        assert!(clock.catching_up());
        // Ring 0 reads its backlog faster than ring 1: ring 1 decides.
        assert_eq!(clock.now(120_010, &[110_000, 104_000, 40_000]), 104_000);
        assert_eq!(clock.now(120_020, &[119_000, 115_000, 40_000]), 115_000);
        // Never backwards.
        assert_eq!(clock.now(120_030, &[119_100, 115_000, 40_000]), 115_000);
        // Both caught up, the quiet ring never counted: the wall clock again.
        assert_eq!(clock.now(120_040, &[119_900, 119_600, 40_000]), 120_040);
        assert!(!clock.catching_up());
    }

    #[test]
    fn a_ring_that_never_catches_up_holds_the_clock_for_the_pause_once_more() {
        let mut clock = ShardClock::default();
        clock.now(100_000, &[99_000]);
        assert_eq!(clock.now(103_000, &[99_000]), 100_000);
        for wall in [104_000, 105_000, 105_900] {
            assert_eq!(clock.now(wall, &[99_500]), 100_000);
        }
        assert_eq!(clock.now(106_000, &[99_500]), 106_000);
        assert!(!clock.catching_up());
        // A pause of hours is followed for a minute at most.
        clock.now(10_000_000, &[99_500]);
        assert!(
            !clock.catching_up(),
            "no ring delivered in the 5 s before it"
        );
        clock.now(10_000_500, &[10_000_400]);
        clock.now(20_000_000, &[10_000_400]);
        for wall in (20_001_000..20_060_000).step_by(1_000) {
            assert_eq!(clock.now(wall, &[10_000_400]), 10_000_500);
        }
        assert_eq!(clock.now(20_060_000, &[10_000_400]), 20_060_000);
    }

    #[test]
    fn a_second_pause_while_catching_up_keeps_the_first_ones_start() {
        let mut clock = ShardClock::default();
        clock.now(100_000, &[100_000]);
        assert_eq!(clock.now(105_000, &[101_000]), 101_000);
        assert_eq!(clock.now(110_000, &[102_000]), 102_000);
        assert!(clock.catching_up());
    }
}
