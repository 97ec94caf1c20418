//! Reading one input line by line into the replayer, with the bad-row policy applied.
//!
//! One line buffer is reused for the whole input and rows are parsed from its bytes in place,
//! so reading does not allocate per row.

use std::ops::ControlFlow;
use std::path::Path;

use crate::aggregator::TradeOutcome;
use crate::trade::AggTradePayload;

use super::capture::{self, CaptureLine};
use super::datavision;
use super::error::{BadRow, ReplayError, RowProblem};
use super::progress::Progress;
use super::replayer::Replayer;
use super::source::{self, Input, InputKind};
use super::summary::InputSummary;

/// Bad rows printed per input when they are skipped; the rest are only counted.
const SHOWN_BAD_ROWS: u64 = 5;

/// What a replay needs to know about the rows it reads.
#[derive(Debug, Clone, Copy)]
pub struct RowPolicy<'a> {
    /// Symbol whose trades are used from captures (ASCII case-insensitive).
    pub symbol: &'a str,
    /// Count and report bad rows instead of stopping at the first.
    pub skip_bad: bool,
}

/// Reads every line of `input` (opened from `path`) into `replayer`.
pub fn replay_input(
    path: &Path,
    input: Input<'_>,
    policy: RowPolicy<'_>,
    replayer: &mut Replayer,
    progress: &mut Progress,
) -> Result<InputSummary, ReplayError> {
    let mut summary = InputSummary::new(input.name, input.kind);
    source::for_each_line(path, input.reader, |text, line_number, first| {
        summary.rows += 1;
        let parsed = match input.kind {
            InputKind::DataVision if first && datavision::is_header(text) => Ok(None),
            InputKind::DataVision => datavision::parse_row(text, 0).map(Some),
            InputKind::Capture => match capture::parse_line(text, policy.symbol, 0) {
                Ok(CaptureLine::Trade(trade)) => Ok(Some(trade)),
                Ok(CaptureLine::Skip) => {
                    summary.skipped_events += 1;
                    Ok(None)
                }
                // The URL line that opens every capture.
                Ok(CaptureLine::NotFrame) if first => Ok(None),
                Ok(CaptureLine::NotFrame) => Err(RowProblem::row(text, "not a WebSocket frame")),
                Err(problem) => Err(problem),
            },
        };
        match parsed {
            Ok(Some(trade)) => apply(&trade, replayer, &mut summary)?,
            Ok(None) => {}
            Err(problem) => {
                let bad = BadRow {
                    input: summary.name.clone(),
                    line: line_number,
                    problem,
                };
                skip_or_stop(bad, policy.skip_bad, &mut summary)?;
            }
        }
        progress.row(&summary.name, summary.rows, replayer.stats().trades);
        Ok(ControlFlow::Continue(()))
    })?;
    if summary.bad_rows > SHOWN_BAD_ROWS {
        eprintln!(
            "warning: {}: {} more bad rows skipped without being shown",
            summary.name,
            summary.bad_rows - SHOWN_BAD_ROWS
        );
    }
    Ok(summary)
}

fn apply(
    trade: &AggTradePayload,
    replayer: &mut Replayer,
    summary: &mut InputSummary,
) -> Result<(), ReplayError> {
    summary.trades += 1;
    match replayer.apply(trade)? {
        TradeOutcome::Applied | TradeOutcome::Filled => summary.applied += 1,
        TradeOutcome::AppliedAfterGap => {
            summary.applied += 1;
            summary.gaps += 1;
        }
        TradeOutcome::Duplicate => summary.duplicates += 1,
        TradeOutcome::Invalid => summary.invalid += 1,
    }
    Ok(())
}

fn skip_or_stop(
    bad: BadRow,
    skip_bad: bool,
    summary: &mut InputSummary,
) -> Result<(), ReplayError> {
    if !skip_bad {
        return Err(ReplayError::BadRow(bad));
    }
    summary.bad_rows += 1;
    if summary.bad_rows <= SHOWN_BAD_ROWS {
        eprintln!("warning: skipped bad row: {bad}");
    }
    Ok(())
}
