//! Findings as rows of PostgreSQL's `COPY … FROM STDIN` text format: the fastest way to
//! hand many rows to the database, one stream per batch instead of a statement per row.
//!
//! Scanner text is attacker-controlled; the encoder escapes every byte COPY treats
//! specially and drops NUL, which PostgreSQL text cannot hold, so no report can break out
//! of its column or row.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::NewFinding;

/// The columns every row carries, in order; used for `findings` and the staging table.
pub const COLUMNS: &str = "project_id, fingerprint, content_hash, scanner, target, layer, \
    severity, scanner_severity, title, rule_id, description, file_path, line, location, \
    package_name, package_version, fixed_version, aliases, remediation, \"references\", image, \
    k8s_namespace, k8s_kind, k8s_name, url, asset_kind, asset_key, evidence, occurrences, \
    first_seen_at, last_seen_at, first_scan_id, last_scan_id, assignee_user_id, assignee_team_id";

/// What is the same for every row of one scan of one project.
pub struct RowContext {
    pub project_id: i64,
    pub scan_id: i64,
    pub now: DateTime<Utc>,
    /// Who new findings are assigned to: the project's default assignee and owning team.
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
}

/// A finding's content columns, encoded once: hashed to compare with the stored row, and
/// copied as they are into the row when it is written (encoding them is most of the work).
pub struct Content {
    encoded: Vec<u8>,
    /// Every stored field the scanner controls, plus its scope, but not when it was
    /// observed. Equal hashes mean a re-import has nothing to rewrite.
    pub hash: [u8; 32],
}

impl Content {
    /// Encodes `f` as reported by `scanner` for `target` (its scope, with the project).
    pub fn of(scanner: &str, target: &str, f: &NewFinding) -> Content {
        let mut encoded = Vec::with_capacity(512);
        content(&mut encoded, scanner, target, f);
        let hash = Sha256::digest(&encoded).into();
        Content { encoded, hash }
    }
}

/// Appends one row (ending in a newline) to `out`; `content` is [`Content::of`] `f`.
pub fn encode(out: &mut Vec<u8>, ctx: &RowContext, f: &NewFinding, content: &Content) {
    out.extend_from_slice(ctx.project_id.to_string().as_bytes());
    out.push(b'\t');
    bytea(out, &f.fingerprint);
    out.push(b'\t');
    bytea(out, &content.hash);
    out.push(b'\t');
    out.extend_from_slice(&content.encoded);
    out.push(b'\t');
    out.extend_from_slice(
        f.occurrences
            .max(1)
            .min(i32::MAX as u32)
            .to_string()
            .as_bytes(),
    );
    let (first, last) = f.seen.unwrap_or((ctx.now, ctx.now));
    out.push(b'\t');
    timestamp(out, first);
    out.push(b'\t');
    timestamp(out, last);
    for _ in 0..2 {
        out.push(b'\t');
        out.extend_from_slice(ctx.scan_id.to_string().as_bytes());
    }
    for id in [ctx.assignee_user_id, ctx.assignee_team_id] {
        out.push(b'\t');
        match id {
            Some(id) => out.extend_from_slice(id.to_string().as_bytes()),
            None => null(out),
        }
    }
    out.push(b'\n');
}

/// Columns `scanner` … `evidence`, tab-separated.
fn content(out: &mut Vec<u8>, scanner: &str, target: &str, f: &NewFinding) {
    let fields: [Option<&str>; 12] = [
        Some(scanner),
        Some(target),
        Some(f.layer.as_str()),
        Some(f.severity.as_str()),
        Some(f.severity.as_str()),
        Some(&f.title),
        Some(&f.rule_id),
        Some(&f.description),
        f.file_path.as_deref(),
        None, // line, written below
        Some(&f.location),
        f.package_name.as_deref(),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        if i == 9 {
            match f.line {
                Some(line) => out.extend_from_slice(line.to_string().as_bytes()),
                None => null(out),
            }
        } else {
            opt_text(out, *field);
        }
    }
    out.push(b'\t');
    opt_text(out, f.package_version.as_deref());
    out.push(b'\t');
    opt_text(out, f.fixed_version.as_deref());
    out.push(b'\t');
    text(out, &array_literal(&f.aliases));
    out.push(b'\t');
    text(out, &f.remediation);
    out.push(b'\t');
    text(out, &array_literal(&f.references));
    for field in [&f.image, &f.k8s_namespace, &f.k8s_kind, &f.k8s_name, &f.url] {
        out.push(b'\t');
        opt_text(out, field.as_deref());
    }
    out.push(b'\t');
    opt_text(out, f.asset.as_ref().map(|a| a.kind.as_str()));
    out.push(b'\t');
    opt_text(out, f.asset.as_ref().map(|a| a.key.as_str()));
    out.push(b'\t');
    match &f.evidence {
        Some(evidence) => text(out, &evidence_json(evidence)),
        None => null(out),
    }
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\N");
}

fn opt_text(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => text(out, v),
        None => null(out),
    }
}

/// COPY text escaping: backslash, tab, newline and carriage return; NUL is dropped.
fn text(out: &mut Vec<u8>, value: &str) {
    for &b in value.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => {}
            _ => out.push(b),
        }
    }
}

fn bytea(out: &mut Vec<u8>, bytes: &[u8]) {
    // `\\x…` in COPY text is the bytea hex literal `\x…`
    out.extend_from_slice(b"\\\\x");
    out.extend_from_slice(hex::encode(bytes).as_bytes());
}

fn timestamp(out: &mut Vec<u8>, at: DateTime<Utc>) {
    out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes());
}

/// A PostgreSQL array literal of quoted elements (`{"a","b \"c\""}`).
fn array_literal(items: &[String]) -> String {
    let mut s = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            if c != '\0' {
                s.push(c);
            }
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// Evidence as JSON text that `jsonb` accepts: it refuses the `\u0000` escape, so NUL
/// characters are removed from strings first (only when there are any).
fn evidence_json(evidence: &serde_json::Value) -> String {
    let json = evidence.to_string();
    if !json.contains("\\u0000") {
        return json;
    }
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => s.retain(|c| c != '\0'),
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            serde_json::Value::Object(map) => {
                let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
                for key in keys {
                    if let Some(value) = map.remove(&key) {
                        map.insert(key.replace('\0', ""), value);
                    }
                }
                map.values_mut().for_each(strip);
            }
            _ => {}
        }
    }
    let mut clean = evidence.clone();
    strip(&mut clean);
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{Layer, Severity};

    fn ctx() -> RowContext {
        RowContext {
            project_id: 7,
            scan_id: 42,
            now: DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            assignee_user_id: None,
            assignee_team_id: Some(3),
        }
    }

    #[test]
    fn special_bytes_cannot_break_out_of_a_column() {
        let mut f = NewFinding::new([1; 32], Layer::Code, Severity::High, "a\tb\nc\\d\re\0f");
        f.aliases = vec!["CVE-1".into(), "x\"y\\z".into()];
        f.evidence = Some(serde_json::json!({"k\u{0}": "v\u{0}w"}));
        let mut out = Vec::new();
        encode(&mut out, &ctx(), &f, &Content::of("scan\tner", "repo", &f));
        let row = String::from_utf8(out).unwrap();
        assert_eq!(row.matches('\n').count(), 1, "one row: {row}");
        assert!(row.ends_with('\n'));
        let columns: Vec<&str> = row.trim_end_matches('\n').split('\t').collect();
        assert_eq!(columns.len(), COLUMNS.split(',').count(), "{row}");
        assert_eq!(columns[3], "scan\\tner");
        assert_eq!(columns[8], "a\\tb\\nc\\\\d\\ref");
        assert_eq!(columns[17], "{\"CVE-1\",\"x\\\\\"y\\\\\\\\z\"}");
        assert_eq!(columns[27], "{\"k\":\"vw\"}");
        assert_eq!(columns[29], "2026-11-26T10:00:00.000000Z");
        assert_eq!(columns[32], "42");
        assert_eq!((columns[33], columns[34]), ("\\N", "3"));
    }

    #[test]
    fn the_content_hash_ignores_observation_times_but_not_content() {
        let mut a = NewFinding::new([1; 32], Layer::Code, Severity::High, "t");
        let base = Content::of("scanner", "repo", &a).hash;
        a.seen = Some((ctx().now, ctx().now));
        a.occurrences = 3;
        assert_eq!(Content::of("scanner", "repo", &a).hash, base);
        a.description = "changed".into();
        assert_ne!(Content::of("scanner", "repo", &a).hash, base);
        let b = NewFinding::new([1; 32], Layer::Code, Severity::High, "t");
        assert_ne!(Content::of("scanner", "elsewhere", &b).hash, base);
    }
}
