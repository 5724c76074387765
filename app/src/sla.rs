//! How long a finding may stay unfixed, when it falls due, and how close that is.
//!
//! All arithmetic is on UTC instants with whole 24-hour days, so daylight-saving changes
//! never move a due date; time zones only matter when a due instant is shown as a date.

use crate::domain::{FindingState, Severity};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Days allowed to fix a finding, by severity; `None` means no SLA. Fields missing from
/// stored JSON take the defaults, so adding a severity never breaks old policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaPolicy {
    pub critical: Option<u32>,
    pub high: Option<u32>,
    pub medium: Option<u32>,
    pub low: Option<u32>,
    pub info: Option<u32>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            critical: Some(7),
            high: Some(30),
            medium: Some(90),
            low: Some(180),
            info: None,
        }
    }
}

/// A project's changes to the instance policy: `Some(days)` replaces that severity's SLA,
/// `None` keeps the instance's. An override cannot remove an SLA, only change its length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaOverrides {
    pub critical: Option<u32>,
    pub high: Option<u32>,
    pub medium: Option<u32>,
    pub low: Option<u32>,
    pub info: Option<u32>,
}

impl SlaPolicy {
    pub fn days(&self, severity: Severity) -> Option<u32> {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    /// The time allowed to fix a finding of this severity.
    pub fn window(&self, severity: Severity) -> Option<Duration> {
        self.days(severity).map(|days| Duration::days(days.into()))
    }

    pub fn with_overrides(&self, overrides: &SlaOverrides) -> SlaPolicy {
        SlaPolicy {
            critical: overrides.critical.or(self.critical),
            high: overrides.high.or(self.high),
            medium: overrides.medium.or(self.medium),
            low: overrides.low.or(self.low),
            info: overrides.info.or(self.info),
        }
    }
}

/// When a finding first seen at `first_seen` must be fixed by, or `None` without an SLA.
///
/// `paused` is the total time the finding spent risk-accepted: the clock stops while a
/// risk is accepted, so the due date moves later by exactly that much. A negative pause
/// is treated as none rather than pulling the date earlier. Absurdly long SLAs saturate at
/// the latest representable instant instead of overflowing.
pub fn due_at(
    first_seen: DateTime<Utc>,
    severity: Severity,
    policy: &SlaPolicy,
    paused: Duration,
) -> Option<DateTime<Utc>> {
    let due = policy
        .window(severity)?
        .checked_add(&paused.max(Duration::zero()))
        .and_then(|allowed| first_seen.checked_add_signed(allowed));
    Some(due.unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// Where a finding stands against its SLA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    OnTrack,
    DueSoon,
    Breached,
    /// Risk accepted: the clock stands still until the acceptance ends.
    Paused,
    /// No SLA applies: the severity has none, or the finding is closed.
    #[default]
    None,
}

impl SlaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SlaStatus::OnTrack => "on_track",
            SlaStatus::DueSoon => "due_soon",
            SlaStatus::Breached => "breached",
            SlaStatus::Paused => "paused",
            SlaStatus::None => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SlaStatus::OnTrack => "On track",
            SlaStatus::DueSoon => "Due soon",
            SlaStatus::Breached => "Breached",
            SlaStatus::Paused => "Paused",
            SlaStatus::None => "",
        }
    }
}

/// Where a finding in `state` stands at `now`, given its due instant and its severity's
/// SLA days as the database computes them (`sql::DUE_AT`, `sql::DAYS`). Fixed findings and
/// false positives are done with their SLA; a risk-accepted one is paused.
pub fn assess(
    state: FindingState,
    due: Option<DateTime<Utc>>,
    days: Option<i32>,
    now: DateTime<Utc>,
) -> SlaStatus {
    if days.is_none() {
        return SlaStatus::None;
    }
    match state {
        FindingState::Fixed | FindingState::FalsePositive => SlaStatus::None,
        FindingState::RiskAccepted => SlaStatus::Paused,
        _ => status(due, now),
    }
}

/// SQL for due dates, over a finding `f` joined to its project's `project_sla s`
/// (`JOIN project_sla s ON s.project_id = f.project_id`).
pub mod sql {
    /// The finding's SLA in days; NULL when its severity has none.
    pub const DAYS: &str = "(CASE f.severity WHEN 'critical' THEN s.critical_days \
        WHEN 'high' THEN s.high_days WHEN 'medium' THEN s.medium_days \
        WHEN 'low' THEN s.low_days ELSE s.info_days END)";
    /// When it falls due: first seen + SLA + time spent risk-accepted; NULL without an SLA.
    /// Whole 24-hour days (`hours`, not `days`: an interval's days follow the session's
    /// time zone across daylight-saving changes).
    pub const DUE_AT: &str = "(f.first_seen_at + f.sla_paused + make_interval(hours => 24 * \
        CASE f.severity WHEN 'critical' THEN s.critical_days \
        WHEN 'high' THEN s.high_days WHEN 'medium' THEN s.medium_days \
        WHEN 'low' THEN s.low_days ELSE s.info_days END))";
}

/// How long before its due instant a finding counts as due soon: 7 days, whatever its
/// severity. One meaning everywhere: the badge, the explorer's `sla=due_soon`, the
/// overview's "due within 7 days" and My work agree (a fifth of the SLA window, tried
/// before, listed findings as due soon that their own badge called on track).
pub const DUE_SOON: Duration = Duration::days(7);

/// The status at `now` of a finding due at `due` (from [`due_at`]).
///
/// A finding is breached from its due instant on: `due == now` is already breached, so the
/// deadline means "fixed before this instant".
pub fn status(due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> SlaStatus {
    let Some(due) = due else {
        return SlaStatus::None;
    };
    if due <= now {
        SlaStatus::Breached
    } else if due - now <= DUE_SOON {
        SlaStatus::DueSoon
    } else {
        SlaStatus::OnTrack
    }
}

/// The calendar date a due instant falls on for someone at `offset` from UTC (the date of
/// the instant itself, so a finding due at 00:30 local is shown as due that day).
pub fn due_local_date(due: DateTime<Utc>, offset: FixedOffset) -> NaiveDate {
    due.with_timezone(&offset).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        rfc3339.parse().unwrap()
    }

    fn date(iso: &str) -> NaiveDate {
        iso.parse().unwrap()
    }

    fn due(first_seen: &str, severity: Severity) -> Option<DateTime<Utc>> {
        due_at(
            at(first_seen),
            severity,
            &SlaPolicy::default(),
            Duration::zero(),
        )
    }

    #[test]
    fn defaults_are_7_30_90_180_and_none_for_info() {
        let policy = SlaPolicy::default();
        assert_eq!(policy.days(Severity::Critical), Some(7));
        assert_eq!(policy.days(Severity::High), Some(30));
        assert_eq!(policy.days(Severity::Medium), Some(90));
        assert_eq!(policy.days(Severity::Low), Some(180));
        assert_eq!(policy.days(Severity::Info), None);
        assert_eq!(policy.window(Severity::High), Some(Duration::days(30)));
        assert_eq!(policy.window(Severity::Info), None);
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let overrides = SlaOverrides {
            critical: Some(3),
            info: Some(365),
            ..SlaOverrides::default()
        };
        let policy = SlaPolicy::default().with_overrides(&overrides);
        assert_eq!(
            policy,
            SlaPolicy {
                critical: Some(3),
                high: Some(30),
                medium: Some(90),
                low: Some(180),
                info: Some(365),
            }
        );
        assert_eq!(
            SlaPolicy::default().with_overrides(&SlaOverrides::default()),
            SlaPolicy::default()
        );
    }

    #[test]
    fn policies_read_partial_json() {
        let policy: SlaPolicy = serde_json::from_str(r#"{"critical": 3, "low": null}"#).unwrap();
        assert_eq!(policy.critical, Some(3));
        assert_eq!(policy.high, Some(30));
        assert_eq!(policy.low, None);
        let overrides: SlaOverrides = serde_json::from_str(r#"{"high": 14}"#).unwrap();
        assert_eq!(
            overrides,
            SlaOverrides {
                high: Some(14),
                ..SlaOverrides::default()
            }
        );
        let round_trip: SlaPolicy =
            serde_json::from_str(&serde_json::to_string(&SlaPolicy::default()).unwrap()).unwrap();
        assert_eq!(round_trip, SlaPolicy::default());
    }

    #[test]
    fn due_dates_cross_month_year_and_leap_day_ends() {
        let cases = [
            // Late on the last day of a month.
            (
                "2026-01-31T23:30:00Z",
                Severity::Critical,
                "2026-02-07T23:30:00Z",
            ),
            (
                "2026-01-31T23:30:00Z",
                Severity::High,
                "2026-03-02T23:30:00Z",
            ),
            (
                "2026-12-31T23:30:00Z",
                Severity::Low,
                "2027-06-29T23:30:00Z",
            ),
            // The leap day, as start and as due date.
            (
                "2028-02-29T23:30:00Z",
                Severity::Critical,
                "2028-03-07T23:30:00Z",
            ),
            (
                "2028-02-29T23:30:00Z",
                Severity::Medium,
                "2028-05-29T23:30:00Z",
            ),
            (
                "2028-02-22T23:30:00Z",
                Severity::Critical,
                "2028-02-29T23:30:00Z",
            ),
        ];
        for (first_seen, severity, expected) in cases {
            assert_eq!(
                due(first_seen, severity),
                Some(at(expected)),
                "{severity} first seen {first_seen}"
            );
        }
        assert_eq!(due("2028-02-29T23:30:00Z", Severity::Info), None);
    }

    #[test]
    fn risk_acceptance_pauses_the_clock() {
        let first_seen = at("2026-03-01T12:00:00Z");
        let policy = SlaPolicy::default();
        let paused = Duration::days(10) + Duration::hours(5);
        assert_eq!(
            due_at(first_seen, Severity::High, &policy, paused),
            Some(at("2026-04-10T17:00:00Z"))
        );
        assert_eq!(
            due_at(first_seen, Severity::High, &policy, -Duration::days(3)),
            Some(at("2026-03-31T12:00:00Z")),
            "a negative pause must not pull the due date earlier"
        );
        assert_eq!(due_at(first_seen, Severity::Info, &policy, paused), None);
    }

    #[test]
    fn absurd_slas_saturate_instead_of_overflowing() {
        let policy = SlaPolicy {
            low: Some(u32::MAX),
            ..SlaPolicy::default()
        };
        assert_eq!(
            due_at(
                at("2026-01-01T00:00:00Z"),
                Severity::Low,
                &policy,
                Duration::days(1)
            ),
            Some(DateTime::<Utc>::MAX_UTC)
        );
        assert_eq!(
            due_at(
                at("2026-01-01T00:00:00Z"),
                Severity::Critical,
                &SlaPolicy::default(),
                Duration::MAX
            ),
            Some(DateTime::<Utc>::MAX_UTC)
        );
    }

    #[test]
    fn zero_day_sla_is_due_on_first_sight() {
        let policy = SlaPolicy {
            critical: Some(0),
            ..SlaPolicy::default()
        };
        let first_seen = at("2026-05-05T05:05:05Z");
        let due = due_at(first_seen, Severity::Critical, &policy, Duration::zero());
        assert_eq!(due, Some(first_seen));
        assert_eq!(status(due, first_seen), SlaStatus::Breached);
    }

    #[test]
    fn closed_findings_have_no_status_and_accepted_risks_are_paused() {
        let now = at("2026-06-01T00:00:00Z");
        let late = Some(now - Duration::days(1));
        assert_eq!(
            assess(FindingState::Open, late, Some(30), now),
            SlaStatus::Breached
        );
        assert_eq!(
            assess(FindingState::Reopened, late, Some(30), now),
            SlaStatus::Breached
        );
        for closed in [FindingState::Fixed, FindingState::FalsePositive] {
            assert_eq!(assess(closed, late, Some(30), now), SlaStatus::None);
        }
        assert_eq!(
            assess(FindingState::RiskAccepted, late, Some(30), now),
            SlaStatus::Paused
        );
        assert_eq!(
            assess(FindingState::RiskAccepted, None, None, now),
            SlaStatus::None,
            "nothing to pause without an SLA"
        );
        assert_eq!(
            assess(
                FindingState::InProgress,
                Some(now + Duration::days(8)),
                Some(30),
                now
            ),
            SlaStatus::OnTrack
        );
    }

    #[test]
    fn status_without_an_sla_is_none() {
        assert_eq!(status(None, at("2026-01-01T00:00:00Z")), SlaStatus::None);
    }

    #[test]
    fn due_exactly_now_is_breached() {
        let now = at("2026-06-01T00:00:00Z");
        assert_eq!(status(Some(now), now), SlaStatus::Breached);
        assert_eq!(
            status(Some(now - Duration::seconds(1)), now),
            SlaStatus::Breached
        );
        assert_eq!(
            status(Some(now + Duration::seconds(1)), now),
            SlaStatus::DueSoon
        );
    }

    #[test]
    fn local_due_dates_can_fall_on_another_day() {
        let kiribati = FixedOffset::east_opt(14 * 3600).unwrap();
        let baker_island = FixedOffset::west_opt(12 * 3600).unwrap();
        let due = at("2028-03-07T23:30:00Z");
        assert_eq!(
            due_local_date(due, FixedOffset::east_opt(0).unwrap()),
            date("2028-03-07")
        );
        assert_eq!(due_local_date(due, kiribati), date("2028-03-08"));
        assert_eq!(due_local_date(due, baker_island), date("2028-03-07"));
        // +14:00 pushes the 28th onto the leap day; -12:00 pulls 1 March back onto it.
        assert_eq!(
            due_local_date(at("2028-02-28T10:30:00Z"), kiribati),
            date("2028-02-29")
        );
        assert_eq!(
            due_local_date(at("2028-03-01T05:00:00Z"), baker_island),
            date("2028-02-29")
        );
        // Year boundaries move both ways.
        assert_eq!(
            due_local_date(at("2026-12-31T10:00:00Z"), kiribati),
            date("2027-01-01")
        );
        assert_eq!(
            due_local_date(at("2027-01-01T11:59:59Z"), baker_island),
            date("2026-12-31")
        );
        assert_eq!(
            due_local_date(at("2027-01-01T12:00:00Z"), baker_island),
            date("2027-01-01")
        );
    }

    #[test]
    fn due_soon_means_within_seven_days_for_every_severity() {
        let now = at("2026-06-01T00:00:00Z");
        assert_eq!(status(Some(now + DUE_SOON), now), SlaStatus::DueSoon);
        assert_eq!(
            status(Some(now + DUE_SOON + Duration::seconds(1)), now),
            SlaStatus::OnTrack
        );
        // the same whatever the window: a critical due in 3 days, a low one due in 6
        for days in [7, 90, 180] {
            assert_eq!(
                assess(
                    FindingState::Open,
                    Some(now + Duration::days(3)),
                    Some(days),
                    now
                ),
                SlaStatus::DueSoon
            );
        }
    }

    #[test]
    fn statuses_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&SlaStatus::DueSoon).unwrap(),
            "\"due_soon\""
        );
        assert_eq!(serde_json::to_string(&SlaStatus::None).unwrap(), "\"none\"");
    }
}
