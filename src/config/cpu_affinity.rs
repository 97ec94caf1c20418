//! The `CPUAffinity=` line of klagg's systemd unit, derived from the config: every core a
//! thread is pinned to, and the cores left for the unpinned threads.
//!
//! Both halves matter. The pinned cores must be in the mask, or with `isolcpus=` a service
//! would start with a mask that lacks them; the other cores of the machine's default mask go
//! to the threads klagg never pins (SQLite sink, backfill, the main thread), which would
//! otherwise land on the pinned cores and interrupt their spinning threads.

use std::fmt;

use super::cores::format_cores;
use super::settings::Settings;

/// The cores a klagg service runs on: pinned threads' and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuAffinity {
    /// Cores some thread is pinned to (io, shard and consumer cores), ascending.
    pub pinned: Vec<usize>,
    /// Cores of the default mask no thread is pinned to, for unpinned threads, ascending.
    pub unpinned: Vec<usize>,
}

impl CpuAffinity {
    /// The affinity for `settings` on a machine whose ordinary processes may run on
    /// `default_mask` (the available cores less the isolated ones).
    #[must_use]
    pub fn new(settings: &Settings, default_mask: &[usize]) -> CpuAffinity {
        let mut pinned: Vec<usize> = settings
            .io_cores
            .iter()
            .chain(settings.shard_cores.iter().flatten())
            .chain(&settings.consumer_cores)
            .copied()
            .collect();
        pinned.sort_unstable();
        pinned.dedup();
        let mut unpinned: Vec<usize> = default_mask
            .iter()
            .filter(|core| !pinned.contains(core))
            .copied()
            .collect();
        unpinned.sort_unstable();
        unpinned.dedup();
        CpuAffinity { pinned, unpinned }
    }

    /// Every core of the mask, ascending.
    #[must_use]
    pub fn all(&self) -> Vec<usize> {
        let mut all = [self.pinned.as_slice(), self.unpinned.as_slice()].concat();
        all.sort_unstable();
        all
    }

    /// The unit file line, such as `CPUAffinity=0-1 2-8` (systemd takes ranges).
    #[must_use]
    pub fn unit_line(&self) -> String {
        format!(
            "CPUAffinity={}",
            format_cores(&self.all()).replace(", ", " ")
        )
    }
}

impl fmt::Display for CpuAffinity {
    /// The line and where its cores come from, for `check-config`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pinned.is_empty() {
            return write!(
                f,
                "{}  (no thread is pinned: the line is optional)",
                self.unit_line()
            );
        }
        write!(
            f,
            "{}  (pinned threads: {}; unpinned threads: ",
            self.unit_line(),
            format_cores(&self.pinned)
        )?;
        if self.unpinned.is_empty() {
            write!(f, "none left, they share the pinned cores)")
        } else {
            write!(f, "{})", format_cores(&self.unpinned))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(threads: &str) -> Settings {
        crate::config::parse(&format!("[threads]\n{threads}\n"), "t.toml")
            .unwrap()
            .resolve(&(0..16).collect::<Vec<_>>())
            .unwrap()
    }

    #[test]
    fn pinned_cores_and_the_rest_of_the_default_mask() {
        let bare_metal = settings(
            "io_cores = [2, 3, 4, 5]\naggregator_cores = [6, 7]\nconsumer_cores = [8]\n\
             idle = \"spin\"",
        );
        let affinity = CpuAffinity::new(&bare_metal, &[0, 1]);
        assert_eq!(affinity.pinned, [2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(affinity.unpinned, [0, 1]);
        assert_eq!(affinity.unit_line(), "CPUAffinity=0-8");
        assert_eq!(
            affinity.to_string(),
            "CPUAffinity=0-8  (pinned threads: 2-8; unpinned threads: 0, 1)"
        );
        let sparse = CpuAffinity::new(
            &settings("io_cores = [4]\naggregator_cores = [6]\nconsumer_cores = [6]"),
            &[0, 1, 2],
        );
        assert_eq!(sparse.unit_line(), "CPUAffinity=0-2 4 6");
    }

    #[test]
    fn every_core_pinned_or_none() {
        let small = CpuAffinity::new(&settings(""), &[0, 1]);
        assert_eq!(
            small.to_string(),
            "CPUAffinity=0 1  (pinned threads: 0, 1; unpinned threads: none left, they share \
             the pinned cores)"
        );
        let unpinned = settings("io_cores = []\naggregator_cores = []\nconsumer_cores = []");
        let none = CpuAffinity::new(&unpinned, &[0, 1]);
        assert!(
            none.to_string()
                .ends_with("(no thread is pinned: the line is optional)")
        );
    }
}
