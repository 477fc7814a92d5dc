//! `Idempotency-Key`: a client that retries a POST whose answer it never saw sends the same
//! key, and gets the first attempt's answer instead of a second copy of its events. A retry
//! that arrives while the first attempt is still running waits for it. Keys are per token and
//! remembered for the last [`REMEMBERED`] requests, or fewer when their answers hold more than
//! [`MAX_EVENTS`] event ids in all; a restart forgets them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Most keys remembered.
pub const REMEMBERED: usize = 16_384;

/// Most events the remembered answers may describe in all (their ids are the memory).
pub const MAX_EVENTS: usize = 1_000_000;

/// A remembered answer, or the slot the first attempt fills.
pub type Slot<T> = Arc<OnceCell<T>>;

struct Inner<T> {
    slots: HashMap<String, Slot<T>>,
    /// Keys in arrival order, with the events their answer holds (1 until known).
    order: VecDeque<(String, usize)>,
    events: usize,
}

/// Remembered keys, oldest evicted first.
pub struct Keys<T> {
    inner: Mutex<Inner<T>>,
}

impl<T> Default for Keys<T> {
    fn default() -> Self {
        Keys {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                order: VecDeque::new(),
                events: 0,
            }),
        }
    }
}

fn full_key(token: &str, key: &str) -> String {
    format!("{token}\n{key}")
}

impl<T> Keys<T> {
    /// The slot of `key` for `token`, made if new.
    pub fn slot(&self, token: &str, key: &str) -> Slot<T> {
        let full = full_key(token, key);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = g.slots.get(&full) {
            return Arc::clone(s);
        }
        let slot = Arc::new(OnceCell::new());
        g.slots.insert(full.clone(), Arc::clone(&slot));
        g.order.push_back((full, 1));
        g.events += 1;
        Self::evict(&mut g);
        slot
    }

    /// Records that the answer under `key` describes `events` events.
    pub fn settle(&self, token: &str, key: &str, events: usize) {
        let full = full_key(token, key);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut delta = 0isize;
        if let Some(entry) = g.order.iter_mut().rev().find(|(k, _)| *k == full) {
            delta = events as isize - entry.1 as isize;
            entry.1 = events;
        }
        g.events = g.events.saturating_add_signed(delta);
        Self::evict(&mut g);
    }

    fn evict(g: &mut Inner<T>) {
        while g.order.len() > REMEMBERED || (g.events > MAX_EVENTS && g.order.len() > 1) {
            let Some((old, n)) = g.order.pop_front() else {
                break;
            };
            g.slots.remove(&old);
            g.events = g.events.saturating_sub(n);
        }
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .order
            .len()
    }

    /// True when no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_answers_push_old_keys_out() {
        let keys: Keys<u32> = Keys::default();
        let a = keys.slot("t", "a");
        assert!(
            Arc::ptr_eq(&a, &keys.slot("t", "a")),
            "the same key, the same slot"
        );
        assert!(!Arc::ptr_eq(&a, &keys.slot("u", "a")), "keys are per token");
        keys.settle("t", "a", MAX_EVENTS / 2 - 1);
        keys.slot("t", "b");
        keys.settle("t", "b", MAX_EVENTS / 2 - 1);
        assert_eq!(keys.len(), 3);
        keys.slot("t", "c");
        keys.settle("t", "c", 10);
        // Over the limit: the oldest go first.
        assert!(!Arc::ptr_eq(&a, &keys.slot("t", "a")));
    }
}
