//! The cores a config pins klagg's threads to, and what runs on each: what `check-host`
//! checks the host against.

use std::collections::BTreeMap;

use crate::config::{Settings, format_cores};
use crate::idle::IdleStrategy;

/// Pinned cores and the klagg stages on each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PinnedCores {
    /// Core id -> the stages pinned there ("io", "shard 0", "consumers").
    stages: BTreeMap<usize, Vec<String>>,
    /// Whether the pinned threads spin when idle (`idle = "spin"`), so own their cores.
    pub spinning: bool,
}

impl PinnedCores {
    /// The cores of `settings`' `[threads]` section.
    #[must_use]
    pub fn of(settings: &Settings) -> PinnedCores {
        let mut pinned = PinnedCores {
            spinning: settings.idle == IdleStrategy::Spin,
            ..PinnedCores::default()
        };
        for &core in &settings.io_cores {
            pinned.add(core, "io");
        }
        for (shard, core) in settings.shard_cores.iter().enumerate() {
            if let Some(core) = core {
                pinned.add(*core, &format!("shard {shard}"));
            }
        }
        for &core in &settings.consumer_cores {
            pinned.add(core, "consumers");
        }
        pinned
    }

    /// Records that `stage` runs on `core`.
    pub fn add(&mut self, core: usize, stage: &str) {
        let stages = self.stages.entry(core).or_default();
        if !stages.iter().any(|s| s == stage) {
            stages.push(stage.to_owned());
        }
    }

    /// The pinned core ids, ascending.
    #[must_use]
    pub fn cores(&self) -> Vec<usize> {
        self.stages.keys().copied().collect()
    }

    /// Whether a klagg thread is pinned to `core`.
    #[must_use]
    pub fn contains(&self, core: usize) -> bool {
        self.stages.contains_key(&core)
    }

    /// Whether no thread is pinned.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The CPUs of `online` no klagg thread is pinned to: where the kernel's housekeeping,
    /// device IRQs and klagg's unpinned threads should run.
    #[must_use]
    pub fn others(&self, online: &[usize]) -> Vec<usize> {
        online
            .iter()
            .copied()
            .filter(|c| !self.contains(*c))
            .collect()
    }

    /// [`Self::others`] as a kernel CPU list (`0-1`), or a placeholder when none is known.
    #[must_use]
    pub fn others_list(&self, online: Option<&[usize]>) -> String {
        match online.map(|online| self.others(online)) {
            Some(others) if !others.is_empty() => format_cores(&others).replace(", ", ","),
            _ => "<cores klagg does not pin>".to_owned(),
        }
    }

    /// "2 (io), 6 (shard 0, consumers)": cores with their stages, for the report's header.
    #[must_use]
    pub fn describe(&self) -> String {
        let cores: Vec<String> = self
            .stages
            .iter()
            .map(|(core, stages)| format!("{core} ({})", stages.join(", ")))
            .collect();
        cores.join(", ")
    }

    /// "core 2" or "cores 2, 3", for findings.
    #[must_use]
    pub fn named(cores: &[usize]) -> String {
        match cores {
            [one] => format!("core {one}"),
            _ => format!("cores {}", format_cores(cores)),
        }
    }
}
