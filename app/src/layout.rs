//! The frame around every signed-in page: brand, navigation, who is signed in.

use leptos::prelude::*;

use crate::error::AppError;

use crate::auth::{Logout, whoami};

/// The text pages show for a failed server function.
pub fn message(err: &AppError) -> String {
    err.message.clone()
}

/// A failed server function's message, announced to screen readers.
#[component]
pub fn ErrorAlert(err: AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{message(&err)}</p> }
}

/// The alerts of a page's actions whose last run failed, given each action's last result.
pub fn failed_actions(results: impl IntoIterator<Item = Option<AppError>>) -> impl IntoView {
    results
        .into_iter()
        .flatten()
        .map(|err| view! { <ErrorAlert err/> })
        .collect_view()
}

/// The error of an action's last result, if it failed.
pub fn last_error<T>(result: Option<Result<T, AppError>>) -> Option<AppError> {
    result.and_then(Result::err)
}

#[component]
pub fn Brand() -> impl IntoView {
    view! { <a class="brand" href="/">"⚓ Bosun"</a> }
}

#[component]
pub fn AppHeader() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="app-header">
            <Brand/>
            <nav>
                <a href="/">"Overview"</a>
                <a href="/projects">"Projects"</a>
                <a href="/findings">"Findings"</a>
                <a href="/my-work">"My work"</a>
                <a href="/settings/sla">"SLAs"</a>
                <a href="/settings/tokens">"Tokens"</a>
                // admins only; the server functions behind these pages check it too
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        user.await.ok().flatten().filter(|u| u.is_admin).map(|_| view! {
                            <a href="/admin/users">"Users"</a>
                            <a href="/admin/teams">"Teams"</a>
                        })
                    })}
                </Transition>
            </nav>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|u| view! {
                        <div class="who">
                            <span class="email">{u.email}</span>
                            <a href="/account">"Account"</a>
                            <ActionForm action=logout attr:class="inline">
                                <button type="submit" class="link">"Sign out"</button>
                            </ActionForm>
                        </div>
                    })
                })}
            </Transition>
        </header>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="not-found">
            <Brand/>
            <h1>"Page not found"</h1>
            <p><a href="/findings">"Back to findings"</a></p>
        </main>
    }
}
