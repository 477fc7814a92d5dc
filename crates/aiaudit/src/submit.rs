//! Submitting a batch ([`Submission`]): checked whole on the caller's thread, then queued whole.

use crate::error::{Error, Result};
use crate::handoff::Msg;
use crate::logger::{AuditLogger, validate};
use crate::submission::Submission;

impl AuditLogger {
    /// Checks every event of `sub` and queues it whole, blocking while the queue is full. A bad
    /// event rejects the batch ([`Error::Rejected`] names its index) and nothing is queued.
    pub fn submit(&self, sub: Submission) -> Result<()> {
        self.check_batch(&sub)?;
        self.send(Msg::Batch(sub))
    }

    /// [`AuditLogger::submit`] without blocking: hands the batch back if the queue is full, so
    /// that an async caller can move to a thread that may block.
    pub fn try_submit(&self, sub: Submission) -> Result<std::result::Result<(), Submission>> {
        self.check_batch(&sub)?;
        if self.queue.is_full() {
            return Ok(Err(sub));
        }
        self.send(Msg::Batch(sub)).map(Ok)
    }

    fn check_batch(&self, sub: &Submission) -> Result<()> {
        for (index, event) in sub.events.iter().enumerate() {
            let checked = validate(event).and_then(|()| self.check_status(&event.status));
            if let Err(e) = checked {
                return Err(Error::Rejected {
                    index,
                    source: Box::new(e),
                });
            }
        }
        if self
            .shared
            .poisoned
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(Error::Poisoned(self.shared.poison_message()));
        }
        Ok(())
    }
}
