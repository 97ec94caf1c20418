//! What `klagg check-host` prints: the cores checked, one line per finding with its fix, and
//! a last line that says whether anything hurts latency.

use std::fmt;

use super::finding::{Finding, Severity};

/// Every finding of one `check-host` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The cores checked and what runs on them, for the header.
    pub cores: String,
    /// Where `/sys` and `/proc` were read.
    pub root: String,
    /// Findings in check order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Findings that hurt latency.
    #[must_use]
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }

    /// Whether nothing hurts latency.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.warnings() == 0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "host       {}", self.root)?;
        writeln!(f, "cores      {}", self.cores)?;
        writeln!(f)?;
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        writeln!(f)?;
        match self.warnings() {
            0 => writeln!(f, "clean: nothing found that hurts latency on these cores"),
            1 => writeln!(f, "1 finding hurts latency"),
            n => writeln!(f, "{n} findings hurt latency"),
        }
    }
}
