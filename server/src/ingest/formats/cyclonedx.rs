//! CycloneDX BOMs with vulnerabilities: JSON (spec 1.4 and later, top-level
//! `vulnerabilities` whose `affects[].ref` point at components' `bom-ref`) and XML (the same
//! 1.4+ `<vulnerabilities>` model, and the 1.0 vulnerability *extension* of spec 1.2/1.3
//! where `<v:vulnerabilities>` sit inside the affected `<component>`, as old Grype wrote).
//! A BOM without vulnerabilities is read and gives no findings.
//!
//! - Severity: the first rating's own label: critical → critical, high → high, medium →
//!   medium, low → low, info / none → info; with no label (or `unknown`) the highest rating
//!   score is mapped with [`Severity::from_cvss`]; with neither, info.
//! - Layer: `image` when the BOM's subject (`metadata.component`) is a container, else
//!   `dependency`.
//! - One finding per vulnerability × affected component: a vulnerability that affects three
//!   components is three problems to fix. Affects that point at no listed component still
//!   give a finding, named by the reference.
//! - Fingerprint (`cyclonedx/v1`): the image repository without tag or digest when the
//!   subject is a container (else empty), the vulnerability id, then the component's
//!   identity without its version: package URL without version and qualifiers, else group
//!   and name; and the file the component was found in when the producer says
//!   (`syft:location:0:path`). `bom-ref`s (often random UUIDs), versions, ratings and texts
//!   never go in.
//! - XML is read with `quick_xml`, which never expands external entities or DTDs; only the
//!   five predefined entities and character references are resolved, others are dropped.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_json::Value;

use super::support::{self, DESCRIPTION_MAX, LIST_MAX, SHORT_MAX, TITLE_MAX, has_key};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct CycloneDx;

const NAME: &str = "cyclonedx";

impl ReportFormat for CycloneDx {
    fn name(&self) -> &'static str {
        NAME
    }

    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        let t = head.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') {
            has_key(&head, "bomFormat") && head.contains("CycloneDX")
        } else if t.starts_with('<') {
            head.contains("<bom") && head.contains("cyclonedx.org/schema/bom")
        } else {
            false
        }
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array && top.value("bomFormat") == Some("CycloneDX")
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let xml = body
            .iter()
            .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
            .is_some_and(|b| *b == b'<');
        let bom = if xml {
            let root = xml::parse(body).map_err(|e| e.into_parse_error(NAME))?;
            if root.name != "bom" {
                return Err(ParseError::invalid(
                    NAME,
                    format!(
                        "the root element is <{}>, not <bom>",
                        normalize::bounded(&root.name, 100)
                    ),
                ));
            }
            from_xml(&root)
        } else {
            let root: Value =
                serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
            if !root.is_object() {
                return Err(ParseError::invalid(
                    NAME,
                    "the document is not a JSON object".to_string(),
                ));
            }
            from_json(&root)
        };
        let subject = &Subject::of(&bom.subject);
        let from_checkov = bom
            .tool
            .as_deref()
            .is_some_and(|t| crate::ingest::tools::scanner_id(t) == "checkov");
        let findings = bom
            .vulns
            .iter()
            .flat_map(|v| {
                v.affects.iter().map(move |c| {
                    let mut f = finding(subject, v, c);
                    if from_checkov {
                        // failed policy checks, not package vulnerabilities: as Checkov's
                        // JSON and SARIF say them
                        f.layer = super::checkov::layer_of_check(&v.id);
                        if v.ratings
                            .iter()
                            .all(|r| r.score.is_none() && !known_rating(r))
                        {
                            f.severity = Severity::Medium;
                        }
                    }
                    f
                })
            })
            .collect();
        Ok(ParsedReport {
            scanner: bom.tool.unwrap_or_else(|| "CycloneDX".to_string()),
            scanner_version: bom.tool_version,
            findings,
            skipped: Vec::new(),
        })
    }
}

/// A component as far as a finding needs it.
#[derive(Default, Clone)]
struct Component {
    kind: String,
    group: String,
    name: String,
    version: String,
    purl: String,
    path: String,
}

#[derive(Default)]
struct Rating {
    severity: String,
    score: Option<f64>,
}

#[derive(Default)]
struct Vuln {
    id: String,
    other_ids: Vec<String>,
    ratings: Vec<Rating>,
    cwes: Vec<String>,
    description: String,
    detail: String,
    recommendation: String,
    references: Vec<String>,
    affects: Vec<Component>,
    raw: Value,
}

#[derive(Default)]
struct Bom {
    tool: Option<String>,
    tool_version: Option<String>,
    subject: Component,
    vulns: Vec<Vuln>,
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => normalize::bounded(s.trim(), SHORT_MAX),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn json_component(c: &Value) -> Component {
    let path = c["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"].as_str() == Some("syft:location:0:path"))
        .map(|p| s(&p["value"]))
        .unwrap_or_default();
    Component {
        kind: s(&c["type"]),
        group: s(&c["group"]),
        name: s(&c["name"]),
        version: s(&c["version"]),
        purl: s(&c["purl"]),
        path,
    }
}

fn index_json_components<'a>(list: &'a Value, out: &mut HashMap<String, &'a Value>, depth: usize) {
    if depth > 32 {
        return;
    }
    for c in list.as_array().into_iter().flatten() {
        if let Some(r) = c["bom-ref"].as_str() {
            out.entry(r.to_string()).or_insert(c);
        }
        index_json_components(&c["components"], out, depth + 1);
    }
}

fn from_json(root: &Value) -> Bom {
    let mut by_ref = HashMap::new();
    if let Some(r) = root["metadata"]["component"]["bom-ref"].as_str() {
        by_ref.insert(r.to_string(), &root["metadata"]["component"]);
    }
    index_json_components(&root["components"], &mut by_ref, 0);
    let tools = &root["metadata"]["tools"];
    // 1.4: a list of tools; 1.5+: `{"components": [...]}`
    let listed = tools
        .as_array()
        .or_else(|| tools["components"].as_array())
        .map(|l| l.as_slice())
        .unwrap_or_default();
    let tool = producer(listed.iter().map(|t| {
        (
            t["name"].as_str().unwrap_or(""),
            t["version"].as_str().unwrap_or(""),
        )
    }));
    let mut bom = Bom {
        tool: tool.as_ref().map(|t| t.0.clone()),
        tool_version: tool.map(|t| t.1).filter(|v| !v.is_empty()),
        subject: json_component(&root["metadata"]["component"]),
        vulns: Vec::new(),
    };
    for v in root["vulnerabilities"].as_array().into_iter().flatten() {
        let mut references: Vec<String> = Vec::new();
        references.push(s(&v["source"]["url"]));
        for a in v["advisories"].as_array().into_iter().flatten() {
            references.push(s(&a["url"]));
        }
        for r in v["references"].as_array().into_iter().flatten() {
            references.push(s(&r["source"]["url"]));
        }
        let affects = v["affects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let r = a["ref"].as_str().unwrap_or("");
                by_ref
                    .get(r)
                    .map(|c| json_component(c))
                    .unwrap_or_else(|| dangling(r))
            })
            .collect();
        bom.vulns.push(Vuln {
            id: s(&v["id"]),
            other_ids: v["references"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| s(&r["id"]))
                .collect(),
            ratings: v["ratings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| Rating {
                    severity: s(&r["severity"]),
                    score: r["score"].as_f64(),
                })
                .collect(),
            cwes: v["cwes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("CWE-{}", s(c)))
                .collect(),
            description: s_long(&v["description"]),
            detail: s_long(&v["detail"]),
            recommendation: s_long(&v["recommendation"]),
            references,
            affects,
            raw: v.clone(),
        });
    }
    bom
}

fn s_long(v: &Value) -> String {
    v.as_str()
        .map(|t| normalize::bounded(t.trim(), DESCRIPTION_MAX))
        .unwrap_or_default()
}

/// An `affects` reference that names no listed component.
fn dangling(r: &str) -> Component {
    let r = normalize::bounded(r.trim(), SHORT_MAX);
    if r.starts_with("pkg:") {
        Component {
            purl: r,
            ..Component::default()
        }
    } else {
        Component {
            name: r,
            ..Component::default()
        }
    }
}

fn xml_component(c: &xml::Element) -> Component {
    let path = c
        .child("properties")
        .into_iter()
        .flat_map(|p| p.children_named("property"))
        .find(|p| p.attr("name") == Some("syft:location:0:path"))
        .map(|p| normalize::bounded(p.text.trim(), SHORT_MAX))
        .unwrap_or_default();
    Component {
        kind: c.attr("type").unwrap_or("").to_string(),
        group: c.text_of("group"),
        name: c.text_of("name"),
        version: c.text_of("version"),
        purl: c.text_of("purl"),
        path,
    }
}

fn xml_vuln(v: &xml::Element, affects: Vec<Component>) -> Vuln {
    let ratings = v
        .child("ratings")
        .into_iter()
        .flat_map(|r| r.children_named("rating"))
        .map(|r| {
            let score = r.child("score").map(|sc| {
                if sc.children.is_empty() {
                    sc.text.trim().to_string()
                } else {
                    sc.text_of("base")
                }
            });
            Rating {
                severity: r.text_of("severity"),
                score: score.and_then(|sc| sc.parse().ok()),
            }
        })
        .collect();
    let mut references = vec![
        v.child("source")
            .map(|src| src.text_of("url"))
            .unwrap_or_default(),
    ];
    for a in v
        .child("advisories")
        .into_iter()
        .flat_map(|a| a.children_named("advisory"))
    {
        let url = a.text_of("url");
        references.push(if url.is_empty() {
            normalize::bounded(a.text.trim(), SHORT_MAX)
        } else {
            url
        });
    }
    let recommendation = v.text_of("recommendation");
    let recommendation = if recommendation.is_empty() {
        v.child("recommendations")
            .into_iter()
            .flat_map(|r| r.children_named("recommendation"))
            .map(|r| r.text.trim().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        recommendation
    };
    Vuln {
        id: v.text_of("id"),
        other_ids: v
            .child("references")
            .into_iter()
            .flat_map(|r| r.children_named("reference"))
            .map(|r| r.text_of("id"))
            .collect(),
        ratings,
        cwes: v
            .child("cwes")
            .into_iter()
            .flat_map(|c| c.children_named("cwe"))
            .map(|c| format!("CWE-{}", c.text.trim()))
            .collect(),
        description: normalize::bounded(&v.long_text_of("description"), DESCRIPTION_MAX),
        detail: normalize::bounded(&v.long_text_of("detail"), DESCRIPTION_MAX),
        recommendation: normalize::bounded(&recommendation, DESCRIPTION_MAX),
        references,
        affects,
        raw: v.to_json(),
    }
}

fn walk_xml_components<'a>(
    list: Option<&'a xml::Element>,
    out: &mut Vec<&'a xml::Element>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for c in list.into_iter().flat_map(|l| l.children_named("component")) {
        out.push(c);
        walk_xml_components(c.child("components"), out, depth + 1);
    }
}

fn from_xml(root: &xml::Element) -> Bom {
    let metadata = root.child("metadata");
    let listed: Vec<&xml::Element> = metadata
        .and_then(|m| m.child("tools"))
        .map(|t| {
            let mut tools: Vec<&xml::Element> = t.children_named("tool").collect();
            if let Some(components) = t.child("components") {
                tools.extend(components.children_named("component"));
            }
            tools
        })
        .unwrap_or_default();
    let names: Vec<(String, String)> = listed
        .iter()
        .map(|t| (t.text_of("name"), t.text_of("version")))
        .collect();
    let tool = producer(names.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let subject = metadata.and_then(|m| m.child("component"));
    let mut components = Vec::new();
    walk_xml_components(root.child("components"), &mut components, 0);
    let mut by_ref: HashMap<&str, &xml::Element> = HashMap::new();
    for c in subject.into_iter().chain(components.iter().copied()) {
        if let Some(r) = c.attr("bom-ref") {
            by_ref.entry(r).or_insert(c);
        }
    }
    let mut bom = Bom {
        tool: tool.as_ref().map(|t| t.0.clone()),
        tool_version: tool.map(|t| t.1).filter(|v| !v.is_empty()),
        subject: subject.map(xml_component).unwrap_or_default(),
        vulns: Vec::new(),
    };
    // the 1.0 extension: vulnerabilities inside the affected component
    for c in &components {
        for v in c
            .child("vulnerabilities")
            .into_iter()
            .flat_map(|vs| vs.children_named("vulnerability"))
        {
            bom.vulns.push(xml_vuln(v, vec![xml_component(c)]));
        }
    }
    // spec 1.4+: top-level vulnerabilities pointing at components
    for v in root
        .child("vulnerabilities")
        .into_iter()
        .flat_map(|vs| vs.children_named("vulnerability"))
    {
        let affects = v
            .child("affects")
            .into_iter()
            .flat_map(|a| a.children_named("target"))
            .map(|t| {
                let r = t.text_of("ref");
                by_ref
                    .get(r.as_str())
                    .map(|c| xml_component(c))
                    .unwrap_or_else(|| dangling(&r))
            })
            .collect();
        bom.vulns.push(xml_vuln(v, affects));
    }
    bom
}

/// The BOM's subject, when it is a container image.
struct Subject {
    image: Option<String>,
    image_repo: String,
    asset: Option<Asset>,
}

impl Subject {
    fn of(c: &Component) -> Subject {
        if c.kind != "container" || c.name.is_empty() {
            return Subject {
                image: None,
                image_repo: String::new(),
                asset: None,
            };
        }
        let repo = normalize::image_repository(c.name.trim());
        let version = c.version.trim();
        let digest = version.starts_with("sha256:").then_some(version);
        let image = match digest {
            Some(d) if !c.name.contains('@') => format!("{}@{d}", c.name),
            None if !version.is_empty() && repo == c.name => format!("{}:{version}", c.name),
            _ => c.name.clone(),
        };
        let key = match digest {
            Some(d) => format!("{repo}@{d}"),
            None => image.clone(),
        };
        Subject {
            image: Some(image),
            image_repo: repo,
            asset: Some(Asset {
                kind: AssetKind::Image,
                key,
            }),
        }
    }
}

/// A package URL without version, qualifiers and subpath: `pkg:npm/lodash`.
fn versionless_purl(purl: &str) -> &str {
    let p = purl.split(['?', '#']).next().unwrap_or("");
    match (p.rfind('@'), p.rfind('/')) {
        (Some(at), Some(slash)) if at > slash => &p[..at],
        _ => p,
    }
}

fn known_rating(r: &Rating) -> bool {
    matches!(
        r.severity.trim().to_ascii_lowercase().as_str(),
        "critical" | "high" | "medium" | "moderate" | "low" | "info" | "none" | "negligible"
    )
}

/// The tool that made a BOM, of those its metadata lists: CycloneDX's own libraries
/// (`cyclonedx-python-lib`, …) are listed beside the tool that used them, and are not it.
fn producer<'a>(names: impl Iterator<Item = (&'a str, &'a str)>) -> Option<(String, String)> {
    let all: Vec<(&str, &str)> = names.filter(|(n, _)| !n.trim().is_empty()).collect();
    let library = |n: &str| {
        let n = n.to_ascii_lowercase();
        n.starts_with("cyclonedx") && (n.contains("lib") || n.contains("core-java"))
    };
    all.iter()
        .find(|(n, _)| !library(n))
        .or(all.first())
        .map(|(n, v)| (n.to_string(), v.to_string()))
}

fn severity(ratings: &[Rating]) -> Severity {
    for r in ratings {
        match r.severity.trim().to_ascii_lowercase().as_str() {
            "critical" => return Severity::Critical,
            "high" => return Severity::High,
            "medium" | "moderate" => return Severity::Medium,
            "low" => return Severity::Low,
            "info" | "none" | "negligible" => return Severity::Info,
            _ => {}
        }
    }
    ratings
        .iter()
        .filter_map(|r| r.score)
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        })
        .map_or(Severity::Info, Severity::from_cvss)
}

fn finding(subject: &Subject, v: &Vuln, c: &Component) -> NewFinding {
    let identity = if c.purl.is_empty() {
        format!("{}/{}", c.group, c.name)
    } else {
        versionless_purl(&c.purl).to_string()
    };
    let path = normalize::path(&c.path);
    let mut fp = Fingerprint::new("cyclonedx/v1");
    fp.push(&subject.image_repo)
        .push(&v.id)
        .push(&identity)
        .push(&path);

    let aliases = normalize::aliases(
        std::iter::once(v.id.as_str())
            .chain(v.other_ids.iter().map(String::as_str))
            .filter(|i| normalize::is_alias(i))
            .map(str::to_string)
            .chain(v.cwes.iter().filter(|c| c.len() > 4).cloned()),
    );
    let shown_id = if normalize::is_alias(&v.id) || v.id.is_empty() {
        aliases.first().cloned().unwrap_or_else(|| v.id.clone())
    } else {
        aliases
            .iter()
            .find(|a| !a.starts_with("CWE-"))
            .cloned()
            .unwrap_or_else(|| v.id.clone())
    };
    let package = match (c.name.as_str(), c.purl.as_str()) {
        ("", p) => p.to_string(),
        (n, _) if c.group.is_empty() => n.to_string(),
        (n, _) => format!("{}:{n}", c.group),
    };
    let title = normalize::bounded(
        format!("{shown_id} in {package} {}", c.version).trim(),
        TITLE_MAX,
    );
    let layer = if subject.image.is_some() {
        Layer::Image
    } else {
        Layer::Dependency
    };
    let mut f = NewFinding::new(fp.finish(), layer, severity(&v.ratings), title);
    f.rule_id = v.id.clone();
    f.aliases = aliases;
    let description = match (v.description.as_str(), v.detail.as_str()) {
        ("", d) => d.to_string(),
        (d, "") => d.to_string(),
        (d, detail) if detail.starts_with(d.trim_end_matches(['.', '…'])) => detail.to_string(),
        (d, detail) => format!("{d}\n\n{detail}"),
    };
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = v.recommendation.clone();
    let mut references: Vec<String> = Vec::new();
    for r in v.references.iter().filter(|r| !r.is_empty()) {
        if references.len() < LIST_MAX && !references.contains(r) {
            references.push(r.clone());
        }
    }
    f.references = references;
    f.package_name = (!package.is_empty()).then(|| normalize::bounded(&package, SHORT_MAX));
    f.package_version = (!c.version.is_empty()).then(|| c.version.clone());
    f.file_path = (!path.is_empty()).then(|| normalize::bounded(&path, SHORT_MAX));
    f.image = subject.image.clone();
    f.asset = subject.asset.clone();
    f.location = subject
        .image
        .clone()
        .or_else(|| f.file_path.clone())
        .or_else(|| (!c.purl.is_empty()).then(|| c.purl.clone()))
        .unwrap_or_else(|| format!("{package} {}", c.version).trim().to_string());
    f.evidence = Some(normalize::evidence(&v.raw));
    f
}

/// A small, bounded XML tree on top of `quick_xml`, for formats that are easier to walk
/// than to map onto serde types. External entities and DTDs are never fetched or expanded:
/// only the predefined entities and character references are resolved.
pub(crate) mod xml {
    use quick_xml::Reader;
    use quick_xml::escape::resolve_predefined_entity;
    use quick_xml::events::{BytesStart, Event};
    use serde_json::{Map, Value};

    use crate::ingest::ParseError;

    const MAX_DEPTH: usize = 128;
    const MAX_TEXT: usize = 200_000;
    /// Most elements a document may have: each costs a node in memory (~150 bytes), so a
    /// file of empty elements (`<a/>`, 4 bytes each) must not become a tree 40 times its
    /// size. Real reports use far more than 16 bytes per element.
    pub const MAX_ELEMENTS: usize = 500_000;
    const BYTES_PER_ELEMENT: usize = 16;
    /// Most attributes one element may carry.
    const MAX_ATTRIBUTES: usize = 256;

    /// The element budget of a document of `len` bytes.
    fn element_budget(len: usize) -> usize {
        (len / BYTES_PER_ELEMENT).clamp(10_000, MAX_ELEMENTS)
    }

    /// Checks a document's shape without building it: at most its element budget, nested
    /// at most [`MAX_DEPTH`] deep. For readers that map XML onto types (ZAP) and so cannot
    /// count as they go.
    pub fn check_limits(body: &[u8]) -> Result<(), XmlError> {
        let mut reader = Reader::from_reader(body);
        let budget = element_budget(body.len());
        let (mut depth, mut elements) = (0usize, 0usize);
        loop {
            let event = reader.read_event();
            match event {
                Ok(Event::Start(_)) | Ok(Event::Empty(_)) => {
                    elements += 1;
                    if matches!(event, Ok(Event::Start(_))) {
                        depth += 1;
                    }
                    if elements > budget {
                        return Err(too_many(body, &reader, budget));
                    }
                    if depth > MAX_DEPTH {
                        return Err(XmlError {
                            message: "elements are nested too deeply".into(),
                            line: Some(line_at(body, reader.buffer_position())),
                        });
                    }
                }
                Ok(Event::End(_)) => depth = depth.saturating_sub(1),
                Ok(Event::Eof) => return Ok(()),
                Ok(_) => {}
                // malformed XML is the parser's to describe
                Err(_) => return Ok(()),
            }
        }
    }

    fn too_many(body: &[u8], reader: &Reader<&[u8]>, budget: usize) -> XmlError {
        XmlError {
            message: format!(
                "the document has more than {budget} elements (for its {} bytes); \
                 Bosun reads at most one element per {BYTES_PER_ELEMENT} bytes and {MAX_ELEMENTS} in all",
                body.len()
            ),
            line: Some(line_at(body, reader.buffer_position())),
        }
    }

    #[derive(Debug, Default)]
    pub struct Element {
        /// Local name, without namespace prefix.
        pub name: String,
        pub attrs: Vec<(String, String)>,
        pub text: String,
        pub children: Vec<Element>,
    }

    impl Element {
        pub fn child(&self, name: &str) -> Option<&Element> {
            self.children.iter().find(|c| c.name == name)
        }

        pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
            self.children.iter().filter(move |c| c.name == name)
        }

        pub fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }

        /// A child's text, trimmed and bounded for short fields; empty when absent.
        pub fn text_of(&self, name: &str) -> String {
            self.child(name)
                .map(|c| crate::ingest::normalize::bounded(c.text.trim(), 1_000))
                .unwrap_or_default()
        }

        /// A child's text, trimmed, unbounded (the caller bounds it).
        pub fn long_text_of(&self, name: &str) -> String {
            self.child(name)
                .map(|c| c.text.trim().to_string())
                .unwrap_or_default()
        }

        /// The element as JSON, for evidence: attributes as `@name`, text as `#text`.
        pub fn to_json(&self) -> Value {
            let mut map = Map::new();
            for (k, v) in &self.attrs {
                map.insert(format!("@{k}"), Value::String(v.clone()));
            }
            if !self.text.trim().is_empty() {
                map.insert("#text".into(), Value::String(self.text.trim().to_string()));
            }
            for c in &self.children {
                let value = if c.children.is_empty() && c.attrs.is_empty() {
                    Value::String(c.text.trim().to_string())
                } else {
                    c.to_json()
                };
                match map.get_mut(&c.name) {
                    Some(Value::Array(items)) => items.push(value),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = Value::Array(vec![first, value]);
                    }
                    None => {
                        map.insert(c.name.clone(), value);
                    }
                }
            }
            Value::Object(map)
        }
    }

    pub struct XmlError {
        pub message: String,
        pub line: Option<usize>,
    }

    impl XmlError {
        pub fn into_parse_error(self, format: &'static str) -> ParseError {
            ParseError {
                format,
                message: self.message,
                line: self.line,
                column: None,
                layout: false,
            }
        }
    }

    fn line_at(body: &[u8], pos: u64) -> usize {
        let end = usize::try_from(pos).unwrap_or(usize::MAX).min(body.len());
        body[..end].iter().filter(|b| **b == b'\n').count() + 1
    }

    fn element(e: &BytesStart<'_>) -> Result<Element, String> {
        let mut attrs = Vec::new();
        for a in e.attributes() {
            if attrs.len() >= MAX_ATTRIBUTES {
                return Err(format!(
                    "an element has more than {MAX_ATTRIBUTES} attributes"
                ));
            }
            let a = a.map_err(|err| format!("bad attribute: {err}"))?;
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|err| format!("bad attribute value: {err}"))?;
            attrs.push((key, value.into_owned()));
        }
        Ok(Element {
            name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
            attrs,
            ..Element::default()
        })
    }

    fn push_text(stack: &mut [Element], text: &str) {
        if let Some(top) = stack.last_mut()
            && top.text.len() < MAX_TEXT
        {
            top.text.push_str(text);
        }
    }

    /// The document's root element.
    pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
        let mut reader = Reader::from_reader(body);
        let mut stack: Vec<Element> = vec![Element::default()];
        let fail = |reader: &Reader<&[u8]>, message: String| XmlError {
            message,
            line: Some(line_at(body, reader.buffer_position())),
        };
        let budget = element_budget(body.len());
        let mut elements = 0usize;
        loop {
            let event = reader.read_event();
            if matches!(event, Ok(Event::Start(_)) | Ok(Event::Empty(_))) {
                elements += 1;
                if elements > budget {
                    return Err(too_many(body, &reader, budget));
                }
            }
            match event {
                Ok(Event::Start(e)) => {
                    if stack.len() > MAX_DEPTH {
                        return Err(fail(&reader, "elements are nested too deeply".into()));
                    }
                    let el = element(&e).map_err(|m| fail(&reader, m))?;
                    stack.push(el);
                }
                Ok(Event::Empty(e)) => {
                    let el = element(&e).map_err(|m| fail(&reader, m))?;
                    if let Some(top) = stack.last_mut() {
                        top.children.push(el);
                    }
                }
                Ok(Event::End(_)) => {
                    if stack.len() < 2 {
                        return Err(fail(&reader, "unexpected closing tag".into()));
                    }
                    if let (Some(done), Some(parent)) = (stack.pop(), stack.last_mut()) {
                        parent.children.push(done);
                    }
                }
                Ok(Event::Text(t)) => {
                    let text = t
                        .xml_content()
                        .map_err(|e| fail(&reader, format!("bad text: {e}")))?;
                    push_text(&mut stack, &text);
                }
                Ok(Event::CData(c)) => {
                    let text = c
                        .decode()
                        .map_err(|e| fail(&reader, format!("bad CDATA: {e}")))?;
                    push_text(&mut stack, &text);
                }
                Ok(Event::GeneralRef(r)) => {
                    if let Ok(Some(ch)) = r.resolve_char_ref() {
                        push_text(&mut stack, ch.encode_utf8(&mut [0; 4]));
                    } else if let Ok(name) = r.decode()
                        && let Some(value) = resolve_predefined_entity(&name)
                    {
                        push_text(&mut stack, value);
                    }
                    // any other entity (declared in a DTD or not) is dropped, never expanded
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => {
                    return Err(XmlError {
                        message: format!("malformed XML: {e}"),
                        line: Some(line_at(body, reader.error_position())),
                    });
                }
            }
        }
        if stack.len() != 1 {
            return Err(XmlError {
                message: "the file ends early (truncated?): unclosed elements".into(),
                line: None,
            });
        }
        stack
            .pop()
            .and_then(|doc| doc.children.into_iter().next())
            .ok_or(XmlError {
                message: "the document has no root element".into(),
                line: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::fixture;

    #[test]
    fn xml_element_count_and_attributes_are_bounded() {
        // 600,000 empty elements in 2.4 MB: a tree of them would take ~100 MB
        let flood = format!("<bom>{}</bom>", "<a/>".repeat(600_000));
        let err = xml::parse(flood.as_bytes()).unwrap_err();
        assert!(
            err.message.contains("more than 150000 elements"),
            "{}",
            err.message
        );
        let err = xml::check_limits(flood.as_bytes()).unwrap_err();
        assert!(err.message.contains("elements"), "{}", err.message);
        let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
        assert!(xml::check_limits(deep.as_bytes()).is_err());
        let attrs: String = (0..300).map(|i| format!(" a{i}=\"\"")).collect();
        let wide = format!("<bom><c{attrs}/></bom>");
        let err = xml::parse(wide.as_bytes()).unwrap_err();
        assert!(err.message.contains("attributes"), "{}", err.message);
        // an ordinary document is well within its budget
        let real = fixture!("cyclonedx", "app14.cdx.xml");
        assert!(xml::check_limits(real).is_ok());
    }

    fn parse(bytes: &[u8]) -> ParsedReport {
        CycloneDx.parse(bytes).expect("parses")
    }

    fn find<'a>(r: &'a ParsedReport, rule: &str, pkg: &str) -> &'a NewFinding {
        r.findings
            .iter()
            .find(|f| f.rule_id == rule && f.package_name.as_deref() == Some(pkg))
            .unwrap_or_else(|| panic!("no finding {rule} {pkg}"))
    }

    #[test]
    fn json_one_finding_per_vulnerability_and_component() {
        let r = parse(fixture!("cyclonedx", "app.cdx.json"));
        assert_eq!(r.scanner, "grype");
        assert_eq!(r.scanner_version.as_deref(), Some("0.82.0"));
        // 4 vulnerabilities, one of them affecting two components
        assert_eq!(r.findings.len(), 5);
        let f = find(&r, "CVE-2021-44228", "org.apache.logging.log4j:log4j-core");
        assert_eq!(f.layer, Layer::Dependency);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(
            f.title,
            "CVE-2021-44228 in org.apache.logging.log4j:log4j-core 2.14.1"
        );
        assert_eq!(f.package_version.as_deref(), Some("2.14.1"));
        assert_eq!(f.file_path.as_deref(), Some("lib/log4j-core-2.14.1.jar"));
        assert_eq!(f.aliases, vec!["CVE-2021-44228", "CWE-502"]);
        assert_eq!(f.remediation, "Upgrade to 2.17.1 or later.");
        assert!(
            f.references
                .contains(&"https://logging.apache.org/log4j/2.x/security.html".to_string())
        );
        assert!(f.evidence.is_some());
        let two: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.rule_id == "CVE-2022-42889")
            .collect();
        assert_eq!(two.len(), 2);
        assert_ne!(two[0].fingerprint, two[1].fingerprint);
    }

    #[test]
    fn severities_from_labels_then_scores() {
        let r = parse(fixture!("cyclonedx", "app.cdx.json"));
        assert_eq!(
            find(&r, "CVE-2021-44228", "org.apache.logging.log4j:log4j-core").severity,
            Severity::Critical
        );
        assert_eq!(
            find(&r, "CVE-2022-42889", "org.apache.commons:commons-text").severity,
            Severity::High,
            "score 7.5"
        );
        assert_eq!(
            find(&r, "CVE-2021-23358", "underscore").severity,
            Severity::Low
        );
        let oss = find(&r, "3d1ab7f2-0c6e-4f5a-8b8e-2f1b7c9d0e11", "django");
        assert_eq!(oss.severity, Severity::Medium);
        assert_eq!(
            oss.title, "CVE-2023-36053 in django 3.2.0",
            "OSS Index ids are shown by their CVE"
        );
        assert_eq!(oss.aliases, vec!["CVE-2023-36053"]);
        let none = severity(&[Rating {
            severity: "none".into(),
            score: None,
        }]);
        assert_eq!(none, Severity::Info);
        assert_eq!(severity(&[]), Severity::Info);
    }

    #[test]
    fn identity_ignores_bom_refs_versions_and_order() {
        let a = parse(fixture!("cyclonedx", "app.cdx.json"));
        let b = parse(fixture!("cyclonedx", "app_rebuilt.cdx.json"));
        assert_eq!(a.findings.len(), b.findings.len());
        for f in &a.findings {
            let g = b
                .findings
                .iter()
                .find(|g| {
                    g.rule_id == f.rule_id
                        && g.package_name == f.package_name
                        && g.file_path == f.file_path
                })
                .expect("same finding");
            assert_eq!(f.fingerprint, g.fingerprint, "{}", f.rule_id);
        }
    }

    #[test]
    fn xml_vulnerability_extension_of_a_container() {
        let r = parse(fixture!("cyclonedx", "image_ext.cdx.xml"));
        assert_eq!(r.scanner, "grype");
        assert_eq!(r.findings.len(), 2);
        let f = find(&r, "CVE-2022-37434", "zlib1g");
        assert_eq!(f.layer, Layer::Image);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(
            f.image.as_deref(),
            Some(
                "acme/worker:2.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            )
        );
        assert_eq!(
            f.asset.as_ref().map(|a| a.key.as_str()),
            Some(
                "acme/worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            )
        );
        assert_eq!(
            f.description,
            "zlib through 1.2.12 has a heap-based buffer over-read & overflow."
        );
        assert_eq!(
            f.references,
            vec!["https://nvd.nist.gov/vuln/detail/CVE-2022-37434"]
        );
        let g = find(&r, "GHSA-h4j5-c7cj-74xg", "jinja2");
        assert_eq!(g.severity, Severity::Low);
    }

    #[test]
    fn xml_spec_14_vulnerabilities() {
        let r = parse(fixture!("cyclonedx", "app14.cdx.xml"));
        assert_eq!(r.findings.len(), 1);
        let f = &r.findings[0];
        assert_eq!(f.rule_id, "CVE-2022-42889");
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(
            f.package_name.as_deref(),
            Some("org.apache.commons:commons-text")
        );
        assert_eq!(f.aliases, vec!["CVE-2022-42889", "CWE-94"]);
        assert_eq!(f.remediation, "Upgrade to 1.10.0.");
    }

    #[test]
    fn sbom_without_vulnerabilities_has_no_findings() {
        let r = parse(br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","version":"1"}]}"#);
        assert!(r.findings.is_empty());
        let r = parse(br#"<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.3"><components/></bom>"#);
        assert!(r.findings.is_empty());
    }

    #[test]
    fn external_entities_are_never_expanded() {
        let doc = br#"<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library" bom-ref="c1"><name>p&e;</name><version>1</version></component></components>
<vulnerabilities><vulnerability><id>CVE-2024-0001</id><description>x&e;y &amp; z</description><affects><target><ref>c1</ref></target></affects></vulnerability></vulnerabilities></bom>"#;
        let r = parse(doc);
        assert_eq!(r.findings.len(), 1);
        let f = &r.findings[0];
        assert_eq!(f.description, "xy & z");
        assert_eq!(f.package_name.as_deref(), Some("p"));
        assert!(!format!("{f:?}").contains("root:"));
    }

    #[test]
    fn sniffs_cyclonedx_only() {
        assert!(CycloneDx.sniff(fixture!("cyclonedx", "app.cdx.json")));
        assert!(CycloneDx.sniff(fixture!("cyclonedx", "image_ext.cdx.xml")));
        assert!(CycloneDx.sniff(fixture!("cyclonedx", "app14.cdx.xml")));
        assert!(!CycloneDx.sniff(br#"{"version":"2.1.0","runs":[]}"#));
        assert!(!CycloneDx.sniff(br#"{"matches":[],"source":{}}"#));
        assert!(!CycloneDx.sniff(br#"<?xml version="1.0"?><analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.2.5.xsd"/>"#));
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = CycloneDx.parse(b"{\"bomFormat\":\n oops}").unwrap_err();
        assert_eq!(err.format, "cyclonedx");
        assert_eq!(err.line, Some(2));
        let err = CycloneDx
            .parse(b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\">\n<components></bom>")
            .unwrap_err();
        assert!(err.message.contains("malformed"), "{}", err.message);
        assert_eq!(err.line, Some(2));
        let err = CycloneDx.parse(b"<bom><components>").unwrap_err();
        assert!(err.message.contains("truncated"), "{}", err.message);
        let err = CycloneDx.parse(b"<analysis/>").unwrap_err();
        assert!(err.message.contains("<bom>"), "{}", err.message);
        assert!(CycloneDx.parse(b"[1]").is_err());
    }

    #[test]
    fn a_bom_with_sorted_keys_is_detected_past_the_first_kilobytes() {
        // cyclonedx-py and Checkov sort keys: `bomFormat` after every component
        let components: Vec<String> = (0..400)
            .map(|i| format!(r#"{{"bom-ref":"c{i}","name":"package-number-{i}","type":"library","version":"1.{i}.0"}}"#))
            .collect();
        let bom = format!(
            r#"{{"components":[{}],"metadata":{{"tools":[{{"name":"cyclonedx-python-lib"}},{{"name":"cyclonedx-py","version":"7.5.0"}}]}},"serialNumber":"urn:uuid:1","version":1,"$schema":"http://cyclonedx.org/schema/bom-1.6.schema.json","bomFormat":"CycloneDX","specVersion":"1.6"}}"#,
            components.join(",")
        );
        assert!(
            bom.find("bomFormat").unwrap() > 16_384,
            "past both 8 KiB windows"
        );
        assert_eq!(
            crate::ingest::detect(bom.as_bytes()).map(|f| f.name()),
            Some(NAME)
        );
        let parsed = CycloneDx.parse(bom.as_bytes()).unwrap();
        assert_eq!(
            parsed.scanner, "cyclonedx-py",
            "the tool, not its CycloneDX library"
        );
        assert!(parsed.findings.is_empty(), "an inventory");
    }
}
