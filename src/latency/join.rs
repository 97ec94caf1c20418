//! Joins the stamp files of two processes (a simulator and an engine) into one run's latencies.

use std::collections::HashMap;

use super::{Latencies, Stage, Stamp, StampFile};

/// The engine stages a trade is expected to reach, besides the simulator's write; only those the
/// engine file holds are expected, so an engine that stamps fewer stages still joins.
const ENGINE_STAGES: [Stage; 3] = [Stage::FrameRead, Stage::Updated, Stage::Delivered];

/// The latencies of every trade stamped in `sim` and `engine`.
///
/// Each process numbers its symbols its own way, so stamps are renumbered into one index of
/// names first. The merged stamps are then given in time order, which [`Latencies::add`] needs
/// to let a delivery also deliver the earlier updated trades of its symbol.
pub fn join(sim: &StampFile, engine: &StampFile) -> Latencies {
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut stamps = Vec::with_capacity(sim.stamps.len() + engine.stamps.len());
    for file in [sim, engine] {
        let renumbered: Vec<u32> = (0..file.names.len())
            .map(|i| symbol_index(&mut index, &file.names[i]))
            .collect();
        for stamp in &file.stamps {
            let symbol = match renumbered.get(stamp.symbol as usize) {
                Some(&s) => s,
                // Unnamed symbols are named as StampFile::write names them.
                None => symbol_index(&mut index, &format!("#{}", stamp.symbol)),
            };
            stamps.push(Stamp { symbol, ..*stamp });
        }
    }
    // At equal times, path order: a write before its read, an update before its delivery.
    stamps.sort_by_key(|s| (s.at_ns, s.stage));
    let mut expected = vec![Stage::SimWrite];
    expected.extend(
        ENGINE_STAGES
            .into_iter()
            .filter(|&stage| engine.stamps.iter().any(|s| s.stage == stage)),
    );
    let mut latencies = Latencies::new(&expected);
    for stamp in &stamps {
        latencies.add(stamp);
    }
    latencies
}

fn symbol_index(index: &mut HashMap<String, u32>, name: &str) -> u32 {
    let next = index.len() as u32;
    *index.entry(name.to_owned()).or_insert(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::latency::Span;

    fn file(names: &[&str], stamps: Vec<Stamp>) -> StampFile {
        StampFile {
            names: names.iter().map(|&n| n.to_owned()).collect(),
            stamps,
            ..StampFile::default()
        }
    }

    #[test]
    fn joins_by_symbol_name_whatever_each_process_numbers_it() {
        // The simulator numbers BTC 0 and ETH 1, the engine the other way round.
        let sim = file(
            &["BTCUSDT", "ETHUSDT"],
            vec![
                Stamp::new(Stage::SimWrite, 0, 5, 1_000),
                Stamp::new(Stage::SimWrite, 1, 5, 2_000),
            ],
        );
        let engine = file(
            &["ETHUSDT", "BTCUSDT"],
            vec![
                // Out of time order in the file: the join sorts.
                Stamp::new(Stage::Delivered, 1, 5, 2_900),
                Stamp::new(Stage::FrameRead, 1, 5, 1_800),
                Stamp::new(Stage::Updated, 1, 5, 2_000),
                Stamp::new(Stage::FrameRead, 0, 5, 2_500),
            ],
        );
        let l = join(&sim, &engine);
        let sim_to_frame = l.summary(Span::SimToFrame);
        assert_eq!(sim_to_frame.count, 2);
        // BTC: 1000 -> 1800; ETH: 2000 -> 2500. (Values under 2048 ns are exact in the
        // histograms.)
        assert_eq!((sim_to_frame.p50, sim_to_frame.max), (500, 800));
        let end_to_end = l.summary(Span::EndToEnd);
        assert_eq!((end_to_end.count, end_to_end.max), (1, 1_900));
        assert_eq!(l.summary(Span::KlineToConsumer).max, 900);
        assert_eq!(l.waiting(Stage::SimWrite, Stage::Delivered), 1, "ETH");
        assert_eq!(l.waiting(Stage::SimWrite, Stage::FrameRead), 0);
    }

    #[test]
    fn an_engine_without_some_stages_still_joins() {
        let sim = file(&["A"], vec![Stamp::new(Stage::SimWrite, 0, 1, 100)]);
        let engine = file(&["A"], vec![Stamp::new(Stage::Updated, 0, 1, 400)]);
        let l = join(&sim, &engine);
        assert_eq!(l.summary(Span::EndToEnd).count, 0);
        assert_eq!(l.waiting(Stage::SimWrite, Stage::Updated), 0);
        assert_eq!(
            l.waiting(Stage::SimWrite, Stage::Delivered),
            0,
            "done: not expected"
        );
    }

    #[test]
    fn unnamed_symbols_join_by_their_written_name() {
        let sim = file(&[], vec![Stamp::new(Stage::SimWrite, 3, 1, 100)]);
        let engine = file(&["#3"], vec![Stamp::new(Stage::FrameRead, 0, 1, 350)]);
        assert_eq!(join(&sim, &engine).summary(Span::SimToFrame).max, 250);
    }
}
