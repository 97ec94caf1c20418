//! Which interval folds into which: the shape every symbol's klines share.
//!
//! Node 0 is the symbol's leaf, the one-second kline every trade writes. Every other node is
//! one configured interval, and its parent is the coarsest finer node whose periods tile its
//! own (every boundary of the node is a boundary of the parent): a closed parent period is
//! then folded whole into it. For the 16 standard intervals that makes the leaf feed `1m`,
//! `1m` feed `3m` and `5m`, ... `1d` feed `3d`, `1w` and `1M`, so a second that closes is
//! folded once, a minute that closes a few times, and a trade writes only the leaf. Nodes are
//! numbered so that a parent comes before its children: walking them in order closes fine
//! periods before the coarse ones they fold into.

use crate::interval::Interval;

/// Most nodes of a symbol: the leaf and one per interval.
pub(crate) const MAX_NODES: usize = super::config::MAX_INTERVALS + 1;

/// Marks the leaf's missing parent.
const NO_PARENT: usize = usize::MAX;

const DAY_MS: i64 = 86_400_000;

/// The fold structure of a shard's intervals.
#[derive(Debug, Clone)]
pub(crate) struct FoldTree {
    /// Period rule of each node (the leaf's is `1s`).
    rules: Vec<Interval>,
    parents: Vec<usize>,
    /// Depth of each node below the leaf (the leaf is 0).
    levels: Vec<u8>,
    /// Children of each node, as ranges into `child_list`.
    children: Vec<(usize, usize)>,
    child_list: Vec<usize>,
    /// The configured interval index each node's klines are published as; the leaf has none
    /// unless `1s` is configured.
    outputs: Vec<Option<u16>>,
    /// The node of each configured interval.
    node_of: Vec<usize>,
}

impl FoldTree {
    /// The tree of `intervals` (at most [`super::MAX_INTERVALS`], none repeated).
    pub(crate) fn new(intervals: &[Interval]) -> FoldTree {
        let second = Interval::standard()[0];
        let mut order: Vec<usize> = (0..intervals.len())
            .filter(|&i| intervals[i] != second)
            .collect();
        order.sort_by_key(|&i| (length_key(&intervals[i]), i));
        let mut rules = vec![second];
        let mut outputs = vec![
            intervals
                .iter()
                .position(|i| *i == second)
                .map(|i| i as u16),
        ];
        let mut node_of = vec![0; intervals.len()];
        for &i in &order {
            node_of[i] = rules.len();
            rules.push(intervals[i]);
            outputs.push(Some(i as u16));
        }
        let mut parents = vec![NO_PARENT];
        let mut levels = vec![0u8];
        for node in 1..rules.len() {
            // Nodes before this one are no longer; the last that tiles it is the coarsest.
            let parent = (0..node)
                .rev()
                .find(|&p| tiles(&rules[p], &rules[node]))
                .unwrap_or(0);
            parents.push(parent);
            levels.push(levels[parent] + 1);
        }
        let mut children = Vec::with_capacity(rules.len());
        let mut child_list = Vec::with_capacity(rules.len());
        for node in 0..rules.len() {
            let start = child_list.len();
            child_list.extend((node + 1..rules.len()).filter(|&c| parents[c] == node));
            children.push((start, child_list.len()));
        }
        FoldTree {
            rules,
            parents,
            levels,
            children,
            child_list,
            outputs,
            node_of,
        }
    }

    /// How many nodes a symbol has.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }

    /// The period rule of `node`.
    #[inline]
    pub(crate) fn rule(&self, node: usize) -> Interval {
        self.rules[node]
    }

    /// The node `node` folds from, if it is not the leaf.
    #[inline]
    pub(crate) fn parent(&self, node: usize) -> Option<usize> {
        let parent = self.parents[node];
        (parent != NO_PARENT).then_some(parent)
    }

    /// Depth below the leaf.
    #[inline]
    pub(crate) fn level(&self, node: usize) -> u8 {
        self.levels[node]
    }

    /// The nodes that fold `node`'s closed periods in.
    #[inline]
    pub(crate) fn children(&self, node: usize) -> &[usize] {
        let (start, end) = self.children[node];
        &self.child_list[start..end]
    }

    /// The configured interval `node` is published as, if any.
    #[inline]
    pub(crate) fn output(&self, node: usize) -> Option<u16> {
        self.outputs[node]
    }

    /// The node of configured interval `interval`.
    #[inline]
    pub(crate) fn node_of(&self, interval: usize) -> usize {
        self.node_of[interval]
    }
}

/// Orders intervals from fine to coarse; a calendar month is coarser than any fixed length it
/// can be tiled by (a day at most).
fn length_key(interval: &Interval) -> i64 {
    interval.fixed_len_ms().unwrap_or(i64::MAX)
}

/// True when every period boundary of `coarse` is one of `fine`, so that whole periods of
/// `fine` make up each period of `coarse`.
fn tiles(fine: &Interval, coarse: &Interval) -> bool {
    match (fine.fixed_len_ms(), coarse.fixed_len_ms()) {
        (Some(f), Some(c)) => {
            let boundary = coarse.open_time(0);
            c % f == 0 && fine.open_time(boundary) == boundary
        }
        // Months start at midnight UTC, and the epoch is a month start.
        (Some(f), None) => DAY_MS % f == 0 && fine.open_time(0) == 0,
        (None, None) => true,
        (None, Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tree: &FoldTree, nodes: impl IntoIterator<Item = usize>) -> Vec<String> {
        nodes
            .into_iter()
            .map(|n| tree.rule(n).to_string())
            .collect()
    }

    fn parent_name(tree: &FoldTree, interval: &str) -> String {
        let node = (0..tree.len())
            .find(|&n| tree.rule(n).to_string() == interval)
            .expect("interval in tree");
        tree.rule(tree.parent(node).expect("not the leaf"))
            .to_string()
    }

    #[test]
    fn the_standard_intervals_fold_through_their_coarsest_divisor() {
        let tree = FoldTree::new(&Interval::standard());
        assert_eq!(tree.len(), 16, "1s is the leaf itself");
        assert_eq!(tree.output(0), Some(0));
        let expected = [
            ("1m", "1s"),
            ("3m", "1m"),
            ("5m", "1m"),
            ("15m", "5m"),
            ("30m", "15m"),
            ("1h", "30m"),
            ("2h", "1h"),
            ("4h", "2h"),
            ("6h", "2h"),
            ("8h", "4h"),
            ("12h", "6h"),
            ("1d", "12h"),
            ("3d", "1d"),
            ("1w", "1d"),
            ("1M", "1d"),
        ];
        for (interval, parent) in expected {
            assert_eq!(parent_name(&tree, interval), parent, "parent of {interval}");
        }
        assert_eq!(names(&tree, tree.children(0).iter().copied()), ["1m"]);
        for node in 1..tree.len() {
            assert!(tree.parent(node).unwrap() < node, "parents come first");
            let interval = tree.output(node).unwrap() as usize;
            assert_eq!(tree.node_of(interval), node);
        }
    }

    #[test]
    fn custom_intervals_fold_from_what_tiles_them() {
        let tree = FoldTree::new(&Interval::parse_list("7m,10s,1m,1w,7d,90s").unwrap());
        assert_eq!(
            tree.output(0),
            None,
            "an internal leaf when 1s is not configured"
        );
        assert_eq!(parent_name(&tree, "10s"), "1s");
        assert_eq!(parent_name(&tree, "1m"), "10s");
        assert_eq!(
            parent_name(&tree, "90s"),
            "10s",
            "a minute does not tile 90 s"
        );
        assert_eq!(parent_name(&tree, "7m"), "1m");
        // Weeks start on Monday, 7d periods on Thursday: neither tiles the other, and 7m
        // periods, epoch-aligned, miss Monday midnight.
        assert_eq!(parent_name(&tree, "7d"), "7m");
        assert_eq!(parent_name(&tree, "1w"), "90s");
    }
}
