//! A CycloneDX XML BOM (the 1.4+ `<vulnerabilities>` model and the 1.0 vulnerability
//! extension of spec 1.2/1.3) as the reader's [`Bom`].

use super::*;

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

pub(super) fn from_xml(root: &xml::Element) -> Bom {
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
