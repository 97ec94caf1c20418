//! Core ids: which ones this machine offers, and checking the ones a config asks for.
//!
//! Ids are checked before any thread is pinned because a bad id is not a clean error later:
//! `core_affinity` writes the id into a fixed 1024-bit `cpu_set_t`, and an id of 1024 or more
//! aborts the process inside libc. Such ids are therefore rejected here, by value, and never
//! reach `core_affinity`.

use std::fmt::Write as _;

use super::error::{ConfigError, invalid};

/// Ids at or above this do not fit a `cpu_set_t` (`CPU_SETSIZE`).
pub const CORE_ID_LIMIT: usize = 1024;

/// Cores this process may pin threads to, ascending: its affinity mask as `core_affinity`
/// reports it, plus the cores the kernel isolates (`isolcpus=`, listed in
/// `/sys/devices/system/cpu/isolated`).
///
/// Isolated cores are taken out of every process's default mask, yet they are the very cores
/// a dedicated host gives klagg's pinned threads, and a thread may pin itself to them (as
/// `taskset -c` does); without them `check-config` in a login shell would call them missing.
///
/// Call it on the main thread before pinning anything: the answer is the calling thread's
/// affinity mask, so a pinned thread would only see its own core. Empty where pinning is not
/// supported.
#[must_use]
pub fn available_cores() -> Vec<usize> {
    let mut ids: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|core| core.id)
        .collect();
    if !ids.is_empty() {
        ids.extend(
            isolated_cores()
                .into_iter()
                .filter(|&id| id < CORE_ID_LIMIT),
        );
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The cores `isolcpus=` isolates; empty when there are none or sysfs cannot tell.
#[must_use]
pub fn isolated_cores() -> Vec<usize> {
    std::fs::read_to_string("/sys/devices/system/cpu/isolated")
        .ok()
        .and_then(|text| super::cpu_list::parse_cpu_list(&text))
        .unwrap_or_default()
}

/// Checks every id of the list at `key` (e.g. `threads.io_cores`) against `available`.
pub(crate) fn check_cores(
    key: &str,
    ids: &[i64],
    available: &[usize],
) -> Result<Vec<usize>, ConfigError> {
    ids.iter()
        .enumerate()
        .map(|(i, &id)| check_core(&format!("{key}[{i}]"), id, available))
        .collect()
}

/// Checks one core id: not negative, below [`CORE_ID_LIMIT`], and one this machine offers.
fn check_core(key: &str, id: i64, available: &[usize]) -> Result<usize, ConfigError> {
    let machine = describe_machine(available);
    let Ok(core) = usize::try_from(id) else {
        return Err(invalid(
            key,
            id,
            format!("core ids are 0 or more; {machine}"),
        ));
    };
    if core >= CORE_ID_LIMIT {
        return Err(invalid(
            key,
            id,
            format!(
                "core ids must be below {CORE_ID_LIMIT} (larger ids abort the process inside \
                 libc when pinning); {machine}"
            ),
        ));
    }
    if !available.contains(&core) {
        return Err(invalid(key, id, format!("no such core; {machine}")));
    }
    Ok(core)
}

/// "this machine has cores 0, 1" (or why there are none), for error messages.
fn describe_machine(available: &[usize]) -> String {
    if available.is_empty() {
        "this machine reports no cores klagg can pin to; use [] to run unpinned".to_owned()
    } else {
        format!("this machine has cores {}", format_cores(available))
    }
}

/// Lists ids compactly: runs of three or more become `a-b` (`0-15, 32`), others stay single.
#[must_use]
pub fn format_cores(ids: &[usize]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut end = i;
        while end + 1 < sorted.len() && sorted[end + 1] == sorted[end] + 1 {
            end += 1;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        if end - i >= 2 {
            let _ = write!(out, "{}-{}", sorted[i], sorted[end]);
            i = end + 1;
        } else {
            let _ = write!(out, "{}", sorted[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ids_pass() {
        assert_eq!(check_cores("t.c", &[1, 0, 1], &[0, 1]).unwrap(), [1, 0, 1]);
        assert!(check_cores("t.c", &[], &[]).unwrap().is_empty());
    }

    #[test]
    fn bad_ids_name_key_value_and_machine() {
        let error = check_cores("threads.io_cores", &[0, 7], &[0, 1]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "threads.io_cores[1] = 7: no such core; this machine has cores 0, 1"
        );
        let error = check_cores("threads.io_cores", &[-1], &[0, 1]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "threads.io_cores[0] = -1: core ids are 0 or more; this machine has cores 0, 1"
        );
        let error = check_cores("threads.io_cores", &[0], &[]).unwrap_err();
        assert!(
            error.to_string().contains("no cores klagg can pin to"),
            "{error}"
        );
    }

    #[test]
    fn ids_from_1024_are_rejected_even_if_listed() {
        // Even a (bogus) available list containing 1024 must not let it through.
        let error = check_cores("threads.consumer_cores", &[1024], &[0, 1024]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("threads.consumer_cores[0] = 1024: core ids must be below 1024"),
            "{error}"
        );
        assert!(check_cores("k", &[i64::MAX], &[0]).is_err());
    }

    #[test]
    fn core_lists_are_compact() {
        assert_eq!(format_cores(&[0, 1]), "0, 1");
        assert_eq!(format_cores(&[0, 1, 2, 3, 8, 10, 11]), "0-3, 8, 10, 11");
        assert_eq!(format_cores(&[5, 4, 3]), "3-5");
        assert_eq!(format_cores(&[]), "");
    }

    #[test]
    fn available_cores_are_sorted_and_below_the_limit() {
        let cores = available_cores();
        assert!(cores.windows(2).all(|w| w[0] < w[1]));
        assert!(cores.iter().all(|&c| c < CORE_ID_LIMIT));
    }
}
