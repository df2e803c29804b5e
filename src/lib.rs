//! statusinator: swaps a Slack member's display name and photo to match their
//! status emoji, over Socket Mode, with everything kept in one sled database.
//!
//! The modules follow the data flow: [`socket`] receives envelopes →
//! [`dispatch`] routes them → [`handlers`] act on them, using the [`store`] and
//! the [`slack`] Web API → [`jobs`] apply profile changes in the background.

pub mod command;
pub mod config;
pub mod emoji;
pub mod manifest;
pub mod photo;
pub mod secret;
pub mod shutdown;
pub mod slack;
pub mod socket;
pub mod store;
