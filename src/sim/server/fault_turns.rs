//! Drops and stalls taken in turns ([`crate::sim::Faults::one_at_a_time`]): one schedule for the
//! whole server, each fault aimed at the next open connection round robin, and never two at
//! once. A fault lasts until its connection is back (a dropped connection replaced by a new
//! one, a stall over), then [`SETTLE`] more, before the next may begin. So a client holding two
//! copies of a stream on two connections always has one of them whole: any trade it still
//! misses is its own defect, not the schedule's.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::lock::lock;
use crate::sim::Faults;

/// After a fault has ended, how long before the next may begin: time for the replacement
/// connection's subscriptions to land and for a stalled one to catch up on its backlog.
pub(crate) const SETTLE: Duration = Duration::from_secs(1);
/// Longest wait for a dropped connection to be replaced; a client that does not come back
/// (it stopped, or it is restarting) does not hold the schedule up for longer.
pub(crate) const REPLACEMENT_WAIT: Duration = Duration::from_secs(10);

/// What a connection is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Drop now, as the `drop_every` fault does.
    Drop,
    /// Stall (send and answer nothing) until then.
    Stall(Instant),
}

/// The fault under way, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Nothing: the next due fault may begin.
    Free,
    /// Connection `target` was told to drop when `open_before` were open: over once it has
    /// gone and as many are open again.
    Dropped {
        target: u64,
        open_before: usize,
        at: Instant,
    },
    /// A connection is stalled until then.
    Stalled { until: Instant },
    /// The last fault is over; the next may begin then.
    Settling { until: Instant },
}

#[derive(Debug)]
struct State {
    next_drop: Option<Instant>,
    next_stall: Option<Instant>,
    turn: Turn,
    /// Open connections by number: new ones have higher numbers, so "the next number after the
    /// last one faulted" goes round every connection, the new ones included.
    open: BTreeSet<u64>,
    last_target: u64,
    /// An order handed out and not yet picked up by its connection.
    order: Option<(u64, Order)>,
}

/// The server's one fault schedule, shared by every connection thread.
#[derive(Debug)]
pub(crate) struct FaultTurns {
    drop_every: Option<Duration>,
    stall_every: Option<Duration>,
    stall_for: Duration,
    state: Mutex<State>,
}

impl FaultTurns {
    /// The schedule of `faults` from `start`, or `None` when they are not taken in turns or
    /// there is neither a drop nor a stall to take.
    pub(crate) fn new(faults: &Faults, start: Instant) -> Option<FaultTurns> {
        let stall_every = faults.stall_every.filter(|_| !faults.stall_for.is_zero());
        if !faults.one_at_a_time || (faults.drop_every.is_none() && stall_every.is_none()) {
            return None;
        }
        Some(FaultTurns {
            drop_every: faults.drop_every,
            stall_every,
            stall_for: faults.stall_for,
            state: Mutex::new(State {
                next_drop: faults.drop_every.map(|every| start + every),
                next_stall: stall_every.map(|every| start + every),
                turn: Turn::Free,
                open: BTreeSet::new(),
                last_target: 0,
                order: None,
            }),
        })
    }

    /// Connection `id` opened.
    pub(crate) fn opened(&self, id: u64) {
        lock(&self.state).open.insert(id);
    }

    /// Connection `id` ended; an order it had not picked up is forgotten.
    pub(crate) fn closed(&self, id: u64) {
        let mut state = lock(&self.state);
        state.open.remove(&id);
        if state.order.is_some_and(|(target, _)| target == id) {
            state.order = None;
        }
    }

    /// Advances the schedule to `now` and returns the order for connection `id`, if there is
    /// one (it is then picked up: asked again, the answer is `None`).
    pub(crate) fn order_for(&self, id: u64, now: Instant) -> Option<Order> {
        let mut state = lock(&self.state);
        self.advance(&mut state, now);
        match state.order {
            Some((target, order)) if target == id => {
                state.order = None;
                Some(order)
            }
            _ => None,
        }
    }

    fn advance(&self, state: &mut State, now: Instant) {
        let over = match state.turn {
            Turn::Free => false,
            Turn::Dropped {
                target,
                open_before,
                at,
            } => {
                let replaced = !state.open.contains(&target) && state.open.len() >= open_before;
                let given_up = now.saturating_duration_since(at) >= REPLACEMENT_WAIT;
                if given_up && !replaced {
                    log::warn!(
                        "sim: a dropped connection was not replaced within {} s; faults go on",
                        REPLACEMENT_WAIT.as_secs()
                    );
                }
                replaced || given_up
            }
            Turn::Stalled { until } => now >= until,
            Turn::Settling { until } => {
                if now >= until {
                    state.turn = Turn::Free;
                }
                false
            }
        };
        if over {
            state.turn = Turn::Settling {
                until: now + SETTLE,
            };
        }
        if state.turn != Turn::Free || state.order.is_some() {
            return;
        }
        // The earlier of the two due faults goes first; the other waits its turn.
        let drop_due = state.next_drop.filter(|at| *at <= now);
        let stall_due = state.next_stall.filter(|at| *at <= now);
        let stall_first = match (drop_due, stall_due) {
            (None, None) => return,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some(drop), Some(stall)) => stall < drop,
        };
        let Some(target) = next_target(&state.open, state.last_target) else {
            // Nobody to fault: the due fault waits for a connection.
            return;
        };
        state.last_target = target;
        // The next of a kind is due a period after this one really began.
        if stall_first {
            let until = now + self.stall_for;
            state.next_stall = self.stall_every.map(|every| now + every);
            state.order = Some((target, Order::Stall(until)));
            state.turn = Turn::Stalled { until };
        } else {
            state.next_drop = self.drop_every.map(|every| now + every);
            state.order = Some((target, Order::Drop));
            state.turn = Turn::Dropped {
                target,
                open_before: state.open.len(),
                at: now,
            };
        }
    }
}

/// The open connection numbered next after `last`, wrapping round to the lowest.
fn next_target(open: &BTreeSet<u64>, last: u64) -> Option<u64> {
    open.range(last.saturating_add(1)..)
        .next()
        .or_else(|| open.iter().next())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turns(start: Instant) -> FaultTurns {
        let faults = Faults {
            drop_every: Some(Duration::from_secs(4)),
            stall_every: Some(Duration::from_secs(6)),
            stall_for: Duration::from_secs(2),
            one_at_a_time: true,
            ..Faults::default()
        };
        FaultTurns::new(&faults, start).expect("faults in turns")
    }

    /// Every connection's order at `now`, in connection order.
    fn orders(turns: &FaultTurns, ids: &[u64], now: Instant) -> Vec<(u64, Order)> {
        ids.iter()
            .filter_map(|id| turns.order_for(*id, now).map(|order| (*id, order)))
            .collect()
    }

    #[test]
    fn faults_go_round_robin_one_at_a_time_each_after_the_last_is_over() {
        let start = Instant::now();
        let s = |secs: f64| start + Duration::from_secs_f64(secs);
        let turns = turns(start);
        for id in 1..=3 {
            turns.opened(id);
        }
        let ids = [1, 2, 3, 4, 5];
        assert!(orders(&turns, &ids, s(3.9)).is_empty());
        // The drop is due at 4 s: the first connection.
        assert_eq!(orders(&turns, &ids, s(4.0)), [(1, Order::Drop)]);
        assert!(orders(&turns, &ids, s(4.0)).is_empty(), "picked up once");
        turns.closed(1);
        // The stall is due at 6 s, but the dropped connection has not been replaced yet.
        assert!(orders(&turns, &ids, s(6.0)).is_empty());
        turns.opened(4);
        // Replaced at 6.5 s: the stall waits one more settle.
        assert!(orders(&turns, &ids, s(6.5)).is_empty());
        assert!(orders(&turns, &ids, s(7.4)).is_empty());
        assert_eq!(
            orders(&turns, &ids, s(7.5)),
            [(2, Order::Stall(s(9.5)))],
            "the next connection, as soon as the settle is over"
        );
        // The next drop was due at 8 s; it comes once the stall and its settle are over, and
        // aims at the next connection again.
        assert!(orders(&turns, &ids, s(9.0)).is_empty());
        assert!(orders(&turns, &ids, s(9.5)).is_empty());
        assert_eq!(orders(&turns, &ids, s(10.5)), [(3, Order::Drop)]);
        turns.closed(3);
        turns.opened(5);
        assert!(orders(&turns, &ids, s(11.0)).is_empty());
        // At 14.5 s both are due; the stall was due first (13.5 s), so it goes first.
        assert_eq!(orders(&turns, &ids, s(14.5)), [(4, Order::Stall(s(16.5)))]);
        assert!(orders(&turns, &ids, s(16.5)).is_empty());
        assert_eq!(orders(&turns, &ids, s(17.5)), [(5, Order::Drop)]);
        turns.closed(5);
        turns.opened(6);
        let ids = [2, 4, 6];
        assert!(orders(&turns, &ids, s(18.0)).is_empty());
        assert!(
            orders(&turns, &ids, s(19.0)).is_empty(),
            "nothing due before 20.5 s"
        );
        assert_eq!(orders(&turns, &ids, s(20.5)), [(6, Order::Stall(s(22.5)))]);
        assert!(orders(&turns, &ids, s(22.5)).is_empty());
        // Round robin wraps round to the lowest number.
        assert_eq!(orders(&turns, &ids, s(23.5)), [(2, Order::Drop)]);
    }

    #[test]
    fn a_connection_that_is_not_replaced_holds_the_schedule_up_only_so_long() {
        let start = Instant::now();
        let s = |secs: f64| start + Duration::from_secs_f64(secs);
        let turns = turns(start);
        turns.opened(1);
        turns.opened(2);
        assert_eq!(orders(&turns, &[1, 2], s(4.0)), [(1, Order::Drop)]);
        turns.closed(1);
        assert!(orders(&turns, &[2], s(13.9)).is_empty());
        // Given up on at 14 s, then the settle.
        assert!(orders(&turns, &[2], s(14.0)).is_empty());
        assert_eq!(orders(&turns, &[2], s(15.0)), [(2, Order::Stall(s(17.0)))]);
    }

    #[test]
    fn an_order_for_a_connection_that_ended_is_forgotten_and_nobody_open_means_no_fault() {
        let start = Instant::now();
        let s = |secs: f64| start + Duration::from_secs_f64(secs);
        let turns = turns(start);
        // Nobody open: the due drop waits.
        assert!(orders(&turns, &[1], s(5.0)).is_empty());
        turns.opened(1);
        turns.opened(2);
        assert_eq!(
            orders(&turns, &[2], s(5.1)),
            Vec::new(),
            "aimed at connection 1"
        );
        turns.closed(1);
        // Connection 1 left by itself (its order gone) and is replaced: the schedule goes on.
        turns.opened(3);
        assert!(orders(&turns, &[1, 2, 3], s(5.2)).is_empty());
        assert_eq!(
            orders(&turns, &[1, 2, 3], s(6.2)),
            [(2, Order::Stall(s(8.2)))]
        );
    }

    #[test]
    fn only_faults_taken_in_turns_make_a_schedule() {
        let start = Instant::now();
        let drops = Faults {
            drop_every: Some(Duration::from_secs(1)),
            ..Faults::default()
        };
        assert!(FaultTurns::new(&drops, start).is_none());
        let nothing = Faults {
            one_at_a_time: true,
            garbage_per_s: 5,
            ..Faults::default()
        };
        assert!(FaultTurns::new(&nothing, start).is_none());
        let zero_stalls = Faults {
            stall_every: Some(Duration::from_secs(1)),
            one_at_a_time: true,
            ..Faults::default()
        };
        assert!(FaultTurns::new(&zero_stalls, start).is_none());
    }
}
