//! Warnings about where threads land: a spinning thread never gives its core away, so any other
//! klagg thread pinned to the same core only runs when the scheduler preempts the spinner.

use std::collections::BTreeMap;

use super::settings::Settings;
use crate::idle::IdleStrategy;

/// The klagg threads pinned to one core.
#[derive(Default)]
struct CoreUse {
    io_connections: Vec<usize>,
    shards: Vec<usize>,
    consumers: bool,
}

impl CoreUse {
    fn threads(&self) -> usize {
        self.io_connections.len() + self.shards.len() + usize::from(self.consumers)
    }

    /// "the io thread of connection 0, aggregator shard 0 and consumer threads".
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.io_connections.as_slice() {
            [] => {}
            [one] => parts.push(format!("the io thread of connection {one}")),
            many => parts.push(format!("the io threads of connections {}", join(many))),
        }
        match self.shards.as_slice() {
            [] => {}
            [one] => parts.push(format!("aggregator shard {one}")),
            many => parts.push(format!("aggregator shards {}", join(many))),
        }
        if self.consumers {
            parts.push("consumer threads".to_owned());
        }
        match parts.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => parts.concat(),
        }
    }
}

/// With `idle = "spin"`, one warning per core that hosts more than one klagg thread.
/// `io_threads` is the number of connections (their upper bound when not yet known).
pub(crate) fn core_sharing_notes(settings: &Settings, io_threads: usize) -> Vec<String> {
    if settings.idle != IdleStrategy::Spin {
        return Vec::new();
    }
    let mut cores: BTreeMap<usize, CoreUse> = BTreeMap::new();
    for connection in 0..io_threads {
        if let Some(core) = settings.io_core_for(connection) {
            cores
                .entry(core)
                .or_default()
                .io_connections
                .push(connection);
        }
    }
    for (shard, core) in settings.shard_cores.iter().enumerate() {
        if let Some(core) = core {
            cores.entry(*core).or_default().shards.push(shard);
        }
    }
    for &core in &settings.consumer_cores {
        cores.entry(core).or_default().consumers = true;
    }
    cores
        .iter()
        .filter(|(_, used)| used.threads() > 1)
        .map(|(core, used)| {
            format!(
                "warning: idle = \"spin\" and core {core} runs {}: a spinning thread starves \
                 the others on its core; give each spinning thread a core of its own or use \
                 idle = \"park\"",
                used.describe()
            )
        })
        .collect()
}

fn join(indices: &[usize]) -> String {
    let items: Vec<String> = indices.iter().map(ToString::to_string).collect();
    items.join(", ")
}
