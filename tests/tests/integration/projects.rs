//! The projects list and a project's page: posture numbers equal direct counts, only
//! visible projects are listed, another team's project answers 404 with a message, and the
//! coverage map marks never-scanned and stale layers.

use app::domain::{Layer, Severity};
use app::projects::{Coverage, ProjectList, ProjectView};
use bosun_tests::{TestApp, spawn_app_with};
use reqwest::StatusCode;

use super::overview::estate;

async fn list(app: &TestApp, email: &str) -> ProjectList {
    let client = app.client_for(email).await;
    let body = app
        .call_expecting(&client, "list_projects", &[], StatusCode::OK)
        .await;
    serde_json::from_str(&body).unwrap()
}

async fn detail(app: &TestApp, email: &str, slug: &str) -> ProjectView {
    let client = app.client_for(email).await;
    let body = app
        .call_expecting(&client, "project_detail", &[("slug", slug)], StatusCode::OK)
        .await;
    serde_json::from_str(&body).unwrap()
}

const ACTIVE: &str = "state IN ('open', 'confirmed', 'in_progress', 'reopened')";

#[tokio::test]
async fn the_list_shows_visible_projects_with_counts_equal_to_direct_counts() {
    let app = spawn_app_with(&[]).await;
    estate(&app).await;
    let admin = list(&app, "boss@example.com").await;
    let mut slugs: Vec<&str> = admin.projects.iter().map(|p| p.slug.as_str()).collect();
    slugs.sort();
    assert_eq!(slugs, ["api", "lake", "orphan", "web"]);
    assert_eq!(admin.total, 4);
    for p in &admin.projects {
        for (i, sev) in Severity::ALL.iter().enumerate() {
            let expected = app
                .count(&format!(
                    "SELECT count(*) FROM findings f JOIN projects p ON p.id = f.project_id
                      WHERE p.slug = '{}' AND f.severity = '{sev}' AND f.{ACTIVE}",
                    p.slug
                ))
                .await;
            assert_eq!(p.open[i], expected, "{} {sev}", p.slug);
        }
        let breached = app
            .count(&format!(
                "SELECT count(*) FROM findings f JOIN projects p ON p.id = f.project_id
                   JOIN project_sla s ON s.project_id = f.project_id
                  WHERE p.slug = '{}' AND f.{ACTIVE} AND {} <= now()",
                p.slug,
                app::sla::sql::DUE_AT
            ))
            .await;
        assert_eq!(p.breached, breached, "{} breached", p.slug);
    }
    let web = admin.projects.iter().find(|p| p.slug == "web").unwrap();
    assert_eq!(web.team_slug.as_deref(), Some("shop"));
    let scanned: Vec<Layer> = Layer::ALL
        .iter()
        .zip(web.last_scans)
        .filter_map(|(l, at)| at.map(|_| *l))
        .collect();
    assert_eq!(
        scanned,
        [
            Layer::Code,
            Layer::Dependency,
            Layer::Image,
            Layer::Secret,
            Layer::Dast
        ],
        "web's semgrep and trivy scopes reported these layers"
    );

    let dev = list(&app, "dev@example.com").await;
    let mut slugs: Vec<&str> = dev.projects.iter().map(|p| p.slug.as_str()).collect();
    slugs.sort();
    assert_eq!(
        slugs,
        ["api", "web"],
        "no other team's project, no project without a team"
    );
}

#[tokio::test]
async fn another_teams_project_is_a_404_with_a_message_like_a_missing_one() {
    let app = spawn_app_with(&[]).await;
    estate(&app).await;
    let dev = app.client_for("dev@example.com").await;
    for slug in ["lake", "orphan", "no-such-project"] {
        let body = app
            .call_expecting(
                &dev,
                "project_detail",
                &[("slug", slug)],
                StatusCode::NOT_FOUND,
            )
            .await;
        assert!(body.contains("No such project."), "{body}");
        let response = dev
            .get(app.url(&format!("/projects/{slug}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "/projects/{slug}");
        let html = response.text().await.unwrap();
        assert!(html.contains("No such project."), "a human message");
    }
    assert_eq!(app.get_status(&dev, "/projects/web").await, StatusCode::OK);
    let html = app.get_text(&dev, "/projects").await;
    assert!(html.contains("/projects/web") && !html.contains("/projects/lake"));
}

#[tokio::test]
async fn the_coverage_map_marks_never_scanned_and_stale_layers() {
    let app = spawn_app_with(&[("BOSUN_COVERAGE_STALE_DAYS", "10")]).await;
    estate(&app).await;
    // web's trivy scope (image) was last scanned 11 days ago: stale at 10 days
    app.execute(
        "UPDATE scopes SET last_scan_at = now() - interval '11 days'
          WHERE scanner = 'trivy' AND project_id = (SELECT id FROM projects WHERE slug = 'web')",
    )
    .await;
    let web = detail(&app, "dev@example.com", "web").await;
    assert_eq!(web.stale_days, 10);
    assert_eq!(web.team_slug.as_deref(), Some("shop"));
    let of = |layer: Layer| web.coverage.iter().find(|c| c.layer == layer).unwrap();
    assert_eq!(of(Layer::Code).coverage, Coverage::Current);
    assert_eq!(of(Layer::Code).scanner.as_deref(), Some("semgrep"));
    assert_eq!(of(Layer::Image).coverage, Coverage::Stale);
    assert_eq!(of(Layer::Image).scanner.as_deref(), Some("trivy"));
    for layer in [Layer::ClusterConfig, Layer::Runtime] {
        assert_eq!(of(layer).coverage, Coverage::Never, "{layer}");
        assert!(of(layer).last_scan_at.is_none());
    }
    for c in &web.coverage {
        let open = app
            .count(&format!(
                "SELECT count(*) FROM findings f JOIN projects p ON p.id = f.project_id
                  WHERE p.slug = 'web' AND f.layer = '{}' AND f.{ACTIVE}",
                c.layer
            ))
            .await;
        assert_eq!(c.open, open, "{}", c.layer);
    }
    assert_eq!(web.scans.len(), 2);
    let dev = app.client_for("dev@example.com").await;
    let html = app.get_text(&dev, "/projects/web").await;
    assert!(html.contains(r#"data-layer="runtime" data-coverage="never""#));
    assert!(html.contains(r#"data-layer="image" data-coverage="stale""#));
    assert!(html.contains("Never scanned") && html.contains("Stale: not scanned in 10 days"));
    assert!(
        html.contains(r#"href="/projects/web/scans""#),
        "links the scan history"
    );
}
