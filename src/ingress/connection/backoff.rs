//! Reconnect delays: exponential from a minimum to a maximum, jittered so that many connections
//! dropped together (an exchange restart) do not come back in lockstep, and reset once a
//! connection has proved stable or outlived the delay before it many times over.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of uniform numbers in `[0, 1)`; injectable so tests get a known sequence.
pub trait Jitter {
    /// The next number in `[0, 1)`.
    fn next_unit(&mut self) -> f64;
}

impl<F: FnMut() -> f64> Jitter for F {
    fn next_unit(&mut self) -> f64 {
        self()
    }
}

/// SplitMix64: tiny, good enough for jitter, no dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded from the clock and the seed's own address, so connections differ.
    pub fn from_clock() -> SplitMix64 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut rng = SplitMix64(nanos);
        let address = &rng as *const SplitMix64 as u64;
        rng.0 ^= address.rotate_left(32);
        rng
    }
}

impl Jitter for SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits make every f64 in [0, 1) equally likely.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A connection that stayed up this many times the delay before it was not flapping: the server
/// ended a working connection, and the next reconnect comes after `min` again.
pub const OUTLIVED_FACTOR: u32 = 10;

/// Exponential backoff with jitter.
///
/// The n-th consecutive delay (n from 0) is drawn uniformly from `[c/2, c]` with
/// `c = min * 2^n` capped at `max`, then clamped into `[min, max]`: the first retry comes after
/// `min`, later ones spread out, none waits longer than `max`.
///
/// A connection that came up counts as one more failure unless it stayed up `stable_after`, or
/// [`OUTLIVED_FACTOR`] times the delay waited before it: a server that closes each connection
/// soon after accepting it is met with ever longer delays, while one that ends a working
/// connection now and then (a drop every few seconds in a soak, a load balancer's cut) is
/// reconnected to within `min` every time, so the copy of its streams on another connection is
/// never left alone for long.
#[derive(Debug, Clone)]
pub struct Backoff<J = SplitMix64> {
    min: Duration,
    max: Duration,
    stable_after: Duration,
    failures: u32,
    connected_since: Option<Instant>,
    /// The delay last handed out (before the attempt that made the current connection).
    last_delay: Duration,
    jitter: J,
}

impl Backoff<SplitMix64> {
    /// A backoff with clock-seeded jitter.
    pub fn new(min: Duration, max: Duration, stable_after: Duration) -> Self {
        Backoff::with_jitter(min, max, stable_after, SplitMix64::from_clock())
    }
}

impl<J: Jitter> Backoff<J> {
    /// A backoff drawing its jitter from `jitter`.
    pub fn with_jitter(min: Duration, max: Duration, stable_after: Duration, jitter: J) -> Self {
        Backoff {
            min,
            max: max.max(min),
            stable_after,
            failures: 0,
            connected_since: None,
            last_delay: Duration::ZERO,
            jitter,
        }
    }

    /// Records that a connection came up at `now`.
    pub fn connected(&mut self, now: Instant) {
        self.connected_since = Some(now);
    }

    /// Consecutive failures so far (failed attempts, and connects that lasted neither
    /// `stable_after` nor [`OUTLIVED_FACTOR`] times the delay before them).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The delay before the next attempt, after a disconnect or a failed attempt at `now`. A
    /// connection that stayed up `stable_after`, or [`OUTLIVED_FACTOR`] times the last delay,
    /// resets the sequence first.
    pub fn next_delay(&mut self, now: Instant) -> Duration {
        if let Some(since) = self.connected_since.take() {
            let up = now.saturating_duration_since(since);
            let outlived = self.last_delay.saturating_mul(OUTLIVED_FACTOR);
            if up >= self.stable_after || up >= outlived {
                self.failures = 0;
            }
        }
        // 2^31 * min overflows any sensible range: stop doubling long before.
        let doublings = self.failures.min(31);
        self.failures = self.failures.saturating_add(1);
        let ceiling = self
            .min
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |c| c.min(self.max));
        let unit = self.jitter.next_unit().clamp(0.0, 1.0);
        let delay = ceiling.mul_f64(0.5 + 0.5 * unit).clamp(self.min, self.max);
        self.last_delay = delay;
        delay
    }

    /// Forgets the failures, as after a stable connection.
    pub fn reset(&mut self) {
        self.failures = 0;
        self.connected_since = None;
        self.last_delay = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn fixed(unit: f64) -> impl FnMut() -> f64 {
        move || unit
    }

    #[test]
    fn doubles_from_min_and_caps_at_max() {
        let mut backoff = Backoff::with_jitter(100 * MS, 1000 * MS, 60_000 * MS, fixed(0.999_999));
        let now = Instant::now();
        let delays: Vec<u128> = (0..7)
            .map(|_| backoff.next_delay(now).as_millis())
            .collect();
        assert_eq!(delays, [100, 199, 399, 799, 999, 999, 999]);
    }

    #[test]
    fn jitter_spreads_each_step_between_half_and_full() {
        let mut low = Backoff::with_jitter(100 * MS, 30_000 * MS, 60_000 * MS, fixed(0.0));
        let mut high = Backoff::with_jitter(100 * MS, 30_000 * MS, 60_000 * MS, fixed(0.999_999));
        let now = Instant::now();
        for step in 0..12u32 {
            let (lo, hi) = (low.next_delay(now), high.next_delay(now));
            assert!(lo <= hi, "step {step}: {lo:?} > {hi:?}");
            assert!(
                lo >= 100 * MS && hi <= 30_000 * MS,
                "step {step} out of bounds"
            );
            if step > 0 && hi < 30_000 * MS {
                // Half of the ceiling at the bottom, the ceiling at the top.
                assert_eq!(lo.as_millis() * 2, (hi + MS).as_millis());
            }
        }
    }

    #[test]
    fn a_varying_source_stays_bounded_and_never_overflows() {
        let mut state = 0u32;
        let source = move || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            f64::from(state >> 8) / f64::from(1u32 << 24)
        };
        let mut backoff = Backoff::with_jitter(20 * MS, 500 * MS, 1000 * MS, source);
        let now = Instant::now();
        for _ in 0..200 {
            let delay = backoff.next_delay(now);
            assert!((20 * MS..=500 * MS).contains(&delay), "{delay:?}");
        }
        assert_eq!(backoff.failures(), 200);
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        let mut backoff = Backoff::with_jitter(100 * MS, 1000 * MS, 60_000 * MS, fixed(7.0));
        let now = Instant::now();
        assert_eq!(backoff.next_delay(now), 100 * MS);
        assert_eq!(backoff.next_delay(now), 200 * MS);
        let mut negative = Backoff::with_jitter(100 * MS, 1000 * MS, 60_000 * MS, fixed(-3.0));
        negative.next_delay(now);
        assert_eq!(negative.next_delay(now), 100 * MS);
    }

    #[test]
    fn a_stable_connection_resets_the_sequence_and_a_short_one_does_not() {
        let mut backoff =
            Backoff::with_jitter(100 * MS, 30_000 * MS, 60_000 * MS, fixed(0.999_999));
        let start = Instant::now();
        for _ in 0..5 {
            backoff.next_delay(start);
        }
        // Up for 10 s only: the sequence carries on.
        backoff.connected(start);
        assert_eq!(backoff.next_delay(start + 10_000 * MS).as_millis(), 3199);
        // Up for a full minute: back to the minimum.
        backoff.connected(start);
        assert_eq!(backoff.next_delay(start + 60_000 * MS), 100 * MS);
        assert_eq!(backoff.next_delay(start + 60_000 * MS).as_millis(), 199);
        backoff.reset();
        assert_eq!(backoff.next_delay(start), 100 * MS);
    }

    #[test]
    fn a_connection_that_outlives_its_delay_many_times_over_reconnects_at_the_minimum() {
        // Dropped by the server every 4 s, far short of `stable_after`: each reconnect still
        // comes after the minimum, never after a delay that grows drop by drop.
        let mut backoff =
            Backoff::with_jitter(100 * MS, 30_000 * MS, 60_000 * MS, fixed(0.999_999));
        let mut now = Instant::now();
        for _ in 0..20 {
            backoff.connected(now);
            now += 4_000 * MS;
            assert_eq!(backoff.next_delay(now), 100 * MS);
        }
        // After failed attempts escalated the delay to 1.6 s, a connection up 10 s (not ten
        // times 1.6 s) carries the sequence on; one up 16 s resets it.
        for _ in 0..4 {
            backoff.next_delay(now);
        }
        assert_eq!(backoff.failures(), 5);
        backoff.connected(now);
        now += 10_000 * MS;
        assert_eq!(backoff.next_delay(now).as_millis(), 3199);
        backoff.connected(now);
        now += 32_000 * MS;
        assert_eq!(backoff.next_delay(now), 100 * MS);
    }

    #[test]
    fn a_server_that_closes_every_connection_at_once_meets_growing_delays() {
        let mut backoff =
            Backoff::with_jitter(100 * MS, 30_000 * MS, 60_000 * MS, fixed(0.999_999));
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..10 {
            let delay = backoff.next_delay(now);
            delays.push(delay.as_millis());
            now += delay;
            // Accepted, then closed 50 ms later: up less than ten times the delay.
            backoff.connected(now);
            now += 50 * MS;
        }
        assert_eq!(
            delays,
            [100, 199, 399, 799, 1599, 3199, 6399, 12799, 25599, 29999]
        );
    }

    #[test]
    fn clock_seeded_jitter_is_in_the_unit_interval_and_varies() {
        let mut rng = SplitMix64::from_clock();
        let draws: Vec<f64> = (0..1000).map(|_| rng.next_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
    }
}
