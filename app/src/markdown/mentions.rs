//! @mentions: finding the handles a comment names (`@alice`, `@team-payments`), and what a
//! rendered comment links them to.
//!
//! One scanner ([`spans`]) serves both: [`mentions`] records whom a comment mentions, and
//! [`super::render_with_mentions`] links exactly those handles, so a comment never shows
//! a mention that was not recorded, nor records one it does not show.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use std::collections::HashSet;

/// Someone a comment's `@handle` names, as a rendered comment links it. Only ids and
/// slugs: nothing a person typed (a display name) goes into the link's markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mentioned {
    /// A person, by user id.
    Person { id: i64 },
    /// A team, by slug.
    Team { slug: String },
}

impl Mentioned {
    /// Where the mention links: the person's findings (assigned to them), or the findings
    /// of the team's projects, in the explorer. `None` for a slug that cannot be one (the
    /// link is then not made).
    pub fn href(&self) -> Option<String> {
        match self {
            Mentioned::Person { id } => Some(format!("/findings?assignee={id}")),
            Mentioned::Team { slug } => {
                crate::domain::Slug::is_valid(slug).then(|| format!("/findings?team={slug}"))
            }
        }
    }
}

/// Whether `url` is a mention link exactly as [`Mentioned::href`] writes it: the only
/// relative URLs the sanitiser lets through.
pub fn is_mention_href(url: &str) -> bool {
    if let Some(id) = url.strip_prefix("/findings?assignee=") {
        return (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit());
    }
    url.strip_prefix("/findings?team=")
        .is_some_and(crate::domain::Slug::is_valid)
}

/// The people and teams a comment mentions (`@alice`, `@alice.smith`, `@team-payments`),
/// lowercased, each once, in order of first mention. Code spans, code blocks, raw HTML and
/// email addresses (`a@b.com`, `<bob@example.com>`) mention nobody.
pub fn mentions(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    // Adjacent text events are joined first: the parser splits text at some punctuation.
    let mut text = String::new();
    let mut code_block_depth = 0usize;
    let mut collect = |text: &str| {
        for span in spans(text) {
            if seen.insert(span.name.clone()) {
                found.push(span.name);
            }
        }
    };
    for event in Parser::new_ext(markdown, super::options()) {
        match event {
            Event::Text(chunk) => {
                if code_block_depth == 0 {
                    text.push_str(&chunk);
                }
            }
            other => {
                collect(&text);
                text.clear();
                match other {
                    Event::Start(Tag::CodeBlock(_)) => code_block_depth += 1,
                    Event::End(TagEnd::CodeBlock) => {
                        code_block_depth = code_block_depth.saturating_sub(1)
                    }
                    _ => {}
                }
            }
        }
    }
    collect(&text);
    found
}

/// One `@name` in a text: the byte range of `@name` as written, and the name lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub name: String,
}

/// Finds `@name` in plain text. The `@` must not follow a word character (that is an email
/// address), a slash (a URL such as `https://host/@alice`) or another `@`. A name starts
/// with a letter or digit and continues with letters, digits, `.`, `_` or `-`; trailing
/// punctuation belongs to the sentence, not the name.
pub fn spans(text: &str) -> Vec<Span> {
    let mut found = Vec::new();
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find('@') {
        let at = search_from + offset;
        search_from = at + 1;
        let follows_word = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || "._-+@/\\".contains(c));
        if follows_word {
            continue;
        }
        let rest = &text[at + 1..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            .count();
        let after = rest[len..].chars().next();
        // `@alice@example.com` is an address; `@bjørn` is not a name we can match whole.
        if after.is_some_and(|c| c == '@' || c.is_alphanumeric()) {
            continue;
        }
        let name = rest[..len].trim_end_matches(['.', '_', '-']);
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            continue;
        }
        found.push(Span {
            start: at,
            end: at + 1 + name.len(),
            name: name.to_ascii_lowercase(),
        });
        search_from = at + 1 + len;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_lowercased_once_in_order() {
        assert_eq!(
            mentions("Thanks @Alice and @alice.smith, cc @team-payments. Again @ALICE!"),
            ["alice", "alice.smith", "team-payments"]
        );
        assert_eq!(
            mentions("(@carol) [@dave](https://x.example) **@erin**\n- @frank's item\n# @gina"),
            ["carol", "dave", "erin", "frank", "gina"]
        );
        assert_eq!(mentions("line one @hal\nline two @ivy"), ["hal", "ivy"]);
    }

    #[test]
    fn code_and_addresses_mention_nobody() {
        let markdown = "`@span` and\n\n```\n@fenced\n```\n\n    @indented\n\n\
                        mail a@b.com, bob.smith@example.org or <carol@example.com>, \
                        @dave@example.com, https://social.example/@erin, \
                        <span>@html</span> wait, that one counts? @ @. @-x @_y";
        assert_eq!(mentions(markdown), ["html"]);
        assert!(mentions("<div>@block</div>").is_empty());
    }

    #[test]
    fn spans_cover_the_handle_as_written_without_trailing_punctuation() {
        let text = "cc @Alice.Smith., and @bob-";
        let found = spans(text);
        assert_eq!(found.len(), 2);
        assert_eq!(&text[found[0].start..found[0].end], "@Alice.Smith");
        assert_eq!(found[0].name, "alice.smith");
        assert_eq!(&text[found[1].start..found[1].end], "@bob");
    }

    #[test]
    fn only_hrefs_written_for_mentions_pass_as_mention_links() {
        let person = Mentioned::Person { id: 42 };
        let team = Mentioned::Team {
            slug: "shop".into(),
        };
        for m in [&person, &team] {
            assert!(is_mention_href(&m.href().unwrap()), "{m:?}");
        }
        let hostile = Mentioned::Team {
            slug: "x\"><script>".into(),
        };
        assert_eq!(hostile.href(), None);
        for url in [
            "/findings?assignee=",
            "/findings?assignee=1&x=2",
            "/findings?assignee=-1",
            "/findings?assignee=12345678901234567890",
            "/findings?team=Shop",
            "/findings?team=a/../../admin",
            "/findings?team=",
            "//evil.example/findings?team=shop",
            "/admin/users",
            "findings?team=shop",
            " /findings?team=shop",
        ] {
            assert!(!is_mention_href(url), "{url}");
        }
    }
}
