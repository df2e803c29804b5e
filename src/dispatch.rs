//! The dispatcher: dedupes envelopes and routes them to handlers.
//!
//! An event whose handling changes nothing when repeated (`handlers::events::triage`: most are
//! profile changes of members without presets) is handled at once and needs no record. Any
//! other envelope's delivery key (its `event_id`, else its `envelope_id`) is
//! recorded in the store before it is handled, so a redelivery — on another
//! connection, or after a restart — is acked without being handled twice. The
//! store is flushed before the ack, so what was acked survives a crash.
//! Handlers return the ack payload; anything slow they hand to jobs or tasks.
//! A store failure is reported to the store's health monitor (which logs it once
//! per episode); until the monitor finds the store writable, nothing is acked.

use std::sync::Arc;

use crate::context::Context;
use crate::handlers;
use crate::socket::{AckDecision, Envelope, EnvelopeKind, Handler};

/// The socket-facing handler for this context.
pub fn handler(ctx: Arc<Context>) -> Handler {
    Arc::new(move |env| {
        let ctx = ctx.clone();
        Box::pin(async move { handle(&ctx, env).await })
    })
}

pub async fn handle(ctx: &Arc<Context>, env: Envelope) -> AckDecision {
    // While the store is unwritable (its monitor logged that once), refuse without trying it.
    if !ctx.store.health().is_writable() {
        tracing::debug!("the store is not writable: not acking so Slack redelivers");
        return AckDecision::NoAck;
    }
    // Events whose handling changes nothing when repeated (most are profile changes of members
    // without presets) are done here, with no delivery record to write.
    let triaged = match env.kind {
        EnvelopeKind::EventsApi => match handlers::events::triage(ctx, &env) {
            Ok(None) => return AckDecision::Ack(None),
            Ok(Some(t)) => Some(t),
            Err(e) => return refuse(ctx, &e),
        },
        _ => None,
    };
    let key = env.dedupe_key();
    match ctx.store.first_sighting(&key) {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(
                key,
                retry_attempt = env.retry_attempt,
                retry_reason = env.retry_reason.as_deref().unwrap_or(""),
                "already handled: acking only"
            );
            return AckDecision::Ack(None);
        }
        Err(e) => {
            ctx.store.health().report_failure(&format!("{e:#}"));
            return AckDecision::NoAck;
        }
    }
    // Until the handler has done its part, the key is only provisional: if the
    // handler fails, or is cancelled because its connection went away mid-way,
    // the key is forgotten so Slack's redelivery is handled rather than skipped.
    let mut provisional = Provisional { ctx, key: &key, kept: false };
    // Commands and interactive payloads are boxed: their futures are large, and held inline they
    // would make every envelope's task (most are profile changes) one large allocation.
    let result = match (&env.kind, triaged) {
        (_, Some(triaged)) => handlers::events::handle(ctx, &env, triaged).await,
        (EnvelopeKind::SlashCommands, None) => Box::pin(handlers::commands::slash(ctx, &env)).await,
        (EnvelopeKind::Interactive, None) => Box::pin(handlers::interactive::handle(ctx, &env)).await,
        (EnvelopeKind::Other(kind), None) => {
            tracing::warn!(kind, "acking an envelope of a type we do not handle");
            Ok(None)
        }
        // Not reached: every events_api envelope was triaged above.
        (EnvelopeKind::EventsApi, None) => Ok(None),
    };
    match result {
        Ok(payload) => {
            provisional.kept = true;
            // Acked means kept: the delivery id and whatever the handler wrote reach the disk
            // before the ack, so a crash right after it neither loses the work nor lets a
            // redelivery be handled twice.
            // Events flush in their handler, only when they wrote work (most are
            // profile changes of members without presets, which need no disk wait).
            let flushed_by_handler = matches!(env.kind, EnvelopeKind::EventsApi);
            if flushed_by_handler {
                return AckDecision::Ack(payload);
            }
            if let Err(e) = ctx.store.flush().await {
                ctx.store.health().report_failure(&format!("{e:#}"));
                return AckDecision::NoAck;
            }
            AckDecision::Ack(payload)
        }
        Err(e) => refuse(ctx, &e),
    }
}

/// A handler's failure: not acked, so Slack redelivers. A store failure goes to the store's
/// health monitor (which logs it once per episode), anything else to the log.
fn refuse(ctx: &Context, e: &anyhow::Error) -> AckDecision {
    if crate::store::health::is_store_error(e) {
        ctx.store.health().report_failure(&format!("{e:#}"));
    } else {
        tracing::error!(error = %format!("{e:#}"), "handling failed: not acking so Slack redelivers");
    }
    AckDecision::NoAck
}

/// A delivery key recorded before handling; forgotten on drop unless `kept`.
struct Provisional<'a> {
    ctx: &'a Context,
    key: &'a str,
    kept: bool,
}

impl Drop for Provisional<'_> {
    fn drop(&mut self) {
        if !self.kept {
            match self.ctx.store.seen.remove(self.key) {
                Ok(_) => {}
                // Unwritable store: already logged once; nothing was kept on disk either.
                Err(e) if !self.ctx.store.health().is_writable() => {
                    tracing::debug!(error = %e, key = self.key, "could not forget a delivery id")
                }
                Err(e) => tracing::warn!(error = %e, key = self.key, "could not forget a delivery id; a redelivery may be skipped"),
            }
        }
    }
}
