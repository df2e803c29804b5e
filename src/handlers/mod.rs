//! Handlers: what the bot does with each kind of envelope.
//!
//! [`events`] for Events API payloads (status changes, DMs, App Home, emoji),
//! [`commands`] for the command grammar shared by `/status-preset` and DMs,
//! [`interactive`] for App Home buttons and modal submissions (the views
//! themselves are in [`crate::home`]); the preset operations they share are
//! [`crate::members`].

pub mod commands;
pub mod events;
pub mod interactive;
