//! Who may do what to a finding, and which state changes exist.
//!
//! Pure rules shared by the server (which enforces them) and the browser (which only offers
//! what would be accepted). The capability table is rendered from [`allowed`] so the README
//! cannot drift from the code.

use crate::domain::{FindingState, UnknownValue};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A person's role. Each role can do everything the one before it can, and more (see
/// [`allowed`]), so the derived order is the order of authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Developer,
    Ops,
    Security,
    Admin,
}

impl Role {
    pub const ALL: &'static [Role] = &[
        Role::Viewer,
        Role::Developer,
        Role::Ops,
        Role::Security,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Ops => "ops",
            Role::Security => "security",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Developer => "Developer",
            Role::Ops => "Ops",
            Role::Security => "Security",
            Role::Admin => "Admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Role::ALL
            .iter()
            .copied()
            .find(|role| role.as_str() == wanted)
            .ok_or_else(|| UnknownValue {
                what: "role",
                value: s.chars().take(64).collect(),
            })
    }
}

/// Something a person may or may not do; the rows of the capability table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    View,
    Comment,
    Assign,
    /// Move a finding through the everyday states (confirmed, in progress, fixed, reopened).
    ChangeState,
    /// Mark a finding as a false positive, or withdraw that decision.
    MarkFalsePositive,
    /// Accept a finding's risk, or withdraw the acceptance.
    AcceptRisk,
    ChangeSeverity,
    /// Upload tokens and notification routing.
    ManageTokensAndRouting,
    /// SLA and gate policies.
    ManagePolicies,
    ManageUsers,
}

/// Every action in table order, with the words the capability table uses for it.
pub const CAPABILITIES: &[(Action, &str)] = &[
    (Action::View, "View findings"),
    (Action::Comment, "Comment"),
    (Action::Assign, "Assign"),
    (Action::ChangeState, "Change state"),
    (Action::MarkFalsePositive, "Mark false positive"),
    (Action::AcceptRisk, "Accept risk"),
    (Action::ChangeSeverity, "Change severity"),
    (Action::ManageTokensAndRouting, "Manage tokens and routing"),
    (Action::ManagePolicies, "Manage policies (SLA, gate)"),
    (Action::ManageUsers, "Manage users"),
];

/// Whether `role` may perform `action`.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Viewer => matches!(action, View),
        Role::Developer => matches!(action, View | Comment | Assign | ChangeState),
        Role::Ops => matches!(
            action,
            View | Comment | Assign | ChangeState | ManageTokensAndRouting
        ),
        Role::Security => !matches!(action, ManageUsers),
        Role::Admin => true,
    }
}

/// The capability table as markdown: one row per action, one column per role.
pub fn capability_table_markdown() -> String {
    let mut table = String::from("| Action |");
    for role in Role::ALL {
        table.push_str(&format!(" {} |", role.label()));
    }
    table.push_str("\n|---|");
    table.push_str(&":-:|".repeat(Role::ALL.len()));
    table.push('\n');
    for (action, words) in CAPABILITIES {
        table.push_str(&format!("| {words} |"));
        for role in Role::ALL {
            let cell = if allowed(*role, *action) {
                "yes"
            } else {
                "—"
            };
            table.push_str(&format!(" {cell} |"));
        }
        table.push('\n');
    }
    table
}

/// Why a state change was refused. The message is meant for the person who tried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the finding is already {}", words(*.0))]
    Unchanged(FindingState),
    #[error("{}s may not change a finding's state", .0.as_str())]
    ReadOnlyRole(Role),
    #[error("a finding cannot go from {} to {}", words(*.from), words(*.to))]
    NoSuchMove {
        from: FindingState,
        to: FindingState,
    },
    #[error("only security engineers and admins may {}", decision(*.from, *.to))]
    SecurityDecision {
        from: FindingState,
        to: FindingState,
    },
    #[error(
        "a scan cannot move a finding from {} to {}: scans only mark findings fixed or reopen them",
        words(*.from),
        words(*.to)
    )]
    NotByScan {
        from: FindingState,
        to: FindingState,
    },
}

impl TransitionError {
    /// True when the refusal is about the person's authority (HTTP 403), not about the move
    /// itself (409).
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            TransitionError::ReadOnlyRole(_) | TransitionError::SecurityDecision { .. }
        )
    }
}

/// "in progress", "false positive": the state as a sentence would say it.
fn words(state: FindingState) -> String {
    state.label().to_lowercase()
}

/// What a security-only move amounts to, for [`TransitionError::SecurityDecision`].
fn decision(from: FindingState, to: FindingState) -> &'static str {
    match (from, to) {
        (_, FindingState::FalsePositive) => "mark a finding as a false positive",
        (_, FindingState::RiskAccepted) => "accept a risk",
        (FindingState::FalsePositive, _) => "withdraw a false-positive decision",
        (FindingState::RiskAccepted, _) => "withdraw a risk acceptance",
        _ => "make this change",
    }
}

/// The states work still happens in; false positive, risk accepted and fixed are decisions
/// (fixed awaits a scan's verification) that must be left through their own exits.
fn is_active(state: FindingState) -> bool {
    use FindingState::*;
    matches!(state, Open | Confirmed | InProgress | Reopened)
}

/// The capability a person needs for a move, or `None` when people cannot make it at all.
fn required_action(from: FindingState, to: FindingState) -> Option<Action> {
    use FindingState::*;
    match (from, to) {
        (Open, Confirmed) => Some(Action::ChangeState),
        (Open | Confirmed | Reopened, InProgress) => Some(Action::ChangeState),
        // A person's "fixed" means fixed, awaiting verification by the next scan.
        (Open | Confirmed | InProgress | Reopened, Fixed) => Some(Action::ChangeState),
        (Fixed, Reopened) => Some(Action::ChangeState),
        (from, FalsePositive) if is_active(from) => Some(Action::MarkFalsePositive),
        (from, RiskAccepted) if is_active(from) => Some(Action::AcceptRisk),
        (FalsePositive, Open) => Some(Action::MarkFalsePositive),
        (RiskAccepted, Open) => Some(Action::AcceptRisk),
        _ => None,
    }
}

/// What a scan may do: reopen a fixed finding that came back, or mark one fixed that
/// disappeared. Decisions people made (false positive, risk accepted) are never touched.
fn scan_may(from: FindingState, to: FindingState) -> bool {
    use FindingState::*;
    matches!(
        (from, to),
        (Fixed, Reopened) | (Open | Confirmed | InProgress | Reopened, Fixed)
    )
}

/// Checks a state change. `by_scan` marks changes made by ingesting a scan; their authority
/// is the scan's evidence, so `role` is not consulted for them.
pub fn transition(
    from: FindingState,
    to: FindingState,
    role: Role,
    by_scan: bool,
) -> Result<(), TransitionError> {
    if from == to {
        return Err(TransitionError::Unchanged(from));
    }
    if by_scan {
        return if scan_may(from, to) {
            Ok(())
        } else {
            Err(TransitionError::NotByScan { from, to })
        };
    }
    if !allowed(role, Action::ChangeState) {
        return Err(TransitionError::ReadOnlyRole(role));
    }
    match required_action(from, to) {
        None => Err(TransitionError::NoSuchMove { from, to }),
        Some(action) if !allowed(role, action) => {
            Err(TransitionError::SecurityDecision { from, to })
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FindingState::*;

    /// Who may make a move, written out independently of `transition`.
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Who {
        /// Developer, ops, security and admin.
        Anyone,
        /// Security and admin.
        SecurityOnly,
    }

    const PEOPLE_MOVES: &[(&str, &str, Who)] = &[
        ("open", "confirmed", Who::Anyone),
        ("open", "in_progress", Who::Anyone),
        ("confirmed", "in_progress", Who::Anyone),
        ("reopened", "in_progress", Who::Anyone),
        ("open", "fixed", Who::Anyone),
        ("confirmed", "fixed", Who::Anyone),
        ("in_progress", "fixed", Who::Anyone),
        ("reopened", "fixed", Who::Anyone),
        ("fixed", "reopened", Who::Anyone),
        ("open", "false_positive", Who::SecurityOnly),
        ("confirmed", "false_positive", Who::SecurityOnly),
        ("in_progress", "false_positive", Who::SecurityOnly),
        ("reopened", "false_positive", Who::SecurityOnly),
        ("open", "risk_accepted", Who::SecurityOnly),
        ("confirmed", "risk_accepted", Who::SecurityOnly),
        ("in_progress", "risk_accepted", Who::SecurityOnly),
        ("reopened", "risk_accepted", Who::SecurityOnly),
        ("false_positive", "open", Who::SecurityOnly),
        ("risk_accepted", "open", Who::SecurityOnly),
    ];

    const SCAN_MOVES: &[(&str, &str)] = &[
        ("fixed", "reopened"),
        ("open", "fixed"),
        ("confirmed", "fixed"),
        ("in_progress", "fixed"),
        ("reopened", "fixed"),
    ];

    fn expected_people_move(from: FindingState, to: FindingState) -> Option<Who> {
        PEOPLE_MOVES
            .iter()
            .find(|(f, t, _)| *f == from.as_str() && *t == to.as_str())
            .map(|(_, _, who)| *who)
    }

    fn all_pairs() -> impl Iterator<Item = (FindingState, FindingState)> {
        FindingState::ALL
            .iter()
            .flat_map(|from| FindingState::ALL.iter().map(move |to| (*from, *to)))
    }

    #[test]
    fn expectation_tables_name_real_states() {
        for (from, to, _) in PEOPLE_MOVES {
            from.parse::<FindingState>().unwrap();
            to.parse::<FindingState>().unwrap();
        }
        for (from, to) in SCAN_MOVES {
            from.parse::<FindingState>().unwrap();
            to.parse::<FindingState>().unwrap();
        }
    }

    #[test]
    fn every_move_by_every_role_matches_the_table() {
        let mut checked = 0;
        for (from, to) in all_pairs() {
            for role in Role::ALL.iter().copied() {
                let got = transition(from, to, role, false);
                let expected = if from == to {
                    Err(TransitionError::Unchanged(from))
                } else if role == Role::Viewer {
                    Err(TransitionError::ReadOnlyRole(role))
                } else {
                    match expected_people_move(from, to) {
                        None => Err(TransitionError::NoSuchMove { from, to }),
                        Some(Who::SecurityOnly) if matches!(role, Role::Developer | Role::Ops) => {
                            Err(TransitionError::SecurityDecision { from, to })
                        }
                        Some(_) => Ok(()),
                    }
                };
                assert_eq!(got, expected, "{role}: {from} -> {to}");
                checked += 1;
            }
        }
        assert_eq!(checked, 7 * 7 * 5);
    }

    #[test]
    fn every_move_by_a_scan_matches_the_table_whatever_the_role() {
        for (from, to) in all_pairs() {
            let in_table = SCAN_MOVES
                .iter()
                .any(|(f, t)| *f == from.as_str() && *t == to.as_str());
            for role in Role::ALL.iter().copied() {
                let got = transition(from, to, role, true);
                let expected = if from == to {
                    Err(TransitionError::Unchanged(from))
                } else if in_table {
                    Ok(())
                } else {
                    Err(TransitionError::NotByScan { from, to })
                };
                assert_eq!(got, expected, "scan as {role}: {from} -> {to}");
            }
        }
    }

    #[test]
    fn scans_never_touch_decisions() {
        for state in FindingState::ALL.iter().copied() {
            for decided in [FalsePositive, RiskAccepted] {
                assert!(transition(decided, state, Role::Admin, true).is_err());
                assert!(transition(state, decided, Role::Admin, true).is_err());
            }
        }
    }

    #[test]
    fn errors_explain_themselves() {
        let message = |from, to, role| transition(from, to, role, false).unwrap_err().to_string();
        assert_eq!(
            message(Open, RiskAccepted, Role::Developer),
            "only security engineers and admins may accept a risk"
        );
        assert_eq!(
            message(InProgress, FalsePositive, Role::Ops),
            "only security engineers and admins may mark a finding as a false positive"
        );
        assert_eq!(
            message(FalsePositive, Open, Role::Developer),
            "only security engineers and admins may withdraw a false-positive decision"
        );
        assert_eq!(
            message(RiskAccepted, Open, Role::Ops),
            "only security engineers and admins may withdraw a risk acceptance"
        );
        assert_eq!(
            message(Fixed, Confirmed, Role::Admin),
            "a finding cannot go from fixed to confirmed"
        );
        assert_eq!(
            message(Open, InProgress, Role::Viewer),
            "viewers may not change a finding's state"
        );
        assert_eq!(
            message(InProgress, InProgress, Role::Security),
            "the finding is already in progress"
        );
        assert_eq!(
            transition(RiskAccepted, Fixed, Role::Admin, true)
                .unwrap_err()
                .to_string(),
            "a scan cannot move a finding from risk accepted to fixed: \
             scans only mark findings fixed or reopen them"
        );
    }

    #[test]
    fn forbidden_is_about_authority_not_about_the_move() {
        assert!(
            transition(Open, RiskAccepted, Role::Developer, false)
                .unwrap_err()
                .is_forbidden()
        );
        assert!(
            transition(Open, Fixed, Role::Viewer, false)
                .unwrap_err()
                .is_forbidden()
        );
        assert!(
            !transition(Fixed, Confirmed, Role::Admin, false)
                .unwrap_err()
                .is_forbidden()
        );
        assert!(
            !transition(Open, Open, Role::Admin, false)
                .unwrap_err()
                .is_forbidden()
        );
    }

    #[test]
    fn capabilities_follow_the_role_table() {
        use Action::*;
        let expected: &[(Action, [bool; 5])] = &[
            // viewer, developer, ops, security, admin
            (View, [true, true, true, true, true]),
            (Comment, [false, true, true, true, true]),
            (Assign, [false, true, true, true, true]),
            (ChangeState, [false, true, true, true, true]),
            (MarkFalsePositive, [false, false, false, true, true]),
            (AcceptRisk, [false, false, false, true, true]),
            (ChangeSeverity, [false, false, false, true, true]),
            (ManageTokensAndRouting, [false, false, true, true, true]),
            (ManagePolicies, [false, false, false, true, true]),
            (ManageUsers, [false, false, false, false, true]),
        ];
        assert_eq!(expected.len(), CAPABILITIES.len());
        for (action, by_role) in expected {
            for (role, want) in Role::ALL.iter().zip(by_role) {
                assert_eq!(allowed(*role, *action), *want, "{role} {action:?}");
            }
        }
    }

    #[test]
    fn capability_table_lists_every_action_once() {
        let table = capability_table_markdown();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| Action | Viewer | Developer | Ops | Security | Admin |"
        );
        assert_eq!(lines.len(), 2 + CAPABILITIES.len());
        assert_eq!(lines[2], "| View findings | yes | yes | yes | yes | yes |");
        assert_eq!(lines[11], "| Manage users | — | — | — | — | yes |");
        for (i, (a, _)) in CAPABILITIES.iter().enumerate() {
            assert!(!CAPABILITIES[i + 1..].iter().any(|(b, _)| a == b), "{a:?}");
        }
    }

    #[test]
    fn readme_carries_the_capability_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md is readable");
        assert!(
            readme.contains(&capability_table_markdown()),
            "README.md should contain:\n{}",
            capability_table_markdown()
        );
    }

    #[test]
    fn roles_parse_print_and_serialise_in_lowercase() {
        for role in Role::ALL.iter().copied() {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(" Security ".parse::<Role>(), Ok(Role::Security));
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "unknown role 'root'"
        );
        assert!(serde_json::from_str::<Role>("\"Admin\"").is_err());
    }
}
