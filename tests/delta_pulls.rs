//! The delta-pull protocol: every closed kline reaches every consumer exactly once, in order,
//! whatever happens to replies, and the shard never blocks.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{ONE, T0, consumer, pull, shard, trade};
use crossbeam_channel::bounded;
use klagg::aggregator::{
    Delta, DeltaConsumer, PullError, PullRequest, Shard, ShardConfig, ShardRequest,
    SnapshotRequest, Wake,
};
use klagg::interval::Interval;

const SEC: i64 = 1_000;

/// Open times of the closed klines of a delta, in delivery order.
fn closed_opens(delta: &Delta) -> Vec<i64> {
    delta.closed.iter().map(|r| r.kline.open_time).collect()
}

#[test]
fn an_undelivered_reply_is_owed_to_the_next_pull() {
    let mut s = shard("1s", 1);
    let (mut c, rx) = consumer(&mut s);
    for i in 0..4 {
        s.process_trade(&trade(0, i + 1, T0 + i * SEC, ONE, ONE));
    }
    // A requester that gave up: its reply channel is gone before the shard answers.
    let (dead_tx, dead_rx) = bounded(1);
    drop(dead_rx);
    let request = PullRequest {
        consumer: c.id(),
        buffers: Delta::default(),
        reply: dead_tx,
        hold: None,
    };
    s.handle_request(ShardRequest::Pull(request));
    assert_eq!(s.stats().replies_undelivered, 1);
    let delta = pull(&mut s, &mut c, &rx);
    assert_eq!(closed_opens(&delta), vec![T0, T0 + SEC, T0 + 2 * SEC]);
    assert_eq!(delta.open.len(), 1);
    assert!(
        pull(&mut s, &mut c, &rx).closed.is_empty(),
        "delivered once only"
    );
}

#[test]
fn a_timed_out_pull_gets_its_answer_on_the_next_pull_in_order() {
    let mut s = shard("1s", 1);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0, ONE, ONE));
    s.process_trade(&trade(0, 2, T0 + SEC, ONE, ONE));
    // Nobody serves the request in time.
    assert_eq!(
        c.pull(Duration::from_millis(1)).unwrap_err(),
        PullError::Timeout
    );
    s.process_trade(&trade(0, 3, T0 + 2 * SEC, ONE, ONE));
    // The shard answers late; a second request in the same queue finds the reply slot full.
    c.request().unwrap();
    assert_eq!(s.serve_requests(&rx), 2);
    assert_eq!(s.stats().replies_undelivered, 1);
    let late = c.pull(Duration::ZERO).unwrap();
    assert_eq!(closed_opens(&late), vec![T0, T0 + SEC]);
    let next = pull(&mut s, &mut c, &rx);
    assert!(
        next.closed.is_empty(),
        "the late answer already held everything closed so far"
    );
    s.process_trade(&trade(0, 4, T0 + 3 * SEC, ONE, ONE));
    assert_eq!(closed_opens(&pull(&mut s, &mut c, &rx)), vec![T0 + 2 * SEC]);
}

#[test]
fn two_consumers_at_different_rates_each_get_everything_once() {
    let mut s = shard("1s,1m", 3);
    let (mut fast, fast_rx) = consumer(&mut s);
    let (mut slow, slow_rx) = consumer(&mut s);
    let mut fast_seen = Vec::new();
    let mut slow_seen = Vec::new();
    for i in 0..300i64 {
        s.process_trade(&trade(
            (i % 3) as u32,
            i / 3 + 1,
            T0 + i * 500,
            ONE + i,
            ONE,
        ));
        if i % 7 == 0 {
            fast_seen.extend(pull(&mut s, &mut fast, &fast_rx).closed);
        }
        if i % 101 == 0 {
            slow_seen.extend(pull(&mut s, &mut slow, &slow_rx).closed);
        }
    }
    fast_seen.extend(pull(&mut s, &mut fast, &fast_rx).closed);
    slow_seen.extend(pull(&mut s, &mut slow, &slow_rx).closed);
    assert_eq!(fast_seen, slow_seen, "same klines, same order");
    assert_eq!(fast_seen.len() as u64, s.stats().klines_closed);
    let mut keys: Vec<(u32, u16, i64)> = fast_seen
        .iter()
        .map(|r| (r.symbol, r.interval, r.kline.open_time))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), fast_seen.len(), "no kline delivered twice");
}

#[test]
fn a_kline_closing_twice_between_pulls_arrives_twice_in_order() {
    let mut s = shard("1s", 1);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0 + 100, 5 * ONE, ONE));
    let first = pull(&mut s, &mut c, &rx);
    assert_eq!(first.open.len(), 1);
    // The slow consumer sleeps through two closes of the same 1s slot.
    s.process_trade(&trade(0, 2, T0 + SEC + 100, 6 * ONE, ONE));
    s.process_trade(&trade(0, 3, T0 + 2 * SEC + 100, 7 * ONE, ONE));
    let delta = pull(&mut s, &mut c, &rx);
    let closes: Vec<(i64, i64)> = delta
        .closed
        .iter()
        .map(|r| (r.kline.open_time, r.kline.close))
        .collect();
    assert_eq!(closes, vec![(T0, 5 * ONE), (T0 + SEC, 6 * ONE)]);
    assert_eq!(delta.open.len(), 1);
    assert_eq!(
        (delta.open[0].kline.open_time, delta.open[0].kline.close),
        (T0 + 2 * SEC, 7 * ONE)
    );
}

#[test]
fn open_klines_are_sent_only_when_they_changed() {
    let mut s = shard("1m,1h", 3);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0, ONE, ONE));
    s.process_trade(&trade(2, 1, T0, ONE, ONE));
    assert_eq!(pull(&mut s, &mut c, &rx).open.len(), 4);
    s.process_trade(&trade(2, 2, T0 + 1, ONE, ONE));
    let delta = pull(&mut s, &mut c, &rx);
    let changed: Vec<(u32, u16)> = delta.open.iter().map(|r| (r.symbol, r.interval)).collect();
    assert_eq!(changed, vec![(2, 0), (2, 1)]);
    assert!(pull(&mut s, &mut c, &rx).open.is_empty());
}

#[test]
fn a_lagging_consumer_is_told_exactly_how_many_klines_it_missed() {
    let mut config = ShardConfig::new(vec![Interval::parse("1s").unwrap()], 1);
    config.max_backlog = 5;
    let mut s = Shard::new(config).unwrap();
    let (mut lagging, lag_rx) = consumer(&mut s);
    let (mut keeping_up, keep_rx) = consumer(&mut s);
    let mut kept = Vec::new();
    for i in 0..13 {
        s.process_trade(&trade(0, i + 1, T0 + i * SEC, ONE, ONE));
        kept.extend(closed_opens(&pull(&mut s, &mut keeping_up, &keep_rx)));
    }
    assert_eq!(kept.len(), 12, "the consumer that keeps up loses nothing");
    let delta = pull(&mut s, &mut lagging, &lag_rx);
    assert_eq!(delta.missed_closed, 7);
    assert_eq!(
        closed_opens(&delta),
        (7..12).map(|i| T0 + i * SEC).collect::<Vec<_>>()
    );
    assert_eq!(s.stats().closed_missed, 7);
    s.process_trade(&trade(0, 14, T0 + 13 * SEC, ONE, ONE));
    let after = pull(&mut s, &mut lagging, &lag_rx);
    assert_eq!(
        (after.missed_closed, closed_opens(&after)),
        (0, vec![T0 + 12 * SEC])
    );
}

#[test]
fn missed_count_survives_an_undelivered_reply() {
    let mut config = ShardConfig::new(vec![Interval::parse("1s").unwrap()], 1);
    config.max_backlog = 2;
    let mut s = Shard::new(config).unwrap();
    let (mut c, rx) = consumer(&mut s);
    for i in 0..6 {
        s.process_trade(&trade(0, i + 1, T0 + i * SEC, ONE, ONE));
    }
    let (dead_tx, dead_rx) = bounded(1);
    drop(dead_rx);
    s.handle_request(ShardRequest::Pull(PullRequest {
        consumer: c.id(),
        buffers: Delta::default(),
        reply: dead_tx,
        hold: None,
    }));
    let delta = pull(&mut s, &mut c, &rx);
    assert_eq!((delta.missed_closed, delta.closed.len()), (3, 2));
}

#[test]
fn recycled_buffers_are_reused() {
    let mut s = shard("1s", 1);
    let (mut c, rx) = consumer(&mut s);
    s.process_trade(&trade(0, 1, T0, ONE, ONE));
    s.process_trade(&trade(0, 2, T0 + SEC, ONE, ONE));
    let delta = pull(&mut s, &mut c, &rx);
    let open_ptr = delta.open.as_ptr();
    let mut closed_ptrs = vec![delta.closed.as_ptr()];
    c.recycle(delta);
    // The only consumer's closed klines change hands with the log's buffer: the replies
    // alternate between two buffers, and no pull allocates a third.
    for i in 2..7 {
        s.process_trade(&trade(0, i + 1, T0 + i * SEC, ONE, ONE));
        let delta = pull(&mut s, &mut c, &rx);
        assert_eq!(closed_opens(&delta), vec![T0 + (i - 1) * SEC]);
        assert_eq!(delta.open.as_ptr(), open_ptr);
        closed_ptrs.push(delta.closed.as_ptr());
        c.recycle(delta);
    }
    for (i, ptr) in closed_ptrs.iter().enumerate().skip(2) {
        assert_eq!(*ptr, closed_ptrs[i - 2], "pull {i}");
    }
}

#[test]
fn snapshot_holds_every_open_kline() {
    let mut s = shard("1m,1d", 4);
    s.process_trade(&trade(1, 1, T0, ONE, ONE));
    s.process_trade(&trade(3, 1, T0, 2 * ONE, ONE));
    let (tx, reply_rx) = bounded(1);
    s.handle_request(ShardRequest::Snapshot(SnapshotRequest {
        buffers: Default::default(),
        reply: tx,
    }));
    let snapshot = reply_rx.try_recv().unwrap();
    let keys: Vec<(u32, u16, i64)> = snapshot
        .open
        .iter()
        .map(|r| (r.symbol, r.interval, r.kline.close))
        .collect();
    assert_eq!(
        keys,
        vec![(1, 0, ONE), (1, 1, ONE), (3, 0, 2 * ONE), (3, 1, 2 * ONE)]
    );
}

#[test]
fn a_shard_thread_serves_a_consumer_thread() {
    let mut s = shard("1s", 8);
    let (tx, rx) = bounded(16);
    let mut c = DeltaConsumer::new(s.register_consumer(), tx);
    let (trades_tx, trades_rx) = bounded(1024);
    let shard_thread = thread::spawn(move || {
        loop {
            match trades_rx.recv_timeout(Duration::from_millis(1)) {
                Ok(t) => {
                    s.process_trade(&t);
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            }
            s.serve_requests(&rx);
        }
        s.stats().klines_closed
    });
    // Symbol k%8 trades every 800 ms from k*100 ms: periods 0..=19, of which 0..=18 close.
    for i in 0..200i64 {
        trades_tx
            .send(trade((i % 8) as u32, i / 8 + 1, T0 + i * 100, ONE, ONE))
            .unwrap();
    }
    let expected = 8 * 19;
    let mut received = 0;
    for _ in 0..500 {
        match c.pull(Duration::from_secs(1)) {
            Ok(delta) => {
                received += delta.closed.len();
                c.recycle(delta);
            }
            Err(PullError::Timeout) => {}
            Err(e) => panic!("unexpected {e}"),
        }
        if received >= expected {
            break;
        }
    }
    drop(trades_tx);
    assert_eq!(shard_thread.join().unwrap(), expected as u64);
    assert_eq!(received, expected);
}

#[test]
fn a_held_pull_waits_for_news_then_answers_and_wakes() {
    let mut s = shard("1m", 2);
    let (mut c, rx) = consumer(&mut s);
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    c.hold_until_changed(Wake(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })));
    // The first pull has news (a trade), the next ones nothing new.
    s.process_trade(&trade(0, 1, T0, ONE, ONE));
    c.request().unwrap();
    s.serve_requests(&rx);
    assert!(c.take_late().is_some());
    assert_eq!(wakes.load(Ordering::SeqCst), 1);

    c.request().unwrap();
    s.serve_requests(&rx);
    assert!(c.take_late().is_none(), "held: nothing changed");
    // Asked again while held: the new request replaces the held one, no double answer.
    c.request().unwrap();
    s.serve_requests(&rx);
    s.serve_requests(&rx);
    assert!(c.take_late().is_none());
    assert_eq!(wakes.load(Ordering::SeqCst), 1);

    s.process_trade(&trade(1, 1, T0 + 1, ONE, ONE));
    assert_eq!(s.serve_requests(&rx), 1, "the held pull is answered");
    let delta = c
        .take_late()
        .expect("answered once the trade changed a kline");
    assert_eq!(delta.open.len(), 1);
    assert_eq!(delta.open[0].symbol, 1);
    assert_eq!(wakes.load(Ordering::SeqCst), 2);
    assert!(c.take_late().is_none(), "one answer only");
}

#[test]
fn each_sent_request_calls_the_on_request_hook() {
    let mut s = shard("1m", 1);
    let (mut c, rx) = consumer(&mut s);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    c.on_request(Wake(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })));
    let _ = pull(&mut s, &mut c, &rx);
    let _ = pull(&mut s, &mut c, &rx);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // A request the shard's queue cannot take is not sent, so nothing is woken.
    let (full_tx, _full_rx) = bounded(0);
    let mut blocked = DeltaConsumer::new(c.id(), full_tx);
    let counter = Arc::clone(&calls);
    blocked.on_request(Wake(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })));
    assert_eq!(blocked.request(), Err(PullError::Busy));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_pull_gets_the_open_klines_of_the_symbols_that_changed_and_only_those() {
    let mut s = shard("1m", 64);
    let (mut c, rx) = consumer(&mut s);
    for symbol in 0..64 {
        s.process_trade(&trade(symbol, 1, T0, ONE, ONE));
    }
    assert_eq!(pull(&mut s, &mut c, &rx).open.len(), 64);
    s.process_trade(&trade(7, 2, T0 + 1, ONE, ONE));
    s.process_trade(&trade(3, 2, T0 + 2, ONE, ONE));
    s.process_trade(&trade(7, 3, T0 + 3, ONE, ONE));
    let symbols: Vec<u32> = pull(&mut s, &mut c, &rx)
        .open
        .iter()
        .map(|r| r.symbol)
        .collect();
    assert_eq!(
        symbols,
        vec![3, 7],
        "changed symbols once each, in symbol order"
    );
    assert!(pull(&mut s, &mut c, &rx).open.is_empty());
}

#[test]
fn a_consumer_that_stopped_pulling_still_gets_every_change_when_it_comes_back() {
    // Four symbols: the book's list of changed symbols outgrows its bound while consumer `b`
    // does not pull, and `b`'s next pull looks at every symbol instead.
    let mut s = shard("1m", 4);
    let (mut a, a_rx) = consumer(&mut s);
    let (mut b, b_rx) = consumer(&mut s);
    for symbol in 0..4 {
        s.process_trade(&trade(symbol, 1, T0, ONE, ONE));
    }
    pull(&mut s, &mut a, &a_rx);
    pull(&mut s, &mut b, &b_rx);
    for round in 0..100 {
        let symbol = (round % 4) as u32;
        let id = 2 + round / 4;
        s.process_trade(&trade(symbol, id, T0 + 1 + round, ONE, ONE));
        pull(&mut s, &mut a, &a_rx);
    }
    let latest = pull(&mut s, &mut b, &b_rx);
    let mut last_ids: Vec<(u32, i64)> = latest
        .open
        .iter()
        .map(|r| (r.symbol, r.kline.last_trade_id))
        .collect();
    last_ids.sort_unstable();
    let expected: Vec<(u32, i64)> = (0..4u32)
        .map(|symbol| (symbol, trade(symbol, 26, T0, ONE, ONE).last_trade_id))
        .collect();
    assert_eq!(last_ids, expected);
}

#[test]
fn pulls_between_changes_get_every_open_kline_as_the_shard_composes_it() {
    // Open klines are kept composed between a symbol's changes: pulls after each trade, within
    // seconds, across seconds and a minute, and after late trades, must match the shard's own
    // composition of each open kline, for every interval of the symbol that traded.
    let mut s = Shard::new(ShardConfig::new(Interval::standard().to_vec(), 2)).expect("shard");
    let (mut c, rx) = consumer(&mut s);
    let intervals = s.intervals().len();
    let start = T0 + 59 * SEC;
    let mut agg_ids = [0i64; 2];
    for step in 0..120i64 {
        let symbol = (step % 3 == 0) as u32;
        agg_ids[symbol as usize] += 1;
        // Four trades a second, every seventh 700 ms in the past (a late one).
        let late = step % 7 == 6;
        let time = start + step * 250 - if late { 700 } else { 0 };
        let price = ONE * 100 + (step * 37 % 11) * ONE / 10;
        s.process_trade(&trade(symbol, agg_ids[symbol as usize], time, price, ONE));
        for _ in 0..1 + (step % 2) {
            let delta = pull(&mut s, &mut c, &rx);
            for record in &delta.open {
                let expected = s.open_kline(record.symbol, usize::from(record.interval));
                assert_eq!(Some(record.kline), expected, "step {step}: {record:?}");
            }
            if delta.open.iter().any(|r| r.symbol == symbol) {
                let of_symbol = delta.open.iter().filter(|r| r.symbol == symbol).count();
                assert_eq!(of_symbol, intervals, "step {step}: every interval");
            }
        }
    }
}
