//! Preset name templates: a preset's display name may hold `{name}` (the member's own name) and
//! `{status}` (their status text), filled in at swap time and cut to Slack's 80 characters.
//!
//! Pure text handling, no IO: [`parse`] checks a template (what `add` accepts), [`render`] fills
//! one in. `{{` and `}}` stand for literal braces; any other `{word}`, and a brace without its
//! partner, is refused with a sentence naming the two placeholders.

/// Slack refuses longer display names; counted in `char`s.
pub(crate) const MAX_CHARS: usize = 80;

/// The longest template as typed, placeholders included (what a preset keeps).
pub const MAX_TEMPLATE_CHARS: usize = 200;

/// What ends a shortened value.
const ELLIPSIS: char = '…';

/// The longest unknown placeholder word quoted back to the member.
const ECHO_WORD_CHARS: usize = 20;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text shown as it is (with `{{`/`}}` already turned into single braces).
    Text(String),
    /// `{name}`: the member's own display name (their real name when that is empty).
    Name,
    /// `{status}`: the status text, HTML entities decoded.
    Status,
}

/// A name template that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{word}` is not one of the two placeholders.
    Unknown(String),
    /// A `{` without its `}` (or a `}` without its `{`) that is not doubled.
    Unmatched,
}

/// The two placeholders, as every refusal names them.
const PLACEHOLDERS: &str =
    "a display name can use `{name}` (your own name) and `{status}` (your status text); write `{{` and `}}` for a brace";

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The word is quoted back only when it is plain (nothing Slack could read as markup).
            TemplateError::Unknown(word)
                if word.chars().count() <= ECHO_WORD_CHARS && word.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' ')) =>
            {
                write!(f, "I can't fill in `{{{word}}}`: {PLACEHOLDERS}.")
            }
            TemplateError::Unknown(_) => write!(f, "I can't fill in that `{{…}}`: {PLACEHOLDERS}."),
            TemplateError::Unmatched => write!(f, "A `{{` or `}}` in that name has no partner: {PLACEHOLDERS}."),
        }
    }
}

/// Splits a template into literal text and placeholders.
pub fn parse(template: &str) -> Result<Vec<Part>, TemplateError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => return Err(TemplateError::Unmatched),
            '{' => {
                let mut word = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => return Err(TemplateError::Unmatched),
                        Some(c) => word.push(c),
                    }
                }
                let part = match word.as_str() {
                    "name" => Part::Name,
                    "status" => Part::Status,
                    _ => return Err(TemplateError::Unknown(word)),
                };
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(part);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

/// Whether a (valid) template fills anything in: without a placeholder it shows as it is.
pub(crate) fn has_placeholder(parts: &[Part]) -> bool {
    parts.iter().any(|p| !matches!(p, Part::Text(_)))
}

/// Whether the name uses `{status}` (so a new status text changes what it shows).
pub(crate) fn uses_status(template: &str) -> bool {
    parse(template).is_ok_and(|parts| parts.contains(&Part::Status))
}

/// The literal text alone, placeholders left out (what Slack's rules are checked against, and
/// what must fit in [`MAX_CHARS`] by itself). `gap` stands where each placeholder was.
pub fn literal(parts: &[Part], gap: &str) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.as_str(),
            Part::Name | Part::Status => gap,
        })
        .collect()
}

/// The display name `template` shows for the member's own name `name` and the status text
/// `status` (as Slack sends it: HTML entities are decoded here). At most [`MAX_CHARS`]
/// characters: when too long, the filled-in values are shortened, each ending in `…` (the
/// longest first, so both keep as much as they fairly can), never the literal text. A stored
/// name that is no valid template (saved before templates existed) shows as it is.
pub(crate) fn render(template: &str, name: &str, status: &str) -> String {
    let Ok(parts) = parse(template) else { return template.to_string() };
    if !has_placeholder(&parts) {
        return literal(&parts, "");
    }
    let name = one_line(name.trim());
    let status = one_line(decode_entities(status).trim());
    let literal_len = literal(&parts, "").chars().count();
    let uses = |kind: &Part| parts.iter().filter(|p| *p == kind).count();
    let room = MAX_CHARS.saturating_sub(literal_len);
    let [name_len, status_len] = fit(room, [(name.chars().count(), uses(&Part::Name)), (status.chars().count(), uses(&Part::Status))]);
    let (name, status) = (shorten(&name, name_len), shorten(&status, status_len));
    let out: String = parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.as_str(),
            Part::Name => name.as_str(),
            Part::Status => status.as_str(),
        })
        .collect();
    let out = out.trim();
    // A template of placeholders alone with nothing to fill in (no status text): the member's own name.
    if out.is_empty() {
        shorten(&name, MAX_CHARS)
    } else {
        out.to_string()
    }
}

/// How many characters each value keeps so that every use fits in `room`: `values` are
/// (length, uses) pairs. The longest value gives up a character at a time (the first of equals
/// keeps its own), so a long status text is cut before a short name is touched.
fn fit(room: usize, values: [(usize, usize); 2]) -> [usize; 2] {
    let mut keep = [values[0].0, values[1].0];
    let total = |keep: &[usize; 2]| keep[0] * values[0].1 + keep[1] * values[1].1;
    while total(&keep) > room {
        // Only values that are used can make the total too long, so one of them is above zero.
        let longest = if values[1].1 > 0 && (values[0].1 == 0 || keep[1] >= keep[0]) { 1 } else { 0 };
        keep[longest] -= 1;
    }
    keep
}

/// `value` cut to `keep` characters, the last of them `…` when anything was cut.
fn shorten(value: &str, keep: usize) -> String {
    if value.chars().count() <= keep {
        return value.to_string();
    }
    if keep == 0 {
        return String::new();
    }
    let head: String = value.chars().take(keep - 1).collect();
    let mut out = head.trim_end().to_string();
    out.push(ELLIPSIS);
    out
}

/// Control characters (a pasted newline) become spaces: a display name is one line.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Undoes HTML entities as Slack writes them in status text: `&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&#39;` and any numeric entity (`&#8217;`, `&#x1F334;`). One pass: `&amp;lt;` gives `&lt;`.
/// Anything else starting with `&` stays as it is.
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match rest.find(';').filter(|&end| end <= 12).and_then(|end| entity(&rest[1..end]).map(|c| (c, end))) {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character an entity's body (between `&` and `;`) stands for.
fn entity(body: &str) -> Option<char> {
    match body {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = body.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn the_spec_example_shows_the_members_own_name() {
        assert_eq!(render("{name} (OOO)", "Countess Ada ✨", ""), "Countess Ada ✨ (OOO)");
        assert_eq!(render("{name} (OOO)", "Countess Ada ✨", "On the beach"), "Countess Ada ✨ (OOO)");
    }

    #[test]
    fn status_text_is_filled_in_with_entities_decoded() {
        assert_eq!(render("{name}: {status}", "Ada", "Out &amp; about &lt;3"), "Ada: Out & about <3");
        assert_eq!(render("{status}", "Ada", "&quot;Away&quot; &#39;til 5 &#8217; &#x1F334;"), "\"Away\" 'til 5 ’ 🌴");
        assert_eq!(decode_entities("&amp;lt; &bogus; & alone &#xZZ; &#0;"), "&lt; &bogus; & alone &#xZZ; &#0;");
        assert_eq!(decode_entities("a &amp"), "a &amp");
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(parse("{{literal}}"), Ok(vec![Part::Text("{literal}".into())]));
        assert_eq!(render("{{literal}}", "Ada", "x"), "{literal}");
        assert_eq!(render("{{{name}}}", "Ada", ""), "{Ada}");
        assert_eq!(render("{{name}} is {name}", "Ada", ""), "{name} is Ada");
        assert!(!has_placeholder(&parse("{{status}}").unwrap()));
    }

    #[test]
    fn other_placeholders_and_lone_braces_are_refused_naming_the_two() {
        for bad in ["{nmae} (OOO)", "{Name}", "{}", "{ name }", "Hi {emoji}"] {
            let e = parse(bad).unwrap_err();
            assert!(matches!(e, TemplateError::Unknown(_)), "{bad}");
            let msg = e.to_string();
            assert!(msg.contains("`{name}`") && msg.contains("`{status}`"), "{msg}");
        }
        assert_eq!(parse("{nmae}").unwrap_err().to_string().split(':').next(), Some("I can't fill in `{nmae}`"));
        assert!(parse("{<@U1>}").unwrap_err().to_string().starts_with("I can't fill in that `{…}`"));
        for bad in ["{name", "name}", "a { b", "a } b", "{na{me}", "{name}}"] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e, TemplateError::Unmatched, "{bad}");
            assert!(e.to_string().contains("`{name}`") && e.to_string().contains("`{status}`"));
        }
        // Such a name stored before templates existed shows as it is.
        assert_eq!(render("Ada {away", "x", "y"), "Ada {away");
    }

    #[test]
    fn the_literal_text_is_what_placeholders_leave() {
        let parts = parse("{name} ({{OOO}}) {status}").unwrap();
        assert_eq!(literal(&parts, ""), " ({OOO}) ");
        assert_eq!(literal(&parts, " "), "  ({OOO})  ");
        assert!(uses_status("{status}!") && !uses_status("{name}") && !uses_status("{{status}}"));
    }

    #[test]
    fn a_long_name_is_cut_with_an_ellipsis_and_the_literal_text_stays() {
        let long = "Countess Augusta Ada King of Lovelace, née Byron, Analyst of the Engine ✨";
        let out = render("{name} (OOO until Monday)", &format!("{long} and more of it"), "");
        assert_eq!(len(&out), MAX_CHARS, "{out}");
        assert!(out.ends_with("… (OOO until Monday)"), "{out}");
        assert!(out.starts_with("Countess Augusta Ada"), "{out}");
        // Exactly 80 fits untouched.
        let name = "n".repeat(MAX_CHARS - 6);
        assert_eq!(render("{name} (OOO)", &name, ""), format!("{name} (OOO)"));
        assert_eq!(render("{name} (OOO)", &format!("{name}x"), ""), format!("{}… (OOO)", "n".repeat(MAX_CHARS - 7)));
    }

    #[test]
    fn the_longest_value_is_cut_first() {
        let status = "s".repeat(100);
        let out = render("{name} – {status}", "Ada Lovelace", &status);
        assert_eq!(len(&out), MAX_CHARS, "{out}");
        assert!(out.starts_with("Ada Lovelace – sss"), "the short name is kept whole: {out}");
        assert!(out.ends_with("s…"), "{out}");
        // Both long: each keeps about half the room, each ends in `…`.
        let out = render("{name} / {status}", &"n".repeat(60), &"s".repeat(60));
        assert_eq!(len(&out), MAX_CHARS, "{out}");
        assert_eq!(out, format!("{}… / {}…", "n".repeat(38), "s".repeat(37)));
        // A value used twice is cut the same in both places.
        let out = render("{name}|{name}", &"n".repeat(50), "");
        assert!(len(&out) <= MAX_CHARS, "{out}");
        assert_eq!(out, format!("{0}…|{0}…", "n".repeat(38)));
    }

    #[test]
    fn a_cut_never_leaves_a_space_before_the_ellipsis_nor_a_line_break() {
        let out = render("{status} (OOO)", "Ada", &format!("{} word", "w".repeat(72)));
        assert!(len(&out) <= MAX_CHARS);
        assert!(out.ends_with("w… (OOO)"), "{out}");
        assert_eq!(render("{status}!", "Ada", "two\nlines"), "two lines!");
    }

    #[test]
    fn nothing_to_fill_in_shows_the_own_name() {
        assert_eq!(render("{status}", "Ada", ""), "Ada");
        assert_eq!(render("{status} (OOO)", "Ada", ""), "(OOO)");
        assert_eq!(render("{name}", "  Ada  ", ""), "Ada");
    }
}
