//! Team and cluster-wide tokens: one feed, findings routed into the right projects.

use bosun_tests::{TestApp, spawn_app, spawn_app_and};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::ingest::routing::{NewRule, add_rule};
use server::tokens::{self, TokenOwner};

/// A cluster scan in Bosun's generic format: one finding per (namespace, image).
fn cluster_report(items: &[(&str, &str)]) -> Vec<u8> {
    let findings: Vec<Value> = items
        .iter()
        .map(|(ns, image)| {
            json!({"rule_id": "IMG-ROOT", "title": format!("{image} runs as root"),
                   "severity": "medium", "layer": "image", "image": image,
                   "k8s": {"namespace": ns, "kind": "Deployment", "name": "app"}})
        })
        .collect();
    serde_json::to_vec(
        &json!({"bosun_format": 1, "scanner": {"name": "cluster-scan"}, "findings": findings}),
    )
    .unwrap()
}

/// What runs in the cluster, as (namespace, image): two shop workloads and payments' API,
/// which shop's rules route; data's ETL job, which only data's rule routes; CoreDNS, which
/// no rule does.
const WORKLOADS: [(&str, &str); 5] = [
    ("shop-frontend", "registry.io/shop/web:1.0"),
    ("shop-checkout", "registry.io/pay/api:2.3@sha256:abcd"),
    ("shop-frontend", "registry.io/shop/cart:1.1"),
    ("warehouse", "registry.io/data/etl:1.0"),
    ("kube-system", "registry.k8s.io/coredns:1.11"),
];

struct Estate {
    team_token: String,
    cluster_token: String,
}

/// Team "shop" owns projects web and payments; team "data" owns warehouse.
async fn estate(app: &TestApp) -> Estate {
    let pool = &app.pool;
    let shop = app.create_team("shop", "Shop").await;
    let data = app.create_team("data", "Data").await;
    let mut ids = Vec::new();
    for (slug, team) in [
        ("web", shop.id),
        ("payments", shop.id),
        ("warehouse", data.id),
    ] {
        ids.push(app.create_project(slug, Some(team)).await);
    }
    let rule = |ns: Option<&str>, image: Option<&str>| NewRule {
        namespace: ns.map(str::to_string),
        image_repository: image.map(str::to_string),
        ..NewRule::default()
    };
    // tried in position order: the image rule outranks the namespace rule
    add_rule(
        pool,
        None,
        ids[1],
        &NewRule {
            position: Some(10),
            ..rule(None, Some("registry.io/pay/*"))
        },
    )
    .await
    .unwrap();
    add_rule(pool, None, ids[0], &rule(Some("shop-*"), None))
        .await
        .unwrap();
    add_rule(pool, None, ids[2], &rule(Some("warehouse"), None))
        .await
        .unwrap();
    Estate {
        team_token: tokens::create_for(pool, TokenOwner::Team(shop.id), "shop cluster")
            .await
            .unwrap(),
        cluster_token: tokens::create_for(pool, TokenOwner::Cluster, "operator")
            .await
            .unwrap(),
    }
}

/// How many findings of project `project` are in state `state`.
async fn count_in(app: &TestApp, project: &str, state: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM findings f JOIN projects p ON p.id = f.project_id
          WHERE p.slug = '{project}' AND f.state::text = '{state}'"
    ))
    .await
}

#[tokio::test]
async fn a_team_token_routes_findings_into_its_teams_projects_by_rule() {
    let (app, estate) = spawn_app_and(estate).await;
    let report = cluster_report(&WORKLOADS);
    let body = app
        .push_ok(&estate.team_token, "?target=prod-cluster", report)
        .await;
    assert_eq!(body["total"], 3, "{body}");
    assert_eq!(body["new"], 3);
    assert_eq!(
        body["unrouted"], 2,
        "warehouse and kube-system match no shop rule"
    );
    let routed = body["routed"].as_array().unwrap();
    let totals: Vec<(&str, i64)> = routed
        .iter()
        .map(|o| (o["project"].as_str().unwrap(), o["total"].as_i64().unwrap()))
        .collect();
    assert_eq!(totals, [("payments", 1), ("web", 2)], "{body}");
    assert_eq!(count_in(&app, "web", "open").await, 2);
    assert_eq!(count_in(&app, "payments", "open").await, 1);
    assert_eq!(count_in(&app, "warehouse", "open").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM scans WHERE status = 'accepted'")
            .await,
        2,
        "one scan row per project reached"
    );

    // The next complete scan of the cluster no longer has the cart image: only web's
    // finding closes; payments keeps its finding.
    let again = cluster_report(&[WORKLOADS[0], ("shop-checkout", "registry.io/pay/api:2.4")]);
    let body = app
        .push_ok(&estate.team_token, "?target=prod-cluster", again)
        .await;
    assert_eq!(
        (body["new"].as_i64(), body["fixed"].as_i64()),
        (Some(0), Some(1)),
        "{body}"
    );
    assert_eq!(count_in(&app, "web", "fixed").await, 1);
    assert_eq!(count_in(&app, "web", "open").await, 1);
    assert_eq!(
        count_in(&app, "payments", "open").await,
        1,
        "a re-tag keeps its finding"
    );
}

#[tokio::test]
async fn a_cluster_token_uses_every_rule_and_may_name_any_project() {
    let (app, estate) = spawn_app_and(estate).await;
    let report = cluster_report(&[WORKLOADS[0], WORKLOADS[3]]);
    let body = app
        .push_ok(
            &estate.cluster_token,
            "?target=prod-cluster",
            report.clone(),
        )
        .await;
    assert_eq!(body["total"], 2);
    assert!(body.get("unrouted").is_none(), "{body}");
    assert_eq!(count_in(&app, "warehouse", "open").await, 1);
    assert_eq!(count_in(&app, "web", "open").await, 1);
    // Every project the rules reach got a scan row, even payments with nothing in it.
    assert_eq!(
        app.count("SELECT count(DISTINCT project_id) FROM scans WHERE status = 'accepted'")
            .await,
        3
    );

    // naming a project skips the rules: the whole report lands there
    let body = app
        .push_ok(
            &estate.cluster_token,
            "?project=payments&target=manual",
            report,
        )
        .await;
    assert_eq!(body["project"], "payments");
    assert_eq!(count_in(&app, "payments", "open").await, 2);
}

#[tokio::test]
async fn a_team_token_may_not_name_another_teams_project() {
    let (app, estate) = spawn_app_and(estate).await;
    let report = cluster_report(&[WORKLOADS[3]]);
    let team = Some(estate.team_token.as_str());
    let forbidden = StatusCode::FORBIDDEN;
    app.push_refused(
        team,
        "?project=warehouse",
        report.clone(),
        forbidden,
        "warehouse",
    )
    .await;
    // its own team's project is fine
    app.push_ok(&estate.team_token, "?project=web", report)
        .await;
    assert_eq!(count_in(&app, "warehouse", "open").await, 0);
    assert_eq!(count_in(&app, "web", "open").await, 1);
}

#[tokio::test]
async fn a_team_without_rules_is_told_to_add_one_and_bad_rules_are_refused() {
    let app = spawn_app().await;
    let pool = &app.pool;
    let team = app.create_team("lonely", "").await;
    let token = tokens::create_for(pool, TokenOwner::Team(team.id), "t")
        .await
        .unwrap();
    let report = cluster_report(&[("a", "b:1")]);
    let bad_request = StatusCode::BAD_REQUEST;
    app.push_refused(Some(&token), "", report, bad_request, "routing rule")
        .await;
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 0);

    let solo = app.create_project("solo", None).await;
    let unclosed = NewRule {
        namespace: Some("[unclosed".into()),
        ..NewRule::default()
    };
    for (rule, says) in [
        (NewRule::default(), "at least one"),
        (unclosed, "invalid namespace pattern"),
    ] {
        let err = add_rule(pool, None, solo, &rule).await.unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
    assert_eq!(app.count("SELECT count(*) FROM routing_rules").await, 0);
    let services = NewRule {
        path: Some("services/**".into()),
        ..NewRule::default()
    };
    add_rule(pool, None, solo, &services).await.unwrap();
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE subject_type = 'routing_rule'")
            .await,
        1,
        "rule changes are audited"
    );
}
