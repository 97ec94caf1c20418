//! One thing `check-host` found: what it is about, how much it matters, and the fix.

use std::fmt;

/// Which check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// Cores isolated from the scheduler and the timer tick.
    Isolation,
    /// SMT (hyper-thread) siblings of pinned cores.
    Smt,
    /// The CPU frequency governor.
    Governor,
    /// Device interrupts handled on pinned cores.
    Irqs,
    /// Transparent huge pages.
    HugePages,
}

impl Check {
    /// The short name printed before each finding.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Check::Isolation => "isolation",
            Check::Smt => "smt",
            Check::Governor => "governor",
            Check::Irqs => "irqs",
            Check::HugePages => "thp",
        }
    }
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// As it should be.
    Ok,
    /// Cannot be checked here, or does not apply (a VM without cpufreq); nothing to fix.
    Info,
    /// Hurts latency on the configured cores; has a fix.
    Warning,
}

/// One finding of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check it comes from.
    pub check: Check,
    /// How much it matters.
    pub severity: Severity,
    /// What was found, in a sentence.
    pub what: String,
    /// The plain fix, for warnings.
    pub fix: Option<String>,
}

impl Finding {
    /// Something as it should be.
    #[must_use]
    pub fn ok(check: Check, what: impl Into<String>) -> Finding {
        Finding {
            check,
            severity: Severity::Ok,
            what: what.into(),
            fix: None,
        }
    }

    /// Something that cannot be checked or does not apply.
    #[must_use]
    pub fn info(check: Check, what: impl Into<String>) -> Finding {
        Finding {
            check,
            severity: Severity::Info,
            what: what.into(),
            fix: None,
        }
    }

    /// Something that hurts latency, and its fix.
    #[must_use]
    pub fn warning(check: Check, what: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            check,
            severity: Severity::Warning,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Ok => "ok  ",
            Severity::Info => "info",
            Severity::Warning => "WARN",
        };
        write!(f, "{tag}  {:<9}  {}", self.check.name(), self.what)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n      {:<9}  fix: {fix}", "")?;
        }
        Ok(())
    }
}
