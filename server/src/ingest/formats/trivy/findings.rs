//! From one target of a Trivy report to findings: where it is (its [`Place`]) and the
//! finding of each vulnerability, failed check and secret it lists.

use super::identity::{push_artifact, secret_identity, vulnerability_identity};
use super::*;
use crate::ingest::formats::support::{references, set_package, short, title_and_description};

const OS_TYPES: &[&str] = &[
    "alpine",
    "debian",
    "ubuntu",
    "redhat",
    "centos",
    "rocky",
    "alma",
    "amazon",
    "oracle",
    "photon",
    "suse",
    "opensuse",
    "opensuse.leap",
    "opensuse.tumbleweed",
    "sles",
    "cbl-mariner",
    "azurelinux",
    "wolfi",
    "chainguard",
    "fedora",
    "bottlerocket",
];

/// Whether a result lists OS packages (of an image) rather than language packages (of a file).
fn is_os_result(r: &TResult<'_>) -> bool {
    if !r.class.is_empty() {
        return r.class == "os-pkgs";
    }
    OS_TYPES.contains(&r.kind.to_ascii_lowercase().as_str())
}

/// An OS target names the image and its OS: `alpine:3.14 (alpine 3.14.0)` → `alpine:3.14`.
fn image_of_target(target: &str) -> &str {
    target
        .rsplit_once(" (")
        .map_or(target, |(image, _)| image)
        .trim()
}

/// An item of a target that is not the shape Trivy writes.
fn unreadable(what: &str, target: &str, e: serde_json::Error) -> ParseError {
    let target = normalize::bounded(target, 200);
    ParseError::invalid(NAME, format!("{what} of target '{target}': {e}"))
}

/// One raw item read as its type (as a `Value` too: it was checked to be valid JSON when the
/// report was read).
fn typed<T: for<'de> Deserialize<'de>>(
    raw: &RawValue,
    what: &str,
    target: &str,
) -> Result<T, ParseError> {
    serde_json::from_str(raw.get()).map_err(|e| unreadable(what, target, e))
}

fn item<T: for<'de> Deserialize<'de>>(
    raw: &Value,
    what: &str,
    target: &str,
) -> Result<T, ParseError> {
    T::deserialize(raw).map_err(|e| unreadable(what, target, e))
}

/// Identity, location and asset shared by every finding of one target.
struct Place {
    layer_for_vulns: Layer,
    image: Option<String>,
    image_repo: Option<String>,
    workload: Option<(String, String, String, String)>,
    asset: Option<Asset>,
    /// Set when the target is a file (lockfile, manifest, Dockerfile, secret-bearing file).
    file: Option<String>,
}

impl Place {
    fn new(subject: &Subject, r: &TResult<'_>) -> Place {
        let target = r.target.trim();
        let os = is_os_result(r);
        let file = (!os && !target.is_empty()).then(|| normalize::path(target));
        match subject {
            Subject::Artifact { name, kind, digest } => {
                if kind == "container_image" {
                    let image = match digest {
                        Some(d) if !name.contains('@') => format!("{name}@{d}"),
                        _ => name.clone(),
                    };
                    let repo = normalize::image_repository(name.trim());
                    let key = match digest {
                        Some(d) => format!("{repo}@{d}"),
                        None => name.clone(),
                    };
                    Place {
                        layer_for_vulns: Layer::Image,
                        image: Some(image),
                        image_repo: Some(repo),
                        workload: None,
                        asset: Some(Asset {
                            kind: AssetKind::Image,
                            key,
                        }),
                        file,
                    }
                } else {
                    let key = normalize::path(name);
                    Place {
                        layer_for_vulns: Layer::Dependency,
                        image: None,
                        image_repo: None,
                        workload: None,
                        asset: (!key.is_empty() && key != ".").then_some(Asset {
                            kind: AssetKind::Repository,
                            key,
                        }),
                        file,
                    }
                }
            }
            Subject::Workload {
                cluster,
                namespace,
                kind,
                name,
                image,
            } => {
                let image = if os {
                    Some(image_of_target(target).to_string())
                } else {
                    image.clone()
                };
                let key = object_path(&[cluster.as_str(), namespace, kind, name]);
                Place {
                    layer_for_vulns: Layer::Image,
                    image_repo: image
                        .as_deref()
                        .map(|i| normalize::image_repository(i.trim())),
                    image,
                    workload: Some((
                        cluster.clone(),
                        namespace.clone(),
                        kind.clone(),
                        name.clone(),
                    )),
                    asset: Some(Asset {
                        kind: AssetKind::Workload,
                        key,
                    }),
                    // a Kubernetes config target is `Kind/name`, not a file
                    file: file.filter(|_| r.class != "config"),
                }
            }
            Subject::Legacy => {
                let image = os.then(|| image_of_target(target).to_string());
                Place {
                    layer_for_vulns: if os { Layer::Image } else { Layer::Dependency },
                    image_repo: image
                        .as_deref()
                        .map(|i| normalize::image_repository(i.trim())),
                    asset: image.as_ref().map(|i| Asset {
                        kind: AssetKind::Image,
                        key: i.clone(),
                    }),
                    image,
                    workload: None,
                    file,
                }
            }
        }
    }

    /// The subject's identity, first in every fingerprint.
    fn push_subject(&self, fp: &mut Fingerprint) {
        let image_repo = self.image_repo.as_deref().unwrap_or("");
        match &self.workload {
            Some((cluster, namespace, kind, name)) => {
                fp.push("k8s")
                    .push(cluster)
                    .push(namespace)
                    .push(kind)
                    .push(name)
                    .push(image_repo);
            }
            None => push_artifact(fp, image_repo),
        }
    }

    fn workload_location(&self) -> Option<String> {
        self.workload
            .as_ref()
            .map(|(_, ns, kind, name)| object_path(&[ns.as_str(), kind, name]))
    }

    fn apply(&self, f: &mut NewFinding) {
        f.image = self.image.clone();
        f.asset = self.asset.clone();
        if let Some((_, ns, kind, name)) = &self.workload {
            f.k8s_namespace = short(ns);
            f.k8s_kind = short(kind);
            f.k8s_name = short(name);
        }
    }
}

pub(super) fn read_result(
    subject: &Subject,
    r: &TResult<'_>,
    out: &mut dyn FindingSink,
    tally: &mut Tally,
) -> Result<(), ParseError> {
    let place = Place::new(subject, r);
    let target = r.target.trim();
    tally.counted += r
        .misconf_summary
        .as_ref()
        .and_then(|m| m.failures)
        .unwrap_or(0)
        .max(0);
    let licenses = r.licenses.as_ref().map_or(0, Vec::len);
    if licenses > 0 {
        out.skipped(format!(
            "{licenses} license finding(s) of target '{}': Bosun tracks security findings, not \
             licenses",
            normalize::bounded(target, 200)
        ));
    }
    // vulnerabilities and misconfigurations are read straight from their text (the bulk
    // of a large report); secrets go through a value, which is redacted
    for raw in r.vulnerabilities.iter().flatten() {
        let v: Vuln = typed(raw, "a vulnerability", target)?;
        out.finding(vulnerability(
            &place,
            &v,
            normalize::evidence_text(raw.get()),
        ));
    }
    for raw in r.misconfigurations.iter().flatten() {
        let m: Misconf = typed(raw, "a misconfiguration", target)?;
        let status = m.status.trim().to_ascii_uppercase();
        if !status.is_empty() && status != "FAIL" {
            continue;
        }
        tally.read += 1;
        out.finding(misconfiguration(
            &place,
            target,
            &m,
            normalize::evidence_text(raw.get()),
        ));
    }
    for raw in r.secrets.iter().flatten() {
        let raw: Value = typed(raw, "a secret", target)?;
        let s: Secret = item(&raw, "a secret", target)?;
        out.finding(secret(&place, target, &s, &raw));
    }
    Ok(())
}

fn vulnerability(place: &Place, v: &Vuln, evidence: Value) -> NewFinding {
    let id = v.vulnerability_id.trim();
    let pkg = v.pkg_name.trim();
    let pkg_path = normalize::path(&v.pkg_path);
    let fingerprint = vulnerability_identity(
        |fp| place.push_subject(fp),
        id,
        pkg,
        place.file.as_deref().unwrap_or(""),
        &pkg_path,
    );

    let title = normalize::bounded(
        format!("{id} in {pkg} {}", v.installed_version.trim()).trim(),
        TITLE_MAX,
    );
    let mut f = NewFinding::new(
        fingerprint,
        place.layer_for_vulns,
        severity(&v.severity),
        title,
    );
    f.rule_id = normalize::bounded(id, SHORT_MAX);
    f.aliases = normalize::aliases(
        std::iter::once(id)
            .chain(v.cwe_ids.iter().map(String::as_str))
            .filter(|a| normalize::is_alias(a)),
    );
    let description = title_and_description(&v.title, &v.description);
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    let package = (pkg, v.installed_version.as_str(), v.fixed_version.as_str());
    set_package(&mut f, package, &v.primary_url, &v.references);
    f.file_path = if pkg_path.is_empty() {
        place.file.clone()
    } else {
        Some(normalize::bounded(&pkg_path, SHORT_MAX))
    };
    place.apply(&mut f);
    f.location = place
        .workload_location()
        .map(|w| match &place.image {
            Some(i) => format!("{w} ({i})"),
            None => w,
        })
        .or_else(|| f.file_path.clone())
        .or_else(|| place.image.clone())
        .unwrap_or_default();
    f.evidence = Some(evidence);
    f
}

fn misconfiguration(place: &Place, target: &str, m: &Misconf, evidence: Value) -> NewFinding {
    let id = if m.id.trim().is_empty() {
        m.avd_id.trim()
    } else {
        m.id.trim()
    };
    let resource = m.cause_metadata.resource.trim();
    let mut fp = Fingerprint::new("trivy/v1");
    fp.push("misconfig");
    place.push_subject(&mut fp);
    fp.push(id).push(&normalize::path(target)).push(resource);

    let title = [m.title.as_str(), m.message.as_str(), id]
        .into_iter()
        .map(|t| normalize::first_line(t, TITLE_MAX))
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let mut f = NewFinding::new(
        fp.finish(),
        Layer::ClusterConfig,
        severity(&m.severity),
        title,
    );
    f.rule_id = normalize::bounded(id, SHORT_MAX);
    let description = match (m.description.trim(), m.message.trim()) {
        ("", msg) => msg.to_string(),
        (d, "") => d.to_string(),
        (d, msg) => format!("{d}\n\n{msg}"),
    };
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = normalize::bounded(m.resolution.trim(), DESCRIPTION_MAX);
    f.references = references(&m.primary_url, &m.references);
    f.line = m
        .cause_metadata
        .start_line
        .and_then(|l| i32::try_from(l).ok())
        .filter(|l| *l > 0);
    f.file_path = place.file.clone();
    place.apply(&mut f);
    f.location = match (place.workload_location(), &f.file_path, f.line) {
        (Some(w), _, _) => w,
        (None, Some(p), Some(l)) => format!("{p}:{l}"),
        (None, Some(p), None) => p.clone(),
        (None, None, _) => normalize::bounded(target, SHORT_MAX),
    };
    f.evidence = Some(evidence);
    f
}

fn secret(place: &Place, target: &str, s: &Secret, raw: &Value) -> NewFinding {
    let path = normalize::path(target);
    let fingerprint = secret_identity(
        |fp| place.push_subject(fp),
        s.rule_id.trim(),
        &path,
        &s.matched,
    );

    let text = SecretText {
        title: &s.title,
        category: &s.category,
        rule_id: &s.rule_id,
        severity: &s.severity,
        matched: &s.matched,
    };
    let mut f = text.finding(fingerprint, &path);
    f.remediation =
        "Revoke and rotate the secret, then remove it from the file and its history.".to_string();
    f.line = s
        .start_line
        .and_then(|l| i32::try_from(l).ok())
        .filter(|l| *l > 0);
    f.file_path = (!path.is_empty()).then(|| normalize::bounded(&path, SHORT_MAX));
    place.apply(&mut f);
    f.location = match (&f.file_path, f.line) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p.clone(),
        (None, _) => place.workload_location().unwrap_or_default(),
    };
    f.evidence = Some(normalize::evidence(raw));
    f
}
