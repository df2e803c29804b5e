//! statusinator: swaps a Slack member's display name and photo to match their
//! status emoji, over Socket Mode, with everything kept in one sled database.
//!
//! The modules follow the data flow: [`socket`] receives envelopes →
//! [`dispatch`] routes them → [`handlers`] act on them, using the [`store`] and
//! the [`slack`] Web API → [`jobs`] apply profile changes in the background.
//! [`app`] wires them together; [`cli`] and [`ops`] are the command line.

#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod command;
pub mod config;
pub mod context;
pub(crate) mod dispatch;
pub(crate) mod drawing;
pub mod emoji;
pub(crate) mod gallery;
pub(crate) mod handlers;
pub(crate) mod home;
pub mod jobs;
pub mod manifest;
pub(crate) mod members;
pub(crate) mod ops;
pub mod photo;
pub(crate) mod profiles;
pub mod secret;
pub mod shutdown;
pub mod slack;
pub mod socket;
pub mod store;
pub mod telemetry;
pub mod template;
pub mod web;
