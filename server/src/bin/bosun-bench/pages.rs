//! `bosun-bench pages`: the page benchmark (run it with `scripts/bench-pages.sh`).
//!
//! Creates (or reuses) the database `bosun_bench` on `DATABASE_URL`'s server, seeds it
//! with `bosun seed` (`BOSUN_BENCH_FINDINGS`, default 1,000,000, with 2,000 projects, 50
//! teams and 500 people; scaled down with the findings), starts the release `bosun` on
//! loopback, signs in as the seed's admin and as its developer on one team, and prints for
//! every page the status and the p50 / p95 of the time to the whole answer over
//! `BOSUN_BENCH_REQUESTS` (default 200) sequential keep-alive requests after a warm-up.
//! Then the explorer's throughput with `wrk` at 64 connections (`BOSUN_BENCH_WRK_SECONDS`,
//! default 15). A page that does not exist answers 404 and says so in the status column.
//! `BOSUN_BENCH_RESEED=1` seeds again even when the database already holds that size.

use std::process::{Command, Stdio};

// the server under test, stopped when dropped (shared with the ingest benchmark)
use super::Server;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

const DB: &str = "bosun_bench";
const PASSWORD: &str = "bosun-seed-pass";
const ADMIN: &str = "seed-admin@bosun.local";
const DEVELOPER: &str = "seed-dev@bosun.local";

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

pub async fn run() -> anyhow::Result<()> {
    let base_url =
        std::env::var("DATABASE_URL").context("DATABASE_URL (scripts/bench-pages.sh gives one)")?;
    let findings: u64 = env_or("BOSUN_BENCH_FINDINGS", 1_000_000);
    let requests: usize = env_or("BOSUN_BENCH_REQUESTS", 200);
    let wrk_seconds: u64 = env_or("BOSUN_BENCH_WRK_SECONDS", 15);
    // a slow page stops early (after at least 20 requests) rather than taking minutes
    let budget = Duration::from_secs(env_or("BOSUN_BENCH_PAGE_SECONDS", 10));
    // the issue's estate at 1M; smaller runs keep its proportions, within reason
    let scale = (findings as f64 / 1_000_000.0).min(1.0);
    let projects = ((2_000.0 * scale) as usize).max(20);
    let teams = ((50.0 * scale.sqrt()) as usize).clamp(4, 50);
    let users = ((500.0 * scale) as usize).max(3 + 2 * teams + 10);

    server::db::ensure_database(&base_url, DB).await?;
    let database_url = PgConnectOptions::from_str(&base_url)?
        .database(DB)
        .to_url_lossy()
        .to_string();
    let mut conn = sqlx::PgConnection::connect(&database_url).await?;
    let bin = std::env::current_exe()?.with_file_name("bosun");
    let migrate = Command::new(&bin)
        .arg("migrate")
        .env("DATABASE_URL", &database_url)
        .env("BOSUN_LOG", "warn")
        .stdout(Stdio::null())
        .status()?;
    if !migrate.success() {
        bail!("bosun migrate failed");
    }
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM findings")
        .fetch_one(&mut conn)
        .await?;
    let reseed = std::env::var_os("BOSUN_BENCH_RESEED").is_some();
    if have as u64 != findings || reseed {
        if have > 0 {
            println!("dropping the old {DB} ({have} findings) to seed {findings}");
            conn.close().await?;
            drop_and_create(&base_url).await?;
            conn = sqlx::PgConnection::connect(&database_url).await?;
        }
        let started = Instant::now();
        let status = Command::new(&bin)
            .args(["seed", "--findings", &findings.to_string()])
            .args(["--projects", &projects.to_string()])
            .args(["--teams", &teams.to_string()])
            .args(["--users", &users.to_string()])
            .args(["--months", "12"])
            .env("DATABASE_URL", &database_url)
            .env("BOSUN_LOG", "warn")
            .status()
            .context("running bosun seed")?;
        if !status.success() {
            bail!("bosun seed failed");
        }
        println!(
            "seeded {findings} findings in {:.1} s (wall time, migrations included)\n",
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("reusing {DB}: it holds {have} findings (BOSUN_BENCH_RESEED=1 to seed again)\n");
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let child = Command::new(&bin)
        .arg("serve")
        .env("DATABASE_URL", &database_url)
        .env("BOSUN_ADDR", format!("127.0.0.1:{port}"))
        .env("BOSUN_LOG", "warn")
        .stdout(Stdio::null())
        // the server's own log (requests cut off when it stops) would interleave the table
        .stderr(Stdio::from(std::fs::File::create(
            std::env::temp_dir().join("bosun-bench-pages-server.log"),
        )?))
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let _server = Server(child);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(4)
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{url}/healthz")).send().await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let dev_team: String = sqlx::query_scalar(
        "SELECT t.slug FROM team_members m JOIN teams t ON t.id = m.team_id
           JOIN users u ON u.id = m.user_id WHERE u.email = $1 LIMIT 1",
    )
    .bind(DEVELOPER)
    .fetch_one(&mut conn)
    .await
    .context("the seed's developer and team")?;
    let dev_teams: i64 = sqlx::query_scalar("SELECT count(*) FROM teams")
        .fetch_one(&mut conn)
        .await?;
    println!(
        "{} findings, {} projects, {dev_teams} teams; developer {DEVELOPER} on team {dev_team} \
         ({} findings in its projects)",
        count(&mut conn, "SELECT count(*) FROM findings").await?,
        count(&mut conn, "SELECT count(*) FROM projects").await?,
        count(
            &mut conn,
            &format!(
                "SELECT count(*) FROM findings f JOIN projects p ON p.id = f.project_id
                   JOIN teams t ON t.id = p.team_id WHERE t.slug = '{dev_team}'"
            )
        )
        .await?,
    );
    println!(
        "{requests} sequential keep-alive requests per page after {} warm-up ones; time to the \
         whole answer on loopback\n",
        requests / 10
    );
    println!(
        "{:<34} {:<9} {:>6} {:>8} {:>8} {:>8} {:>5}",
        "page", "as", "status", "p50 ms", "p95 ms", "KB", "n"
    );
    let mut over = Vec::new();
    let mut cookies = Vec::new();
    for (who, email) in [("admin", ADMIN), ("developer", DEVELOPER)] {
        let cookie = sign_in(&client, &url, email).await?;
        let pages = pages_for(&mut conn, who, &dev_team).await?;
        for (name, path) in pages {
            let path = if name == "explorer deep page (20)" {
                match deep_page(&client, &url, &cookie, 20).await? {
                    Some(p) => p,
                    None => {
                        println!(
                            "{name:<34} {who:<9} {:>6}",
                            "no cursor link on the explorer"
                        );
                        continue;
                    }
                }
            } else {
                path
            };
            let m = measure(&client, &url, &cookie, &path, requests, budget).await?;
            println!(
                "{name:<34} {who:<9} {:>6} {:>8.1} {:>8.1} {:>8.0} {:>5}",
                m.status, m.p50, m.p95, m.kb, m.n
            );
            if m.status == 200 && m.p95 >= 50.0 {
                over.push(format!("{name} as {who}: p95 {:.0} ms", m.p95));
            }
        }
        cookies.push((who, cookie));
    }
    println!();
    if over.is_empty() {
        println!("every page that answered 200 had p95 < 50 ms");
    } else {
        println!("p95 at or over the 50 ms target: {}", over.join("; "));
    }
    println!();
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("wrk is not installed: no throughput figures (apt-get install wrk)");
        return Ok(());
    }
    for (who, cookie) in &cookies {
        let out = Command::new("wrk")
            .args(["-t2", "-c64", &format!("-d{wrk_seconds}s"), "--latency"])
            .args(["-H", &format!("Cookie: {cookie}")])
            .arg(format!("{url}/findings"))
            .output()
            .context("running wrk")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = |key: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(key))
                .map(|l| l.trim().to_string())
                .unwrap_or_default()
        };
        println!(
            "wrk /findings as {who:<9} 64 connections, {wrk_seconds} s: {} | {} | {}",
            line("Requests/sec:"),
            line("99%"),
            [line("Non-2xx"), line("Socket errors")]
                .into_iter()
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(())
}

async fn drop_and_create(base_url: &str) -> anyhow::Result<()> {
    let admin = PgConnectOptions::from_str(base_url)?.database("postgres");
    let mut conn = sqlx::PgConnection::connect_with(&admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {DB}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let url = PgConnectOptions::from_str(base_url)?
        .database(DB)
        .to_url_lossy()
        .to_string();
    let status = Command::new(std::env::current_exe()?.with_file_name("bosun"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("BOSUN_LOG", "warn")
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("bosun migrate failed");
    }
    Ok(())
}

async fn count(conn: &mut sqlx::PgConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(&mut *conn).await?)
}

/// Signs in through the login form; the session cookie (`name=value`).
async fn sign_in(client: &reqwest::Client, url: &str, email: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{url}/api/login"))
        .header("Origin", url)
        .form(&[("email", email), ("password", PASSWORD), ("next", "/")])
        .send()
        .await?;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|c| c.contains('=') && !c.ends_with('='))
        .map(str::to_string);
    match cookie {
        Some(c) => Ok(c),
        None => bail!(
            "signing in as {email}: {} and no session cookie",
            response.status()
        ),
    }
}

/// Every page to measure for `who`: (name, path).
async fn pages_for(
    conn: &mut sqlx::PgConnection,
    who: &str,
    dev_team: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    // what the pages are about: the biggest project (the developer's: the biggest of its
    // team's), a finding in it, a scanner and a rule that occur there
    let team_filter = if who == "developer" {
        format!("AND p.team_id = (SELECT id FROM teams WHERE slug = '{dev_team}')")
    } else {
        String::new()
    };
    let (project, project_id): (String, i64) = sqlx::query_as(&format!(
        "SELECT p.slug, p.id FROM projects p
          WHERE true {team_filter}
          ORDER BY (SELECT count(*) FROM findings f WHERE f.project_id = p.id) DESC LIMIT 1"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let (finding, scanner, rule): (i64, String, String) = sqlx::query_as(
        "SELECT id, scanner, rule_id FROM findings
          WHERE project_id = $1
          ORDER BY (layer = 'dependency') DESC, id DESC LIMIT 1",
    )
    .bind(project_id)
    .fetch_one(&mut *conn)
    .await?;
    let since = (chrono::Utc::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let enc = |s: &str| s.replace(' ', "+");
    let pages: Vec<(String, String)> = vec![
        ("overview /".into(), "/".into()),
        ("explorer /findings".into(), "/findings".into()),
        (
            "filter severity=critical".into(),
            "/findings?severity=critical".into(),
        ),
        (
            "filter state=active".into(),
            "/findings?state=active".into(),
        ),
        ("filter layer=image".into(), "/findings?layer=image".into()),
        (
            "filter project".into(),
            format!("/findings?project={project}"),
        ),
        ("filter team".into(), format!("/findings?team={dev_team}")),
        ("filter assignee=me".into(), "/findings?assignee=me".into()),
        (
            "filter scanner".into(),
            format!("/findings?scanner={}", enc(&scanner)),
        ),
        (
            "filter rule".into(),
            format!("/findings?rule={}", enc(&rule)),
        ),
        ("filter q".into(), "/findings?q=openssl".into()),
        (
            "filter sla=breached".into(),
            "/findings?sla=breached".into(),
        ),
        ("filter since".into(), format!("/findings?since={since}")),
        ("sort newest".into(), "/findings?sort=newest".into()),
        ("sort severity".into(), "/findings?sort=severity".into()),
        ("sort due".into(), "/findings?sort=due".into()),
        ("sort last_seen".into(), "/findings?sort=last_seen".into()),
        ("explorer deep page (20)".into(), String::new()),
        (
            "search critical CVE".into(),
            "/findings?q=log4j&severity=critical".into(),
        ),
        (
            "finding /findings/<id>".into(),
            format!("/findings/{finding}"),
        ),
        (
            "project /projects/<slug>".into(),
            format!("/projects/{project}"),
        ),
        ("projects /projects".into(), "/projects".into()),
        ("my work /my-work".into(), "/my-work".into()),
    ];
    Ok(pages)
}

/// The path of the explorer's `n`th page, following its `after` cursor links.
async fn deep_page(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    n: usize,
) -> anyhow::Result<Option<String>> {
    let mut path = "/findings".to_string();
    for _ in 1..n {
        let body = client
            .get(format!("{url}{path}"))
            .header("Cookie", cookie)
            .send()
            .await?
            .text()
            .await?;
        let Some(next) = after_link(&body) else {
            return Ok(None);
        };
        path = next;
    }
    Ok(Some(path))
}

/// The first link in `html` whose address carries an `after=` cursor.
fn after_link(html: &str) -> Option<String> {
    let at = html.find("after=")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}

struct Measured {
    status: u16,
    /// Requests measured (fewer than asked when the page ran out of time).
    n: usize,
    p50: f64,
    p95: f64,
    kb: f64,
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    path: &str,
    requests: usize,
    budget: Duration,
) -> anyhow::Result<Measured> {
    let mut warm = (requests / 10).max(1);
    let page_started = Instant::now();
    let mut times = Vec::with_capacity(requests);
    let (mut status, mut bytes) = (0, 0);
    let mut i = 0;
    while times.len() < requests {
        let started = Instant::now();
        let response = client
            .get(format!("{url}{path}"))
            .header("Cookie", cookie)
            .send()
            .await?;
        status = response.status().as_u16();
        let body = response.bytes().await?;
        let elapsed = started.elapsed();
        bytes = body.len();
        if i == 0 && elapsed > Duration::from_millis(100) {
            // a slow page needs no long warm-up to show it is slow
            warm = warm.min(3);
        }
        if i >= warm {
            times.push(elapsed.as_secs_f64() * 1000.0);
        }
        i += 1;
        // a page that is not there: a few answers say so; a slow one: its budget
        if (status == 404 && times.len() >= 5)
            || (page_started.elapsed() > budget && times.len() >= 20)
        {
            break;
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(Measured {
        status,
        n: times.len(),
        p50: at(0.5),
        p95: at(0.95),
        kb: bytes as f64 / 1024.0,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_after_link_is_found_and_unescaped() {
        let html = r#"<a href="/findings?severity=high&amp;after=abc123">Next</a>"#;
        assert_eq!(
            super::after_link(html).as_deref(),
            Some("/findings?severity=high&after=abc123")
        );
        assert_eq!(super::after_link("<p>none</p>"), None);
    }
}
