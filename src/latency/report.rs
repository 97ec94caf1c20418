//! `klagg latency-report` (latency mode): each run's stamp files joined into span percentiles,
//! printed as a table, written as CSV and an SVG plot, and summed up in `RESULT` lines.

use std::fmt::Write;
use std::path::Path;

use super::svg_plot::{PlotLine, percentile_plot, plot_quantiles};
use super::{Latencies, RunSpec, Span, SpanSummary, Stage, StampFile, join};

/// The spans reported, in path order, the whole path last.
pub const REPORTED_SPANS: [Span; 5] = [
    Span::SimToFrame,
    Span::FrameToPush,
    Span::PushToKline,
    Span::KlineToConsumer,
    Span::EndToEnd,
];

/// The header of `latency.csv`.
pub const CSV_HEADER: &str = "engine,span,count,p50_us,p90_us,p99_us,p999_us,p9999_us,max_us";

/// One engine's run, joined.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The engine's name.
    pub name: String,
    /// Trades the simulator sent and stamped.
    pub msgs: u64,
    /// Stamped trades sent and never delivered to a consumer (never reaching the engine's last
    /// stamped stage, if it stamps no deliveries).
    pub lost: u64,
    /// Stamped trades sent and never read by the engine.
    pub not_read: u64,
    /// Stamps both processes could not keep: trades missing from the percentiles.
    pub dropped: u64,
    /// The joined latencies.
    pub latencies: Latencies,
}

impl RunReport {
    /// Joins the simulator's and the engine's stamps of the run named `name`.
    pub fn new(name: &str, sim: &StampFile, engine: &StampFile) -> RunReport {
        let latencies = join(sim, engine);
        RunReport {
            name: name.to_owned(),
            msgs: sim
                .stamps
                .iter()
                .filter(|s| s.stage == Stage::SimWrite)
                .count() as u64,
            lost: latencies.waiting(Stage::SimWrite, Stage::Delivered),
            not_read: latencies.waiting(Stage::SimWrite, Stage::FrameRead),
            dropped: sim.dropped + engine.dropped,
            latencies,
        }
    }

    /// The percentiles of `span`.
    pub fn summary(&self, span: Span) -> SpanSummary {
        self.latencies.summary(span)
    }

    /// A readable table of every reported span, in µs.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{}: {} trades sent and stamped, {} lost (never delivered), {} never read, \
             {} stamps dropped\n  {:<18} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  (\u{b5}s)\n",
            self.name,
            self.msgs,
            self.lost,
            self.not_read,
            self.dropped,
            "span",
            "count",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "p99.99",
            "max"
        );
        for span in REPORTED_SPANS {
            let s = self.summary(span);
            let _ = write!(out, "  {:<18} {:>9}", span.name(), s.count);
            for ns in percentiles(&s) {
                let _ = write!(out, " {:>9}", us(ns));
            }
            out.push('\n');
        }
        out
    }

    /// `RESULT engine=NAME p50_us=X p99_us=X p999_us=X msgs=N lost=N`, of the whole path.
    pub fn result_line(&self) -> String {
        let s = self.summary(Span::EndToEnd);
        format!(
            "RESULT engine={} p50_us={} p99_us={} p999_us={} msgs={} lost={}",
            self.name,
            us(s.p50),
            us(s.p99),
            us(s.p999),
            self.msgs,
            self.lost
        )
    }

    /// What the reader should know before trusting the numbers.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.dropped > 0 {
            warnings.push(format!(
                "warning: {}: {} stamps were dropped (stamp buffers full); the percentiles miss \
                 those trades",
                self.name, self.dropped
            ));
        }
        if self.summary(Span::EndToEnd).count == 0 {
            warnings.push(format!(
                "warning: {}: no end_to_end latencies (no trade has both a sim_write and a \
                 delivered stamp)",
                self.name
            ));
        }
        warnings
    }

    /// The end-to-end percentile curve, for the plot.
    fn plot_line(&self) -> PlotLine {
        let quantiles = plot_quantiles();
        let curve = self.latencies.curve(Span::EndToEnd, &quantiles);
        let s = self.summary(Span::EndToEnd);
        PlotLine {
            label: format!("{}  p99 {} \u{b5}s", self.name, us(s.p99)),
            points: quantiles
                .into_iter()
                .zip(curve)
                .map(|(q, ns)| (q, ns as f64 / 1e3))
                .collect(),
            max_us: s.max as f64 / 1e3,
        }
    }
}

/// `latency.csv`: [`CSV_HEADER`] and one row per run and reported span.
pub fn latency_csv(reports: &[RunReport]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for report in reports {
        for span in REPORTED_SPANS {
            let s = report.summary(span);
            let _ = write!(out, "{},{},{}", report.name, span.name(), s.count);
            for ns in percentiles(&s) {
                let _ = write!(out, ",{}", us(ns));
            }
            out.push('\n');
        }
    }
    out
}

/// The end-to-end percentile plot of every run, as SVG.
pub fn latency_svg(reports: &[RunReport]) -> String {
    let lines: Vec<PlotLine> = reports.iter().map(RunReport::plot_line).collect();
    percentile_plot("End to end: simulator write to consumer delivery", &lines)
}

/// Joins every run, writes `out_dir/latency.csv` and `out_dir/latency.svg`, and returns what to
/// print: the tables, the files written, warnings, and one `RESULT` line per run last.
pub fn latency_report(runs: &[RunSpec], out_dir: &Path) -> Result<String, String> {
    let mut reports = Vec::with_capacity(runs.len());
    for run in runs {
        let (sim, engine) = run.load()?;
        reports.push(RunReport::new(&run.name, &sim, &engine));
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut out = String::new();
    for report in &reports {
        out.push_str(&report.table());
        out.push('\n');
    }
    for (name, text) in [
        ("latency.csv", latency_csv(&reports)),
        ("latency.svg", latency_svg(&reports)),
    ] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let _ = writeln!(out, "wrote {}", path.display());
    }
    for report in &reports {
        for warning in report.warnings() {
            let _ = writeln!(out, "{warning}");
        }
    }
    for report in &reports {
        let _ = writeln!(out, "{}", report.result_line());
    }
    Ok(out)
}

fn percentiles(s: &SpanSummary) -> [u64; 6] {
    [s.p50, s.p90, s.p99, s.p999, s.p9999, s.max]
}

/// Nanoseconds as µs with one decimal.
fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::Stamp;

    /// Trades 1..=4 of one symbol; the engine delivers 1 to 3 (3 covers 1 and 2) and never
    /// reads 4. Every latency is under 2048 ns, where the histograms are exact.
    fn files() -> (StampFile, StampFile) {
        let mut sim = StampFile {
            names: vec!["ETHUSDT".into(), "BTCUSDT".into()],
            dropped: 2,
            trades: 4,
            ..StampFile::default()
        };
        let mut engine = StampFile {
            names: vec!["BTCUSDT".into()],
            trades: 3,
            ..StampFile::default()
        };
        for id in 1..=4u64 {
            sim.stamps
                .push(Stamp::new(Stage::SimWrite, 1, id as i64, id * 10_000));
        }
        for id in 1..=3u64 {
            let t = id * 10_000;
            engine.stamps.extend([
                Stamp::new(Stage::FrameRead, 0, id as i64, t + 1_000),
                Stamp::new(Stage::Pushed, 0, id as i64, t + 1_100),
                Stamp::new(Stage::Updated, 0, id as i64, t + 1_200),
            ]);
        }
        engine
            .stamps
            .push(Stamp::new(Stage::Delivered, 0, 3, 31_500));
        (sim, engine)
    }

    #[test]
    fn counts_messages_losses_and_drops() {
        let (sim, engine) = files();
        let r = RunReport::new("klagg", &sim, &engine);
        assert_eq!((r.msgs, r.lost, r.not_read, r.dropped), (4, 1, 1, 2));
        let e2e = r.summary(Span::EndToEnd);
        // 1 and 2 are delivered by 3's delivery at 31.5 µs.
        assert_eq!(e2e.count, 3);
        assert_eq!(r.summary(Span::FrameToPush).max, 100);
        let warnings = r.warnings().join("\n");
        assert!(warnings.contains("2 stamps were dropped"), "{warnings}");
    }

    #[test]
    fn result_line_has_the_exact_form() {
        let (sim, mut engine) = files();
        engine.stamps.retain(|s| s.stage != Stage::Delivered);
        engine
            .stamps
            .push(Stamp::new(Stage::Delivered, 0, 1, 11_500));
        let r = RunReport::new("klagg", &sim, &engine);
        assert_eq!(
            r.result_line(),
            "RESULT engine=klagg p50_us=1.5 p99_us=1.5 p999_us=1.5 msgs=4 lost=3"
        );
    }

    #[test]
    fn csv_has_a_row_per_engine_and_span() {
        let (sim, engine) = files();
        let reports = [
            RunReport::new("klagg", &sim, &engine),
            RunReport::new("baseline", &sim, &engine),
        ];
        let text = latency_csv(&reports);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines.len(), 1 + 2 * REPORTED_SPANS.len());
        assert!(lines.contains(&"klagg,frame_to_push,3,0.1,0.1,0.1,0.1,0.1,0.1"));
        assert!(lines.contains(&"baseline,sim_to_frame,3,1.0,1.0,1.0,1.0,1.0,1.0"));
        assert!(lines.iter().all(|l| l.split(',').count() == 9));
    }

    #[test]
    fn writes_both_files_and_ends_with_results() {
        let dir = tempfile::tempdir().unwrap();
        let (sim, engine) = files();
        let (sim_path, engine_path) = (dir.path().join("s.csv"), dir.path().join("e.csv"));
        sim.write(&sim_path).unwrap();
        engine.write(&engine_path).unwrap();
        let arg = format!("klagg={},{}", sim_path.display(), engine_path.display());
        let out_dir = dir.path().join("out/latency");
        let text = latency_report(&[RunSpec::parse(&arg).unwrap()], &out_dir).unwrap();
        assert!(text.contains("  end_to_end"), "{text}");
        let last = text.lines().last().unwrap();
        assert!(last.starts_with("RESULT engine=klagg p50_us="), "{text}");
        assert!(last.ends_with(" msgs=4 lost=1"), "{text}");
        let svg = std::fs::read_to_string(out_dir.join("latency.svg")).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 1);
        let csv = std::fs::read_to_string(out_dir.join("latency.csv")).unwrap();
        assert!(csv.starts_with(CSV_HEADER));
    }
}
