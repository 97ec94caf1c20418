//! Are the pinned cores isolated from the scheduler (`isolcpus=`) and from the timer tick
//! (`nohz_full=`)? Otherwise other tasks and a tick of up to 1,000 Hz share them with klagg.

use super::finding::{Check, Finding};
use super::host::HostFs;
use super::pinned::PinnedCores;
use crate::config::format_cores;

const ISOLATED: &str = "/sys/devices/system/cpu/isolated";
const NOHZ_FULL: &str = "/sys/devices/system/cpu/nohz_full";

/// The kernel command line that isolates `cores`, and where to put it.
fn cmdline_fix(cores: &[usize], others: &str, missing: &str) -> String {
    let list = format_cores(cores).replace(", ", ",");
    format!(
        "add {missing} to the kernel command line, e.g. isolcpus={list} nohz_full={list} \
         rcu_nocbs={list} irqaffinity={others} (GRUB_CMDLINE_LINUX in /etc/default/grub, then \
         update-grub and reboot); see docs/deploy.md"
    )
}

/// One finding each for `isolcpus` and `nohz_full`, and one if no core is left unpinned.
pub fn check(host: &HostFs, pinned: &PinnedCores) -> Vec<Finding> {
    let cores = pinned.cores();
    let online = host.online_cpus();
    let others = pinned.others_list(online.as_deref());
    let mut findings = Vec::new();
    if let Some(online) = &online
        && pinned.others(online).is_empty()
    {
        findings.push(Finding::warning(
            Check::Isolation,
            format!(
                "every online core ({}) runs a pinned klagg thread: the kernel, device IRQs and \
                 klagg's unpinned threads (SQLite sink, backfill) can only run on them too",
                format_cores(online)
            ),
            "leave at least one core (usually 0) out of [threads] io_cores, aggregator_cores \
             and consumer_cores",
        ));
    }
    for (file, param, why) in [
        (
            ISOLATED,
            "isolcpus",
            "the scheduler may run other tasks there",
        ),
        (
            NOHZ_FULL,
            "nohz_full",
            "the timer tick interrupts them up to 1,000 times a second",
        ),
    ] {
        let Some(listed) = host.cpu_list(file) else {
            let what = if param == "nohz_full" {
                format!(
                    "{file} is missing: this kernel has no tickless support (CONFIG_NO_HZ_FULL), \
                     so the tick runs on every core"
                )
            } else {
                format!("{file} is missing or unreadable: cannot tell which cores are isolated")
            };
            findings.push(Finding::info(Check::Isolation, what));
            continue;
        };
        let missing: Vec<usize> = cores
            .iter()
            .filter(|c| !listed.contains(c))
            .copied()
            .collect();
        if missing.is_empty() {
            findings.push(Finding::ok(
                Check::Isolation,
                format!("{} in {param} ({file})", PinnedCores::named(&cores)),
            ));
        } else {
            findings.push(Finding::warning(
                Check::Isolation,
                format!(
                    "{} not in {param} ({file}: {}): {why}",
                    PinnedCores::named(&missing),
                    if listed.is_empty() {
                        "empty".to_owned()
                    } else {
                        format_cores(&listed)
                    }
                ),
                cmdline_fix(&cores, &others, &format!("{param}=")),
            ));
        }
    }
    findings
}
