//! Bosun's user interface: the leptos app rendered on the server and hydrated in the browser.
//!
//! - `domain`: the words of the product (severity, layer, state) shared by both sides, and
//!   what people type, validated once (email, new password, slug).
//! - `auth`: sign-in, sessions and the current user.
//! - `overview`: the overview at `/` (counts from maintained aggregates, SVG charts).
//! - `projects`: the projects list and a project's page with its layer coverage map.
//! - `findings`: the findings explorer page and its server functions; `explorer` its URL
//!   contract, `explorer_groups` its grouped view (`group=rule|package`), `scan_diff` what
//!   one scan changed (`scan=<id>&change=…`, linked from `scans`, a project's scan history).
//! - `account`: a person's own account (password rules, changing the password).
//! - `admin`: invitations, users and teams, for admins.
//! - `tokens`: ingest tokens (the store the CLI uses too, and the tokens page).
//! - `triage`, `bulk`, `assignment`, `comments`: people working findings, one store function
//!   per operation (the CLI calls the same ones); `my_work`: what is the signed-in person's
//!   to do (due soon, mentions, assigned).
//! - `audit` (server only): the audit trail; `outbox`: notifications waiting to be sent.
//! - `gate`, `routing`, `project_settings`: a project's CI gate policy and routing rules,
//!   and the page that edits them.
//! - `error`: the one error type of server functions.
//! - `server_context` (server only): the pool and settings handed to server functions.
//! - `ui`: the shared components every page is built from (one look), with `style/main.css`.

#![recursion_limit = "256"]

#[cfg(feature = "ssr")]
pub mod access;
pub mod account;
pub mod admin;
pub mod assignment;
// server only: its events carry serde_json values, and serde_json is a server dependency
#[cfg(feature = "ssr")]
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod comments;
pub mod domain;
pub mod error;
pub mod explorer;
pub mod explorer_groups;
pub mod finding_page;
pub mod findings;
pub mod gate;
mod layout;
#[cfg(feature = "ssr")]
pub mod markdown;
pub mod my_work;
pub mod outbox;
pub mod overview;
pub mod project_settings;
pub mod projects;
pub mod routing;
pub mod scan_diff;
pub mod scans;
#[cfg(feature = "ssr")]
pub mod server_context;
pub mod sla;
pub mod sla_settings;
pub mod timeline;
pub mod tokens;
pub mod triage;
pub mod ui;
pub mod workflow;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Pages may run only Bosun's own scripts: the wasm bundle and the inline bootstrap scripts
/// leptos marks with this response's nonce. Scanner text that slipped through escaping
/// still could not execute.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = policy.parse() {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/bosun.css"/>
        // each page names itself: "Findings · Bosun"
        <Title formatter=|text: String| if text.is_empty() { "Bosun".to_string() } else { format!("{text} · Bosun") }/>
        <Router>
            <Routes fallback=|| view! { <layout::NotFound/> }>
                <Route path=StaticSegment("") view=overview::OverviewPage/>
                <Route path=StaticSegment("login") view=auth::LoginPage/>
                <Route path=(StaticSegment("invite"), ParamSegment("token")) view=admin::invites::InvitePage/>
                <Route path=StaticSegment("account") view=account::AccountPage/>
                <Route path=(StaticSegment("admin"), StaticSegment("users")) view=admin::users::UsersPage/>
                <Route path=(StaticSegment("admin"), StaticSegment("teams")) view=admin::teams::TeamsPage/>
                <Route path=StaticSegment("findings") view=findings::FindingsPage/>
                <Route path=StaticSegment("my-work") view=my_work::MyWorkPage/>
                // rendered whole before the answer starts, so a missing finding can answer 404
                <Route path=(StaticSegment("findings"), ParamSegment("id")) view=finding_page::FindingPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment("settings"), StaticSegment("sla")) view=sla_settings::SlaSettingsPage/>
                <Route path=(StaticSegment("settings"), StaticSegment("tokens")) view=tokens::TokensPage/>
                <Route path=StaticSegment("projects") view=projects::ProjectsPage/>
                // rendered whole before the answer starts, so a missing project can answer 404
                <Route path=(StaticSegment("projects"), ParamSegment("slug")) view=projects::ProjectPage ssr=SsrMode::Async/>
                <Route
                    path=(StaticSegment("projects"), ParamSegment("slug"), StaticSegment("settings"))
                    view=project_settings::ProjectSettingsPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=(StaticSegment("projects"), ParamSegment("slug"), StaticSegment("scans"))
                    view=scans::ScansPage
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // A signal for people and browser tests alike that the page is now interactive.
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
