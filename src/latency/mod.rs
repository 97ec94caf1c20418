//! Latency measurement across processes: stamps of each trade at each [`Stage`] on one
//! system-wide clock, written to [`StampFile`]s after a run and joined into per-stage
//! percentiles by `klagg latency-report` (used by `scripts/latency.sh`, for klagg and for the
//! tokio baseline alike).

mod clock;
mod latencies;
mod span;
mod stage;
mod stamp;
mod stamp_file;

pub use clock::monotonic_ns;
pub use latencies::{Latencies, SpanSummary};
pub use span::Span;
pub use stage::Stage;
pub use stamp::{Sampling, Stamp};
pub use stamp_file::StampFile;
