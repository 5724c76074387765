//! "My work": due soon (by the stored due date, breached first), mentions of the person and
//! their teams (only on findings they may still see), and what is assigned to them; each
//! section lists exactly what the database says, and says why when it is empty.

use app::workflow::Role;
use bosun_tests::{SHOP_PEOPLE, TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::Value;

/// A Bosun JSON report of findings with rule ids `rules`, all high.
fn report(rules: &[&str]) -> Vec<u8> {
    let findings: Vec<Value> = rules
        .iter()
        .map(|rule| {
            serde_json::json!({
                "rule_id": rule, "title": format!("Problem {rule}"), "severity": "high",
                "layer": "code", "file": format!("src/{rule}.rs"),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "bosun_format": 1, "scanner": {"name": "mw"}, "findings": findings
    }))
    .unwrap()
}

/// Team shop owns web (findings W1..W8), team data owns lake (L1, L2); [`SHOP_PEOPLE`], and
/// dev is also a developer in data.
async fn estate(app: &TestApp) {
    let web = app.shop_and_data(SHOP_PEOPLE).await;
    app.push_ok(
        &web,
        "?target=repo",
        report(&["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"]),
    )
    .await;
    let lake = app.team_project_with_token("data", "lake").await;
    app.push_ok(&lake, "?target=repo", report(&["L1", "L2"]))
        .await;
    app.add_member("data", "dev@example.com", Role::Developer)
        .await;
}

/// The id of the finding with rule `rule`.
async fn finding(app: &TestApp, rule: &str) -> i64 {
    app.count(&format!("SELECT id FROM findings WHERE rule_id = '{rule}'"))
        .await
}

/// The JSON answer of `function` (no fields) for `email`.
async fn call(app: &TestApp, email: &str, function: &str) -> Value {
    let client = app.client_for(email).await;
    let body = app
        .call_expecting(&client, function, &[], StatusCode::OK)
        .await;
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn due_soon_lists_exactly_the_assigned_active_findings_due_within_a_week_breached_first() {
    let (app, ()) = spawn_app_and(estate).await;
    // (rule, assignee, state, due in days; None: no SLA)
    let arrangement: &[(&str, &str, &str, Option<i64>)] = &[
        ("W1", "dev", "open", Some(-3)),         // breached: first
        ("W2", "dev", "in_progress", Some(2)),   // due soon
        ("W3", "dev", "confirmed", Some(-1)),    // breached, after W1
        ("W4", "dev", "open", Some(10)),         // on track: not listed
        ("W5", "dev", "open", None),             // no SLA: not listed
        ("W6", "dev", "fixed", Some(-5)),        // closed: not listed
        ("W7", "dev", "risk_accepted", Some(1)), // accepted: not listed
        ("W8", "dev2", "open", Some(1)),         // someone else's
        ("L1", "dev", "reopened", Some(6)),      // due soon, in lake
    ];
    for (rule, who, state, due) in arrangement {
        let due = due.map_or("NULL".to_string(), |d| {
            format!("now() + interval '{d} days'")
        });
        app.execute(&format!(
            "UPDATE findings SET state = '{state}',
                    assignee_user_id = (SELECT id FROM users WHERE email = '{who}@example.com')
              WHERE rule_id = '{rule}'"
        ))
        .await;
        // after the state, whose change may move the stored due date
        app.execute(&format!(
            "UPDATE findings SET due_at = {due} WHERE rule_id = '{rule}'"
        ))
        .await;
    }
    let listed = |json: &Value| -> Vec<(i64, bool)> {
        json.as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["finding"]["id"].as_i64().unwrap(),
                    d["breached"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    // what the database says, written independently of the app's query
    let direct = "SELECT f.id FROM findings f
                   WHERE f.assignee_user_id = (SELECT id FROM users WHERE email = 'dev@example.com')
                     AND f.state IN ('open', 'confirmed', 'in_progress', 'reopened')
                     AND f.due_at <= now() + interval '7 days'
                     AND EXISTS (SELECT 1 FROM team_members m JOIN users u ON u.id = m.user_id
                                  JOIN projects p ON p.team_id = m.team_id
                                 WHERE u.email = 'dev@example.com' AND p.id = f.project_id)
                   ORDER BY f.due_at, f.id";
    let expected: Vec<i64> = app.scalars(direct).await;
    let named = [
        finding(&app, "W1").await,
        finding(&app, "W3").await,
        finding(&app, "W2").await,
        finding(&app, "L1").await,
    ];
    assert_eq!(expected, named, "the arrangement is what the test means");
    let shown = listed(&call(&app, "dev@example.com", "my_due_soon").await);
    assert_eq!(
        shown,
        [
            (named[0], true),
            (named[1], true),
            (named[2], false),
            (named[3], false)
        ]
    );

    // dev leaves team data: lake's finding is no longer theirs to see, nor listed
    app.execute(
        "DELETE FROM team_members WHERE team_id = (SELECT id FROM teams WHERE slug = 'data')
            AND user_id = (SELECT id FROM users WHERE email = 'dev@example.com')",
    )
    .await;
    let expected: Vec<i64> = app.scalars(direct).await;
    assert_eq!(expected, named[..3]);
    let shown = listed(&call(&app, "dev@example.com", "my_due_soon").await);
    assert_eq!(
        shown.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        expected
    );

    // the page: breached first, in words; the empty state for someone with nothing due
    let dev = app.client_for("dev@example.com").await;
    let html = app.get_text(&dev, "/my-work").await;
    let due = html
        .split(r#"class="work-list due-list""#)
        .nth(1)
        .expect("the due-soon list")
        .split("</ul>")
        .next()
        .unwrap();
    let at = |id: i64| due.find(&format!("data-id=\"{id}\"")).unwrap();
    assert!(at(named[0]) < at(named[1]) && at(named[1]) < at(named[2]));
    assert!(due.contains("3 days overdue"), "{due}");
    assert!(due.contains("Breached"), "{due}");
    let sec = app.client_for("sec@example.com").await;
    let html = app.get_text(&sec, "/my-work").await;
    assert!(html.contains("Nothing of yours is due this week"), "{html}");
    assert!(!html.contains("Push a scanner report"));
}

#[tokio::test]
async fn the_due_soon_query_reads_the_assignee_due_index() {
    let (app, ()) = spawn_app_and(estate).await;
    app.execute(
        "UPDATE findings SET assignee_user_id = (SELECT id FROM users WHERE email = 'dev@example.com')",
    )
    .await;
    app.execute("ANALYZE findings").await;
    let dev = app.user_id("dev@example.com").await;
    let mut conn = app.pool.acquire().await.unwrap();
    // the table is tiny here: without this the planner rightly reads it whole
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let plan: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN {}", app::my_work::db::due_soon_sql()))
            .bind(dev)
            .bind(7)
            .bind(50_i64)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("findings_assignee_due_idx"), "{plan}");
    assert!(
        !plan.contains("Sort"),
        "read in due order, not sorted: {plan}"
    );
}

/// Comments `body` on the finding with rule `rule` as `email`, `ago` days ago.
async fn comment(app: &TestApp, email: &str, rule: &str, body: &str, ago: i64) -> i64 {
    let client = app.client_for(email).await;
    let id = finding(app, rule).await.to_string();
    let answer = app
        .call_expecting(
            &client,
            "add_comment",
            &[("finding_id", id.as_str()), ("body", body)],
            StatusCode::OK,
        )
        .await;
    let comment: i64 = answer.trim().parse().unwrap();
    app.execute(&format!(
        "UPDATE comments SET created_at = now() - interval '{ago} days' - interval '{comment} seconds'
          WHERE id = {comment}"
    ))
    .await;
    comment
}

#[tokio::test]
async fn mentions_list_the_latest_mention_per_finding_the_person_can_still_see() {
    let (app, ()) = spawn_app_and(estate).await;
    app.execute("UPDATE users SET display_name = 'Sam Sec' WHERE email = 'sec@example.com'")
        .await;
    let on_w1 = comment(&app, "sec@example.com", "W1", "@dev can you look?", 2).await;
    let later_on_w1 = comment(&app, "dev2@example.com", "W1", "ping @dev", 1).await;
    let team_on_w2 = comment(&app, "sec@example.com", "W2", "cc @shop", 3).await;
    comment(&app, "dev@example.com", "W3", "note to self @dev", 0).await;
    comment(&app, "sec@example.com", "W4", "long ago @dev", 40).await;
    comment(
        &app,
        "sec@example.com",
        "W5",
        "`@dev` in code, mail dev@example.com",
        0,
    )
    .await;
    let on_lake = comment(&app, "outsider@example.com", "L1", "@dev from data", 0).await;
    let _ = on_w1;

    let rows = |json: &Value| -> Vec<(i64, String, Option<String>)> {
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["comment_id"].as_i64().unwrap(),
                    m["author_email"].as_str().unwrap().to_string(),
                    m["team"].as_str().map(str::to_string),
                )
            })
            .collect()
    };
    // what the database says: the latest comment per finding mentioning dev or a team of
    // dev's, by someone else, in 30 days, on a project dev may see
    let direct = "SELECT DISTINCT ON (c.finding_id) c.id, c.created_at
                    FROM comments c JOIN comment_mentions m ON m.comment_id = c.id
                    JOIN findings f ON f.id = c.finding_id
                    JOIN users me ON me.email = 'dev@example.com'
                   WHERE (m.user_id = me.id OR m.team_id IN
                           (SELECT team_id FROM team_members WHERE user_id = me.id))
                     AND c.author_id <> me.id AND c.created_at > now() - interval '30 days'
                     AND f.project_id IN (SELECT p.id FROM projects p JOIN team_members tm
                                            ON tm.team_id = p.team_id WHERE tm.user_id = me.id)
                   ORDER BY c.finding_id, c.created_at DESC";
    let by_time = format!("SELECT id FROM ({direct}) d ORDER BY created_at DESC");
    let expected: Vec<i64> = app.scalars(&by_time).await;
    assert_eq!(expected, [on_lake, later_on_w1, team_on_w2]);
    let json = call(&app, "dev@example.com", "my_mentions").await;
    assert_eq!(
        rows(&json),
        [
            (on_lake, "outsider@example.com".into(), None),
            (later_on_w1, "dev2@example.com".into(), None),
            (team_on_w2, "sec@example.com".into(), Some("shop".into())),
        ]
    );
    assert_eq!(json["handle"], "dev");

    // dev leaves data: the mention on lake's finding goes with the project
    app.execute(
        "DELETE FROM team_members WHERE team_id = (SELECT id FROM teams WHERE slug = 'data')
            AND user_id = (SELECT id FROM users WHERE email = 'dev@example.com')",
    )
    .await;
    let expected: Vec<i64> = app.scalars(&by_time).await;
    assert_eq!(expected, [later_on_w1, team_on_w2]);
    let json = call(&app, "dev@example.com", "my_mentions").await;
    assert_eq!(
        rows(&json).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        expected
    );

    // the page links each to its comment and says who; the lake finding's title is gone
    let dev = app.client_for("dev@example.com").await;
    let html = app.get_text(&dev, "/my-work").await;
    let w2 = finding(&app, "W2").await;
    assert!(
        html.contains(&format!("/findings/{w2}#comment-{team_on_w2}")),
        "{html}"
    );
    assert!(
        html.contains("Sam Sec") && html.contains("mentioned team shop"),
        "{html}"
    );
    assert!(!html.contains("Problem L1"), "{html}");

    // someone nobody mentioned (nor their team) is told how mentions reach them
    let outsider = app.client_for("outsider@example.com").await;
    let html = app.get_text(&outsider, "/my-work").await;
    assert!(
        html.contains("No one has mentioned you in the last 30 days"),
        "{html}"
    );
    assert!(
        html.contains("@outsider") && html.contains("@data"),
        "{html}"
    );
}

#[tokio::test]
async fn each_section_has_its_own_empty_state_and_no_team_has_one_for_all() {
    let (app, ()) = spawn_app_and(estate).await;
    app.execute("UPDATE findings SET assignee_user_id = NULL")
        .await;
    let sec = app.client_for("sec@example.com").await;
    let html = app.get_text(&sec, "/my-work").await;
    for said in [
        "Nothing of yours is due this week",
        "No one has mentioned you in the last 30 days",
        "Nothing is assigned to you right now",
    ] {
        assert!(html.contains(said), "{said}: {html}");
    }
    assert!(!html.contains("Push a scanner report"));
    assert!(!html.contains("not on a team"));

    app.create_user("new@example.com", bosun_tests::PASSWORD)
        .await;
    let new = app.client_for("new@example.com").await;
    let html = app.get_text(&new, "/my-work").await;
    assert!(html.contains("You are not on a team yet"), "{html}");
    assert!(
        !html.contains("Nothing of yours is due"),
        "one empty state, not four"
    );
}
