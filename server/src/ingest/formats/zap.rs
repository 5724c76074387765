//! OWASP ZAP XML report (`OWASPZAPReport`, the "Traditional XML" report of ZAP 2.x and the
//! baseline / full-scan scripts): sites, each with `alerts/alertitem`, each with instances.
//!
//! - Variants: the `OWASPZAPReport/site/alerts/alertitem` layout ZAP has written since 1.4
//!   (2012): the core report of ZAP 2.x and the reports add-on's "Traditional XML" and
//!   "Traditional XML Plus" (whose extra request/response, statistics and insight elements
//!   are not read). Refused as a layout Bosun does not read (422), never stored as clean or
//!   short: a document with more `<alertitem>` elements than were read at that path (such as
//!   ZAP before 1.4, whose alert items sit directly under the root).
//! - One finding per alert item, i.e. per rule (`alertRef`, else `pluginid`) per site (ZAP
//!   sometimes splits one rule on one site into several alert items: they are merged); its
//!   instances (URI, method, parameter, evidence) are listed in the description and kept in
//!   the evidence, the first instance's URI is the finding's URL.
//! - Severity: `riskcode` 3 → high, 2 → medium, 1 → low, 0 → info (ZAP has no critical);
//!   anything else → info. ZAP's confidence is reported in the description, it does not
//!   change the severity.
//! - Layer: dast. Asset: the site (`Url`, key `scheme://host[:port]`, the scheme's default
//!   port left out).
//! - Fingerprint (`zap/v1`): alert reference (`10020-1`; it tells variants of one plugin
//!   apart), else plugin id, and the site key. Not the instances (they vary with crawling),
//!   counts, descriptions or the report date.
//! - XML is read with `quick_xml`, which does not load DTDs or expand external entities: a
//!   `<!DOCTYPE>` with `SYSTEM` entities cannot pull local files into a finding.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::json;

use super::support::{DESCRIPTION_MAX, LIST_MAX, SNIFF_BYTES, TITLE_MAX, opening};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Zap;

const NAME: &str = "zap";
const FIELD_MAX: usize = 500;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Report {
    #[serde(rename = "@version")]
    version: Option<String>,
    #[serde(rename = "site")]
    sites: Vec<Site>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Site {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@host")]
    host: String,
    #[serde(rename = "@port")]
    port: String,
    #[serde(rename = "@ssl")]
    ssl: String,
    alerts: Alerts,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Alerts {
    #[serde(rename = "alertitem")]
    items: Vec<AlertItem>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AlertItem {
    pluginid: String,
    #[serde(rename = "alertRef")]
    alert_ref: String,
    alert: String,
    name: String,
    riskcode: String,
    confidence: String,
    riskdesc: String,
    desc: String,
    instances: Instances,
    count: String,
    solution: String,
    otherinfo: String,
    reference: String,
    cweid: String,
    wascid: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Instances {
    #[serde(rename = "instance")]
    items: Vec<Instance>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Instance {
    uri: String,
    method: String,
    param: String,
    attack: String,
    evidence: String,
    otherinfo: String,
}

impl ReportFormat for Zap {
    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, SNIFF_BYTES, &['<']).is_some_and(|head| head.contains("<OWASPZAPReport"))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let text = String::from_utf8_lossy(body);
        if !text.contains("<OWASPZAPReport") {
            return Err(invalid("no <OWASPZAPReport> root element".to_string()));
        }
        super::xml::check_limits(body).map_err(|e| e.into_parse_error(NAME))?;
        let report: Report =
            quick_xml::de::from_str(&text).map_err(|e| invalid(format!("malformed XML: {e}")))?;
        // ZAP can split one rule on one site into several alert items: one finding
        let mut merged: Vec<(String, &'static str, AlertItem)> = Vec::new();
        let mut index: HashMap<[u8; 32], usize> = HashMap::new();
        let read: usize = report.sites.iter().map(|s| s.alerts.items.len()).sum();
        let present = alert_items_in(&text);
        if present > read {
            return Err(ParseError::layout(
                NAME,
                &format!(
                    "`OWASPZAPReport/site/alerts/alertitem` elements (the report has {present} \
                     `<alertitem>` elements, {read} of them there)"
                ),
            ));
        }
        for site in report.sites {
            let (site_key, scheme) = site_key(&site);
            for item in site.alerts.items {
                let fp = fingerprint(&site_key, &item);
                match index.get(&fp) {
                    Some(&i) => {
                        if let Some((_, _, kept)) = merged.get_mut(i) {
                            kept.instances.items.extend(item.instances.items);
                            kept.riskcode = kept.riskcode.clone().max(item.riskcode);
                        }
                    }
                    None => {
                        index.insert(fp, merged.len());
                        merged.push((site_key.clone(), scheme, item));
                    }
                }
            }
        }
        Ok(ParsedReport {
            scanner: "OWASP ZAP".to_string(),
            scanner_version: report.version.filter(|v| !v.trim().is_empty()),
            findings: merged
                .iter()
                .map(|(site_key, scheme, item)| finding(site_key, scheme, item))
                .collect(),
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

fn invalid(message: String) -> ParseError {
    ParseError::invalid(NAME, normalize::bounded(&message, 500))
}

/// How many `<alertitem>` elements the document's text holds (escaped text, `&lt;alertitem`,
/// is not one).
fn alert_items_in(text: &str) -> usize {
    text.match_indices("<alertitem")
        .filter(|(at, tag)| {
            text[at + tag.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == '>' || c == '/' || c.is_ascii_whitespace())
        })
        .count()
}

/// `scheme://host[:port]`, lower-cased, the default port left out.
fn site_key(site: &Site) -> (String, &'static str) {
    let name = site.name.trim();
    let (scheme, rest) = match name.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("https") => ("https", rest),
        Some((_, rest)) => ("http", rest),
        None if site.ssl.trim() == "true" => ("https", name),
        None => ("http", name),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut authority = rest[..end].to_ascii_lowercase();
    if authority.is_empty() {
        authority = site.host.trim().to_ascii_lowercase();
        let port = site.port.trim();
        if !port.is_empty() {
            authority = format!("{authority}:{port}");
        }
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    if let Some(stripped) = authority.strip_suffix(default) {
        authority = stripped.to_string();
    }
    (format!("{scheme}://{authority}"), scheme)
}

fn severity(riskcode: &str) -> Severity {
    match riskcode.trim() {
        "3" => Severity::High,
        "2" => Severity::Medium,
        "1" => Severity::Low,
        _ => Severity::Info,
    }
}

/// ZAP's HTML-ish text (`<p>a</p><p>b</p>`) as plain paragraphs.
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => {
                let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
                if tag == "/p" || tag.starts_with("br") || tag == "/li" {
                    out.push('\n');
                }
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn rule_of(item: &AlertItem) -> String {
    [item.alert_ref.trim(), item.pluginid.trim()]
        .into_iter()
        .find(|r| !r.is_empty())
        .unwrap_or("")
        .to_string()
}

fn fingerprint(site_key: &str, item: &AlertItem) -> [u8; 32] {
    let rule = rule_of(item);
    let mut fp = Fingerprint::new("zap/v1");
    fp.push(&rule).push(site_key);
    if rule.is_empty() {
        fp.push(&normalize::collapse_whitespace(&item.alert));
    }
    fp.finish()
}

fn finding(site_key: &str, scheme: &str, item: &AlertItem) -> NewFinding {
    let rule = rule_of(item);

    let title = [item.alert.as_str(), item.name.as_str()]
        .into_iter()
        .map(|t| normalize::first_line(t, TITLE_MAX))
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| format!("ZAP alert {rule}"));

    let mut description = plain(&item.desc);
    let other = plain(&item.otherinfo);
    if !other.is_empty() {
        description.push_str(&format!("\n\n{other}"));
    }
    if !item.riskdesc.trim().is_empty() {
        description.push_str(&format!("\n\nRisk (confidence): {}", item.riskdesc.trim()));
    }
    let instances = &item.instances.items;
    if !instances.is_empty() {
        description.push_str("\n\nInstances:");
        for i in instances.iter().take(LIST_MAX) {
            let mut line = format!("\n{} {}", i.method.trim(), i.uri.trim());
            if !i.param.trim().is_empty() {
                line.push_str(&format!(" (parameter {})", i.param.trim()));
            }
            if !i.evidence.trim().is_empty() {
                line.push_str(&format!(
                    " evidence: {}",
                    normalize::bounded(i.evidence.trim(), 200)
                ));
            }
            description.push_str(&line);
        }
        if instances.len() > LIST_MAX {
            description.push_str(&format!("\n… and {} more", instances.len() - LIST_MAX));
        }
    }

    let references: Vec<String> = plain(&item.reference)
        .split_whitespace()
        .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
        .map(str::to_string)
        .collect();
    let cwe = item
        .cweid
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|c| *c > 0)
        .map(|c| format!("CWE-{c}"));

    let mut f = NewFinding::new(
        fingerprint(site_key, item),
        Layer::Dast,
        severity(&item.riskcode),
        title,
    );
    f.rule_id = rule.clone();
    f.aliases = normalize::aliases(cwe);
    f.description = normalize::bounded(description.trim(), DESCRIPTION_MAX);
    f.remediation = normalize::bounded(&plain(&item.solution), DESCRIPTION_MAX);
    f.references = references;
    let first_uri = instances
        .iter()
        .map(|i| i.uri.trim())
        .find(|u| !u.is_empty())
        .map(str::to_string);
    f.location = first_uri.clone().unwrap_or_else(|| site_key.to_string());
    f.url = first_uri.or_else(|| Some(site_key.to_string()));
    f.asset = Some(Asset {
        kind: AssetKind::Url,
        key: site_key.to_string(),
    });
    f.occurrences = u32::try_from(instances.len().max(1)).unwrap_or(u32::MAX);
    let bounded = |s: &str| normalize::bounded(s.trim(), FIELD_MAX);
    f.evidence = Some(normalize::evidence(&json!({
        "site": site_key,
        "scheme": scheme,
        "pluginid": bounded(&item.pluginid),
        "alertRef": bounded(&item.alert_ref),
        "riskcode": bounded(&item.riskcode),
        "confidence": bounded(&item.confidence),
        "count": bounded(&item.count),
        "cweid": bounded(&item.cweid),
        "wascid": bounded(&item.wascid),
        "instances": instances.iter().take(LIST_MAX).map(|i| json!({
            "uri": bounded(&i.uri),
            "method": bounded(&i.method),
            "param": bounded(&i.param),
            "attack": bounded(&i.attack),
            "evidence": bounded(&i.evidence),
        })).collect::<Vec<_>>(),
    })));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{assert_distinct, edited, fixture, parse_error};

    const REPORT: &[u8] = fixture!("zap", "baseline.xml");

    #[test]
    fn a_flood_of_elements_is_refused_before_mapping() {
        let flood = format!(
            "<OWASPZAPReport><site><alerts>{}</alerts></site></OWASPZAPReport>",
            "<alertitem/>".repeat(300_000)
        );
        let err = Zap.parse(flood.as_bytes()).unwrap_err();
        assert!(err.message.contains("elements"), "{}", err.message);
    }

    #[test]
    fn one_finding_per_alert_item_per_site() {
        let parsed = Zap.parse(REPORT).unwrap();
        let sqli = &parsed.findings[0];
        assert_eq!(sqli.aliases, vec!["CWE-89"]);
        assert_eq!(
            sqli.description.lines().next(),
            Some("SQL injection may be possible.")
        );
        assert_eq!(
            sqli.remediation,
            "Do not trust client side input.\nUse prepared statements."
        );
        assert_eq!(
            sqli.references,
            vec![
                "https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html"
            ]
        );
        let clickjack = &parsed.findings[1];
        assert_eq!(clickjack.occurrences, 2);
        assert!(
            clickjack
                .description
                .contains("GET https://shop.example.com/cart")
        );
        assert_eq!(
            clickjack.evidence.as_ref().unwrap()["instances"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn fingerprints_are_per_rule_and_site_and_ignore_instances() {
        let a = Zap.parse(REPORT).unwrap();
        assert_ne!(a.findings[1].fingerprint, a.findings[3].fingerprint);
        assert_distinct(&a);
        let text = edited(
            REPORT,
            &[
                ("2.15.0", "2.16.1"),
                ("Fri, 20 Nov 2026 10:12:44", "Fri, 27 Nov 2026 09:00:00"),
                ("/cart", "/checkout"),
                ("<count>2</count>", "<count>7</count>"),
            ],
        );
        let b = Zap.parse(text.as_bytes()).unwrap();
        for (x, y) in a.findings.iter().zip(&b.findings) {
            assert_eq!(x.fingerprint, y.fingerprint);
        }
    }

    #[test]
    fn split_alert_items_of_one_rule_are_merged() {
        let item = |uri: &str, risk: u8| {
            format!(
                "<alertitem><pluginid>10027</pluginid><alertRef>10027</alertRef>\
                 <alert>Suspicious Comments</alert><riskcode>{risk}</riskcode>\
                 <instances><instance><uri>{uri}</uri><method>GET</method></instance></instances>\
                 </alertitem>"
            )
        };
        let doc = format!(
            "<OWASPZAPReport version=\"2.10.0\"><site name=\"http://a.example\"><alerts>{}{}</alerts></site></OWASPZAPReport>",
            item("http://a.example/setup.php", 0),
            item("http://a.example/js/", 1)
        );
        let parsed = Zap.parse(doc.as_bytes()).unwrap();
        assert_eq!(parsed.findings.len(), 1);
        let f = &parsed.findings[0];
        assert_eq!(f.occurrences, 2);
        assert_eq!(f.severity, Severity::Low);
        assert!(f.description.contains("http://a.example/js/"));
    }

    #[test]
    fn empty_report_has_no_findings() {
        let empty = br#"<?xml version="1.0"?><OWASPZAPReport version="2.9.0" generated="x">
            <site name="https://a.example" host="a.example" port="443" ssl="true"><alerts></alerts></site>
            </OWASPZAPReport>"#;
        assert!(Zap.parse(empty).unwrap().findings.is_empty());
        let bare = br#"<OWASPZAPReport version="2.9.0"></OWASPZAPReport>"#;
        assert!(Zap.parse(bare).unwrap().findings.is_empty());
    }

    #[test]
    fn external_entities_are_not_expanded() {
        let doc = br#"<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<OWASPZAPReport version="2.9.0">
  <site name="https://a.example" host="a.example" port="443" ssl="true"><alerts>
    <alertitem><pluginid>1</pluginid><alert>&e;</alert><riskcode>1</riskcode>
      <desc>&e;</desc></alertitem>
  </alerts></site>
</OWASPZAPReport>"#;
        match Zap.parse(doc) {
            Err(err) => assert!(!err.message.contains("root:"), "{}", err.message),
            Ok(parsed) => {
                for f in &parsed.findings {
                    assert!(!f.title.contains("root:"));
                    assert!(!f.description.contains("root:"));
                }
            }
        }
    }

    #[test]
    fn alert_items_outside_sites_are_refused() {
        let old = br#"<?xml version="1.0"?><OWASPZAPReport version="1.3.4" generated="Tue, 3 Jan 2012 10:00:00">
<alertitem><pluginid>40012</pluginid><alert>Cross Site Scripting (Reflected)</alert><riskcode>3</riskcode>
<uri>http://a.example/search?q=x</uri></alertitem>
</OWASPZAPReport>"#;
        let err = Zap.parse(old).unwrap_err();
        assert!(err.layout, "{err}");
        assert!(err.message.contains("1 `<alertitem>`"), "{}", err.message);
        // one read, one elsewhere: short, refused too
        let mixed = String::from_utf8_lossy(REPORT).replacen(
            "</OWASPZAPReport>",
            "<extra><alertitem><pluginid>1</pluginid></alertitem></extra></OWASPZAPReport>",
            1,
        );
        assert!(Zap.parse(mixed.as_bytes()).unwrap_err().layout);
        // escaped markup in a text is not an element
        let escaped = br#"<OWASPZAPReport version="2.9.0"><site name="https://a.example"><alerts></alerts></site>
            <note>&lt;alertitem&gt;</note><alertitems/></OWASPZAPReport>"#;
        assert!(Zap.parse(escaped).unwrap().findings.is_empty());
        assert_eq!(alert_items_in(&String::from_utf8_lossy(REPORT)), 5);
    }

    #[test]
    fn malformed_xml_is_a_parse_error() {
        parse_error(
            &Zap,
            b"<OWASPZAPReport version=\"2.9.0\"><site name=\"x\"><alerts><alertitem>",
        );
        assert!(Zap.parse(b"<html><body>not zap</body></html>").is_err());
        assert!(Zap.parse(b"").is_err());
    }
}
