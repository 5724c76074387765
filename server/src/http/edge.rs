//! What every request goes through first: who is calling (the client's address, also
//! behind trusted proxies), the request's id, and how answers may be cached.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use app::server_context::ClientAddress;

pub static REQUEST_ID_HEADER: header::HeaderName = header::HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request being answered, for errors that tell the client to quote it.
    pub static REQUEST_ID: String;
}

/// The id of the request being answered, when called while answering one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Works out the client's address and gives the request its id.
///
/// The address is the TCP peer's, unless the peer is a trusted proxy
/// (`BOSUN_TRUSTED_PROXIES`): then it is the nearest address in `X-Forwarded-For` that is
/// not itself a trusted proxy. Anyone else's `X-Forwarded-For` is ignored, so it cannot be
/// used to dodge the per-address sign-in limit. Likewise an incoming `X-Request-Id` is kept
/// only from a trusted proxy (an ingress that assigns ids); anyone else's is replaced, so
/// the public cannot plant ids in Bosun's logs.
pub async fn identify(State(config): State<Arc<Config>>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let via_proxy = peer.is_some_and(|ip| config.is_trusted_proxy(ip));
    let client = match peer {
        Some(peer) if via_proxy => Some(forwarded_client(req.headers(), &config).unwrap_or(peer)),
        other => other,
    };
    if let Some(ip) = client {
        req.extensions_mut().insert(ClientAddress(ip));
    }
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| via_proxy && well_formed_id(id))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let value = HeaderValue::from_str(&id).expect("request ids are visible ASCII");
    req.headers_mut()
        .insert(REQUEST_ID_HEADER.clone(), value.clone());
    let mut response = REQUEST_ID.scope(id, next.run(req)).await;
    response
        .headers_mut()
        .insert(REQUEST_ID_HEADER.clone(), value);
    response
}

/// The client address a chain of trusted proxies reports: read `X-Forwarded-For` from the
/// right (nearest hop first) and take the first address that is not a trusted proxy.
fn forwarded_client(headers: &HeaderMap, config: &Config) -> Option<IpAddr> {
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = None;
    for hop in hops.iter().rev() {
        let ip: IpAddr = hop.parse().ok()?;
        nearest = Some(ip);
        if !config.is_trusted_proxy(ip) {
            break;
        }
    }
    nearest
}

fn well_formed_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `Cache-Control: no-store` on every answer but the compiled site's files: pages and JSON
/// may hold what only the signed-in person may see, and must not stay in a shared cache or
/// the browser's back-forward history after sign-out.
pub async fn no_store(req: Request, next: Next) -> Response {
    let static_asset = req.uri().path().starts_with("/pkg/");
    let mut response = next.run(req).await;
    if !static_asset {
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

/// The findings explorer's filter form is a plain GET form (it works without JavaScript),
/// which sends every field, empty or not. A GET of `/findings` carrying empty fields is
/// sent on to the same view without them, so the URL people copy and share stays short.
pub async fn short_explorer_urls(req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::GET
        && req.uri().path() == "/findings"
        && let Some(short) = req.uri().query().and_then(without_empty_fields)
    {
        let to = if short.is_empty() {
            "/findings".to_string()
        } else {
            format!("/findings?{short}")
        };
        return axum::response::IntoResponse::into_response(axum::response::Redirect::to(&to));
    }
    next.run(req).await
}

/// `query` without its empty fields (`q=&severity=high` → `severity=high`); `None` when
/// it has none to drop.
fn without_empty_fields(query: &str) -> Option<String> {
    let empty = |pair: &&str| {
        pair.is_empty() || pair.ends_with('=') && !pair[..pair.len() - 1].contains('=')
    };
    if !query.split('&').any(|pair| empty(&pair)) {
        return None;
    }
    Some(
        query
            .split('&')
            .filter(|pair| !empty(pair))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explorer_urls_lose_only_their_empty_fields() {
        assert_eq!(
            without_empty_fields("q=&state=&severity=high&sort=newest&team="),
            Some("severity=high&sort=newest".to_string())
        );
        assert_eq!(without_empty_fields("q=&state="), Some(String::new()));
        assert_eq!(without_empty_fields("severity=high&q=a%3D"), None);
        assert_eq!(
            without_empty_fields("q=a="),
            None,
            "a value ending in = is a value"
        );
    }

    fn config(proxies: &str) -> Config {
        Config::from_lookup(|k| (k == "BOSUN_TRUSTED_PROXIES").then(|| proxies.to_string()))
            .unwrap()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let config = config("10.0.0.0/8");
        // the client may put anything on the left; only what the proxies added counts
        let got = forwarded_client(&forwarded("6.6.6.6, 203.0.113.9, 10.0.0.2"), &config);
        assert_eq!(got, Some("203.0.113.9".parse().unwrap()));
        let got = forwarded_client(&forwarded("10.0.0.7"), &config);
        assert_eq!(got, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(forwarded_client(&forwarded("not-an-ip"), &config), None);
        assert_eq!(forwarded_client(&HeaderMap::new(), &config), None);
    }

    #[test]
    fn request_ids_from_proxies_must_be_short_and_plain() {
        assert!(well_formed_id("a1b2-c3_d4.e5"));
        assert!(!well_formed_id(""));
        assert!(!well_formed_id(&"a".repeat(65)));
        assert!(!well_formed_id("id with spaces"));
        assert!(!well_formed_id("id\u{7f}"));
    }
}
