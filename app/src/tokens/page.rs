//! The tokens page, `/settings/tokens`.

use leptos::prelude::*;
use leptos_meta::Title;

use super::*;
use crate::layout::{AppHeader, ErrorAlert, failed_actions, last_error};
use crate::ui::{DataTable, EmptyState, Field, PageHeader, SubmitButton, Tone};

/// `/settings/tokens`: the person's manageable tokens, creating one (shown once) and
/// revoking.
#[component]
pub fn TokensPage() -> impl IntoView {
    // `?scope=project:shop` (from a project's settings): that scope's tokens only
    let query = leptos_router::hooks::use_query_map();
    let only = Memo::new(move |_| {
        query
            .read()
            .get("scope")
            .and_then(|s| TokenScope::parse(&s))
    });
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let view_data = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let created = move || {
        create.value().get().map(|result| match result {
            Ok(new) => view! {
                <div class="invite-link secret-once new-token" role="status">
                    <p>
                        {format!(
                            "New token for {}{}. Store it as a CI secret now: it is shown only this once.",
                            new.scope.label(),
                            new.expires_at
                                .map(|at| format!(", expires {}", at.format("%Y-%m-%d")))
                                .unwrap_or_default()
                        )}
                    </p>
                    <input type="text" readonly class="invite-url token-secret" aria-label="New token" value=new.token/>
                </div>
            }
            .into_any(),
            Err(err) => view! { <ErrorAlert err/> }.into_any(),
        })
    };
    let revoke_error = move || failed_actions([last_error(revoke.value().get())]);
    view! {
        <Title text="Ingest tokens"/>
        <AppHeader/>
        <main class="admin tokens">
            <PageHeader
                title="Ingest tokens"
                sub="CI pipelines and cluster tools push reports with these. A project token writes to its project; a team or cluster-wide token routes findings by routing rules."
            />
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let data = match view_data.await {
                        Ok(data) => data,
                        Err(err) => return view! { <ErrorAlert err/> }.into_any(),
                    };
                    if data.scopes.is_empty() {
                        return view! {
                            <EmptyState title="You do not manage any tokens">
                                <p>"Tokens are made by the ops and security engineers of a project's team, and by admins. "
                                    "Ask one of them for a token, or to give you that role on your team."</p>
                            </EmptyState>
                        }
                        .into_any();
                    }
                    let only = only.get_untracked();
                    let tokens: Vec<TokenInfo> = data
                        .tokens
                        .into_iter()
                        .filter(|t| only.as_ref().is_none_or(|scope| &t.scope == scope))
                        .collect();
                    let only_key = only.as_ref().map(TokenScope::key);
                    let only_label = only.as_ref().map(TokenScope::label);
                    let now = chrono::Utc::now();
                    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                        t.map_or("—".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
                    };
                    view! {
                        <section class="card create-token">
                            <h2 class="card-title">"Create a token"</h2>
                            <ActionForm action=create attr:class="toolbar">
                                <Field label="For">
                                    <select name="scope">
                                        {data.scopes.iter().map(|s| {
                                            let chosen = only_key.as_deref() == Some(s.key().as_str());
                                            view! { <option value=s.key() selected=chosen>{s.label()}</option> }
                                        }).collect_view()}
                                    </select>
                                </Field>
                                <Field label="Name" class="grow">
                                    <input type="text" name="name" placeholder="What uses it (e.g. GitHub Actions)" maxlength=NAME_MAX/>
                                </Field>
                                <Field label="Expires">
                                    <select name="expires_in_days">
                                        {EXPIRY_CHOICES.iter().map(|d| view! {
                                            <option value=d.to_string() selected=*d == 90>{format!("in {d} days")}</option>
                                        }).collect_view()}
                                        <option value="never">"never"</option>
                                    </select>
                                </Field>
                                <SubmitButton tone=Tone::Primary pending=create.pending()>"Create token"</SubmitButton>
                            </ActionForm>
                            {created}
                        </section>
                        {revoke_error}
                        <section>
                            <h2>"Tokens"</h2>
                            {only_label.map(|label| view! {
                                <p class="muted">{format!("Showing the tokens of {label}. ")}<a href="/settings/tokens">"Show all"</a></p>
                            })}
                            {if tokens.is_empty() {
                                view! {
                                    <EmptyState title="No tokens yet">
                                        <p>"Create one above and store it as a secret in your CI pipeline or cluster tool; it is shown only once."</p>
                                    </EmptyState>
                                }.into_any()
                            } else {
                                view! {
                                    <DataTable label="Tokens" class="tokens-table">
                                        <thead><tr>
                                            <th>"Name"</th><th>"For"</th><th>"Starts with"</th><th>"Created"</th>
                                            <th>"Expires"</th><th>"Last used"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th>
                                        </tr></thead>
                                        <tbody>
                                            {tokens.into_iter().map(|t| {
                                                let status = t.status(now);
                                                view! {
                                                    <tr data-token=t.id>
                                                        <td>{if t.name.is_empty() { "—".to_string() } else { t.name.clone() }}</td>
                                                        <td>{t.scope.label()}</td>
                                                        <td><code>{format!("{}…", t.prefix)}</code></td>
                                                        <td class="when">{when(Some(t.created_at))}
                                                            {t.created_by.clone().map(|by| view! { <br/><span class="muted">{by}</span> })}
                                                        </td>
                                                        <td class="when">{t.expires_at.map_or("never".to_string(), |at| at.format("%Y-%m-%d %H:%M").to_string())}</td>
                                                        <td class="when">{when(t.last_used_at)}</td>
                                                        <td><span class=format!("token-status token-{status}")>{status}</span></td>
                                                        <td class="actions-cell">
                                                            {(status != "revoked").then(|| view! {
                                                                <ActionForm action=revoke attr:class="inline">
                                                                    <input type="hidden" name="id" value=t.id/>
                                                                    <SubmitButton tone=Tone::Danger small=true>"Revoke"</SubmitButton>
                                                                </ActionForm>
                                                            })}
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </DataTable>
                                }.into_any()
                            }}
                        </section>
                    }
                    .into_any()
                })}
            </Transition>
        </main>
    }
}
