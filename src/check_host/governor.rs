//! The CPU frequency governor of the pinned cores: anything but `performance` lets a core
//! clock down between bursts and take time to clock up when trades arrive.

use super::finding::{Check, Finding};
use super::host::HostFs;
use super::pinned::PinnedCores;

/// One finding: all pinned cores on `performance`, some not, or no cpufreq at all (VMs).
pub fn check(host: &HostFs, pinned: &PinnedCores) -> Vec<Finding> {
    let mut slow: Vec<(usize, String)> = Vec::new();
    let mut missing = Vec::new();
    let cores = pinned.cores();
    for &core in &cores {
        let file = format!("/sys/devices/system/cpu/cpu{core}/cpufreq/scaling_governor");
        match host.read(&file) {
            Some(governor) if governor == "performance" => {}
            Some(governor) => slow.push((core, governor)),
            None => missing.push(core),
        }
    }
    let mut findings = Vec::new();
    if !slow.is_empty() {
        let list: Vec<String> = slow.iter().map(|(c, g)| format!("{c}: {g}")).collect();
        let ids: Vec<usize> = slow.iter().map(|(c, _)| *c).collect();
        findings.push(Finding::warning(
            Check::Governor,
            format!(
                "{} not on the performance governor ({}): the core clocks down when idle and \
                 up again when trades arrive",
                PinnedCores::named(&ids),
                list.join(", ")
            ),
            "cpupower frequency-set -g performance (or echo performance > \
             /sys/devices/system/cpu/cpuN/cpufreq/scaling_governor), made permanent by the \
             distribution's cpupower or tuned service (tuned-adm profile latency-performance)",
        ));
    }
    if !missing.is_empty() {
        findings.push(Finding::info(
            Check::Governor,
            format!(
                "no cpufreq/scaling_governor for {}: no frequency scaling is exposed (usual on \
                 VMs, where the hypervisor decides the frequency): nothing to set here",
                PinnedCores::named(&missing)
            ),
        ));
    }
    if findings.is_empty() && !cores.is_empty() {
        findings.push(Finding::ok(
            Check::Governor,
            format!("{} on the performance governor", PinnedCores::named(&cores)),
        ));
    }
    findings
}
