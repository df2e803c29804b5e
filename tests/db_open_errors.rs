//! Database-open errors, as an operator sees them: the real binary refuses to start with one
//! sentence naming the real cause (lock held, corrupt files, a path that cannot be a directory)
//! and the path, and exits 1 as it always has for a database it cannot open.

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `statusinator db stats` with the database at `db` and no other configuration.
fn db_stats(dir: &Path, db: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_statusinator"));
    cmd.current_dir(dir).stdin(Stdio::null()).env_clear();
    for k in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(k) {
            cmd.env(k, v);
        }
    }
    cmd.env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "warn")
        .env("SLACK_APP_TOKEN", APP_TOKEN)
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env("STATUSINATOR_DB", db);
    cmd.args(["db", "stats"]).output().expect("run statusinator")
}

/// Exit 1 and exactly one line of ours on stderr (sled may log what it found before it), containing
/// every `needles` and never the old guess.
fn assert_open_error(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "want exit 1\nstderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("statusinator:")).collect();
    assert_eq!(lines.len(), 1, "want one line of ours on stderr, got:\n{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} not in {:?}", lines[0]);
    }
    assert!(!stderr.contains("is another statusinator using it?"), "still guessing: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}

#[test]
fn a_database_locked_by_another_process_says_its_lock_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // This test process holds the database, as a running bot would.
    let _held = statusinator::store::Store::open(&db).expect("open");
    let out = db_stats(dir.path(), &db);
    assert_open_error(&out, &[&db.display().to_string(), "in use by another statusinator (its lock is held)"]);
}

#[test]
fn a_corrupt_database_says_corrupt_and_how_to_restore() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    drop(statusinator::store::Store::open(&db).expect("create"));
    // sled's `conf` file, overwritten with junk of a plausible length: its checksum fails.
    std::fs::write(db.join("conf"), b"garbage garbage garbage garbage").unwrap();
    let out = db_stats(dir.path(), &db);
    let line =
        assert_open_error(&out, &[&db.display().to_string(), "is corrupt or not a statusinator database", "statusinator db restore"]);
    assert!(!line.contains("in use"), "{line}");
}

#[test]
fn a_path_under_a_regular_file_says_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, b"not a folder").unwrap();
    // Tests run as root, so "permission denied" cannot be provoked; a path that cannot be a
    // directory is the unreadable path a non-root operator is likelier to meet anyway.
    for db in [file.join("db"), file.clone()] {
        let out = db_stats(dir.path(), &db);
        let line = assert_open_error(&out, &[&db.display().to_string(), "not a directory"]);
        assert!(!line.contains("in use") && !line.contains("corrupt"), "{line}");
    }
}
