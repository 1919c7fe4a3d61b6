//! Stopping a load or scenario run before its end from another thread (the window's Stop
//! button): a cheap handle that any number of waiters watch.

use std::sync::Arc;

/// Cloned freely; `cancel()` from any thread stops every run that was given a clone.
#[derive(Clone, Debug)]
pub struct Cancel(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel(Arc::new(tokio::sync::watch::Sender::new(false)))
    }

    /// Asks the run to stop; it winds down (closes its connections) and still reports.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once `cancel` has been called (at once if it already was).
    pub async fn cancelled(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
