//! The seed's reports: which findings of a project's layer one scan reports, as a compact
//! body that [`SeedFormat`] turns into findings the way a parser does. The store then takes
//! them through the same path as any uploaded report (see
//! [`crate::ingest::store::ingest_with_format`]); only the JSON round trip is skipped.

use app::domain::Layer;
use chrono::{DateTime, Utc};

use super::catalog::{self, ProjectNames};
use crate::ingest::{FindingSink, ParseError, ParsedReport, ReportFormat};

pub struct SeedFormat;

pub static SEED_FORMAT: SeedFormat = SeedFormat;

const NAME: &str = "seed";
const MAGIC: &[u8] = b"bosun-seed/1\n";

/// One scan of a project's layer: what its body says.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedScan {
    pub seed: u64,
    pub project_index: u64,
    pub project: String,
    pub team: String,
    pub layer: Layer,
    pub scanner: u8,
    /// When the scan ran: the findings it reports for the first time were first seen then.
    pub at: DateTime<Utc>,
    /// The indexes of the findings it reports.
    pub findings: Vec<u32>,
}

impl SeedScan {
    pub fn scanner_id(&self) -> &'static str {
        catalog::scanners(self.layer)[self.scanner as usize].0
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.findings.len() * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.seed.to_le_bytes());
        out.extend_from_slice(&self.project_index.to_le_bytes());
        for text in [&self.project, &self.team] {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let layer = catalog::LAYERS.iter().position(|l| *l == self.layer);
        out.push(layer.unwrap_or(0) as u8);
        out.push(self.scanner);
        out.extend_from_slice(&self.at.timestamp_millis().to_le_bytes());
        out.extend_from_slice(&(self.findings.len() as u32).to_le_bytes());
        for i in &self.findings {
            out.extend_from_slice(&i.to_le_bytes());
        }
        out
    }

    pub fn decode(body: &[u8]) -> Option<SeedScan> {
        let mut r = Reader(body.strip_prefix(MAGIC)?);
        let seed = u64::from_le_bytes(r.take()?);
        let project_index = u64::from_le_bytes(r.take()?);
        let project = r.text()?;
        let team = r.text()?;
        let [layer, scanner] = r.take()?;
        let layer = *catalog::LAYERS.get(layer as usize)?;
        catalog::scanners(layer).get(scanner as usize)?;
        let at = DateTime::from_timestamp_millis(i64::from_le_bytes(r.take()?))?;
        let n = u32::from_le_bytes(r.take()?) as usize;
        if r.0.len() != n * 4 {
            return None;
        }
        let findings =
            r.0.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
        Some(SeedScan {
            seed,
            project_index,
            project,
            team,
            layer,
            scanner,
            at,
            findings,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn text(&mut self) -> Option<String> {
        let n = u32::from_le_bytes(self.take()?) as usize;
        if self.0.len() < n {
            return None;
        }
        let (text, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8(text.to_vec()).ok()
    }
}

impl ReportFormat for SeedFormat {
    fn name(&self) -> &'static str {
        NAME
    }

    fn sniff(&self, body: &[u8]) -> bool {
        body.starts_with(MAGIC)
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let scan =
            SeedScan::decode(body).ok_or_else(|| ParseError::invalid(NAME, "not a seed scan"))?;
        let (scanner, version) = catalog::scanners(scan.layer)[scan.scanner as usize];
        let names = ProjectNames {
            seed: scan.seed,
            index: scan.project_index,
            slug: &scan.project,
            team: &scan.team,
        };
        let findings = scan
            .findings
            .iter()
            .map(|&i| {
                let mut f = catalog::finding(&names, scan.layer, scanner, u64::from(i));
                f.seen = Some((scan.at, scan.at));
                f
            })
            .collect();
        Ok(ParsedReport {
            scanner: scanner.to_string(),
            scanner_version: Some(version.to_string()),
            findings,
            skipped: Vec::new(),
        })
    }

    fn parse_into(&self, body: &[u8], sink: &mut dyn FindingSink) -> Result<(), ParseError> {
        // every finding of a seed scan is distinct: no merging of repeats to do
        let report = self.parse(body)?;
        sink.header(report.scanner, report.scanner_version);
        for finding in report.findings {
            sink.finding(finding);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_scan_reads_back_as_written() {
        let scan = SeedScan {
            seed: 9,
            project_index: 4,
            project: "payments-api".into(),
            team: "payments".into(),
            layer: Layer::Image,
            scanner: 1,
            at: DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(),
            findings: vec![0, 5, 7],
        };
        let body = scan.encode();
        assert_eq!(SeedScan::decode(&body), Some(scan));
        assert!(SeedScan::decode(&body[..body.len() - 1]).is_none());
        let report = SEED_FORMAT.parse(&body).unwrap();
        assert_eq!(report.scanner, "grype");
        assert_eq!(report.findings.len(), 3);
        assert!(report.findings.iter().all(|f| f.layer == Layer::Image));
    }
}
