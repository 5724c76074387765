//! The overview against real Postgres: every number it shows equals a direct count of the
//! findings it stands for, for an admin and for a one-team developer, with and without the
//! team filter; and the maintained aggregates (migration 26) stay equal to direct counts
//! through ingest, re-import, triage, severity changes, team moves and deletions.

use app::domain::{Layer, Severity};
use app::overview::Overview;
use app::workflow::Role;
use bosun_tests::{TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A Bosun-format report of `(rule, severity, layer)` findings from `scanner`.
pub fn report(scanner: &str, findings: &[(&str, &str, &str)]) -> Vec<u8> {
    let items: Vec<Value> = findings
        .iter()
        .map(|(rule, severity, layer)| {
            json!({"rule_id": rule, "title": format!("{rule} problem"), "severity": severity,
                   "layer": layer, "file": format!("{rule}.txt")})
        })
        .collect();
    serde_json::to_vec(&json!({"bosun_format": 1, "scanner": {"name": scanner}, "findings": items}))
        .unwrap()
}

/// Several findings of every severity over several layers, `n` of each rule prefix.
fn mixed(prefix: &str, n: usize) -> Vec<(String, &'static str, &'static str)> {
    let severities = ["critical", "high", "medium", "low", "info"];
    let layers = ["code", "dependency", "secret", "dast"];
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i}"),
                severities[i % severities.len()],
                layers[(i / 2) % layers.len()],
            )
        })
        .collect()
}

pub async fn push(
    app: &TestApp,
    token: &str,
    target: &str,
    scanner: &str,
    rows: &[(String, &str, &str)],
) {
    let rows: Vec<(&str, &str, &str)> = rows.iter().map(|(r, s, l)| (r.as_str(), *s, *l)).collect();
    app.push_ok(token, &format!("?target={target}"), report(scanner, &rows))
        .await;
}

/// Teams shop (projects web and api) and data (project lake), and a project without a team
/// (orphan); findings in all, some old (breaching), fixed, accepted; a failed gate in web.
/// dev is a developer in shop, boss an admin.
pub async fn estate(app: &TestApp) {
    let web = app.team_project_with_token("shop", "web").await;
    let api = app.team_project_with_token("shop", "api").await;
    let lake = app.team_project_with_token("data", "lake").await;
    let orphan = app.project_with_token("orphan").await;
    push(app, &web, "repo", "semgrep", &mixed("W", 23)).await;
    push(
        app,
        &web,
        "registry/web:1",
        "trivy",
        &[
            ("IMG1".into(), "critical", "image"),
            ("IMG2".into(), "high", "image"),
        ],
    )
    .await;
    push(
        app,
        &api,
        "repo",
        "checkov",
        &[
            ("K1".into(), "high", "cluster_config"),
            ("K2".into(), "medium", "cluster_config"),
        ],
    )
    .await;
    push(app, &api, "https://api.example", "zap", &mixed("Z", 7)).await;
    push(app, &lake, "repo", "gitleaks", &mixed("L", 11)).await;
    push(
        app,
        &orphan,
        "repo",
        "falco",
        &[("F1".into(), "critical", "runtime")],
    )
    .await;

    // history: some found weeks ago (breaching their SLA), some fixed, some accepted
    app.execute(
        "UPDATE findings SET first_seen_at = now() - interval '40 days'
          WHERE rule_id IN ('W0', 'W1', 'W5', 'L0', 'L1', 'Z1', 'F1')",
    )
    .await;
    app.execute(
        "UPDATE findings SET first_seen_at = now() - interval '5 days' WHERE rule_id IN ('W10', 'W11', 'L5')",
    )
    .await;
    // critical due a minute ago: breached this week (counted from the findings, the
    // weeks before from the maintained counts)
    app.execute("UPDATE findings SET first_seen_at = now() - interval '7 days 1 minute' WHERE rule_id IN ('W20')")
        .await;
    // critical due in ~1 day (7-day SLA): due soon
    app.execute("UPDATE findings SET first_seen_at = now() - interval '6 days' WHERE rule_id IN ('W15', 'L10')")
        .await;
    app.execute(
        "UPDATE findings SET state = 'fixed', fixed_at = now() - interval '3 days',
                first_seen_at = now() - interval '12 days'
          WHERE rule_id IN ('W2', 'W3', 'L2', 'Z2')",
    )
    .await;
    app.execute(
        "UPDATE findings SET state = 'fixed', fixed_at = now() - interval '20 days',
                first_seen_at = now() - interval '60 days'
          WHERE rule_id IN ('W4', 'L3')",
    )
    .await;
    app.execute("UPDATE findings SET state = 'false_positive' WHERE rule_id IN ('W6', 'L4')")
        .await;
    app.execute(
        "UPDATE findings SET state = 'risk_accepted', risk_accepted_until = now() + interval '5 days'
          WHERE rule_id IN ('W7', 'L6')",
    )
    .await;
    app.execute(
        "UPDATE findings SET state = 'risk_accepted', risk_accepted_until = now() + interval '60 days'
          WHERE rule_id IN ('W8')",
    )
    .await;
    app.execute("UPDATE findings SET state = 'confirmed' WHERE rule_id IN ('W9', 'L7')")
        .await;
    app.execute("UPDATE findings SET state = 'in_progress' WHERE rule_id IN ('W12')")
        .await;
    app.execute("UPDATE findings SET state = 'reopened' WHERE rule_id IN ('W13', 'L8')")
        .await;
    app.execute(
        "UPDATE scans SET gate_passed = false
          WHERE id = (SELECT min(id) FROM scans WHERE project_id = (SELECT id FROM projects WHERE slug = 'web'))",
    )
    .await;
    app.execute(
        "UPDATE scans SET gate_passed = false
          WHERE id = (SELECT min(id) FROM scans WHERE project_id = (SELECT id FROM projects WHERE slug = 'lake'))",
    )
    .await;
    app.create_member("dev@example.com", "shop", Role::Developer)
        .await;
    app.create_admin("boss@example.com").await;
}

const ACTIVE: &str = "f.state IN ('open', 'confirmed', 'in_progress', 'reopened')";

/// SQL condition: the finding `f` of project `p` is one `email` may see, of team `team`.
fn scope(email: &str, team: Option<&str>) -> String {
    let visible = app::access::db::project_visible_to(&format!(
        "(SELECT id FROM users WHERE email = '{email}')"
    ));
    let team = team.map_or(String::new(), |t| {
        format!(" AND p.team_id = (SELECT id FROM teams WHERE slug = '{t}')")
    });
    format!("{visible}{team}")
}

async fn direct(app: &TestApp, email: &str, team: Option<&str>, condition: &str) -> i64 {
    let scope = scope(email, team);
    let due = app::sla::sql::DUE_AT;
    app.count(&format!(
        "SELECT count(*) FROM findings f JOIN projects p ON p.id = f.project_id
           JOIN project_sla s ON s.project_id = f.project_id
          WHERE {scope} AND {}",
        condition.replace("{due}", due)
    ))
    .await
}

async fn overview(app: &TestApp, email: &str, team: Option<&str>) -> Overview {
    let client = app.client_for(email).await;
    let form: Vec<(&str, &str)> = team.map(|t| vec![("team", t)]).unwrap_or_default();
    let body = app
        .call_expecting(&client, "overview", &form, StatusCode::OK)
        .await;
    serde_json::from_str(&body).unwrap()
}

/// Every number of `o` against a direct count.
async fn assert_every_number(app: &TestApp, email: &str, team: Option<&str>, o: &Overview) {
    let who = format!("{email} team {team:?}");
    for (si, sev) in Severity::ALL.iter().enumerate() {
        for (li, layer) in Layer::ALL.iter().enumerate() {
            let expected = direct(
                app,
                email,
                team,
                &format!("{ACTIVE} AND f.severity = '{sev}' AND f.layer = '{layer}'"),
            )
            .await;
            assert_eq!(o.matrix[si][li], expected, "{who}: {sev} x {layer}");
        }
        let breached = direct(
            app,
            email,
            team,
            &format!("{ACTIVE} AND f.severity = '{sev}' AND {{due}} <= now()"),
        )
        .await;
        assert_eq!(o.breached[si], breached, "{who}: breached {sev}");
        let soon = direct(
            app,
            email,
            team,
            &format!("{ACTIVE} AND f.severity = '{sev}' AND {{due}} > now() AND {{due}} <= now() + interval '7 days'"),
        )
        .await;
        assert_eq!(o.due_soon[si], soon, "{who}: due soon {sev}");
    }
    assert_eq!(
        o.open_total(),
        direct(app, email, team, ACTIVE).await,
        "{who}"
    );
    for row in &o.by_team {
        let team_condition = match &row.slug {
            Some(slug) => format!("p.team_id = (SELECT id FROM teams WHERE slug = '{slug}')"),
            None => "p.team_id IS NULL".to_string(),
        };
        for (si, sev) in Severity::ALL.iter().enumerate() {
            let expected = direct(
                app,
                email,
                team,
                &format!("{ACTIVE} AND {team_condition} AND f.severity = '{sev}'"),
            )
            .await;
            assert_eq!(row.open[si], expected, "{who}: team {:?} {sev}", row.slug);
        }
    }
    let teams_total: i64 = o.by_team.iter().flat_map(|r| r.open).sum();
    assert_eq!(teams_total, o.open_total(), "{who}: the teams add up");
    for project in &o.riskiest {
        for (si, sev) in Severity::ALL.iter().enumerate() {
            let expected = direct(
                app,
                email,
                team,
                &format!(
                    "{ACTIVE} AND p.slug = '{}' AND f.severity = '{sev}'",
                    project.slug
                ),
            )
            .await;
            assert_eq!(
                project.open[si], expected,
                "{who}: project {} {sev}",
                project.slug
            );
        }
    }
    let projects_with_open: i64 = app
        .count(&format!(
            "SELECT count(DISTINCT p.id) FROM findings f JOIN projects p ON p.id = f.project_id
              WHERE {} AND {ACTIVE}",
            scope(email, team)
        ))
        .await;
    assert_eq!(
        o.riskiest.len() as i64,
        projects_with_open.min(app::overview::LIST_ROWS),
        "{who}"
    );
    let scores: Vec<i64> = o.riskiest.iter().map(|p| p.score).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "{who}: riskiest first {scores:?}"
    );

    let expiring = direct(
        app,
        email,
        team,
        "f.state = 'risk_accepted' AND f.risk_accepted_until <= now() + interval '14 days'",
    )
    .await;
    assert_eq!(o.expiring_total, expiring, "{who}: expiring");
    assert_eq!(
        o.expiring.len() as i64,
        expiring.min(app::overview::LIST_ROWS)
    );

    let newest: Vec<i64> = app
        .scalars(&format!(
            "SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id
              WHERE {} AND {ACTIVE} AND f.severity IN ('critical', 'high')
              ORDER BY f.id DESC LIMIT {}",
            scope(email, team),
            app::overview::LIST_ROWS
        ))
        .await;
    assert_eq!(
        o.newest.iter().map(|f| f.id).collect::<Vec<_>>(),
        newest,
        "{who}: newest"
    );

    assert_eq!(o.weeks.len(), 12);
    for week in &o.weeks {
        let opened = direct(
            app,
            email,
            team,
            &format!("bosun_week(f.first_seen_at) = '{}'", week.start),
        )
        .await;
        let fixed = direct(
            app,
            email,
            team,
            &format!(
                "f.state = 'fixed' AND bosun_week(f.fixed_at) = '{}'",
                week.start
            ),
        )
        .await;
        assert_eq!(
            (week.opened, week.fixed),
            (opened, fixed),
            "{who}: week {}",
            week.start
        );
    }
    for r in &o.remediation {
        let (fixed, mean): (i64, Option<f64>) = app
            .row(&format!(
                "SELECT count(*), avg(extract(epoch FROM f.fixed_at - f.first_seen_at))::float8 / 86400
                   FROM findings f JOIN projects p ON p.id = f.project_id
                  WHERE {} AND f.state = 'fixed' AND f.severity = '{}'
                    AND f.fixed_at >= (bosun_week(now()) - 84)::timestamp AT TIME ZONE 'UTC'",
                scope(email, team),
                r.severity
            ))
            .await;
        assert_eq!(r.fixed, fixed, "{who}: fixed {}", r.severity);
        match (r.mean_days, mean) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{who}: {a} vs {b}"),
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "{who}: mean {}", r.severity),
        }
    }
    let gates: i64 = app
        .count(&format!(
            "SELECT count(*) FROM scans sc JOIN projects p ON p.id = sc.project_id
              WHERE {} AND sc.gate_passed = false AND sc.received_at >= bosun_week(now())::timestamp AT TIME ZONE 'UTC'",
            scope(email, team)
        ))
        .await;
    assert_eq!(o.gate_failures_total, gates, "{who}: gate failures");
    assert_eq!(
        o.gate_failures.iter().map(|g| g.failures).sum::<i64>(),
        gates
    );
}

#[tokio::test]
async fn every_number_equals_a_direct_count_for_an_admin_and_a_one_team_developer() {
    let (app, ()) = spawn_app_and(estate).await;
    for (email, team) in [
        ("boss@example.com", None),
        ("boss@example.com", Some("shop")),
        ("boss@example.com", Some("data")),
        ("dev@example.com", None),
        ("dev@example.com", Some("shop")),
    ] {
        let o = overview(&app, email, team).await;
        assert!(o.open_total() > 0, "{email}: the estate has open findings");
        assert_every_number(&app, email, team, &o).await;
    }
    // the developer sees shop only: no other team, no project without a team
    let dev = overview(&app, "dev@example.com", None).await;
    assert_eq!(
        dev.teams
            .iter()
            .map(|t| t.slug.as_str())
            .collect::<Vec<_>>(),
        ["shop"]
    );
    assert!(
        dev.by_team
            .iter()
            .all(|t| t.slug.as_deref() == Some("shop"))
    );
    assert!(
        dev.riskiest
            .iter()
            .all(|p| p.slug == "web" || p.slug == "api")
    );
    let admin = overview(&app, "boss@example.com", None).await;
    assert!(
        admin.by_team.iter().any(|t| t.slug.is_none()),
        "projects without a team count for admins"
    );
    assert!(admin.open_total() > dev.open_total());
}

#[tokio::test]
async fn another_teams_filter_answers_like_a_missing_team() {
    let (app, ()) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    for team in ["data", "nope"] {
        app.call_expecting(&dev, "overview", &[("team", team)], StatusCode::NOT_FOUND)
            .await;
    }
}

#[tokio::test]
async fn the_page_links_each_number_to_the_explorer() {
    let (app, ()) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let html = app.get_text(&dev, "/").await;
    let o = overview(&app, "dev@example.com", None).await;
    let critical_image = o.matrix[0][2];
    assert!(critical_image > 0);
    assert!(
        html.contains(&format!(
            r#"href="/findings?severity=critical&amp;layer=image&amp;state=active" aria-label="{critical_image} open critical image findings""#
        )),
        "the critical x image cell links to exactly those findings"
    );
    assert!(html.contains(r#"href="/findings?sla=breached&amp;state=active""#));
    assert!(html.contains("<svg"), "charts are server-rendered SVG");
    assert!(html.contains("<desc"), "charts have a text alternative");
    assert!(!html.contains("lake"), "nothing of another team's project");
    let filtered = app.get_text(&dev, "/?team=shop").await;
    assert!(filtered.contains("team=shop"), "links keep the team filter");
}

/// The aggregates against direct counts: `0` when every table matches.
pub async fn aggregate_mismatches(app: &TestApp) -> i64 {
    app.count(
        "WITH act AS (SELECT * FROM findings WHERE state IN ('open','confirmed','in_progress','reopened'))
         SELECT
          (SELECT count(*) FROM ((SELECT project_id, severity, layer, state, count(*) FROM findings GROUP BY 1, 2, 3, 4)
                                 EXCEPT (SELECT project_id, severity, layer, state, n FROM finding_counts WHERE n <> 0)) a)
        + (SELECT count(*) FROM ((SELECT project_id, severity, layer, state, n FROM finding_counts WHERE n <> 0)
                                 EXCEPT (SELECT project_id, severity, layer, state, count(*) FROM findings GROUP BY 1, 2, 3, 4)) a)
        + (SELECT count(*) FROM ((SELECT project_id, severity, count(*) FROM act GROUP BY 1, 2)
                                 EXCEPT (SELECT project_id, severity, n FROM project_open_counts WHERE n <> 0)) a)
        + (SELECT count(*) FROM ((SELECT project_id, severity, n FROM project_open_counts WHERE n <> 0)
                                 EXCEPT (SELECT project_id, severity, count(*) FROM act GROUP BY 1, 2)) a)
        + (SELECT count(*) FROM ((SELECT coalesce(p.team_id, 0), f.severity, f.layer, f.state, count(*) FROM findings f JOIN projects p ON p.id = f.project_id GROUP BY 1, 2, 3, 4)
                                 EXCEPT (SELECT team_id, severity, layer, state, n FROM team_counts WHERE n <> 0)) a)
        + (SELECT count(*) FROM ((SELECT team_id, severity, layer, state, n FROM team_counts WHERE n <> 0)
                                 EXCEPT (SELECT coalesce(p.team_id, 0), f.severity, f.layer, f.state, count(*) FROM findings f JOIN projects p ON p.id = f.project_id GROUP BY 1, 2, 3, 4)) a)
        + (SELECT count(*) FROM ((SELECT project_id, bosun_week(first_seen_at), severity, count(*) FROM findings GROUP BY 1, 2, 3)
                                 EXCEPT (SELECT project_id, week, severity, opened FROM finding_weekly WHERE opened <> 0)) a)
        + (SELECT count(*) FROM ((SELECT project_id, week, severity, opened FROM finding_weekly WHERE opened <> 0)
                                 EXCEPT (SELECT project_id, bosun_week(first_seen_at), severity, count(*) FROM findings GROUP BY 1, 2, 3)) a)
        + (SELECT count(*) FROM ((SELECT project_id, bosun_week(fixed_at), severity, count(*) FROM findings WHERE state = 'fixed' AND fixed_at IS NOT NULL GROUP BY 1, 2, 3)
                                 EXCEPT (SELECT project_id, week, severity, fixed FROM finding_weekly WHERE fixed <> 0)) a)
        + (SELECT count(*) FROM ((SELECT project_id, week, severity, fixed FROM finding_weekly WHERE fixed <> 0)
                                 EXCEPT (SELECT project_id, bosun_week(fixed_at), severity, count(*) FROM findings WHERE state = 'fixed' AND fixed_at IS NOT NULL GROUP BY 1, 2, 3)) a)
        + (SELECT count(*) FROM ((SELECT coalesce(p.team_id, 0), bosun_week(f.first_seen_at), f.severity, count(*) FROM findings f JOIN projects p ON p.id = f.project_id GROUP BY 1, 2, 3)
                                 EXCEPT (SELECT team_id, week, severity, opened FROM team_weekly WHERE opened <> 0)) a)
        + (SELECT count(*) FROM ((SELECT team_id, week, severity, opened FROM team_weekly WHERE opened <> 0)
                                 EXCEPT (SELECT coalesce(p.team_id, 0), bosun_week(f.first_seen_at), f.severity, count(*) FROM findings f JOIN projects p ON p.id = f.project_id GROUP BY 1, 2, 3)) a)
        + (SELECT count(*) FROM ((SELECT coalesce(p.team_id, 0), bosun_week(f.fixed_at), f.severity, count(*) FROM findings f JOIN projects p ON p.id = f.project_id WHERE f.state = 'fixed' AND f.fixed_at IS NOT NULL GROUP BY 1, 2, 3)
                                 EXCEPT (SELECT team_id, week, severity, fixed FROM team_weekly WHERE fixed <> 0)) a)
        + (SELECT count(*) FROM ((SELECT team_id, week, severity, fixed FROM team_weekly WHERE fixed <> 0)
                                 EXCEPT (SELECT coalesce(p.team_id, 0), bosun_week(f.fixed_at), f.severity, count(*) FROM findings f JOIN projects p ON p.id = f.project_id WHERE f.state = 'fixed' AND f.fixed_at IS NOT NULL GROUP BY 1, 2, 3)) a)
        + (SELECT count(*) FROM ((SELECT coalesce(p.team_id, 0), f.severity, bosun_week(f.due_at), count(*) FROM act f JOIN projects p ON p.id = f.project_id WHERE f.due_at IS NOT NULL GROUP BY 1, 2, 3)
                                 EXCEPT (SELECT team_id, severity, week, n FROM team_due_weeks WHERE n <> 0)) a)
        + (SELECT count(*) FROM ((SELECT team_id, severity, week, n FROM team_due_weeks WHERE n <> 0)
                                 EXCEPT (SELECT coalesce(p.team_id, 0), f.severity, bosun_week(f.due_at), count(*) FROM act f JOIN projects p ON p.id = f.project_id WHERE f.due_at IS NOT NULL GROUP BY 1, 2, 3)) a)
        + (SELECT count(*) FROM ((SELECT project_id, bosun_week(due_at), count(*) FROM act WHERE due_at IS NOT NULL GROUP BY 1, 2)
                                 EXCEPT (SELECT project_id, week, n FROM project_due_weeks WHERE n <> 0)) a)
        + (SELECT count(*) FROM ((SELECT project_id, week, n FROM project_due_weeks WHERE n <> 0)
                                 EXCEPT (SELECT project_id, bosun_week(due_at), count(*) FROM act WHERE due_at IS NOT NULL GROUP BY 1, 2)) a)
        + (SELECT count(*) FROM ((SELECT DISTINCT project_id, scanner, target, layer FROM findings)
                                 EXCEPT (SELECT project_id, scanner, target, layer FROM scope_layers)) a)
        + (SELECT count(*) FROM finding_counts WHERE n < 0)
        + (SELECT count(*) FROM team_counts WHERE n < 0)
        + (SELECT count(*) FROM team_due_weeks WHERE n < 0)
        + (SELECT count(*) FROM team_weekly WHERE opened < 0 OR fixed < 0)",
    )
    .await
}

#[tokio::test]
async fn the_aggregates_equal_direct_counts_through_every_change() {
    let (app, ()) = spawn_app_and(estate).await;
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after ingest and history"
    );
    let web = app
        .count("SELECT id FROM ingest_tokens WHERE project_id = (SELECT id FROM projects WHERE slug = 'web')")
        .await;
    let _ = web;
    let token = server::tokens::create(
        &app.pool,
        app.count("SELECT id FROM projects WHERE slug = 'web'")
            .await,
        "again",
    )
    .await
    .unwrap();

    // re-import without W20..W22: those are fixed; then with them again: reopened
    push(&app, &token, "repo", "semgrep", &mixed("W", 20)).await;
    assert_eq!(
        app.count("SELECT count(*) FROM findings WHERE rule_id = 'W21' AND state = 'fixed'")
            .await,
        1
    );
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after a re-import that fixed findings"
    );
    push(&app, &token, "repo", "semgrep", &mixed("W", 23)).await;
    assert_eq!(
        app.count("SELECT count(*) FROM findings WHERE rule_id = 'W21' AND state = 'reopened'")
            .await,
        1
    );
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after a re-import that reopened them"
    );

    // triage by people, through the server functions
    let boss = app.client_for("boss@example.com").await;
    let finding = app
        .count("SELECT id FROM findings WHERE rule_id = 'W14'")
        .await;
    app.change_state(
        &boss,
        finding,
        "fixed",
        &[("reason", "patched")],
        StatusCode::OK,
    )
    .await;
    assert_eq!(aggregate_mismatches(&app).await, 0, "after a state change");
    let id = finding.to_string();
    app.call_expecting(
        &boss,
        "override_severity",
        &[
            ("finding_id", id.as_str()),
            ("severity", "critical"),
            ("reason", "exploited"),
        ],
        StatusCode::OK,
    )
    .await;
    let other = app
        .count("SELECT id FROM findings WHERE rule_id = 'W16'")
        .await
        .to_string();
    app.call_expecting(
        &boss,
        "override_severity",
        &[
            ("finding_id", other.as_str()),
            ("severity", "low"),
            ("reason", "internal only"),
        ],
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after severity changes"
    );

    // an SLA policy change moves due dates (some from the past into the future)
    app.call_expecting(
        &boss,
        "set_project_sla",
        &[
            ("project", "web"),
            ("critical", "90"),
            ("high", "1"),
            ("medium", ""),
            ("low", ""),
            ("info", "10"),
        ],
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after an SLA policy change"
    );

    // a project moves to another team, a team is deleted, a project is deleted
    app.execute("UPDATE projects SET team_id = (SELECT id FROM teams WHERE slug = 'data') WHERE slug = 'api'")
        .await;
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after a project changed team"
    );
    app.execute("DELETE FROM teams WHERE slug = 'data'").await;
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after a team was deleted"
    );
    app.execute("DELETE FROM projects WHERE slug = 'web'").await;
    assert_eq!(
        aggregate_mismatches(&app).await,
        0,
        "after a project was deleted"
    );
    assert_eq!(
        app.count(
            "SELECT (SELECT count(*) FROM finding_counts WHERE project_id NOT IN (SELECT id FROM projects))
                  + (SELECT count(*) FROM project_due_weeks WHERE project_id NOT IN (SELECT id FROM projects))"
        )
        .await,
        0,
        "a deleted project leaves no counts behind"
    );
    let o = overview(&app, "boss@example.com", None).await;
    assert_every_number(&app, "boss@example.com", None, &o).await;
}
