//! The one shutdown signal every long-running task selects on.
//!
//! SIGINT/SIGTERM (or a test) trips it once; tasks stop taking new work, finish
//! or persist what they hold, and return.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        Shutdown { tx, rx }
    }

    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been triggered.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Trips `shutdown` on the first SIGINT or SIGTERM. A second signal while the
/// graceful shutdown is still under way exits at once (status 130), so an
/// operator pressing Ctrl-C twice is never ignored.
pub fn on_signals(shutdown: Shutdown) {
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

/// Short tasks a handler starts after its ack (answers in a DM, App Home publishes, photo
/// saves). A graceful shutdown waits for them, so a SIGTERM does not swallow a member's answer.
fn tracker() -> &'static TaskTracker {
    static TRACKER: OnceLock<TaskTracker> = OnceLock::new();
    TRACKER.get_or_init(TaskTracker::new)
}

/// Spawns `fut` as a task the shutdown waits for.
pub fn track<F>(fut: F)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tracker().spawn(fut);
}

/// Waits up to `limit` for tracked tasks to finish; false if some were still running.
pub async fn finish_tracked(limit: Duration) -> bool {
    tracker().close();
    tokio::time::timeout(limit, tracker().wait()).await.is_ok()
}
