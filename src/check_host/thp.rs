//! Transparent huge pages: with `enabled = always`, page faults may stop to compact memory
//! and khugepaged rewrites page tables under running threads: multi-millisecond stalls.

use super::finding::{Check, Finding};
use super::host::HostFs;

const ENABLED: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// The bracketed (selected) word of a sysfs choice such as `always [madvise] never`.
fn selected(text: &str) -> Option<&str> {
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(&text[start..end])
}

/// One finding about the THP mode.
pub fn check(host: &HostFs) -> Vec<Finding> {
    let Some(text) = host.read(ENABLED) else {
        return vec![Finding::info(
            Check::HugePages,
            format!("{ENABLED} is missing: this kernel has no transparent huge pages"),
        )];
    };
    match selected(&text) {
        Some("always") => vec![Finding::warning(
            Check::HugePages,
            format!(
                "transparent huge pages are \"always\" ({ENABLED}): faults may stall to \
                 compact memory and khugepaged collapses pages under running threads"
            ),
            format!(
                "echo madvise > {ENABLED} (or never), and transparent_hugepage=madvise on the \
                 kernel command line to keep it after a reboot"
            ),
        )],
        Some(mode @ ("madvise" | "never")) => vec![Finding::ok(
            Check::HugePages,
            format!("transparent huge pages are \"{mode}\""),
        )],
        _ => vec![Finding::info(
            Check::HugePages,
            format!("cannot read the mode in {ENABLED}: {text:?}"),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::selected;

    #[test]
    fn the_bracketed_word_is_the_mode() {
        assert_eq!(selected("always [madvise] never"), Some("madvise"));
        assert_eq!(selected("[always] madvise never"), Some("always"));
        assert_eq!(selected("always madvise never"), None);
    }
}
