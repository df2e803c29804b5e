//! The decode gate: how many photos may be decoded at once. Decoding is the
//! one place the bot's memory jumps (tens of MB for a large photo), so every
//! async path that decodes waits here first; whoever builds the app context
//! owns one, and the CLI import makes its own.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Decodes allowed at once. One: the machine this runs on has two to four
/// cores, a decode keeps one busy, and the memory bound (README *Security*)
/// is then one decode's budget rather than a multiple of it.
pub(crate) const DECODES_AT_ONCE: usize = 1;

/// A clonable handle on one shared gate.
#[derive(Debug, Clone)]
pub struct PhotoGate(Arc<Semaphore>);

impl PhotoGate {
    /// A gate letting [`DECODES_AT_ONCE`] decodes through.
    pub fn new() -> PhotoGate {
        PhotoGate::with_permits(DECODES_AT_ONCE)
    }

    /// A gate letting `permits` decodes through (at least one).
    pub(crate) fn with_permits(permits: usize) -> PhotoGate {
        PhotoGate(Arc::new(Semaphore::new(permits.max(1))))
    }

    /// Waits for a turn; the turn lasts as long as the permit is kept.
    pub(crate) async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        // The semaphore is never closed, so `None` does not happen; a caller
        // treats it as an internal error rather than decoding ungated.
        self.0.clone().acquire_owned().await.ok()
    }
}

impl Default for PhotoGate {
    fn default() -> Self {
        PhotoGate::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_decode_waits_for_the_first() {
        let gate = PhotoGate::new();
        let first = gate.enter().await.expect("a turn");
        let other = gate.clone();
        let second = tokio::spawn(async move { other.enter().await.is_some() });
        tokio::task::yield_now().await;
        assert!(!second.is_finished(), "two decodes at once");
        drop(first);
        assert!(second.await.expect("the waiter ends"));
    }
}
