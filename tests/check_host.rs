//! `klagg check-host` against fake `/sys` and `/proc` trees built under a temp dir: a tuned
//! host is clean (exit 0), each latency problem is found with its fix (exit 2, or 0 with
//! `--warn-only`), a VM without cpufreq or tickless support gets info lines, not errors, and
//! garbage in the kernel's files is reported, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use klagg::check_host::{Check, Finding, HostFs, PinnedCores, Report, Severity, check_config};

/// A host's kernel files under a temp dir.
struct FakeHost {
    dir: tempfile::TempDir,
}

impl FakeHost {
    /// Eight online CPUs without SMT, nothing else yet.
    fn new() -> FakeHost {
        let host = FakeHost {
            dir: tempfile::tempdir().unwrap(),
        };
        host.write("sys/devices/system/cpu/online", "0-7\n");
        for cpu in 0..8 {
            host.siblings(cpu, &cpu.to_string());
        }
        host
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.root().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn siblings(&self, cpu: usize, list: &str) {
        self.write(
            &format!("sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"),
            &format!("{list}\n"),
        );
    }

    fn governor(&self, cpu: usize, governor: &str) {
        self.write(
            &format!("sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"),
            &format!("{governor}\n"),
        );
    }

    /// `/proc/interrupts` for eight CPUs with the given (irq, device, effective affinity)
    /// rows, each handled 5 times on every CPU of its affinity.
    fn irqs(&self, rows: &[(u32, &str, &str)]) {
        let mut text = String::from("     ");
        for cpu in 0..8 {
            text.push_str(&format!("      CPU{cpu}"));
        }
        text.push('\n');
        for &(irq, device, affinity) in rows {
            let cores = klagg::config::parse_cpu_list(affinity).unwrap();
            text.push_str(&format!("{irq:>4}:"));
            for cpu in 0..8 {
                let count = if cores.contains(&cpu) { 5 } else { 0 };
                text.push_str(&format!(" {count:>10}"));
            }
            text.push_str(&format!("  PCI-MSIX-0000:00:03.0   1-edge      {device}\n"));
            self.write(&format!("proc/irq/{irq}/smp_affinity_list"), "0-7\n");
            self.write(
                &format!("proc/irq/{irq}/effective_affinity_list"),
                &format!("{affinity}\n"),
            );
        }
        text.push_str(" LOC:    1000    1000    1000    1000    1000    1000    1000    1000   Local timer interrupts\n");
        self.write("proc/interrupts", &text);
    }

    /// A host tuned for [`config`]'s cores 2-5: isolated, tickless, performance governor,
    /// IRQs on 0-1, THP madvise.
    fn tuned() -> FakeHost {
        let host = FakeHost::new();
        host.write("sys/devices/system/cpu/isolated", "2-5\n");
        host.write("sys/devices/system/cpu/nohz_full", "2-5\n");
        for cpu in 0..8 {
            host.governor(cpu, "performance");
        }
        host.irqs(&[(24, "eth0-rx-0", "0"), (25, "eth0-tx-0", "1")]);
        host.write(
            "sys/kernel/mm/transparent_hugepage/enabled",
            "always [madvise] never\n",
        );
        host
    }

    /// Writes a config pinning io threads to 2 and 3, a shard to 4 and consumers to 5.
    fn config(&self) -> PathBuf {
        let path = self.root().join("klagg.toml");
        std::fs::write(
            &path,
            "[threads]\nio_cores = [2, 3]\naggregator_cores = [4]\nconsumer_cores = [5]\n\
             idle = \"spin\"\n",
        )
        .unwrap();
        path
    }

    fn report(&self) -> Report {
        check_config(&self.config(), self.root()).expect("check-host")
    }

    fn run(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_klagg"))
            .arg("check-host")
            .arg("--config")
            .arg(self.config())
            .arg("--root")
            .arg(self.root())
            .args(extra)
            .output()
            .unwrap()
    }
}

fn warnings(report: &Report, check: Check) -> Vec<&Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.check == check && f.severity == Severity::Warning)
        .collect()
}

#[test]
fn a_tuned_host_is_clean_and_exits_0() {
    let host = FakeHost::tuned();
    let report = host.report();
    assert!(report.is_clean(), "{report}");
    assert!(
        report.findings.iter().all(|f| f.severity == Severity::Ok),
        "{report}"
    );
    for check in [
        Check::Isolation,
        Check::Smt,
        Check::Governor,
        Check::Irqs,
        Check::HugePages,
    ] {
        assert!(
            report.findings.iter().any(|f| f.check == check),
            "{check:?}"
        );
    }
    let output = host.run(&[]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("cores      2 (io), 3 (io), 4 (shard 0), 5 (consumers); idle = \"spin\""),
        "{text}"
    );
    assert!(text.ends_with("clean: nothing found that hurts latency on these cores\n"));
}

#[test]
fn each_problem_is_found_with_its_fix() {
    let host = FakeHost::tuned();
    host.write("sys/devices/system/cpu/isolated", "2-3\n");
    host.write("sys/devices/system/cpu/nohz_full", "\n");
    // 4 and 5 share a physical core; 2's sibling 6 is free for any task.
    host.siblings(4, "4-5");
    host.siblings(5, "4-5");
    host.siblings(2, "2,6");
    host.siblings(6, "2,6");
    host.governor(3, "powersave");
    host.irqs(&[
        (24, "eth0-rx-0", "0"),
        (30, "nvme0q1", "3"),
        (31, "eth0-tx-0", "0-1"),
    ]);
    host.write(
        "sys/kernel/mm/transparent_hugepage/enabled",
        "[always] madvise never\n",
    );
    let report = host.report();

    let isolation = warnings(&report, Check::Isolation);
    assert_eq!(isolation.len(), 2, "{report}");
    assert!(
        isolation[0]
            .what
            .starts_with("cores 4, 5 not in isolcpus (/sys/devices/system/cpu/isolated: 2, 3)")
    );
    assert!(
        isolation[1]
            .what
            .starts_with("cores 2-5 not in nohz_full (/sys/devices/system/cpu/nohz_full: empty)")
    );
    let fix = isolation[0].fix.as_deref().unwrap();
    assert!(
        fix.contains("isolcpus=2-5 nohz_full=2-5 rcu_nocbs=2-5 irqaffinity=0,1,6,7"),
        "{fix}"
    );

    let smt = warnings(&report, Check::Smt);
    assert_eq!(smt.len(), 2, "{report}");
    assert!(
        smt[0]
            .what
            .contains("core 2 shares a physical core with core 6"),
        "{}",
        smt[0].what
    );
    assert!(
        smt[0]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("add 6 to isolcpus=")
    );
    assert!(
        smt[1].what.starts_with("cores 4, 5 are SMT siblings"),
        "{}",
        smt[1].what
    );

    let governor = warnings(&report, Check::Governor);
    assert_eq!(governor.len(), 1);
    assert!(
        governor[0]
            .what
            .starts_with("core 3 not on the performance governor (3: powersave)")
    );
    assert!(
        governor[0]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("cpupower frequency-set -g performance")
    );

    let irqs = warnings(&report, Check::Irqs);
    assert_eq!(irqs.len(), 1);
    assert_eq!(
        irqs[0].what,
        "1 device IRQs may be handled on pinned core 3: 30 nvme0q1 (core 3, 5 so far)"
    );
    assert!(irqs[0].fix.as_deref().unwrap().starts_with(
        "irqaffinity=0,1,6,7 on the kernel command line, and irqbalance stopped or told \
         IRQBALANCE_BANNED_CPULIST=2-5"
    ));

    let thp = warnings(&report, Check::HugePages);
    assert_eq!(thp.len(), 1);
    assert!(
        thp[0]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("echo madvise > /sys/kernel/mm/transparent_hugepage/enabled")
    );

    assert_eq!(report.warnings(), 7);
    let output = host.run(&[]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.ends_with("7 findings hurt latency\n"), "{text}");
    assert!(text.contains("WARN  irqs       1 device IRQs"), "{text}");
    assert!(
        text.contains("\n                 fix: irqaffinity=0,1,6,7"),
        "{text}"
    );
    assert_eq!(host.run(&["--warn-only"]).status.code(), Some(0));
}

#[test]
fn a_vm_without_cpufreq_or_tickless_support_gets_info_lines() {
    // What this class of VM offers: no cpufreq directory, no nohz_full file, every core
    // pinned, IRQs everywhere.
    let host = FakeHost::new();
    host.write("sys/devices/system/cpu/online", "0-1\n");
    host.write("sys/devices/system/cpu/isolated", "\n");
    host.irqs(&[(26, "ttyS0", "1")]);
    host.write(
        "sys/kernel/mm/transparent_hugepage/enabled",
        "always [madvise] never\n",
    );
    let pinned = {
        let mut pinned = PinnedCores::default();
        pinned.add(0, "io");
        pinned.add(1, "shard 0");
        pinned
    };
    let report = klagg::check_host::check(&HostFs::new(host.root()), &pinned, "fake");
    let info: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Info)
        .map(|f| f.what.as_str())
        .collect();
    assert!(
        info.iter().any(|w| w.contains("no tickless support")),
        "{report}"
    );
    assert!(
        info.iter().any(
            |w| w.starts_with("no cpufreq/scaling_governor for cores 0, 1")
                && w.contains("usual on VMs")
        ),
        "{report}"
    );
    assert!(warnings(&report, Check::Governor).is_empty());
    assert!(
        warnings(&report, Check::Isolation).iter().any(|f| f
            .what
            .starts_with("every online core (0, 1) runs a pinned klagg thread")),
        "{report}"
    );
    assert!(!warnings(&report, Check::Irqs).is_empty());
}

#[test]
fn garbage_and_missing_files_are_reported_not_fatal() {
    let host = FakeHost::new();
    host.write("sys/devices/system/cpu/isolated", "two-five\n");
    host.siblings(2, "x");
    host.write("proc/interrupts", "nonsense\n 12: x y z\n");
    host.write("sys/kernel/mm/transparent_hugepage/enabled", "weird\n");
    let report = host.report();
    let text = report.to_string();
    assert!(text.contains("isolated is missing or unreadable"), "{text}");
    assert!(
        text.contains("no topology/thread_siblings_list for core 2"),
        "{text}"
    );
    assert!(text.contains("cannot read the mode in /sys/kernel/mm/transparent_hugepage/enabled"));
    assert!(
        text.contains("no device IRQ may be handled on a pinned core"),
        "{text}"
    );
}

#[test]
fn a_core_the_host_lacks_is_a_config_error_exit_1() {
    let host = FakeHost::tuned();
    host.write("sys/devices/system/cpu/online", "0-3\n");
    let output = host.run(&[]);
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.contains("threads.aggregator_cores[0] = 4: no such core; this machine has cores 0-3"),
        "{error}"
    );
}

#[test]
fn this_host_is_checked_without_errors() {
    // Whatever this machine is (a VM here), every check answers, and findings are not errors.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("klagg.toml");
    std::fs::write(
        &config,
        "[threads]\nio_cores = [0]\naggregator_cores = [0]\nconsumer_cores = [0]\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_klagg"))
        .args(["check-host", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 2)),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.starts_with("host       /\ncores      0 (io, shard 0, consumers)\n"),
        "{text}"
    );
    for check in ["isolation", "smt", "governor", "irqs", "thp"] {
        assert!(
            text.lines()
                .any(|line| line.get(6..).is_some_and(|rest| rest.starts_with(check))),
            "{check}: {text}"
        );
    }
}
