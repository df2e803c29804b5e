//! The one shutdown signal every long-running task selects on.
//!
//! SIGINT/SIGTERM (or a test) trips it once; tasks stop taking new work, finish
//! or persist what they hold, and return. It also tracks the short tasks a
//! handler starts after its ack ([`Shutdown::track`]), so the graceful shutdown
//! can wait for them. Every clone shares one signal and one tracker; two bots
//! in one process each have their own.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
    rx: watch::Receiver<bool>,
    /// Short tasks a handler starts after its ack (answers in a DM, App Home publishes, photo
    /// saves). A graceful shutdown waits for them, so a SIGTERM does not swallow a member's answer.
    tracker: TaskTracker,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        Shutdown { tx, rx, tracker: TaskTracker::new() }
    }

    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }

    pub(crate) fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been triggered.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| *v).await;
    }

    /// Spawns `fut` as a task the shutdown waits for.
    pub(crate) fn track<F>(&self, fut: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(fut);
    }

    /// Waits up to `limit` for tracked tasks to finish; false if some were still running.
    pub(crate) async fn finish_tracked(&self, limit: Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(limit, self.tracker.wait()).await.is_ok()
    }
}

/// Trips `shutdown` on the first SIGINT or SIGTERM. A second signal while the
/// graceful shutdown is still under way exits at once (status 130), so an
/// operator pressing Ctrl-C twice is never ignored.
pub(crate) fn on_signals(shutdown: Shutdown) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = match signal(SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    shutdown.trigger();
                    return;
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
                _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            }
            shutdown.trigger();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            tracing::warn!("second signal: exiting without finishing the shutdown");
            std::process::exit(130);
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.trigger();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_shutdown_waits_for_its_own_tasks_only() {
        let (a, b) = (Shutdown::new(), Shutdown::new());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        b.track(async move {
            let _ = rx.await;
        });
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = done.clone();
        a.clone().track(async move { d.store(true, std::sync::atomic::Ordering::SeqCst) });
        assert!(a.finish_tracked(Duration::from_secs(5)).await, "a's task finished");
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        assert!(!b.finish_tracked(Duration::from_millis(50)).await, "b's task still waits");
        let _ = tx.send(());
        assert!(b.finish_tracked(Duration::from_secs(5)).await);
    }
}
