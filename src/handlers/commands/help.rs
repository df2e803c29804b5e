//! `help`: the usage of every subcommand.

use super::reply::Reply;
use crate::command;

/// `command_name` is empty in a DM, where members type the words alone.
pub(super) fn help(command_name: &str) -> Reply {
    command::usage(command_name).into()
}
