//! Headless Chromium for browser tests, driven over WebDriver by fantoccini.
//!
//! [`with_browser`] starts chromedriver on a free port with a fresh profile, runs the test,
//! and closes the session on every path (a panicking test would otherwise leave Chromium
//! running) before re-raising the panic.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
