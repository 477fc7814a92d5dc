//! `Idempotency-Key`: a client that retries a POST whose answer it never saw sends the same
//! key, and gets the first attempt's answer instead of a second copy of its events. A retry
//! that arrives while the first attempt is still running waits for it. Keys are per token and
//! remembered for the last [`REMEMBERED`] requests of this process (a restart forgets them).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Keys remembered.
pub const REMEMBERED: usize = 16_384;

/// A remembered answer, or the slot the first attempt fills.
pub type Slot<T> = Arc<OnceCell<T>>;

/// The slots by key, and the keys in arrival order.
type Remembered<T> = (HashMap<String, Slot<T>>, VecDeque<String>);

/// Remembered keys, oldest evicted first.
pub struct Keys<T> {
    inner: Mutex<Remembered<T>>,
}

impl<T> Default for Keys<T> {
    fn default() -> Self {
        Keys {
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }
}

impl<T> Keys<T> {
    /// The slot of `key` for `token`, made if new.
    pub fn slot(&self, token: &str, key: &str) -> Slot<T> {
        let full = format!("{token}\n{key}");
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = g.0.get(&full) {
            return Arc::clone(s);
        }
        let slot = Arc::new(OnceCell::new());
        g.0.insert(full.clone(), Arc::clone(&slot));
        g.1.push_back(full);
        while g.1.len() > REMEMBERED {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
        slot
    }
}
