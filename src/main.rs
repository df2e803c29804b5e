//! The `statusinator` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use statusinator::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sled=warn,reqwest=warn,hyper=warn,tungstenite=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).init(),
        LogFormat::Human => builder.init(),
    }
    statusinator::cli::main(cli)
}
