//! Comments are written in markdown; this turns them into HTML safe to put in a page, and
//! finds the people and teams they mention ([`mentions`]).
//!
//! Rendering has two layers so that a slip in one is caught by the other:
//! 1. the markdown events are rewritten: raw HTML becomes visible text (people paste
//!    payloads into security comments and should see them, not run them), images become
//!    links to the image (an `<img>` would load on view: a tracking pixel, or a request
//!    into the internal network from every reader's browser), links whose address is
//!    not `http`, `https` or `mailto` lose the link and keep their text, and an @mention
//!    of someone the caller names ([`render_with_mentions`]) becomes a link of class
//!    `mention` to their findings;
//! 2. ammonia sanitises the resulting HTML against a short allowlist of tags and
//!    attributes, allows only those three URL schemes and, as the one relative URL, a
//!    mention's link exactly as [`Mentioned::href`] writes it, allows `class="mention"` on
//!    links and no other class, and gives every link `rel="noopener noreferrer nofollow"`.

mod mentions;

pub use mentions::{Mentioned, mentions};

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use std::borrow::Cow;
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
        .allowed_classes(HashMap::from([("a", HashSet::from(["mention"]))]))
        // the one relative address a comment may link to is a mention's own
        .url_relative(UrlRelative::Custom(Box::new(mention_href_only)))
        .link_rel(Some("noopener noreferrer nofollow"))
        // Dropped with their content should any reach this layer.
        .clean_content_tags(HashSet::from([
            "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript",
            "textarea", "title",
        ]));
    builder
});

/// A relative URL survives sanitising only when it is a mention's link.
fn mention_href_only(url: &str) -> Option<Cow<'_, str>> {
    mentions::is_mention_href(url).then_some(Cow::Borrowed(url))
}

/// Renders a comment's markdown to sanitised HTML (see the module documentation), with no
/// mention linked.
pub fn render(markdown: &str) -> String {
    render_with_mentions(markdown, &HashMap::new())
}

/// [`render`], with each @mention of a handle in `known` (lowercased, as [`mentions`]
/// finds them) a link of class `mention` to [`Mentioned::href`]. Handles not in `known`,
/// and mentions in code or inside another link, stay text.
pub fn render_with_mentions(markdown: &str, known: &HashMap<String, Mentioned>) -> String {
    let mut html = String::with_capacity(markdown.len() + markdown.len() / 2);
    pulldown_cmark::html::push_html(
        &mut html,
        safe_events(Parser::new_ext(markdown, options()), known).into_iter(),
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

/// Rewrites parser events as described in layer 1 of the module documentation; `known`
/// are the handles whose mentions become links.
fn safe_events<'a>(parser: Parser<'a>, known: &HashMap<String, Mentioned>) -> Vec<Event<'a>> {
    let mut events = Vec::new();
    let mut open: Vec<OpenLink<'a>> = Vec::new();
    // Adjacent text is joined before mentions are looked for, as `mentions` does.
    let mut text = String::new();
    let mut code_block_depth = 0usize;
    for event in parser {
        if let Event::Text(chunk) = &event {
            mark_text(&mut open);
            text.push_str(chunk);
            continue;
        }
        // a mention is linked only where a link may be: not in code, not in another link
        let linkable = code_block_depth == 0 && open.iter().all(|link| !link.kept);
        push_text(
            &mut events,
            std::mem::take(&mut text),
            linkable.then_some(known),
        );
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
            Event::Code(_) => {
                mark_text(&mut open);
                events.push(event);
            }
            Event::Start(Tag::CodeBlock(_)) => {
                code_block_depth += 1;
                events.push(event);
            }
            Event::End(TagEnd::CodeBlock) => {
                code_block_depth = code_block_depth.saturating_sub(1);
                events.push(event);
            }
            other => events.push(other),
        }
    }
    let linkable = code_block_depth == 0 && open.iter().all(|link| !link.kept);
    push_text(&mut events, text, linkable.then_some(known));
    events
}

/// Pushes `text`, with the mentions of handles in `known` (when given) as mention links.
/// The link's address is an id or a checked slug ([`Mentioned::href`]); the handle stays a
/// text event, escaped by the renderer.
fn push_text(
    events: &mut Vec<Event<'_>>,
    text: String,
    known: Option<&HashMap<String, Mentioned>>,
) {
    if text.is_empty() {
        return;
    }
    let Some(known) = known.filter(|known| !known.is_empty()) else {
        events.push(Event::Text(text.into()));
        return;
    };
    let mut written = 0;
    for span in mentions::spans(&text) {
        let Some(href) = known.get(&span.name).and_then(Mentioned::href) else {
            continue;
        };
        if span.start > written {
            events.push(Event::Text(text[written..span.start].to_string().into()));
        }
        events.push(Event::InlineHtml(
            format!("<a class=\"mention\" href=\"{}\">", escape_attribute(&href)).into(),
        ));
        events.push(Event::Text(text[span.start..span.end].to_string().into()));
        events.push(Event::InlineHtml("</a>".into()));
        written = span.end;
    }
    if written < text.len() {
        events.push(Event::Text(text[written..].to_string().into()));
    }
}

/// Text made safe inside a double-quoted attribute (a mention's address needs none of
/// this; it is escaped all the same, should [`Mentioned::href`] ever change).
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
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

#[cfg(test)]
mod tests;
