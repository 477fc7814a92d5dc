//! The bounded queue between callers and the writer.
//!
//! A lock-free array queue, with the writer parking only when it finds the queue empty and
//! callers waking it only when it is parked, so a busy log costs callers no system call. A full
//! queue blocks callers until the writer makes room: nothing is ever dropped.

use crossbeam_queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Duration;

use crate::handoff::Msg;

pub(crate) struct Queue {
    q: ArrayQueue<Msg>,
    writer: OnceLock<Thread>,
    /// The writer found the queue empty and may be parked.
    idle: AtomicBool,
    /// Callers waiting for room.
    blocked: AtomicUsize,
    space: Mutex<()>,
    space_cv: Condvar,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        Queue {
            q: ArrayQueue::new(capacity.max(1)),
            writer: OnceLock::new(),
            idle: AtomicBool::new(false),
            blocked: AtomicUsize::new(0),
            space: Mutex::new(()),
            space_cv: Condvar::new(),
        }
    }

    /// Messages waiting.
    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    /// True when a push would block.
    pub(crate) fn is_full(&self) -> bool {
        self.q.is_full()
    }

    /// Enqueues `msg`, blocking while the queue is full.
    pub(crate) fn push(&self, mut msg: Msg) {
        loop {
            match self.q.push(msg) {
                Ok(()) => {
                    // Pairs with the fence in `pop_batch`: either the writer sees our message
                    // after marking itself idle, or we see it idle and wake it.
                    fence(Ordering::SeqCst);
                    if self.idle.load(Ordering::SeqCst) {
                        self.wake_writer();
                    }
                    return;
                }
                Err(back) => {
                    msg = back;
                    self.wait_for_space();
                }
            }
        }
    }

    fn wait_for_space(&self) {
        self.blocked.fetch_add(1, Ordering::SeqCst);
        self.wake_writer();
        let guard = self.space.lock().unwrap_or_else(|p| p.into_inner());
        if self.q.is_full() {
            // The timeout only bounds a lost wake-up; the writer notifies when it takes messages.
            let _ = self.space_cv.wait_timeout(guard, Duration::from_millis(10));
        }
        self.blocked.fetch_sub(1, Ordering::SeqCst);
    }

    fn wake_writer(&self) {
        if let Some(t) = self.writer.get() {
            t.unpark();
        }
    }

    /// Called once on the writer thread before it first pops.
    pub(crate) fn register_writer(&self) {
        let _ = self.writer.set(std::thread::current());
    }

    /// Takes at most `max` messages, parking while the queue is empty: until one arrives, or,
    /// with `wait`, at most that long (then it may return none).
    pub(crate) fn pop_batch(&self, out: &mut Vec<Msg>, max: usize, wait: Option<Duration>) {
        loop {
            while out.len() < max {
                match self.q.pop() {
                    Some(m) => out.push(m),
                    None => break,
                }
            }
            if !out.is_empty() {
                if self.blocked.load(Ordering::SeqCst) > 0 {
                    let _g = self.space.lock().unwrap_or_else(|p| p.into_inner());
                    self.space_cv.notify_all();
                }
                return;
            }
            self.idle.store(true, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if let Some(m) = self.q.pop() {
                self.idle.store(false, Ordering::SeqCst);
                out.push(m);
                continue;
            }
            std::thread::park_timeout(wait.unwrap_or(Duration::from_millis(100)));
            self.idle.store(false, Ordering::SeqCst);
            if wait.is_some() {
                while out.len() < max {
                    match self.q.pop() {
                        Some(m) => out.push(m),
                        None => break,
                    }
                }
                return;
            }
        }
    }

    /// Takes one message without waiting.
    pub(crate) fn try_pop(&self) -> Option<Msg> {
        self.q.pop()
    }
}
