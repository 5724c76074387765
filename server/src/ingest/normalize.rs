//! Helpers every format shares: paths, whitespace, bounded text.

/// A repository-relative path: no `file://` scheme, forward slashes, no leading `./`.
pub fn path(raw: &str) -> String {
    let mut p = raw.trim();
    if let Some(rest) = p.strip_prefix("file://") {
        p = rest;
    }
    let p = p.replace('\\', "/");
    let mut p = p.as_str();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_string()
}

/// Runs of whitespace collapsed to one space, ends trimmed: reformatting does not change it.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, with an ellipsis when cut (reports are untrusted: bound them).
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// The first non-empty line of a message, bounded: a title.
pub fn first_line(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    bounded(line, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_scheme_dots_and_backslashes() {
        assert_eq!(path("file:///src/index.js"), "/src/index.js");
        assert_eq!(path("./././app/main.py"), "app/main.py");
        assert_eq!(path("src\\win\\a.cs"), "src/win/a.cs");
    }

    #[test]
    fn bounded_cuts_on_char_boundaries() {
        assert_eq!(bounded("héllo", 2), "hé…");
        assert_eq!(bounded("hi", 2), "hi");
        assert_eq!(first_line("\n  first \nsecond", 100), "first");
        assert_eq!(collapse_whitespace(" a \n\t b "), "a b");
    }
}
