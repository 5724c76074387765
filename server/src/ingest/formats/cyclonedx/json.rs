//! A CycloneDX JSON BOM (spec 1.4 and later) as the reader's [`Bom`].

use super::*;

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

pub(super) fn from_json(root: &Value) -> Bom {
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
