//! Producer conformance: real scanners, run here on small projects with known weaknesses
//! (`tests/producers/projects`, written for this suite), in every output format of theirs
//! that Bosun reads. For each tool it shows that
//! - Bosun stores as many findings as the tool reported (or the difference is explained);
//! - one run as JSON and as SARIF gives the same findings (same identities);
//! - lines inserted at the top of the scanned files change nothing;
//! - fixing one weakness closes exactly that finding and nothing else;
//! - a clean scan is accepted (`bosun push` exits 0).
//!
//! The tools are installed by `scripts/install-producers.sh` (pinned versions, in
//! `BOSUN_PRODUCERS_DIR`, default `~/.cache/bosun/producers`); `scripts/test.sh` runs it.
//! Without them the suite is skipped, except under CI, where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use bosun_tests::{TestApp, skip_unless_ci, spawn_app_with_project, workspace_root};
use serde_json::Value;

fn producers_dir() -> PathBuf {
    std::env::var_os("BOSUN_PRODUCERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/bosun/producers")
        })
}

/// A tool's command, or `None` (the test is skipped) when it is not installed and this is
/// not CI.
fn tool(venv: &str, command: &str) -> Option<PathBuf> {
    let path = if venv == "retire" {
        producers_dir().join("retire/node_modules/.bin/retire")
    } else {
        producers_dir().join(venv).join("bin").join(command)
    };
    if path.is_file() {
        return Some(path);
    }
    let shown = path.display();
    skip_unless_ci(
        &format!(
            "{shown} is missing: scripts/install-producers.sh installs the producer suite's tools"
        ),
        &format!("skipped: {shown} is not installed (scripts/install-producers.sh)"),
    )
}

/// A tool's command and a fresh app with project producers and its token, or `None` (the
/// test is skipped) when the tool is not installed and this is not CI.
async fn tool_and_app(venv: &str, command: &str) -> Option<(PathBuf, TestApp, String)> {
    let tool = tool(venv, command)?;
    let (app, token) = spawn_app_with_project("producers").await;
    Some((tool, app, token))
}

/// A copy of the example projects to scan and edit.
struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    fn new(name: &str) -> Workspace {
        let dir = std::env::temp_dir().join(format!(
            "bosun-producers-{name}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        copy_dir(&workspace_root().join("tests/producers/projects"), &dir);
        Workspace { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Lines inserted at the top of a file: everything in it moves down.
    fn prepend(&self, rel: &str, lines: &str) {
        let path = self.path(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{lines}{text}")).unwrap();
    }

    /// A file's whole text replaced.
    fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    /// One edit: `from` (which must be there once) becomes `to`.
    fn replace(&self, rel: &str, from: &str, to: &str) {
        let path = self.path(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches(from).count(), 1, "{from:?} once in {rel}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs a tool in `dir`; returns the report it wrote to `out` (a file name it is told).
fn run(dir: &Path, program: &Path, args: &[&str], report: &Path) -> Vec<u8> {
    let _ = std::fs::remove_file(report);
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("SEMGREP_SEND_METRICS", "off")
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
    std::fs::read(report).unwrap_or_else(|e| {
        panic!(
            "{} wrote no report {} ({e}): {}{}",
            program.display(),
            report.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// What Bosun said of a push.
struct Pushed {
    new: i64,
    unchanged: i64,
    reopened: i64,
    fixed: i64,
    total: i64,
    scanner: String,
    json: Value,
}

/// Pushes `body` into target `target`, which Bosun must accept.
async fn push(app: &TestApp, token: &str, target: &str, body: Vec<u8>) -> Pushed {
    let json = app.push_ok(token, &format!("?target={target}"), body).await;
    let n = |k: &str| json[k].as_i64().unwrap_or(-1);
    Pushed {
        new: n("new"),
        unchanged: n("unchanged"),
        reopened: n("reopened"),
        fixed: n("fixed"),
        total: n("total"),
        scanner: json["scanner"].as_str().unwrap_or("").to_string(),
        json,
    }
}

/// The findings a SARIF log carries: one per result location (a result without one is
/// one).
fn sarif_count(body: &[u8]) -> i64 {
    let log: Value = serde_json::from_slice(body).unwrap();
    log["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| run["results"].as_array().cloned().unwrap_or_default())
        .map(|r| r["locations"].as_array().map_or(1, |l| l.len().max(1)) as i64)
        .sum()
}

/// Rule ids of the open findings of a target, sorted.
async fn open_rules(app: &TestApp, target: &str) -> Vec<String> {
    app.scalars(&format!(
        "SELECT rule_id FROM findings WHERE target = '{target}' AND state NOT IN ('fixed')
          ORDER BY rule_id"
    ))
    .await
}

/// The fixed finding of a target, as (rule, file).
async fn fixed_ones(app: &TestApp, target: &str) -> Vec<(String, Option<String>)> {
    app.rows(&format!(
        "SELECT rule_id, file_path FROM findings WHERE target = '{target}' AND state = 'fixed'
          ORDER BY rule_id"
    ))
    .await
}

/// One tool's conformance: `scan(workspace, format)` runs the tool and returns its report;
/// `own_count` counts findings in it the way the tool does. The same run is pushed once
/// per format into one target (the formats must agree), then again after lines were
/// inserted above everything, then after `fix` removed one weakness, which must close
/// exactly `fixed_rule`; last, a copy made clean by `clean` is pushed by `bosun push`.
struct Conformance<'a> {
    tool: &'a str,
    formats: &'a [&'a str],
    scan: &'a dyn Fn(&Workspace, &str) -> Vec<u8>,
    own_count: &'a dyn Fn(&str, &[u8]) -> i64,
    shift: &'a dyn Fn(&Workspace),
    fix: &'a dyn Fn(&Workspace),
    fixed_rule: &'a str,
    /// Makes a copy of the example projects clean, for the clean scans.
    clean: &'a dyn Fn(&Workspace),
}

async fn conform(app: &TestApp, token: &str, c: Conformance<'_>) {
    let ws = Workspace::new(c.tool);
    let target = format!("producers/{}", c.tool);
    // every format of one run: same count as the tool, same findings
    let mut baseline: Option<Vec<String>> = None;
    for (i, format) in c.formats.iter().enumerate() {
        let body = (c.scan)(&ws, format);
        let expected = (c.own_count)(format, &body);
        assert!(
            expected > 0,
            "{} {format} found nothing: the example project is meant to fail",
            c.tool
        );
        let pushed = push(app, token, &target, body).await;
        assert_eq!(
            pushed.total, expected,
            "{} {format}: Bosun's count is the tool's: {}",
            c.tool, pushed.json
        );
        assert_eq!(
            pushed.scanner, c.tool,
            "{} {format}: one scanner id whatever the format",
            c.tool
        );
        if i == 0 {
            assert_eq!(pushed.new, expected);
        } else {
            assert_eq!(
                (pushed.new, pushed.fixed, pushed.reopened, pushed.unchanged),
                (0, 0, 0, expected),
                "{} {format} after {}: the same findings: {}",
                c.tool,
                c.formats[0],
                pushed.json
            );
        }
        let rules = open_rules(app, &target).await;
        match &baseline {
            None => baseline = Some(rules),
            Some(first) => assert_eq!(&rules, first, "{} {format}", c.tool),
        }
    }
    // lines inserted at the top of every scanned file: nothing changes
    (c.shift)(&ws);
    for format in c.formats {
        let pushed = push(app, token, &target, (c.scan)(&ws, format)).await;
        assert_eq!(
            (pushed.new, pushed.fixed, pushed.reopened),
            (0, 0, 0),
            "{} {format} after lines were inserted above: {}",
            c.tool,
            pushed.json
        );
    }
    // one weakness fixed: exactly it closes
    (c.fix)(&ws);
    for (i, format) in c.formats.iter().enumerate() {
        let pushed = push(app, token, &target, (c.scan)(&ws, format)).await;
        let expected_fixed = if i == 0 { 1 } else { 0 };
        assert_eq!(
            (pushed.new, pushed.fixed, pushed.reopened),
            (0, expected_fixed, 0),
            "{} {format} after one fix: {}",
            c.tool,
            pushed.json
        );
    }
    let fixed = fixed_ones(app, &target).await;
    assert_eq!(fixed.len(), 1, "{}: {fixed:?}", c.tool);
    assert_eq!(
        rule_tail(&fixed[0].0),
        c.fixed_rule,
        "{}: the fixed weakness is the one closed",
        c.tool
    );
    // a clean copy of the projects: its scans in JSON and SARIF pass
    let clean = Workspace::new(&format!("{}-clean", c.tool));
    (c.clean)(&clean);
    clean_scans_pass(app, token, c.tool, &clean, c.scan).await;
}

/// The tool's JSON (a `results` array) or SARIF, counted as the tool counts its findings.
fn results_or_sarif(format: &str, body: &[u8]) -> i64 {
    match format {
        "json" => serde_json::from_slice::<Value>(body).unwrap()["results"]
            .as_array()
            .unwrap()
            .len() as i64,
        _ => sarif_count(body),
    }
}

/// The weakness the Python example fixes: `yaml.load` becomes `yaml.safe_load`.
fn fix_unsafe_yaml(ws: &Workspace) {
    ws.replace(
        "python-api/app.py",
        "yaml.load(text)",
        "yaml.safe_load(text)",
    )
}

/// `scan` of the `clean` workspace, in JSON and in SARIF, each pushed by `bosun push`.
async fn clean_scans_pass(
    app: &TestApp,
    token: &str,
    tool: &str,
    clean: &Workspace,
    scan: &dyn Fn(&Workspace, &str) -> Vec<u8>,
) {
    for format in ["json", "sarif"] {
        let report = scan(clean, format);
        clean_scan_passes(app, token, tool, &report, &format!("{tool}.{format}")).await;
    }
}

/// `bosun push` of a clean scan: accepted, gate passed, exit 0.
async fn clean_scan_passes(app: &TestApp, token: &str, tool: &str, report: &[u8], file: &str) {
    let dir = std::env::temp_dir().join(format!("bosun-clean-{tool}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, report).unwrap();
    let path_text = path.display().to_string();
    let target = format!("clean/{tool}");
    let out = app
        .bosun(
            &["push", &path_text, "--token", token, "--target", &target],
            None,
        )
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{tool}: a clean scan is a success: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Python module without weaknesses.
const CLEAN_PY: &str = "def ok():\n    return 1\n";

const SHIFT_PY: &str = "# producer suite: two lines inserted above everything\n# (nothing else moves but the line numbers)\n";

/// Two comment lines for files that comment with `#`, inserted above everything.
const SHIFT_HASH: &str = "# two lines inserted\n# above everything\n";

#[tokio::test]
async fn semgrep_json_and_sarif_agree_and_survive_edits() {
    let Some((semgrep, app, token)) = tool_and_app("semgrep", "semgrep").await else {
        return;
    };
    let rules = workspace_root().join("tests/producers/semgrep-rules.yml");
    let scan = |ws: &Workspace, format: &str| {
        let out = ws.path(&format!("semgrep.{format}"));
        let rules = rules.display().to_string();
        let out_text = out.display().to_string();
        let flag = format!("--{format}");
        run(
            &ws.dir,
            &semgrep,
            &[
                "scan",
                "--metrics=off",
                "--disable-version-check",
                "--config",
                &rules,
                &flag,
                "-o",
                &out_text,
                "python-api",
                "node-web",
            ],
            &out,
        )
    };
    conform(
        &app,
        &token,
        Conformance {
            tool: "semgrep",
            formats: &["json", "sarif"],
            scan: &scan,
            own_count: &results_or_sarif,
            shift: &|ws| {
                ws.prepend("python-api/app.py", SHIFT_PY);
                ws.prepend(
                    "node-web/server.js",
                    "// two lines inserted\n// above everything\n",
                );
            },
            fix: &fix_unsafe_yaml,
            fixed_rule: "yaml-unsafe-load",
            // semgrep's JSON and SARIF with no results, and unknown keys
            clean: &|ws| {
                ws.write("python-api/app.py", CLEAN_PY);
                ws.write("node-web/server.js", "module.exports = 1;\n");
            },
        },
    )
    .await;
}

/// The rule id Semgrep gives a rule of `semgrep-rules.yml`: prefixed with the rules file's
/// place, which depends on where it runs from; the suite compares the last part.
fn rule_tail(rule: &str) -> &str {
    rule.rsplit('.').next().unwrap_or(rule)
}

#[tokio::test]
async fn bandit_json_and_sarif_agree_and_survive_edits() {
    let Some((bandit, app, token)) = tool_and_app("bandit", "bandit").await else {
        return;
    };
    let scan = |ws: &Workspace, format: &str| {
        let out = ws.path(&format!("bandit.{format}"));
        let out_text = out.display().to_string();
        run(
            &ws.dir,
            &bandit,
            &["-q", "-r", "python-api", "-f", format, "-o", &out_text],
            &out,
        )
    };
    conform(
        &app,
        &token,
        Conformance {
            tool: "bandit",
            formats: &["json", "sarif"],
            scan: &scan,
            own_count: &results_or_sarif,
            shift: &|ws| ws.prepend("python-api/app.py", SHIFT_PY),
            fix: &fix_unsafe_yaml,
            fixed_rule: "B506",
            clean: &|ws| ws.write("python-api/app.py", CLEAN_PY),
        },
    )
    .await;
}

#[tokio::test]
async fn hadolint_json_and_sarif_agree_and_survive_edits() {
    let Some((hadolint, app, token)) = tool_and_app("hadolint", "hadolint").await else {
        return;
    };
    let own_count = |format: &str, body: &[u8]| match format {
        "json" => serde_json::from_slice::<Value>(body)
            .unwrap()
            .as_array()
            .unwrap()
            .len() as i64,
        _ => sarif_count(body),
    };
    // hadolint writes its report to standard output; a copy is kept as the others' are
    let scan = |ws: &Workspace, format: &str| {
        let output = Command::new(&hadolint)
            .args([
                "--no-fail",
                "-f",
                format,
                "images/api.Dockerfile",
                "images/web.Dockerfile",
            ])
            .current_dir(&ws.dir)
            .output()
            .unwrap();
        ws.write(&format!("hadolint.{format}"), &output.stdout);
        output.stdout
    };
    conform(
        &app,
        &token,
        Conformance {
            tool: "hadolint",
            formats: &["json", "sarif"],
            scan: &scan,
            own_count: &own_count,
            shift: &|ws| {
                for file in ["images/api.Dockerfile", "images/web.Dockerfile"] {
                    ws.prepend(file, SHIFT_HASH);
                }
            },
            fix: &|ws| ws.replace("images/api.Dockerfile", "ADD . /app", "COPY . /app"),
            fixed_rule: "DL3020",
            clean: &|ws| {
                ws.write("images/api.Dockerfile", "FROM python:3.12-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000\nUSER 1000\nCMD [\"python\", \"-V\"]\n");
                ws.write("images/web.Dockerfile", "FROM node:22-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000\nUSER 1000\nCMD [\"node\", \"-v\"]\n");
            },
        },
    )
    .await;
}

#[tokio::test]
async fn checkov_json_sarif_and_cyclonedx_agree_and_survive_edits() {
    let Some((checkov, app, token)) = tool_and_app("checkov", "checkov").await else {
        return;
    };
    // where Checkov writes each format's report in its output folder
    let report_file = |format: &str| match format {
        "json" => "results_json.json",
        "sarif" => "results_sarif.sarif",
        "cyclonedx" => "results_cyclonedx.xml",
        _ => "results_cyclonedx.json",
    };
    let scan = |ws: &Workspace, format: &str| {
        let out_dir = ws.path(&format!("checkov-{format}"));
        let _ = std::fs::remove_dir_all(&out_dir);
        let out_text = out_dir.display().to_string();
        run(
            &ws.dir,
            &checkov,
            &[
                "-d",
                ".",
                "--framework",
                "kubernetes",
                "terraform",
                "dockerfile",
                "-o",
                format,
                "--output-file-path",
                &out_text,
                "--skip-download",
                "--quiet",
            ],
            &out_dir.join(report_file(format)),
        )
    };
    let own_count = |format: &str, body: &[u8]| match format {
        "json" => {
            let root: Value = serde_json::from_slice(body).unwrap();
            let reports = root.as_array().cloned().unwrap_or_else(|| vec![root]);
            reports
                .iter()
                .map(|r| r["summary"]["failed"].as_i64().unwrap_or(0))
                .sum()
        }
        "sarif" => sarif_count(body),
        "cyclonedx_json" => {
            let bom: Value = serde_json::from_slice(body).unwrap();
            bom["vulnerabilities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["affects"].as_array().map_or(0, |a| a.len()) as i64)
                .sum()
        }
        _ => String::from_utf8_lossy(body).matches("<target>").count() as i64,
    };
    conform(
        &app,
        &token,
        Conformance {
            tool: "checkov",
            formats: &["json", "sarif"],
            scan: &scan,
            own_count: &own_count,
            shift: &|ws| {
                for file in [
                    "k8s/deployment.yaml",
                    "k8s/worker.yaml",
                    "terraform/main.tf",
                    "images/api.Dockerfile",
                ] {
                    ws.prepend(file, SHIFT_HASH);
                }
            },
            // one line of one Deployment: every other finding of it stays as it is
            fix: &|ws| {
                ws.replace(
                    "k8s/deployment.yaml",
                    "privileged: true",
                    "privileged: false",
                )
            },
            fixed_rule: "CKV_K8S_16",
            // nothing to scan: a clean scan
            clean: &|ws| {
                for sub in ["k8s", "terraform", "images"] {
                    std::fs::remove_dir_all(ws.path(sub)).unwrap();
                }
            },
        },
    )
    .await;
    // Checkov's CycloneDX: its count, scanner and layer are Checkov's too
    let ws = Workspace::new("checkov-cdx");
    for format in ["cyclonedx", "cyclonedx_json"] {
        let body = scan(&ws, format);
        let expected = own_count(format, &body);
        let target = format!("producers/checkov-{format}");
        let pushed = push(&app, &token, &target, body).await;
        assert_eq!(
            (pushed.total, pushed.scanner.as_str()),
            (expected, "checkov"),
            "{format}: {}",
            pushed.json
        );
        let layers: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT layer::text FROM findings WHERE target = $1")
                .bind(&target)
                .fetch_all(&app.pool)
                .await
                .unwrap();
        assert_eq!(layers, ["cluster_config"], "{format}");
    }
}

#[tokio::test]
async fn cyclonedx_py_and_retire_boms_count_what_they_carry() {
    let (Some(cyclonedx_py), Some(retire)) = (
        tool("cyclonedx-py", "cyclonedx-py"),
        tool("retire", "retire"),
    ) else {
        return;
    };
    let (app, token) = spawn_app_with_project("producers").await;
    let ws = Workspace::new("boms");
    // cyclonedx-py: an inventory (no vulnerabilities); keys sorted, so `bomFormat` comes
    // after every component, far past the first 8 KiB of a larger BOM
    for (format, file) in [("JSON", "sbom.json"), ("XML", "sbom.xml")] {
        let out = ws.path(file);
        let out_text = out.display().to_string();
        let body = run(
            &ws.path("python-api"),
            &cyclonedx_py,
            &[
                "requirements",
                "requirements.txt",
                "--of",
                format,
                "-o",
                &out_text,
            ],
            &out,
        );
        let pushed = push(
            &app,
            &token,
            &format!("producers/cyclonedx-py-{format}"),
            body,
        )
        .await;
        assert_eq!(
            (pushed.total, pushed.scanner.as_str()),
            (0, "cyclonedx-py"),
            "{}",
            pushed.json
        );
        assert_eq!(pushed.json["format"], "cyclonedx");
    }
    // retire: its VEX outputs carry the vulnerabilities its JSON reports; its plain
    // CycloneDX outputs are inventories and carry none
    let repo = workspace_root().join("tests/producers/retire-repository.json");
    let repo_text = repo.display().to_string();
    let cache = ws.path("retire-cache");
    let cache_text = cache.display().to_string();
    let retire_run = |format: &str| {
        let out = ws.path(&format!("retire.{format}"));
        let out_text = out.display().to_string();
        run(
            &ws.dir,
            &retire,
            &[
                "--path",
                "node-web",
                "--jsrepo",
                &repo_text,
                "--cachedir",
                &cache_text,
                "--outputformat",
                format,
                "--outputpath",
                &out_text,
            ],
            &out,
        )
    };
    let native: Value = serde_json::from_slice(&retire_run("json")).unwrap();
    let reported: i64 = native["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["results"].as_array().cloned().unwrap_or_default())
        .map(|r| r["vulnerabilities"].as_array().map_or(0, |v| v.len()) as i64)
        .sum();
    assert_eq!(
        reported, 3,
        "the example's stand-in libraries are vulnerable"
    );
    // the VEX outputs carry them all; the plain CycloneDX outputs are inventories
    for (format, vex) in [
        ("cyclonedxJSON1_6_VEX", true),
        ("cyclonedxJSON1_7_VEX", true),
        ("cyclonedx", false),
        ("cyclonedxJSON", false),
    ] {
        let target = format!("producers/retire-{format}");
        let pushed = push(&app, &token, &target, retire_run(format)).await;
        if vex {
            assert_eq!(
                (pushed.total, pushed.scanner.as_str()),
                (reported, "retire"),
                "{format}: {}",
                pushed.json
            );
        } else {
            assert_eq!(
                pushed.total, 0,
                "{format}: an inventory without vulnerabilities: {}",
                pushed.json
            );
        }
    }
}

#[tokio::test]
async fn the_same_weakness_in_two_targets_is_two_findings() {
    let Some((hadolint, app, token)) = tool_and_app("hadolint", "hadolint").await else {
        return;
    };
    let ws = Workspace::new("targets");
    let scan = |ws: &Workspace| {
        Command::new(&hadolint)
            .args(["--no-fail", "-f", "json", "images/api.Dockerfile"])
            .current_dir(&ws.dir)
            .output()
            .unwrap()
            .stdout
    };
    let report = scan(&ws);
    let email = push(&app, &token, "svc/email", report.clone()).await;
    let reco = push(&app, &token, "svc/recommendation", report).await;
    assert_eq!(email.new, reco.new);
    ws.replace("images/api.Dockerfile", "ADD . /app", "COPY . /app");
    let fixed = push(&app, &token, "svc/email", scan(&ws)).await;
    assert_eq!(fixed.fixed, 1);
    assert!(
        open_rules(&app, "svc/recommendation")
            .await
            .contains(&"DL3020".to_string())
    );
    let other = push(&app, &token, "svc/recommendation", {
        let ws2 = Workspace::new("targets-2");
        scan(&ws2)
    })
    .await;
    assert_eq!(
        (other.new, other.reopened, other.fixed),
        (0, 0, 0),
        "{}",
        other.json
    );
}
