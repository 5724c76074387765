//! Headless Chromium for browser tests, driven over WebDriver by fantoccini.
//!
//! [`with_browser`] starts chromedriver on a free port with a fresh profile, runs the test,
//! and closes the session on every path (a panicking test would otherwise leave Chromium
//! running) before re-raising the panic.
//!
//! [`check_page`] runs axe-core (installed by `scripts/install-tools.sh --test`) on the page
//! shown and fails on any serious or critical accessibility violation; it also saves a
//! screenshot. [`set_view`] switches between the desktop, a 390 px phone and the dark theme.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `test` with a new headless Chromium session.
pub async fn with_browser<F, Fut>(test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let port = free_port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/install-tools.sh --test installs it)"),
    );
    let profile =
        std::env::temp_dir().join(format!("bosun-chromium-{port}-{}", std::process::id()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("could not start a Chromium session: {e}"),
        }
    };
    let outcome = AssertUnwindSafe(test(client.clone())).catch_unwind().await;
    let _ = client.close().await;
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the wasm bundle has hydrated the page: clicks sent before are lost.
/// Leptos marks nothing itself, so the app sets `data-hydrated` on `<body>` once mounted.
pub async fn wait_for_hydration(client: &Client) {
    wait_for("hydration", Duration::from_secs(20), || async {
        let v = client
            .execute("return document.body.dataset.hydrated === 'true'", vec![])
            .await
            .ok()?;
        v.as_bool().filter(|b| *b)
    })
    .await;
}

/// Waits until the browser is at `path` (`what` names it in the timeout's panic).
pub async fn wait_for_path(client: &Client, what: &str, timeout: Duration, path: &str) {
    wait_for(what, timeout, || async {
        client
            .current_url()
            .await
            .ok()
            .filter(|u| u.path() == path)
            .map(|_| ())
    })
    .await;
}

/// Waits until the field matching `css` holds a value that `accept` takes; the value.
pub async fn wait_for_value(
    client: &Client,
    what: &str,
    timeout: Duration,
    css: &str,
    accept: impl Fn(&str) -> bool,
) -> String {
    wait_for(what, timeout, || async {
        let field = client.find(Locator::Css(css)).await.ok()?;
        field
            .prop("value")
            .await
            .ok()
            .flatten()
            .filter(|v| accept(v))
    })
    .await
}

/// Clicks the element matching a CSS selector.
pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types `text` into the field matching a CSS selector.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Texts of all elements matching a CSS selector.
pub async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
        out.push(el.text().await.unwrap_or_default());
    }
    out
}

/// Saves what the browser shows as `target/screenshots/<name>.png`, to be looked at.
pub async fn screenshot(client: &Client, name: &str) {
    let dir = crate::workspace_root().join("target").join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// A Chrome DevTools Protocol command, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn cdp(client: &Client, cmd: &'static str, params: serde_json::Value) -> serde_json::Value {
    client
        .issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|e| panic!("DevTools command {cmd}: {e}"))
}

/// How the browser shows pages: [`set_view`] switches, [`check_page`] names screenshots by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// 1280 px wide, light theme (the system preference of a fresh Chromium).
    Desktop,
    /// 1280 px wide with the system asking for a dark theme (`prefers-color-scheme: dark`).
    Dark,
    /// A 390 px wide phone, light theme.
    Phone,
}

impl View {
    fn name(self) -> &'static str {
        match self {
            View::Desktop => "light",
            View::Dark => "dark",
            View::Phone => "390px",
        }
    }

    fn width(self) -> u32 {
        if self == View::Phone { 390 } else { 1280 }
    }
}

const VIEW_HEIGHT: u32 = 900;

async fn emulate_size(client: &Client, view: View, height: u32) {
    cdp(
        client,
        "Emulation.setDeviceMetricsOverride",
        json!({
            "width": view.width(), "height": height, "deviceScaleFactor": 1,
            "mobile": view == View::Phone,
        }),
    )
    .await;
}

/// Shows pages as `view` from now on (the setting outlives navigation).
pub async fn set_view(client: &Client, view: View) {
    emulate_size(client, view, VIEW_HEIGHT).await;
    let scheme = if view == View::Dark { "dark" } else { "light" };
    cdp(
        client,
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
    )
    .await;
}

/// axe-core's browser bundle (`.tools/node_modules/axe-core/axe.min.js`, or under
/// `BOSUN_TOOLS_DIR`), read once.
fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let tools = std::env::var_os("BOSUN_TOOLS_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| crate::workspace_root().join(".tools"));
        let path = tools.join("node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is needed at {} ({e}): run scripts/install-tools.sh --test",
                path.display()
            )
        })
    })
}

/// Runs axe-core on the page shown; every serious or critical violation, described. The
/// page's CSP forbids inline scripts, but a WebDriver script is not the page's: the bundle is
/// injected through `execute`.
pub async fn axe_violations(client: &Client, page: &str) -> Vec<String> {
    let loaded = client
        .execute("return typeof window.axe === 'object'", vec![])
        .await
        .unwrap();
    if loaded != json!(true) {
        client
            .execute(
                &format!("{}\n;return typeof window.axe;", axe_source()),
                vec![],
            )
            .await
            .expect("axe-core loads into the page");
    }
    let violations = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ['violations'] })
                 .then(r => done(r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 6).map(n =>
                      n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' '))
                 }))))
                 .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    let violations = violations.as_array().cloned().unwrap_or_default();
    let (blocking, other): (Vec<_>, Vec<_>) = violations
        .iter()
        .partition(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")));
    if !other.is_empty() {
        let ids: Vec<_> = other
            .iter()
            .map(|v| format!("{} ({})", v["id"], v["impact"]))
            .collect();
        println!("axe on {page}: minor/moderate: {}", ids.join(", "));
    }
    blocking
        .iter()
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| format!("      {}", n.as_str().unwrap_or_default()))
                .collect();
            format!(
                "{page}: {} [{}] {}\n{}",
                v["id"].as_str().unwrap_or_default(),
                v["impact"].as_str().unwrap_or_default(),
                v["help"].as_str().unwrap_or_default(),
                nodes.join("\n")
            )
        })
        .collect()
}

/// Elements sticking out past the right edge of the window (the page scrolls sideways);
/// content inside a scrolling container does not count.
pub async fn overflowing(client: &Client) -> Vec<String> {
    let found = client
        .execute(
            r#"const w = document.documentElement.clientWidth;
               if (document.documentElement.scrollWidth <= w + 1) return [];
               const sticksOut = el => {
                 const r = el.getBoundingClientRect();
                 if (r.right <= w + 1 || r.width === 0) return false;
                 // contained by a clipping or scrolling ancestor that itself fits
                 for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                   if (getComputedStyle(p).overflowX !== 'visible'
                       && p.getBoundingClientRect().right <= w + 1) return false;
                 }
                 return true;
               };
               const name = el => el.tagName.toLowerCase()
                 + (typeof el.className === 'string' && el.className.trim()
                    ? '.' + el.className.trim().split(/\s+/).join('.') : '');
               const out = [];
               for (const el of document.body.querySelectorAll('*')) {
                 if (sticksOut(el) && !(el.parentElement && el.parentElement !== document.body
                                        && sticksOut(el.parentElement))) {
                   out.push(name(el) + ' right=' + Math.round(el.getBoundingClientRect().right));
                   if (out.length >= 8) break;
                 }
               }
               return out.length ? out : ['document scrollWidth ' + document.documentElement.scrollWidth];"#,
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap_or_default()
}

/// What is wrong with the page shown as `view`: serious or critical axe-core violations, and
/// on a phone anything that makes the page scroll sideways. Saves a screenshot of the whole
/// page as `target/screenshots/<page>-<view>.png` either way.
pub async fn page_problems(client: &Client, view: View, page: &str) -> Vec<String> {
    let name = format!("{page}-{}", view.name());
    let mut problems = axe_violations(client, &name).await;
    if view == View::Phone {
        let out = overflowing(client).await;
        if !out.is_empty() {
            problems.push(format!("{name}: scrolls sideways at 390 px: {out:?}"));
        }
    }
    full_page_screenshot(client, view, &name).await;
    problems
}

/// [`page_problems`], failing the test on any.
pub async fn check_page(client: &Client, view: View, page: &str) {
    let problems = page_problems(client, view, page).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A screenshot of the whole page, not just the window: the emulated window is made as tall
/// as the page (at most 6000 px) for the shot.
pub async fn full_page_screenshot(client: &Client, view: View, name: &str) {
    let height = client
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .ok()
        .and_then(|h| h.as_u64())
        .unwrap_or(u64::from(VIEW_HEIGHT));
    let height = u32::try_from(height.clamp(u64::from(VIEW_HEIGHT), 6000)).unwrap_or(VIEW_HEIGHT);
    emulate_size(client, view, height).await;
    screenshot(client, name).await;
    emulate_size(client, view, VIEW_HEIGHT).await;
}
