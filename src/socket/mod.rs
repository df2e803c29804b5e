//! Socket Mode: frames and the connection supervisor.
pub mod envelope;
