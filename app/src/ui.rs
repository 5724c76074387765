//! One look: the small set of components every page is built from, so Bosun reads as one
//! product. Each renders the shared class names of `style/main.css` (`btn`, `field`,
//! `toolbar`, `data-table`, `sev`, `badge`, `card`, `stat`, `empty`, `notice`, `page-head`);
//! pages that write the markup by hand use the same classes.
//!
//! Also here: whether the signed-in person is on a team yet ([`my_standing`]), which empty
//! states need to say why a page is empty.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::Severity;
use crate::error::AppError;

/// A page's heading: its name, an optional line saying what it is for, and optional actions
/// on the right (`children`).
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] sub: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="page-head">
            <div>
                <h1>{title}</h1>
                {sub.map(|sub| view! { <p class="page-sub">{sub}</p> })}
            </div>
            {children.map(|actions| view! { <div class="page-actions">{actions()}</div> })}
        </header>
    }
}

/// How much a button stands out: most are plain; one primary action per form; a danger
/// button destroys or revokes something.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tone {
    #[default]
    Plain,
    Primary,
    Danger,
}

impl Tone {
    /// The button's classes.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Plain => "btn",
            Tone::Primary => "btn btn-primary",
            Tone::Danger => "btn btn-danger",
        }
    }
}

/// A form's submit button, disabled while its action runs (`pending`).
#[component]
pub fn SubmitButton(
    #[prop(optional)] tone: Tone,
    /// Smaller, for rows of a table.
    #[prop(optional)]
    small: bool,
    #[prop(optional, into)] pending: Option<Signal<bool>>,
    children: Children,
) -> impl IntoView {
    let class = if small {
        format!("{} btn-sm", tone.class())
    } else {
        tone.class().to_string()
    };
    let busy = move || pending.is_some_and(|p| p.get());
    view! {
        <button type="submit" class=class disabled=busy aria-busy=move || busy().then_some("true")>
            {children()}
        </button>
    }
}

/// A labelled form control: the label above, the input (`children`) below, an optional hint.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    let class = if class.is_empty() {
        "field".to_string()
    } else {
        format!("field {class}")
    };
    view! {
        <label class=class>
            <span class="field-label">{label}</span>
            {children()}
            {hint.map(|hint| view! { <span class="field-hint">{hint}</span> })}
        </label>
    }
}

/// A labelled `<select>` of `(value, text)` options with `selected` chosen.
#[component]
pub fn Select(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    options: Vec<(String, String)>,
    #[prop(optional, into)] selected: String,
) -> impl IntoView {
    view! {
        <Field label>
            <select name=name>
                {options.into_iter().map(|(value, text)| {
                    let chosen = value == selected;
                    view! { <option value=value selected=chosen>{text}</option> }
                }).collect_view()}
            </select>
        </Field>
    }
}

/// A table that scrolls sideways inside its own frame on a narrow screen, never the page.
/// `label` names it for screen readers (the frame is a focusable region, so keyboard users
/// can scroll it); `children` are its `<thead>`/`<tbody>`.
#[component]
pub fn DataTable(
    #[prop(into)] label: String,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    let class = if class.is_empty() {
        "data-table".to_string()
    } else {
        format!("data-table {class}")
    };
    view! {
        <div class="table-wrap" role="region" aria-label=label tabindex="0">
            <table class=class>{children()}</table>
        </div>
    }
}

/// A severity, in words and colour.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("sev sev-{}", severity.as_str())>{severity.label()}</span> }
}

/// The tone of a [`Badge`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BadgeTone {
    #[default]
    Neutral,
    Ok,
    Warn,
    Bad,
    Calm,
}

/// A short status word in a pill; the word always says it, the colour backs it up.
#[component]
pub fn Badge(
    #[prop(optional)] tone: BadgeTone,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    let tone = match tone {
        BadgeTone::Neutral => "badge",
        BadgeTone::Ok => "badge badge-ok",
        BadgeTone::Warn => "badge badge-warn",
        BadgeTone::Bad => "badge badge-bad",
        BadgeTone::Calm => "badge badge-calm",
    };
    let class = if class.is_empty() {
        tone.to_string()
    } else {
        format!("{tone} {class}")
    };
    view! { <span class=class>{children()}</span> }
}

/// Why a list is empty (`title`) and what to do about it (`children`).
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(optional, into)] class: String,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let class = if class.is_empty() {
        "empty".to_string()
    } else {
        format!("empty {class}")
    };
    view! {
        <div class=class>
            <p class="empty-title">{title}</p>
            {children.map(|c| c())}
        </div>
    }
}

/// A failed server function's message, announced to screen readers.
#[component]
pub fn ErrorNotice(err: AppError) -> impl IntoView {
    view! { <p class="notice notice-error" role="alert">{err.message}</p> }
}

/// An error message (already text), announced to screen readers.
#[component]
pub fn ErrorText(
    #[prop(into)] text: String,
    #[prop(optional, into)] class: String,
) -> impl IntoView {
    view! { <p class=format!("notice notice-error {class}") role="alert">{text}</p> }
}

/// What just worked, announced politely.
#[component]
pub fn OkNotice(#[prop(optional, into)] class: String, children: Children) -> impl IntoView {
    view! { <p class=format!("notice notice-ok {class}") role="status">{children()}</p> }
}

/// The alerts of a page's actions whose last run failed, given each action's last result.
pub fn failed_actions(results: impl IntoIterator<Item = Option<AppError>>) -> impl IntoView {
    results
        .into_iter()
        .flatten()
        .map(|err| view! { <ErrorNotice err/> })
        .collect_view()
}

/// The error of an action's last result, if it failed.
pub fn last_error<T>(result: Option<Result<T, AppError>>) -> Option<AppError> {
    result.and_then(Result::err)
}

/// A panel with a heading.
#[component]
pub fn Card(
    #[prop(into)] title: String,
    #[prop(optional, into)] class: String,
    children: Children,
) -> impl IntoView {
    let class = if class.is_empty() {
        "card".to_string()
    } else {
        format!("card {class}")
    };
    view! {
        <section class=class>
            <h2 class="card-title">{title}</h2>
            {children()}
        </section>
    }
}

/// A number and what it counts; with `href`, the number opens exactly those findings.
#[component]
pub fn Stat(
    #[prop(into)] value: String,
    #[prop(into)] label: String,
    #[prop(optional, into)] href: Option<String>,
) -> impl IntoView {
    match href {
        Some(href) => view! {
            <a class="stat" href=href>
                <span class="stat-value">{value}</span>
                <span class="stat-label">{label}</span>
            </a>
        }
        .into_any(),
        None => view! {
            <div class="stat">
                <span class="stat-value">{value}</span>
                <span class="stat-label">{label}</span>
            </div>
        }
        .into_any(),
    }
}

/// Where the signed-in person stands: on how many teams, whether they see every project,
/// and which admins to ask to be added to a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub teams: i64,
    /// Admins and all-teams security engineers see every project without a team.
    pub sees_everything: bool,
    /// Up to three admins (name and email), for "ask … to add you to a team".
    pub admins: Vec<(String, String)>,
}

impl Standing {
    /// On no team and without an instance-wide role: nothing is visible to them yet.
    pub fn without_team(&self) -> bool {
        self.teams == 0 && !self.sees_everything
    }
}

/// The signed-in person's [`Standing`].
#[server(endpoint = "my_standing")]
pub async fn my_standing() -> Result<Standing, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let (teams, sees_everything): (i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM team_members WHERE user_id = u.id),
                u.is_admin OR u.security_all_teams
           FROM users u WHERE u.id = $1",
    )
    .bind(user.id)
    .fetch_one(&ctx.pool)
    .await?;
    let admins: Vec<(String, String)> = if teams == 0 && !sees_everything {
        sqlx::query_as("SELECT display_name, email FROM users WHERE is_admin ORDER BY id LIMIT 3")
            .fetch_all(&ctx.pool)
            .await?
    } else {
        Vec::new()
    };
    Ok(Standing {
        teams,
        sees_everything,
        admins,
    })
}

/// Who to ask to be put on a team: "Ask Ada Admin (ada@example.com)" or "Ask an admin".
pub fn whom_to_ask(admins: &[(String, String)]) -> String {
    let named: Vec<String> = admins
        .iter()
        .map(|(name, email)| {
            if name.is_empty() {
                email.clone()
            } else {
                format!("{name} ({email})")
            }
        })
        .collect();
    match named.as_slice() {
        [] => "Ask an admin of this Bosun".to_string(),
        [one] => format!("Ask {one}, an admin,"),
        [init @ .., last] => format!("Ask an admin — {} or {last} —", init.join(", ")),
    }
}

/// The empty state of someone on no team yet: why they see nothing, and whom to ask.
#[component]
pub fn NoTeamYet(standing: Standing) -> impl IntoView {
    view! {
        <EmptyState title="You are not on a team yet" class="no-team">
            <p>
                "Findings belong to projects, and projects to teams: you see a project's findings once you are on its team. "
                {whom_to_ask(&standing.admins)} " to add you to your team."
            </p>
        </EmptyState>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whom_to_ask_names_the_admins() {
        assert_eq!(whom_to_ask(&[]), "Ask an admin of this Bosun");
        assert_eq!(
            whom_to_ask(&[("Ada".into(), "ada@example.com".into())]),
            "Ask Ada (ada@example.com), an admin,"
        );
        assert_eq!(
            whom_to_ask(&[
                ("".into(), "a@example.com".into()),
                ("Bo".into(), "bo@example.com".into())
            ]),
            "Ask an admin — a@example.com or Bo (bo@example.com) —"
        );
    }
}
