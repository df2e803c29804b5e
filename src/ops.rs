//! Operator commands that run without Socket Mode: `check`, `presets
//! export|import` and `db stats`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::photo::{PhotoGate, PhotoLimits};
use crate::slack::SlackClient;
use crate::store::{now_ms, queue, team, Preset, Store, TeamPreset};

/// One preset in the JSON backup format: a member's, or with `team: true` a team preset (no
/// member). Files written before team presets hold only members' and read as before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetRecord {
    /// Empty (and left out) for a team preset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub member: String,
    /// A team preset kept by the admins (see `store::team`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub team: bool,
    pub emoji: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A path to an image file (relative to the JSON file), processed on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// The processed photo itself, as written by `export`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_base64: Option<String>,
    /// A photo drawn from the member's own at swap time (`{"kind":"badge"}`,
    /// `{"kind":"frame","colour":"orange","label":"OOO"}`), instead of an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<crate::photo::generate::Design>,
}

pub async fn check(config: &Config) -> anyhow::Result<ExitCode> {
    println!("config: OK (database at {})", config.db_path.display());
    let slack = SlackClient::new(config.api_url.clone(), config.bot_token.clone(), config.app_token.clone())?;
    let mut problems = 0;
    let mut report = |r: Result<String, String>| match r {
        Ok(s) => println!("{s}"),
        Err(s) => {
            problems += 1;
            println!("PROBLEM: {s}");
        }
    };
    report(crate::app::check_token(&slack, "bot token (SLACK_BOT_TOKEN)", &config.bot_token, crate::manifest::BOT_SCOPES).await);
    report(match slack.connections_open().await {
        Ok(_) => Ok("app token (SLACK_APP_TOKEN): OK (Socket Mode connections can be opened)".into()),
        Err(e) => Err(format!("app token (SLACK_APP_TOKEN): apps.connections.open failed ({e}); it needs the connections:write scope and Socket Mode turned on")),
    });
    if let Some(t) = &config.user_token {
        report(crate::app::check_token(&slack, "user token (SLACK_USER_TOKEN)", t, crate::manifest::USER_SCOPES).await);
    } else if config.oauth.is_none() {
        println!("note: no SLACK_USER_TOKEN and no OAuth client: nobody's profile can be changed yet");
    }
    if problems == 0 {
        println!("all good");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

pub fn export(config: &Config, user: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(config)?;
    let presets: Vec<Preset> = match user {
        Some(u) => store.presets_of(u)?,
        None => store.presets.iter()?.into_iter().map(|(_, p)| p).collect(),
    };
    let mut out = Vec::with_capacity(presets.len());
    for p in presets {
        let photo_base64 = match &p.photo {
            Some(h) => store.photo(h)?.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            None => None,
        };
        out.push(PresetRecord { member: p.member, emoji: p.emoji, name: p.name, team: false, photo: None, photo_base64, design: p.design });
    }
    // The team presets belong to no member: they go with a whole export.
    if user.is_none() {
        for t in team::all(&store)? {
            let p = t.for_member("");
            let photo_base64 = match &p.photo {
                Some(h) => store.photo(h)?.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                None => None,
            };
            out.push(PresetRecord {
                member: String::new(),
                emoji: p.emoji,
                name: p.name,
                team: true,
                photo: None,
                photo_base64,
                design: p.design,
            });
        }
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

pub async fn import(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let text = read_at_most(file, MAX_IMPORT_BYTES)?;
    let records: Vec<PresetRecord> =
        serde_json::from_slice(&text).with_context(|| format!("{} is not a presets JSON array", file.display()))?;
    let store = crate::app::open_store(config)?;
    let emoji = crate::emoji::EmojiCache::new(store.clone());
    let base = file.parent().unwrap_or(Path::new("."));
    let limits = PhotoLimits::from(&config.images);
    // Imports run one after another anyway; the gate is the pipeline's door.
    let photos = PhotoGate::new();
    let (mut ok, mut bad) = (0, 0);
    for r in records {
        match import_one(&store, &emoji, base, (&limits, &photos), &r).await {
            Ok(()) => ok += 1,
            Err(e) => {
                bad += 1;
                let whose = if r.team { "team" } else { r.member.as_str() };
                eprintln!("skipped {whose} :{}:: {e}", r.emoji);
            }
        }
    }
    store.flush().await?;
    println!("imported {ok} preset(s){}", if bad > 0 { format!(", skipped {bad}") } else { String::new() });
    Ok(if bad > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The largest presets file `import` reads: an export of hundreds of presets with photos
/// (about 70 KB each as base64) fits many times over.
const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

/// Reads `path`, but never more than `max` bytes: a device or a huge file is refused after
/// `max + 1` bytes instead of being read to the end first.
fn read_at_most(path: &Path, max: usize) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    f.take(max as u64 + 1).read_to_end(&mut out).with_context(|| format!("reading {}", path.display()))?;
    if out.len() > max {
        anyhow::bail!("{} is larger than {} MB, the most I read", path.display(), max / (1024 * 1024));
    }
    Ok(out)
}

async fn import_one(
    store: &Store,
    emoji: &crate::emoji::EmojiCache,
    base: &Path,
    (limits, photos): (&PhotoLimits, &PhotoGate),
    r: &PresetRecord,
) -> anyhow::Result<()> {
    if !r.team && !crate::config::looks_like_user_id(&r.member) {
        anyhow::bail!("member must be a member id such as U0123ABCD");
    }
    let canonical = emoji.canonical_or_unverified(&r.emoji).ok_or_else(|| anyhow::anyhow!("unknown emoji"))?;
    let name = match &r.name {
        Some(n) => Some(crate::command::validate_display_name(n).map_err(|e| anyhow::anyhow!(e))?),
        None => None,
    };
    let bytes = match (&r.photo_base64, &r.photo) {
        (Some(b64), _) => Some(base64::engine::general_purpose::STANDARD.decode(b64.trim()).context("photo_base64 is not base64")?),
        (None, Some(path)) => {
            let p = base.join(path);
            Some(read_at_most(&p, limits.max_bytes)?)
        }
        (None, None) => None,
    };
    if bytes.is_some() && r.design.is_some() {
        anyhow::bail!("a preset has either a photo or a design (badge, frame), not both");
    }
    if name.is_none() && bytes.is_none() && r.design.is_none() {
        anyhow::bail!("a preset needs a name, a photo, or both");
    }
    let photo = match bytes {
        // An exported photo is already our square JPEG: keep its bytes rather
        // than lose quality to another encode on every round trip.
        Some(b) if is_processed_photo(&b, limits.size) => Some(store.put_photo(&b)?),
        Some(b) => {
            let processed = crate::photo::process_async(b, *limits, photos).await?;
            Some(store.put_photo(&processed.bytes)?)
        }
        None => None,
    };
    if r.team {
        team::put(
            store,
            &TeamPreset { emoji: canonical, name, photo, design: r.design.clone(), updated_ms: now_ms(), by: "import".into() },
        )?;
    } else {
        store.put_preset(&Preset {
            member: r.member.clone(),
            emoji: canonical,
            name,
            photo,
            design: r.design.clone(),
            updated_ms: now_ms(),
        })?;
    }
    Ok(())
}

/// A JPEG that decodes to exactly `size`×`size`: what the pipeline produces.
fn is_processed_photo(bytes: &[u8], size: u32) -> bool {
    // The header is checked before anything is decoded, so a lying file costs nothing.
    crate::photo::sniff(bytes) == Some(image::ImageFormat::Jpeg)
        && image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Jpeg)
            .into_dimensions()
            .is_ok_and(|d| d == (size, size))
        && image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg).is_ok()
}

pub fn db_stats(config: &Config) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(config)?;
    println!("database: {} ({} KB on disk)", config.db_path.display(), store.size_on_disk() / 1024);
    println!("schema version: {}", crate::store::SCHEMA_VERSION);
    for name in crate::store::trees::ALL {
        let n = match *name {
            crate::store::trees::META => store.meta.len(),
            crate::store::trees::PHOTOS => store.photos.len(),
            crate::store::trees::PRESETS => store.presets.len(),
            crate::store::trees::MEMBERS => store.members.len(),
            crate::store::trees::QUEUE => queue::depth(&store),
            crate::store::trees::DEAD => queue::dead_count(&store),
            crate::store::trees::SEEN => store.seen.len(),
            crate::store::trees::TOKENS => store.tokens.len(),
            crate::store::trees::RATES => store.rates.len(),
            crate::store::trees::EMOJI => store.emoji.len(),
            crate::store::trees::AVATARS => store.avatars.len(),
            crate::store::trees::OAUTH_STATES => store.oauth_states.len(),
            crate::store::trees::METRIC_HISTORY => store.metric_history.len(),
            crate::store::trees::TIMERS => crate::store::timers::count(&store),
            crate::store::trees::TEAM_PRESETS => team::count(&store),
            crate::store::trees::EMOJI_IMAGES => crate::store::emoji_images::count(&store),
            _ => 0,
        };
        println!("  {name:<14} {n}");
    }
    println!("members with presets: {}", store.members_with_presets()?);
    println!("queue depth: {}", queue::depth(&store));
    println!("dead letters: {}", queue::dead_count(&store));
    for (_, d) in queue::all_dead(&store)? {
        println!("  {} {:?}: {}", d.job.member, d.job.desired, d.reason);
    }
    Ok(ExitCode::SUCCESS)
}

/// Dead-lettered jobs, oldest first, with the key `jobs retry|drop` take.
fn dead_jobs(store: &Store) -> anyhow::Result<Vec<(Vec<u8>, crate::store::DeadJob)>> {
    let mut all = queue::all_dead(store)?;
    all.sort_by_key(|(_, d)| d.at_ms);
    Ok(all)
}

pub fn jobs_list(config: &Config) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(config)?;
    let dead = dead_jobs(&store)?;
    println!("pending: {}", queue::depth(&store));
    for j in queue::all_pending(&store)? {
        println!("  {} {:?} attempts={} {}", j.member, j.desired, j.attempts, j.last_error.unwrap_or_default());
    }
    println!("dead letters: {}", dead.len());
    for (i, (_, d)) in dead.iter().enumerate() {
        println!("  #{} {} {:?}: {}", i + 1, d.job.member, d.job.desired, d.reason);
    }
    Ok(ExitCode::SUCCESS)
}

/// `which` is a 1-based number from `jobs list`, or `all`.
fn select(dead: &[(Vec<u8>, crate::store::DeadJob)], which: &str) -> anyhow::Result<Vec<usize>> {
    if which == "all" {
        return Ok((0..dead.len()).collect());
    }
    let n: usize =
        which.trim_start_matches('#').parse().map_err(|_| anyhow::anyhow!("say a number from `statusinator jobs list`, or all"))?;
    if n == 0 || n > dead.len() {
        anyhow::bail!("there is no dead letter #{n} ({} in all)", dead.len());
    }
    Ok(vec![n - 1])
}

pub fn jobs_retry(config: &Config, which: &str) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(config)?;
    let dead = dead_jobs(&store)?;
    for i in select(&dead, which)? {
        let (key, d) = &dead[i];
        let job = &d.job;
        // A newer pending job for the member wins; the retried one only fills a gap.
        if crate::store::queue::requeue(&store, key, d)? {
            println!("re-queued {} {:?}", job.member, job.desired);
        } else {
            println!("{} already has newer pending work; dropped the old job", job.member);
        }
        store.update_member(&job.member, |m| {
            m.failure_notified = false;
            // An operator's retry of a refusal means "try it again": the refusal no longer skips it.
            match &d.reason {
                crate::store::FailReason::NameRefused { .. } => m.refusals.name = None,
                crate::store::FailReason::PhotoRefused { .. } => m.refusals.photo = None,
                _ => {}
            }
        })?;
    }
    store.flush_blocking()?;
    Ok(ExitCode::SUCCESS)
}

pub fn jobs_drop(config: &Config, which: &str) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(config)?;
    let dead = dead_jobs(&store)?;
    let picked = select(&dead, which)?;
    for i in &picked {
        crate::store::queue::drop_dead(&store, &dead[*i].0)?;
    }
    store.flush_blocking()?;
    println!("dropped {} dead letter(s)", picked.len());
    Ok(ExitCode::SUCCESS)
}

/// A consistent copy of the database at `dest` (a new directory). With the
/// database free, sled exports and imports it; while a bot holds it, its
/// files are copied and the copy is opened, which runs sled's recovery to
/// the last consistent point — and proves the copy is usable.
pub fn db_backup(config: &Config, dest: &Path) -> anyhow::Result<ExitCode> {
    if dest.exists() {
        anyhow::bail!("{} already exists: name a new directory", dest.display());
    }
    crate::app::private_files();
    match sled::open(&config.db_path) {
        Ok(src) => {
            let dst = sled::open(dest).with_context(|| format!("creating {}", dest.display()))?;
            dst.import(src.export());
            dst.flush()?;
        }
        Err(_) => {
            copy_dir(&config.db_path, dest)?;
        }
    }
    let copy = Store::open(dest).with_context(|| format!("the copy at {} does not open", dest.display()))?;
    println!("backed up to {}: {} presets, {} photos", dest.display(), copy.presets.len(), copy.photos.len());
    Ok(ExitCode::SUCCESS)
}

/// Replaces the database with a backup (the bot must be stopped).
pub fn db_restore(config: &Config, src: &Path) -> anyhow::Result<ExitCode> {
    let backup = Store::open(src).with_context(|| format!("{} is not a statusinator database", src.display()))?;
    let presets = backup.presets.len();
    drop(backup);
    if config.db_path.exists() {
        if sled::open(&config.db_path).is_err() {
            anyhow::bail!("the database at {} is in use: stop statusinator first", config.db_path.display());
        }
        let aside = config.db_path.with_extension(format!("before-restore-{}", now_ms()));
        std::fs::rename(&config.db_path, &aside).with_context(|| "moving the current database aside")?;
        println!("the previous database is kept at {}", aside.display());
    }
    copy_dir(src, &config.db_path)?;
    Store::open(&config.db_path)?;
    println!("restored {presets} presets into {}", config.db_path.display());
    Ok(ExitCode::SUCCESS)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}
