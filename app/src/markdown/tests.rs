//! The renderer's tests: ordinary markdown, hostile markdown, and mention links.

use super::*;
use std::collections::HashMap;

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

/// Every tag is allowlisted, attributes are only href/title/rel/start and class
/// "mention", links are to http(s) or mailto (or, with class "mention", a mention's
/// address) and carry the rel, and no dangerous markup survives as markup.
fn assert_safe(markdown: &str) -> String {
    assert_safe_with(markdown, &HashMap::new())
}

/// [`assert_safe`] for a comment rendered with the mentions `known`.
fn assert_safe_with(markdown: &str, known: &HashMap<String, Mentioned>) -> String {
    let html = render_with_mentions(markdown, known);
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
                matches!(*attribute, "href" | "title" | "rel" | "start")
                    || (name == "a" && (*attribute, *value) == ("class", "mention")),
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
            let mention = attributes.contains(&("class", "mention"));
            assert!(
                href.is_some_and(|(_, v)| if mention {
                    mentions::is_mention_href(v)
                } else {
                    v.starts_with("https://")
                        || v.starts_with("http://")
                        || v.starts_with("mailto:")
                }),
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

/// Handles as a page would know them: alice (user 7), team shop, and a team whose
/// slug cannot be one.
fn known() -> HashMap<String, Mentioned> {
    HashMap::from([
        ("alice".to_string(), Mentioned::Person { id: 7 }),
        (
            "shop".to_string(),
            Mentioned::Team {
                slug: "shop".into(),
            },
        ),
        (
            "evil".to_string(),
            Mentioned::Team {
                slug: "evil\" onclick=\"alert(1)".into(),
            },
        ),
    ])
}

#[test]
fn mentions_of_known_people_and_teams_are_links_and_others_stay_text() {
    let html = assert_safe_with(
        "Thanks @Alice, cc @shop and @nobody. Also **@alice** again.",
        &known(),
    );
    let link = |href: &str, text: &str| {
        format!(
            "<a class=\"mention\" href=\"{href}\" rel=\"noopener noreferrer nofollow\">{text}</a>"
        )
    };
    assert_eq!(
        html,
        format!(
            "<p>Thanks {}, cc {} and @nobody. Also <strong>{}</strong> again.</p>\n",
            link("/findings?assignee=7", "@Alice"),
            link("/findings?team=shop", "@shop"),
            link("/findings?assignee=7", "@alice"),
        )
    );
    // the same comment rendered without knowing anyone links nobody
    assert!(!render("Thanks @Alice").contains("<a"));
}

#[test]
fn mentions_in_code_addresses_and_links_are_not_linked() {
    let markdown = "`@alice` and\n\n```\n@alice\n```\n\n    @shop\n\n\
                    mail alice@example.com or <alice@example.com>, \
                    https://social.example/@alice, [@alice](https://x.example) \
                    ![@shop](https://img.example/p.png)";
    let html = assert_safe_with(markdown, &known());
    assert!(!html.contains("mention"), "{html}");
    // a mention inside a link is recorded (it names them) but not a second link
    assert_eq!(mentions(markdown), ["alice", "shop"]);
}

#[test]
fn hostile_text_around_mentions_stays_text() {
    for markdown in [
        "@alice<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>@alice",
        "@alice\"><svg onload=alert(1)>",
        "@alice\" onmouseover=\"alert(1)",
        "[x](javascript:alert(1))@alice",
        "<a href=\"javascript:alert(1)\">@alice</a>",
        "<a class=\"mention\" href=\"/findings?assignee=1\">forged</a>",
        "[forged](/findings?assignee=1) [forged](/findings?team=shop)",
        "@evil is not a slug",
        "[@alice](javascript:alert(1))",
        "@shop&#x22;&#x3E;&#x3C;script&#x3E;",
    ] {
        let html = assert_safe_with(markdown, &known());
        let links = html.matches("<a ").count();
        let mentions = html
            .matches("<a class=\"mention\" href=\"/findings?")
            .count();
        assert_eq!(
            links, mentions,
            "only mention links in {html:?} from {markdown:?}"
        );
        assert!(!html.contains("forged</a>"), "{html:?}");
    }
    // a raw link is shown as text; the mention inside it is a link of its own
    let html = assert_safe_with("<a href=\"javascript:alert(1)\">@alice</a>", &known());
    assert!(
        html.starts_with("<p>&lt;a href=\"javascript:alert(1)\"&gt;<a class=\"mention\""),
        "{html}"
    );
    // a team whose slug could not be one is not linked
    assert!(!assert_safe_with("@evil", &known()).contains("<a"));
}
