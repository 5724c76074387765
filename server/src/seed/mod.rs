//! `bosun seed`: a realistic estate, built through Bosun's own storage path, for trying the
//! dashboard and measuring it at scale.
//!
//! The estate is planned first, as a pure function of the arguments and `--seed` ([`plan`]):
//! teams; people in them with roles; projects owned by teams whose sizes follow a Zipf law
//! (a few projects hold most findings), each scanned on the layers its kind has (a service
//! on all seven, a library on code, dependency and secret, …) by a plausible scanner per
//! layer; and for every finding the scan it first appears in, the scan that no longer
//! reports it (fixed) and the one that reports it again (reopened).
//!
//! It is then written month by month: each scope's scans of the month go through the ingest
//! store ([`crate::ingest::store::ingest_with_format`]) with the findings alive at that
//! scan, so new findings, fixes (missing from a complete scan) and reopenings are the
//! store's own doing, with its audit events and gate verdicts. A scan's first-seen time is
//! the scan's (the report says when it observed its findings); the store stamps the rest
//! with the time of writing, so afterwards batched `UPDATE`s move each scan's
//! `received_at` and each fix's `fixed_at` to the scan's planned time (through every
//! trigger on `findings`). People's work (states, risk acceptances with expiries,
//! assignments, comments) is written last, back-dated, in a few set-based statements
//! ([`people`]). Audit events the store wrote keep the time they were written: the audit
//! trail is append-only, by trigger, and the seed does not get round that.

pub mod catalog;
pub mod format;
mod people;

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Context;
use app::domain::{Layer, Severity};
use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, PgPool};

use self::catalog::{mix, pick, unit};
use self::format::{SEED_FORMAT, SeedScan};
use crate::ingest::{self, ScanMeta};
use crate::tokens::TokenGrant;

/// Every seeded person's password.
pub const SEED_PASSWORD: &str = "bosun-seed-pass";
pub const ADMIN_EMAIL: &str = "seed-admin@bosun.local";
pub const DEVELOPER_EMAIL: &str = "seed-dev@bosun.local";
pub const SECURITY_EMAIL: &str = "seed-security@bosun.local";

#[derive(clap::Args, Debug, Clone)]
pub struct SeedArgs {
    /// Findings in all (open, fixed and the rest).
    #[arg(long, default_value_t = 1_000_000)]
    pub findings: u64,
    #[arg(long, default_value_t = 2_000)]
    pub projects: usize,
    #[arg(long, default_value_t = 50)]
    pub teams: usize,
    #[arg(long, default_value_t = 500)]
    pub users: usize,
    /// How many months of scans, ending now.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// The same seed builds the same estate.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scans written at once (each in its own transaction).
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Print nothing but the summary.
    #[arg(long)]
    pub quiet: bool,
}

impl SeedArgs {
    /// A small estate (the demo's slice, and the tests').
    pub fn small(findings: u64, projects: usize, teams: usize, users: usize) -> SeedArgs {
        SeedArgs {
            findings,
            projects,
            teams,
            users,
            months: 12,
            seed: 1,
            jobs: 2,
            quiet: true,
        }
    }
}

/// What a seed run wrote, and how long it took.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub teams: usize,
    pub users: usize,
    pub projects: usize,
    pub scans: usize,
    pub findings_new: i64,
    pub fixed_by_scans: i64,
    pub reopened_by_scans: i64,
    pub developer_team: String,
    pub seconds: f64,
}

/// One person of the estate.
#[derive(Debug, Clone)]
pub struct PersonPlan {
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub security_all_teams: bool,
    /// (team index, role)
    pub teams: Vec<(usize, &'static str)>,
}

/// One scope: a project's layer, scanned by one scanner.
#[derive(Debug, Clone)]
pub struct ScopePlan {
    pub layer: Layer,
    pub scanner: u8,
    pub findings: u32,
    /// The months (0 = the oldest) this scope was scanned in.
    pub months: Vec<u32>,
    /// When, for each of those scans.
    pub times: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ProjectPlan {
    pub slug: String,
    pub name: String,
    pub team: usize,
    pub created: DateTime<Utc>,
    pub scopes: Vec<ScopePlan>,
}

/// The whole estate, before anything is written.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub teams: Vec<String>,
    pub people: Vec<PersonPlan>,
    pub projects: Vec<ProjectPlan>,
}

/// Project kinds and the layers they are scanned on.
const KINDS: &[(&str, &[Layer])] = &[
    (
        "service",
        &[
            Layer::Code,
            Layer::Dependency,
            Layer::Image,
            Layer::ClusterConfig,
            Layer::Secret,
            Layer::Dast,
            Layer::Runtime,
        ],
    ),
    (
        "service",
        &[
            Layer::Code,
            Layer::Dependency,
            Layer::Image,
            Layer::ClusterConfig,
            Layer::Secret,
        ],
    ),
    (
        "frontend",
        &[
            Layer::Code,
            Layer::Dependency,
            Layer::Image,
            Layer::Secret,
            Layer::Dast,
        ],
    ),
    ("library", &[Layer::Code, Layer::Dependency, Layer::Secret]),
    (
        "infrastructure",
        &[
            Layer::ClusterConfig,
            Layer::Image,
            Layer::Secret,
            Layer::Runtime,
        ],
    ),
];

const DAY_MS: i64 = 86_400_000;

/// Plans the estate: a pure function of the arguments and `now`.
pub fn plan(args: &SeedArgs, now: DateTime<Utc>) -> Plan {
    let seed = args.seed;
    let teams: Vec<String> = (0..args.teams.max(1)).map(catalog::team_slug).collect();
    let people = plan_people(args, &teams);
    let months = args.months.max(1);
    // Zipf: the project of rank r holds a share 1/(r+1)^1.1 of the findings (at 2,000
    // projects the top 10% hold about three quarters)
    let weights: Vec<f64> = (0..args.projects)
        .map(|r| (r as f64 + 1.0).powf(-1.1))
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let mut sizes: Vec<u64> = weights
        .iter()
        .map(|w| (args.findings as f64 * w / total_weight).floor() as u64)
        .collect();
    let mut left = args.findings - sizes.iter().sum::<u64>().min(args.findings);
    // what rounding left over goes one each to the smallest projects, then round again
    let mut i = sizes.len();
    while left > 0 && !sizes.is_empty() {
        i = if i == 0 { sizes.len() - 1 } else { i - 1 };
        sizes[i] += 1;
        left -= 1;
    }
    let mut slugs = HashSet::new();
    let projects = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let h = mix(&[seed, i as u64, 100]);
            let team = pick(h, teams.len());
            let part = catalog::PROJECT_PARTS[pick(h >> 8, catalog::PROJECT_PARTS.len())];
            let mut slug = format!("{}-{part}", teams[team]);
            let mut n = 2;
            while !slugs.insert(slug.clone()) {
                slug = format!("{}-{part}-{n}", teams[team]);
                n += 1;
            }
            // most projects are a year old or more; some started during the year
            let start = if unit(h >> 3) < 0.8 {
                0
            } else {
                1 + pick(h >> 20, (months / 2).max(1) as usize) as u32
            }
            .min(months - 1);
            let created = now - Duration::days(30 * i64::from(months - start) + 3);
            let name = title_case(&slug);
            let scopes = plan_scopes(seed, i as u64, size, start, months, now);
            ProjectPlan {
                slug,
                name,
                team,
                created,
                scopes,
            }
        })
        .collect();
    Plan {
        seed,
        teams,
        people,
        projects,
    }
}

fn title_case(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn plan_people(args: &SeedArgs, teams: &[String]) -> Vec<PersonPlan> {
    let n_teams = teams.len();
    let mut people = vec![
        PersonPlan {
            email: ADMIN_EMAIL.into(),
            name: "Seed Admin".into(),
            is_admin: true,
            security_all_teams: false,
            teams: vec![],
        },
        PersonPlan {
            email: DEVELOPER_EMAIL.into(),
            name: "Seed Developer".into(),
            is_admin: false,
            security_all_teams: false,
            teams: vec![(0, "developer")],
        },
        PersonPlan {
            email: SECURITY_EMAIL.into(),
            name: "Seed Security".into(),
            is_admin: false,
            security_all_teams: true,
            teams: vec![],
        },
    ];
    let named = people.len();
    for i in named..args.users.max(named) {
        let k = i - named;
        let h = mix(&[args.seed, i as u64, 200]);
        let first = catalog::FIRST_NAMES[k % catalog::FIRST_NAMES.len()];
        let last =
            catalog::LAST_NAMES[(k / catalog::FIRST_NAMES.len() + k) % catalog::LAST_NAMES.len()];
        let round = k / (catalog::FIRST_NAMES.len() * catalog::LAST_NAMES.len());
        let email = if round == 0 {
            format!("{first}.{last}@acme.example")
        } else {
            format!("{first}.{last}{round}@acme.example")
        };
        // every team gets a developer and a security engineer first, then roles by chance
        let (team, role) = if k < n_teams {
            (k, "developer")
        } else if k < 2 * n_teams {
            (k - n_teams, "security")
        } else {
            let roll = pick(h, 100);
            let role = match roll {
                0..55 => "developer",
                55..70 => "ops",
                70..80 => "security",
                _ => "viewer",
            };
            (pick(h >> 8, n_teams), role)
        };
        let mut memberships = vec![(team, role)];
        if n_teams > 1 && pick(h >> 16, 100) < 8 {
            let other = (team + 1 + pick(h >> 24, n_teams - 1)) % n_teams;
            memberships.push((other, "viewer"));
        }
        people.push(PersonPlan {
            email,
            name: format!("{} {}", title_case(first), title_case(last)),
            is_admin: pick(h >> 32, 100) < 2,
            security_all_teams: false,
            teams: memberships,
        });
    }
    people
}

fn plan_scopes(
    seed: u64,
    project: u64,
    size: u64,
    start: u32,
    months: u32,
    now: DateTime<Utc>,
) -> Vec<ScopePlan> {
    if size == 0 {
        return Vec::new();
    }
    let h = mix(&[seed, project, 300]);
    let (_, kind_layers) = KINDS[pick(h, KINDS.len())];
    // some projects leave a layer unscanned: the coverage map's gaps
    let mut layers: Vec<Layer> = kind_layers
        .iter()
        .copied()
        .filter(|l| pick(mix(&[h, *l as u64]), 100) >= 10)
        .collect();
    if layers.is_empty() {
        layers.push(kind_layers[0]);
    }
    // the biggest layers first, so that a tiny project still gets its main ones
    layers.sort_by_key(|l| std::cmp::Reverse(catalog::layer_weight(*l)));
    layers.truncate(size as usize);
    let weight: u64 = layers
        .iter()
        .map(|l| u64::from(catalog::layer_weight(*l)))
        .sum();
    let mut counts: Vec<u64> = layers
        .iter()
        .map(|l| size * u64::from(catalog::layer_weight(*l)) / weight)
        .collect();
    let mut left = size - counts.iter().sum::<u64>();
    for c in counts.iter_mut() {
        if left == 0 {
            break;
        }
        if *c == 0 {
            *c = 1;
            left -= 1;
        }
    }
    counts[0] += left;
    layers
        .iter()
        .zip(counts)
        .map(|(&layer, count)| {
            let hs = mix(&[h, layer as u64, 301]);
            let scanner = pick(hs, catalog::scanners(layer).len()) as u8;
            // big scopes are scanned monthly here (their CI runs daily), middling ones each
            // quarter, small ones when they start, once mid-way and lately: a scan is a
            // transaction of a dozen statements, and 2,000 projects have ~9,000 scopes
            let mut scan_months: Vec<u32> = if count >= 1_000 {
                (start..months).collect()
            } else if count >= 200 {
                (start..months).step_by(3).collect()
            } else {
                let mid = start + 1 + pick(hs >> 40, (months - start).max(2) as usize - 1) as u32;
                vec![start, mid.min(months - 1)]
            };
            scan_months.dedup();
            if scan_months.last() != Some(&(months - 1)) {
                scan_months.push(months - 1);
            }
            // a few scopes stopped being scanned months ago: stale layers
            let stale = pick(hs >> 8, 100) < 7 && months > 4;
            if stale {
                let end = months - 2 - pick(hs >> 16, 3) as u32;
                scan_months.retain(|m| *m <= end.max(start));
            }
            let phase = pick(hs >> 24, 20 * DAY_MS as usize) as i64;
            let times = scan_months
                .iter()
                .map(|&m| {
                    if m == months - 1 {
                        // the latest scan: within the last five days
                        now - Duration::milliseconds(
                            3_600_000 + pick(hs >> 32, 5 * DAY_MS as usize) as i64,
                        )
                    } else {
                        now - Duration::days(30 * i64::from(months - 1 - m))
                            - Duration::milliseconds(phase)
                    }
                })
                .collect();
            ScopePlan {
                layer,
                scanner,
                findings: count as u32,
                months: scan_months,
                times,
            }
        })
        .collect()
}

/// A finding's life across its scope's scans: reported from `born`, missing from `fixed`
/// (when the scope has a scan then), reported again from `reopened`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Life {
    pub born: usize,
    pub fixed: Option<usize>,
    pub reopened: Option<usize>,
}

impl Life {
    pub fn of(seed: u64, project: u64, layer: Layer, index: u64, scans: usize) -> Life {
        let h = mix(&[seed, project, layer as u64, index, 10]);
        let born = if unit(h) < 0.4 || scans <= 1 {
            0
        } else {
            pick(h >> 4, scans)
        };
        let severity = catalog::severity(seed, project, layer, index);
        let (p_fix, delay) = match severity {
            Severity::Critical => (0.85, 1),
            Severity::High => (0.7, 2),
            Severity::Medium => (0.5, 4),
            Severity::Low => (0.35, 6),
            Severity::Info => (0.25, 6),
        };
        let h2 = mix(&[h, 11]);
        // runtime alerts are a stream: scans never close them
        let fixed = (layer != Layer::Runtime && unit(h2) < p_fix)
            .then(|| born + 1 + pick(h2 >> 8, delay))
            .filter(|&j| j < scans);
        let h3 = mix(&[h, 12]);
        let reopened = fixed
            .filter(|_| unit(h3) < 0.07)
            .map(|f| f + 1 + pick(h3 >> 8, 3))
            .filter(|&j| j < scans);
        Life {
            born,
            fixed,
            reopened,
        }
    }

    pub fn reported_by(&self, scan: usize) -> bool {
        scan >= self.born
            && !matches!((self.fixed, self.reopened), (Some(f), r) if scan >= f && r.is_none_or(|r| scan < r))
    }
}

/// Builds the estate into an empty database (one that has none of the seed's teams).
pub async fn run(pool: &PgPool, args: &SeedArgs) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let say = |text: String| {
        if !args.quiet {
            println!("[{:>6.1}s] {text}", started.elapsed().as_secs_f64());
        }
    };
    let now: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(pool).await?;
    let plan = plan(args, now);
    let planned: u64 = plan
        .projects
        .iter()
        .flat_map(|p| &p.scopes)
        .map(|s| u64::from(s.findings))
        .sum();
    let scans: usize = plan
        .projects
        .iter()
        .flat_map(|p| &p.scopes)
        .map(|s| s.months.len())
        .sum();
    say(format!(
        "planned {} teams, {} people, {} projects, {planned} findings in {scans} scans over {} months (seed {})",
        plan.teams.len(),
        plan.people.len(),
        plan.projects.len(),
        args.months,
        args.seed
    ));
    // the seed's own connections: many small transactions, which need not wait for the
    // disk one by one (a crash mid-seed loses a seed, which is simply run again)
    // (a large scope's statements take seconds on purpose: no slow-statement warnings)
    let options = (*pool.connect_options())
        .clone()
        .options([("synchronous_commit", "off")])
        .disable_statement_logging();
    let seed_pool = PgPoolOptions::new()
        .max_connections(args.jobs.max(1) as u32 + 1)
        .connect_with(options)
        .await
        .context("connecting for the seed")?;
    let result = write(&seed_pool, &plan, args, &say).await;
    seed_pool.close().await;
    let mut summary = result?;
    summary.seconds = started.elapsed().as_secs_f64();
    say(format!("done in {:.1} s", summary.seconds));
    Ok(summary)
}

async fn write(
    pool: &PgPool,
    plan: &Plan,
    args: &SeedArgs,
    say: &impl Fn(String),
) -> anyhow::Result<Summary> {
    let ids = people::create_estate(pool, plan).await?;
    say(format!(
        "created {} teams, {} people and {} projects",
        ids.teams.len(),
        ids.users.len(),
        ids.projects.len()
    ));
    let mut summary = Summary {
        teams: ids.teams.len(),
        users: ids.users.len(),
        projects: ids.projects.len(),
        developer_team: plan.teams[0].clone(),
        ..Summary::default()
    };
    // every scan, grouped by month so that ids follow time across the estate
    let months = args.months.max(1);
    let mut by_month: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); months as usize];
    for (p, project) in plan.projects.iter().enumerate() {
        for (s, scope) in project.scopes.iter().enumerate() {
            for (j, &m) in scope.months.iter().enumerate() {
                by_month[m as usize].push((p, s, j));
            }
        }
    }
    let mut scan_times: Vec<(i64, DateTime<Utc>)> = Vec::with_capacity(summary.scans);
    for (month, jobs) in by_month.into_iter().enumerate() {
        // one task per project (its scopes' scans in turn), the largest first
        let mut per_project: Vec<(usize, Vec<(usize, usize)>)> = Vec::new();
        for (p, s, j) in jobs {
            match per_project.last_mut() {
                Some((q, list)) if *q == p => list.push((s, j)),
                _ => per_project.push((p, vec![(s, j)])),
            }
        }
        let results: Vec<anyhow::Result<Vec<ScanDone>>> = futures_util::stream::iter(per_project)
            .map(|(p, list)| {
                let project_id = ids.projects[p];
                async move {
                    let mut out = Vec::with_capacity(list.len());
                    for (s, j) in list {
                        out.push(scan(pool, plan, p, project_id, s, j).await?);
                    }
                    Ok(out)
                }
            })
            .buffer_unordered(args.jobs.max(1))
            .collect()
            .await;
        let (mut new, mut fixed, mut reopened, mut n) = (0, 0, 0, 0);
        for r in results {
            for done in r? {
                scan_times.push((done.scan_id, done.at));
                new += done.new;
                fixed += done.fixed;
                reopened += done.reopened;
                n += 1;
            }
        }
        summary.scans += n;
        summary.findings_new += new;
        summary.fixed_by_scans += fixed;
        summary.reopened_by_scans += reopened;
        say(format!(
            "month {:>2}/{months}: {n} scans, {new} new, {fixed} fixed, {reopened} reopened ({} findings so far)",
            month + 1,
            summary.findings_new
        ));
    }
    people::back_date_scans(pool, &scan_times).await?;
    say("back-dated scans and fixes".into());
    people::work(pool, plan, &ids, args.seed).await?;
    say("people's work written (states, risk acceptances, assignments, comments)".into());
    // what autovacuum does to a table that has settled: statistics for the planner and the
    // visibility map that lets index-only scans skip the table (a freshly written estate
    // would otherwise be measured in a state no running one stays in)
    for table in [
        "findings",
        "scans",
        "audit_events",
        "finding_counts",
        "team_counts",
    ] {
        sqlx::query(&format!("VACUUM (ANALYZE) {table}"))
            .execute(pool)
            .await?;
    }
    Ok(summary)
}

/// One scan written: its id and planned time, and what it changed.
struct ScanDone {
    scan_id: i64,
    at: DateTime<Utc>,
    new: i64,
    fixed: i64,
    reopened: i64,
}

/// Writes one scan of a scope through the ingest store.
async fn scan(
    pool: &PgPool,
    plan: &Plan,
    p: usize,
    project_id: i64,
    s: usize,
    j: usize,
) -> anyhow::Result<ScanDone> {
    let project = &plan.projects[p];
    let scope = &project.scopes[s];
    let scans = scope.months.len();
    let findings: Vec<u32> = (0..scope.findings)
        .filter(|&i| Life::of(plan.seed, p as u64, scope.layer, u64::from(i), scans).reported_by(j))
        .collect();
    let team = &plan.teams[project.team];
    let at = scope.times[j];
    let body = SeedScan {
        seed: plan.seed,
        project_index: p as u64,
        project: project.slug.clone(),
        team: team.clone(),
        layer: scope.layer,
        scanner: scope.scanner,
        at,
        findings,
    };
    let commit = format!(
        "{:016x}{:016x}{:08x}",
        mix(&[plan.seed, p as u64, s as u64, j as u64]),
        mix(&[plan.seed, p as u64, s as u64, j as u64, 1]),
        j
    );
    let environment = matches!(
        scope.layer,
        Layer::ClusterConfig | Layer::Runtime | Layer::Dast
    )
    .then(|| "production".to_string());
    let meta = ScanMeta {
        target: catalog::target(scope.layer, &project.slug, team),
        branch: Some("main".into()),
        commit_sha: Some(commit),
        environment,
        ..ScanMeta::default()
    };
    let grant = TokenGrant::for_project(project_id, project.slug.clone());
    let outcome = ingest::store::ingest_with_format(
        pool,
        &grant,
        &meta,
        ingest::Guardrails::default(),
        &SEED_FORMAT,
        body.encode().into(),
    )
    .await
    .with_context(|| format!("seeding a {} scan of {}", body.scanner_id(), project.slug))?;
    Ok(ScanDone {
        scan_id: outcome.scan_id,
        at,
        new: outcome.new,
        fixed: outcome.fixed,
        reopened: outcome.reopened,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SeedArgs {
        SeedArgs::small(20_000, 200, 10, 60)
    }

    #[test]
    fn the_plan_has_the_requested_counts_and_is_skewed() {
        let now = Utc::now();
        let plan = plan(&args(), now);
        assert_eq!(plan.teams.len(), 10);
        assert_eq!(plan.people.len(), 60);
        assert_eq!(plan.projects.len(), 200);
        let mut sizes: Vec<u64> = plan
            .projects
            .iter()
            .map(|p| p.scopes.iter().map(|s| u64::from(s.findings)).sum())
            .collect();
        assert_eq!(sizes.iter().sum::<u64>(), 20_000);
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let top: u64 = sizes[..20].iter().sum();
        assert!(top > 10_000, "top 10% hold {top}");
        for project in &plan.projects {
            for scope in &project.scopes {
                assert_eq!(scope.months.len(), scope.times.len());
                assert!(scope.times.windows(2).all(|w| w[0] < w[1]), "{scope:?}");
                assert!(scope.times.iter().all(|t| *t < now));
            }
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_estate() {
        let now = Utc::now();
        let (a, b) = (plan(&args(), now), plan(&args(), now));
        let slugs = |p: &Plan| {
            p.projects
                .iter()
                .map(|p| p.slug.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(slugs(&a), slugs(&b));
        let other = plan(&SeedArgs { seed: 2, ..args() }, now);
        assert_ne!(slugs(&a), slugs(&other));
    }

    #[test]
    fn a_finding_is_reported_from_birth_except_while_fixed() {
        let life = Life {
            born: 1,
            fixed: Some(3),
            reopened: Some(5),
        };
        let seen: Vec<bool> = (0..7).map(|j| life.reported_by(j)).collect();
        assert_eq!(seen, [false, true, true, false, false, true, true]);
        let never_fixed = Life {
            born: 0,
            fixed: None,
            reopened: None,
        };
        assert!((0..5).all(|j| never_fixed.reported_by(j)));
    }
}
