//! Domain vocabulary shared by the server and the browser (see docs/glossary.md).
//!
//! Each enum parses from its lowercase name and maps to a PostgreSQL enum of the same
//! name on the server, so an invalid value is rejected at the edge, never stored.

mod inputs;
pub use inputs::{
    EMAIL_MAX_CHARS, EmailAddress, InvalidInput, NewPassword, PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS, Slug,
};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a string-backed enum with `as_str`, `Display`, `FromStr` and `ALL`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $pg:literal, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
        #[cfg_attr(feature = "ssr", sqlx(type_name = $pg, rename_all = "snake_case"))]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { what: $what, value: s.chars().take(64).collect() }),
                }
            }
        }
    };
}

/// A string that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}'")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

string_enum!(
    /// Ordered most to least severe, so sorting ascending puts critical first.
    Severity, "severity", "severity" {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
        Info => "info",
    }
);

string_enum!(
    /// The part of the estate a finding is about.
    Layer, "layer", "layer" {
        Code => "code",
        Dependency => "dependency",
        Image => "image",
        ClusterConfig => "cluster_config",
        Secret => "secret",
        Dast => "dast",
        Runtime => "runtime",
    }
);

string_enum!(
    /// Where a finding is in its workflow.
    FindingState, "finding_state", "state" {
        Open => "open",
        Confirmed => "confirmed",
        InProgress => "in_progress",
        Fixed => "fixed",
        FalsePositive => "false_positive",
        RiskAccepted => "risk_accepted",
        Reopened => "reopened",
    }
);

string_enum!(
    /// The kind of thing a finding is about.
    AssetKind, "asset_kind", "asset kind" {
        Repository => "repository",
        Image => "image",
        Workload => "workload",
        Cluster => "cluster",
        Url => "url",
        Host => "host",
    }
);

impl Severity {
    /// CVSS v3 qualitative rating (FIRST's table): 9.0+ critical, 7.0+ high, 4.0+ medium,
    /// 0.1+ low, 0 none (info).
    pub fn from_cvss(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Info => "Info",
        }
    }
}

impl Layer {
    pub fn label(self) -> &'static str {
        match self {
            Layer::Code => "Code",
            Layer::Dependency => "Dependency",
            Layer::Image => "Image",
            Layer::ClusterConfig => "Cluster config",
            Layer::Secret => "Secret",
            Layer::Dast => "DAST",
            Layer::Runtime => "Runtime",
        }
    }
}

impl FindingState {
    pub fn label(self) -> &'static str {
        match self {
            FindingState::Open => "Open",
            FindingState::Confirmed => "Confirmed",
            FindingState::InProgress => "In progress",
            FindingState::Fixed => "Fixed",
            FindingState::FalsePositive => "False positive",
            FindingState::RiskAccepted => "Risk accepted",
            FindingState::Reopened => "Reopened",
        }
    }
}

/// One row of the findings list, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct FindingSummary {
    pub id: i64,
    pub project_slug: String,
    pub project_name: String,
    pub severity: Severity,
    pub layer: Layer,
    pub state: FindingState,
    pub title: String,
    pub rule_id: String,
    /// Human-readable location: `path:line`, image, workload or URL.
    pub location: String,
    pub scanner: String,
    pub first_seen_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    /// When it must be fixed by (`None`: its severity has no SLA).
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its severity's SLA in days: read by [`FindingSummary::assess_sla`] on the server,
    /// never sent to the browser (rows are sent once, kept lean).
    #[serde(skip)]
    pub sla_days: Option<i32>,
    /// Filled in from the fields above by [`FindingSummary::assess_sla`].
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub sla: crate::sla::SlaStatus,
}

impl FindingSummary {
    /// Sets [`FindingSummary::sla`] from the due date as of `now`.
    pub fn assess_sla(&mut self, now: chrono::DateTime<chrono::Utc>) {
        self.sla = crate::sla::assess(self.state, self.due_at, self.sla_days, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_case_insensitively_and_rejects_others() {
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert_eq!("cluster_config".parse::<Layer>(), Ok(Layer::ClusterConfig));
        let err = "urgent".parse::<Severity>().unwrap_err();
        assert_eq!(err.to_string(), "unknown severity 'urgent'");
    }

    #[test]
    fn every_name_round_trips() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>(), Ok(*s));
        }
        for s in FindingState::ALL {
            assert_eq!(s.to_string().parse::<FindingState>(), Ok(*s));
        }
    }

    #[test]
    fn cvss_boundaries_follow_the_first_table() {
        assert_eq!(Severity::from_cvss(9.0), Severity::Critical);
        assert_eq!(Severity::from_cvss(8.9), Severity::High);
        assert_eq!(Severity::from_cvss(7.0), Severity::High);
        assert_eq!(Severity::from_cvss(6.9), Severity::Medium);
        assert_eq!(Severity::from_cvss(4.0), Severity::Medium);
        assert_eq!(Severity::from_cvss(0.1), Severity::Low);
        assert_eq!(Severity::from_cvss(0.0), Severity::Info);
    }

    #[test]
    fn severity_orders_most_severe_first() {
        let mut v = vec![Severity::Low, Severity::Critical, Severity::Medium];
        v.sort();
        assert_eq!(v, vec![Severity::Critical, Severity::Medium, Severity::Low]);
    }
}
