//! The simulator's trade sources and recorder, driven with synthetic clock values (no sleeping).
//!
//! Real data is read from `$KLAGG_DATA`, or from `../shared/data/binance` next to the crate;
//! when it is absent the tests that need it say so and pass.

#[path = "support/real_data.rs"]
mod real_data;

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use klagg::decimal::parse_fixed;
use klagg::interval::Interval;
use klagg::replay::{ReplayOptions, run};
use klagg::sim::market::{
    Burst, FileInput, FileReplay, FileReplayConfig, Recorder, Speed, SyntheticConfig,
    SyntheticMarket,
};
use klagg::sim::{MarketSource, SimTrade, SymbolSpec};

/// 2024-01-01T00:00:00Z, a minute boundary.
const START_MS: i64 = 1_704_067_200_000;

use real_data::data_dir;

/// Polls `source` from `START_MS` every `step_ms` for `duration_ms`, checking that every batch
/// lies within its poll window and that times never decrease.
fn drive(source: &mut dyn MarketSource, duration_ms: i64, step_ms: i64) -> Vec<SimTrade> {
    let mut trades = Vec::new();
    let mut previous_now = START_MS - 1;
    let mut now = START_MS;
    while now < START_MS + duration_ms {
        let first = trades.len();
        source.poll(now, &mut trades);
        for t in &trades[first..] {
            assert!(
                t.time_ms > previous_now && t.time_ms <= now,
                "{t:?} not in ({previous_now}, {now}]"
            );
        }
        previous_now = now;
        now += step_ms;
    }
    assert!(trades.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    trades
}

/// Trades grouped by symbol index, each in publication order.
fn by_symbol(trades: &[SimTrade]) -> HashMap<u32, Vec<SimTrade>> {
    let mut map: HashMap<u32, Vec<SimTrade>> = HashMap::new();
    for t in trades {
        map.entry(t.symbol).or_default().push(*t);
    }
    map
}

fn config(symbols: usize, msgs_per_s: u32, seed: u64) -> SyntheticConfig {
    SyntheticConfig::new(symbols, msgs_per_s, seed, START_MS)
}

#[test]
fn same_seed_and_polls_give_the_same_market() {
    let mut c = config(20, 5_000, 7);
    c.bursts = Some(Burst {
        every: Duration::from_secs(1),
        length: Duration::from_millis(300),
        factor: 3,
    });
    c.quiet_fraction = 0.2;
    c.new_listing_after = Some(Duration::from_millis(1_500));
    let run_with = |c: &SyntheticConfig| {
        let mut market = SyntheticMarket::new(c.clone());
        let trades = drive(&mut market, 3_000, 17);
        (market.symbols().to_vec(), trades)
    };
    let (specs, trades) = run_with(&c);
    assert_eq!((specs.clone(), trades.clone()), run_with(&c));
    assert!(trades.len() > 10_000);
    c.seed = 8;
    let (other_specs, other_trades) = run_with(&c);
    assert_ne!(trades, other_trades);
    let names = |s: &[SymbolSpec]| s.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&specs),
        names(&other_specs),
        "names do not depend on the seed"
    );
}

#[test]
fn rate_is_on_target_over_ten_seconds() {
    let mut market = SyntheticMarket::new(config(50, 20_000, 1));
    // Irregular poll steps: the count must not depend on how time is cut.
    let mut trades = Vec::new();
    let mut now = START_MS;
    for step in [1, 7, 3, 250, 13, 1, 40].iter().cycle() {
        if now >= START_MS + 10_000 {
            break;
        }
        market.poll(now.min(START_MS + 9_999), &mut trades);
        now += step;
    }
    let n = trades.len() as f64;
    assert!((180_000.0..=220_000.0).contains(&n), "{n} trades in 10 s");
    assert!(trades.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    assert!(
        trades
            .iter()
            .all(|t| (START_MS..START_MS + 10_000).contains(&t.time_ms))
    );
}

#[test]
fn ids_are_consecutive_and_numbers_on_their_grids() {
    let mut market = SyntheticMarket::new(config(30, 10_000, 3));
    let trades = drive(&mut market, 5_000, 10);
    let specs = market.symbols().to_vec();
    for (symbol, list) in by_symbol(&trades) {
        let spec = &specs[symbol as usize];
        assert!((1..=4).contains(&spec.price_decimals) && spec.quantity_decimals <= 3);
        let tick = 10i64.pow(8 - spec.price_decimals);
        let step = 10i64.pow(8 - spec.quantity_decimals);
        for t in &list {
            assert!(t.price > 0 && t.price % tick == 0, "{} {t:?}", spec.name);
            assert!(
                t.quantity > 0 && t.quantity % step == 0,
                "{} {t:?}",
                spec.name
            );
            assert!((1..=5).contains(&(t.last_trade_id - t.first_trade_id + 1)));
        }
        for w in list.windows(2) {
            assert_eq!(w[1].agg_id, w[0].agg_id + 1, "{}", spec.name);
            assert_eq!(w[1].first_trade_id, w[0].last_trade_id + 1, "{}", spec.name);
            assert!(w[1].time_ms >= w[0].time_ms);
        }
    }
    let makers = trades.iter().filter(|t| t.is_buyer_maker).count() as f64;
    assert!((0.45..0.55).contains(&(makers / trades.len() as f64)));
    // Activity is skewed: the busiest symbol trades far more than the median one.
    let mut counts: Vec<usize> = by_symbol(&trades).values().map(Vec::len).collect();
    counts.sort_unstable();
    assert!(
        counts[counts.len() - 1] > 5 * counts[counts.len() / 2],
        "{counts:?}"
    );
}

#[test]
fn quiet_symbols_trade_only_every_few_minutes() {
    let mut c = config(20, 1_000, 5);
    c.quiet_fraction = 0.25;
    let mut market = SyntheticMarket::new(c);
    let quiet: Vec<u32> = (0..20).filter(|&s| market.is_quiet(s)).collect();
    assert_eq!(quiet.len(), 5);
    let trades = drive(&mut market, 10 * 60_000, 100);
    let groups = by_symbol(&trades);
    let count = |s: u32| groups.get(&s).map_or(0, Vec::len);
    // Expected about 3.3 each in 10 minutes.
    let quiet_total: usize = quiet.iter().map(|&s| count(s)).sum();
    assert!((1..=50).contains(&quiet_total), "{quiet_total}");
    for &s in &quiet {
        assert!(count(s) <= 15, "quiet symbol {s} traded {} times", count(s));
    }
    let busy_min = (0..20)
        .filter(|s| !quiet.contains(s))
        .map(count)
        .min()
        .unwrap();
    assert!(busy_min > 1_000, "{busy_min}");
}

#[test]
fn the_new_listing_trades_only_once_listed() {
    let mut c = config(10, 2_000, 9);
    c.new_listing_after = Some(Duration::from_secs(3));
    let mut market = SyntheticMarket::new(c);
    let specs = market.symbols().to_vec();
    assert_eq!(specs.len(), 11);
    let listed_at = START_MS + 3_000;
    assert_eq!(specs[10].listed_at_ms, Some(listed_at));
    assert!(specs[..10].iter().all(|s| s.listed_at_ms.is_none()));
    let trades = drive(&mut market, 6_000, 50);
    let new: Vec<&SimTrade> = trades.iter().filter(|t| t.symbol == 10).collect();
    assert!(new.len() > 500, "{}", new.len());
    assert!(new.iter().all(|t| t.time_ms >= listed_at));
    // The total stays on target before and after the listing.
    let before = trades.iter().filter(|t| t.time_ms < listed_at).count();
    assert!((5_800..=6_200).contains(&before), "{before}");
    assert!((5_800..=6_200).contains(&(trades.len() - before)));
}

#[test]
fn bursts_raise_the_rate() {
    let mut c = config(10, 2_000, 11);
    c.bursts = Some(Burst {
        every: Duration::from_secs(2),
        length: Duration::from_millis(500),
        factor: 5,
    });
    let mut market = SyntheticMarket::new(c);
    let trades = drive(&mut market, 10_000, 20);
    // Bursts at [2, 2.5), [4, 4.5), [6, 6.5), [8, 8.5) s: 2 s at 5x, 8 s at 1x.
    let in_burst = |t: &SimTrade| {
        let elapsed = t.time_ms - START_MS;
        elapsed >= 2_000 && elapsed % 2_000 < 500
    };
    let burst = trades.iter().filter(|t| in_burst(t)).count() as f64;
    let calm = trades.len() as f64 - burst;
    assert!((19_000.0..=21_000.0).contains(&burst), "{burst}");
    assert!((15_200.0..=16_800.0).contains(&calm), "{calm}");
}

/// Every row of a Data Vision futures CSV as (agg id, price, quantity, first, last, time, m).
fn csv_rows(path: &Path) -> Vec<SimTrade> {
    let text = fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            SimTrade {
                symbol: 0,
                agg_id: f[0].parse().unwrap(),
                price: parse_fixed(f[1].as_bytes()).unwrap(),
                quantity: parse_fixed(f[2].as_bytes()).unwrap(),
                first_trade_id: f[3].parse().unwrap(),
                last_trade_id: f[4].parse().unwrap(),
                time_ms: f[5].parse().unwrap(),
                is_buyer_maker: f[6] == "true",
            }
        })
        .collect()
}

#[test]
fn futures_csv_replays_every_trade_rebased() {
    let Some(dir) = data_dir("futures_csv_replays_every_trade_rebased") else {
        return;
    };
    let path = dir.join("um-BTCUSDT-2024-08-08/aggTrades.csv");
    let expected = csv_rows(&path);
    let first_ms = expected[0].time_ms;
    for speed in [Speed::Factor(10.0), Speed::AsFastAsPossible] {
        let mut replay = FileReplay::open(FileReplayConfig {
            inputs: vec![FileInput::csv(&path, "BTCUSDT")],
            speed,
            start_ms: START_MS,
        })
        .unwrap();
        let spec = SymbolSpec {
            name: "BTCUSDT".into(),
            price_decimals: 2,
            quantity_decimals: 3,
            listed_at_ms: None,
        };
        assert_eq!(replay.symbols(), [spec]);
        assert_eq!(replay.total_trades(), expected.len() as u64);
        let (trades, factor) = match speed {
            Speed::Factor(factor) => {
                // 343 s of trades at 10x: 35 s of polls, 100 ms apart.
                let trades = drive(&mut replay, 35_000, 100);
                let mut rest = Vec::new();
                assert!(!replay.poll(START_MS + 35_000, &mut rest) && rest.is_empty());
                (trades, factor)
            }
            Speed::AsFastAsPossible => {
                let mut trades = Vec::new();
                assert!(!replay.poll(START_MS, &mut trades), "all sent at once");
                (trades, 1.0)
            }
        };
        assert_eq!(trades.len(), expected.len(), "{speed:?}");
        for (got, want) in trades.iter().zip(&expected) {
            let time_ms = START_MS + ((want.time_ms - first_ms) as f64 / factor).floor() as i64;
            assert_eq!(*got, SimTrade { time_ms, ..*want }, "{speed:?}");
        }
        assert!(replay.error().is_none());
    }
}

#[test]
fn capture_replays_the_aggtrades_of_every_symbol() {
    let Some(dir) = data_dir("capture_replays_the_aggtrades_of_every_symbol") else {
        return;
    };
    let path = dir.join("ws-captures/BINANCE_FUTURES.ws");
    let mut replay = FileReplay::open(FileReplayConfig {
        inputs: vec![FileInput::capture(&path)],
        speed: Speed::AsFastAsPossible,
        start_ms: START_MS,
    })
    .unwrap();
    let mut names: Vec<(String, u32, u32)> = replay
        .symbols()
        .iter()
        .map(|s| (s.name.clone(), s.price_decimals, s.quantity_decimals))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("AKROUSDT".into(), 5, 0),
            ("CTKUSDT".into(), 5, 0),
            ("KEEPUSDT".into(), 4, 0),
            ("SUSHIUSDT".into(), 4, 0),
        ]
    );
    let mut trades = Vec::new();
    assert!(!replay.poll(START_MS, &mut trades));
    let counts: HashMap<&str, usize> = by_symbol(&trades)
        .into_iter()
        .map(|(s, list)| (replay.symbols()[s as usize].name.as_str(), list.len()))
        .collect();
    let expected = [
        ("AKROUSDT", 8),
        ("CTKUSDT", 38),
        ("KEEPUSDT", 5),
        ("SUSHIUSDT", 40),
    ];
    assert_eq!(counts, expected.into_iter().collect());
    assert_eq!(trades.iter().map(|t| t.time_ms).min(), Some(START_MS));
    assert!(trades.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    for list in by_symbol(&trades).values() {
        assert!(list.windows(2).all(|w| w[0].agg_id < w[1].agg_id));
    }
}

/// Sums of volume (1e-8) and trade count over the 1m klines `klagg replay` builds from `path`.
fn replayed_1m_totals(symbol: &str, path: &Path, out: &Path) -> (i128, i64) {
    let mut options = ReplayOptions::new(symbol, out.to_path_buf(), vec![path.to_path_buf()]);
    options.intervals = vec![Interval::parse("1m").unwrap()];
    options.progress = false;
    let summary = run(&options).unwrap();
    assert_eq!((summary.stats.gaps, summary.stats.duplicates), (0, 0));
    let text = fs::read_to_string(options.output_path(options.intervals[0])).unwrap();
    text.lines().fold((0, 0), |(volume, count), line| {
        let f: Vec<&str> = line.split(',').collect();
        let v = parse_fixed(f[5].as_bytes()).unwrap();
        (volume + i128::from(v), count + f[8].parse::<i64>().unwrap())
    })
}

#[test]
fn recorded_trades_replay_to_the_same_totals_and_trades() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(8, 3_000, 21);
    c.quiet_fraction = 0.25;
    c.new_listing_after = Some(Duration::from_secs(30));
    let mut market = SyntheticMarket::new(c);
    let trades = drive(&mut market, 150_000, 250);
    let specs = market.symbols().to_vec();
    let mut recorder = Recorder::create(&dir.path().join("rec"), &specs).unwrap();
    for t in &trades {
        recorder.record(t).unwrap();
    }
    let paths = recorder.finish().unwrap();
    let groups = by_symbol(&trades);
    assert_eq!(paths.len(), groups.len());
    for (symbol, list) in &groups {
        let spec = &specs[*symbol as usize];
        let path = dir.path().join(format!("rec/{}-aggTrades.csv", spec.name));
        assert!(paths.contains(&path));
        let volume: i128 = list.iter().map(|t| i128::from(t.quantity)).sum();
        let count: i64 = list
            .iter()
            .map(|t| t.last_trade_id - t.first_trade_id + 1)
            .sum();
        let out = dir.path().join(format!("klines-{}", spec.name));
        assert_eq!(
            replayed_1m_totals(&spec.name, &path, &out),
            (volume, count),
            "{}",
            spec.name
        );
    }

    // The recording replays as the very same trades, symbols and digits.
    let inputs = specs
        .iter()
        .filter(|s| groups.keys().any(|&i| specs[i as usize].name == s.name))
        .map(|s| FileInput::csv(Recorder::path_of(&dir.path().join("rec"), s), &s.name))
        .collect();
    let mut replay = FileReplay::open(FileReplayConfig {
        inputs,
        speed: Speed::AsFastAsPossible,
        start_ms: trades[0].time_ms,
    })
    .unwrap();
    let mut again = Vec::new();
    assert!(!replay.poll(i64::MIN, &mut again));
    let name_of = |specs: &[SymbolSpec], t: &SimTrade| specs[t.symbol as usize].name.clone();
    for spec in replay.symbols() {
        let original = specs.iter().find(|s| s.name == spec.name).unwrap();
        assert_eq!(
            (spec.price_decimals, spec.quantity_decimals),
            (original.price_decimals, original.quantity_decimals)
        );
    }
    let key = |specs: &[SymbolSpec], t: &SimTrade| (name_of(specs, t), t.agg_id);
    let mut want: Vec<_> = trades.iter().map(|t| (key(&specs, t), *t)).collect();
    let mut got: Vec<_> = again
        .iter()
        .map(|t| (key(replay.symbols(), t), *t))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(want.len(), got.len());
    for ((wk, w), (gk, g)) in want.iter().zip(&got) {
        assert_eq!(wk, gk);
        assert_eq!(SimTrade { symbol: 0, ..*w }, SimTrade { symbol: 0, ..*g });
    }
}
