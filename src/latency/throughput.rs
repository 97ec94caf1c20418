//! `klagg latency-report --throughput`: sustained messages per second through each engine, and
//! the trades it lost, from the trade counts and the first and last stamps of a run.

use std::fmt::Write;

use super::{RunSpec, StampFile};

/// One engine's throughput run.
#[derive(Debug, Clone, PartialEq)]
pub struct Throughput {
    /// The engine's name.
    pub name: String,
    /// Trades the simulator sent.
    pub sent: u64,
    /// Trades the engine applied.
    pub applied: u64,
    /// From the simulator's first stamped write to the engine's last stamp, in seconds.
    pub seconds: f64,
}

impl Throughput {
    /// The run named `name`; an error when the stamps cannot time it. The stamps only mark the
    /// run's ends, so sparse ones (one trade in 1024) time it as well as dense ones.
    pub fn new(name: &str, sim: &StampFile, engine: &StampFile) -> Result<Throughput, String> {
        let first = sim.stamps.iter().map(|s| s.at_ns).min();
        let last = engine.stamps.iter().map(|s| s.at_ns).max();
        let (Some(first), Some(last)) = (first, last) else {
            return Err(format!(
                "{name}: cannot time the run: the simulator's file has {} stamps and the \
                 engine's {}; both need some (stamp at least one trade in the run)",
                sim.stamps.len(),
                engine.stamps.len()
            ));
        };
        if last <= first {
            return Err(format!(
                "{name}: cannot time the run: the engine's last stamp ({last} ns) is not after \
                 the simulator's first ({first} ns); are the files of the same run?"
            ));
        }
        Ok(Throughput {
            name: name.to_owned(),
            sent: sim.trades,
            applied: engine.trades,
            seconds: (last - first) as f64 / 1e9,
        })
    }

    /// Trades applied per second.
    pub fn msgs_per_s(&self) -> f64 {
        self.applied as f64 / self.seconds
    }

    /// Trades sent and never applied.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.applied)
    }

    /// A readable line of the run's numbers, naming duplicates when the engine applied more
    /// trades than were sent.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}: {} trades sent, {} applied in {:.3} s",
            self.name, self.sent, self.applied, self.seconds
        );
        if self.applied > self.sent {
            let _ = write!(
                line,
                "; {} more applied than sent: duplicates",
                self.applied - self.sent
            );
        }
        line
    }

    /// `RESULT engine=NAME msgs_per_s=X lost=N`.
    pub fn result_line(&self) -> String {
        format!(
            "RESULT engine={} msgs_per_s={:.0} lost={}",
            self.name,
            self.msgs_per_s(),
            self.lost()
        )
    }
}

/// Reads every run and returns what to print: a line per run, then a `RESULT` line per run.
pub fn throughput_report(runs: &[RunSpec]) -> Result<String, String> {
    let mut runs_measured = Vec::with_capacity(runs.len());
    for run in runs {
        let (sim, engine) = run.load()?;
        runs_measured.push(Throughput::new(&run.name, &sim, &engine)?);
    }
    let mut out = String::new();
    for t in &runs_measured {
        let _ = writeln!(out, "{}", t.line());
    }
    for t in &runs_measured {
        let _ = writeln!(out, "{}", t.result_line());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::{Stage, Stamp};

    fn file(trades: u64, stamps: &[(Stage, u64)]) -> StampFile {
        StampFile {
            names: vec!["BTCUSDT".into()],
            stamps: stamps
                .iter()
                .map(|&(stage, at_ns)| Stamp {
                    stage,
                    symbol: 0,
                    trade_id: 0,
                    at_ns,
                    event_ms: 0,
                })
                .collect(),
            trades,
            ..StampFile::default()
        }
    }

    #[test]
    fn rate_runs_from_first_write_to_last_engine_stamp() {
        let sim = file(
            2_000_000,
            &[
                (Stage::SimWrite, 3_000_000_000),
                (Stage::SimWrite, 1_000_000_000),
            ],
        );
        let engine = file(
            1_999_990,
            &[
                (Stage::Updated, 2_500_000_000),
                (Stage::Delivered, 3_000_000_000),
            ],
        );
        let t = Throughput::new("klagg", &sim, &engine).unwrap();
        assert_eq!(t.seconds, 2.0);
        assert_eq!(t.lost(), 10);
        assert_eq!(
            t.result_line(),
            "RESULT engine=klagg msgs_per_s=999995 lost=10"
        );
        assert!(!t.line().contains("duplicates"));
    }

    #[test]
    fn more_applied_than_sent_is_no_loss_but_named() {
        let sim = file(100, &[(Stage::SimWrite, 0)]);
        let engine = file(103, &[(Stage::Updated, 1_000_000_000)]);
        let t = Throughput::new("baseline", &sim, &engine).unwrap();
        assert_eq!(t.lost(), 0);
        assert!(
            t.line().contains("3 more applied than sent"),
            "{}",
            t.line()
        );
    }

    #[test]
    fn a_run_without_stamps_or_time_is_an_error() {
        let sim = file(100, &[]);
        let engine = file(100, &[(Stage::Updated, 5)]);
        let e = Throughput::new("k", &sim, &engine).unwrap_err();
        assert!(e.contains("k: cannot time the run"), "{e}");
        let sim = file(100, &[(Stage::SimWrite, 10)]);
        let e = Throughput::new("k", &sim, &engine).unwrap_err();
        assert!(e.contains("not after"), "{e}");
    }
}
