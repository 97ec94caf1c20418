//! The kernel's CPU list format (`0-3,8,10-11`), as `/sys/devices/system/cpu/isolated`,
//! `nohz_full`, `online`, `thread_siblings_list` and `/proc/irq/*/smp_affinity_list` write it.

/// The ids of a CPU list, ascending and distinct; `None` if the text is not one. An empty
/// (or all-whitespace) text is the empty list, as sysfs writes "no CPU".
#[must_use]
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut ids = Vec::new();
    let text = text.trim();
    if text.is_empty() {
        return Some(ids);
    }
    for part in text.split(',') {
        let part = part.trim();
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (number(first)?, number(last)?),
            None => (number(part)?, number(part)?),
        };
        // A range wider than any real machine is garbage, not a reason to allocate.
        if first > last || last - first > 65_536 {
            return None;
        }
        ids.extend(first..=last);
    }
    ids.sort_unstable();
    ids.dedup();
    Some(ids)
}

fn number(text: &str) -> Option<usize> {
    let text = text.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("5"), Some(vec![5]));
        assert_eq!(parse_cpu_list("3,1,1-2"), Some(vec![1, 2, 3]));
        assert_eq!(parse_cpu_list("\n"), Some(vec![]));
        assert_eq!(parse_cpu_list(""), Some(vec![]));
    }

    #[test]
    fn garbage_is_none() {
        for bad in ["a", "1-", "-1", "3-1", "1,,2", "0-99999999", "1:2"] {
            assert_eq!(parse_cpu_list(bad), None, "{bad}");
        }
    }
}
