//! Device interrupts handled on pinned cores: each one stops the pinned thread for the
//! handler and its softirq (a NIC's can be tens of microseconds).
//!
//! `/proc/interrupts` names every numbered IRQ and counts where each was handled; its
//! `/proc/irq/N/effective_affinity_list` (or, on older kernels, `smp_affinity_list`) says where
//! it may be handled now.

use super::finding::{Check, Finding};
use super::host::HostFs;
use super::pinned::PinnedCores;
use crate::config::format_cores;

/// IRQs shown in a finding before "... and N more".
const SHOWN: usize = 8;

/// One numbered IRQ of `/proc/interrupts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Irq {
    /// Its number.
    pub number: u32,
    /// Handled so far on each CPU: (cpu id, count).
    pub counts: Vec<(usize, u64)>,
    /// The device, as the last column names it.
    pub device: String,
}

/// The numbered IRQs of a `/proc/interrupts` text; per-CPU rows (`LOC`, `RES`, ...) and
/// malformed lines are left out.
#[must_use]
pub fn parse_interrupts(text: &str) -> Vec<Irq> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let cpus: Vec<usize> = header
        .split_whitespace()
        .filter_map(|column| column.strip_prefix("CPU")?.parse().ok())
        .collect();
    lines
        .filter_map(|line| {
            let (number, rest) = line.trim_start().split_once(':')?;
            let number = number.parse().ok()?;
            let mut words = rest.split_whitespace();
            let counts = cpus
                .iter()
                .map(|&cpu| Some((cpu, words.next()?.parse().ok()?)))
                .collect::<Option<Vec<_>>>()?;
            let device = words.next_back().unwrap_or_default().to_owned();
            Some(Irq {
                number,
                counts,
                device,
            })
        })
        .collect()
}

/// Where IRQ `number` may be handled now.
fn affinity(host: &HostFs, number: u32) -> Option<Vec<usize>> {
    let effective = host.cpu_list(&format!("/proc/irq/{number}/effective_affinity_list"));
    effective
        .filter(|cores| !cores.is_empty())
        .or_else(|| host.cpu_list(&format!("/proc/irq/{number}/smp_affinity_list")))
}

/// One finding: the IRQs that may be handled on pinned cores, or none.
pub fn check(host: &HostFs, pinned: &PinnedCores) -> Vec<Finding> {
    let Some(text) = host.read("/proc/interrupts") else {
        return vec![Finding::info(
            Check::Irqs,
            "/proc/interrupts is missing or unreadable: cannot tell where IRQs land",
        )];
    };
    let mut landing = Vec::new();
    let mut hit_cores = Vec::new();
    for irq in parse_interrupts(&text) {
        let Some(cores) = affinity(host, irq.number) else {
            continue;
        };
        let on_pinned: Vec<usize> = cores.into_iter().filter(|c| pinned.contains(*c)).collect();
        if on_pinned.is_empty() {
            continue;
        }
        let handled: u64 = irq
            .counts
            .iter()
            .filter(|(cpu, _)| on_pinned.contains(cpu))
            .map(|(_, count)| count)
            .sum();
        landing.push(format!(
            "{} {} (core {}, {handled} so far)",
            irq.number,
            irq.device,
            format_cores(&on_pinned)
        ));
        hit_cores.extend(on_pinned);
    }
    if landing.is_empty() {
        return vec![Finding::ok(
            Check::Irqs,
            "no device IRQ may be handled on a pinned core",
        )];
    }
    hit_cores.sort_unstable();
    hit_cores.dedup();
    let target = pinned.others_list(host.online_cpus().as_deref());
    let mut shown: Vec<String> = landing.iter().take(SHOWN).cloned().collect();
    if landing.len() > SHOWN {
        shown.push(format!("... and {} more", landing.len() - SHOWN));
    }
    vec![Finding::warning(
        Check::Irqs,
        format!(
            "{} device IRQs may be handled on pinned {}: {}",
            landing.len(),
            PinnedCores::named(&hit_cores),
            shown.join(", ")
        ),
        format!(
            "irqaffinity={target} on the kernel command line, and irqbalance stopped or told \
             IRQBALANCE_BANNED_CPULIST={}; right now: echo {target} > \
             /proc/irq/N/smp_affinity_list for each IRQ above",
            format_cores(&pinned.cores()).replace(", ", ",")
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_rows_with_their_counts() {
        let text = "           CPU0       CPU1       \n\
                    \x20 24:          2          0  IO-APIC   5-edge      ACPI:Ged\n\
                    \x20 38:          0      10864 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\n\
                    NMI:          0          0   Non-maskable interrupts\n\
                    LOC:     123456     654321   Local timer interrupts\n\
                    \x20 99: garbage\n";
        let irqs = parse_interrupts(text);
        assert_eq!(
            irqs,
            [
                Irq {
                    number: 24,
                    counts: vec![(0, 2), (1, 0)],
                    device: "ACPI:Ged".to_owned()
                },
                Irq {
                    number: 38,
                    counts: vec![(0, 0), (1, 10_864)],
                    device: "virtio2-input.0".to_owned()
                }
            ]
        );
        assert!(parse_interrupts("").is_empty());
    }
}
