//! Writing metrics in the Prometheus text exposition format (version 0.0.4).

use std::fmt::Write as _;

/// One metric family: its samples share a name, a type and a help line.
pub struct Family<'a> {
    out: &'a mut String,
    name: &'a str,
}

/// What a family measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only grows (resets on restart).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Quantiles (samples labelled `quantile`) plus `_sum` and `_count` samples.
    Summary,
}

/// Starts a family: writes its `# HELP` and `# TYPE` lines.
pub fn family<'a>(out: &'a mut String, name: &'a str, kind: Kind, help: &str) -> Family<'a> {
    let kind = match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Summary => "summary",
    };
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
    Family { out, name }
}

impl Family<'_> {
    /// One sample of the family's `<name><suffix>` series, e.g. a summary's `_sum`.
    pub fn suffixed(&mut self, suffix: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = writeln!(self.out, "{}{suffix} {value}", self.name);
        self
    }

    /// One sample with the given labels (values escaped as the format requires).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) -> &mut Self {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{key}=\"{}\"", escape_label(value));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_samples_follow_the_text_format() {
        let mut out = String::new();
        family(
            &mut out,
            "klagg_frames_total",
            Kind::Counter,
            "Frames received.",
        )
        .sample(&[("connection", "0")], 12)
        .sample(&[("connection", "1")], 3);
        family(&mut out, "klagg_up", Kind::Gauge, "1 when \\ running\nnow").sample(&[], 1);
        family(&mut out, "klagg_x", Kind::Counter, "Odd label.").sample(&[("v", "a\"b\\c")], 0);
        assert_eq!(
            out,
            "# HELP klagg_frames_total Frames received.\n# TYPE klagg_frames_total counter\n\
             klagg_frames_total{connection=\"0\"} 12\nklagg_frames_total{connection=\"1\"} 3\n\
             # HELP klagg_up 1 when \\\\ running\\nnow\n# TYPE klagg_up gauge\nklagg_up 1\n\
             # HELP klagg_x Odd label.\n# TYPE klagg_x counter\nklagg_x{v=\"a\\\"b\\\\c\"} 0\n"
        );
    }
}
