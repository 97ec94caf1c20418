//! The host's `/sys` and `/proc`, read under a root directory so tests can point the checks at
//! a fake tree.

use std::path::{Path, PathBuf};

use crate::config::parse_cpu_list;

/// A read-only view of the kernel's files under `root` (`/` on a real host).
#[derive(Debug, Clone)]
pub struct HostFs {
    root: PathBuf,
}

impl HostFs {
    /// The files under `root`: `root/sys/...`, `root/proc/...`.
    #[must_use]
    pub fn new(root: &Path) -> HostFs {
        HostFs {
            root: root.to_path_buf(),
        }
    }

    /// Where an absolute kernel path such as `/proc/interrupts` is under the root.
    #[must_use]
    pub fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// The file's text, trimmed; `None` if it does not exist or cannot be read.
    #[must_use]
    pub fn read(&self, absolute: &str) -> Option<String> {
        std::fs::read_to_string(self.path(absolute))
            .ok()
            .map(|text| text.trim().to_owned())
    }

    /// The file's CPU list (`0-3,8`); `None` if it is missing or not a CPU list.
    #[must_use]
    pub fn cpu_list(&self, absolute: &str) -> Option<Vec<usize>> {
        parse_cpu_list(&self.read(absolute)?)
    }

    /// The online CPUs (`/sys/devices/system/cpu/online`), if the file says.
    #[must_use]
    pub fn online_cpus(&self) -> Option<Vec<usize>> {
        self.cpu_list("/sys/devices/system/cpu/online")
    }
}
