//! The frame around every signed-in page: skip link, brand, navigation with the current
//! page marked, who is signed in.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::error::AppError;

use crate::auth::{Logout, whoami};
pub use crate::ui::{ErrorNotice as ErrorAlert, failed_actions, last_error};

/// The text pages show for a failed server function.
pub fn message(err: &AppError) -> String {
    err.message.clone()
}

#[component]
pub fn Brand() -> impl IntoView {
    view! { <a class="brand" href="/">"⚓ Bosun"</a> }
}

/// Whether the navigation entry `href` is the page at `path`: the overview only at `/`,
/// every other entry also for the pages under it (a finding is under Findings).
pub fn is_current(href: &str, path: &str) -> bool {
    if href == "/" {
        return path == "/";
    }
    path == href
        || path
            .strip_prefix(href)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A navigation link, marked `aria-current="page"` on its own page.
#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    let pathname = use_location().pathname;
    let current = move || {
        pathname
            .with(|path| is_current(href, path))
            .then_some("page")
    };
    view! { <a href=href aria-current=current>{label}</a> }
}

#[component]
pub fn AppHeader() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    let logout = ServerAction::<Logout>::new();
    let pathname = use_location().pathname;
    let on_account = move || pathname.with(|p| p == "/account").then_some("page");
    view! {
        // rel=external: the browser moves focus to the target; the router would only scroll
        <a class="skip-link" href="#content" rel="external">"Skip to main content"</a>
        <header class="app-header">
            <Brand/>
            <nav class="app-nav" aria-label="Main">
                <NavLink href="/" label="Overview"/>
                <NavLink href="/findings" label="Findings"/>
                <NavLink href="/projects" label="Projects"/>
                <NavLink href="/my-work" label="My work"/>
                <NavLink href="/settings/sla" label="SLAs"/>
                <NavLink href="/settings/tokens" label="Tokens"/>
                // admins only; the server functions behind these pages check it too
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        user.await.ok().flatten().filter(|u| u.is_admin).map(|_| view! {
                            <NavLink href="/admin/users" label="Users"/>
                            <NavLink href="/admin/teams" label="Teams"/>
                        })
                    })}
                </Transition>
            </nav>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|u| view! {
                        <div class="who">
                            <span class="email" title=u.email.clone()>{u.email.clone()}</span>
                            <a href="/account" aria-current=on_account>"Account"</a>
                            <ActionForm action=logout attr:class="inline">
                                <button type="submit" class="btn-link">"Sign out"</button>
                            </ActionForm>
                        </div>
                    })
                })}
            </Transition>
        </header>
        // where the skip link lands: the page's own content follows
        <span id="content" tabindex="-1"></span>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Page not found"/>
        <main class="not-found">
            <Brand/>
            <h1>"Page not found"</h1>
            <div class="empty">
                <p class="empty-title">"There is no page at this address."</p>
                <p>"The link may be mistyped, or what it pointed to was removed. Start again from the "
                    <a href="/">"overview"</a> " or the " <a href="/findings">"findings"</a> "."</p>
            </div>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::is_current;

    #[test]
    fn the_current_page_is_marked_in_the_navigation() {
        assert!(is_current("/", "/"));
        assert!(!is_current("/", "/findings"));
        assert!(is_current("/findings", "/findings"));
        assert!(is_current("/findings", "/findings/42"));
        assert!(!is_current("/findings", "/findingsx"));
        assert!(is_current("/projects", "/projects/web/scans"));
        assert!(!is_current("/settings/sla", "/settings/tokens"));
    }
}
