//! Real Chromium against a real Bosun: sign in, see pushed findings, filter without reload.

use std::time::Duration;

use bosun_tests::browser::{
    View, check_page, click, page_problems, set_view, texts, type_into, wait_for,
    wait_for_hydration, wait_for_path, wait_for_value, with_browser,
};
use bosun_tests::{PASSWORD, TestApp, spawn_app, spawn_app_and, spawn_app_with_project};
use fantoccini::{Client, Locator};

/// A SARIF report with findings of several severities, one of them hostile.
fn mixed_report() -> String {
    let results: Vec<String> = [
        ("R1", "9.8", "Remote code execution in upload handler", "src/upload.rs", 10),
        ("R2", "7.5", "SQL built from request data", "src/db.rs", 20),
        ("R3", "7.2", "Path traversal in static files", "src/files.rs", 30),
        ("R4", "5.0", "Weak hash for cache keys", "src/cache.rs", 40),
        ("R5", "2.0", "Verbose error page", "src/errors.rs", 50),
        ("R6", "7.0", "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>", "src/<b>x</b>.rs", 60),
    ]
    .iter()
    .map(|(rule, score, msg, path, line)| {
        serde_json::json!({
            "ruleId": rule, "message": {"text": msg}, "properties": {"security-severity": score},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": line}}}]
        })
        .to_string()
    })
    .collect();
    format!(
        r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"BrowserScan"}}}},"results":[{}]}}]}}"#,
        results.join(",")
    )
}

async fn sign_in(client: &Client, app: &TestApp, email: &str, password: &str) {
    client.goto(&app.url("/findings")).await.unwrap();
    // not signed in: the page guard sends us to the sign-in page
    wait_for_path(
        client,
        "the sign-in page",
        Duration::from_secs(10),
        "/login",
    )
    .await;
    wait_for_hydration(client).await;
    type_into(client, "input[name=email]", email).await;
    type_into(client, "input[name=password]", password).await;
    click(client, "form.login-form button[type=submit]").await;
}

#[tokio::test]
async fn pushed_findings_show_up_and_the_severity_filter_works_without_reload() {
    let (app, token) = spawn_app_with_project("storefront").await;
    app.create_user("dev@example.com", PASSWORD).await;
    app.grant(
        "dev@example.com",
        "storefront",
        app::workflow::Role::Developer,
    )
    .await;
    let (status, body) = app
        .push_report(Some(&token), "?target=repo", mixed_report().into_bytes())
        .await;
    assert_eq!(status, 201, "{body}");

    with_browser(|client| async move {
        sign_in(&client, &app, "dev@example.com", PASSWORD).await;
        wait_for("the findings table", Duration::from_secs(15), || async {
            client
                .current_url()
                .await
                .ok()
                .filter(|u| u.path() == "/findings")?;
            (texts(&client, "tr.finding").await.len() == 6).then_some(())
        })
        .await;
        wait_for_hydration(&client).await;

        check_page(&client, View::Desktop, "findings-developer").await;
        let titles = texts(&client, "tr.finding td.title span").await;
        assert!(
            titles.iter().any(|t| t == "SQL built from request data"),
            "{titles:?}"
        );
        // hostile scanner text is shown as text, and nothing in it ran
        assert!(
            titles.iter().any(|t| t.contains("<script>")),
            "the script tag is visible as text: {titles:?}"
        );
        assert_ne!(client.title().await.unwrap(), "pwned");
        assert!(
            client
                .find_all(Locator::Css("tr.finding img, tr.finding b"))
                .await
                .unwrap()
                .is_empty()
        );

        // the filter form is a plain GET form: it works without JavaScript
        click(
            &client,
            "form.explorer-filters input[name=severity][value=high]",
        )
        .await;
        click(&client, "form.explorer-filters button[type=submit]").await;
        let severities = wait_for("only high findings", Duration::from_secs(10), || async {
            let sev = texts(&client, "tr.finding td.severity").await;
            (sev.len() == 3 && sev.iter().all(|s| s == "High")).then_some(sev)
        })
        .await;
        assert_eq!(severities.len(), 3);
        let url = client.current_url().await.unwrap();
        assert_eq!(
            url.query(),
            Some("sort=newest&severity=high"),
            "the filter is in the URL, so it can be shared"
        );
        let total = texts(&client, ".page-head .total").await;
        assert_eq!(total, vec!["3 findings".to_string()]);
        let chips = texts(&client, "nav.chips a.chip").await;
        assert_eq!(chips.len(), 1, "{chips:?}");
        assert!(chips[0].starts_with("Severity: High"), "{chips:?}");
        wait_for_hydration(&client).await;

        // Mark this page load: a full reload would lose the mark. Removing a filter is a
        // link, which the router follows in place.
        client
            .execute("window.__bosunMark = 'still-here'; return null", vec![])
            .await
            .unwrap();
        click(&client, "nav.chips a.chip").await;
        wait_for("all findings again", Duration::from_secs(10), || async {
            (texts(&client, "tr.finding").await.len() == 6).then_some(())
        })
        .await;
        let mark = client
            .execute("return window.__bosunMark || null", vec![])
            .await
            .unwrap();
        assert_eq!(
            mark, "still-here",
            "removing the filter changed the rows without reloading the page"
        );
        assert_ne!(client.title().await.unwrap(), "pwned");
    })
    .await;
}

/// A Bosun JSON report of `n` findings, every fifth critical, the rest medium.
fn many_findings(n: usize) -> Vec<u8> {
    let findings: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "rule_id": format!("M{i}"),
                "title": format!("Finding number {i}"),
                "severity": if i % 5 == 0 { "critical" } else { "medium" },
                "layer": if i % 2 == 0 { "image" } else { "dependency" },
                "file": format!("src/m{i}.rs"),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "bosun_format": 1, "scanner": {"name": "many"}, "findings": findings
    }))
    .unwrap()
}

#[tokio::test]
async fn the_explorer_filters_from_a_pasted_url_and_pages_forward_and_back() {
    let (app, token) = spawn_app_with_project("storefront").await;
    app.create_user("dev@example.com", PASSWORD).await;
    app.grant(
        "dev@example.com",
        "storefront",
        app::workflow::Role::Developer,
    )
    .await;
    app.push_ok(&token, "?target=repo", many_findings(120))
        .await;

    with_browser(|client| async move {
        sign_in_and_land(&client, &app, "dev@example.com").await;
        let rows = || async { texts(&client, "tr.finding td.title span").await };
        let first = wait_for("the first page", Duration::from_secs(15), || async {
            let r = rows().await;
            (r.len() == 50).then_some(r)
        })
        .await;
        assert_eq!(first[0], "Finding number 119", "newest first");
        assert_eq!(
            texts(&client, ".page-head .total").await,
            vec!["120 findings".to_string()]
        );
        wait_for_hydration(&client).await;
        click(&client, "nav.pager a[rel=next]").await;
        let second = wait_for("the second page", Duration::from_secs(10), || async {
            let r = rows().await;
            (r.len() == 50 && r[0] == "Finding number 69").then_some(r)
        })
        .await;
        click(&client, "nav.pager a[rel=next]").await;
        wait_for("the last page", Duration::from_secs(10), || async {
            let r = rows().await;
            (r.len() == 20 && r[19] == "Finding number 0").then_some(())
        })
        .await;
        assert!(
            client
                .find_all(Locator::Css("nav.pager a[rel=next]"))
                .await
                .unwrap()
                .is_empty(),
            "no page after the last"
        );
        click(&client, "nav.pager a[rel=prev]").await;
        wait_for("the second page again", Duration::from_secs(10), || async {
            (rows().await == second).then_some(())
        })
        .await;
        click(&client, "nav.pager a[rel=prev]").await;
        wait_for("the first page again", Duration::from_secs(10), || async {
            (rows().await == first).then_some(())
        })
        .await;

        // a pasted URL: filters, the form showing them, and chips
        client
            .goto(&app.url("/findings?severity=critical&layer=image&state=active&sort=severity"))
            .await
            .unwrap();
        let critical = wait_for("critical image findings", Duration::from_secs(15), || async {
            let sev = texts(&client, "tr.finding td.severity").await;
            (!sev.is_empty() && sev.iter().all(|s| s == "Critical")).then_some(sev)
        })
        .await;
        // every 10th finding is critical and in the image layer
        assert_eq!(critical.len(), 12);
        wait_for_hydration(&client).await;
        let checked = client
            .execute(
                "return [...document.querySelectorAll('form.explorer-filters input:checked')].map(i => i.name + '=' + i.value);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(checked, serde_json::json!(["severity=critical", "layer=image"]));
        let chips = texts(&client, "nav.chips a.chip").await;
        assert_eq!(chips.len(), 3, "{chips:?}");
        check_page(&client, View::Desktop, "findings-explorer").await;
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_message() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    with_browser(|client| async move {
        sign_in(&client, &app, "dev@example.com", "not the password").await;
        let message = wait_for("the error message", Duration::from_secs(10), || async {
            let t = texts(&client, "p.notice-error").await;
            t.into_iter().next().filter(|s| !s.is_empty())
        })
        .await;
        assert_eq!(message, "Email or password is incorrect.");
        check_page(&client, View::Desktop, "login-refused").await;
        assert_eq!(client.current_url().await.unwrap().path(), "/login");
    })
    .await;
}

/// Team shop owns storefront (one finding); dev is a developer and sec a security
/// engineer there. Returns the finding's id.
async fn triage_estate(app: &TestApp) -> i64 {
    let token = app.project_with_token("storefront").await;
    let (status, body) = app
        .push_report(Some(&token), "?target=repo", mixed_report().into_bytes())
        .await;
    assert_eq!(status, 201, "{body}");
    for (email, role) in [
        ("dev@example.com", app::workflow::Role::Developer),
        ("sec@example.com", app::workflow::Role::Security),
    ] {
        app.create_user(email, PASSWORD).await;
        app.grant(email, "storefront", role).await;
    }
    app.count("SELECT id FROM findings WHERE rule_id = 'R2'")
        .await
}

/// Signs in and waits until the sign-in has landed on the findings page.
async fn sign_in_and_land(client: &Client, app: &TestApp, email: &str) {
    sign_in(client, app, email, PASSWORD).await;
    wait_for_path(client, "signed in", Duration::from_secs(15), "/findings").await;
}

async fn open_finding(client: &Client, app: &TestApp, id: i64) {
    client
        .goto(&app.url(&format!("/findings/{id}")))
        .await
        .unwrap();
    wait_for("the finding page", Duration::from_secs(15), || async {
        (!texts(client, "h1.finding-title").await.is_empty()).then_some(())
    })
    .await;
    wait_for_hydration(client).await;
}

/// Runs `test` in a browser signed in as `email`, on the page of finding `id`.
async fn on_finding_page<F, Fut>(app: &TestApp, email: &str, id: i64, test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    with_browser(|client| async move {
        sign_in_and_land(&client, app, email).await;
        open_finding(&client, app, id).await;
        test(client).await;
    })
    .await;
}

async fn state_shown(client: &Client) -> String {
    texts(client, ".finding-state").await.join("")
}

#[tokio::test]
async fn a_developer_triages_and_comments_with_a_mention_and_hostile_text_stays_inert() {
    let (app, finding) = spawn_app_and(triage_estate).await;
    on_finding_page(&app, "dev@example.com", finding, |client| async move {
        assert_eq!(state_shown(&client).await, "Open");
        // a developer is offered the everyday moves, not the security decisions
        let offered = texts(&client, "form.state-change option").await;
        assert!(offered.contains(&"Confirmed".to_string()), "{offered:?}");
        assert!(!offered.contains(&"Risk accepted".to_string()), "{offered:?}");
        assert!(!offered.contains(&"False positive".to_string()), "{offered:?}");
        // one reason box for every move: a reason cannot be typed against the wrong change
        let reason_boxes = client
            .find_all(Locator::Css(".actions input[name=reason]"))
            .await
            .unwrap();
        assert_eq!(reason_boxes.len(), 1, "one box for all of a developer's moves");

        check_page(&client, View::Desktop, "finding-developer").await;
        click(&client, "form.state-change option[value=confirmed]").await;
        click(&client, "form.state-change button").await;
        wait_for("the new state", Duration::from_secs(10), || async {
            (state_shown(&client).await == "Confirmed").then_some(())
        })
        .await;

        // the picker offers the people who may work on it; choosing one assigns at once
        let offered = texts(&client, "form.assign-form select[name=user] option").await;
        assert_eq!(offered.len(), 3, "nobody, dev and sec: {offered:?}");
        click(&client, "form.assign-form option[value='sec@example.com']").await;
        click(&client, "form.assign-form button").await;
        wait_for("the picked assignee", Duration::from_secs(10), || async {
            texts(&client, "dd.assignee")
                .await
                .into_iter()
                .find(|t| t.starts_with("sec@example.com"))
        })
        .await;

        // take it on: the assignment shows at once
        click(&client, "form.assign-me button").await;
        wait_for("the assignment", Duration::from_secs(10), || async {
            texts(&client, "dd.assignee")
                .await
                .into_iter()
                .find(|t| t.starts_with("dev@example.com"))
        })
        .await;

        let hostile = "Reproduced, @sec please look. <img src=x onerror=\"document.title='pwned'\"> [x](javascript:document.title='pwned')";
        type_into(&client, "form.comment-form textarea", hostile).await;
        click(&client, "form.comment-form button").await;
        let shown = wait_for("the comment", Duration::from_secs(10), || async {
            texts(&client, "article.comment .comment-body").await.into_iter().next()
        })
        .await;
        assert!(shown.contains("@sec please look"), "{shown}");
        // the mention of someone on the project is a link to their findings
        assert_eq!(texts(&client, "article.comment a.mention").await, ["@sec"]);
        assert!(
            client
                .find_all(Locator::Css("article.comment img, article.comment a[href^='javascript']"))
                .await
                .unwrap()
                .is_empty(),
            "no live image or script link in a comment"
        );
        assert_ne!(client.title().await.unwrap(), "pwned");
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM comment_mentions m JOIN users u ON u.id = m.user_id
              WHERE u.email = 'sec@example.com'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM findings WHERE state = 'confirmed'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings f JOIN users u ON u.id = f.assignee_user_id
              WHERE f.state = 'confirmed' AND u.email = 'dev@example.com'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn security_accepts_a_risk_with_an_expiry_in_the_browser() {
    let (app, finding) = spawn_app_and(triage_estate).await;
    let severity: String = app
        .scalar(&format!(
            "SELECT severity::text FROM findings WHERE id = {finding}"
        ))
        .await;
    assert_ne!(
        severity, "critical",
        "the test needs a finding that is not critical"
    );
    on_finding_page(&app, "sec@example.com", finding, |client| async move {
        let form = "form.state-change";
        // the severity control starts at the finding's own severity, never at Critical
        let preselected = client
            .execute("return document.querySelector('form.severity-override select').value;", vec![])
            .await
            .unwrap();
        assert_eq!(preselected, serde_json::json!(severity));
        click(&client, &format!("{form} option[value=risk_accepted]")).await;
        check_page(&client, View::Desktop, "finding-triage").await;
        // without a justification the server refuses, and says why
        click(&client, &format!("{form} button")).await;
        let error = wait_for("the refusal", Duration::from_secs(10), || async {
            texts(&client, ".actions p.notice-error").await.into_iter().next().filter(|t| !t.is_empty())
        })
        .await;
        assert!(error.contains("expiry") || error.contains("justification"), "{error}");
        type_into(&client, &format!("{form} input[name=reason]"), "Only reachable from the admin VPN").await;
        let until = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
        // date inputs take what the browser's locale expects; set the value directly
        client
            .execute(
                &format!("document.querySelector('{form} input[name=risk_accepted_until]').value = arguments[0];"),
                vec![serde_json::json!(until)],
            )
            .await
            .unwrap();
        click(&client, &format!("{form} button")).await;
        wait_for("the accepted risk", Duration::from_secs(10), || async {
            (state_shown(&client).await == "Risk accepted").then_some(())
        })
        .await;
        check_page(&client, View::Desktop, "finding-risk-accepted").await;
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE state = 'risk_accepted'
               AND risk_accepted_until > now() + interval '29 days'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn security_accepts_the_risk_of_several_findings_at_once_from_the_list() {
    let app = spawn_app().await;
    triage_estate(&app).await;
    let picked: Vec<i64> = app
        .scalars("SELECT id FROM findings WHERE rule_id IN ('R4', 'R5') ORDER BY id")
        .await;
    let app_ref = &app;
    let picked_ref = &picked;
    with_browser(|client| async move {
        let app = app_ref;
        sign_in_and_land(&client, app, "sec@example.com").await;
        wait_for("the findings", Duration::from_secs(15), || async {
            (texts(&client, "tr.finding").await.len() == 6).then_some(())
        })
        .await;
        wait_for_hydration(&client).await;
        // every open finding shows its SLA; these were first seen just now: the critical
        // one (7-day SLA) is due within 7 days, so due soon; the rest are on track
        let slas = texts(&client, "td.due .sla").await;
        assert!(
            slas.iter()
                .all(|s| s.starts_with("On track") || s.starts_with("Due soon")),
            "{slas:?}"
        );
        assert!(slas.iter().any(|s| s.starts_with("On track")), "{slas:?}");
        assert!(slas.iter().any(|s| s.starts_with("Due soon")), "{slas:?}");

        for id in picked_ref {
            click(
                &client,
                &format!("tr.finding[data-id='{id}'] td.select input"),
            )
            .await;
        }
        let count = wait_for("the bulk bar", Duration::from_secs(10), || async {
            texts(&client, ".bulk-count").await.into_iter().next()
        })
        .await;
        assert_eq!(count, "2 selected");
        check_page(&client, View::Desktop, "findings-bulk-bar").await;
        client
            .find(Locator::Css(".bulk-move select"))
            .await
            .unwrap()
            .select_by_value("risk_accepted")
            .await
            .unwrap();
        let until = (chrono::Utc::now() + chrono::Duration::days(14))
            .format("%Y-%m-%d")
            .to_string();
        wait_for("the expiry field", Duration::from_secs(10), || async {
            client
                .find(Locator::Css(".bulk-move input[name=risk_accepted_until]"))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        // date inputs take what the browser's locale expects; set the value directly
        client
            .execute(
                "const input = document.querySelector('.bulk-move input[name=risk_accepted_until]');
                 input.value = arguments[0];
                 input.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![serde_json::json!(until)],
            )
            .await
            .unwrap();
        type_into(
            &client,
            ".bulk-bar input.bulk-reason",
            "Low impact, tracked in the Q3 hardening epic",
        )
        .await;
        click(&client, ".bulk-move button[type=submit]").await;
        let result = wait_for("the bulk result", Duration::from_secs(10), || async {
            texts(&client, ".bulk-result").await.into_iter().next()
        })
        .await;
        assert_eq!(result, "Changed 2 findings.");
        // the list refetches: both now read risk accepted, their SLA paused
        wait_for("the updated rows", Duration::from_secs(10), || async {
            let states = texts(&client, "tr.finding td.state").await;
            (states.iter().filter(|s| *s == "Risk accepted").count() == 2).then_some(())
        })
        .await;
        let paused = texts(&client, "td.due .sla-paused").await;
        assert_eq!(paused.len(), 2, "{paused:?}");
        assert!(
            texts(&client, ".bulk-count").await.is_empty(),
            "the selection is cleared"
        );
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE state = 'risk_accepted'
               AND id IN (SELECT subject_id FROM audit_events
                           WHERE reason = 'Low impact, tracked in the Q3 hardening epic')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn an_admin_invites_someone_who_joins_through_the_link() {
    let app = spawn_app().await;
    app.create_admin("boss@example.com").await;
    let app_ref = &app;
    with_browser(|client| async move {
        let app = app_ref;
        sign_in_and_land(&client, app, "boss@example.com").await;
        client.goto(&app.url("/admin/users")).await.unwrap();
        wait_for("the invite form", Duration::from_secs(15), || async {
            client
                .find(Locator::Css("form.invite-form input[name=email]"))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        wait_for_hydration(&client).await;
        check_page(&client, View::Desktop, "admin-users").await;
        type_into(
            &client,
            "form.invite-form input[name=email]",
            "newcomer@example.com",
        )
        .await;
        click(&client, "form.invite-form button[type=submit]").await;
        let link = wait_for_value(
            &client,
            "the invitation link",
            Duration::from_secs(10),
            "input.invite-url",
            |v| v.contains("/invite/"),
        )
        .await;

        // the newcomer, in a browser without Bosun's cookie
        client.delete_all_cookies().await.unwrap();
        client.goto(&link).await.unwrap();
        wait_for("the invitation page", Duration::from_secs(15), || async {
            texts(&client, ".invite-email")
                .await
                .into_iter()
                .find(|t| t == "newcomer@example.com")
        })
        .await;
        wait_for_hydration(&client).await;
        check_page(&client, View::Desktop, "invite-accept").await;
        for (field, value) in [
            ("display_name", "New Comer"),
            ("password", "a long enough passphrase"),
            ("password_again", "a long enough passphrase"),
        ] {
            type_into(
                &client,
                &format!("form.login-form input[name={field}]"),
                value,
            )
            .await;
        }
        click(&client, "form.login-form button[type=submit]").await;
        wait_for(
            "the newcomer signed in",
            Duration::from_secs(15),
            || async {
                client
                    .current_url()
                    .await
                    .ok()
                    .filter(|u| u.path() == "/findings")?;
                texts(&client, ".who .email")
                    .await
                    .into_iter()
                    .find(|t| t == "newcomer@example.com")
            },
        )
        .await;
        // the link worked once
        client.goto(&link).await.unwrap();
        wait_for("the spent link", Duration::from_secs(15), || async {
            texts(&client, "p.notice-error")
                .await
                .into_iter()
                .find(|t| t.contains("invalid or has expired"))
        })
        .await;
        check_page(&client, View::Desktop, "invite-spent").await;
    })
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'newcomer@example.com'")
            .await,
        1
    );
}

#[tokio::test]
async fn tokens_are_created_shown_once_and_revoked_and_sessions_are_listed() {
    let app = spawn_app().await;
    app.project_with_token("storefront").await;
    app.create_admin("admin@example.com").await;
    // a second session elsewhere, for the account page's list
    app.signed_in_client("admin@example.com", PASSWORD).await;
    let app = &app;
    with_browser(|client| async move {
        sign_in_and_land(&client, app, "admin@example.com").await;
        client.goto(&app.url("/settings/tokens")).await.unwrap();
        wait_for("the tokens page", Duration::from_secs(15), || async {
            texts(&client, ".tokens-table td")
                .await
                .into_iter()
                .find(|t| t == "project storefront")
        })
        .await;
        wait_for_hydration(&client).await;
        type_into(&client, ".create-token input[name=name]", "GitHub Actions").await;
        click(&client, ".create-token button[type=submit]").await;
        let secret = wait_for_value(
            &client,
            "the new token",
            Duration::from_secs(15),
            "input.token-secret",
            |v| v.starts_with("bosun_"),
        )
        .await;
        wait_for("the new token listed", Duration::from_secs(15), || async {
            texts(&client, ".tokens-table td")
                .await
                .into_iter()
                .find(|t| t == "GitHub Actions")
        })
        .await;
        check_page(&client, View::Desktop, "tokens-created").await;
        let (status, _) = app
            .push_report(Some(&secret), "?target=t", mixed_report().into_bytes())
            .await;
        assert_eq!(
            status,
            reqwest::StatusCode::CREATED,
            "the token shown works"
        );
        // revoke it: its row says so and it stops working
        let id = app.count("SELECT max(id) FROM ingest_tokens").await;
        click(
            &client,
            &format!("tr[data-token='{id}'] button[type=submit]"),
        )
        .await;
        wait_for("the token revoked", Duration::from_secs(15), || async {
            texts(&client, &format!("tr[data-token='{id}'] .token-status"))
                .await
                .into_iter()
                .find(|t| t == "revoked")
        })
        .await;
        check_page(&client, View::Desktop, "tokens-revoked").await;
        let (status, _) = app
            .push_report(Some(&secret), "?target=t", mixed_report().into_bytes())
            .await;
        assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);

        client.goto(&app.url("/account")).await.unwrap();
        wait_for("the sessions list", Duration::from_secs(15), || async {
            texts(&client, ".sessions-table .this-browser")
                .await
                .into_iter()
                .next()
        })
        .await;
        wait_for_hydration(&client).await;
        check_page(&client, View::Desktop, "account-sessions").await;
        client
            .find(Locator::XPath(
                "//button[contains(., 'Sign out everywhere else')]",
            ))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(
            "the other session ended",
            Duration::from_secs(15),
            || async {
                texts(&client, "p.notice")
                    .await
                    .into_iter()
                    .find(|t| t.contains("Signed out 1 other session"))
            },
        )
        .await;
    })
    .await;
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 1);
}

#[tokio::test]
async fn security_changes_the_gate_and_adds_a_routing_rule_on_the_project_settings_page() {
    let (app, _) = spawn_app_and(triage_estate).await;
    let app = &app;
    with_browser(|client| async move {
        sign_in_and_land(&client, app, "sec@example.com").await;
        client
            .goto(&app.url("/projects/storefront/settings"))
            .await
            .unwrap();
        wait_for("the settings page", Duration::from_secs(15), || async {
            (!texts(&client, "form.gate-form").await.is_empty()).then_some(())
        })
        .await;
        wait_for_hydration(&client).await;
        // block only criticals from now on
        click(&client, "form.gate-form input[name=high]").await;
        type_into(
            &client,
            "form.gate-form input[name=reason]",
            "pilot quarter",
        )
        .await;
        click(&client, "form.gate-form button[type=submit]").await;
        wait_for("the policy saved", Duration::from_secs(10), || async {
            texts(&client, ".notice-ok")
                .await
                .iter()
                .any(|t| t.starts_with("Gate policy saved"))
                .then_some(())
        })
        .await;
        let described = texts(&client, ".gate-policy p").await.join(" ");
        assert!(
            described.contains("Fails on new critical findings;"),
            "{described}"
        );

        type_into(&client, "form.rule-form input[name=namespace]", "shop-*").await;
        click(&client, "form.rule-form button[type=submit]").await;
        let rules = wait_for("the new rule listed", Duration::from_secs(10), || async {
            let rows = texts(&client, "table.rules-table tbody tr").await;
            (!rows.is_empty()).then_some(rows)
        })
        .await;
        assert!(rules[0].contains("shop-*"), "{rules:?}");
        // the boxes are empty again, ready for the next rule and the next change
        for field in [
            "form.rule-form input[name=namespace]",
            "form.gate-form input[name=reason]",
        ] {
            wait_for_value(
                &client,
                "an emptied box",
                Duration::from_secs(10),
                field,
                str::is_empty,
            )
            .await;
        }
        check_page(&client, View::Desktop, "project-settings").await;
    })
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE subject_type IN ('gate_policy', 'routing_rule')")
            .await,
        2
    );
}

/// A security lead's morning: the overview, a number opened in the explorer, the projects
/// list and a project's coverage map. Screenshots: overview.png, projects.png, project.png.
#[tokio::test]
async fn the_overview_links_its_numbers_to_the_explorer_and_projects_show_coverage() {
    let (app, ()) = spawn_app_and(super::overview::estate).await;
    app.create_user("lead@example.com", PASSWORD).await;
    app.execute("UPDATE users SET is_admin = true WHERE email = 'lead@example.com'")
        .await;
    with_browser(|client| async move {
        sign_in_and_land(&client, &app, "lead@example.com").await;
        // tall windows, so each screenshot shows the whole page
        client.set_window_size(1280, 2400).await.unwrap();
        client.goto(&app.url("/")).await.unwrap();
        wait_for("the overview", Duration::from_secs(15), || async {
            (!texts(&client, "table.matrix").await.is_empty()).then_some(())
        })
        .await;
        wait_for_hydration(&client).await;
        assert_eq!(client.title().await.unwrap(), "Overview · Bosun");
        check_page(&client, View::Desktop, "overview").await;

        // the critical x image cell opens the explorer with exactly that query
        let cell = "tr[data-severity=critical] td[data-layer=image] a";
        let shown = texts(&client, cell).await;
        assert_eq!(shown.len(), 1, "a linked number");
        click(&client, cell).await;
        wait_for_path(
            &client,
            "the explorer",
            Duration::from_secs(10),
            "/findings",
        )
        .await;
        let url = client.current_url().await.unwrap();
        assert_eq!(
            url.query(),
            Some("severity=critical&layer=image&state=active")
        );

        client.goto(&app.url("/projects")).await.unwrap();
        wait_for("the projects list", Duration::from_secs(15), || async {
            (texts(&client, "table.projects-table tbody tr").await.len() == 4).then_some(())
        })
        .await;
        wait_for_hydration(&client).await;
        check_page(&client, View::Desktop, "projects").await;
        click(&client, "tr[data-project=web] th a").await;
        wait_for_path(
            &client,
            "the project page",
            Duration::from_secs(10),
            "/projects/web",
        )
        .await;
        wait_for("the coverage map", Duration::from_secs(15), || async {
            (texts(&client, "li.coverage-tile").await.len() == 7).then_some(())
        })
        .await;
        wait_for_hydration(&client).await;
        let never = texts(&client, "li.coverage-tile.cov-never h3").await;
        assert_eq!(never, ["Cluster config", "Runtime"]);
        check_page(&client, View::Desktop, "project").await;
    })
    .await;
}

/// The pages of Bosun, as an admin sees them: (screenshot name, path); `scan` is the
/// estate's scan.
fn tour(finding: i64, scan: i64) -> Vec<(&'static str, String)> {
    vec![
        ("overview", "/".into()),
        ("findings", "/findings".into()),
        ("findings-by-rule", "/findings?group=rule&state=all".into()),
        (
            "findings-by-package",
            "/findings?group=package&sort=severity".into(),
        ),
        ("scan-diff", format!("/findings?scan={scan}&change=new")),
        ("finding", format!("/findings/{finding}")),
        ("my-work", "/my-work".into()),
        ("projects", "/projects".into()),
        ("project", "/projects/storefront".into()),
        ("project-settings", "/projects/storefront/settings".into()),
        ("scans", "/projects/storefront/scans".into()),
        ("sla-settings", "/settings/sla".into()),
        ("tokens", "/settings/tokens".into()),
        ("account", "/account".into()),
        ("admin-users", "/admin/users".into()),
        ("admin-teams", "/admin/teams".into()),
        ("not-found", "/no/such/page".into()),
    ]
}

/// Opens `path` and waits until the page is interactive.
async fn visit(client: &Client, app: &TestApp, path: &str) {
    client.goto(&app.url(path)).await.unwrap();
    wait_for(&format!("page {path}"), Duration::from_secs(15), || async {
        client.find(Locator::Css("main")).await.ok().map(|_| ())
    })
    .await;
    wait_for_hydration(client).await;
}

/// Every page in three views (light, dark, a 390 px phone): axe-core finds no serious or
/// critical violation, the phone never scrolls sideways, and each is saved as a screenshot
/// under target/screenshots/ for review.
#[tokio::test]
async fn every_page_passes_axe_in_light_dark_and_at_390_px() {
    let (app, finding) = spawn_app_and(triage_estate).await;
    app.create_admin("admin@example.com").await;
    app.execute("UPDATE users SET display_name = 'Ada Admin' WHERE email = 'admin@example.com'")
        .await;
    // the admin has work: overdue, due soon and later findings, and a mention by sec
    app.execute(
        "UPDATE findings SET assignee_user_id = (SELECT id FROM users WHERE email = 'admin@example.com')",
    )
    .await;
    app.execute("UPDATE findings SET due_at = now() - interval '2 days' WHERE rule_id = 'R1'")
        .await;
    app.execute(
        "UPDATE findings SET due_at = now() + interval '3 days' WHERE rule_id IN ('R3', 'R6')",
    )
    .await;
    app.execute(
        "WITH c AS (
            INSERT INTO comments (finding_id, author_id, body)
            SELECT f.id, u.id, '@admin this needs your call on an exception'
              FROM findings f, users u WHERE f.rule_id = 'R2' AND u.email = 'sec@example.com'
            RETURNING id
         )
         INSERT INTO comment_mentions (comment_id, user_id)
         SELECT c.id, u.id FROM c, users u WHERE u.email = 'admin@example.com'",
    )
    .await;
    let scan = app.count("SELECT max(id) FROM scans").await;
    let app = &app;
    with_browser(|client| async move {
        let mut problems = Vec::new();
        client.goto(&app.url("/login")).await.unwrap();
        wait_for_hydration(&client).await;
        for view in [View::Desktop, View::Dark, View::Phone] {
            set_view(&client, view).await;
            client.refresh().await.unwrap();
            wait_for_hydration(&client).await;
            problems.extend(page_problems(&client, view, "login").await);
        }
        set_view(&client, View::Desktop).await;
        sign_in_and_land(&client, app, "admin@example.com").await;
        for view in [View::Desktop, View::Dark, View::Phone] {
            set_view(&client, view).await;
            for (name, path) in tour(finding, scan) {
                visit(&client, app, &path).await;
                problems.extend(page_problems(&client, view, name).await);
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        set_view(&client, View::Desktop).await;

        // the navigation marks the current page, in words for screen readers too
        let finding_path = format!("/findings/{finding}");
        for (path, current) in [
            ("/findings", "Findings"),
            (finding_path.as_str(), "Findings"),
            ("/my-work", "My work"),
            ("/admin/teams", "Teams"),
        ] {
            visit(&client, app, path).await;
            assert_eq!(
                texts(&client, ".app-nav a[aria-current=page]").await,
                vec![current.to_string()],
                "{path}"
            );
        }

        // the skip link is the first stop and lands on the content
        client
            .execute(
                "document.querySelector('.skip-link').focus(); return null",
                vec![],
            )
            .await
            .unwrap();
        let shown = client
            .execute(
                "return document.querySelector('.skip-link').getBoundingClientRect().top >= 0",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            shown,
            serde_json::json!(true),
            "the focused skip link is on screen"
        );
        click(&client, ".skip-link").await;
        let focused = wait_for("focus on the content", Duration::from_secs(5), || async {
            let id = client
                .execute(
                    "return document.activeElement && document.activeElement.id",
                    vec![],
                )
                .await
                .ok()?;
            (id == serde_json::json!("content")).then_some(id)
        })
        .await;
        assert_eq!(focused, serde_json::json!("content"));
    })
    .await;
}

/// Empty states say why a page is empty and what to do: someone on no team is told so and
/// whom to ask; someone on a team with nothing assigned is not told to push a report.
#[tokio::test]
async fn empty_states_say_why_and_what_to_do() {
    let (app, _) = spawn_app_and(triage_estate).await;
    app.create_admin("admin@example.com").await;
    app.execute("UPDATE users SET display_name = 'Ada Admin' WHERE email = 'admin@example.com'")
        .await;
    app.create_user("new@example.com", PASSWORD).await;
    let app = &app;
    with_browser(|client| async move {
        sign_in_and_land(&client, app, "new@example.com").await;
        visit(&client, app, "/my-work").await;
        let said = texts(&client, ".empty.no-team").await.join(" ");
        assert!(said.contains("You are not on a team yet"), "{said}");
        assert!(said.contains("Ada Admin (admin@example.com)"), "{said}");
        assert!(!said.contains("Push a scanner report"), "{said}");
        check_page(&client, View::Desktop, "my-work-no-team").await;

        client.delete_all_cookies().await.unwrap();
        sign_in_and_land(&client, app, "dev@example.com").await;
        visit(&client, app, "/my-work").await;
        let said = texts(&client, ".empty").await.join(" ");
        assert!(said.contains("Nothing is assigned to you"), "{said}");
        assert!(!said.contains("Push a scanner report"), "{said}");
        assert!(!said.contains("not on a team"), "{said}");
        check_page(&client, View::Desktop, "my-work-nothing-assigned").await;
    })
    .await;
}
