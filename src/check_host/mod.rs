//! `klagg check-host`: what on this host hurts the latency of the threads a config pins.
//!
//! Each check reads the kernel's own files and says, for the configured cores, what it found
//! and the plain fix: cores not isolated ([`isolation`]: `isolcpus`, `nohz_full`), SMT siblings
//! shared with pinned threads ([`smt`]), the frequency governor ([`governor`]), device IRQs
//! handled on pinned cores ([`irqs`]) and transparent huge pages ([`thp`]). Files are read
//! under a root directory ([`HostFs`]), `/` on a real host and a fake tree in the tests; a
//! file that is missing (a VM without cpufreq, a kernel without `nohz_full`) gives an `info`
//! line saying so, never an error.

pub mod finding;
pub mod governor;
pub mod host;
pub mod irqs;
pub mod isolation;
pub mod pinned;
pub mod report;
pub mod smt;
pub mod thp;

use std::path::Path;

pub use finding::{Check, Finding, Severity};
pub use host::HostFs;
pub use pinned::PinnedCores;
pub use report::Report;

use crate::config::{self, ConfigError};

/// Runs every check of the host under `host` for the `pinned` cores.
#[must_use]
pub fn check(host: &HostFs, pinned: &PinnedCores, root: &str) -> Report {
    let mut findings = Vec::new();
    if pinned.is_empty() {
        findings.push(Finding::info(
            Check::Isolation,
            "the config pins no thread ([threads] cores are empty): only host-wide settings \
             are checked",
        ));
    } else {
        findings.extend(isolation::check(host, pinned));
        findings.extend(smt::check(host, pinned));
        findings.extend(governor::check(host, pinned));
        findings.extend(irqs::check(host, pinned));
    }
    findings.extend(thp::check(host));
    let idle = if pinned.spinning {
        "; idle = \"spin\": each pinned thread owns its core"
    } else {
        ""
    };
    Report {
        cores: if pinned.is_empty() {
            "none pinned".to_owned()
        } else {
            format!("{}{idle}", pinned.describe())
        },
        root: root.to_owned(),
        findings,
    }
}

/// `klagg check-host --config FILE [--root DIR]`: loads the config, checks its cores against
/// the CPUs online under `root`, and runs every check.
///
/// # Errors
///
/// The config's first problem, as [`ConfigError`] (a core the host does not have included).
pub fn check_config(config_path: &Path, root: &Path) -> Result<Report, ConfigError> {
    let host = HostFs::new(root);
    // Cores are checked against the host's online CPUs (isolated ones included), not this
    // process's mask, which with isolcpus= lacks exactly the cores klagg is meant to pin.
    let cores = host.online_cpus().unwrap_or_else(config::available_cores);
    let settings = config::load(config_path)?.resolve(&cores)?;
    let pinned = PinnedCores::of(&settings);
    Ok(check(&host, &pinned, &root.display().to_string()))
}
