//! Which thread runs which stage: the rule the engine starts its threads by, and what
//! `check-config` shows. Stages the config gives the same core run in one thread; a stage
//! given no core runs in a thread of its own.

use std::fmt;

use crate::idle::IdleStrategy;

/// True when stages on `a` and `b` share a thread.
pub fn same_thread(a: Option<usize>, b: Option<usize>) -> bool {
    a.is_some() && a == b
}

/// One thread of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPlan {
    /// The core it is pinned to, if any.
    pub core: Option<usize>,
    /// What it runs, in step order.
    pub stages: Vec<String>,
    /// True when it is one connection alone on a core that may sleep: it blocks in its socket
    /// read instead of stepping a poll.
    pub blocking_read: bool,
}

/// The threads of `stages` (each: its core, what it is, whether it is an io connection), in
/// order of first appearance.
pub fn plan_threads(
    stages: &[(Option<usize>, String, bool)],
    idle: IdleStrategy,
) -> Vec<ThreadPlan> {
    let mut threads: Vec<(ThreadPlan, usize)> = Vec::new();
    for (core, what, io) in stages {
        let at = threads.iter().position(|(t, _)| same_thread(t.core, *core));
        let (thread, io_count) = match at {
            Some(at) => &mut threads[at],
            None => {
                threads.push((
                    ThreadPlan {
                        core: *core,
                        stages: Vec::new(),
                        blocking_read: false,
                    },
                    0,
                ));
                threads.last_mut().expect("just pushed")
            }
        };
        thread.stages.push(what.clone());
        *io_count += usize::from(*io);
    }
    threads
        .into_iter()
        .map(|(mut thread, io)| {
            thread.blocking_read =
                io == 1 && thread.stages.len() == 1 && matches!(idle, IdleStrategy::Park(_));
            thread
        })
        .collect()
}

impl fmt::Display for ThreadPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.core {
            Some(core) => write!(f, "core {core}: ")?,
            None => write!(f, "unpinned: ")?,
        }
        f.write_str(&self.stages.join(", "))?;
        if self.blocking_read {
            f.write_str(" (blocks in its socket read)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stage(core: Option<usize>, what: &str, io: bool) -> (Option<usize>, String, bool) {
        (core, what.to_owned(), io)
    }

    #[test]
    fn stages_on_one_core_share_a_thread_and_unpinned_ones_do_not() {
        let stages = [
            stage(Some(1), "io connection 0", true),
            stage(Some(1), "io connection 1", true),
            stage(None, "io connection 2", true),
            stage(Some(1), "shard 0", false),
            stage(None, "shard 1", false),
            stage(Some(1), "gateway", false),
        ];
        let park = IdleStrategy::Park(Duration::from_micros(200));
        let threads = plan_threads(&stages, park);
        let shown: Vec<String> = threads.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "core 1: io connection 0, io connection 1, shard 0, gateway",
                "unpinned: io connection 2 (blocks in its socket read)",
                "unpinned: shard 1",
            ]
        );
        // A spinning core never blocks in a read.
        assert!(!plan_threads(&stages, IdleStrategy::Spin)[1].blocking_read);
    }
}
