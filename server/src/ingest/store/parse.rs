//! The parser's side of a write. Parsing is CPU work on possibly large input, so it runs on
//! a blocking thread and hands the writer chunks of findings over a small channel, each
//! finding already routed and encoded as COPY content (the costly part of writing a row):
//! that work happens while the writer waits for the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::outcome::{SkippedItems, tally_skipped};
use super::{Header, IngestError, Routing};
use crate::ingest::copy_rows::EncodedFinding;
use crate::ingest::{FindingSink, NewFinding, ParseError, ReportFormat, normalize, tools};

/// Findings per chunk handed from the parser to the writer.
const CHUNK: usize = 2_500;

/// Findings, each with the index of its destination (`None`: no routing rule matched).
pub(super) type Chunk = Vec<(Option<usize>, EncodedFinding)>;

/// What the parser thread sends the writer. A header, if any, comes first: the sink sends
/// none once it has handed on a finding (see [`ChannelSink::header`]).
enum Message {
    Header(Header),
    Findings(Chunk),
}

/// A [`FindingSink`] that hands chunks of findings to the async writer. When the writer
/// has gone (it failed), findings are dropped and the parser runs out harmlessly.
struct ChannelSink {
    tx: mpsc::Sender<Message>,
    chunk: Chunk,
    routing: Arc<Routing>,
    /// The scanner named by the header, or the format's tool when findings came first.
    scanner: Option<String>,
    default_scanner: String,
    target: String,
    skipped: Vec<SkippedItems>,
}

impl ChannelSink {
    fn flush(&mut self) {
        if !self.chunk.is_empty() {
            let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
            let _ = self.tx.blocking_send(Message::Findings(chunk));
        }
    }
}

impl FindingSink for ChannelSink {
    /// Only a header before the first finding counts: the scanner is part of every row's
    /// content, so it cannot change within a report.
    fn header(&mut self, scanner: String, scanner_version: Option<String>) {
        if self.scanner.is_some() {
            return;
        }
        let scanner =
            tools::scanner_id(&normalize::header_text(&scanner, normalize::caps::SCANNER));
        let scanner_version = scanner_version
            .map(|v| normalize::header_text(&v, normalize::caps::SCANNER_VERSION))
            .filter(|v| !v.is_empty());
        self.scanner = Some(scanner.clone());
        let _ = self.tx.blocking_send(Message::Header(Header {
            scanner,
            scanner_version,
        }));
    }

    fn skipped(&mut self, reason: String) {
        tally_skipped(&mut self.skipped, reason);
    }

    fn finding(&mut self, mut finding: NewFinding) {
        normalize::cap_stored_text(&mut finding);
        let scanner = self
            .scanner
            .get_or_insert_with(|| self.default_scanner.clone());
        let encoded = EncodedFinding::of(scanner, &self.target, &finding);
        self.chunk.push((self.routing.route(&finding), encoded));
        if self.chunk.len() >= CHUNK {
            self.flush();
        }
    }
}

/// What the parser thread ends with: its result, how long it ran, and what it skipped.
type Parsed = (Result<(), ParseError>, Duration, Vec<SkippedItems>);

/// The parser thread, as the writer awaits its end.
pub(super) struct Parser(JoinHandle<Parsed>);

/// Starts parsing `body` (a report of `format` about `target`) on a blocking thread: the
/// writer reads its header and findings from the [`Inbox`].
pub(super) fn spawn(
    format: &'static dyn ReportFormat,
    body: Bytes,
    target: String,
    routing: Arc<Routing>,
) -> (Parser, Inbox) {
    let (tx, rx) = mpsc::channel(2);
    let parser = tokio::task::spawn_blocking(move || {
        let mut sink = ChannelSink {
            tx,
            chunk: Vec::with_capacity(CHUNK),
            routing,
            scanner: None,
            default_scanner: format.scanner(),
            target,
            skipped: Vec::new(),
        };
        let started = Instant::now();
        // an empty body of a named format is a clean scan: its tool found nothing
        let result = if body.iter().all(u8::is_ascii_whitespace) {
            let scanner = sink.default_scanner.clone();
            sink.header(scanner, None);
            Ok(())
        } else {
            format.parse_into(&body, &mut sink)
        };
        if result.is_ok() {
            sink.flush();
        }
        (result, started.elapsed(), sink.skipped)
    });
    let inbox = Inbox {
        rx,
        pending: None,
        waited: Duration::ZERO,
    };
    (Parser(parser), inbox)
}

impl Parser {
    /// Waits for the parser to end: how long it ran and what it skipped, or why the report
    /// cannot be read.
    pub(super) async fn join(
        self,
        format: &'static dyn ReportFormat,
    ) -> Result<(Duration, Vec<SkippedItems>), IngestError> {
        match self.0.await {
            Ok((Ok(()), parsed, skipped)) => Ok((parsed, skipped)),
            Ok((Err(err), _, _)) => Err(IngestError::Parse(err)),
            // a parser bug must not take the request down with it: refuse the report instead
            Err(join) => Err(IngestError::Parse(ParseError {
                format: format.name(),
                message: format!(
                    "the parser failed on this report ({join}); please report this as a Bosun bug"
                ),
                line: None,
                column: None,
                layout: false,
            })),
        }
    }
}

/// The writer's end of the channel: first the report's [`Inbox::header`], then its
/// [`Inbox::findings`].
pub(super) struct Inbox {
    rx: mpsc::Receiver<Message>,
    /// Findings that came first, in a report without a header.
    pending: Option<Chunk>,
    /// Time spent waiting for the parser (the database is idle meanwhile).
    pub(super) waited: Duration,
}

impl Inbox {
    async fn recv(&mut self) -> Option<Message> {
        let wait_started = Instant::now();
        let message = self.rx.recv().await?;
        self.waited += wait_started.elapsed();
        Some(message)
    }

    /// The report's header: the parser's first message, if it sends one; else the one of
    /// a report that names no scanner, its format's tool.
    pub(super) async fn header(&mut self, format: &'static dyn ReportFormat) -> Header {
        match self.recv().await {
            Some(Message::Header(header)) => header,
            Some(Message::Findings(chunk)) => {
                self.pending = Some(chunk);
                Header::of(format)
            }
            None => Header::of(format),
        }
    }

    /// The next chunk of findings, after the [`Inbox::header`]; `None` once the parser is
    /// done (or gone).
    pub(super) async fn findings(&mut self) -> Option<Chunk> {
        if let Some(chunk) = self.pending.take() {
            return Some(chunk);
        }
        loop {
            match self.recv().await? {
                Message::Findings(chunk) => return Some(chunk),
                // never sent after the first message (see `Message`)
                Message::Header(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use app::domain::{Layer, Severity};

    use super::*;
    use crate::ingest::copy_rows::scoped_fingerprint;
    use crate::ingest::format_named;
    use crate::ingest::routing::Destination;

    fn sink(capacity: usize) -> (ChannelSink, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(capacity);
        let routing = Routing::One(Destination {
            project_id: 1,
            project_slug: "web".into(),
        });
        let sink = ChannelSink {
            tx,
            chunk: Vec::new(),
            routing: Arc::new(routing),
            scanner: None,
            default_scanner: "nuclei".into(),
            target: "https://example.test".into(),
            skipped: Vec::new(),
        };
        (sink, rx)
    }

    fn finding(id: u8) -> NewFinding {
        NewFinding::new([id; 32], Layer::Dast, Severity::High, "a finding")
    }

    /// The messages sent so far: `Ok(header)` or `Err(chunk)`.
    fn sent(rx: &mut mpsc::Receiver<Message>) -> Vec<Result<Header, Chunk>> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|m| match m {
                Message::Header(header) => Ok(header),
                Message::Findings(chunk) => Err(chunk),
            })
            .collect()
    }

    #[test]
    fn the_first_header_is_sent_normalised_and_later_ones_ignored() {
        let (mut sink, mut rx) = sink(8);
        sink.header("  Trivy\u{7}".into(), Some(" ".into()));
        sink.header("grype".into(), Some("1.0".into()));
        let sent = sent(&mut rx);
        assert_eq!(sent.len(), 1);
        let Ok(header) = &sent[0] else {
            panic!("a header first")
        };
        assert_eq!(header.scanner, "trivy");
        assert_eq!(header.scanner_version, None, "a blank version is none");
        assert_eq!(sink.scanner.as_deref(), Some("trivy"));
    }

    #[test]
    fn findings_before_any_header_are_the_format_tools_and_end_its_header() {
        let (mut sink, mut rx) = sink(8);
        sink.finding(finding(1));
        sink.header("trivy".into(), None);
        sink.flush();
        let sent = sent(&mut rx);
        assert_eq!(sent.len(), 1, "no header after a finding");
        let Err(chunk) = &sent[0] else {
            panic!("findings, not a header")
        };
        let expected = scoped_fingerprint("nuclei", "https://example.test", &[1; 32]);
        assert_eq!(chunk[0].1.fingerprint, expected);
        assert_eq!(chunk[0].0, Some(0), "routed to the one destination");
    }

    #[test]
    fn findings_are_sent_in_chunks() {
        let (mut sink, mut rx) = sink(8);
        sink.header("nuclei".into(), Some("3.1".into()));
        for i in 0..=CHUNK {
            sink.finding(finding(i as u8));
        }
        let before_flush = sent(&mut rx);
        assert_eq!(before_flush.len(), 2, "the header and one full chunk");
        assert!(matches!(&before_flush[1], Err(chunk) if chunk.len() == CHUNK));
        sink.flush();
        sink.flush();
        let after = sent(&mut rx);
        assert_eq!(after.len(), 1, "the rest once, nothing for an empty chunk");
        assert!(matches!(&after[0], Err(chunk) if chunk.len() == 1));
    }

    #[test]
    fn skipped_items_are_tallied_not_sent() {
        let (mut sink, mut rx) = sink(8);
        sink.skipped("no location".into());
        sink.skipped("no location".into());
        assert!(sent(&mut rx).is_empty());
        assert_eq!(sink.skipped.len(), 1);
        assert_eq!(sink.skipped[0].count, 2);
    }

    #[test]
    fn a_sink_whose_writer_is_gone_drops_findings() {
        let (mut sink, rx) = sink(1);
        drop(rx);
        sink.header("nuclei".into(), None);
        for i in 0..=CHUNK {
            sink.finding(finding(i as u8));
        }
        sink.flush();
        assert!(sink.chunk.is_empty());
    }

    fn inbox(messages: Vec<Message>) -> Inbox {
        let (tx, rx) = mpsc::channel(messages.len().max(1));
        for m in messages {
            assert!(tx.try_send(m).is_ok(), "room for every message");
        }
        Inbox {
            rx,
            pending: None,
            waited: Duration::ZERO,
        }
    }

    fn chunk_of(ids: &[u8]) -> Chunk {
        ids.iter()
            .map(|&id| {
                let f = finding(id);
                (Some(0), EncodedFinding::of("nuclei", "t", &f))
            })
            .collect()
    }

    async fn chunk_sizes(inbox: &mut Inbox) -> Vec<usize> {
        let mut sizes = Vec::new();
        while let Some(chunk) = inbox.findings().await {
            sizes.push(chunk.len());
        }
        sizes
    }

    #[tokio::test]
    async fn the_header_comes_first_then_the_findings() {
        let header = Header {
            scanner: "zap".into(),
            scanner_version: Some("2.14".into()),
        };
        let mut inbox = inbox(vec![
            Message::Header(header.clone()),
            Message::Findings(chunk_of(&[1, 2])),
            Message::Findings(chunk_of(&[3])),
        ]);
        let nuclei = format_named("nuclei").unwrap();
        assert_eq!(inbox.header(nuclei).await, header);
        assert_eq!(chunk_sizes(&mut inbox).await, vec![2, 1]);
    }

    #[tokio::test]
    async fn findings_without_a_header_are_the_format_tools_and_none_is_lost() {
        let mut inbox = inbox(vec![
            Message::Findings(chunk_of(&[1, 2, 3])),
            Message::Findings(chunk_of(&[4])),
        ]);
        let nuclei = format_named("nuclei").unwrap();
        assert_eq!(inbox.header(nuclei).await, Header::of(nuclei));
        assert_eq!(chunk_sizes(&mut inbox).await, vec![3, 1]);
    }

    #[tokio::test]
    async fn a_parser_that_sent_nothing_gives_the_formats_header_and_no_findings() {
        let mut inbox = inbox(Vec::new());
        let sarif = format_named("sarif").unwrap();
        assert_eq!(inbox.header(sarif).await, Header::of(sarif));
        assert!(inbox.findings().await.is_none());
    }

    #[tokio::test]
    async fn a_parser_that_panicked_refuses_the_report() {
        let parser = Parser(tokio::task::spawn_blocking(|| -> Parsed {
            panic!("a parser bug")
        }));
        let err = match parser.join(format_named("sarif").unwrap()).await {
            Err(IngestError::Parse(err)) => err,
            other => panic!("a parse error: {other:?}"),
        };
        assert_eq!(err.format, "sarif");
        assert!(err.message.contains("please report this as a Bosun bug"));
        assert!(!err.layout);
    }

    #[tokio::test]
    async fn a_parse_error_is_the_reports_and_a_parse_its_skipped_items() {
        let failed = Parser(tokio::task::spawn_blocking(|| -> Parsed {
            let err = ParseError {
                format: "trivy",
                message: "expected a JSON object".into(),
                line: Some(1),
                column: Some(1),
                layout: true,
            };
            (Err(err), Duration::ZERO, Vec::new())
        }));
        let Err(IngestError::Parse(err)) = failed.join(format_named("trivy").unwrap()).await else {
            panic!("a parse error");
        };
        assert_eq!(err.message, "expected a JSON object");
        let parsed = Parser(tokio::task::spawn_blocking(|| -> Parsed {
            let skipped = vec![SkippedItems {
                reason: "no rule".into(),
                count: 2,
            }];
            (Ok(()), Duration::from_millis(3), skipped)
        }));
        let (took, skipped) = parsed.join(format_named("trivy").unwrap()).await.unwrap();
        assert_eq!(took, Duration::from_millis(3));
        assert_eq!(skipped[0].count, 2);
    }
}
