//! The words members type, by `/status-preset` or by DM: one grammar for both, and the help text.
//!
//! Both the help text here and the app manifest ([`crate::manifest`]) are built from the files in
//! `slash-commands/`, so what Slack's autocomplete shows, what `help` says and what the parser
//! accepts cannot drift apart (tests check all three). Parsing only reads words: canonicalising
//! emoji, checking who is an admin and acting are the handlers' job.
//!
//! The slash command is registered with `should_escape = true`, so Slack sends `&`, `<`, `>` as
//! entities, mentions as `<@U123|name>` and links as `<url|label>`; DM text arrives the same way.
//! The parser undoes that where it matters (display names, the connect URL, the purge member).

use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::photo::generate::{Colour, Design, Label};

/// The slash command's name when the config does not rename it.
pub const DEFAULT_COMMAND_NAME: &str = "/status-preset";

/// Slack refuses longer display names.
pub const MAX_DISPLAY_NAME_CHARS: usize = crate::template::MAX_CHARS;

/// Every file in `slash-commands/`. A test in `tests/manifest.rs` fails if a file there is
/// missing from this list, since `include_str!` cannot list a directory.
const SOURCES: &[&str] = &[include_str!("../slash-commands/status-preset.toml")];

/// The words the grammar accepts, in help order; also the candidates for "did you mean".
/// A family's subcommands are two words (`team add`).
const WORDS: &[&str] = &[
    "help",
    "list",
    "add",
    "photo",
    "remove",
    "pause",
    "resume",
    "restore",
    "status",
    "connect",
    "disconnect",
    "stats",
    "purge",
    "team list",
    "team on",
    "team off",
    "team add",
    "team photo",
    "team remove",
];

/// Echoed input is cut to this many characters so a pasted essay does not come back whole.
const ECHO_CHARS: usize = 40;

/// The longest emoji token `parse` accepts: `:` + a 100-character name + `::skin-tone-N-N:`.
pub const MAX_EMOJI_TOKEN_CHARS: usize = 120;

/// One file of `slash-commands/`: a slash command as registered in the manifest, plus its
/// subcommands for the help text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlashCommand {
    pub command: String,
    pub description: String,
    pub usage_hint: String,
    pub should_escape: bool,
    pub subcommands: Vec<Subcommand>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subcommand {
    /// What follows the command name, e.g. `add :emoji: Display Name`; its first word is the name.
    pub usage: String,
    /// One line of mrkdwn.
    pub summary: String,
    pub admin: bool,
}

impl Subcommand {
    /// The words that select this subcommand: the usage's leading lowercase words (`add`,
    /// `team add`), up to its first argument (`:emoji:`, `[url-or-code]`, `@member`, `Name`).
    pub fn name(&self) -> &str {
        let usage = self.usage.trim();
        let mut end = 0;
        for word in usage.split(' ') {
            if word.is_empty() || !word.chars().all(|c| c.is_ascii_lowercase()) {
                break;
            }
            end = if end == 0 { word.len() } else { end + 1 + word.len() };
        }
        &usage[..end]
    }
}

/// Reads one `slash-commands/*.toml` file.
pub fn parse_slash_command(toml_text: &str) -> Result<SlashCommand, toml::de::Error> {
    toml::from_str(toml_text)
}

/// Every slash command in `slash-commands/`, in [`SOURCES`] order.
pub fn slash_commands() -> &'static [SlashCommand] {
    static PARSED: OnceLock<Vec<SlashCommand>> = OnceLock::new();
    PARSED.get_or_init(|| {
        // The files are compiled in, not read at run time; the `embedded_slash_commands_parse`
        // test proves they parse, so this expect cannot fire in a built binary.
        SOURCES.iter().map(|text| parse_slash_command(text).expect("slash-commands/*.toml parses")).collect()
    })
}

fn status_preset() -> &'static SlashCommand {
    // Compiled-in data again; `embedded_slash_commands_parse` proves this file is embedded.
    slash_commands().iter().find(|c| c.command == DEFAULT_COMMAND_NAME).expect("slash-commands/status-preset.toml is embedded")
}

/// What a member asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    List,
    /// `emoji` is the token without colons, lowercased (`palm_tree`, `+1::skin-tone-2`), or a raw
    /// unicode emoji (`🌴`); canonicalising it is the emoji module's job.
    Add {
        emoji: String,
        name: String,
    },
    Photo {
        emoji: String,
    },
    /// `photo :emoji: badge | frame COLOUR [LABEL] | none`: a generated photo, or (`design`
    /// None) no photo at all.
    PhotoDesign {
        emoji: String,
        design: Option<Design>,
    },
    Remove {
        emoji: String,
    },
    Pause,
    Resume,
    Restore,
    Status,
    /// A URL or a bare code, with Slack's `<…>` link wrapping and entities undone.
    Connect {
        code: Option<String>,
    },
    Disconnect,
    Stats,
    /// A member ID such as `U123` or `W123`.
    Purge {
        member: String,
    },
    /// `team …`: the workspace presets the admins keep.
    Team(TeamCommand),
}

/// The `team` family's subcommands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamCommand {
    /// Emoji as in [`Command::Add`]; the name passed [`validate_display_name`].
    Add {
        emoji: String,
        name: String,
    },
    Photo {
        emoji: String,
    },
    /// As [`Command::PhotoDesign`], for the team preset.
    PhotoDesign {
        emoji: String,
        design: Option<Design>,
    },
    Remove {
        emoji: String,
    },
    List,
    On,
    Off,
}

impl Command {
    /// Only members listed in `[slack] admins` may run these.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Command::Stats
                | Command::Purge { .. }
                | Command::Team(
                    TeamCommand::Add { .. } | TeamCommand::Photo { .. } | TeamCommand::PhotoDesign { .. } | TeamCommand::Remove { .. }
                )
        )
    }

    /// The word that selects this command (for logs and metrics labels).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help => "help",
            Command::List => "list",
            Command::Add { .. } => "add",
            Command::Photo { .. } | Command::PhotoDesign { .. } => "photo",
            Command::Remove { .. } => "remove",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Restore => "restore",
            Command::Status => "status",
            Command::Connect { .. } => "connect",
            Command::Disconnect => "disconnect",
            Command::Stats => "stats",
            Command::Purge { .. } => "purge",
            Command::Team(TeamCommand::List) => "team list",
            Command::Team(TeamCommand::On) => "team on",
            Command::Team(TeamCommand::Off) => "team off",
            Command::Team(TeamCommand::Add { .. }) => "team add",
            Command::Team(TeamCommand::Photo { .. } | TeamCommand::PhotoDesign { .. }) => "team photo",
            Command::Team(TeamCommand::Remove { .. }) => "team remove",
        }
    }
}

/// Why the text is not a command. `Display` renders it for the default command name; use
/// [`ParseError::render`] with the configured one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The first word is no subcommand; `suggestion` is the nearest one within two edits.
    Unknown {
        word: String,
        suggestion: Option<&'static str>,
    },
    /// Words after a subcommand that takes fewer.
    UnexpectedWords {
        sub: &'static str,
    },
    MissingEmoji {
        sub: &'static str,
    },
    /// `token` is what stood where the emoji should be.
    BadEmoji {
        sub: &'static str,
        token: String,
    },
    MissingName,
    /// `reason` is [`validate_display_name`]'s sentence.
    BadName {
        reason: String,
    },
    MissingMember,
    /// Not a mention picked from Slack's autocomplete nor a member ID.
    BadMember {
        token: String,
    },
    /// A problem inside a `team` subcommand (`sub`: `team add`, …; `team` alone for an unknown one).
    Team {
        sub: &'static str,
        problem: String,
    },
    /// A generated photo's colour or label refused (`problem`: generate.rs's sentence), or a
    /// `frame` without its colour.
    Photo {
        sub: &'static str,
        problem: String,
    },
}

impl ParseError {
    /// The subcommand whose usage explains the fix; `None` when the word itself was unknown.
    pub fn subcommand(&self) -> Option<&'static str> {
        match self {
            ParseError::Unknown { .. } => None,
            ParseError::UnexpectedWords { sub } | ParseError::MissingEmoji { sub } | ParseError::BadEmoji { sub, .. } => Some(sub),
            ParseError::MissingName | ParseError::BadName { .. } => Some("add"),
            ParseError::MissingMember | ParseError::BadMember { .. } => Some("purge"),
            ParseError::Team { sub, .. } | ParseError::Photo { sub, .. } => Some(sub),
        }
    }

    /// The problem in one sentence (mrkdwn), without the usage.
    pub fn problem(&self) -> String {
        match self {
            ParseError::Unknown { word, suggestion } => {
                let mut s = format!("I don't know `{}`.", echo(word));
                if let Some(suggestion) = suggestion {
                    s.push_str(&format!(" Did you mean `{suggestion}`?"));
                }
                s
            }
            ParseError::UnexpectedWords { sub } => match *sub {
                "photo" | "remove" | "team photo" | "team remove" => format!("`{sub}` takes just one emoji."),
                "connect" => "`connect` takes just one thing: the address your browser landed on, or the code.".to_string(),
                "purge" => "`purge` takes just one member.".to_string(),
                _ => format!("`{sub}` takes nothing after it."),
            },
            ParseError::MissingEmoji { sub } => format!("`{sub}` needs an emoji, written between colons like `:palm_tree:`."),
            ParseError::BadEmoji { token, .. } => {
                let bare = token.trim_matches(':');
                if !bare.is_empty() && bare.chars().all(is_emoji_name_char) {
                    format!("Emoji go between colons: write `:{}:`, not `{}`.", echo(bare), echo(token))
                } else {
                    format!("`{}` isn't an emoji: emoji go between colons, like `:palm_tree:`.", echo(token))
                }
            }
            ParseError::MissingName => "`add` needs the display name after the emoji.".to_string(),
            ParseError::BadName { reason } => reason.clone(),
            ParseError::MissingMember => "`purge` needs a member: type `@` and pick them from the list Slack offers.".to_string(),
            ParseError::BadMember { token } => {
                format!("I can't tell which member `{}` is: type `@` and pick them from the list Slack offers.", echo(token))
            }
            ParseError::Team { problem, .. } | ParseError::Photo { problem, .. } => problem.clone(),
        }
    }

    /// What the member reads: the problem, then how to write the command, using the configured
    /// command name (an empty name gives usage without it, as typed in a DM).
    pub fn render(&self, command_name: &str) -> String {
        match self.subcommand() {
            Some(sub) => format!("{}\n{}", self.problem(), usage_of(sub, command_name)),
            None => format!("{}\n\n{}", self.problem(), usage(command_name)),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(DEFAULT_COMMAND_NAME))
    }
}

/// Parses the text after the slash command's name, or a DM's text (an opening mention of the bot
/// is skipped). Empty text is [`Command::Help`]; subcommand words are case-insensitive.
pub fn parse(text: &str) -> Result<Command, ParseError> {
    let text = strip_leading_mention(text.trim());
    let (word, rest) = split_token(text);
    if word.is_empty() {
        return Ok(Command::Help);
    }
    let lower = word.to_lowercase();
    match lower.as_str() {
        // Whatever follows `help` is still a request for help.
        "help" => Ok(Command::Help),
        "list" => no_more("list", rest, Command::List),
        "pause" => no_more("pause", rest, Command::Pause),
        "resume" => no_more("resume", rest, Command::Resume),
        "restore" => no_more("restore", rest, Command::Restore),
        "status" => no_more("status", rest, Command::Status),
        "disconnect" => no_more("disconnect", rest, Command::Disconnect),
        "stats" => no_more("stats", rest, Command::Stats),
        "add" => parse_add(rest),
        "photo" => match parse_photo("photo", rest)? {
            (emoji, None) => Ok(Command::Photo { emoji }),
            (emoji, Some(design)) => Ok(Command::PhotoDesign { emoji, design }),
        },
        "remove" => Ok(Command::Remove { emoji: one_emoji("remove", rest)? }),
        "connect" => parse_connect(rest),
        "purge" => parse_purge(rest),
        "team" => parse_team(rest),
        _ => Err(ParseError::Unknown { word: word.to_string(), suggestion: did_you_mean(&lower) }),
    }
}

/// `team add|photo|remove|list|on|off …`; `team` alone lists.
fn parse_team(rest: &str) -> Result<Command, ParseError> {
    let (word, rest) = split_token(rest);
    let team = |t: TeamCommand| Command::Team(t);
    match word.to_lowercase().as_str() {
        "" => Ok(team(TeamCommand::List)),
        "list" => no_more("team list", rest, team(TeamCommand::List)),
        "on" => no_more("team on", rest, team(TeamCommand::On)),
        "off" => no_more("team off", rest, team(TeamCommand::Off)),
        // The same words and checks as the member's own `add`.
        "add" => match parse_add(rest) {
            Ok(Command::Add { emoji, name }) => Ok(team(TeamCommand::Add { emoji, name })),
            Ok(_) => Err(ParseError::MissingEmoji { sub: "team add" }),
            Err(e) => Err(ParseError::Team { sub: "team add", problem: e.problem().replacen("`add`", "`team add`", 1) }),
        },
        "photo" => match parse_photo("team photo", rest)? {
            (emoji, None) => Ok(team(TeamCommand::Photo { emoji })),
            (emoji, Some(design)) => Ok(team(TeamCommand::PhotoDesign { emoji, design })),
        },
        "remove" => Ok(team(TeamCommand::Remove { emoji: one_emoji("team remove", rest)? })),
        _ => Err(ParseError::Team { sub: "team", problem: format!("I don't know `team {}`.", echo(word)) }),
    }
}

fn no_more(sub: &'static str, rest: &str, command: Command) -> Result<Command, ParseError> {
    if rest.is_empty() {
        Ok(command)
    } else {
        Err(ParseError::UnexpectedWords { sub })
    }
}

fn parse_add(rest: &str) -> Result<Command, ParseError> {
    let (token, name) = split_token(rest);
    if token.is_empty() {
        return Err(ParseError::MissingEmoji { sub: "add" });
    }
    let emoji = parse_emoji("add", token)?;
    if name.is_empty() {
        return Err(ParseError::MissingName);
    }
    let name = validate_display_name(&plain_text(name)).map_err(|reason| ParseError::BadName { reason })?;
    Ok(Command::Add { emoji, name })
}

/// `:emoji:` alone (an upload: `(emoji, None)`), or followed by `badge`, `frame COLOUR [LABEL]`
/// or `none` (`Some(design)`, `Some(None)` for none). Other words after the emoji are refused as
/// before (`photo` takes just one emoji, with the usage listing the forms).
fn parse_photo(sub: &'static str, rest: &str) -> Result<(String, Option<Option<Design>>), ParseError> {
    let (token, extra) = split_token(rest);
    if token.is_empty() {
        return Err(ParseError::MissingEmoji { sub });
    }
    let emoji = parse_emoji(sub, token)?;
    let (word, args) = split_token(extra);
    let refused = |problem: String| ParseError::Photo { sub, problem };
    let design = match word.to_lowercase().as_str() {
        "" => return Ok((emoji, None)),
        "none" if args.is_empty() => None,
        "badge" if args.is_empty() => Some(Design::Badge),
        "frame" => {
            let (colour, label) = split_token(args);
            if colour.is_empty() {
                return Err(refused(format!("`{sub} :{emoji}: frame` needs a colour: #RRGGBB (like #F28C28) or a name like orange.")));
            }
            let colour = Colour::parse(&plain_text(colour)).map_err(|e| refused(e.to_string()))?;
            let label = match strip_quotes(plain_text(label).trim()).trim() {
                "" => None,
                text => Some(Label::parse(text).map_err(|e| refused(e.to_string()))?),
            };
            Some(Design::Frame { colour, label })
        }
        _ => return Err(ParseError::UnexpectedWords { sub }),
    };
    Ok((emoji, Some(design)))
}

fn one_emoji(sub: &'static str, rest: &str) -> Result<String, ParseError> {
    let (token, extra) = split_token(rest);
    if token.is_empty() {
        return Err(ParseError::MissingEmoji { sub });
    }
    let emoji = parse_emoji(sub, token)?;
    if !extra.is_empty() {
        return Err(ParseError::UnexpectedWords { sub });
    }
    Ok(emoji)
}

/// `:name:`, `:name::skin-tone-N:` (lowercased, colons dropped) or a raw unicode emoji.
fn parse_emoji(sub: &'static str, token: &str) -> Result<String, ParseError> {
    // Longer than any emoji (a 100-character name with a skin tone): refused here, so replies
    // that name the emoji never echo a huge token back (found by tests/torture.rs).
    if token.chars().count() > MAX_EMOJI_TOKEN_CHARS {
        return Err(ParseError::BadEmoji { sub, token: token.to_string() });
    }
    // A raw emoji character (what some clients insert) is passed on whole for the emoji module.
    if token.chars().next().is_some_and(|c| !c.is_ascii()) {
        return Ok(token.to_string());
    }
    let bad = || ParseError::BadEmoji { sub, token: token.to_string() };
    let inner = token.strip_prefix(':').and_then(|t| t.strip_suffix(':')).ok_or_else(bad)?.to_lowercase();
    if inner.split("::").all(|part| !part.is_empty() && part.chars().all(is_emoji_name_char)) {
        Ok(inner)
    } else {
        Err(bad())
    }
}

/// Slack's emoji names are lowercase letters, digits and `_ - + '`; letters beyond ASCII are let
/// through for the emoji module to judge rather than refused here with a misleading message.
fn is_emoji_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | '\'')
}

fn parse_connect(rest: &str) -> Result<Command, ParseError> {
    let (token, extra) = split_token(rest);
    if !extra.is_empty() {
        return Err(ParseError::UnexpectedWords { sub: "connect" });
    }
    // Slack wraps a pasted URL as `<url>` or `<url|label>`; the target is the real address, and
    // its `&` arrives as `&amp;`, which would break the query string.
    let target = match token.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
        Some(inner) => inner.split('|').next().unwrap_or(""),
        None => token,
    };
    let code = unescape(target.trim());
    Ok(Command::Connect { code: (!code.is_empty()).then_some(code) })
}

fn parse_purge(rest: &str) -> Result<Command, ParseError> {
    let (token, extra) = split_token(rest);
    if token.is_empty() {
        return Err(ParseError::MissingMember);
    }
    if !extra.is_empty() {
        return Err(ParseError::UnexpectedWords { sub: "purge" });
    }
    member_id(token).map(|member| Command::Purge { member }).ok_or_else(|| ParseError::BadMember { token: token.to_string() })
}

/// The member ID in `<@U123>`, `<@U123|name>` or a bare `U123` / `W123` (enterprise).
fn member_id(token: &str) -> Option<String> {
    // A mention typed by hand rather than picked arrives entity-escaped.
    let token = unescape(token);
    let id = match token.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
        Some(inner) => inner.split('|').next().unwrap_or(""),
        None => token.as_str(),
    };
    // IDs are upper case; insisting on it keeps a name like `ursula` from passing for one.
    let looks_like_id = id.len() >= 2 && id.starts_with(['U', 'W']) && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    looks_like_id.then(|| id.to_string())
}

/// Cleans a display name: trims, drops one pair of surrounding quotes, and refuses what Slack
/// would refuse or mangle. The error is a sentence for the member.
///
/// The name may be a template ([`crate::template`]): `{name}` and `{status}` are filled in at
/// swap time, so Slack's rules (length, a leading `@`, links) are checked against its literal
/// text, and any other placeholder is refused naming the two.
pub fn validate_display_name(raw: &str) -> Result<String, String> {
    use crate::template::{self, Part};
    let name = strip_quotes(raw.trim()).trim();
    if name.is_empty() {
        return Err("A display name can't be empty.".to_string());
    }
    if name.chars().any(char::is_control) {
        return Err("A display name must be on one line, without tabs or other control characters.".to_string());
    }
    let parts = template::parse(name).map_err(|e| e.to_string())?;
    let is_template = template::has_placeholder(&parts);
    let length = template::literal(&parts, "").chars().count();
    if length > MAX_DISPLAY_NAME_CHARS {
        let what = if is_template { "The text of that name besides `{name}` and `{status}`" } else { "That display name" };
        return Err(format!("{what} is {length} characters long; Slack allows at most {MAX_DISPLAY_NAME_CHARS}."));
    }
    let raw_length = name.chars().count();
    if raw_length > template::MAX_TEMPLATE_CHARS {
        return Err(format!("That name is {raw_length} characters long as typed; at most {} fit.", template::MAX_TEMPLATE_CHARS));
    }
    // Slack refuses these at `users.profile.set` (`invalid_starts_with_at`, `name_not_allowed`):
    // better to say so now than to fail the swap later. `<!here>` arrives here as `@here`.
    let opening = match parts.first() {
        Some(Part::Text(text)) => text.as_str(),
        _ => "",
    };
    if opening.starts_with(['@', '＠']) {
        return Err("Slack doesn't allow a display name that starts with `@`.".to_string());
    }
    // A placeholder stands apart from the text around it: `{name}.com` is no address of its own.
    if looks_like_link(&template::literal(&parts, " ")) {
        return Err("Slack doesn't allow a web address in a display name.".to_string());
    }
    Ok(name.to_string())
}

/// Whether a name contains something Slack treats as a web address: a scheme, `www.`, or a word
/// ending in a common top-level domain (`example.com`).
fn looks_like_link(name: &str) -> bool {
    const TLDS: &[&str] = &[
        "com", "net", "org", "io", "co", "dev", "app", "me", "ly", "gg", "xyz", "info", "biz", "ai", "us", "uk", "de", "fr", "tv", "link",
        "site", "online", "page",
    ];
    let lower = name.to_lowercase();
    if lower.contains("://") || lower.contains("www.") {
        return true;
    }
    lower.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',' | '"' | '\'')).any(|word| {
        let word = word.trim_end_matches(['.', '!', '?', ':', ';']).split(['/', '?', '#']).next().unwrap_or("");
        match word.rsplit_once('.') {
            Some((host, tld)) => {
                !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.')) && TLDS.contains(&tld)
            }
            None => false,
        }
    })
}

/// Text a member wrote, made safe to show inside a message: Slack reads `<…>` as a link or
/// mention and `&` as the start of an entity, so those three are escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn strip_quotes(s: &str) -> &str {
    // Phones turn typed quotes into curly ones.
    const PAIRS: &[(char, char)] = &[('"', '"'), ('\'', '\''), ('“', '”'), ('‘', '’')];
    PAIRS.iter().find_map(|&(open, close)| s.strip_prefix(open).and_then(|t| t.strip_suffix(close))).unwrap_or(s)
}

/// Help for every subcommand (mrkdwn), from `slash-commands/status-preset.toml`. An empty
/// `command_name` leaves it out, for DMs where members type the words alone.
pub fn usage(command_name: &str) -> String {
    let spec = status_preset();
    let line = |sub: &Subcommand| format!("• `{}` — {}", invocation(command_name, &sub.usage), sub.summary);
    let mut out =
        if command_name.trim().is_empty() { spec.description.clone() } else { format!("*{}*: {}", command_name.trim(), spec.description) };
    for sub in spec.subcommands.iter().filter(|s| !s.admin) {
        out.push('\n');
        out.push_str(&line(sub));
    }
    if spec.subcommands.iter().any(|s| s.admin) {
        out.push_str("\n*Admins only*");
        for sub in spec.subcommands.iter().filter(|s| s.admin) {
            out.push('\n');
            out.push_str(&line(sub));
        }
    }
    out
}

/// The usage line of one subcommand; the full [`usage`] when `sub` is not one.
pub fn usage_of(sub: &str, command_name: &str) -> String {
    match status_preset().subcommands.iter().find(|s| s.name().eq_ignore_ascii_case(sub)) {
        Some(s) => format!("Usage: `{}` — {}", invocation(command_name, &s.usage), s.summary),
        None => usage(command_name),
    }
}

fn invocation(command_name: &str, usage: &str) -> String {
    let command_name = command_name.trim();
    if command_name.is_empty() {
        usage.to_string()
    } else {
        format!("{command_name} {usage}")
    }
}

/// Splits off the first token: a whole `<…>` (a mention's or link's label may hold spaces) or
/// the run up to whitespace. The rest comes back trimmed.
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = if s.starts_with('<') { s.find('>').map(|i| i + 1) } else { None }.or_else(|| s.find(char::is_whitespace)).unwrap_or(s.len());
    (&s[..end], s[end..].trim())
}

/// DMs may open by mentioning the bot (`<@UBOT> list`); the mention is not part of the command.
fn strip_leading_mention(text: &str) -> &str {
    match split_token(text) {
        (token, rest) if token.starts_with("<@") && token.ends_with('>') => rest,
        _ => text,
    }
}

/// Undoes the entity escaping Slack applies to `&`, `<` and `>`, in one pass so `&amp;lt;`
/// becomes `&lt;` as typed.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (replacement, len) = if rest.starts_with("&amp;") {
            ('&', 5)
        } else if rest.starts_with("&lt;") {
            ('<', 4)
        } else if rest.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(replacement);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

/// Turns Slack-formatted text back into what the member typed: links and mentions become their
/// label (or their target when unlabelled) and entities are undone. Slack links anything that
/// looks like a domain, so `Away at example.com` would otherwise become a display name full of
/// angle brackets.
fn plain_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &after[..end];
        match inner.split_once('|') {
            Some((_, label)) if !label.is_empty() => out.push_str(label),
            Some((target, _)) => out.push_str(&unlabelled(target)),
            None => out.push_str(&unlabelled(inner)),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    unescape(&out)
}

/// `<!here>` is shown as `@here`; user and channel references keep their sigil.
fn unlabelled(target: &str) -> String {
    match target.strip_prefix('!') {
        Some(special) => format!("@{special}"),
        None => target.to_string(),
    }
}

/// Member input quoted back inside inline code: plain, shortened, with nothing that could close
/// the code span or be read as a mention by Slack.
pub(crate) fn echo(s: &str) -> String {
    let plain: String = plain_text(s).chars().filter(|&c| c != '`').collect();
    let mut short: String = plain.chars().take(ECHO_CHARS).collect();
    if plain.chars().count() > ECHO_CHARS {
        short.push('…');
    }
    escape(&short)
}

/// The subcommand within two edits of `word`, nearest first, for "did you mean".
fn did_you_mean(word: &str) -> Option<&'static str> {
    let first_words = WORDS.iter().filter_map(|w| w.split(' ').next());
    first_words.map(|w| (strsim::levenshtein(word, w), w)).filter(|&(d, _)| d <= 2).min_by_key(|&(d, _)| d).map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Command {
        match parse(text) {
            Ok(c) => c,
            Err(e) => panic!("{text:?} should parse, got: {e}"),
        }
    }

    fn err(text: &str) -> ParseError {
        match parse(text) {
            Ok(c) => panic!("{text:?} should not parse, got {c:?}"),
            Err(e) => e,
        }
    }

    fn add(emoji: &str, name: &str) -> Command {
        Command::Add { emoji: emoji.into(), name: name.into() }
    }

    #[test]
    fn embedded_slash_commands_parse() {
        assert_eq!(slash_commands().len(), SOURCES.len());
        assert_eq!(status_preset().command, DEFAULT_COMMAND_NAME);
        assert!(status_preset().should_escape, "purge and connect rely on Slack's escaped mentions and links");
    }

    #[test]
    fn spec_and_grammar_name_the_same_subcommands() {
        let names: Vec<&str> = status_preset().subcommands.iter().map(Subcommand::name).collect();
        assert_eq!(names, WORDS);
        for sub in &status_preset().subcommands {
            assert!(!matches!(parse(sub.name()), Err(ParseError::Unknown { .. })), "{} is in the help but not the grammar", sub.name());
            assert!(!sub.summary.contains('\n'), "{} summary must be one line", sub.name());
        }
    }

    #[test]
    fn empty_and_help() {
        assert_eq!(ok(""), Command::Help);
        assert_eq!(ok("   "), Command::Help);
        assert_eq!(ok("help"), Command::Help);
        assert_eq!(ok("HELP add"), Command::Help);
    }

    #[test]
    fn words_without_arguments() {
        assert_eq!(ok("list"), Command::List);
        assert_eq!(ok("LIST"), Command::List);
        assert_eq!(ok("  pause "), Command::Pause);
        assert_eq!(ok("Resume"), Command::Resume);
        assert_eq!(ok("restore"), Command::Restore);
        assert_eq!(ok("status"), Command::Status);
        assert_eq!(ok("disconnect"), Command::Disconnect);
        assert_eq!(ok("stats"), Command::Stats);
        assert_eq!(ok("connect"), Command::Connect { code: None });
    }

    #[test]
    fn extra_words_are_refused() {
        for sub in ["list", "pause", "resume", "restore", "status", "disconnect", "stats"] {
            let e = err(&format!("{sub} now please"));
            assert_eq!(e, ParseError::UnexpectedWords { sub });
            assert!(e.to_string().starts_with(&format!("`{sub}` takes nothing after it.\nUsage: `/status-preset {sub}`")), "{e}");
        }
    }

    #[test]
    fn add_parses_emoji_and_name() {
        assert_eq!(ok("add :palm_tree: On vacation"), add("palm_tree", "On vacation"));
        assert_eq!(ok("ADD :Palm_Tree:   On   vacation  "), add("palm_tree", "On   vacation"));
        assert_eq!(ok("add :palm_tree: \"On vacation\""), add("palm_tree", "On vacation"));
        assert_eq!(ok("add :palm_tree: “On vacation”"), add("palm_tree", "On vacation"));
        assert_eq!(ok("add :+1::skin-tone-2: Thumbs"), add("+1::skin-tone-2", "Thumbs"));
        assert_eq!(ok("add :a::skin-tone-3: A"), add("a::skin-tone-3", "A"));
        assert_eq!(ok("add :don't: Nope"), add("don't", "Nope"));
        assert_eq!(ok("add 🌴 Beach"), add("🌴", "Beach"));
        assert_eq!(ok("add 👍🏽 Yes"), add("👍🏽", "Yes"));
    }

    #[test]
    fn add_undoes_slack_escaping_in_the_name() {
        assert_eq!(ok("add :x: Tom &amp; Jerry"), add("x", "Tom & Jerry"));
        assert_eq!(ok("add :x: 1 &lt; 2"), add("x", "1 < 2"));
        assert_eq!(ok("add :x: Away at <http://example.com|the beach>"), add("x", "Away at the beach"));
        assert_eq!(ok("add :x: <mailto:a@b.c|a@b.c>"), add("x", "a@b.c"));
        assert_eq!(ok("add :x: ping <!here>"), add("x", "ping @here"));
        assert_eq!(ok("add :x: &amp;lt;"), add("x", "&lt;"));
    }

    /// Regression (issue 11): names Slack refuses at `users.profile.set` were accepted here and
    /// then failed the whole swap, photo included.
    #[test]
    fn names_slack_refuses_are_refused_at_add() {
        let at = ParseError::BadName { reason: "Slack doesn't allow a display name that starts with `@`.".into() };
        assert_eq!(err("add :x: @ada"), at);
        assert_eq!(err("add :x: <!here>"), at);
        assert_eq!(err("add :x: <!channel> is out"), at);
        let link = ParseError::BadName { reason: "Slack doesn't allow a web address in a display name.".into() };
        assert_eq!(err("add :x: <https://evil.example>"), link);
        assert_eq!(err("add :x: see http://x.test/a"), link);
        assert_eq!(err("add :x: Away at <http://example.com|example.com>"), link);
        assert_eq!(err("add :x: www.ada"), link);
        assert_eq!(err("add :x: Ada (ada.dev)"), link);
        assert_eq!(err("add :x: Ada at example.com."), link);
        // Look-alikes stay allowed.
        assert_eq!(ok("add :x: Ada. Out"), add("x", "Ada. Out"));
        assert_eq!(ok("add :x: v1.2 rollout"), add("x", "v1.2 rollout"));
        assert_eq!(ok("add :x: Ada @ lunch"), add("x", "Ada @ lunch"));
        assert_eq!(ok("add :x: ping <!here>"), add("x", "ping @here"));
        assert_eq!(ok("add :x: J.R.R. Tolkien"), add("x", "J.R.R. Tolkien"));
    }

    /// Issue 14: a name may be a template; Slack's rules apply to its literal text.
    #[test]
    fn add_accepts_name_templates_and_refuses_other_placeholders() {
        assert_eq!(ok("add :palm_tree: {name} (OOO)"), add("palm_tree", "{name} (OOO)"));
        assert_eq!(ok("add :x: {status} – {name}"), add("x", "{status} – {name}"));
        assert_eq!(ok("add :x: {{literal}}"), add("x", "{{literal}}"));
        // 80 characters of text beside the placeholders fit; the values are cut at swap time.
        assert_eq!(ok(&format!("add :x: {{name}} {}", "o".repeat(79))), add("x", &format!("{{name}} {}", "o".repeat(79))));
        let e = err(&format!("add :x: {{name}} {}", "o".repeat(80)));
        assert_eq!(
            e,
            ParseError::BadName {
                reason: "The text of that name besides `{name}` and `{status}` is 81 characters long; Slack allows at most 80.".into()
            }
        );
        for bad in ["add :x: {nmae} (OOO)", "add :x: {name", "add :x: Away }", "add :x: {emoji}"] {
            let e = err(bad);
            assert!(matches!(e, ParseError::BadName { .. }), "{bad}");
            let text = e.to_string();
            assert!(text.contains("`{name}`") && text.contains("`{status}`"), "{bad}: {text}");
            assert!(text.contains("Usage: `/status-preset add"), "{text}");
        }
        assert!(err("add :x: {nmae} (OOO)").to_string().starts_with("I can't fill in `{nmae}`"));
        // The literal text is held to Slack's rules; a placeholder is not part of a word.
        let at = ParseError::BadName { reason: "Slack doesn't allow a display name that starts with `@`.".into() };
        assert_eq!(err("add :x: @{name}"), at);
        assert_eq!(ok("add :x: {name} @ home"), add("x", "{name} @ home"));
        assert!(matches!(err("add :x: {name} at example.com"), ParseError::BadName { .. }));
        assert_eq!(ok("add :x: {name}.{status}"), add("x", "{name}.{status}"));
        assert!(matches!(err(&format!("add :x: {}", "{name}".repeat(34))), ParseError::BadName { .. }), "too long as typed");
    }

    #[test]
    fn escape_defuses_mentions_and_links() {
        assert_eq!(escape("<!here> & <https://x|y>"), "&lt;!here&gt; &amp; &lt;https://x|y&gt;");
    }

    #[test]
    fn add_errors() {
        assert_eq!(err("add"), ParseError::MissingEmoji { sub: "add" });
        assert_eq!(err("add :palm_tree:"), ParseError::MissingName);
        assert_eq!(err("add :palm_tree:   "), ParseError::MissingName);
        assert_eq!(err("add palm_tree On vacation"), ParseError::BadEmoji { sub: "add", token: "palm_tree".into() });
        assert_eq!(err("add :palm_tree On vacation"), ParseError::BadEmoji { sub: "add", token: ":palm_tree".into() });
        assert_eq!(err("add :: x"), ParseError::BadEmoji { sub: "add", token: "::".into() });
        assert_eq!(err("add : x"), ParseError::BadEmoji { sub: "add", token: ":".into() });
        assert_eq!(err("add :a:::b: x"), ParseError::BadEmoji { sub: "add", token: ":a:::b:".into() });
        assert_eq!(err("add :a b: x"), ParseError::BadEmoji { sub: "add", token: ":a".into() });
        assert_eq!(err("add :x: \"\""), ParseError::BadName { reason: "A display name can't be empty.".into() });
        assert!(matches!(err("add :x: line one\nline two"), ParseError::BadName { .. }));
        assert!(matches!(err(&format!("add :x: {}", "n".repeat(81))), ParseError::BadName { .. }));

        let e = err("add palm_tree On vacation").to_string();
        assert!(e.starts_with("Emoji go between colons: write `:palm_tree:`, not `palm_tree`.\n"), "{e}");
        assert!(e.contains("Usage: `/status-preset add :emoji: Display Name`"), "{e}");
        let e = err("add <http://x.y|x.y> Name").to_string();
        assert!(e.starts_with("`x.y` isn't an emoji: emoji go between colons"), "{e}");
        let e = err("add :palm_tree:").to_string();
        assert!(e.starts_with("`add` needs the display name after the emoji.\nUsage: `/status-preset add"), "{e}");
        let e = err("add").to_string();
        assert!(e.starts_with("`add` needs an emoji, written between colons like `:palm_tree:`."), "{e}");
    }

    #[test]
    fn photo_and_remove() {
        assert_eq!(ok("photo :palm_tree:"), Command::Photo { emoji: "palm_tree".into() });
        assert_eq!(ok("Remove :PALM_TREE:"), Command::Remove { emoji: "palm_tree".into() });
        assert_eq!(ok("remove 🌴"), Command::Remove { emoji: "🌴".into() });
        assert_eq!(err("photo"), ParseError::MissingEmoji { sub: "photo" });
        assert_eq!(err("remove"), ParseError::MissingEmoji { sub: "remove" });
        assert_eq!(err("photo palm_tree"), ParseError::BadEmoji { sub: "photo", token: "palm_tree".into() });
        assert_eq!(err("remove :a: :b:"), ParseError::UnexpectedWords { sub: "remove" });
        let e = err("photo :a: please").to_string();
        assert!(e.starts_with("`photo` takes just one emoji.\nUsage: `/status-preset photo :emoji:`"), "{e}");
    }

    #[test]
    fn generated_photos_badge_frame_and_none() {
        let design = |text: &str| match ok(text) {
            Command::PhotoDesign { emoji, design } => (emoji, design),
            Command::Team(TeamCommand::PhotoDesign { emoji, design }) => (format!("team {emoji}"), design),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(design("photo :palm_tree: badge"), ("palm_tree".into(), Some(Design::Badge)));
        assert_eq!(design("photo :palm_tree: NONE"), ("palm_tree".into(), None));
        let orange = Colour::parse("#F28C28").unwrap();
        assert_eq!(design("photo :palm_tree: frame orange"), ("palm_tree".into(), Some(Design::Frame { colour: orange, label: None })));
        let (_, d) = design("photo :palm_tree: frame #f28c28 Out of office");
        assert_eq!(d, Some(Design::Frame { colour: orange, label: Some(Label::parse("OUT OF OFFICE").unwrap()) }));
        let (_, d) = design("photo :palm_tree: frame Orange \"ooo\"");
        assert_eq!(d, Some(Design::Frame { colour: orange, label: Some(Label::parse("OOO").unwrap()) }));
        assert_eq!(design("team photo :car: badge"), ("team car".into(), Some(Design::Badge)));
        assert_eq!(design("team photo :car: none"), ("team car".into(), None));

        // Refusals: generate.rs's sentence, then the usage listing the forms.
        let e = err("photo :palm_tree: frame mauve").to_string();
        assert!(e.starts_with("“mauve” is not a colour I know: use #RRGGBB"), "{e}");
        assert!(e.contains("Usage: `/status-preset photo :emoji:` — ") && e.contains("`frame COLOUR [LABEL]`"), "{e}");
        let e = err("photo :palm_tree: frame #12345").to_string();
        assert!(e.contains("is not a colour I know"), "{e}");
        let e = err("photo :palm_tree: frame red seventeen chars!!").to_string();
        assert!(e.starts_with("A frame label can be at most 16 characters; that one has 17."), "{e}");
        let e = err("photo :palm_tree: frame").to_string();
        assert!(e.starts_with("`photo :palm_tree: frame` needs a colour"), "{e}");
        let e = err("team photo :car: frame nope").to_string();
        assert!(e.starts_with("“nope” is not a colour I know"), "{e}");
        assert_eq!(err("photo :a: badge please"), ParseError::UnexpectedWords { sub: "photo" });
        assert!(Command::Team(TeamCommand::PhotoDesign { emoji: "x".into(), design: None }).is_admin());
        assert!(!Command::PhotoDesign { emoji: "x".into(), design: None }.is_admin());
    }

    #[test]
    fn connect_takes_a_url_or_code() {
        assert_eq!(ok("connect abc123"), Command::Connect { code: Some("abc123".into()) });
        assert_eq!(ok("connect   abc123  "), Command::Connect { code: Some("abc123".into()) });
        assert_eq!(
            ok("connect <https://x.test/cb?code=1&amp;state=2|https://x.test/cb?code=1&amp;state=2>"),
            Command::Connect { code: Some("https://x.test/cb?code=1&state=2".into()) }
        );
        assert_eq!(ok("connect <https://x.test/cb?code=1>"), Command::Connect { code: Some("https://x.test/cb?code=1".into()) });
        assert_eq!(ok("connect <https://x.test/cb|the link I got>"), Command::Connect { code: Some("https://x.test/cb".into()) });
        assert_eq!(
            ok("connect http://localhost/cb?code=1&amp;state=2"),
            Command::Connect { code: Some("http://localhost/cb?code=1&state=2".into()) }
        );
        assert_eq!(ok("connect <>"), Command::Connect { code: None });
        let e = err("connect abc def");
        assert_eq!(e, ParseError::UnexpectedWords { sub: "connect" });
        assert!(e.to_string().contains("Usage: `/status-preset connect [url-or-code]`"), "{e}");
    }

    #[test]
    fn purge_takes_a_member() {
        assert_eq!(ok("purge <@U123ABC>"), Command::Purge { member: "U123ABC".into() });
        assert_eq!(ok("purge <@U123ABC|bob>"), Command::Purge { member: "U123ABC".into() });
        assert_eq!(ok("purge <@W99|Bob Smith>"), Command::Purge { member: "W99".into() });
        assert_eq!(ok("PURGE U123"), Command::Purge { member: "U123".into() });
        assert_eq!(ok("purge W123"), Command::Purge { member: "W123".into() });
        assert_eq!(ok("purge &lt;@U123&gt;"), Command::Purge { member: "U123".into() });
        assert_eq!(err("purge"), ParseError::MissingMember);
        assert_eq!(err("purge @bob"), ParseError::BadMember { token: "@bob".into() });
        assert_eq!(err("purge ursula"), ParseError::BadMember { token: "ursula".into() });
        assert_eq!(err("purge u123"), ParseError::BadMember { token: "u123".into() });
        assert_eq!(err("purge <#C123|general>"), ParseError::BadMember { token: "<#C123|general>".into() });
        assert_eq!(err("purge <@U1> <@U2>"), ParseError::UnexpectedWords { sub: "purge" });
        let e = err("purge @bob").to_string();
        assert!(e.starts_with("I can't tell which member `@bob` is: type `@` and pick them from the list Slack offers.\n"), "{e}");
        assert!(e.contains("Usage: `/status-preset purge @member`"), "{e}");
        assert!(err("purge").to_string().starts_with("`purge` needs a member"));
    }

    #[test]
    fn the_team_family() {
        let team = |t: TeamCommand| Command::Team(t);
        assert_eq!(ok("team"), team(TeamCommand::List));
        assert_eq!(ok("TEAM list"), team(TeamCommand::List));
        assert_eq!(ok("team on"), team(TeamCommand::On));
        assert_eq!(ok("team Off"), team(TeamCommand::Off));
        assert_eq!(
            ok("team add :Palm_Tree: \"On vacation\""),
            team(TeamCommand::Add { emoji: "palm_tree".into(), name: "On vacation".into() })
        );
        assert_eq!(ok("team photo :palm_tree:"), team(TeamCommand::Photo { emoji: "palm_tree".into() }));
        assert_eq!(ok("team remove 🌴"), team(TeamCommand::Remove { emoji: "🌴".into() }));
        // Names are checked as for `add`, and the usage shown is the team one.
        let e = err("team add :x: @ada");
        assert_eq!(e.problem(), "Slack doesn't allow a display name that starts with `@`.");
        assert!(e.to_string().contains("Usage: `/status-preset team add :emoji: Display Name`"), "{e}");
        let e = err("team add :x:").to_string();
        assert!(e.starts_with("`team add` needs the display name after the emoji."), "{e}");
        assert_eq!(err("team photo"), ParseError::MissingEmoji { sub: "team photo" });
        let e = err("team remove :a: :b:").to_string();
        assert!(e.starts_with("`team remove` takes just one emoji.\nUsage: `/status-preset team remove :emoji:`"), "{e}");
        assert_eq!(err("team off now"), ParseError::UnexpectedWords { sub: "team off" });
        let e = err("team frob").to_string();
        assert!(e.starts_with("I don't know `team frob`."), "{e}");
        assert_eq!(err("tema"), ParseError::Unknown { word: "tema".into(), suggestion: Some("team") });
    }

    #[test]
    fn a_leading_bot_mention_is_skipped() {
        assert_eq!(ok("<@UBOT> list"), Command::List);
        assert_eq!(ok("<@UBOT|statusinator>   add :x: Y"), add("x", "Y"));
        assert_eq!(ok("<@UBOT>"), Command::Help);
        assert_eq!(ok("<@UBOT> purge <@U2>"), Command::Purge { member: "U2".into() });
    }

    #[test]
    fn unknown_words_suggest_the_nearest() {
        assert_eq!(err("frobnicate"), ParseError::Unknown { word: "frobnicate".into(), suggestion: None });
        assert_eq!(err("remvoe :x:"), ParseError::Unknown { word: "remvoe".into(), suggestion: Some("remove") });
        assert_eq!(err("lsit"), ParseError::Unknown { word: "lsit".into(), suggestion: Some("list") });
        assert_eq!(err("ad :x: y"), ParseError::Unknown { word: "ad".into(), suggestion: Some("add") });
        assert_eq!(err("Disconect"), ParseError::Unknown { word: "Disconect".into(), suggestion: Some("disconnect") });
        assert_eq!(err("stat"), ParseError::Unknown { word: "stat".into(), suggestion: Some("stats") });

        let e = err("frobnicate").to_string();
        assert!(e.starts_with("I don't know `frobnicate`.\n\n*/status-preset*"), "{e}");
        assert!(!e.contains("Did you mean"));
        let e = err("remvoe").render("/sp");
        assert!(e.starts_with("I don't know `remvoe`. Did you mean `remove`?\n\n*/sp*"), "{e}");
        assert!(e.contains("`/sp remove :emoji:`"), "{e}");
    }

    #[test]
    fn echoed_input_is_defused() {
        let e = err("<!channel>").problem();
        assert_eq!(e, "I don't know `@channel`.");
        let e = err("a`b&amp;c").problem();
        assert_eq!(e, "I don't know `ab&amp;c`.");
        let long = "x".repeat(100);
        assert_eq!(err(&long).problem(), format!("I don't know `{}…`.", "x".repeat(ECHO_CHARS)));
    }

    #[test]
    fn levenshtein_distances() {
        use strsim::levenshtein;
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("remvoe", "remove"), 2);
        assert_eq!(levenshtein("ñandú", "nandu"), 2);
    }

    #[test]
    fn display_names() {
        assert_eq!(validate_display_name("  Bob  ").as_deref(), Ok("Bob"));
        assert_eq!(validate_display_name("\"Bob\"").as_deref(), Ok("Bob"));
        assert_eq!(validate_display_name("'Bob'").as_deref(), Ok("Bob"));
        assert_eq!(validate_display_name("“ Bob ”").as_deref(), Ok("Bob"));
        assert_eq!(validate_display_name("\"Bob").as_deref(), Ok("\"Bob"));
        assert_eq!(validate_display_name("\"\"Bob\"\"").as_deref(), Ok("\"Bob\""));
        assert_eq!(validate_display_name("\"").as_deref(), Ok("\""));
        assert_eq!(validate_display_name("Zoë 🌴").as_deref(), Ok("Zoë 🌴"));
        assert_eq!(validate_display_name(&"é".repeat(80)).map(|n| n.chars().count()), Ok(80));

        assert_eq!(validate_display_name(""), Err("A display name can't be empty.".into()));
        assert_eq!(validate_display_name(" \t "), Err("A display name can't be empty.".into()));
        assert_eq!(validate_display_name("''"), Err("A display name can't be empty.".into()));
        assert_eq!(validate_display_name(&"é".repeat(81)), Err("That display name is 81 characters long; Slack allows at most 80.".into()));
        let one_line = Err("A display name must be on one line, without tabs or other control characters.".to_string());
        assert_eq!(validate_display_name("a\nb"), one_line);
        assert_eq!(validate_display_name("a\tb"), one_line);
        assert_eq!(validate_display_name("a\u{7}b"), one_line);
    }

    #[test]
    fn usage_lists_every_subcommand_with_the_configured_name() {
        let text = usage("/sp");
        assert!(text.starts_with("*/sp*: "), "{text}");
        for sub in &status_preset().subcommands {
            assert!(text.contains(&format!("• `/sp {}` — {}", sub.usage, sub.summary)), "{}", sub.usage);
        }
        let admin_heading = text.find("*Admins only*").unwrap_or(0);
        assert!(admin_heading > text.find("`/sp disconnect`").unwrap_or(usize::MAX), "admin commands come last");
        assert!(admin_heading < text.find("`/sp stats`").unwrap_or(0));
        assert!(!text.contains("/status-preset"));

        let dm = usage("");
        assert!(dm.contains("• `add :emoji: Display Name` — "), "{dm}");
        assert!(!dm.contains("/"), "{dm}");
    }

    #[test]
    fn usage_of_one_subcommand() {
        assert_eq!(
            usage_of("remove", "/status-preset"),
            "Usage: `/status-preset remove :emoji:` — Delete a preset; if it is active, your own name and photo come back."
        );
        assert!(usage_of("PURGE", "/x").starts_with("Usage: `/x purge @member`"));
        assert!(usage_of("add", "").starts_with("Usage: `add :emoji: Display Name`"));
        assert_eq!(usage_of("nope", "/x"), usage("/x"));
    }

    #[test]
    fn names_and_admin() {
        let all = [
            Command::Help,
            Command::List,
            add("x", "y"),
            Command::Photo { emoji: "x".into() },
            Command::Remove { emoji: "x".into() },
            Command::Pause,
            Command::Resume,
            Command::Restore,
            Command::Status,
            Command::Connect { code: None },
            Command::Disconnect,
            Command::Stats,
            Command::Purge { member: "U1".into() },
            Command::Team(TeamCommand::List),
            Command::Team(TeamCommand::On),
            Command::Team(TeamCommand::Off),
            Command::Team(TeamCommand::Add { emoji: "x".into(), name: "y".into() }),
            Command::Team(TeamCommand::Photo { emoji: "x".into() }),
            Command::Team(TeamCommand::Remove { emoji: "x".into() }),
        ];
        let names: Vec<&str> = all.iter().map(Command::name).collect();
        assert_eq!(names, WORDS);
        let admins: Vec<&str> = all.iter().filter(|c| c.is_admin()).map(Command::name).collect();
        assert_eq!(admins, ["stats", "purge", "team add", "team photo", "team remove"]);
        for (command, sub) in all.iter().zip(&status_preset().subcommands) {
            assert_eq!(command.is_admin(), sub.admin, "slash-commands/status-preset.toml disagrees about {}", sub.name());
        }
    }
}
