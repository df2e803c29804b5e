//! The web side: everything that reads the bot's [`Context`](crate::context::Context)
//! to show it. The listener on `[metrics] listen` ([`server`]) serves the dashboard
//! ([`dashboard`], drawn from the history the [`sampler`] keeps), Prometheus text
//! ([`prometheus`]) and `/healthz`; [`csv`] appends to `[metrics] csv` every minute.
//!
//! Nothing below this module imports it: the counters themselves are
//! [`crate::telemetry`], a leaf.

pub(crate) mod csv;
pub(crate) mod dashboard;
pub(crate) mod prometheus;
pub mod sampler;
pub(crate) mod server;
