//! The `statusinator` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use statusinator::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).init(),
        LogFormat::Human => builder.init(),
    }
    statusinator::cli::main(cli)
}

/// Libraries that log wire data below info: websocket frames at trace (verification tokens, the
/// OAuth codes members paste), the Socket Mode URL with its ticket at debug, HTTP requests.
const WIRE_TARGETS: &[&str] = &["tungstenite", "tokio_tungstenite", "hyper", "hyper_util", "h2", "reqwest", "rustls"];

/// `RUST_LOG` as given, except that the wire-level libraries stay at `info` at most unless
/// `RUST_LOG` names them itself: `RUST_LOG=trace` or `debug` must not put secrets in the log.
fn log_filter(rust_log: Option<&str>) -> EnvFilter {
    let Some(spec) = rust_log.filter(|s| !s.trim().is_empty()) else {
        return EnvFilter::new("info,sled=warn,reqwest=warn,hyper=warn,tungstenite=warn");
    };
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|e| {
        eprintln!("RUST_LOG {spec:?} is not a valid filter ({e}); logging at info");
        EnvFilter::new("info")
    });
    for target in WIRE_TARGETS {
        let named = spec.split(',').any(|d| d.trim().split(['=', '[', ':']).next() == Some(target));
        if !named {
            if let Ok(d) = format!("{target}=info").parse() {
                filter = filter.add_directive(d);
            }
        }
    }
    filter
}
