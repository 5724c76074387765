//! Unauthenticated uploads cost the server no memory (#12, item 4): the bearer token is
//! checked before any body byte is kept. The server runs in this test's process, which
//! holds nothing else (this binary has one test), so the process's peak resident memory
//! (`VmHWM`) is the server's.

use bosun_tests::spawn_app_with;
use reqwest::StatusCode;

/// Peak resident memory of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

/// A body of `total` bytes streamed from one shared 1 MiB chunk: the client holds no copy.
fn streamed(total: usize) -> reqwest::Body {
    static CHUNK: [u8; 1 << 20] = [b' '; 1 << 20];
    let chunks = total.div_ceil(CHUNK.len());
    let stream = futures::stream::iter(
        (0..chunks).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from_static(&CHUNK))),
    );
    reqwest::Body::wrap_stream(stream)
}

#[tokio::test]
async fn six_unauthenticated_200_mb_uploads_leave_the_servers_memory_where_it_was() {
    // the default limit (256 MiB), as in production
    let app = spawn_app_with(&[("BOSUN_MAX_BODY_BYTES", "268435456")]).await;
    let token = app.project_with_token("web").await;
    // warm up: one real upload, so the server's steady state is in the baseline
    let (status, _) = app
        .push_report(
            Some(&token),
            "?target=t",
            br#"{"version":"2.1.0","runs":[]}"#.to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = peak_rss();
    let size = 200 << 20;
    let uploads = (0..6).map(|i| {
        let url = app.url("/api/v1/reports?target=t");
        async move {
            let request = reqwest::Client::new()
                .post(url)
                .header(reqwest::header::CONTENT_LENGTH, size)
                .body(streamed(size));
            let request = if i % 2 == 0 {
                request.bearer_auth("bosun_wrong")
            } else {
                request
            };
            // a refused upload may see its answer, or a closed connection once the server
            // stops reading: either way it must not be stored or buffered
            request.send().await.map(|r| r.status())
        }
    });
    let outcomes = futures::future::join_all(uploads).await;
    for status in outcomes.iter().flatten() {
        assert_eq!(*status, StatusCode::UNAUTHORIZED, "{outcomes:?}");
    }
    let grown = peak_rss().saturating_sub(before);
    eprintln!(
        "peak RSS grew by {:.1} MB over 6 unauthenticated uploads of 200 MB ({outcomes:?})",
        grown as f64 / 1e6
    );
    assert!(
        grown < 64 << 20,
        "unauthenticated uploads grew the server by {} MB",
        grown >> 20
    );
    // a small unauthenticated upload gets its 401 cleanly
    let (status, body) = app
        .push_report(None, "?target=t", vec![b' '; 1 << 20])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(app.count("SELECT count(*) FROM scans").await, 1);
}
