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

/// `registry:5000/app:1.4@sha256:…` → `registry:5000/app`: the image repository without tag
/// or digest, so a re-tag of the same repository keeps its findings' identity. A colon after
/// the last slash is a tag; one before it is a registry port.
pub fn image_repository(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => no_digest[..i].to_string(),
        _ => no_digest.to_string(),
    }
}

/// A scan's target as its scope keeps it. An image reference loses its tag and digest
/// (`registry/shop/api:1.4@sha256:…` → `registry/shop/api`), so a re-tagged image keeps
/// its findings: always for formats that scan images, otherwise when the target carries a
/// digest or a tag after a path (`registry/shop/api:1.4`). Anything else is kept as sent.
pub fn scan_target(raw: &str, image_format: bool) -> String {
    let looks_like_reference =
        !raw.is_empty() && !raw.contains("://") && !raw.contains(char::is_whitespace);
    if !looks_like_reference {
        return raw.to_string();
    }
    let tagged_path = raw.rsplit_once('/').is_some_and(|(_, last)| {
        last.split_once(':').is_some_and(|(name, tag)| {
            !name.is_empty()
                && !tag.is_empty()
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
    });
    if image_format || raw.contains("@sha256:") || tagged_path {
        image_repository(raw)
    } else {
        raw.to_string()
    }
}

/// The CWE id a tag names (`external/cwe/cwe-089`, `CWE-79: …`) as `CWE-89`, if it names one.
pub fn cwe_tag(tag: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let start = lower.find("cwe-")? + 4;
    let digits: String = lower[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let number: u32 = digits.parse().ok()?;
    Some(format!("CWE-{number}"))
}

/// Whether an id names a vulnerability or weakness class that belongs in `aliases`.
pub fn is_alias(id: &str) -> bool {
    let upper = id.trim().to_ascii_uppercase();
    upper.starts_with("CVE-") || upper.starts_with("GHSA-") || upper.starts_with("CWE-")
}

/// The first and last `n` bytes of a body as text, for format sniffing: serialisers that
/// sort keys can put a format's tell-tale keys at the end of a large document.
pub fn ends(body: &[u8], n: usize) -> (std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>) {
    let head = String::from_utf8_lossy(&body[..body.len().min(n)]);
    let tail = String::from_utf8_lossy(&body[body.len().saturating_sub(n)..]);
    (head, tail)
}

/// The longest text Bosun stores for each field of a finding, in characters. Reports are
/// attacker-controlled: whatever a format module keeps, [`cap_stored_text`] holds every
/// field to these before a finding is stored, so no report can make a field (or a page
/// that lists it) huge. A cut value ends in `…`.
pub mod caps {
    pub const TITLE: usize = 300;
    pub const RULE_ID: usize = 200;
    pub const DESCRIPTION: usize = 20_000;
    pub const REMEDIATION: usize = 20_000;
    pub const PATH: usize = 1_000;
    pub const LOCATION: usize = 1_000;
    pub const PACKAGE: usize = 500;
    pub const VERSION: usize = 200;
    pub const IMAGE: usize = 1_000;
    /// Kubernetes names are DNS subdomains of at most 253 characters.
    pub const K8S_NAME: usize = 253;
    pub const URL: usize = 2_000;
    pub const ASSET_KEY: usize = 1_000;
    /// Each alias, and how many are kept.
    pub const ALIAS: usize = 100;
    pub const ALIASES: usize = 50;
    /// Each reference, and how many are kept.
    pub const REFERENCE: usize = 2_000;
    pub const REFERENCES: usize = 50;
    /// The scanner's name and version, from the report's header.
    pub const SCANNER: usize = 100;
    pub const SCANNER_VERSION: usize = 100;
}

/// Holds a text to `max` characters in place, marking a cut with `…`; free for text
/// within its bound (the common case: one length check).
pub fn cap(text: &mut String, max: usize) {
    if text.len() > max && text.chars().count() > max {
        *text = bounded(text, max);
    }
}

fn cap_opt(text: &mut Option<String>, max: usize) {
    if let Some(text) = text {
        cap(text, max);
    }
}

fn cap_list(items: &mut Vec<String>, each: usize, count: usize) {
    items.truncate(count);
    for item in items {
        cap(item, each);
    }
}

/// Every stored text field of a finding held to [`caps`]. Called on each finding before it
/// is encoded, after its fingerprint was computed from the full text, so two findings that
/// differ only past a cap stay two findings.
pub fn cap_stored_text(f: &mut super::NewFinding) {
    cap(&mut f.title, caps::TITLE);
    cap(&mut f.rule_id, caps::RULE_ID);
    cap(&mut f.description, caps::DESCRIPTION);
    cap(&mut f.remediation, caps::REMEDIATION);
    cap(&mut f.location, caps::LOCATION);
    cap_opt(&mut f.file_path, caps::PATH);
    cap_opt(&mut f.package_name, caps::PACKAGE);
    cap_opt(&mut f.package_version, caps::VERSION);
    cap_opt(&mut f.fixed_version, caps::VERSION);
    cap_opt(&mut f.image, caps::IMAGE);
    cap_opt(&mut f.k8s_namespace, caps::K8S_NAME);
    cap_opt(&mut f.k8s_kind, caps::K8S_NAME);
    cap_opt(&mut f.k8s_name, caps::K8S_NAME);
    cap_opt(&mut f.url, caps::URL);
    cap_list(&mut f.aliases, caps::ALIAS, caps::ALIASES);
    cap_list(&mut f.references, caps::REFERENCE, caps::REFERENCES);
    if let Some(asset) = &mut f.asset {
        cap(&mut asset.key, caps::ASSET_KEY);
    }
}

/// A scanner's name or version from a report header: no control characters (a NUL cannot
/// be stored at all), at most `max` characters.
pub fn header_text(raw: &str, max: usize) -> String {
    let clean: String = raw.chars().filter(|c| !c.is_control()).collect();
    bounded(clean.trim(), max)
}

/// Raw evidence kept with a finding: the JSON as given when its text is at most
/// `EVIDENCE_MAX` bytes, else a string prefix of it marked as cut.
pub const EVIDENCE_MAX: usize = 8 * 1024;

pub fn evidence(raw: &serde_json::Value) -> serde_json::Value {
    let text = raw.to_string();
    if text.len() <= EVIDENCE_MAX {
        raw.clone()
    } else {
        serde_json::json!({ "truncated": true, "prefix": bounded(&text, EVIDENCE_MAX) })
    }
}

/// [`evidence`] from an item's raw JSON text, without building and re-serialising a
/// value just to measure it.
pub fn evidence_text(raw: &str) -> serde_json::Value {
    if raw.len() <= EVIDENCE_MAX
        && let Ok(value) = serde_json::from_str(raw)
    {
        return value;
    }
    let compact: String = raw
        .split(['\n', '\r'])
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    serde_json::json!({ "truncated": true, "prefix": bounded(&compact, EVIDENCE_MAX) })
}

/// Ids that name a vulnerability or weakness class, upper-cased and de-duplicated, in order:
/// `CVE-…`, `GHSA-…`, `CWE-…` and friends.
pub fn aliases<I, S>(ids: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id = id.as_ref().trim();
        if id.is_empty() {
            continue;
        }
        let id = if id.to_ascii_uppercase().starts_with("GHSA-") {
            format!("GHSA-{}", &id[5..].to_ascii_lowercase())
        } else {
            id.to_ascii_uppercase()
        };
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
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
    fn aliases_are_normalised_and_unique() {
        assert_eq!(
            aliases([
                "cve-2024-1",
                "CVE-2024-1",
                " ",
                "GHSA-AbCd-1234-wxyz",
                "cwe-79"
            ]),
            vec!["CVE-2024-1", "GHSA-abcd-1234-wxyz", "CWE-79"]
        );
    }

    #[test]
    fn image_repository_drops_tag_and_digest_but_not_port() {
        assert_eq!(image_repository("nginx:1.25"), "nginx");
        assert_eq!(
            image_repository("localhost:5000/a/b:2@sha256:ab"),
            "localhost:5000/a/b"
        );
        assert_eq!(image_repository("localhost:5000/a/b"), "localhost:5000/a/b");
        assert_eq!(image_repository("repo@sha256:ab"), "repo");
        assert_eq!(
            image_repository("registry:5000/app:1.2@sha256:ab"),
            "registry:5000/app"
        );
        assert_eq!(image_repository("registry:5000/app"), "registry:5000/app");
        assert_eq!(
            image_repository("registry.example:5000/app:1.4"),
            "registry.example:5000/app"
        );
        assert_eq!(image_repository("app"), "app");
    }

    #[test]
    fn image_targets_lose_tag_and_digest_other_targets_stay() {
        assert_eq!(
            scan_target("registry.example.com/shop/api:1.4", false),
            "registry.example.com/shop/api"
        );
        assert_eq!(scan_target("shop/api@sha256:abcd", false), "shop/api");
        assert_eq!(scan_target("nginx:1.25", true), "nginx");
        assert_eq!(
            scan_target("nginx:1.25", false),
            "nginx:1.25",
            "no path: not surely an image"
        );
        for kept in [
            "github.com/acme/api",
            "services/api",
            ".",
            "",
            "prod-cluster",
            "https://shop.example:8443/login",
            "cluster a/ns",
        ] {
            assert_eq!(scan_target(kept, false), kept);
        }
        assert_eq!(
            scan_target("localhost:5000/app", true),
            "localhost:5000/app"
        );
    }

    #[test]
    fn aliases_are_cve_ghsa_and_cwe_ids() {
        assert!(is_alias(" cve-2024-1 ") && is_alias("GHSA-abcd-1234-wxyz") && is_alias("CWE-79"));
        assert!(!is_alias("KSV001") && !is_alias("npm:1234"));
    }

    #[test]
    fn evidence_from_text_matches_evidence_from_a_value() {
        let small = serde_json::json!({"a": 1, "b": "x"});
        assert_eq!(evidence_text(&small.to_string()), evidence(&small));
        let big = serde_json::json!({"a": "x".repeat(EVIDENCE_MAX)});
        let cut = evidence_text(&big.to_string());
        assert_eq!(cut["truncated"], true);
        assert!(cut["prefix"].as_str().unwrap().chars().count() <= EVIDENCE_MAX + 1);
    }

    #[test]
    fn large_evidence_is_cut() {
        let small = serde_json::json!({"a": 1});
        assert_eq!(evidence(&small), small);
        let big = serde_json::json!({"a": "x".repeat(EVIDENCE_MAX * 2)});
        let cut = evidence(&big);
        assert_eq!(cut["truncated"], true);
        assert!(cut["prefix"].as_str().unwrap().chars().count() <= EVIDENCE_MAX + 1);
    }

    #[test]
    fn every_stored_field_is_capped_and_marked() {
        use crate::ingest::{Asset, AssetKind, NewFinding};
        use app::domain::{Layer, Severity};
        let huge = "x".repeat(3_000_000);
        let mut f = NewFinding::new([0; 32], Layer::Code, Severity::High, huge.clone());
        f.rule_id = huge.clone();
        f.description = huge.clone();
        f.remediation = huge.clone();
        f.location = huge.clone();
        for field in [
            &mut f.file_path,
            &mut f.package_name,
            &mut f.package_version,
            &mut f.fixed_version,
            &mut f.image,
            &mut f.k8s_namespace,
            &mut f.k8s_kind,
            &mut f.k8s_name,
            &mut f.url,
        ] {
            *field = Some(huge.clone());
        }
        f.aliases = vec![huge.clone(); 1000];
        f.references = vec![huge.clone(); 1000];
        f.asset = Some(Asset {
            kind: AssetKind::Repository,
            key: huge.clone(),
        });
        cap_stored_text(&mut f);
        let chars = |s: &str| s.chars().count();
        assert_eq!(chars(&f.rule_id), caps::RULE_ID + 1);
        assert!(f.rule_id.ends_with('…'), "a cut is marked");
        assert_eq!(chars(&f.title), caps::TITLE + 1);
        assert_eq!(chars(&f.description), caps::DESCRIPTION + 1);
        assert_eq!(chars(&f.remediation), caps::REMEDIATION + 1);
        assert_eq!(chars(&f.location), caps::LOCATION + 1);
        assert_eq!(chars(f.file_path.as_deref().unwrap()), caps::PATH + 1);
        assert_eq!(chars(f.package_name.as_deref().unwrap()), caps::PACKAGE + 1);
        assert_eq!(
            chars(f.package_version.as_deref().unwrap()),
            caps::VERSION + 1
        );
        assert_eq!(
            chars(f.fixed_version.as_deref().unwrap()),
            caps::VERSION + 1
        );
        assert_eq!(chars(f.image.as_deref().unwrap()), caps::IMAGE + 1);
        assert_eq!(
            chars(f.k8s_namespace.as_deref().unwrap()),
            caps::K8S_NAME + 1
        );
        assert_eq!(chars(f.k8s_kind.as_deref().unwrap()), caps::K8S_NAME + 1);
        assert_eq!(chars(f.k8s_name.as_deref().unwrap()), caps::K8S_NAME + 1);
        assert_eq!(chars(f.url.as_deref().unwrap()), caps::URL + 1);
        assert_eq!(f.aliases.len(), caps::ALIASES);
        assert!(f.aliases.iter().all(|a| chars(a) == caps::ALIAS + 1));
        assert_eq!(f.references.len(), caps::REFERENCES);
        assert!(f.references.iter().all(|r| chars(r) == caps::REFERENCE + 1));
        assert_eq!(chars(&f.asset.unwrap().key), caps::ASSET_KEY + 1);
        // within bounds, nothing changes
        let mut small = NewFinding::new([0; 32], Layer::Code, Severity::High, "héllo");
        small.rule_id = "é".repeat(caps::RULE_ID);
        let before = small.clone();
        cap_stored_text(&mut small);
        assert_eq!(small, before);
    }

    #[test]
    fn scanner_names_lose_control_characters_and_length() {
        assert_eq!(header_text(" Sem\u{0}grep\n ", 100), "Semgrep");
        assert_eq!(header_text(&"s".repeat(500), 100).chars().count(), 101);
    }

    #[test]
    fn bounded_cuts_on_char_boundaries() {
        assert_eq!(bounded("héllo", 2), "hé…");
        assert_eq!(bounded("hi", 2), "hi");
        assert_eq!(first_line("\n  first \nsecond", 100), "first");
        assert_eq!(collapse_whitespace(" a \n\t b "), "a b");
    }
}
