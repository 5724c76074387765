//! Bulk triage: many findings at once are assigned, moved to another state or have their
//! risk accepted, with one reason. The same rules as one at a time (`triage`,
//! `assignment`) apply to each finding; the whole batch is refused when the person lacks the
//! right on any of them, and findings the move does not apply to (already in that state,
//! no such move) are skipped and reported rather than failing the batch.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use crate::domain::FindingState;

/// Most findings one bulk action takes.
pub const BULK_MAX: usize = 1_000;

/// What a bulk action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub changed: Vec<i64>,
    pub skipped: Vec<Skipped>,
}

/// A finding a bulk action left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub id: i64,
    pub why: String,
}

impl BulkOutcome {
    /// "Changed 3 findings; skipped 1 (#12: the finding is already fixed)."
    pub fn summary(&self) -> String {
        let n = self.changed.len();
        let mut text = format!("Changed {n} finding{}", if n == 1 { "" } else { "s" });
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .take(5)
                .map(|s| format!("#{}: {}", s.id, s.why))
                .collect();
            let more = self.skipped.len().saturating_sub(reasons.len());
            text.push_str(&format!(
                "; skipped {} ({}{})",
                self.skipped.len(),
                reasons.join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        text.push('.');
        text
    }
}

/// Moves many findings to `to` with one reason (and, to accept a risk, one expiry).
#[server(endpoint = "bulk_change_state")]
pub async fn bulk_change_state(
    #[server(default)] ids: Vec<i64>,
    to: FindingState,
    reason: Option<String>,
    risk_accepted_until: Option<String>,
) -> Result<BulkOutcome, AppError> {
    let ids = checked_ids(ids)?;
    // each move decides what the role needs (transition below); seeing them is the floor
    let (user, findings) =
        crate::access::require_on_findings(&ids, crate::workflow::Action::View).await?;
    let (reason, until) = crate::triage::checked_move(to, reason, risk_accepted_until)?;
    let mut moves = Vec::new();
    let mut skipped = Vec::new();
    for finding in &findings {
        match crate::workflow::transition(finding.state, to, finding.role, false) {
            Ok(_) => moves.push((finding.id, finding.state)),
            Err(refused) if refused.is_forbidden() => {
                return Err(AppError::forbidden(format!(
                    "Nothing was changed: on finding #{} (project {}): {}",
                    finding.id,
                    finding.project_slug,
                    crate::triage::capitalised(&refused.to_string())
                )));
            }
            Err(refused) => skipped.push(Skipped {
                id: finding.id,
                why: refused.to_string(),
            }),
        }
    }
    let ctx = crate::server_context::server_context()?;
    let changed =
        crate::triage::db::set_states(&ctx.pool, &moves, to, until, reason.as_deref(), user.id)
            .await?;
    skipped.extend(
        moves
            .iter()
            .filter(|(id, _)| !changed.contains(id))
            .map(|(id, _)| Skipped {
                id: *id,
                why: "it changed meanwhile".into(),
            }),
    );
    Ok(outcome(changed, skipped))
}

/// Assigns many findings to a person (email) and/or team (slug), with one reason; both
/// empty unassigns them. The person must have a role on every project involved.
#[server(endpoint = "bulk_assign")]
pub async fn bulk_assign(
    #[server(default)] ids: Vec<i64>,
    user: Option<String>,
    team: Option<String>,
    reason: Option<String>,
) -> Result<BulkOutcome, AppError> {
    let ids = checked_ids(ids)?;
    let (actor, findings) =
        crate::access::require_on_findings(&ids, crate::workflow::Action::Assign).await?;
    let (reason, _) = crate::triage::checked_move(FindingState::Open, reason, None)?;
    let projects: Vec<String> = findings
        .iter()
        .map(|f| f.project_slug.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ctx = crate::server_context::server_context()?;
    let (user_id, team_id) =
        crate::assignment::resolve_assignee(&ctx.pool, user, team, &projects).await?;
    crate::assignment::db::set(
        &ctx.pool,
        &ids,
        user_id,
        team_id,
        reason.as_deref(),
        actor.id,
    )
    .await?;
    Ok(outcome(ids, Vec::new()))
}

/// The ids of a bulk action: at least one, at most [`BULK_MAX`], each once.
#[cfg(feature = "ssr")]
fn checked_ids(ids: Vec<i64>) -> Result<Vec<i64>, AppError> {
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Err(AppError::invalid("Select at least one finding."));
    }
    if ids.len() > BULK_MAX {
        return Err(AppError::invalid(format!(
            "{} findings selected; one bulk action takes at most {BULK_MAX}.",
            ids.len()
        )));
    }
    Ok(ids)
}

#[cfg(feature = "ssr")]
fn outcome(mut changed: Vec<i64>, mut skipped: Vec<Skipped>) -> BulkOutcome {
    changed.sort_unstable();
    skipped.sort_by_key(|s| s.id);
    BulkOutcome { changed, skipped }
}

/// The selection of a findings table and the bulk actions on it; pages refetch their
/// findings when [`Bulk::version`] moves.
#[derive(Clone, Copy)]
pub struct Bulk {
    pub selection: RwSignal<BTreeSet<i64>>,
    change: ServerAction<BulkChangeState>,
    assign: ServerAction<BulkAssign>,
}

impl Bulk {
    pub fn new() -> Bulk {
        Bulk {
            selection: RwSignal::new(BTreeSet::new()),
            change: ServerAction::new(),
            assign: ServerAction::new(),
        }
    }

    /// Changes each time a bulk action finishes.
    pub fn version(&self) -> usize {
        self.change.version().get() + self.assign.version().get()
    }
}

impl Default for Bulk {
    fn default() -> Self {
        Bulk::new()
    }
}

/// The moves a bulk action offers.
const BULK_MOVES: &[FindingState] = &[
    FindingState::Confirmed,
    FindingState::InProgress,
    FindingState::Fixed,
    FindingState::FalsePositive,
    FindingState::RiskAccepted,
    FindingState::Reopened,
];

/// The bar above a findings table that acts on the selected findings; shown while any are
/// selected.
#[component]
pub fn BulkBar(bulk: Bulk) -> impl IntoView {
    let selection = bulk.selection;
    let to = RwSignal::new(FindingState::Confirmed.as_str().to_string());
    let reason = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let assignee = RwSignal::new(String::new());
    let team = RwSignal::new(String::new());
    let selected = move || selection.with(|s| s.iter().copied().collect::<Vec<i64>>());
    let apply_move = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(state) = to.get_untracked().parse::<FindingState>() else {
            return;
        };
        bulk.change.dispatch(BulkChangeState {
            ids: selected(),
            to: state,
            reason: Some(reason.get_untracked()),
            risk_accepted_until: Some(until.get_untracked()),
        });
    };
    let apply_assign = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        bulk.assign.dispatch(BulkAssign {
            ids: selected(),
            user: Some(assignee.get_untracked()),
            team: Some(team.get_untracked()),
            reason: Some(reason.get_untracked()),
        });
    };
    // a finished action says what it did, and clears the selection when it worked
    let last = RwSignal::new(None::<Result<String, String>>);
    let report = move |result: Option<Result<BulkOutcome, AppError>>| {
        let Some(result) = result else { return };
        if result.is_ok() {
            selection.set(BTreeSet::new());
        }
        last.set(Some(
            result
                .map(|o| o.summary())
                .map_err(|e| crate::layout::message(&e)),
        ));
    };
    Effect::new(move |_| report(bulk.change.value().get()));
    Effect::new(move |_| report(bulk.assign.value().get()));
    let accepting = move || to.get() == FindingState::RiskAccepted.as_str();
    view! {
        <Show when=move || !selection.with(|s| s.is_empty())>
            <section class="bulk-bar" aria-label="Bulk actions">
                <span class="bulk-count">{move || format!("{} selected", selection.with(|s| s.len()))}</span>
                <form class="bulk-move" on:submit=apply_move>
                    <select name="to" aria-label="Move to" on:change=move |ev| to.set(event_target_value(&ev)) prop:value=move || to.get()>
                        {BULK_MOVES.iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                    </select>
                    <Show when=accepting>
                        <input type="date" name="risk_accepted_until" aria-label="Accepted until"
                            on:input=move |ev| until.set(event_target_value(&ev)) prop:value=move || until.get()/>
                    </Show>
                    <button type="submit" disabled=move || bulk.change.pending().get()>"Move"</button>
                </form>
                <form class="bulk-assign" on:submit=apply_assign>
                    <input type="email" name="user" placeholder="person@email" aria-label="Assign to person"
                        on:input=move |ev| assignee.set(event_target_value(&ev)) prop:value=move || assignee.get()/>
                    <input type="text" name="team" placeholder="team" aria-label="Assign to team"
                        on:input=move |ev| team.set(event_target_value(&ev)) prop:value=move || team.get()/>
                    <button type="submit" disabled=move || bulk.assign.pending().get()>"Assign"</button>
                </form>
                <input type="text" name="reason" class="bulk-reason"
                    placeholder=move || if accepting() { "Justification (required)" } else { "Reason (optional)" }
                    aria-label="Reason"
                    on:input=move |ev| reason.set(event_target_value(&ev)) prop:value=move || reason.get()/>
            </section>
        </Show>
        // one transaction of up to a thousand findings can take a moment: say it is working
        <Show when=move || bulk.change.pending().get() || bulk.assign.pending().get()>
            <p class="notice bulk-progress" role="status">
                <progress aria-label="Applying the bulk action"></progress>
                {move || format!("Applying to {} findings…", selection.with(|s| s.len()))}
            </p>
        </Show>
        {move || last.get().map(|result| match result {
            Ok(text) => view! { <p class="notice bulk-result" role="status">{text}</p> }.into_any(),
            Err(text) => view! { <p class="error bulk-result" role="alert">{text}</p> }.into_any(),
        })}
    }
}
