//! A percentile plot as hand-written SVG text: one line per engine, the tail stretched on a log
//! scale. A few lines of `format!` do what a plotting dependency would, for one fixed plot.

use std::fmt::Write;

/// One engine's curve: latencies at quantiles, and its largest latency.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotLine {
    /// Legend text, e.g. `klagg  p99 12.3 µs`.
    pub label: String,
    /// (quantile in 0..1, latency in µs), best from [`plot_quantiles`].
    pub points: Vec<(f64, f64)>,
    /// The largest latency in µs, drawn at the `max` tick.
    pub max_us: f64,
}

/// The quantiles worth plotting: 0 to 0.9999, evenly spaced on the plot's log axis.
pub fn plot_quantiles() -> Vec<f64> {
    (0..=200)
        .map(|i| 1.0 - 10f64.powf(-f64::from(i) / 50.0))
        .collect()
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 660.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 450.0;
/// x ticks: (position in nines, i.e. log10(1/(1−q)), label). `max` sits one nine past p99.99.
const X_TICKS: [(f64, &str); 6] = [
    (std::f64::consts::LOG10_2, "50%"),
    (1.0, "90%"),
    (2.0, "99%"),
    (3.0, "99.9%"),
    (4.0, "99.99%"),
    (5.0, "max"),
];
const COLORS: [&str; 6] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// The SVG document of `lines` under `title`.
pub fn percentile_plot(title: &str, lines: &[PlotLine]) -> String {
    let values = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1).chain([l.max_us]))
        .filter(|v| v.is_finite() && *v > 0.0);
    let (min, max) = values.fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Whole decades, at least one; with no data an empty 1..10 µs frame.
    let lo = if max > 0.0 { min.log10().floor() } else { 0.0 };
    let hi = if max > 0.0 {
        max.log10().ceil().max(lo + 1.0)
    } else {
        1.0
    };
    let x = |nines: f64| LEFT + nines.clamp(0.0, 5.0) / 5.0 * (RIGHT - LEFT);
    let y = |us: f64| {
        let decades = us.max(10f64.powf(lo)).log10() - lo;
        BOTTOM - decades / (hi - lo) * (BOTTOM - TOP)
    };

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>\n\
         <text x=\"{:.1}\" y=\"30\" text-anchor=\"middle\" font-size=\"17\">{}</text>\n",
        (LEFT + RIGHT) / 2.0,
        escape(title)
    );
    for decade in (lo as i32)..=(hi as i32) {
        let py = y(10f64.powi(decade));
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{RIGHT}\" y2=\"{py:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            LEFT - 8.0,
            py + 4.0,
            decade_label(decade)
        );
    }
    for (nines, label) in X_TICKS {
        let px = x(nines);
        let _ = write!(
            svg,
            "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{BOTTOM}\" stroke=\"#ddd\"/>\n\
             <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>\n",
            BOTTOM + 20.0
        );
    }
    let _ = write!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" \
         stroke=\"#444\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">percentile (log scale of 1/(1 \
         \u{2212} q))</text>\n\
         <text transform=\"translate(24 {:.1}) rotate(-90)\" text-anchor=\"middle\">latency (log \
         scale)</text>\n",
        RIGHT - LEFT,
        BOTTOM - TOP,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 48.0,
        (TOP + BOTTOM) / 2.0
    );
    for (i, line) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut points: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|(q, us)| (0.0..1.0).contains(q) && us.is_finite() && *us > 0.0)
            .map(|&(q, us)| (x(-(1.0 - q).log10()), y(us)))
            .collect();
        if line.max_us.is_finite() && line.max_us > 0.0 {
            points.push((x(5.0), y(line.max_us)));
        }
        if !points.is_empty() {
            let coords: Vec<String> = points
                .iter()
                .map(|(px, py)| format!("{px:.1},{py:.1}"))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
                coords.join(" ")
            );
        }
        let ly = TOP + 10.0 + 24.0 * i as f64;
        let _ = write!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" \
             stroke-width=\"3\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            RIGHT + 16.0,
            RIGHT + 40.0,
            RIGHT + 48.0,
            ly + 4.0,
            escape(&line.label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// 10^decade µs as a person writes it: 100 ns, 1 µs, 10 ms, 1 s.
fn decade_label(decade: i32) -> String {
    let (unit, shift) = match decade {
        ..=-1 => ("ns", 3),
        0..=2 => ("\u{b5}s", 0),
        3..=5 => ("ms", -3),
        _ => ("s", -6),
    };
    format!("{} {unit}", 10f64.powi(decade + shift))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(label: &str, scale: f64) -> PlotLine {
        let points = plot_quantiles()
            .into_iter()
            .map(|q| (q, scale * (1.0 + 10.0 * q.powi(8))))
            .collect();
        PlotLine {
            label: label.into(),
            points,
            max_us: scale * 40.0,
        }
    }

    /// Each opened element is closed in order (or closes itself), the test's standard of valid.
    fn assert_balanced(svg: &str) {
        let mut open = Vec::new();
        for tag in svg.split('<').skip(1) {
            let tag = &tag[..tag.find('>').expect("tag ends")];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name), "{svg}");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap());
            }
        }
        assert!(open.is_empty(), "unclosed {open:?}");
    }

    #[test]
    fn one_polyline_per_engine_in_balanced_svg_with_finite_numbers() {
        let svg = percentile_plot(
            "end to end <sim → consumer>",
            &[line("klagg & co", 2.0), line("baseline", 30.0)],
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert_balanced(&svg);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("klagg &amp; co") && svg.contains("&lt;sim"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        for label in ["50%", "99.99%", "max", "1 \u{b5}s", "1 ms"] {
            assert!(svg.contains(&format!(">{label}<")), "{label}");
        }
    }

    #[test]
    fn no_data_still_makes_a_plot() {
        let empty = PlotLine {
            label: "idle".into(),
            points: vec![(0.5, 0.0)],
            max_us: 0.0,
        };
        let svg = percentile_plot("nothing", &[empty]);
        assert_balanced(&svg);
        assert_eq!(svg.matches("<polyline").count(), 0);
        assert!(svg.contains(">idle<"));
    }

    #[test]
    fn decades_read_in_their_unit() {
        let labels: Vec<String> = [-1, 0, 2, 3, 6].into_iter().map(decade_label).collect();
        assert_eq!(
            labels,
            ["100 ns", "1 \u{b5}s", "100 \u{b5}s", "1 ms", "1 s"]
        );
    }
}
