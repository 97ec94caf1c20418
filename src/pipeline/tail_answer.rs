//! A shard's answer to the backfill's tail probe.

use crate::aggregator::TailView;

/// How a symbol's tail stood when its shard took the probe `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailAnswer {
    /// The probe's id, as the backfill sent it.
    pub id: u64,
    /// The shard's view; its symbol index is the shard's own until
    /// [`super::FillLinks::take_tail_answers`] makes it engine-wide.
    pub view: TailView,
}
