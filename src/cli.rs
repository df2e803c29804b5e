//! The command line: `run`, `check`, `manifest`, `presets export|import` and
//! `db stats`, parsed with clap. Each returns an exit status: 0 fine, 1 a
//! problem found or a runtime failure, 2 bad configuration, 75 the database
//! stayed unwritable and only a restart can help (`run`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, ConfigError, ProcessEnv};
use crate::shutdown::Shutdown;

#[derive(Debug, Parser)]
#[command(name = "statusinator", version, about = "Swaps your Slack display name and photo to match your status emoji")]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// Config file (TOML). Default: ./statusinator.toml if present, else the environment alone.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Connect to Slack and swap profiles until SIGINT/SIGTERM.
    Run,
    /// Validate the configuration and try each token with auth.test.
    Check,
    /// Print the Slack app manifest (JSON).
    Manifest,
    /// Back up or restore presets as JSON.
    Presets {
        #[command(subcommand)]
        action: PresetsCmd,
    },
    /// Inspect the database.
    Db {
        #[command(subcommand)]
        action: DbCmd,
    },
    /// Inspect, retry or drop dead-lettered work (stop the bot first).
    Jobs {
        #[command(subcommand)]
        action: JobsCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum PresetsCmd {
    /// Write presets (with photos) as JSON to stdout.
    Export {
        /// Only this member's presets.
        #[arg(long)]
        user: Option<String>,
    },
    /// Read presets from a JSON file written by `export` (or by hand).
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Tree sizes, queue depth, dead letters, cache sizes.
    Stats,
    /// Write a consistent copy of the database to a new directory (works while the bot runs).
    Backup { path: PathBuf },
    /// Replace the database with a backup (stop the bot first).
    Restore { path: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum JobsCmd {
    /// Pending work and dead-lettered jobs.
    List,
    /// Put a dead-lettered job (number from `jobs list`, or `all`) back in the queue.
    Retry { which: String },
    /// Forget a dead-lettered job (number, or `all`).
    Drop { which: String },
}

/// glibc's malloc, set for a long-running process that allocates and frees small objects all
/// the time (every event, every database write): the heap grows in 1 MiB steps and keeps up to
/// 8 MiB of freed memory at its top, instead of moving its end by system calls (and page
/// faults) again and again. Blocks from 128 KiB up still come from the system, and go back to
/// it when freed (setting these fixes that threshold at glibc's default, which otherwise rises
/// to the largest block freed: a zeroed database buffer from the heap is resident at once).
/// BENCHMARKS.md, "Cost per event". Other C libraries: nothing to set.
#[allow(unsafe_code)] // libc::mallopt, below
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's malloc parameters; it is called before the runtime's
    // threads start, and a refused setting (return 0) leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20);
    }
}

/// Runs the parsed command to completion.
pub fn main(cli: Cli) -> ExitCode {
    if let Cmd::Manifest = cli.command {
        // Printed before the app exists, so no tokens are needed; a bad file still exits 2.
        return match Config::manifest_settings(cli.config.as_deref(), &ProcessEnv) {
            Ok(settings) => {
                print!("{}", crate::manifest::manifest_json_for(&settings));
                ExitCode::SUCCESS
            }
            Err(e) => config_error(&e),
        };
    }
    let config = match Config::load(cli.config.as_deref(), &ProcessEnv) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    tune_allocator();
    // One worker thread: the bot's work on the runtime is network IO and short handlers (photos,
    // JPEG drawing and the database flush run on the blocking pool), and with a second worker
    // each envelope woke both threads (1.6 context switches an event at 1,000/s, 0.9 with one;
    // 23-26 % less CPU an event: BENCHMARKS.md, "Cost per event").
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("statusinator: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Cmd::Run => {
                let shutdown = Shutdown::new();
                crate::shutdown::on_signals(shutdown.clone());
                crate::app::run(config, shutdown).await.map(|_| ExitCode::SUCCESS)
            }
            Cmd::Check => crate::ops::check(&config).await,
            Cmd::Presets { action: PresetsCmd::Export { user } } => crate::ops::export(&config, user.as_deref()),
            Cmd::Presets { action: PresetsCmd::Import { file } } => crate::ops::import(&config, &file).await,
            Cmd::Db { action: DbCmd::Stats } => crate::ops::db_stats(&config),
            Cmd::Db { action: DbCmd::Backup { path } } => crate::ops::db_backup(&config, &path),
            Cmd::Db { action: DbCmd::Restore { path } } => crate::ops::db_restore(&config, &path),
            Cmd::Jobs { action: JobsCmd::List } => crate::ops::jobs_list(&config),
            Cmd::Jobs { action: JobsCmd::Retry { which } } => crate::ops::jobs_retry(&config, &which),
            Cmd::Jobs { action: JobsCmd::Drop { which } } => crate::ops::jobs_drop(&config, &which),
            Cmd::Manifest => Ok(ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<ConfigError>() {
            Some(ce) => config_error(ce),
            // The store's monitor logged why, once; the service manager restarts on this status.
            None if e.is::<crate::app::RestartNeeded>() => ExitCode::from(crate::store::health::RESTART_EXIT_CODE),
            None => {
                eprintln!("statusinator: {}", one_line(&format!("{e:#}")));
                ExitCode::from(1)
            }
        },
    }
}

fn config_error(e: &ConfigError) -> ExitCode {
    eprintln!("statusinator: configuration error: {}", one_line(&e.0));
    ExitCode::from(2)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_commands() {
        let c = Cli::try_parse_from(["statusinator", "run", "--config", "x.toml"]).unwrap();
        assert!(matches!(c.command, Cmd::Run));
        assert_eq!(c.config, Some(PathBuf::from("x.toml")));
        let c = Cli::try_parse_from(["statusinator", "presets", "export", "--user", "U1"]).unwrap();
        assert!(matches!(c.command, Cmd::Presets { action: PresetsCmd::Export { user: Some(_) } }));
        let c = Cli::try_parse_from(["statusinator", "--log-format", "json", "db", "stats"]).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(Cli::try_parse_from(["statusinator", "frobnicate"]).is_err());
    }
}
