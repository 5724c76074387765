//! `bosun seed` at a small scale: the estate has the requested shape (counts, every layer,
//! skew, a year of history, fixes, reopenings, triage and comments), the same seed builds
//! the same estate, and what it builds is seen through the normal access rules. And the
//! demo (`bosun serve --demo`'s dataset) keeps its own findings with the seed's teams.

use bosun_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use server::seed::{self, SeedArgs};

const ARGS: [&str; 12] = [
    "--findings",
    "1500",
    "--projects",
    "30",
    "--teams",
    "4",
    "--users",
    "20",
    "--months",
    "12",
    "--seed",
    "7",
];

fn args(seed: u64) -> SeedArgs {
    SeedArgs {
        seed,
        ..SeedArgs::small(1_500, 30, 4, 20)
    }
}

/// What a seed decided, without the times and ids of the run: every finding's content,
/// state and assignee (by email), and the comments' bodies.
async fn digest(app: &TestApp) -> (String, i64) {
    let findings: String = app
        .scalar(
            "SELECT md5(string_agg(concat_ws('|', encode(f.fingerprint, 'hex'), p.slug, f.layer,
                                             f.severity, f.state, f.title, f.scanner, u.email),
                                   ',' ORDER BY p.slug, f.fingerprint))
               FROM findings f JOIN projects p ON p.id = f.project_id
               LEFT JOIN users u ON u.id = f.assignee_user_id",
        )
        .await;
    let comments = app.count("SELECT count(*) FROM comments").await;
    (findings, comments)
}

#[tokio::test]
async fn the_seed_builds_a_skewed_year_of_history_the_same_way_twice() {
    let app = spawn_app().await;
    let out = app.bosun(&[&["seed"][..], &ARGS[..]].concat(), None).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(seed::ADMIN_EMAIL), "{stdout}");
    assert!(stdout.contains(seed::DEVELOPER_EMAIL), "{stdout}");
    assert!(stdout.contains(seed::SEED_PASSWORD), "{stdout}");

    // the requested counts
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 1_500);
    assert_eq!(app.count("SELECT count(*) FROM projects").await, 30);
    assert_eq!(app.count("SELECT count(*) FROM teams").await, 4);
    assert_eq!(app.count("SELECT count(*) FROM users").await, 20);
    assert_eq!(
        app.count("SELECT count(*) FROM projects WHERE team_id IS NULL")
            .await,
        0,
        "every project has an owning team"
    );
    // every layer, most findings medium or low
    assert_eq!(
        app.count("SELECT count(DISTINCT layer) FROM findings")
            .await,
        7
    );
    let medium_low = app
        .count("SELECT count(*) FROM findings WHERE severity IN ('medium', 'low')")
        .await;
    assert!(medium_low > 750, "{medium_low} medium or low");
    // skew: the top 10% of projects hold more than half the findings
    let top = app
        .count(
            "SELECT sum(n)::int8 FROM (SELECT count(*) AS n FROM findings GROUP BY project_id
                                       ORDER BY n DESC LIMIT 3) t",
        )
        .await;
    assert!(top > 750, "the top 3 of 30 projects hold {top} of 1500");
    // a year of scans, the latest within days
    let span_days = app
        .count("SELECT extract(day FROM max(received_at) - min(received_at))::int8 FROM scans")
        .await;
    assert!(span_days >= 300, "scans span {span_days} days");
    assert_eq!(
        app.count("SELECT count(*) FROM scans WHERE received_at > now() OR received_at < now() - interval '400 days'")
            .await,
        0
    );
    assert!(
        app.count("SELECT count(*) FROM scans WHERE received_at > now() - interval '7 days'")
            .await
            > 0
    );
    assert!(
        app.count(
            "SELECT count(*) FROM findings WHERE first_seen_at < now() - interval '300 days'"
        )
        .await
            > 0
    );
    // fixes over the year, by scans, at the scan's time
    let fixed = app
        .count("SELECT count(*) FROM findings WHERE state = 'fixed'")
        .await;
    assert!(fixed > 150, "{fixed} fixed");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE state = 'fixed'
               AND (fixed_at IS NULL OR fixed_at < first_seen_at OR fixed_at > now())"
        )
        .await,
        0
    );
    assert!(
        app.count("SELECT count(*) FROM findings WHERE fixed_at < now() - interval '90 days'")
            .await
            > 0,
        "fixes spread over the year"
    );
    assert!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'reopened_by_scan'")
            .await
            > 0,
        "some findings came back"
    );
    // people's work
    for state in [
        "confirmed",
        "in_progress",
        "false_positive",
        "risk_accepted",
    ] {
        let n = app
            .count(&format!(
                "SELECT count(*) FROM findings WHERE state = '{state}'"
            ))
            .await;
        assert!(n > 0, "no {state} findings");
    }
    assert!(
        app.count(
            "SELECT count(*) FROM findings WHERE state = 'risk_accepted'
               AND risk_accepted_until < now() + interval '14 days'"
        )
        .await
            > 0,
        "some risk acceptances expire within 14 days"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE state = 'risk_accepted'
               AND (risk_accepted_until <= now() OR risk_accepted_by IS NULL
                    OR risk_accepted_at IS NULL OR risk_accepted_at > now())"
        )
        .await,
        0
    );
    assert!(app.count("SELECT count(*) FROM comments").await > 15);
    assert!(
        app.count("SELECT count(*) FROM findings WHERE assignee_user_id IS NOT NULL")
            .await
            > 10
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events e JOIN findings f ON f.id = e.subject_id
              WHERE e.actor_user_id IS NOT NULL AND e.subject_type = 'finding'
                AND (e.at > now() OR e.at < f.first_seen_at)"
        )
        .await,
        0,
        "people acted after a finding appeared and before now"
    );

    developers_see_only_their_teams_projects(&app).await;

    // the same seed, the same estate
    let (first, comments) = digest(&app).await;
    let again = spawn_app().await;
    seed::run(&again.pool, &args(7)).await.expect("seeds again");
    assert_eq!(digest(&again).await, (first.clone(), comments));
    // (another seed plans another estate: server::seed's unit tests)

    // seeding twice is refused, not doubled
    let twice = app.bosun(&[&["seed"][..], &ARGS[..]].concat(), None).await;
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already has the seed"));
}

/// The seeded developer sees their team's projects and findings, and no others; the seeded
/// admin sees everything.
async fn developers_see_only_their_teams_projects(app: &TestApp) {
    let dev = app.user_id(seed::DEVELOPER_EMAIL).await;
    let visible = app::access::db::project_visible_to("$1");
    let seen: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM projects p WHERE {visible}"))
        .bind(dev)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let own = app
        .count(&format!(
            "SELECT count(*) FROM projects p JOIN team_members m ON m.team_id = p.team_id
              WHERE m.user_id = {dev}"
        ))
        .await;
    assert!(
        own > 0 && own < 30,
        "the developer's team owns {own} projects"
    );
    assert_eq!(seen, own);

    let client = app
        .signed_in_client(seed::DEVELOPER_EMAIL, seed::SEED_PASSWORD)
        .await;
    let mine: i64 = app
        .scalar(&format!(
            "SELECT max(f.id) FROM findings f JOIN projects p ON p.id = f.project_id
               JOIN team_members m ON m.team_id = p.team_id WHERE m.user_id = {dev}"
        ))
        .await;
    let theirs: i64 = app
        .scalar(&format!(
            "SELECT max(f.id) FROM findings f JOIN projects p ON p.id = f.project_id
              WHERE p.team_id NOT IN (SELECT team_id FROM team_members WHERE user_id = {dev})"
        ))
        .await;
    assert_eq!(
        app.get_status(&client, &format!("/findings/{mine}")).await,
        StatusCode::OK
    );
    assert_eq!(
        app.get_status(&client, &format!("/findings/{theirs}"))
            .await,
        StatusCode::NOT_FOUND
    );
    let admin = app
        .signed_in_client(seed::ADMIN_EMAIL, seed::SEED_PASSWORD)
        .await;
    assert_eq!(
        app.get_status(&admin, &format!("/findings/{theirs}")).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_demo_keeps_its_findings_and_gains_teams_and_history() {
    let app = spawn_app().await;
    server::demo::load(&app.pool).await.expect("the demo loads");
    let stripe = app
        .count(
            "SELECT count(*) FROM findings f JOIN projects p ON p.id = f.project_id
              WHERE p.slug = 'web-frontend' AND f.rule_id = 'stripe-access-token'
                AND f.layer = 'secret' AND f.state = 'open'",
        )
        .await;
    assert_eq!(stripe, 1, "the committed Stripe key");
    assert_eq!(
        app.count("SELECT count(*) FROM projects WHERE team_id IS NULL")
            .await,
        0,
        "every demo project has a team"
    );
    assert!(app.count("SELECT count(*) FROM teams").await >= 3);
    assert!(
        app.count("SELECT count(DISTINCT layer) FROM findings")
            .await
            == 7
    );
    assert!(
        app.count("SELECT count(*) FROM scans WHERE received_at < now() - interval '300 days'")
            .await
            > 0,
        "a year of history"
    );
    let findings = app.count("SELECT count(*) FROM findings").await;
    let events = app.count("SELECT count(*) FROM audit_events").await;
    // loading again changes nothing
    server::demo::load(&app.pool).await.expect("loads again");
    assert_eq!(app.count("SELECT count(*) FROM findings").await, findings);
    assert_eq!(app.count("SELECT count(*) FROM audit_events").await, events);
    let client = app
        .signed_in_client(server::demo::DEMO_EMAIL, server::demo::DEMO_PASSWORD)
        .await;
    assert_eq!(app.get_status(&client, "/findings").await, StatusCode::OK);
    app.signed_in_client(seed::DEVELOPER_EMAIL, seed::SEED_PASSWORD)
        .await;
}
