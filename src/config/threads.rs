//! `[threads]`: which core each kind of thread runs on, how it idles, how big its rings are.

use std::time::Duration;

use super::cores::check_cores;
use super::error::{ConfigError, invalid, quoted};
use super::range::in_range;
use super::schema::ThreadsConfig;
use crate::idle::IdleStrategy;

/// Most aggregator shards: more would only split symbols finer than any machine has cores.
pub const MAX_SHARDS: usize = 1024;

/// The `[threads]` section, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Threads {
    pub io_cores: Vec<usize>,
    pub shard_cores: Vec<Option<usize>>,
    pub consumer_cores: Vec<usize>,
    pub idle: IdleStrategy,
    pub ring_capacity: usize,
    pub notes: Vec<String>,
}

/// Validates `[threads]`; core ids are checked against `available` (see
/// [`available_cores`](super::available_cores)).
pub(crate) fn threads(raw: &ThreadsConfig, available: &[usize]) -> Result<Threads, ConfigError> {
    let io_cores = check_cores("threads.io_cores", &raw.io_cores, available)?;
    let shard_cores = shard_cores(raw, available)?;
    let consumer_cores = check_cores("threads.consumer_cores", &raw.consumer_cores, available)?;
    let idle = idle(raw)?;
    let ring_capacity = in_range(
        "threads.ring_capacity",
        raw.ring_capacity,
        1_024..=16_777_216,
        "payloads per (io thread, shard) ring",
    )?;
    let mut notes = Vec::new();
    if idle == IdleStrategy::Spin {
        for (key, unpinned) in [
            ("io_cores", io_cores.is_empty()),
            ("aggregator_cores", shard_cores.contains(&None)),
        ] {
            if unpinned {
                notes.push(format!(
                    "warning: idle = \"spin\" with threads.{key} = []: unpinned spinning threads \
                     compete with everything else on the machine; pin them or use \"park\""
                ));
            }
        }
    }
    Ok(Threads {
        io_cores,
        shard_cores,
        consumer_cores,
        idle,
        ring_capacity,
        notes,
    })
}

/// One shard per `aggregator_cores` entry, or `aggregator_shards` unpinned ones.
fn shard_cores(
    raw: &ThreadsConfig,
    available: &[usize],
) -> Result<Vec<Option<usize>>, ConfigError> {
    let limit = i64::try_from(MAX_SHARDS).unwrap_or(i64::MAX);
    let requested: usize = in_range(
        "threads.aggregator_shards",
        raw.aggregator_shards,
        0..=limit,
        "used only when aggregator_cores = []; 0 means 1",
    )?;
    if raw.aggregator_cores.len() > MAX_SHARDS {
        return Err(invalid(
            "threads.aggregator_cores",
            format!("[{} entries]", raw.aggregator_cores.len()),
            format!("at most {MAX_SHARDS} shards (one per entry)"),
        ));
    }
    let cores = check_cores("threads.aggregator_cores", &raw.aggregator_cores, available)?;
    if cores.is_empty() {
        return Ok(vec![None; requested.max(1)]);
    }
    if requested != 0 && requested != cores.len() {
        return Err(invalid(
            "threads.aggregator_shards",
            requested,
            format!(
                "threads.aggregator_cores has {n} entries, one shard each; set aggregator_shards \
                 = 0 (or {n}), or aggregator_cores = [] to run {requested} unpinned shards",
                n = cores.len()
            ),
        ));
    }
    Ok(cores.into_iter().map(Some).collect())
}

/// `threads.idle`, with `threads.park_us` when parking.
fn idle(raw: &ThreadsConfig) -> Result<IdleStrategy, ConfigError> {
    match raw.idle.as_str() {
        "spin" => Ok(IdleStrategy::Spin),
        "yield" => Ok(IdleStrategy::Yield),
        "park" => {
            let micros: u64 = in_range(
                "threads.park_us",
                raw.park_us,
                1..=1_000_000,
                "microseconds to park when idle = \"park\"",
            )?;
            Ok(IdleStrategy::Park(Duration::from_micros(micros)))
        }
        "backoff" => {
            let spin: u64 = in_range(
                "threads.spin_us",
                raw.spin_us,
                1..=1_000_000,
                "microseconds to spin after the last work when idle = \"backoff\"",
            )?;
            let park: u64 = in_range(
                "threads.park_us",
                raw.park_us,
                1..=1_000_000,
                "microseconds to park at a time when idle = \"backoff\"",
            )?;
            Ok(IdleStrategy::Backoff {
                spin: Duration::from_micros(spin),
                park: Duration::from_micros(park),
            })
        }
        other => Err(invalid(
            "threads.idle",
            quoted(other),
            "must be \"spin\" (isolated cores only), \"yield\", \"park\" or \"backoff\"",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: [usize; 2] = [0, 1];

    #[test]
    fn defaults_fit_two_cores() {
        let t = threads(&ThreadsConfig::default(), &TWO).unwrap();
        assert_eq!(t.io_cores, [0]);
        assert_eq!(t.shard_cores, [Some(1)]);
        assert_eq!(t.consumer_cores, [0]);
        assert_eq!(t.idle, IdleStrategy::Park(Duration::from_micros(200)));
        assert_eq!(t.ring_capacity, 65_536);
        assert!(t.notes.is_empty());
    }

    #[test]
    fn shards_from_cores_or_count() {
        let raw = ThreadsConfig {
            aggregator_cores: vec![1, 1],
            ..ThreadsConfig::default()
        };
        assert_eq!(threads(&raw, &TWO).unwrap().shard_cores, [Some(1), Some(1)]);
        let raw = ThreadsConfig {
            aggregator_cores: vec![],
            aggregator_shards: 3,
            ..ThreadsConfig::default()
        };
        assert_eq!(threads(&raw, &TWO).unwrap().shard_cores, [None, None, None]);
        let raw = ThreadsConfig {
            aggregator_cores: vec![],
            ..ThreadsConfig::default()
        };
        assert_eq!(threads(&raw, &TWO).unwrap().shard_cores, [None]);
        let raw = ThreadsConfig {
            aggregator_cores: vec![0, 1],
            aggregator_shards: 2,
            ..ThreadsConfig::default()
        };
        assert_eq!(threads(&raw, &TWO).unwrap().shard_cores.len(), 2);
    }

    #[test]
    fn errors_name_key_value_and_what_is_valid() {
        let cases = [
            (
                ThreadsConfig {
                    aggregator_cores: vec![1, 5],
                    ..ThreadsConfig::default()
                },
                "threads.aggregator_cores[1] = 5: no such core; this machine has cores 0, 1",
            ),
            (
                ThreadsConfig {
                    aggregator_cores: vec![0, 1],
                    aggregator_shards: 4,
                    ..ThreadsConfig::default()
                },
                "threads.aggregator_shards = 4: threads.aggregator_cores has 2 entries, one \
                 shard each; set aggregator_shards = 0 (or 2), or aggregator_cores = [] to run 4 \
                 unpinned shards",
            ),
            (
                ThreadsConfig {
                    aggregator_cores: vec![],
                    aggregator_shards: 2000,
                    ..ThreadsConfig::default()
                },
                "threads.aggregator_shards = 2000: must be 0..=1024 (used only when \
                 aggregator_cores = []; 0 means 1)",
            ),
            (
                ThreadsConfig {
                    idle: "sleep".into(),
                    ..ThreadsConfig::default()
                },
                "threads.idle = \"sleep\": must be \"spin\" (isolated cores only), \"yield\", \
                 \"park\" or \"backoff\"",
            ),
            (
                ThreadsConfig {
                    park_us: 0,
                    ..ThreadsConfig::default()
                },
                "threads.park_us = 0: must be 1..=1000000 (microseconds to park when idle = \
                 \"park\")",
            ),
            (
                ThreadsConfig {
                    ring_capacity: 100,
                    ..ThreadsConfig::default()
                },
                "threads.ring_capacity = 100: must be 1024..=16777216 (payloads per (io thread, \
                 shard) ring)",
            ),
            (
                ThreadsConfig {
                    consumer_cores: vec![1024],
                    ..ThreadsConfig::default()
                },
                "threads.consumer_cores[0] = 1024: core ids must be below 1024 (larger ids abort \
                 the process inside libc when pinning); this machine has cores 0, 1",
            ),
        ];
        for (raw, message) in cases {
            assert_eq!(threads(&raw, &TWO).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn park_us_only_matters_when_parking() {
        let raw = ThreadsConfig {
            idle: "yield".into(),
            park_us: 0,
            ..ThreadsConfig::default()
        };
        assert_eq!(threads(&raw, &TWO).unwrap().idle, IdleStrategy::Yield);
    }

    #[test]
    fn unpinned_spin_is_a_warning() {
        let raw = ThreadsConfig {
            idle: "spin".into(),
            io_cores: vec![],
            ..ThreadsConfig::default()
        };
        let t = threads(&raw, &TWO).unwrap();
        assert_eq!(t.idle, IdleStrategy::Spin);
        assert_eq!(t.notes.len(), 1);
        assert!(
            t.notes[0].contains("threads.io_cores = []"),
            "{:?}",
            t.notes
        );
    }
}
