//! Latency measurement across processes: stamps of each trade at each [`Stage`] on one
//! system-wide clock, written to [`StampFile`]s after a run and joined into per-stage
//! percentiles by `klagg latency-report` (used by `scripts/latency.sh`, for klagg and for the
//! tokio baseline alike).

mod clock;
mod join;
mod latencies;
mod report;
mod run_spec;
mod span;
mod stage;
mod stamp;
mod stamp_file;
mod svg_plot;
mod throughput;

pub use clock::monotonic_ns;
pub use join::join;
pub use latencies::{Latencies, SpanSummary};
pub use report::{CSV_HEADER, REPORTED_SPANS, RunReport, latency_csv, latency_report, latency_svg};
pub use run_spec::{RUN_FORM, RunSpec, check_unique_names};
pub use span::Span;
pub use stage::Stage;
pub use stamp::{Sampling, Stamp};
pub use stamp_file::StampFile;
pub use svg_plot::{PlotLine, percentile_plot, plot_quantiles};
pub use throughput::{Throughput, throughput_report};
