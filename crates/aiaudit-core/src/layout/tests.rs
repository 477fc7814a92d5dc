#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::merkle::{CompactRange, MemoryTree, NodeSource};
use crate::{Event, StoredCheckpoint, seal};

/// A store reduced to the layout: what a backend would hold after applying each plan.
#[derive(Default)]
struct Model {
    bundles: BTreeMap<u64, StoredBundle>,
    summaries: BTreeMap<u64, Vec<u8>>,
    tail: BTreeMap<u64, TailEntry>,
    tiles: BTreeMap<(u32, u64), Vec<u8>>,
    tile_tails: RefCell<BTreeMap<u32, TileTail>>,
    size: u64,
}

impl Head for Model {
    fn tail_from(&self, from: u64) -> Result<Vec<TailEntry>> {
        Ok(self.tail.range(from..).map(|(_, t)| t.clone()).collect())
    }
    fn tile_tail(&self, level: u32) -> Result<Option<TileTail>> {
        Ok(self.tile_tails.borrow().get(&level).cloned())
    }
}

impl Model {
    fn apply(&mut self, p: Plan<'_>) {
        assert_eq!(p.summaries.len(), p.bundles.len(), "a summary per bundle");
        for (b, s) in p.bundles.into_iter().zip(p.summaries) {
            assert!(self.summaries.insert(b.index, s).is_none());
            assert!(self.bundles.insert(b.index, b).is_none());
        }
        if let Some(below) = p.drop_tail_below {
            self.tail.retain(|s, _| *s >= below);
        }
        for e in p.tail {
            self.tail.insert(
                e.seq,
                TailEntry {
                    seq: e.seq,
                    time_ns: e.time_ns,
                    leaf_hash: e.leaf_hash,
                    data: e.data.clone(),
                },
            );
            self.size = self.size.max(e.seq + 1);
        }
        for t in p.tiles {
            assert!(self.tiles.insert((t.level, t.index), t.hashes).is_none());
        }
        for t in p.tile_tails {
            self.tile_tails.borrow_mut().insert(t.level, t);
        }
    }

    /// The hashes of `level` as the layout holds them: full tiles, then the tile tail (level
    /// 0: the tail's leaf hashes).
    fn level(&self, level: u32) -> Vec<Hash> {
        let mut out: Vec<Hash> = Vec::new();
        for ((_, _), h) in self.tiles.range((level, 0)..(level, u64::MAX)) {
            out.extend(h.chunks(32).map(|c| -> Hash { c.try_into().unwrap() }));
        }
        if level == 0 {
            out.extend(self.tail.values().map(|t| t.leaf_hash));
        } else if let Some(t) = self.tile_tails.borrow().get(&level) {
            out.extend(
                t.hashes
                    .chunks(32)
                    .map(|c| -> Hash { c.try_into().unwrap() }),
            );
        }
        out
    }
}

fn entry(seq: u64) -> StoredEntry {
    let event = Event::new("model_inference", format!("prediction {seq}"))
        .model(if seq.is_multiple_of(3) { "a" } else { "b" }, "1")
        .detail("latency_ms", seq as f64 / 8.0)
        .detail("n", seq);
    let id = format!("0190a5c4-0000-7000-8000-{seq:012}");
    let time = 1_795_000_000_000_000_000 + seq as i64 * 1_000;
    let mut data = Vec::new();
    seal(&event, seq, &id, time, &mut data).unwrap();
    StoredEntry::sealed(event, seq, id, time, data)
}

/// Appends batches of the given sizes through [`plan`], then checks every stored hash against
/// an in-memory tree and every record against what was sealed.
fn run(sizes: &[u64]) {
    let mut model = Model::default();
    let mut range = CompactRange::new();
    let mut all = Vec::new();
    let mut tree = MemoryTree::default();
    for &n in sizes {
        let entries: Vec<StoredEntry> = (model.size..model.size + n).map(entry).collect();
        let mut nodes = Vec::new();
        for e in &entries {
            tree.push(e.leaf_hash);
            range.append(e.leaf_hash, |c| {
                if c.level > 0 && c.level % NODE_STRIDE == 0 {
                    nodes.push(c);
                }
            });
        }
        let cp = StoredCheckpoint {
            size: range.size(),
            root: range.root(),
            note: String::new(),
            time_ns: 0,
        };
        let batch = AppendBatch {
            entries: &entries,
            nodes: &nodes,
            checkpoint: &cp,
        };
        let size = model.size;
        let p = plan(&batch, size, &model).unwrap();
        model.apply(p);
        model.size = size + n;
        all.extend(entries);
    }
    let total = all.len() as u64;
    assert_eq!(model.bundles.len() as u64, total / 256);
    assert_eq!(model.tail.len() as u64, total % 256);
    for level in (0..=24).step_by(NODE_STRIDE as usize) {
        let count = total >> level;
        let want = if count == 0 {
            Vec::new()
        } else {
            tree.stored_nodes(level, 0, count).unwrap()
        };
        assert_eq!(model.level(level), want, "level {level}");
    }
    for (n, b) in &model.bundles {
        let d = b.decode().unwrap();
        assert_eq!(b.first_id, all[(*n * 256) as usize].id);
        for i in 0..256 {
            let e = &all[(*n * 256) as usize + i];
            assert_eq!(d.record(i).unwrap(), e.data.as_slice());
            assert_eq!(d.times[i], e.time_ns);
        }
        let records = &all[(*n * 256) as usize..(*n * 256 + 256) as usize];
        let want = crate::summary::Summary::of(records.iter().map(|e| e.data.as_slice())).unwrap();
        assert_eq!(
            crate::summary::Summary::decode(&model.summaries[n]).unwrap(),
            want
        );
        assert_eq!(
            want.models.values().map(|m| m.predictions).sum::<u64>(),
            256
        );
    }
    assert_eq!(crate::summary::SPAN, BUNDLE_WIDTH);
}

#[test]
fn batches_across_bundle_and_tile_bounds() {
    run(&[1, 255, 1, 300, 256, 5000, 3, 70_000]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_batch_sizes_store_every_hash_once(sizes in proptest::collection::vec(1u64..700, 1..12)) {
        run(&sizes);
    }
}

#[test]
fn a_tail_that_does_not_meet_the_batch_is_damage() {
    let mut model = Model::default();
    let entries: Vec<StoredEntry> = (0..10).map(entry).collect();
    let cp = StoredCheckpoint {
        size: 10,
        root: [0; 32],
        note: String::new(),
        time_ns: 0,
    };
    let p = plan(
        &AppendBatch {
            entries: &entries,
            nodes: &[],
            checkpoint: &cp,
        },
        0,
        &model,
    )
    .unwrap();
    model.apply(p);
    model.tail.remove(&4);
    let more: Vec<StoredEntry> = (10..300).map(entry).collect();
    let e = plan(
        &AppendBatch {
            entries: &more,
            nodes: &[],
            checkpoint: &cp,
        },
        10,
        &model,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("the tail holds 9 rows from seq 0 where 10 were expected"),
        "{e}"
    );
    // A batch that does not start at the store's size.
    let e = plan(
        &AppendBatch {
            entries: &more,
            nodes: &[],
            checkpoint: &cp,
        },
        11,
        &model,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("seq 10 where 11 was expected"), "{e}");
}
