//! The scan history's diffs and the explorer's grouped view (#15): `scan=<id>&change=…`
//! lists exactly what direct SQL says the scan opened, closed and reopened (and as many as
//! the scan's own counts), the scans page links there, and `group=rule|package` counts what
//! a direct `GROUP BY` counts; all within what the viewer may see, with 400s for bad values.

use std::collections::BTreeSet;

use app::workflow::Role;
use bosun_tests::{TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];

/// A Bosun JSON report of findings `{prefix}{i}` for each `i` in `which`: varied severity,
/// packages (`pkg-{i % 4}`), images and CVE aliases shared across projects.
fn report(prefix: &str, which: impl IntoIterator<Item = usize>) -> Vec<u8> {
    let findings: Vec<Value> = which
        .into_iter()
        .map(|i| {
            let mut f = json!({
                "rule_id": format!("{prefix}{i}"),
                "title": format!("{prefix} problem {i}"),
                "severity": SEVERITIES[i % SEVERITIES.len()],
                "layer": if i % 2 == 0 { "dependency" } else { "image" },
                "file": format!("src/{prefix}/file{}.rs", i % 3),
                "line": i + 1,
            });
            if i % 3 != 1 {
                f["package"] = json!({"name": format!("pkg-{}", i % 4), "version": "1.0"});
            }
            if i % 2 == 1 {
                f["image"] = format!("registry.example/{prefix}/img{}", i % 3).into();
            }
            if i % 4 == 0 {
                f["aliases"] = json!([format!("CVE-2024-{}", 1000 + i % 3)]);
            }
            f
        })
        .collect();
    serde_json::to_vec(&json!({"bosun_format": 1, "scanner": {"name": "sc"}, "findings": findings}))
        .unwrap()
}

/// Team shop owns web and api, team data owns lake; dev is a developer of shop, outsider
/// of data, boss an admin. web's scope `repo` is scanned three times: the first scan finds
/// 0..30; the second 5..40 (new 30..40, fixes 0..5); the third 0..3 and 5..35 (reopens
/// 0..3, fixes 35..40). Returns web's scan ids, oldest first, and lake's first scan.
async fn estate(app: &TestApp) -> (Vec<i64>, i64) {
    let web = app.team_project_with_token("shop", "web").await;
    let api = app.team_project_with_token("shop", "api").await;
    let lake = app.team_project_with_token("data", "lake").await;
    app.create_member("dev@example.com", "shop", Role::Developer)
        .await;
    app.create_member("outsider@example.com", "data", Role::Developer)
        .await;
    app.create_admin("boss@example.com").await;
    let mut scans = Vec::new();
    for which in [
        (0..30).collect::<Vec<_>>(),
        (5..40).collect(),
        (0..3).chain(5..35).collect(),
    ] {
        let json = app
            .push_ok(&web, "?target=repo", report("web", which))
            .await;
        scans.push(json["scan_id"].as_i64().unwrap());
    }
    // noise: another scope of web, and the other projects
    app.push_ok(&web, "?target=other", report("web-o", 0..12))
        .await;
    app.push_ok(&api, "?target=repo", report("api", 0..20))
        .await;
    let lake_scan = app
        .push_ok(&lake, "?target=repo", report("lake", 0..16))
        .await["scan_id"]
        .as_i64()
        .unwrap();
    // people's decisions after the scans: they leave the scans' diffs alone
    app.execute("UPDATE findings SET state = 'false_positive' WHERE rule_id IN ('web31', 'web1')")
        .await;
    (scans, lake_scan)
}

/// Every id of `query` as `client`, following `next`, and the total of the first page.
async fn walk(app: &TestApp, client: &reqwest::Client, query: &str) -> (Vec<i64>, i64) {
    let mut ids = Vec::new();
    let mut next = Some(query.to_string());
    let mut total = None;
    while let Some(q) = next {
        let body = app
            .call_expecting(client, "list_findings", &[("query", &q)], StatusCode::OK)
            .await;
        let page: Value = serde_json::from_str(&body).unwrap();
        total.get_or_insert(page["total"].as_i64().unwrap());
        ids.extend(
            page["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap()),
        );
        next = page["next"].as_str().map(str::to_string);
    }
    (ids, total.unwrap())
}

/// The finding ids `sql_where` selects (over `findings f JOIN projects p`) that `viewer` may
/// see (None: everything), newest first.
async fn expected(app: &TestApp, viewer: Option<&str>, sql_where: &str) -> Vec<i64> {
    let visible = match viewer {
        None => "true".to_string(),
        Some(email) => format!(
            "p.team_id IN (SELECT m.team_id FROM team_members m JOIN users u ON u.id = m.user_id
                            WHERE u.email = '{email}')"
        ),
    };
    app.scalars(&format!(
        "SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id
          WHERE {visible} AND ({sql_where}) ORDER BY f.id DESC"
    ))
    .await
}

/// Direct SQL for what scan `scan` did: `action` is an audit action of ingest.
fn by_event(scan: i64, action: &str) -> String {
    format!(
        "f.id IN (SELECT subject_id FROM audit_events WHERE scan_id = {scan}
                     AND subject_type = 'finding' AND action = '{action}')"
    )
}

#[tokio::test]
async fn a_scans_new_fixed_and_reopened_findings_are_what_it_did() {
    let (app, (scans, _)) = spawn_app_and(estate).await;
    let stored: Vec<(i64, i32, i32, i32)> = app
        .rows(&format!(
            "SELECT id, findings_new, findings_fixed, findings_reopened FROM scans
              WHERE id IN ({}) ORDER BY id",
            scans
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ))
        .await;
    // the fixture has every kind of change
    assert_eq!(
        stored.iter().map(|s| (s.1, s.2, s.3)).collect::<Vec<_>>(),
        vec![(30, 0, 0), (10, 5, 0), (0, 5, 3)]
    );
    for (who, viewer) in [
        ("boss@example.com", None),
        ("dev@example.com", Some("dev@example.com")),
    ] {
        let client = app.client_for(who).await;
        for &(scan, new, fixed, reopened) in &stored {
            let new_sql = format!("f.first_scan_id = {scan}");
            let fixed_sql = by_event(scan, "fixed_by_scan");
            let reopened_sql = by_event(scan, "reopened_by_scan");
            for (query, sql, count) in [
                (
                    format!("scan={scan}&change=new"),
                    new_sql.clone(),
                    Some(new),
                ),
                (
                    format!("scan={scan}&change=fixed"),
                    fixed_sql.clone(),
                    Some(fixed),
                ),
                (
                    format!("scan={scan}&change=reopened"),
                    reopened_sql.clone(),
                    Some(reopened),
                ),
                (
                    format!("scan={scan}"),
                    format!("{new_sql} OR {fixed_sql} OR {reopened_sql}"),
                    Some(new + fixed + reopened),
                ),
                // an explicit state still narrows
                (
                    format!("scan={scan}&change=new&state=active"),
                    format!(
                        "{new_sql} AND f.state IN ('open', 'confirmed', 'in_progress', 'reopened')"
                    ),
                    None,
                ),
                (
                    format!("scan={scan}&state=false_positive&severity=high,medium"),
                    format!(
                        "({new_sql} OR {fixed_sql} OR {reopened_sql}) AND f.state = 'false_positive'
                         AND f.severity IN ('high', 'medium')"
                    ),
                    None,
                ),
                (
                    format!("scan={scan}&change=fixed&sort=severity&project=web&team=shop"),
                    fixed_sql.clone(),
                    Some(fixed),
                ),
            ] {
                let (mut ids, total) = walk(&app, &client, &query).await;
                ids.sort_unstable_by(|a, b| b.cmp(a));
                let want = expected(&app, viewer, &sql).await;
                assert_eq!(ids, want, "{who}: {query}");
                assert_eq!(total, want.len() as i64, "{who}: total of {query}");
                if let Some(count) = count {
                    assert_eq!(
                        total,
                        i64::from(count),
                        "{who}: {query} is the scan's count"
                    );
                }
            }
        }
        // a scan of another project and this project's filter: nothing, not an error
        let (ids, _) = walk(&app, &client, &format!("scan={}&project=api", scans[0])).await;
        assert!(ids.is_empty());
    }
    // fixed findings are listed although the default view hides closed ones
    let boss = app.client_for("boss@example.com").await;
    let (fixed, _) = walk(&app, &boss, &format!("scan={}&change=fixed", scans[1])).await;
    let states: Vec<String> = app
        .scalars(&format!(
            "SELECT state::text FROM findings WHERE id IN ({}) ORDER BY id",
            fixed
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ))
        .await;
    assert!(states.iter().any(|s| s == "fixed"), "{states:?}");
}

/// The explorer links of the scans page `html`, as query strings.
fn scan_links(html: &str) -> Vec<String> {
    html.split("href=\"/findings?")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|q| q.replace("&amp;", "&"))
        .filter(|q| q.starts_with("scan="))
        .collect()
}

#[tokio::test]
async fn the_scans_page_links_each_count_to_exactly_those_findings() {
    let (app, (scans, _)) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let html = app.get_text(&dev, "/projects/web/scans").await;
    for scan in &scans {
        assert!(
            html.contains(&format!("id=\"scan-{scan}\"")),
            "anchor of {scan}"
        );
    }
    let links = scan_links(&html);
    // nonzero counts only: new of the first two scans and of the other scope's scan, fixed
    // of the last two, reopened of the last, and "all changes" of the two scans that made
    // more than one kind of change
    assert_eq!(links.len(), 3 + 2 + 1 + 2, "{links:?}");
    let mut seen = BTreeSet::new();
    for link in links {
        assert!(seen.insert(link.clone()), "{link} twice");
        let q = app::explorer::ExplorerQuery::parse(&link).unwrap();
        let scan = q.scan.unwrap();
        let column = match q.change.map(|c| c.as_str()) {
            Some("new") => "findings_new",
            Some("fixed") => "findings_fixed",
            Some("reopened") => "findings_reopened",
            None => "findings_new + findings_fixed + findings_reopened",
            Some(other) => panic!("{other}"),
        };
        let stored: i32 = app
            .scalar(&format!(
                "SELECT ({column})::int4 FROM scans WHERE id = {scan}"
            ))
            .await;
        let (ids, total) = walk(&app, &dev, &link).await;
        assert_eq!(total, i64::from(stored), "{link}");
        assert_eq!(ids.len() as i64, total, "{link}");
        // the page itself answers
        assert_eq!(
            app.get_status(&dev, &format!("/findings?{link}")).await,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_scan_you_cannot_see_is_missing_and_bad_values_are_400() {
    let (app, (scans, lake_scan)) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let outsider = app.client_for("outsider@example.com").await;
    for (client, query) in [
        (&outsider, format!("scan={}", scans[0])),
        (
            &outsider,
            format!("scan={}&change=new&group=rule", scans[1]),
        ),
        (&dev, format!("scan={lake_scan}&change=new")),
        (&dev, format!("scan={lake_scan}&group=package")),
        (&dev, "scan=999999&change=fixed".to_string()),
    ] {
        let function = if query.contains("group=") {
            "group_findings"
        } else {
            "list_findings"
        };
        let body = app
            .call_expecting(
                client,
                function,
                &[("query", &query)],
                StatusCode::NOT_FOUND,
            )
            .await;
        assert!(body.contains("that you can see"), "{query}: {body}");
        let status = app.get_status(client, &format!("/findings?{query}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "page {query}");
        let status = app
            .get_status(client, &format!("/api/findings/export?{query}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "export {query}");
    }
    for (query, says) in [
        ("scan=abc", "'scan' must be a scan's number"),
        ("scan=-3&change=new", "'scan' must be a scan's number"),
        ("change=new", "needs 'scan'"),
        ("scan=1&change=gone", "Unknown change 'gone'"),
        ("group=team", "Unknown grouping 'team'"),
        ("group=rule&after=n5", "no pages"),
        ("package=a&package=b", "twice"),
    ] {
        for function in ["list_findings", "group_findings"] {
            let body = app
                .call_expecting(&dev, function, &[("query", query)], StatusCode::BAD_REQUEST)
                .await;
            assert!(body.contains(says), "{function} {query}: {body}");
        }
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
    }
    // groups need a grouping
    let body = app
        .call_expecting(
            &dev,
            "group_findings",
            &[("query", "severity=high")],
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(body.contains("group=rule or group=package"), "{body}");
}

/// One group as the server answers it: key, findings, worst severity, projects, assets, images.
type Group = (String, i64, String, i64, i64, i64);

/// The groups direct SQL makes of `sql_where` for `viewer` (None: everything), by count.
async fn expected_groups(
    app: &TestApp,
    viewer: Option<&str>,
    by: &str,
    sql_where: &str,
) -> Vec<Group> {
    let visible = match viewer {
        None => "true".to_string(),
        Some(email) => format!(
            "p.team_id IN (SELECT m.team_id FROM team_members m JOIN users u ON u.id = m.user_id
                            WHERE u.email = '{email}')"
        ),
    };
    // a rule id that is not a CVE gives way to the finding's CVE alias (one each here)
    let (key, only) = match by {
        "rule" => (
            "CASE WHEN f.rule_id LIKE 'CVE-%' OR cardinality(f.aliases) = 0 THEN f.rule_id ELSE f.aliases[1] END",
            "true",
        ),
        _ => ("f.package_name", "f.package_name IS NOT NULL"),
    };
    app.rows(&format!(
        "SELECT {key} AS key, count(*), min(f.severity)::text, count(DISTINCT f.project_id),
                count(DISTINCT coalesce(f.asset_key, nullif(f.target, ''))), count(DISTINCT f.image)
           FROM findings f JOIN projects p ON p.id = f.project_id
          WHERE {visible} AND {only} AND ({sql_where})
          GROUP BY 1 ORDER BY 2 DESC, min(f.severity), 1"
    ))
    .await
}

#[tokio::test]
async fn groups_count_what_direct_sql_groups_and_link_to_their_findings() {
    let (app, (scans, _)) = spawn_app_and(estate).await;
    const NOT_CLOSED: &str = "f.state NOT IN ('fixed', 'false_positive')";
    let cases: Vec<(String, String)> = vec![
        (String::new(), NOT_CLOSED.into()),
        ("state=all".into(), "true".into()),
        (
            "severity=critical,high".into(),
            format!("{NOT_CLOSED} AND f.severity IN ('critical', 'high')"),
        ),
        (
            "project=web".into(),
            format!("{NOT_CLOSED} AND p.slug = 'web'"),
        ),
        (
            "package=pkg-2".into(),
            format!("{NOT_CLOSED} AND f.package_name = 'pkg-2'"),
        ),
        (
            format!("scan={}&change=new", scans[1]),
            format!("f.first_scan_id = {}", scans[1]),
        ),
        (
            "rule=CVE-2024-1001&state=all".into(),
            "'CVE-2024-1001' = ANY(f.aliases)".into(),
        ),
    ];
    for (who, viewer) in [
        ("boss@example.com", None),
        ("dev@example.com", Some("dev@example.com")),
    ] {
        let client = app.client_for(who).await;
        for by in ["rule", "package"] {
            for (filters, sql) in &cases {
                let query = if filters.is_empty() {
                    format!("group={by}")
                } else {
                    format!("{filters}&group={by}")
                };
                let body = app
                    .call_expecting(
                        &client,
                        "group_findings",
                        &[("query", &query)],
                        StatusCode::OK,
                    )
                    .await;
                let page: Value = serde_json::from_str(&body).unwrap();
                let got: Vec<Group> = page["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| {
                        (
                            g["key"].as_str().unwrap().to_string(),
                            g["findings"].as_i64().unwrap(),
                            g["severity"].as_str().unwrap().to_lowercase(),
                            g["projects"].as_i64().unwrap(),
                            g["assets"].as_i64().unwrap(),
                            g["images"].as_i64().unwrap(),
                        )
                    })
                    .collect();
                let want = expected_groups(&app, viewer, by, sql).await;
                assert_eq!(got, want, "{who}: {query}");
                assert_eq!(
                    page["groups"].as_i64().unwrap(),
                    want.len() as i64,
                    "{query}"
                );
                let sum: i64 = want.iter().map(|g| g.1).sum();
                assert_eq!(page["findings"].as_i64().unwrap(), sum, "{query}");
                // each group's link lists its findings
                for group in got.iter().take(4) {
                    let mut q = app::explorer::ExplorerQuery::parse(&query).unwrap();
                    q.group = None;
                    match by {
                        "rule" => q.rule = Some(group.0.clone()),
                        _ => q.package = Some(group.0.clone()),
                    }
                    let (ids, total) = walk(&app, &client, &q.to_query_string()).await;
                    assert_eq!(total, group.1, "{who}: {query} → {}", q.to_query_string());
                    assert_eq!(ids.len() as i64, group.1);
                }
            }
        }
    }
    // the CVE shared by all three projects is one group; dev sees it in two of them
    let dev = app.client_for("dev@example.com").await;
    let html = app
        .get_text(&dev, "/findings?group=rule&sort=severity")
        .await;
    assert!(html.contains("groups-table"), "{html}");
    assert!(html.contains("href=\"/findings?rule=CVE-2024-1000&amp;sort=severity\""));
    assert!(!html.contains("lake"), "dev sees no lake finding");
    let html = app.get_text(&dev, "/findings?group=package").await;
    assert!(html.contains("href=\"/findings?package=pkg-0\""));
    assert!(html.contains("Group by"));
}

#[tokio::test]
async fn team_none_lists_the_projects_without_a_team_for_who_sees_them() {
    let (app, _) = spawn_app_and(estate).await;
    let loose = app.create_project("loose", None).await;
    let token = server::tokens::create(&app.pool, loose, "ci")
        .await
        .unwrap();
    app.push_ok(&token, "?target=repo", report("loose", 0..9))
        .await;
    let boss = app.client_for("boss@example.com").await;
    for (query, sql) in [
        (
            "team=none",
            "p.team_id IS NULL AND f.state NOT IN ('fixed', 'false_positive')",
        ),
        (
            "team=none&state=active&severity=high",
            "p.team_id IS NULL AND f.state = 'open' AND f.severity = 'high'",
        ),
    ] {
        let (ids, total) = walk(&app, &boss, query).await;
        let want = expected(&app, None, sql).await;
        assert_eq!(ids, want, "{query}");
        assert_eq!(total, want.len() as i64);
        assert!(!want.is_empty());
    }
    // the overview's "No team" row links there
    let html = app.get_text(&boss, "/").await;
    assert!(
        html.contains("href=\"/findings?team=none&amp;state=active\"")
            || html.contains("href=\"/findings?team=none&state=active\""),
        "the overview links the projects without a team"
    );
    // a developer sees no project without a team
    let dev = app.client_for("dev@example.com").await;
    let body = app
        .call_expecting(
            &dev,
            "list_findings",
            &[("query", "team=none")],
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(body.contains("that you can see"), "{body}");
}
