//! A finding's identity (#13): it belongs to one scope (project, scanner, target), scanners
//! are named by tool whatever the report's container, image targets lose their tag, and
//! the migration that introduced this kept every finding's id, state and history.

use std::borrow::Cow;
use std::str::FromStr;

use bosun_tests::{counts, spawn_app, spawn_app_with_project};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;

fn sarif(tool: &str, results: &[(&str, &str)]) -> Vec<u8> {
    let results: Vec<Value> = results
        .iter()
        .map(|(rule, file)| {
            serde_json::json!({"ruleId": rule, "level": "error", "message": {"text": format!("{rule} in {file}")},
                "partialFingerprints": {"primaryLocationLineHash": format!("{rule}{file}")},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": file}, "region": {"startLine": 1}}}]})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": tool}}, "results": results}]}))
    .unwrap()
}

#[tokio::test]
async fn two_targets_of_one_project_keep_their_own_findings() {
    let (app, token) = spawn_app_with_project("shop").await;
    let shared = sarif(
        "hadolint",
        &[("DL3007", "Dockerfile"), ("DL3008", "Dockerfile")],
    );
    let email = app
        .push_ok(&token, "?target=svc/email", shared.clone())
        .await;
    let reco = app
        .push_ok(&token, "?target=svc/recommendation", shared.clone())
        .await;
    for answer in [email, reco] {
        assert_eq!(counts(&answer), [2, 0, 0, 0, 2], "{answer}");
    }
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 4);
    // fixing DL3007 in one service fixes it there only
    let one = sarif("hadolint", &[("DL3008", "Dockerfile")]);
    let fixed = app.push_ok(&token, "?target=svc/email", one).await;
    assert_eq!(fixed["fixed"], 1);
    let open: Vec<(String, String)> = app
        .rows("SELECT target, rule_id FROM findings WHERE state = 'open' ORDER BY target, rule_id")
        .await;
    assert_eq!(
        open,
        [
            ("svc/email".into(), "DL3008".into()),
            ("svc/recommendation".into(), "DL3007".into()),
            ("svc/recommendation".into(), "DL3008".into()),
        ]
    );
    // the other service's next scan changes nothing, and reopens nothing
    let again = app
        .push_ok(&token, "?target=svc/recommendation", shared)
        .await;
    assert_eq!(counts(&again), [0, 2, 0, 0, 2], "{again}");
}

#[tokio::test]
async fn a_tools_names_in_different_containers_are_one_scanner() {
    let (app, token) = spawn_app_with_project("shop").await;
    let oss = sarif("Semgrep OSS", &[("r1", "a.py")]);
    let first = app.push_ok(&token, "?target=repo", oss).await;
    assert_eq!(first["scanner"], "semgrep");
    let plain = sarif("semgrep", &[("r1", "a.py")]);
    let again = app.push_ok(&token, "?target=repo", plain).await;
    assert_eq!(
        (again["new"].as_i64(), again["unchanged"].as_i64()),
        (Some(0), Some(1))
    );
}

#[tokio::test]
async fn a_retagged_image_keeps_its_findings() {
    let (app, token) = spawn_app_with_project("shop").await;
    let report = sarif("grype", &[("CVE-2024-1", "usr/lib/libssl.so")]);
    let image = "?target=registry.example.com/shop/api";
    app.push_ok(&token, &format!("{image}:1.4"), report.clone())
        .await;
    let retagged = app
        .push_ok(&token, &format!("{image}:1.5%40sha256:abc"), report)
        .await;
    assert_eq!(
        (retagged["new"].as_i64(), retagged["unchanged"].as_i64()),
        (Some(0), Some(1))
    );
    let target: String = app.scalar("SELECT DISTINCT target FROM findings").await;
    assert_eq!(target, "registry.example.com/shop/api");
}

#[tokio::test]
async fn a_clean_scan_of_a_named_format_closes_what_was_fixed() {
    let (app, token) = spawn_app_with_project("shop").await;
    let nuclei = concat!(
        r#"{"template-id":"exposed-git","info":{"name":"Exposed .git","severity":"medium"},"type":"http","host":"https://shop.example","matched-at":"https://shop.example/.git/config","timestamp":"2026-12-01T10:00:00Z"}"#,
        "\n"
    );
    let site = "?target=https://shop.example";
    let first = app.push_ok(&token, site, nuclei.into()).await;
    assert_eq!(
        (first["scanner"].as_str(), first["new"].as_i64()),
        (Some("nuclei"), Some(1))
    );
    // nuclei writes nothing when it finds nothing: with the format named, a clean scan
    let named = format!("{site}&format=nuclei");
    let clean = app.push_ok(&token, &named, Vec::new()).await;
    assert_eq!(
        (clean["total"].as_i64(), clean["fixed"].as_i64()),
        (Some(0), Some(1)),
        "{clean}"
    );
    assert_eq!(clean["gate"]["passed"], true);
    let spaces = app.push_ok(&token, &named, b"  \n".to_vec()).await;
    assert_eq!(spaces["total"], 0);
    // without a format there is no telling which tool found nothing
    let bad_request = StatusCode::BAD_REQUEST;
    app.push_refused(
        Some(&token),
        "?target=x",
        Vec::new(),
        bad_request,
        "name its format",
    )
    .await;
}

#[tokio::test]
async fn the_sql_and_rust_spellings_of_identity_agree() {
    let app = spawn_app().await;
    let names = server::ingest::tools::ALIASES
        .iter()
        .map(|(alias, _)| alias.to_string())
        .chain(
            [
                "Semgrep OSS",
                " KubeLinter ",
                "OWASP  ZAP",
                "Snyk Code",
                "trivy",
                "Dependency-Check",
                "CodeQL",
            ]
            .map(String::from),
        );
    for name in names {
        let sql: String = sqlx::query_scalar("SELECT bosun_scanner_id($1)")
            .bind(&name)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(sql, server::ingest::tools::scanner_id(&name), "{name:?}");
    }
    let fp = [7u8; 32];
    for (scanner, target) in [
        ("semgrep", "github.com/acme/api"),
        ("trivy", ""),
        ("zap", "https://shop.example/é"),
    ] {
        let sql: Vec<u8> = sqlx::query_scalar("SELECT bosun_scoped_fingerprint($1, $2, $3)")
            .bind(scanner)
            .bind(target)
            .bind(&fp[..])
            .fetch_one(&app.pool)
            .await
            .unwrap();
        let rust = server::ingest::copy_rows::scoped_fingerprint(scanner, target, &fp);
        assert_eq!(sql, rust.to_vec(), "{scanner} {target}");
    }
}

/// Runs the migrations before `version` on a database of its own, lets `arrange` put data
/// in, then runs the rest: what an upgrade does to a live database.
async fn upgrade_from_before(version: i64, arrange: &str) -> (sqlx::PgPool, String) {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let name = format!("bosun_upgrade_{:016x}", rand::random::<u64>());
    server::db::ensure_database(&url, &name).await.unwrap();
    let pool = server::db::connect_with(PgConnectOptions::from_str(&url).unwrap().database(&name))
        .await
        .unwrap();
    let before: Vec<_> = server::db::MIGRATOR
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    let earlier = sqlx::migrate::Migrator {
        migrations: Cow::Owned(before),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    earlier.run(&pool).await.unwrap();
    sqlx::raw_sql(arrange).execute(&pool).await.unwrap();
    server::db::migrate(&pool).await.unwrap();
    (pool, name)
}

#[tokio::test]
async fn upgrading_keeps_every_findings_id_state_and_history() {
    let (pool, name) = upgrade_from_before(
        20261206000022,
        r#"
        INSERT INTO projects (slug, name) VALUES ('web', 'Web');
        INSERT INTO scans (project_id, status, format, scanner, target)
             VALUES (1, 'accepted', 'sarif', 'Semgrep OSS', 'repo'),
                    (1, 'accepted', 'semgrep', 'semgrep', 'repo');
        INSERT INTO scopes (project_id, scanner, target, last_scan_id, last_scan_at)
             VALUES (1, 'Semgrep OSS', 'repo', 1, now() - interval '1 day'),
                    (1, 'semgrep', 'repo', 2, now());
        INSERT INTO findings (project_id, fingerprint, scanner, target, layer, severity,
                              scanner_severity, title, rule_id, first_scan_id, last_scan_id,
                              state)
             VALUES (1, '\x0101010101010101010101010101010101010101010101010101010101010101',
                     'Semgrep OSS', 'repo', 'code', 'high', 'high', 'SQL injection', 'r1', 1, 1,
                     'confirmed'),
                    (1, '\x0202020202020202020202020202020202020202020202020202020202020202',
                     'Checkov', 'k8s', 'cluster_config', 'medium', 'medium', 'Privileged', 'CKV_K8S_16',
                     1, 1, 'risk_accepted');
        INSERT INTO audit_events (project_id, subject_type, subject_id, action, after)
             VALUES (1, 'finding', 1, 'state_changed', '{"state": "confirmed"}');
        "#,
    )
    .await;
    let rows: Vec<(i64, String, String, Vec<u8>)> =
        sqlx::query_as("SELECT id, scanner, state::text, fingerprint FROM findings ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    use server::ingest::copy_rows::scoped_fingerprint;
    assert_eq!(
        rows,
        [
            (
                1,
                "semgrep".into(),
                "confirmed".into(),
                scoped_fingerprint("semgrep", "repo", &[1; 32]).to_vec()
            ),
            (
                2,
                "checkov".into(),
                "risk_accepted".into(),
                scoped_fingerprint("checkov", "k8s", &[2; 32]).to_vec()
            ),
        ]
    );
    let scopes: Vec<(String, i64)> =
        sqlx::query_as("SELECT scanner, last_scan_id FROM scopes ORDER BY scanner")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        scopes,
        [("semgrep".into(), 2)],
        "two spellings of one tool merge into the newer scope"
    );
    let scans: Vec<String> = sqlx::query_scalar("SELECT DISTINCT scanner FROM scans")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(scans, ["semgrep"]);
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE subject_id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(history, 1);
    pool.close().await;
    let url = std::env::var("DATABASE_URL").unwrap();
    let admin = server::db::connect_with(
        PgConnectOptions::from_str(&url)
            .unwrap()
            .database("postgres"),
    )
    .await
    .unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_known_tools_unreadable_layout_is_refused_and_skipped_items_are_told() {
    let (app, token) = spawn_app_with_project("shop").await;
    // Kubescape's summary says resources fail, but no control says how: not a clean scan
    let unreadable = br#"{"summaryDetails":{"ResourceCounters":{"failedResources":2}},"results":[{"resourceID":"x","controls":[{"controlID":"C-0057"}]}]}"#;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let body = unreadable.to_vec();
    app.push_refused(
        Some(&token),
        "?target=cluster",
        body,
        unprocessable,
        "expected",
    )
    .await;
    let rejected: String = app.scalar("SELECT status::text FROM scans").await;
    assert_eq!(rejected, "rejected", "the scan history shows the refusal");
    // a Semgrep result that is not one Semgrep writes: stored are the others, told is why
    let odd = br#"{"results":[{"check_id":"r","path":"a.py","start":{"line":1},"extra":{"message":"m"}},{"check_id":5}],"errors":[]}"#;
    let pushed = app.push_ok(&token, "?target=repo", odd.to_vec()).await;
    assert_eq!(pushed["total"], 1);
    assert_eq!(pushed["skipped"][0]["count"], 1, "{pushed}");
    assert!(
        pushed["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not one Semgrep writes")
    );
    let stored: serde_json::Value = app
        .scalar("SELECT skipped FROM scans WHERE status = 'accepted'")
        .await;
    assert_eq!(stored[0]["count"], 1);
    // the scan history says so, and shows the refusal's reason
    app.create_user("dev@example.com", bosun_tests::PASSWORD)
        .await;
    app.grant("dev@example.com", "shop", app::workflow::Role::Developer)
        .await;
    let dev = app.client_for("dev@example.com").await;
    let shop = [("project", "shop")];
    let history = app
        .call_expecting(&dev, "list_scans", &shop, StatusCode::OK)
        .await;
    assert!(
        history.contains("1 skipped: a result is not one Semgrep writes"),
        "{history}"
    );
    assert!(
        history.contains("laid out in a way Bosun does not read"),
        "{history}"
    );
}
