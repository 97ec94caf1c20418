//! The stretches of a trade's path whose latency is reported.

use super::Stage;

/// A stretch between two stamped points (or, for [`Span::ExchangeToFrame`], from the
/// exchange's event time to the frame read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span {
    /// Exchange event time (`E`, wall clock, ms resolution) to frame read.
    ExchangeToFrame,
    /// Simulator write to frame read: the socket, both kernels and the WebSocket layer.
    SimToFrame,
    /// Frame read to payload pushed into the ring.
    FrameToPush,
    /// Payload pushed to kline updated: the ring and the aggregator.
    PushToKline,
    /// Kline updated to delivered to a consumer.
    KlineToConsumer,
    /// Frame read to kline updated: socket to kline inside the engine.
    FrameToKline,
    /// Simulator write to delivered to a consumer: the whole path.
    EndToEnd,
}

impl Span {
    /// Every span, in path order, the whole path last.
    pub const ALL: [Span; 7] = [
        Span::ExchangeToFrame,
        Span::SimToFrame,
        Span::FrameToPush,
        Span::PushToKline,
        Span::KlineToConsumer,
        Span::FrameToKline,
        Span::EndToEnd,
    ];

    /// The stamped points it runs between; `None` for [`Span::ExchangeToFrame`], which starts
    /// at the event time a frame-read stamp carries.
    pub fn stages(self) -> Option<(Stage, Stage)> {
        Some(match self {
            Span::ExchangeToFrame => return None,
            Span::SimToFrame => (Stage::SimWrite, Stage::FrameRead),
            Span::FrameToPush => (Stage::FrameRead, Stage::Pushed),
            Span::PushToKline => (Stage::Pushed, Stage::Updated),
            Span::KlineToConsumer => (Stage::Updated, Stage::Delivered),
            Span::FrameToKline => (Stage::FrameRead, Stage::Updated),
            Span::EndToEnd => (Stage::SimWrite, Stage::Delivered),
        })
    }

    /// The name in reports, CSV files and metric names.
    pub fn name(self) -> &'static str {
        match self {
            Span::ExchangeToFrame => "exchange_to_frame",
            Span::SimToFrame => "sim_to_frame",
            Span::FrameToPush => "frame_to_push",
            Span::PushToKline => "push_to_kline",
            Span::KlineToConsumer => "kline_to_consumer",
            Span::FrameToKline => "frame_to_kline",
            Span::EndToEnd => "end_to_end",
        }
    }

    /// Position in [`Span::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_run_forward_along_the_path() {
        for (i, span) in Span::ALL.into_iter().enumerate() {
            assert_eq!(span.index(), i);
            if let Some((from, to)) = span.stages() {
                assert!(from < to, "{}", span.name());
            }
        }
    }
}
