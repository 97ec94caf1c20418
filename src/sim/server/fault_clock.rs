//! When each injected fault is due on one connection. Every schedule starts at the
//! connection's opening, so each connection sees the same faults at the same ages. Drops and
//! stalls taken in turns ([`Faults::one_at_a_time`]) are scheduled for the whole server by
//! [`super::fault_turns::FaultTurns`] instead; a stall it orders is started here with
//! [`FaultClock::stall_until`].

use std::time::{Duration, Instant};

use crate::sim::Faults;

/// Most garbage frames sent at one look at the clock, so a high rate after a pause does not
/// turn into one long burst.
const MAX_GARBAGE_BURST: u32 = 16;

/// What the stall schedule says right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stall {
    /// Not stalled.
    No,
    /// A stall begins now and lasts until then.
    Began(Instant),
    /// A stall already under way lasts until then.
    Until(Instant),
}

/// One connection's fault timers.
#[derive(Debug)]
pub(crate) struct FaultClock {
    drop_at: Option<Instant>,
    next_stall: Option<Instant>,
    stall_every: Duration,
    stall_for: Duration,
    stalled_until: Option<Instant>,
    /// A stall ordered from outside, begun at the next look.
    ordered_stall: Option<Instant>,
    garbage_every: Option<Duration>,
    next_garbage: Instant,
    oversized_every: Option<Duration>,
    next_oversized: Instant,
}

impl FaultClock {
    /// The timers of `faults` for a connection opened at `opened`; `connection` (its number)
    /// picks its own periods when the faults are spread.
    pub(crate) fn new(faults: &Faults, opened: Instant, connection: u64) -> FaultClock {
        let spread = |every: Duration| {
            if !faults.spread {
                return every;
            }
            // A fixed scramble of the connection number: the same run spreads the same way.
            let mixed = connection.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54;
            every.mul_f64(0.5 + mixed as f64 / 1024.0)
        };
        let garbage_every =
            (faults.garbage_per_s > 0).then(|| Duration::from_secs(1) / faults.garbage_per_s);
        let stall_every = faults
            .stall_every
            .filter(|_| !faults.stall_for.is_zero() && !faults.one_at_a_time);
        let drop_every = faults.drop_every.filter(|_| !faults.one_at_a_time);
        FaultClock {
            drop_at: drop_every.map(|every| opened + spread(every)),
            next_stall: stall_every.map(|every| opened + spread(every)),
            stall_every: stall_every.map(spread).unwrap_or_default(),
            stall_for: faults.stall_for,
            stalled_until: None,
            ordered_stall: None,
            garbage_every,
            next_garbage: opened + garbage_every.unwrap_or_default(),
            oversized_every: faults.oversized_every,
            next_oversized: opened + faults.oversized_every.unwrap_or_default(),
        }
    }

    /// True once the connection is due to be dropped by the `drop_every` fault.
    pub(crate) fn drop_due(&self, now: Instant) -> bool {
        self.drop_at.is_some_and(|at| now >= at)
    }

    /// Stalls the connection until `until`, from the next [`FaultClock::stall`] on.
    pub(crate) fn stall_until(&mut self, until: Instant) {
        self.ordered_stall = Some(until);
    }

    /// Whether the connection is stalled at `now`, starting a stall when one is due.
    pub(crate) fn stall(&mut self, now: Instant) -> Stall {
        if let Some(until) = self.ordered_stall.take()
            && now < until
        {
            self.stalled_until = Some(until);
            return Stall::Began(until);
        }
        if let Some(until) = self.stalled_until {
            if now < until {
                return Stall::Until(until);
            }
            self.stalled_until = None;
            // Faults that came due during the stall are skipped, not sent in a burst after it.
            self.next_garbage = self.next_garbage.max(now);
            self.next_oversized = self.next_oversized.max(now);
        }
        match self.next_stall {
            Some(at) if now >= at => {
                let until = now + self.stall_for;
                self.stalled_until = Some(until);
                // Stalls start on the `stall_every` grid; a start that falls inside this stall
                // (or right at its end) is skipped, so sending always resumes in between.
                let mut next = at + self.stall_every;
                while next <= until {
                    next += self.stall_every;
                }
                self.next_stall = Some(next);
                Stall::Began(until)
            }
            _ => Stall::No,
        }
    }

    /// How many garbage frames are due at `now` (each one is then considered sent).
    pub(crate) fn garbage_due(&mut self, now: Instant) -> u32 {
        let Some(every) = self.garbage_every else {
            return 0;
        };
        let mut due = 0;
        while self.next_garbage <= now && due < MAX_GARBAGE_BURST {
            self.next_garbage += every;
            due += 1;
        }
        due
    }

    /// True when an oversized frame is due at `now` (it is then considered sent).
    pub(crate) fn oversized_due(&mut self, now: Instant) -> bool {
        match self.oversized_every {
            Some(every) if now >= self.next_oversized => {
                self.next_oversized = (self.next_oversized + every).max(now);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_start_at_the_opening() {
        let opened = Instant::now();
        let ms = |n| opened + Duration::from_millis(n);
        let faults = Faults {
            drop_every: Some(Duration::from_millis(500)),
            stall_every: Some(Duration::from_millis(100)),
            stall_for: Duration::from_millis(30),
            garbage_per_s: 100,
            oversized_every: Some(Duration::from_millis(200)),
            ..Faults::default()
        };
        let mut clock = FaultClock::new(&faults, opened, 1);
        assert!(!clock.drop_due(ms(499)));
        assert!(clock.drop_due(ms(500)));
        assert_eq!(clock.stall(ms(99)), Stall::No);
        assert_eq!(clock.stall(ms(100)), Stall::Began(ms(130)));
        assert_eq!(clock.stall(ms(120)), Stall::Until(ms(130)));
        assert_eq!(clock.stall(ms(130)), Stall::No);
        assert_eq!(clock.stall(ms(200)), Stall::Began(ms(230)));
        // Garbage due during a stall is skipped, not saved up.
        assert_eq!(clock.stall(ms(230)), Stall::No);
        assert_eq!(clock.garbage_due(ms(230)), 1);
        // A stall longer than the period skips the starts inside it.
        let long = Faults {
            stall_for: Duration::from_millis(250),
            ..faults.clone()
        };
        let mut clock = FaultClock::new(&long, opened, 1);
        assert_eq!(clock.stall(ms(100)), Stall::Began(ms(350)));
        assert_eq!(clock.stall(ms(350)), Stall::No);
        assert_eq!(clock.stall(ms(399)), Stall::No);
        assert_eq!(clock.stall(ms(400)), Stall::Began(ms(650)));
        let mut clock = FaultClock::new(&faults, opened, 1);
        assert_eq!(clock.garbage_due(ms(5)), 0);
        assert_eq!(clock.garbage_due(ms(35)), 3);
        assert!(!clock.oversized_due(ms(199)));
        assert!(clock.oversized_due(ms(200)));
        assert!(!clock.oversized_due(ms(300)));
    }

    #[test]
    fn spread_faults_give_each_connection_its_own_period() {
        let opened = Instant::now();
        let faults = Faults {
            drop_every: Some(Duration::from_secs(10)),
            spread: true,
            ..Faults::default()
        };
        let drop_at = |connection| {
            let clock = FaultClock::new(&faults, opened, connection);
            clock.drop_at.expect("a drop").duration_since(opened)
        };
        let periods: Vec<Duration> = (1..=8).map(drop_at).collect();
        assert!(
            periods
                .iter()
                .all(|p| *p >= Duration::from_secs(5) && *p < Duration::from_secs(15)),
            "{periods:?}"
        );
        assert!(periods.windows(2).all(|w| w[0] != w[1]), "{periods:?}");
        assert_eq!(
            drop_at(3),
            drop_at(3),
            "the same connection, the same period"
        );
    }

    #[test]
    fn faults_taken_in_turns_leave_drops_and_stalls_to_the_orders() {
        let opened = Instant::now();
        let ms = |n| opened + Duration::from_millis(n);
        let faults = Faults {
            drop_every: Some(Duration::from_millis(100)),
            stall_every: Some(Duration::from_millis(100)),
            stall_for: Duration::from_millis(30),
            garbage_per_s: 100,
            one_at_a_time: true,
            ..Faults::default()
        };
        let mut clock = FaultClock::new(&faults, opened, 1);
        assert!(!clock.drop_due(ms(1000)));
        assert_eq!(clock.stall(ms(1000)), Stall::No);
        // Garbage stays per connection.
        assert_eq!(clock.garbage_due(ms(1000)), MAX_GARBAGE_BURST);
        clock.stall_until(ms(1050));
        assert_eq!(clock.stall(ms(1001)), Stall::Began(ms(1050)));
        assert_eq!(clock.stall(ms(1049)), Stall::Until(ms(1050)));
        assert_eq!(clock.stall(ms(1050)), Stall::No);
        // An order picked up after its end is no stall at all.
        clock.stall_until(ms(1100));
        assert_eq!(clock.stall(ms(1100)), Stall::No);
    }

    #[test]
    fn no_faults_never_fire() {
        let opened = Instant::now();
        let mut clock = FaultClock::new(&Faults::default(), opened, 1);
        let later = opened + Duration::from_secs(3600);
        assert!(!clock.drop_due(later));
        assert_eq!(clock.stall(later), Stall::No);
        assert_eq!(clock.garbage_due(later), 0);
        assert!(!clock.oversized_due(later));
    }
}
