//! The findings explorer (`/findings`): every filter and sort against direct SQL, the total,
//! keyset paging while findings arrive, visibility through every filter and the export,
//! clear answers to bad parameters, formula-safe CSV, and the stored due dates.

use std::collections::BTreeSet;

use app::workflow::Role;
use bosun_tests::{TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];
const LAYERS: &[&str] = &[
    "code",
    "dependency",
    "image",
    "secret",
    "dast",
    "cluster_config",
];

/// A Bosun JSON report of `n` findings named `{prefix}{i}`, of every severity and layer.
fn report(prefix: &str, n: usize) -> Vec<u8> {
    let findings: Vec<Value> = (0..n)
        .map(|i| {
            let mut f = json!({
                "rule_id": format!("{prefix}{i}"),
                "title": format!("{prefix} problem {i}"),
                "severity": SEVERITIES[i % SEVERITIES.len()],
                "layer": LAYERS[i % LAYERS.len()],
                "file": format!("src/{prefix}/file{}.rs", i % 7),
                "line": i + 1,
            });
            if i % 3 == 0 {
                f["package"] = json!({"name": format!("pkg-{prefix}-{}", i % 4), "version": "1.0"});
            }
            if i % 5 == 0 {
                f["image"] = format!("registry.example/{prefix}/img{}", i % 2).into();
            }
            if i % 4 == 0 {
                f["aliases"] = json!([format!("CVE-2024-{}", 1000 + i % 9)]);
            }
            f
        })
        .collect();
    serde_json::to_vec(&json!({
        "bosun_format": 1,
        "scanner": {"name": if prefix == "web" { "alpha" } else { "beta" }},
        "findings": findings,
    }))
    .unwrap()
}

/// Team shop owns web (130 findings) and api (20); team data owns lake (40). dev is a
/// developer of shop, outsider of data, boss an admin. Returns web's token.
async fn estate(app: &TestApp) -> String {
    let web = app.team_project_with_token("shop", "web").await;
    let api = app.team_project_with_token("shop", "api").await;
    let lake = app.team_project_with_token("data", "lake").await;
    app.create_member("dev@example.com", "shop", Role::Developer)
        .await;
    app.create_member("outsider@example.com", "data", Role::Developer)
        .await;
    app.create_admin("boss@example.com").await;
    app.push_ok(&web, "?target=repo", report("web", 130)).await;
    app.push_ok(&api, "?target=repo", report("api", 20)).await;
    app.push_ok(&lake, "?target=repo", report("lake", 40)).await;
    // some history: states, assignment, age
    let dev = app.user_id("dev@example.com").await;
    app.execute("UPDATE findings SET state = 'fixed', fixed_at = now() WHERE rule_id IN ('web1', 'web2', 'web3', 'lake1')").await;
    app.execute("UPDATE findings SET state = 'confirmed' WHERE rule_id IN ('web4', 'web5')")
        .await;
    app.execute("UPDATE findings SET state = 'risk_accepted', risk_accepted_until = now() + interval '30 days' WHERE rule_id = 'web6'").await;
    app.execute(&format!(
        "UPDATE findings SET assignee_user_id = {dev} WHERE rule_id IN ('web7', 'web8', 'api9')"
    ))
    .await;
    // first seen long ago (the trigger moves the stored due date with it)
    app.execute("UPDATE findings SET first_seen_at = now() - interval '40 days', last_seen_at = now() - interval '1 day' WHERE rule_id LIKE 'web1%'").await;
    app.execute("UPDATE findings SET first_seen_at = now() - interval '5 days 12 hours' WHERE rule_id LIKE 'web2%'").await;
    web
}

/// Every page of `query` as `client`, following `next`: the ids in order, and the total
/// the first page announced.
async fn walk(app: &TestApp, client: &reqwest::Client, query: &str) -> (Vec<i64>, i64) {
    let mut ids = Vec::new();
    let mut next = Some(query.to_string());
    let mut total = None;
    let mut pages = 0;
    while let Some(q) = next {
        let page = page(app, client, &q).await;
        total.get_or_insert(page["total"].as_i64().unwrap());
        let rows = page["rows"].as_array().unwrap();
        assert!(rows.len() <= 50, "{q}: {} rows", rows.len());
        ids.extend(rows.iter().map(|r| r["id"].as_i64().unwrap()));
        next = page["next"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 100, "paging does not end");
    }
    (ids, total.unwrap())
}

async fn page(app: &TestApp, client: &reqwest::Client, query: &str) -> Value {
    let body = app
        .call_expecting(client, "list_findings", &[("query", query)], StatusCode::OK)
        .await;
    serde_json::from_str(&body).unwrap()
}

/// The ids `sql_where` selects (over `findings f JOIN projects p`) in `order`, limited to
/// what `viewer` may see (None: everything).
async fn expected(app: &TestApp, viewer: Option<&str>, sql_where: &str, order: &str) -> Vec<i64> {
    let visible = match viewer {
        None => "true".to_string(),
        Some(email) => format!(
            "p.team_id IN (SELECT m.team_id FROM team_members m JOIN users u ON u.id = m.user_id
                            WHERE u.email = '{email}')"
        ),
    };
    app.scalars(&format!(
        "SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id
          WHERE {visible} AND ({sql_where}) ORDER BY {order}"
    ))
    .await
}

const NOT_CLOSED: &str = "f.state NOT IN ('fixed', 'false_positive')";
const ACTIVE: &str = "f.state IN ('open', 'confirmed', 'in_progress', 'reopened')";
const DUE: &str = "coalesce(f.due_at, 'infinity')";

#[tokio::test]
async fn each_filter_and_sort_lists_what_direct_sql_selects() {
    let (app, _) = spawn_app_and(estate).await;
    let dev_id = app.user_id("dev@example.com").await;
    let since = app
        .scalar::<chrono::DateTime<chrono::Utc>>("SELECT now() - interval '2 days'")
        .await
        .format("%Y-%m-%d")
        .to_string();
    let cases: Vec<(String, String)> = vec![
        (String::new(), NOT_CLOSED.into()),
        (
            "severity=critical".into(),
            format!("{NOT_CLOSED} AND f.severity = 'critical'"),
        ),
        (
            "severity=critical,high".into(),
            format!("{NOT_CLOSED} AND f.severity IN ('critical', 'high')"),
        ),
        ("state=active".into(), ACTIVE.into()),
        (
            "state=closed".into(),
            "f.state IN ('fixed', 'false_positive')".into(),
        ),
        ("state=all".into(), "true".into()),
        (
            "state=confirmed,risk_accepted".into(),
            "f.state IN ('confirmed', 'risk_accepted')".into(),
        ),
        (
            "layer=image,secret".into(),
            format!("{NOT_CLOSED} AND f.layer IN ('image', 'secret')"),
        ),
        (
            "project=web".into(),
            format!("{NOT_CLOSED} AND p.slug = 'web'"),
        ),
        (
            "team=shop".into(),
            format!("{NOT_CLOSED} AND p.team_id = (SELECT id FROM teams WHERE slug = 'shop')"),
        ),
        (
            "assignee=me".into(),
            format!(
                "{NOT_CLOSED} AND f.assignee_user_id = (SELECT id FROM users WHERE email = '{{me}}')"
            ),
        ),
        (
            "assignee=none".into(),
            format!("{NOT_CLOSED} AND f.assignee_user_id IS NULL"),
        ),
        (
            format!("assignee={dev_id}"),
            format!("{NOT_CLOSED} AND f.assignee_user_id = {dev_id}"),
        ),
        (
            "scanner=beta".into(),
            format!("{NOT_CLOSED} AND f.scanner = 'beta'"),
        ),
        (
            "rule=web12".into(),
            format!("{NOT_CLOSED} AND f.rule_id = 'web12'"),
        ),
        (
            "rule=CVE-2024-1004".into(),
            format!("{NOT_CLOSED} AND 'CVE-2024-1004' = ANY(f.aliases)"),
        ),
        (
            "q=PKG-WEB-1".into(),
            format!("{NOT_CLOSED} AND f.package_name ILIKE '%pkg-web-1%'"),
        ),
        (
            "q=web/img1".into(),
            format!(
                "{NOT_CLOSED} AND (f.image ILIKE '%web/img1%' OR f.location ILIKE '%web/img1%')"
            ),
        ),
        (
            "q=problem 1".into(),
            format!("{NOT_CLOSED} AND f.title ILIKE '%problem 1%'"),
        ),
        (
            "q=file3.rs".into(),
            format!("{NOT_CLOSED} AND f.location ILIKE '%file3.rs%'"),
        ),
        ("q=100%".into(), "false".into()),
        (
            "sla=breached".into(),
            format!("{ACTIVE} AND f.due_at <= now()"),
        ),
        (
            "sla=due_soon".into(),
            format!("{ACTIVE} AND f.due_at > now() AND f.due_at <= now() + interval '7 days'"),
        ),
        (
            "sla=on_track".into(),
            format!("{ACTIVE} AND f.due_at > now() + interval '7 days'"),
        ),
        (
            format!("since={since}"),
            format!(
                "{NOT_CLOSED} AND f.first_seen_at >= '{since}'::date::timestamp AT TIME ZONE 'UTC'"
            ),
        ),
        (
            "severity=high&layer=code&state=all&q=problem".into(),
            "f.severity = 'high' AND f.layer = 'code' AND f.title ILIKE '%problem%'".into(),
        ),
    ];
    let sorts = [
        ("", "f.id DESC"),
        ("sort=severity", "f.severity, f.id"),
        ("sort=due", &format!("{DUE}, f.id") as &str),
        ("sort=last_seen", "f.last_seen_at DESC, f.id DESC"),
    ];
    for (who, viewer) in [
        ("boss@example.com", None),
        ("dev@example.com", Some("dev@example.com")),
    ] {
        let client = app.client_for(who).await;
        for (query, sql) in &cases {
            let sql = sql.replace("{me}", who);
            for (sort, order) in sorts {
                let query = [query.as_str(), sort]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("&");
                let encoded = query.replace('%', "%25").replace(' ', "+");
                let (ids, total) = walk(&app, &client, &encoded).await;
                let want = expected(&app, viewer, &sql, order).await;
                assert_eq!(ids, want, "{who}: {query}");
                assert_eq!(total, want.len() as i64, "{who}: total of {query}");
            }
        }
    }
    // the fixture has something in every case worth testing
    assert!(
        app.count("SELECT count(*) FROM findings WHERE due_at <= now() AND state = 'open'")
            .await
            > 0
    );
    assert!(app.count("SELECT count(*) FROM findings WHERE due_at > now() AND due_at <= now() + interval '7 days'").await > 0);
}

#[tokio::test]
async fn pages_neither_skip_nor_repeat_while_findings_arrive_and_go_back_exactly() {
    let (app, web) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    for sort in ["", "sort=severity", "sort=due", "sort=last_seen"] {
        let before: Vec<i64> = walk(&app, &dev, sort).await.0;
        let first = page(&app, &dev, sort).await;
        let next = first["next"].as_str().unwrap().to_string();
        // new findings arrive between the pages
        let target = format!("?target=more-{}", sort.replace('=', "-"));
        app.push_ok(&web, &target, report(&format!("new{}", sort.len()), 30))
            .await;
        let mut seen: Vec<i64> = first["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        let second = page(&app, &dev, &next).await;
        let second_ids: Vec<i64> = second["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        // back from the second page is the first page again
        let back = page(&app, &dev, second["prev"].as_str().unwrap()).await;
        let back_ids: Vec<i64> = back["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        let old: BTreeSet<i64> = before.iter().copied().collect();
        // the rows just before the second page: the end of the first page, plus any new
        // finding that sorts among them
        let back_old: Vec<i64> = back_ids
            .iter()
            .filter(|id| old.contains(id))
            .copied()
            .collect();
        assert_eq!(back_ids.len(), 50, "{sort}: a full page back");
        assert!(
            seen.ends_with(&back_old),
            "{sort}: back to the first page: {back_old:?} {seen:?}"
        );
        if sort.is_empty() {
            assert_eq!(
                back_ids, seen,
                "newest first: new findings are above the first page"
            );
        }
        seen.extend(second_ids);
        let mut rest = second["next"].as_str().map(str::to_string);
        while let Some(q) = rest {
            let p = page(&app, &dev, &q).await;
            seen.extend(
                p["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_i64().unwrap()),
            );
            rest = p["next"].as_str().map(str::to_string);
        }
        let unique: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: no row twice");
        let old_seen: Vec<i64> = seen.iter().filter(|id| old.contains(id)).copied().collect();
        assert_eq!(
            old_seen, before,
            "{sort}: every row that was there, in order, once"
        );
    }
}

#[tokio::test]
async fn a_developer_never_sees_another_teams_findings() {
    let (app, _) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let lake: BTreeSet<i64> = app
        .scalars::<i64>("SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id WHERE p.slug = 'lake'")
        .await
        .into_iter()
        .collect();
    for query in [
        "",
        "state=all",
        "scanner=beta",
        "q=lake",
        "rule=lake5",
        "rule=CVE-2024-1004",
        "sla=breached",
        "sort=due&state=all",
        "assignee=none&state=all",
        "layer=secret&state=all",
    ] {
        let (ids, total) = walk(&app, &dev, query).await;
        assert!(ids.iter().all(|id| !lake.contains(id)), "{query}");
        assert_eq!(
            total,
            ids.len() as i64,
            "{query}: the total counts only what dev sees"
        );
        for format in ["csv", "json"] {
            let url = app.url(&format!("/api/findings/export?format={format}&{query}"));
            let body = dev.get(url).send().await.unwrap().text().await.unwrap();
            assert!(!body.contains("lake"), "{format} export of {query}");
        }
        let body = app
            .call_expecting(
                &dev,
                "matching_finding_ids",
                &[("query", query)],
                StatusCode::OK,
            )
            .await;
        let matching: Vec<i64> = serde_json::from_str(&body).unwrap();
        assert!(matching.iter().all(|id| !lake.contains(id)), "{query}");
    }
    // naming another team's project or the team answers like a missing one
    for query in ["project=lake", "team=data", "project=nowhere"] {
        let body = app
            .call_expecting(
                &dev,
                "list_findings",
                &[("query", query)],
                StatusCode::NOT_FOUND,
            )
            .await;
        assert!(body.contains("that you can see"), "{body}");
        let status = dev
            .get(app.url(&format!("/api/findings/export?{query}")))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{query}");
    }
    // the outsider sees lake and nothing else
    let outsider = app.client_for("outsider@example.com").await;
    let (ids, _) = walk(&app, &outsider, "state=all").await;
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), lake);
    // signed out: nothing
    let anonymous = bosun_tests::fresh_client();
    let status = anonymous
        .get(app.url("/api/findings/export"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_parameters_get_a_clear_message_and_400() {
    let (app, _) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    for (query, says) in [
        ("severity=urgent", "Unknown severity 'urgent'"),
        ("colour=red", "Unknown filter 'colour'"),
        ("state=done", "Unknown state 'done'"),
        ("sort=random", "Unknown sort 'random'"),
        ("since=yesterday", "YYYY-MM-DD"),
        ("after=garbage", "damaged"),
        ("sort=due&after=n5", "another sort"),
    ] {
        let body = app
            .call_expecting(
                &dev,
                "list_findings",
                &[("query", query)],
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(body.contains(says), "{query}: {body}");
        let response = dev
            .get(app.url(&format!("/findings?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "page {query}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&says.replace('\'', "&#39;")) || page.contains(says),
            "page {query}"
        );
        let response = dev
            .get(app.url(&format!("/api/findings/export?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "export {query}");
    }
    let response = dev
        .get(app.url("/api/findings/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn csv_export_defuses_formulas_and_json_holds_the_view() {
    let (app, web) = spawn_app_and(estate).await;
    let hostile = json!({
        "bosun_format": 1,
        "scanner": {"name": "alpha"},
        "findings": [
            {"rule_id": "=cmd|' /C calc'!A0", "title": "=HYPERLINK(\"http://evil\",\"x\")", "severity": "critical", "layer": "code", "file": "@SUM(A1).py"},
            {"rule_id": "+1", "title": "-2+3", "severity": "critical", "layer": "code", "file": "\tfile.py"},
        ]
    });
    app.push_ok(
        &web,
        "?target=hostile",
        serde_json::to_vec(&hostile).unwrap(),
    )
    .await;
    let dev = app.client_for("dev@example.com").await;
    let response = dev
        .get(app.url("/api/findings/export?format=csv&severity=critical&q=%3D"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("bosun-findings.csv")
    );
    let csv = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell: {cell:?} in {csv}"
            );
        }
    }
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    let all = dev
        .get(app.url("/api/findings/export?format=csv&severity=critical&state=all"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(all.contains("'-2+3") && all.contains("'+1"), "{all}");
    let json: Vec<Value> = dev
        .get(app.url("/api/findings/export?format=json&severity=critical&sort=severity"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let want = expected(
        &app,
        Some("dev@example.com"),
        &format!("{NOT_CLOSED} AND f.severity = 'critical'"),
        "f.severity, f.id",
    )
    .await;
    assert_eq!(
        json.iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        want
    );
}

#[tokio::test]
async fn select_all_matching_respects_the_bulk_limit() {
    let (app, web) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let body = app
        .call_expecting(
            &dev,
            "matching_finding_ids",
            &[("query", "severity=critical")],
            StatusCode::OK,
        )
        .await;
    let ids: Vec<i64> = serde_json::from_str(&body).unwrap();
    let mut want = expected(
        &app,
        Some("dev@example.com"),
        &format!("{NOT_CLOSED} AND f.severity = 'critical'"),
        "f.id",
    )
    .await;
    want.sort();
    assert_eq!(ids, want);
    app.push_ok(&web, "?target=big", report("big", 1_001)).await;
    let body = app
        .call_expecting(
            &dev,
            "matching_finding_ids",
            &[("query", "")],
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(body.contains("at most 1,000"), "{body}");
    assert!(body.contains("findings match"), "{body}");
}

#[tokio::test]
async fn stored_due_dates_follow_ingest_triage_and_policy_changes() {
    let (app, _) = spawn_app_and(estate).await;
    let wrong = || async {
        app.count(&format!(
            "SELECT count(*) FROM findings f JOIN project_sla s ON s.project_id = f.project_id
              WHERE f.due_at IS DISTINCT FROM {}",
            app::sla::sql::DUE_AT
        ))
        .await
    };
    assert_eq!(wrong().await, 0, "after ingest and first-seen changes");
    app.execute("UPDATE findings SET severity = 'low' WHERE rule_id = 'web10'")
        .await;
    assert_eq!(wrong().await, 0, "after a severity change");
    // a risk acceptance that ends adds its time to the pause
    app.execute(
        "UPDATE findings SET risk_accepted_at = now() - interval '3 days' WHERE rule_id = 'web6'",
    )
    .await;
    app.execute("UPDATE findings SET state = 'open' WHERE rule_id = 'web6'")
        .await;
    assert!(app.count("SELECT count(*) FROM findings WHERE rule_id = 'web6' AND sla_paused > interval '2 days'").await == 1);
    assert_eq!(wrong().await, 0, "after a risk acceptance ended");
    let sec_fields = [("project", "web"), ("high", "3"), ("critical", "1")];
    let boss = app.client_for("boss@example.com").await;
    app.call_expecting(&boss, "set_project_sla", &sec_fields, StatusCode::OK)
        .await;
    assert_eq!(wrong().await, 0, "after a project override");
    app.call_expecting(
        &boss,
        "set_instance_sla",
        &[("medium", "10"), ("info", "400")],
        StatusCode::OK,
    )
    .await;
    assert_eq!(wrong().await, 0, "after an instance policy change");
    assert!(
        app.count("SELECT count(*) FROM findings WHERE severity = 'info' AND due_at IS NOT NULL")
            .await
            > 0
    );
}

#[tokio::test]
async fn a_filter_forms_empty_fields_redirect_to_the_short_url_of_the_same_view() {
    let (app, _) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let response = dev
        .get(app.url("/findings?q=&state=&severity=high&sort=newest&team="))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        "/findings?severity=high&sort=newest"
    );
    // the short URL itself, and the bare page, answer at once
    for path in ["/findings?severity=high", "/findings"] {
        assert_eq!(app.get_status(&dev, path).await, StatusCode::OK, "{path}");
    }
}
