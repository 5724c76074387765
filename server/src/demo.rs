//! The demo dataset: a few realistic projects and their findings, generated here as SARIF
//! and loaded through the normal ingest path, so a newcomer sees a populated Bosun at once.
//! Loading twice changes nothing (every finding comes back `unchanged`).
//!
//! Around them, a small slice of `bosun seed` ([`SEED`]): teams owning the projects, people
//! with roles in them, and a year of scans, fixes, reopenings, triage and comments, so the
//! overview's trends and the projects' histories have something to show. The demo's own
//! projects join the seed's teams.

use anyhow::Context;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::ingest::{self, ScanMeta};
use crate::projects::{self, Slug};
use crate::tokens::TokenGrant;
use crate::users;

pub const DEMO_EMAIL: &str = "demo@bosun.local";
pub const DEMO_PASSWORD: &str = "bosun-demo-pass";

/// The demo's slice of the seed: (findings, projects, teams, people, seed). The seed
/// number is one whose project slugs do not meet the demo's own (a test checks).
pub const SEED: (u64, usize, usize, usize, u64) = (2_000, 12, 4, 20, 3);

/// Which seed team owns each of the demo's own projects.
const OWNERS: &[(&str, &str)] = &[
    ("payments-api", "payments"),
    ("web-frontend", "checkout"),
    ("platform", "platform"),
];

fn seed_args() -> crate::seed::SeedArgs {
    let (findings, projects, teams, users, seed) = SEED;
    crate::seed::SeedArgs {
        seed,
        ..crate::seed::SeedArgs::small(findings, projects, teams, users)
    }
}

/// (rule id, level, security-severity, message, path, line)
type DemoResult = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    u32,
);

struct DemoScan {
    project: &'static str,
    project_name: &'static str,
    tool: &'static str,
    version: &'static str,
    target: &'static str,
    results: &'static [DemoResult],
}

const SCANS: &[DemoScan] = &[
    DemoScan {
        project: "payments-api",
        project_name: "Payments API",
        tool: "Semgrep OSS",
        version: "1.95.0",
        target: "github.com/acme/payments-api",
        results: &[
            (
                "python.django.security.injection.sql.sql-injection-db-cursor-execute",
                "error",
                Some("8.8"),
                "User-controlled data reaches cursor.execute() without parameters",
                "payments/views/refunds.py",
                88,
            ),
            (
                "python.lang.security.audit.dangerous-subprocess-use",
                "error",
                Some("7.5"),
                "subprocess.run() called with shell=True and request data",
                "payments/tasks/export.py",
                41,
            ),
            (
                "python.requests.security.disabled-cert-validation",
                "warning",
                Some("5.9"),
                "TLS certificate validation disabled (verify=False)",
                "payments/clients/bank.py",
                27,
            ),
            (
                "python.lang.security.audit.insecure-hash-algorithm-md5",
                "warning",
                None,
                "MD5 used to derive an idempotency key",
                "payments/idempotency.py",
                15,
            ),
            (
                "python.flask.security.audit.debug-enabled",
                "note",
                None,
                "Debug mode enabled in a settings module",
                "payments/settings/dev.py",
                9,
            ),
        ],
    },
    DemoScan {
        project: "payments-api",
        project_name: "Payments API",
        tool: "Grype",
        version: "0.84.0",
        target: "registry.acme.io/payments-api:1.42.0",
        results: &[
            (
                "CVE-2024-6345",
                "error",
                Some("8.8"),
                "setuptools 68.0.0: remote code execution via package_index (fixed in 70.0.0)",
                "requirements.txt",
                0,
            ),
            (
                "CVE-2023-50782",
                "error",
                Some("7.5"),
                "cryptography 41.0.3: Bleichenbacher timing oracle in RSA decryption (fixed in 42.0.0)",
                "requirements.txt",
                0,
            ),
            (
                "CVE-2024-35195",
                "warning",
                Some("5.6"),
                "requests 2.31.0: verify=False persists across a Session (fixed in 2.32.0)",
                "requirements.txt",
                0,
            ),
            (
                "CVE-2023-45853",
                "error",
                Some("9.8"),
                "zlib 1.2.13: heap overflow in MiniZip zipOpenNewFileInZip4_64",
                "/usr/lib/x86_64-linux-gnu/libz.so.1",
                0,
            ),
        ],
    },
    DemoScan {
        project: "web-frontend",
        project_name: "Web frontend",
        tool: "gitleaks",
        version: "8.21.2",
        target: "github.com/acme/web-frontend",
        results: &[
            (
                "stripe-access-token",
                "error",
                Some("9.1"),
                "Stripe secret key committed in .env.production",
                ".env.production",
                3,
            ),
            (
                "generic-api-key",
                "warning",
                None,
                "Generic API key in a test fixture",
                "src/__fixtures__/analytics.json",
                12,
            ),
        ],
    },
    DemoScan {
        project: "web-frontend",
        project_name: "Web frontend",
        tool: "ESLint security",
        version: "9.14.0",
        target: "github.com/acme/web-frontend",
        results: &[
            (
                "react/no-danger",
                "warning",
                Some("6.1"),
                "dangerouslySetInnerHTML renders a product description from the API",
                "src/components/ProductCard.tsx",
                57,
            ),
            (
                "security/detect-object-injection",
                "note",
                None,
                "Bracket notation with a user-controlled key",
                "src/lib/filters.ts",
                33,
            ),
            (
                "no-eval",
                "error",
                Some("7.3"),
                "eval() of a query-string value",
                "src/legacy/reportBuilder.js",
                120,
            ),
        ],
    },
    DemoScan {
        project: "platform",
        project_name: "Platform (cluster)",
        tool: "kube-linter",
        version: "0.7.1",
        target: "prod-eu-1",
        results: &[
            (
                "run-as-non-root",
                "error",
                None,
                "container 'api' in Deployment payments/payments-api is not set to runAsNonRoot",
                "manifests/payments/deployment.yaml",
                24,
            ),
            (
                "no-read-only-root-fs",
                "warning",
                None,
                "container 'web' in Deployment web/web-frontend does not have a read-only root file system",
                "manifests/web/deployment.yaml",
                31,
            ),
            (
                "unset-memory-requirements",
                "note",
                None,
                "container 'worker' in Deployment payments/export-worker has no memory limit",
                "manifests/payments/worker.yaml",
                40,
            ),
            (
                "privileged-container",
                "error",
                Some("9.0"),
                "container 'node-agent' in DaemonSet kube-system/node-agent runs privileged",
                "manifests/system/node-agent.yaml",
                18,
            ),
        ],
    },
];

fn sarif_for(scan: &DemoScan) -> Value {
    let results: Vec<Value> = scan
        .results
        .iter()
        .map(|(rule, level, cvss, message, path, line)| {
            let mut region = json!({});
            if *line > 0 {
                region = json!({ "startLine": line });
            }
            let mut result = json!({
                "ruleId": rule,
                "level": level,
                "message": { "text": message },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": path }, "region": region } }],
            });
            if let Some(score) = cvss {
                result["properties"] = json!({ "security-severity": score });
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": scan.tool, "version": scan.version } }, "results": results }],
    })
}

/// Creates the demo user and projects when missing and ingests the demo reports.
pub async fn load(pool: &PgPool) -> anyhow::Result<()> {
    match users::create(pool, DEMO_EMAIL, DEMO_PASSWORD, true).await {
        Ok(_) | Err(users::UserError::Exists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let args = seed_args();
    let seeded: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM teams WHERE slug = $1)")
        .bind(crate::seed::catalog::team_slug(0))
        .fetch_one(pool)
        .await?;
    if !seeded {
        crate::seed::run(pool, &args)
            .await
            .context("seeding the demo's teams and history")?;
    }
    for scan in SCANS {
        let slug = Slug::parse_for("project slug", scan.project)?;
        let project = match projects::create(pool, &slug, scan.project_name).await {
            Ok(p) => p,
            Err(projects::ProjectError::Exists(_)) => projects::find(pool, scan.project).await?,
            Err(e) => return Err(e.into()),
        };
        if let Some((_, team)) = OWNERS.iter().find(|(p, _)| *p == scan.project) {
            sqlx::query(
                "UPDATE projects SET team_id = t.id FROM teams t
                  WHERE projects.id = $1 AND t.slug = $2 AND projects.team_id IS NULL",
            )
            .bind(project.id)
            .bind(team)
            .execute(pool)
            .await?;
        }
        let grant = TokenGrant::for_project(project.id, project.slug);
        let meta = ScanMeta {
            target: scan.target.to_string(),
            branch: Some("main".into()),
            ..ScanMeta::default()
        };
        let body = serde_json::to_vec(&sarif_for(scan))?;
        ingest::ingest(
            pool,
            &grant,
            &meta,
            ingest::Guardrails::default(),
            body.into(),
        )
        .await
        .with_context(|| format!("ingesting the demo {} report", scan.tool))?;
    }
    tracing::info!("demo dataset loaded");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ReportFormat;

    #[test]
    fn the_seed_slice_meets_the_demo_projects_and_teams() {
        let plan = crate::seed::plan(&seed_args(), chrono::Utc::now());
        for project in &plan.projects {
            assert!(
                SCANS.iter().all(|s| s.project != project.slug),
                "{} is a demo project",
                project.slug
            );
        }
        for (_, team) in OWNERS {
            assert!(plan.teams.iter().any(|t| t == team), "{team}");
        }
    }

    #[test]
    fn every_demo_report_parses_with_every_result() {
        for scan in SCANS {
            let body = serde_json::to_vec(&sarif_for(scan)).unwrap();
            let parsed = ingest::formats::sarif::Sarif.parse(&body).unwrap();
            assert_eq!(parsed.scanner, scan.tool);
            assert_eq!(parsed.findings.len(), scan.results.len(), "{}", scan.tool);
        }
    }
}
