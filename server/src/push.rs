//! `bosun push`: the CI client. Gzips a report, uploads it, prints what happened.
//!
//! Exit codes: 0 accepted and the gate passed, 1 accepted but the gate failed,
//! 2 any error (unreadable file, network, rejected report).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use flate2::{Compression, write::GzEncoder};

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The report file to upload.
    file: PathBuf,
    /// Project slug (checked against the token's project).
    #[arg(long)]
    project: Option<String>,
    /// What was scanned: repository path, image, cluster/namespace.
    #[arg(long)]
    target: Option<String>,
    /// Report format, when detection should not guess.
    #[arg(long)]
    format: Option<String>,
    /// Commit SHA, branch and pipeline URL (read from common CI variables when absent).
    #[arg(long)]
    commit: Option<String>,
    #[arg(long)]
    branch: Option<String>,
    #[arg(long)]
    pipeline_url: Option<String>,
    /// Environment the scan speaks for (production, staging, …).
    #[arg(long)]
    environment: Option<String>,
    /// The scan covered only part of its scope: it must not auto-close anything.
    #[arg(long)]
    partial: bool,
    /// Print the server's JSON response unchanged.
    #[arg(long)]
    json: bool,
    /// How often to retry when the server is busy (429), waiting as it says.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// Server URL.
    #[arg(long, env = "BOSUN_URL", default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Ingest token.
    #[arg(long, env = "BOSUN_TOKEN", hide_env_values = true)]
    token: String,
}

pub async fn run(args: PushArgs) -> ExitCode {
    match push(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("bosun push: {message}");
            ExitCode::from(2)
        }
    }
}

fn ci_env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// Words in a report's file name that name its format, besides the formats' own names.
const FILE_NAME_WORDS: &[(&str, &str)] = &[("osv", "osv_scanner"), ("kube-linter", "kube_linter")];

/// The format to name for `body`: `--format`, else, for a report with nothing in it (an
/// empty file, which JSON-lines tools such as nuclei write when they find nothing, or an
/// empty `[]` / `{}`, which fits many formats), the tool its file name mentions
/// (`nuclei-results.jsonl` → nuclei, `hadolint.json` → hadolint).
fn format_for(args: &PushArgs, body: &[u8]) -> Result<Option<String>, String> {
    let text = String::from_utf8_lossy(body);
    let empty = matches!(text.trim(), "" | "[]" | "{}");
    if args.format.is_some() || !empty {
        return Ok(args.format.clone());
    }
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let named = crate::ingest::FORMATS
        .iter()
        .map(|f| (f.name(), f.name()))
        .chain(FILE_NAME_WORDS.iter().copied())
        .filter(|(word, _)| name.contains(word) || name.contains(&word.replace('_', "-")))
        .max_by_key(|(word, _)| word.len())
        .map(|(_, format)| format.to_string());
    match (named, text.trim().is_empty()) {
        (Some(format), _) => Ok(Some(format)),
        // `[]` without a name: let the server say which formats could be meant
        (None, false) => Ok(None),
        (None, true) => Err(format!(
            "{} is empty: name its format (--format nuclei, …) to record a clean scan",
            args.file.display()
        )),
    }
}

/// Uploads the report; `Ok(gate passed)`.
async fn push(args: &PushArgs) -> Result<bool, String> {
    let body = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let format = format_for(args, &body)?;
    let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    gz.write_all(&body).map_err(|e| e.to_string())?;
    let gz = gz.finish().map_err(|e| e.to_string())?;

    let server_url = ci_env(&["GITHUB_SERVER_URL"]);
    let github_run = match (
        server_url,
        ci_env(&["GITHUB_REPOSITORY"]),
        ci_env(&["GITHUB_RUN_ID"]),
    ) {
        (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
        _ => None,
    };
    let params: Vec<(&str, String)> = [
        ("project", args.project.clone()),
        ("target", args.target.clone()),
        ("format", format),
        (
            "commit",
            args.commit
                .clone()
                .or_else(|| ci_env(&["GITHUB_SHA", "CI_COMMIT_SHA"])),
        ),
        (
            "branch",
            args.branch
                .clone()
                .or_else(|| ci_env(&["GITHUB_REF_NAME", "CI_COMMIT_REF_NAME"])),
        ),
        (
            "pipeline_url",
            args.pipeline_url
                .clone()
                .or(github_run)
                .or_else(|| ci_env(&["CI_PIPELINE_URL"])),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();

    let endpoint = format!("{}/api/v1/reports", args.url.trim_end_matches('/'));
    let gz = axum::body::Bytes::from(gz);
    let client = reqwest::Client::new();
    let mut attempt = 0;
    let response = loop {
        let response = client
            .post(&endpoint)
            .bearer_auth(&args.token)
            .query(&params)
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(gz.clone())
            .send()
            .await
            .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
        if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS || attempt >= args.retries {
            break response;
        }
        attempt += 1;
        let wait = retry_after(response.headers());
        eprintln!(
            "bosun push: the server is busy; retry {attempt} of {} in {} s",
            args.retries,
            wait.as_secs()
        );
        tokio::time::sleep(wait).await;
    };
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("reading the response: {e}"))?;
    if args.json {
        println!("{text}");
    }
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        let why = json
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or(text.as_str());
        return Err(format!("the server refused the report ({status}): {why}"));
    }
    let passed = json["gate"]["passed"].as_bool().unwrap_or(true);
    if !args.json {
        print_summary(&json);
    }
    Ok(passed)
}

/// How long a busy server asks to wait (`Retry-After` seconds), within 1 to 60 s.
fn retry_after(headers: &reqwest::header::HeaderMap) -> std::time::Duration {
    let secs = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(5);
    std::time::Duration::from_secs(secs.clamp(1, 60))
}

fn print_summary(json: &serde_json::Value) {
    let n = |k: &str| json.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
    let s = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    println!(
        "scan {} · project {} · {} ({})",
        n("scan_id"),
        s("project"),
        s("scanner"),
        s("format")
    );
    println!(
        "{:>6} {:>10} {:>9} {:>6} {:>6}",
        "new", "unchanged", "reopened", "fixed", "total"
    );
    println!(
        "{:>6} {:>10} {:>9} {:>6} {:>6}",
        n("new"),
        n("unchanged"),
        n("reopened"),
        n("fixed"),
        n("total")
    );
    if let Some(reason) = json["auto_close_skipped"].as_str() {
        println!("nothing auto-closed: {reason}");
    }
    for skipped in json["skipped"].as_array().into_iter().flatten() {
        println!(
            "skipped {} item(s) of the report: {}",
            skipped["count"].as_u64().unwrap_or(0),
            skipped["reason"].as_str().unwrap_or("")
        );
    }
    let gate = &json["gate"];
    let passed = gate["passed"].as_bool().unwrap_or(true);
    println!("gate: {}", if passed { "PASSED" } else { "FAILED" });
    for v in gate["violations"].as_array().into_iter().flatten() {
        let count = v["count"].as_u64().unwrap_or(0);
        let waived = v["waived"].as_array().map_or(0, Vec::len);
        println!(
            "  {} — {count} finding(s){}",
            v["description"].as_str().unwrap_or(""),
            if waived > 0 {
                format!(", {waived} waived by risk acceptance")
            } else {
                String::new()
            }
        );
        for f in v["findings"].as_array().into_iter().flatten() {
            println!(
                "    [{}] {} {}",
                f["severity"].as_str().unwrap_or(""),
                f["title"].as_str().unwrap_or(""),
                f["location"].as_str().unwrap_or("")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        push: PushArgs,
    }

    fn args(line: &[&str]) -> PushArgs {
        let mut argv = vec!["push"];
        argv.extend_from_slice(line);
        argv.extend_from_slice(&["--token", "t"]);
        Cli::parse_from(argv).push
    }

    #[test]
    fn an_empty_report_names_its_json_lines_tool_or_asks_for_one() {
        let named = |file: &str, body: &[u8]| format_for(&args(&[file]), body);
        assert_eq!(
            named("out/nuclei-results.jsonl", b"").unwrap().as_deref(),
            Some("nuclei")
        );
        assert_eq!(
            named("osv.json", b"\n").unwrap().as_deref(),
            Some("osv_scanner")
        );
        assert_eq!(
            named("hadolint.json", b"[]\n").unwrap().as_deref(),
            Some("hadolint")
        );
        assert_eq!(
            named("kube-linter.json", b"{}").unwrap().as_deref(),
            Some("kube_linter")
        );
        assert!(named("report.json", b"").unwrap_err().contains("--format"));
        assert_eq!(
            named("report.json", b"[]").unwrap(),
            None,
            "the server answers which"
        );
        assert_eq!(
            named("hadolint.json", b"[{\"code\":1}]").unwrap(),
            None,
            "not empty: detected"
        );
        let given = format_for(&args(&["report.json", "--format", "zap"]), b"").unwrap();
        assert_eq!(given.as_deref(), Some("zap"));
    }
}
