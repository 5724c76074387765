//! The notification outbox: assigning, @mentioning and accepting a risk queue who must hear
//! of it, in the change's own statement; nothing is queued for oneself, for an unchanged
//! assignee, for someone who may not see the finding, or for a refused change.

use bosun_tests::{ONE_FINDING_SARIF, PASSWORD, TestApp, spawn_app};
use reqwest::StatusCode;

/// Every queued row as (kind, recipient person's email or team's slug, actor's email, the
/// action of its audit event, whether that event is about the row's finding), in order.
async fn queued(app: &TestApp) -> Vec<(String, String, String, String, bool)> {
    sqlx::query_as(
        "SELECT o.kind, coalesce(u.email, t.slug), a.email, e.action,
                e.subject_type = 'finding' AND e.subject_id = o.finding_id
                AND e.project_id = o.project_id
           FROM notification_outbox o
           LEFT JOIN users u ON u.id = o.recipient_user_id
           LEFT JOIN teams t ON t.id = o.recipient_team_id
           JOIN users a ON a.id = o.actor_user_id
           JOIN audit_events e ON e.id = o.audit_event_id
          WHERE o.sent_at IS NULL
          ORDER BY o.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

fn row(kind: &str, to: &str, by: &str, action: &str) -> (String, String, String, String, bool) {
    (kind.into(), to.into(), by.into(), action.into(), true)
}

#[tokio::test]
async fn assignments_mentions_and_risk_acceptances_queue_their_notifications() {
    use app::workflow::Role;
    let app = spawn_app().await;
    let people = [
        ("dev@example.com", "shop", Role::Developer),
        ("dev2@example.com", "shop", Role::Developer),
        ("sec@example.com", "shop", Role::Security),
        ("outsider@example.com", "data", Role::Developer),
    ];
    app.shop_and_data_with(ONE_FINDING_SARIF.into(), &people)
        .await;
    let id = app.count("SELECT id FROM findings").await.to_string();
    // a scan assigning its new finding to the owning team is no one's action
    assert!(queued(&app).await.is_empty());

    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let assign = |user: &'static str| {
        let (app, dev, id) = (&app, &dev, id.clone());
        async move {
            let form = [
                ("finding_id", id.as_str()),
                ("user", user),
                ("team", "shop"),
            ];
            let (status, body) = app.call_server_fn(dev, "assign", &form).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    // to dev2 (the team stays shop: no team notification); to oneself: nothing
    assign("dev2@example.com").await;
    let assigned = row(
        "assigned",
        "dev2@example.com",
        "dev@example.com",
        "assigned",
    );
    assert_eq!(queued(&app).await, std::slice::from_ref(&assigned));
    assign("dev@example.com").await;
    assign("dev2@example.com").await;
    assign("dev2@example.com").await;
    assert_eq!(queued(&app).await, [assigned.clone(), assigned.clone()]);

    // the mentioned person who may see the finding and the team; not the author, and not
    // someone outside the project
    let body = "@dev2 @outsider @dev @shop have a look";
    let form = [("finding_id", id.as_str()), ("body", body)];
    let (status, text) = app.call_server_fn(&dev, "add_comment", &form).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let mentions = [
        row(
            "mentioned",
            "dev2@example.com",
            "dev@example.com",
            "commented",
        ),
        row("mentioned", "shop", "dev@example.com", "commented"),
    ];
    let mut rows = queued(&app).await;
    rows[2..].sort();
    assert_eq!(rows[2..], mentions);

    // a refused risk acceptance queues nothing; security's queues the assignees'
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let accept = [
        ("finding_id", id.as_str()),
        ("to", "risk_accepted"),
        ("reason", "internal only"),
        ("risk_accepted_until", until.as_str()),
    ];
    let (status, text) = app.call_server_fn(&dev, "change_state", &accept).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert_eq!(queued(&app).await.len(), 4);
    let sec = app.signed_in_client("sec@example.com", PASSWORD).await;
    let (status, text) = app.call_server_fn(&sec, "change_state", &accept).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let rows = queued(&app).await;
    assert_eq!(
        rows[4..],
        [
            row(
                "risk_accepted",
                "dev2@example.com",
                "sec@example.com",
                "state_changed"
            ),
            row("risk_accepted", "shop", "sec@example.com", "state_changed"),
        ]
    );
    // other moves notify nobody
    let (status, text) = app
        .call_server_fn(&sec, "change_state", &[("finding_id", &id), ("to", "open")])
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(queued(&app).await.len(), 6);
}
