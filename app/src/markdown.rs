//! Comments are written in markdown; this turns them into HTML safe to put in a page, and
//! finds the people they mention.
//!
//! Rendering has two layers so that a slip in one is caught by the other:
//! 1. the markdown events are rewritten: raw HTML becomes visible text (people paste
//!    payloads into security comments and should see them, not run them), images become
//!    links to the image (an `<img>` would load on view: a tracking pixel, or a request
//!    into the internal network from every reader's browser), and links whose address is
//!    not `http`, `https` or `mailto` lose the link and keep their text;
//! 2. ammonia sanitises the resulting HTML against a short allowlist of tags and
//!    attributes, allows only those three URL schemes and no relative URLs, and gives
//!    every link `rel="noopener noreferrer nofollow"`.

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// The only address schemes a rendered link may have.
const SAFE_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Everything pulldown-cmark emits for the options below, and nothing else.
const ALLOWED_TAGS: [&str; 25] = [
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "code",
    "em",
    "strong",
    "del",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
];

/// Markdown extensions comments get: GitHub-style tables and ~~strikethrough~~.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .tags(HashSet::from(ALLOWED_TAGS))
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href", "title"])),
            ("ol", HashSet::from(["start"])),
        ]))
        .url_schemes(HashSet::from(SAFE_SCHEMES))
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        // Dropped with their content should any reach this layer.
        .clean_content_tags(HashSet::from([
            "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript",
            "textarea", "title",
        ]));
    builder
});

/// Renders a comment's markdown to sanitised HTML (see the module documentation).
pub fn render(markdown: &str) -> String {
    let mut html = String::with_capacity(markdown.len() + markdown.len() / 2);
    pulldown_cmark::html::push_html(
        &mut html,
        safe_events(Parser::new_ext(markdown, options())).into_iter(),
    );
    SANITIZER.clean(&html).to_string()
}

/// A link or image being rendered: whether its `<a>` was kept, and for images the address
/// to show when the alt text is empty.
struct OpenLink<'a> {
    kept: bool,
    image_url: Option<CowStr<'a>>,
    has_text: bool,
}

/// Rewrites parser events as described in layer 1 of the module documentation.
fn safe_events<'a>(parser: Parser<'a>) -> Vec<Event<'a>> {
    let mut events = Vec::new();
    let mut open: Vec<OpenLink<'a>> = Vec::new();
    for event in parser {
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => {
                mark_text(&mut open);
                events.push(Event::Text(raw));
            }
            Event::Start(Tag::HtmlBlock) => events.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => events.push(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                // A link inside a link is invalid HTML; the inner one keeps only its text.
                let kept = open.iter().all(|link| !link.kept) && is_safe(link_type, &dest_url);
                open.push(OpenLink {
                    kept,
                    image_url: None,
                    has_text: false,
                });
                if kept {
                    events.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let kept = open.iter().all(|link| !link.kept) && is_safe(link_type, &dest_url);
                open.push(OpenLink {
                    kept,
                    image_url: Some(dest_url.clone()),
                    has_text: false,
                });
                if kept {
                    events.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                let Some(link) = open.pop() else { continue };
                if link.kept {
                    if let (Some(url), false) = (link.image_url, link.has_text) {
                        events.push(Event::Text(url));
                    }
                    events.push(Event::End(TagEnd::Link));
                }
            }
            Event::Text(_) | Event::Code(_) => {
                mark_text(&mut open);
                events.push(event);
            }
            other => events.push(other),
        }
    }
    events
}

fn mark_text(open: &mut [OpenLink<'_>]) {
    if let Some(link) = open.last_mut() {
        link.has_text = true;
    }
}

/// Whether a link may point at `destination`: an email autolink, or an absolute URL with
/// one of the safe schemes. Anything else, relative URLs included, is refused; browsers
/// strip whitespace and control characters inside schemes, so an allowlist on the raw
/// text is the only check that cannot be talked around.
fn is_safe(link_type: LinkType, destination: &str) -> bool {
    if link_type == LinkType::Email {
        return true; // rendered as mailto:, and the parser only accepts address characters
    }
    destination
        .trim_start()
        .split_once(':')
        .is_some_and(|(scheme, _)| {
            SAFE_SCHEMES
                .iter()
                .any(|safe| scheme.eq_ignore_ascii_case(safe))
        })
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
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(chunk) => {
                if code_block_depth == 0 {
                    text.push_str(&chunk);
                }
            }
            other => {
                collect_mentions(&text, &mut found, &mut seen);
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
    collect_mentions(&text, &mut found, &mut seen);
    found
}

/// Finds `@name` in plain text. The `@` must not follow a word character (that is an email
/// address), a slash (a URL such as `https://host/@alice`) or another `@`. A name starts
/// with a letter or digit and continues with letters, digits, `.`, `_` or `-`; trailing
/// punctuation belongs to the sentence, not the name.
fn collect_mentions(text: &str, found: &mut Vec<String>, seen: &mut HashSet<String>) {
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
        let name = name.to_ascii_lowercase();
        if seen.insert(name.clone()) {
            found.push(name);
        }
        search_from = at + 1 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opening and closing tags in sanitised HTML, without their angle brackets. Text
    /// never holds a literal `<` (it is escaped); attribute values may, so quotes are tracked.
    fn tags(html: &str) -> Vec<&str> {
        let mut found = Vec::new();
        let mut start = None;
        let mut in_quotes = false;
        for (i, c) in html.char_indices() {
            match (start, c) {
                (None, '<') => start = Some(i + 1),
                (Some(_), '"') => in_quotes = !in_quotes,
                (Some(from), '>') if !in_quotes => {
                    found.push(&html[from..i]);
                    start = None;
                }
                _ => {}
            }
        }
        assert!(start.is_none(), "unclosed tag in {html:?}");
        found
    }

    /// A tag's name and its attributes (values unescaped only as far as tests need).
    fn parse_tag(tag: &str) -> (&str, Vec<(&str, &str)>) {
        let tag = tag.trim_start_matches('/').trim_end_matches('/');
        let (name, mut rest) = tag.split_once(' ').unwrap_or((tag, ""));
        let mut attributes = Vec::new();
        while let Some((attribute, after)) = rest.trim_start().split_once("=\"") {
            let (value, after) = after.split_once('"').expect("quoted value");
            attributes.push((attribute, value));
            rest = after;
        }
        assert!(
            rest.trim().is_empty(),
            "unparsed attribute text {rest:?} in <{tag}>"
        );
        (name, attributes)
    }

    /// Every tag is allowlisted, attributes are only href/title/rel/start, links are to
    /// http(s) or mailto and carry the rel, and no dangerous markup survives as markup.
    fn assert_safe(markdown: &str) -> String {
        let html = render(markdown);
        let lower = html.to_ascii_lowercase();
        for opener in [
            "<script", "<style", "<iframe", "<img", "<svg", "<object", "<embed",
        ] {
            assert!(
                !lower.contains(opener),
                "{opener} in {html:?} from {markdown:?}"
            );
        }
        for tag in tags(&html) {
            let (name, attributes) = parse_tag(tag);
            assert!(
                ALLOWED_TAGS.contains(&name),
                "tag <{tag}> in {html:?} from {markdown:?}"
            );
            for (attribute, value) in &attributes {
                assert!(
                    matches!(*attribute, "href" | "title" | "rel" | "start"),
                    "attribute {attribute} in {html:?} from {markdown:?}"
                );
                let value = value.to_ascii_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    assert!(
                        !value.contains(scheme),
                        "{scheme} in {html:?} from {markdown:?}"
                    );
                }
            }
            if name == "a" && !tag.starts_with('/') {
                let href = attributes.iter().find(|(a, _)| *a == "href");
                assert!(
                    href.is_some_and(|(_, v)| v.starts_with("https://")
                        || v.starts_with("http://")
                        || v.starts_with("mailto:")),
                    "link without a safe href in {html:?} from {markdown:?}"
                );
                assert!(
                    attributes.contains(&("rel", "noopener noreferrer nofollow")),
                    "link without rel in {html:?}"
                );
            }
        }
        html
    }

    #[test]
    fn ordinary_markdown_renders() {
        let html = assert_safe(
            "Some **bold**, _emphasis_, ~~gone~~ and `code`.\n\n\
             - one\n- two\n\n\
             3. three\n4. four\n\n\
             > quoted\n\n\
             ```rust\nlet x = 1 < 2;\n```\n\n\
             | a | b |\n|---|---|\n| 1 | 2 |\n\n\
             See [the advisory](https://example.com/a?b=1&c=2 \"Advisory\") or \
             [mail us](mailto:sec@example.com).",
        );
        for part in [
            "<strong>bold</strong>",
            "<em>emphasis</em>",
            "<del>gone</del>",
            "<code>code</code>",
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
            "<ol start=\"3\">",
            "<blockquote>",
            "<pre><code>let x = 1 &lt; 2;\n</code></pre>",
            "<table>",
            "<td>1</td>",
            "<a href=\"https://example.com/a?b=1&amp;c=2\" title=\"Advisory\" \
             rel=\"noopener noreferrer nofollow\">the advisory</a>",
            "<a href=\"mailto:sec@example.com\" rel=\"noopener noreferrer nofollow\">mail us</a>",
        ] {
            assert!(html.contains(part), "{part:?} missing from {html:?}");
        }
    }

    #[test]
    fn autolinks_to_web_and_email_work() {
        assert_eq!(
            assert_safe("<https://example.com/x>"),
            "<p><a href=\"https://example.com/x\" rel=\"noopener noreferrer nofollow\">\
             https://example.com/x</a></p>\n"
        );
        assert_eq!(
            assert_safe("<bob@example.com>"),
            "<p><a href=\"mailto:bob@example.com\" rel=\"noopener noreferrer nofollow\">\
             bob@example.com</a></p>\n"
        );
    }

    #[test]
    fn raw_html_is_shown_as_text_never_run() {
        let cases = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg onload=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil\"></iframe>",
            "<style>body{display:none}</style>",
            "text <b onclick=alert(1)>inline</b> html",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "<!-- hidden --><details open ontoggle=alert(1)>",
            "<SCRIPT SRC=//evil/x.js></SCRIPT>",
        ];
        for markdown in cases {
            let html = assert_safe(markdown);
            // Escaped, so readers see what was pasted.
            assert!(html.contains("&lt;"), "{markdown:?} gave {html:?}");
        }
        assert_eq!(
            render("<script>alert(1)</script>"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        );
    }

    #[test]
    fn links_with_unsafe_schemes_keep_only_their_text() {
        let cases = [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](  javascript:alert(1))",
            "[x](<javascript:alert(1)>)",
            "[x](&#106;avascript:alert(1))",
            "[x](&#x6A;avascript&colon;alert(1))",
            "[x](java&#x09;script:alert(1))",
            "[x](java&#x0A;script:alert(1))",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x][ref]\n\n[ref]: javascript:alert(1)",
            "[x](/findings/1)",
            "[x](//evil.example/)",
            "[x](#top)",
        ];
        for markdown in cases {
            let html = assert_safe(markdown);
            assert_eq!(html, "<p>x</p>\n", "from {markdown:?}");
        }
    }

    #[test]
    fn unsafe_autolinks_stay_text() {
        let html = assert_safe("<javascript:alert(1)>");
        assert!(!html.contains("<a"), "{html:?}");
        let html = assert_safe("<data:text/html,hi>");
        assert!(!html.contains("<a"), "{html:?}");
    }

    #[test]
    fn no_javascript_anywhere_from_link_tricks() {
        for markdown in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](<javascript:alert(1)>)",
            "[x](&#106;avascript:alert(1))",
            "![x](javascript:alert(1))",
            "[x][r]\n\n[r]: <JAVASCRIPT:alert(1)>",
        ] {
            let html = render(markdown).to_ascii_lowercase();
            assert!(!html.contains("javascript:"), "{markdown:?} gave {html:?}");
        }
    }

    #[test]
    fn images_become_links_so_nothing_loads() {
        assert_eq!(
            assert_safe("![pixel](https://evil.example/pixel.png)"),
            "<p><a href=\"https://evil.example/pixel.png\" rel=\"noopener noreferrer nofollow\">\
             pixel</a></p>\n"
        );
        assert_eq!(
            assert_safe("![](https://evil.example/pixel.png)"),
            "<p><a href=\"https://evil.example/pixel.png\" rel=\"noopener noreferrer nofollow\">\
             https://evil.example/pixel.png</a></p>\n"
        );
        assert_eq!(assert_safe("![x](javascript:alert(1))"), "<p>x</p>\n");
        // A linked image is one link, to the outer address.
        assert_eq!(
            assert_safe("[![badge](https://img.example/b.svg)](https://ci.example/)"),
            "<p><a href=\"https://ci.example/\" rel=\"noopener noreferrer nofollow\">\
             badge</a></p>\n"
        );
    }

    #[test]
    fn attribute_breakouts_stay_inside_their_quotes() {
        assert_safe("[x](https://ok.example \"a\\\" onmouseover=\\\"alert(1)\")");
        assert_safe("[x](https://ok.example/\"onmouseover=\"alert(1))");
        assert_safe("[x](<https://ok.example/\" onclick=\"alert(1)>)");
    }

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
}
