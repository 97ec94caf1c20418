//! A thread of its own for async-nats: a current-thread tokio runtime confined to it, so no
//! tokio code runs on any other thread of the engine.

use std::future::Future;
use std::io;
use std::thread::JoinHandle;

/// Starts thread `name` and runs the future `task` makes there to completion on a
/// current-thread runtime; when the runtime cannot be built, `no_runtime` is told why instead.
///
/// # Errors
///
/// The thread cannot be started.
pub(crate) fn spawn_on_runtime<Task, Fut>(
    name: &str,
    task: Task,
    no_runtime: impl FnOnce(String) + Send + 'static,
) -> io::Result<JoinHandle<()>>
where
    Task: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(task()),
                Err(e) => no_runtime(format!("no runtime: {e}")),
            }
        })
}
