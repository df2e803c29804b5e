//! A full disk, for real: the database on a small tmpfs, the rest filled by a file. Envelopes are
//! not acked while writes fail (and the log says so once, not per envelope); once the filler is
//! gone the bot, whose database (sled) keeps refusing until reopened, exits with status 75 for
//! the service manager to restart it; restarted on the same database it acks Slack's redelivery
//! and handles it.
//!
//! Needs `mount -t tmpfs` (root, as here and in CI). If mounting is impossible the test fails.

mod common;
use common::*;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    _dir: tempfile::TempDir,
    mnt: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).expect("mount point");
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&mnt).output();
        match out {
            Ok(o) if o.status.success() => Tmpfs { _dir: dir, mnt },
            Ok(o) => panic!("this test needs `mount -t tmpfs` (run as root): {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => panic!("this test needs `mount -t tmpfs` (run as root): {e}"),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
}

/// The log without its colour codes.
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_acks_then_the_bot_exits_for_a_restart_and_handles_the_redelivery() {
    let fs = Tmpfs::mount("32m");
    let slack = FakeSlack::start().await;
    let token = slack.add_member("U1", "Ada");
    let port = free_port();
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    let mut bot = Bot::spawn(
        &slack,
        BotOptions {
            user_token: Some(token),
            env: vec![("STATUSINATOR_DB".into(), fs.mnt.join("db").display().to_string())],
            config_toml: Some(format!("[storage]\nunwritable_exit_seconds = 120\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n")),
            ..Default::default()
        },
    );
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    let env = slack.slash_command("U1", "add :palm_tree: Ada (on holiday)").await;
    assert!(slack.wait_for_ack(&env, secs(10)).await.is_some(), "healthy store acks:\n{}", bot.logs());

    let filler = fs.mnt.join("filler");
    fill(&filler);
    // sled appends into pages tmpfs has already given it; the first write needing a new page fails.
    let mut refused = None;
    for _ in 0..200 {
        let e = slack.slash_command("U1", "add :car: Ada (driving)").await;
        if slack.wait_for_ack(&e, secs(3)).await.is_none() {
            refused = Some(e);
            break;
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("every envelope was acked on a full disk:\n{}", bot.logs()));
    for text in ["list", "add :taco: Ada (lunch)"] {
        let e = slack.slash_command("U1", text).await;
        assert!(slack.wait_for_ack(&e, secs(2)).await.is_none(), "acked {text:?} on a full disk:\n{}", bot.logs());
    }
    let logs = bot.logs();
    assert_eq!(logs.matches("the store is not writable: not acking envelopes").count(), 1, "one error per episode:\n{logs}");
    assert!(bot.try_exit().is_none(), "gave up while the disk was still full:\n{logs}");
    let resp = reqwest::get(&healthz).await.expect("healthz");
    assert_eq!(resp.status().as_u16(), 503);
    let body = resp.text().await.unwrap_or_default();
    assert!(body.contains("store: not writable (for "), "{body}");

    std::fs::remove_file(&filler).expect("free the space");
    let status = bot.wait_exit(secs(45)).await.unwrap_or_else(|| panic!("still running after the disk had room:\n{}", bot.logs()));
    assert_eq!(status.code(), Some(75), "exit status:\n{}", bot.logs());
    let logs = bot.logs();
    let restart = "stopping so the service manager restarts statusinator";
    assert_eq!(logs.matches(restart).count(), 1, "said once:\n{logs}");
    assert!(logs.contains("the disk has room again but the database still refuses writes"), "{logs}");
    // Nothing of ours warns per envelope: the episode's start and the restart are the only lines.
    let loud: Vec<String> = plain(&logs)
        .lines()
        .filter(|l| (l.contains(" WARN ") || l.contains(" ERROR ")) && l.contains("statusinator::"))
        .map(str::to_string)
        .collect();
    assert_eq!(loud.len(), 2, "want two warnings or errors, got:\n{}", loud.join("\n"));

    bot.restart().await;
    assert!(bot.connected(&slack, secs(15)).await, "{}", bot.logs());
    let again = slack.redeliver(&refused, 1).await.expect("redelivered");
    assert!(slack.wait_for_ack(&again, secs(10)).await.is_some(), "redelivery not acked:\n{}", bot.logs());
    slack.set_status("U1", ":car:").await;
    slack.wait_for_calls("users.profile.set", 1, secs(10)).await;
    assert_eq!(slack.member_profile("U1")["display_name"], "Ada (driving)", "{}", bot.logs());
}
