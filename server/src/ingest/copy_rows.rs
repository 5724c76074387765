//! Findings as rows of PostgreSQL's binary `COPY … FROM STDIN` format: the fastest way to
//! hand many rows to the database, one stream per batch instead of a statement per row.
//! Binary rather than text, because the database then parses no numbers, timestamps, hex
//! or array literals (measured: a quarter less time for 100k findings, indexes included).
//!
//! Scanner text is attacker-controlled; every field is length-prefixed, so no report can
//! break out of its column or row. NUL, which PostgreSQL text cannot hold, is dropped.

use app::domain::{Layer, Severity};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::NewFinding;

/// The columns every row carries, in order; used for `findings` and the staging table.
pub const COLUMNS: &str = "project_id, fingerprint, content_hash, scanner, target, layer, \
    severity, scanner_severity, title, rule_id, description, file_path, line, location, \
    package_name, package_version, fixed_version, aliases, remediation, \"references\", image, \
    k8s_namespace, k8s_kind, k8s_name, url, asset_kind, asset_key, evidence, occurrences, \
    first_seen_at, last_seen_at, first_scan_id, last_scan_id, assignee_user_id, assignee_team_id, \
    due_at";

/// How many of [`COLUMNS`] there are.
const FIELDS: i16 = 36;

/// The binary COPY signature, flags and (empty) header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// PostgreSQL's `text` type, the element type of `aliases` and `references`.
const TEXT_OID: i32 = 25;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// What is the same for every row of one scan of one project.
pub struct RowContext {
    pub project_id: i64,
    pub scan_id: i64,
    pub now: DateTime<Utc>,
    /// Who new findings are assigned to: the project's default assignee and owning team.
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    /// The project's effective SLA: a new finding's due date is written with it (so no
    /// trigger runs per inserted row; see migration 25).
    pub sla: app::sla::SlaPolicy,
}

/// A finding ready to be written: its content columns encoded once (hashed to compare with
/// the stored row, copied as they are into the row when it is written), and the few fields
/// the writer decides by. Built on the parser's thread; the parsed [`NewFinding`], with its
/// many allocations, is dropped there too, while the writer waits for the database.
pub struct EncodedFinding {
    pub fingerprint: [u8; 32],
    pub layer: Layer,
    pub severity: Severity,
    pub occurrences: u32,
    seen: Option<(DateTime<Utc>, DateTime<Utc>)>,
    encoded: Vec<u8>,
    /// Every stored field the scanner controls, plus its scope, but not when it was
    /// observed. Equal hashes mean a re-import has nothing to rewrite.
    pub hash: [u8; 32],
}

impl EncodedFinding {
    /// When it was first seen: as the report says (runtime events), else `now`.
    pub fn first_seen(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.seen.map_or(now, |(first, _)| first)
    }

    /// Encodes `f` as reported by `scanner` for `target` (its scope, with the project).
    pub fn of(scanner: &str, target: &str, f: &NewFinding) -> EncodedFinding {
        let mut encoded = Vec::with_capacity(512);
        content(&mut encoded, scanner, target, f);
        let hash = Sha256::digest(&encoded).into();
        EncodedFinding {
            fingerprint: scoped_fingerprint(scanner, target, &f.fingerprint),
            layer: f.layer,
            severity: f.severity,
            occurrences: f.occurrences,
            seen: f.seen,
            encoded,
            hash,
        }
    }
}

/// A finding's stored identity: its format's fingerprint within its scope. A finding
/// belongs to one scope (project, scanner, target), so the same problem reported for two
/// targets is two findings, each closed and reopened by its own target's scans only.
///
/// SHA-256 of `bosun-scope/v1 NUL scanner NUL target NUL fingerprint`: scanner ids and
/// targets hold no NUL, so the layout is unambiguous, and migration
/// `20261206000022_findings_belong_to_one_scope.sql` computes the same in SQL.
pub fn scoped_fingerprint(scanner: &str, target: &str, fingerprint: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"bosun-scope/v1\0");
    h.update(scanner.as_bytes());
    h.update(b"\0");
    h.update(target.as_bytes());
    h.update(b"\0");
    h.update(fingerprint);
    h.finalize().into()
}

/// One `COPY … FROM STDIN WITH (FORMAT binary)` stream of rows.
pub struct Rows {
    buf: Vec<u8>,
}

impl Default for Rows {
    fn default() -> Self {
        Rows {
            buf: HEADER.to_vec(),
        }
    }
}

impl Rows {
    /// Appends one row.
    pub fn push(&mut self, ctx: &RowContext, f: &EncodedFinding) {
        let out = &mut self.buf;
        out.extend_from_slice(&FIELDS.to_be_bytes());
        int8(out, ctx.project_id);
        bytes(out, &f.fingerprint);
        bytes(out, &f.hash);
        out.extend_from_slice(&f.encoded);
        int4(out, f.occurrences.clamp(1, i32::MAX as u32) as i32);
        let (first, last) = f.seen.unwrap_or((ctx.now, ctx.now));
        timestamp(out, first);
        timestamp(out, last);
        int8(out, ctx.scan_id);
        int8(out, ctx.scan_id);
        for id in [ctx.assignee_user_id, ctx.assignee_team_id] {
            match id {
                Some(id) => int8(out, id),
                None => null(out),
            }
        }
        // as `app::sla::sql::DUE_AT`: first seen + whole days, no pause yet
        match app::sla::due_at(first, f.severity, &ctx.sla, chrono::Duration::zero()) {
            Some(due) => timestamp(out, due),
            None => null(out),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() == HEADER.len()
    }

    /// The stream, with its end marker.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

/// Columns `scanner` … `evidence`.
fn content(out: &mut Vec<u8>, scanner: &str, target: &str, f: &NewFinding) {
    text(out, scanner);
    text(out, target);
    // enums travel as their labels
    text(out, f.layer.as_str());
    text(out, f.severity.as_str());
    text(out, f.severity.as_str());
    text(out, &f.title);
    text(out, &f.rule_id);
    text(out, &f.description);
    opt_text(out, f.file_path.as_deref());
    match f.line {
        Some(line) => int4(out, line),
        None => null(out),
    }
    text(out, &f.location);
    opt_text(out, f.package_name.as_deref());
    opt_text(out, f.package_version.as_deref());
    opt_text(out, f.fixed_version.as_deref());
    text_array(out, &f.aliases);
    text(out, &f.remediation);
    text_array(out, &f.references);
    for field in [&f.image, &f.k8s_namespace, &f.k8s_kind, &f.k8s_name, &f.url] {
        opt_text(out, field.as_deref());
    }
    opt_text(out, f.asset.as_ref().map(|a| a.kind.as_str()));
    opt_text(out, f.asset.as_ref().map(|a| a.key.as_str()));
    match &f.evidence {
        // json's binary form is its text
        Some(evidence) => bytes(out, evidence_json(evidence).as_bytes()),
        None => null(out),
    }
}

/// A field: its length, then what `write` appends.
fn field(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    write(out);
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

fn int4(out: &mut Vec<u8>, v: i32) {
    bytes(out, &v.to_be_bytes());
}

fn int8(out: &mut Vec<u8>, v: i64) {
    bytes(out, &v.to_be_bytes());
}

fn bytes(out: &mut Vec<u8>, v: &[u8]) {
    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
    out.extend_from_slice(v);
}

/// Text without NUL (the only byte PostgreSQL text refuses; Rust strings are valid UTF-8).
fn text(out: &mut Vec<u8>, v: &str) {
    if v.contains('\0') {
        bytes(out, v.replace('\0', "").as_bytes());
    } else {
        bytes(out, v.as_bytes());
    }
}

fn opt_text(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(v) => text(out, v),
        None => null(out),
    }
}

/// A one-dimensional `text[]` (no NULL elements) in the array's binary form.
fn text_array(out: &mut Vec<u8>, items: &[String]) {
    field(out, |out| {
        let dimensions: i32 = if items.is_empty() { 0 } else { 1 };
        for v in [dimensions, 0, TEXT_OID] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        if !items.is_empty() {
            // size, then lower bound
            out.extend_from_slice(&(items.len() as i32).to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            for item in items {
                text(out, item);
            }
        }
    });
}

fn timestamp(out: &mut Vec<u8>, at: DateTime<Utc>) {
    int8(out, at.timestamp_micros() - PG_EPOCH_MICROS);
}

/// Longest evidence stored, as JSON text.
const EVIDENCE_STORED_MAX: usize = 64 * 1024;

/// Evidence as JSON text without the `\u0000` escape, which no PostgreSQL text can hold:
/// NUL characters are removed from strings first (only when there are any).
fn evidence_json(evidence: &serde_json::Value) -> String {
    let json = evidence.to_string();
    // formats bound their evidence (normalize::evidence); this holds whatever slips by
    if json.len() > EVIDENCE_STORED_MAX {
        let prefix = super::normalize::bounded(&json, super::normalize::EVIDENCE_MAX);
        return serde_json::json!({ "truncated": true, "prefix": prefix }).to_string();
    }
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

    fn ctx() -> RowContext {
        RowContext {
            project_id: 7,
            scan_id: 42,
            now: DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            assignee_user_id: None,
            assignee_team_id: Some(3),
            sla: app::sla::SlaPolicy::default(),
        }
    }

    /// Splits a stream back into rows of fields (`None` for NULL), checking its framing.
    fn decode(stream: &[u8]) -> Vec<Vec<Option<Vec<u8>>>> {
        assert!(stream.starts_with(HEADER), "signature and header");
        let mut at = HEADER.len();
        let mut rows = Vec::new();
        loop {
            let count = i16::from_be_bytes(stream[at..at + 2].try_into().unwrap());
            at += 2;
            if count == -1 {
                assert_eq!(at, stream.len(), "nothing after the end marker");
                return rows;
            }
            let mut row = Vec::new();
            for _ in 0..count {
                let len = i32::from_be_bytes(stream[at..at + 4].try_into().unwrap());
                at += 4;
                if len < 0 {
                    row.push(None);
                } else {
                    row.push(Some(stream[at..at + len as usize].to_vec()));
                    at += len as usize;
                }
            }
            rows.push(row);
        }
    }

    #[test]
    fn every_field_is_framed_and_nul_is_dropped() {
        let mut f = NewFinding::new([1; 32], Layer::Code, Severity::High, "a\tb\nc\\d\re\0f");
        f.aliases = vec!["CVE-1".into(), "x\"y\0z".into()];
        f.evidence = Some(serde_json::json!({"k\u{0}": "v\u{0}w"}));
        let mut rows = Rows::default();
        rows.push(&ctx(), &EncodedFinding::of("scan\tner", "repo", &f));
        rows.push(&ctx(), &EncodedFinding::of("scan\tner", "repo", &f));
        let decoded = decode(&rows.finish());
        assert_eq!(decoded.len(), 2);
        let row = &decoded[0];
        assert_eq!(row.len(), COLUMNS.split(',').count());
        let text = |i: usize| String::from_utf8(row[i].clone().unwrap()).unwrap();
        assert_eq!(row[0].as_deref(), Some(&7i64.to_be_bytes()[..]));
        let scoped = scoped_fingerprint("scan\tner", "repo", &[1u8; 32]);
        assert_eq!(
            row[1].as_deref(),
            Some(&scoped[..]),
            "the fingerprint within its scope"
        );
        assert_eq!(text(3), "scan\tner");
        assert_eq!(text(8), "a\tb\nc\\d\ref", "title kept as is, without NUL");
        // aliases: 1 dimension, no NULLs, text, 2 elements from index 1, then each element
        let aliases = row[17].clone().unwrap();
        let words: Vec<i32> = aliases[..20]
            .chunks(4)
            .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(words, vec![1, 0, TEXT_OID, 2, 1]);
        assert_eq!(&aliases[20..], b"\0\0\0\x05CVE-1\0\0\0\x04x\"yz");
        assert_eq!(
            row[19].as_deref(),
            Some(&[0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25][..])
        );
        assert_eq!(
            row[27].as_deref(),
            Some(&b"{\"k\":\"vw\"}"[..]),
            "json, as text"
        );
        // 2026-11-26T10:00:00Z in microseconds since 2000-01-01
        let micros = i64::from_be_bytes(row[29].clone().unwrap().try_into().unwrap());
        assert_eq!(micros, 849_002_400_000_000);
        assert_eq!(row[32].as_deref(), Some(&42i64.to_be_bytes()[..]));
        assert_eq!(
            (row[33].clone(), row[34].clone()),
            (None, Some(3i64.to_be_bytes().to_vec()))
        );
    }

    #[test]
    fn an_empty_stream_is_still_well_formed() {
        let rows = Rows::default();
        assert!(rows.is_empty());
        assert!(decode(&rows.finish()).is_empty());
    }

    #[test]
    fn the_content_hash_ignores_observation_times_but_not_content() {
        let mut a = NewFinding::new([1; 32], Layer::Code, Severity::High, "t");
        let base = EncodedFinding::of("scanner", "repo", &a).hash;
        a.seen = Some((ctx().now, ctx().now));
        a.occurrences = 3;
        assert_eq!(EncodedFinding::of("scanner", "repo", &a).hash, base);
        a.description = "changed".into();
        assert_ne!(EncodedFinding::of("scanner", "repo", &a).hash, base);
        let b = NewFinding::new([1; 32], Layer::Code, Severity::High, "t");
        assert_ne!(EncodedFinding::of("scanner", "elsewhere", &b).hash, base);
    }
}
