//! SMT (hyper-thread) siblings of pinned cores: two logical cores of one physical core share
//! its execution units and caches, so whatever runs on the sibling slows the pinned thread.

use std::collections::BTreeSet;

use super::finding::{Check, Finding};
use super::host::HostFs;
use super::pinned::PinnedCores;
use crate::config::format_cores;

/// Findings for each physical core that holds a pinned core and has siblings.
pub fn check(host: &HostFs, pinned: &PinnedCores) -> Vec<Finding> {
    let isolated = host
        .cpu_list("/sys/devices/system/cpu/isolated")
        .unwrap_or_default();
    let mut findings = Vec::new();
    let mut unreadable = Vec::new();
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    for core in pinned.cores() {
        let file = format!("/sys/devices/system/cpu/cpu{core}/topology/thread_siblings_list");
        let Some(siblings) = host.cpu_list(&file) else {
            unreadable.push(core);
            continue;
        };
        if siblings.len() <= 1 || !seen.insert(siblings.clone()) {
            continue;
        }
        let busy: Vec<usize> = siblings
            .iter()
            .copied()
            .filter(|c| pinned.contains(*c))
            .collect();
        let others: Vec<usize> = siblings
            .iter()
            .copied()
            .filter(|c| !pinned.contains(*c))
            .collect();
        let exposed: Vec<usize> = others
            .iter()
            .copied()
            .filter(|c| !isolated.contains(c))
            .collect();
        if busy.len() > 1 {
            findings.push(Finding::warning(
                Check::Smt,
                format!(
                    "{} are SMT siblings (one physical core) and each runs pinned klagg \
                     threads: they share its execution units and caches",
                    PinnedCores::named(&busy)
                ),
                "pin the threads to cores of different physical cores (lscpu -e lists them), \
                 or turn SMT off (nosmt on the kernel command line, or echo off > \
                 /sys/devices/system/cpu/smt/control)",
            ));
        }
        if !exposed.is_empty() {
            findings.push(Finding::warning(
                Check::Smt,
                format!(
                    "{} shares a physical core with {}, which is neither pinned by klagg nor \
                     isolated: any task there slows klagg's thread",
                    PinnedCores::named(&busy),
                    PinnedCores::named(&exposed)
                ),
                format!(
                    "add {} to isolcpus= (and leave it idle), or turn SMT off (nosmt, or echo \
                     off > /sys/devices/system/cpu/smt/control)",
                    format_cores(&exposed)
                ),
            ));
        }
    }
    if !unreadable.is_empty() {
        findings.push(Finding::info(
            Check::Smt,
            format!(
                "no topology/thread_siblings_list for {}: cannot tell their SMT siblings",
                PinnedCores::named(&unreadable)
            ),
        ));
    } else if findings.is_empty() && !pinned.is_empty() {
        findings.push(Finding::ok(
            Check::Smt,
            "no pinned core shares its physical core with a busy sibling",
        ));
    }
    findings
}
