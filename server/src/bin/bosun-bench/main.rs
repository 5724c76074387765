//! `bosun-bench`: end-to-end ingest benchmark (run it with `scripts/bench.sh`).
//!
//! Starts the release `bosun` binary against a fresh database, generates synthetic SARIF
//! and Trivy reports of 1k / 10k / 100k findings, and pushes each over HTTP three times:
//! first import (into a project of its own), unchanged re-import, and a re-import with
//! 10% of findings changed (5% gone, 5% new). Prints wall time per push, the server's peak
//! RSS per report size, and the time of a raw `COPY` of the same rows into a table shaped
//! like `findings`, measured in the same run, as the floor to compare with. Last, a report
//! of all-new findings for a new target in the same project ("new target"): unlike a new
//! project's first import, it must look up every fingerprint the project might know.
//! SARIF also runs at ~100 MB (310k findings), the size the memory target is set for.
//! `BOSUN_BENCH_SIZES=100000,310000` picks sizes, `BOSUN_BENCH_FORMATS=trivy` formats;
//! `BOSUN_BENCH_KEEP=1` keeps the database afterwards, for looking into the stored rows.
//! The first import's CPU time is printed for the server and for the machine's `postgres`
//! processes, to tell which side is the bottleneck.
//!
//! `bosun-bench pages` is the page benchmark instead (see `pages.rs`, run by
//! `scripts/bench-pages.sh`).

mod pages;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;

const SIZES: &[usize] = &[1_000, 10_000, 100_000];
/// SARIF findings in a ~100 MB report: the size the memory target is set for.
const SARIF_100MB: usize = 310_000;
const LEVELS: [&str; 3] = ["error", "warning", "note"];
const SEVERITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

/// A server started for a benchmark, stopped (TERM) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

fn sarif(n: usize, generation: usize) -> Vec<u8> {
    // `generation` shifts 5% of findings out and 5% new ones in per step
    let shift = n / 20 * generation;
    let results: Vec<Value> = (shift..n + shift)
        .map(|i| {
            json!({"ruleId": format!("bench/rule-{}", i % 97), "level": LEVELS[i % 3],
                "message": {"text": format!("Synthetic finding {i}: user input reaches a sink without validation")},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/module{}/file{i}.rs", i % 50)},
                    "region": {"startLine": (i % 400) + 1, "snippet": {"text": format!("let value{i} = input(); sink(value{i});")}}}}]})
        })
        .collect();
    serde_json::to_vec(&json!({"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "BenchSAST", "version": "1.0.0"}}, "results": results}]}))
    .unwrap()
}

fn trivy(n: usize, generation: usize) -> Vec<u8> {
    let shift = n / 20 * generation;
    let vulns: Vec<Value> = (shift..n + shift)
        .map(|i| {
            json!({"VulnerabilityID": format!("CVE-2024-{:05}", i % 90_000), "PkgName": format!("pkg-{}", i / 3),
                "InstalledVersion": "1.0.0", "FixedVersion": "1.0.1", "Severity": SEVERITIES[i % 4],
                "Title": format!("pkg-{}: synthetic vulnerability {i}", i / 3), "Description": "A synthetic vulnerability for benchmarking.",
                "PrimaryURL": format!("https://avd.aquasec.com/nvd/cve-2024-{:05}", i % 90_000)})
        })
        .collect();
    serde_json::to_vec(&json!({"SchemaVersion": 2, "ArtifactName": "registry.example.com/bench/app:1.0",
        "ArtifactType": "container_image", "Results": [{"Target": "registry.example.com/bench/app:1.0 (debian 12)",
        "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}]}))
    .unwrap()
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds used so far by process `pid` (user + system), from /proc.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // fields after the parenthesised command name; utime and stime are the 12th and 13th
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds used so far by each `postgres` process on this machine (the database when it
/// runs here, as with scripts/bench.sh), by pid.
fn postgres_cpu() -> std::collections::HashMap<u32, f64> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Default::default();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(|pid| (pid, cpu_secs(pid)))
        .collect()
}

/// CPU seconds the `postgres` processes used since `before` (processes that exited in
/// between are not counted; new ones count whole).
fn postgres_cpu_since(before: &std::collections::HashMap<u32, f64>) -> f64 {
    postgres_cpu()
        .into_iter()
        .map(|(pid, now)| now - before.get(&pid).copied().unwrap_or(0.0))
        .sum()
}

fn reset_peak_rss(pid: u32) {
    // "5" resets the peak resident set size (Linux >= 4.0)
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

async fn push(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    target: &str,
    body: Vec<u8>,
) -> anyhow::Result<(Duration, Value)> {
    let start = Instant::now();
    let response = client
        .post(format!("{url}/api/v1/reports?target={target}"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let json: Value = response.json().await?;
    if !status.is_success() {
        bail!("upload failed: {status} {json}");
    }
    Ok((start.elapsed(), json))
}

/// Times a raw COPY of the very rows Bosun stored for `target` (same columns, evidence
/// included, binary as Bosun sends them) into a table shaped like `findings` with its
/// indexes: the floor to compare with.
async fn raw_copy(database_url: &str, target: &str) -> anyhow::Result<Duration> {
    let columns = server::ingest::copy_rows::COLUMNS;
    let mut conn = sqlx::PgConnection::connect(database_url).await?;
    let mut rows = Vec::new();
    {
        use futures_util::StreamExt;
        let mut out = conn
            .copy_out_raw(&format!(
                "COPY (SELECT {columns} FROM findings WHERE target = '{target}') TO STDOUT WITH (FORMAT binary)"
            ))
            .await?;
        while let Some(chunk) = out.next().await {
            rows.extend_from_slice(&chunk?);
        }
    }
    sqlx::query!("DROP TABLE IF EXISTS bench_copy")
        .execute(&mut conn)
        .await?;
    sqlx::query!(
        "CREATE TABLE bench_copy (LIKE findings INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)",
    )
    .execute(&mut conn)
    .await?;
    let start = Instant::now();
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY bench_copy ({columns}) FROM STDIN WITH (FORMAT binary)"
        ))
        .await?;
    copy.send(rows).await?;
    copy.finish().await?;
    let elapsed = start.elapsed();
    sqlx::query!("DROP TABLE bench_copy")
        .execute(&mut conn)
        .await?;
    Ok(elapsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("pages") {
        return pages::run().await;
    }
    let base_url =
        std::env::var("DATABASE_URL").context("DATABASE_URL (scripts/bench.sh provides one)")?;
    let db = format!("bosun_bench_{}", std::process::id());
    server::db::ensure_database(&base_url, &db).await?;
    let database_url = PgConnectOptions::from_str(&base_url)?
        .database(&db)
        .to_url_lossy()
        .to_string();
    let pool = server::db::connect(&database_url).await?;
    server::db::migrate(&pool).await?;

    let exe = std::env::current_exe()?.with_file_name("bosun");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let child = Command::new(&exe)
        .arg("serve")
        .env("DATABASE_URL", &database_url)
        .env("BOSUN_ADDR", format!("127.0.0.1:{port}"))
        // BOSUN_BENCH_LOG=server::ingest=debug shows each ingest's phase timings
        .env(
            "BOSUN_LOG",
            std::env::var("BOSUN_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(if std::env::var_os("BOSUN_BENCH_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let pid = child.id();
    let server = Server(child);
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    println!(
        "{:<7} {:>8} {:>9} {:>12} {:>12} {:>14} {:>11} {:>10} {:>12}",
        "format",
        "findings",
        "report",
        "first",
        "unchanged",
        "10% changed",
        "peak RSS",
        "raw COPY",
        "new target"
    );
    let formats = std::env::var("BOSUN_BENCH_FORMATS").ok();
    for (name, generate) in [
        ("sarif", sarif as fn(usize, usize) -> Vec<u8>),
        ("trivy", trivy),
    ]
    .into_iter()
    .filter(|(name, _)| {
        formats
            .as_ref()
            .is_none_or(|f| f.split(',').any(|f| f.trim() == *name))
    }) {
        let sizes = SIZES
            .iter()
            .copied()
            .chain((name == "sarif").then_some(SARIF_100MB));
        let only: Option<Vec<usize>> = std::env::var("BOSUN_BENCH_SIZES")
            .ok()
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect());
        for n in sizes.filter(|n| only.as_ref().is_none_or(|o| o.contains(n))) {
            let target = format!("{name}-{n}");
            // a project of its own: "first import" is a new project's first report
            let slug = server::projects::Slug::parse(&format!("bench-{target}"))?;
            let project = server::projects::create(&pool, &slug, "Benchmark").await?;
            let token = server::tokens::create(&pool, project.id, "bench").await?;
            let first_body = generate(n, 0);
            let report_mb = first_body.len() as f64 / 1e6;
            reset_peak_rss(pid);
            let cpu_before = (cpu_secs(pid), postgres_cpu());
            let (first, json) = push(&client, &url, &token, &target, first_body.clone()).await?;
            let first_cpu = (
                cpu_secs(pid) - cpu_before.0,
                postgres_cpu_since(&cpu_before.1),
            );
            let total = json["total"].as_i64().unwrap_or(0);
            let (again, json2) = push(&client, &url, &token, &target, first_body).await?;
            assert_eq!(
                json2["new"].as_i64(),
                Some(0),
                "an unchanged re-import creates nothing"
            );
            let (changed, json3) = push(&client, &url, &token, &target, generate(n, 1)).await?;
            let rss = peak_rss_mb(pid);
            let copy = raw_copy(&database_url, &target).await?;
            // a new target in a project that has findings: every fingerprint is looked up
            // (generation 21 shares none with the first three reports)
            let (new_target, json4) = push(
                &client,
                &url,
                &token,
                &format!("{target}-new"),
                generate(n, 21),
            )
            .await?;
            assert_eq!(json4["new"].as_i64(), Some(total), "all new: {json4}");
            println!(
                "{name:<7} {total:>8} {:>7.1}MB {:>10.0}ms {:>10.0}ms {:>12.0}ms {:>9.0}MB {:>8.0}ms {:>10.0}ms   (first import CPU: server {:.2}s, postgres {:.2}s; changed: {} new, {} fixed {})",
                report_mb,
                first.as_secs_f64() * 1e3,
                again.as_secs_f64() * 1e3,
                changed.as_secs_f64() * 1e3,
                rss,
                copy.as_secs_f64() * 1e3,
                new_target.as_secs_f64() * 1e3,
                first_cpu.0,
                first_cpu.1,
                json3["new"],
                json3["fixed"],
                json3["auto_close_skipped"].as_str().unwrap_or(""),
            );
        }
    }
    drop(server);
    pool.close().await;
    if std::env::var_os("BOSUN_BENCH_KEEP").is_some() {
        println!("kept database {db} (BOSUN_BENCH_KEEP)");
        return Ok(());
    }
    let mut admin = sqlx::PgConnection::connect(&base_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}
