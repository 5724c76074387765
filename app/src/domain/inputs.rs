//! What people type, validated once when it is parsed (zero2prod's `domain/`): an email
//! address, a new password and a slug. The command line, the server functions and the
//! invitation flow all take these types, so one rule holds everywhere (a 12-character
//! password minimum on the CLI as on the web) and code past the edge cannot hold an
//! unchecked value.

use std::fmt;

/// Text that is not a valid value of one of the types below: which field, and why, in
/// words for people (server functions answer it as a 400 naming the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub message: String,
}

/// What people typed, shortened for an error message (it may be long or hostile; pages
/// and the CLI escape it on output).
fn quoted(raw: &str) -> String {
    raw.trim().chars().take(80).collect()
}

/// RFC 5321's limit on a forward path.
pub const EMAIL_MAX_CHARS: usize = 254;

/// A plausible email address, trimmed and lowercased (accounts are keyed by it).
///
/// This is the one normalisation of emails: sign-in, its throttle, account creation and
/// invitations all use it, and lookups compare with `=`, never with SQL's `lower()` (whose
/// idea of lower case depends on the database's locale and differs from Rust's).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<EmailAddress, InvalidInput> {
        let trimmed = raw.trim();
        let email = trimmed.to_lowercase();
        let plausible = trimmed.chars().count() <= EMAIL_MAX_CHARS
            && email.chars().count() <= EMAIL_MAX_CHARS
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if plausible {
            Ok(EmailAddress(email))
        } else {
            Err(InvalidInput {
                field: "email",
                message: format!("'{}' is not an email address.", quoted(raw)),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Read-only access as text, so a checked value goes wherever a `&str` is wanted.
impl std::ops::Deref for EmailAddress {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// NIST SP 800-63B: length is what makes a password strong; long passphrases welcome.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Bounds the work of hashing what someone pastes.
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// A password someone chose, long enough and not too long to hash. Never printed: its
/// `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// `again` is the repeated entry of a form, when there is one; it must be equal.
    pub fn parse(password: &str, again: Option<&str>) -> Result<NewPassword, InvalidInput> {
        let chars = password.chars().count();
        let problem = if chars < PASSWORD_MIN_CHARS {
            format!("A password needs at least {PASSWORD_MIN_CHARS} characters.")
        } else if chars > PASSWORD_MAX_CHARS {
            format!("A password may have at most {PASSWORD_MAX_CHARS} characters.")
        } else if again.is_some_and(|again| again != password) {
            "The two passwords differ.".to_string()
        } else {
            return Ok(NewPassword(password.to_string()));
        };
        Err(InvalidInput {
            field: "password",
            message: problem,
        })
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

/// The URL-safe short name of a project or a team: 1–63 lowercase letters, digits and
/// dashes, starting with a letter or digit (the schema's own rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Slug, InvalidInput> {
        Slug::parse_for("slug", raw)
    }

    /// [`Slug::parse`] with the error naming what the slug is for ("project slug").
    pub fn parse_for(what: &str, raw: &str) -> Result<Slug, InvalidInput> {
        if Slug::is_valid(raw) {
            return Ok(Slug(raw.to_string()));
        }
        Err(InvalidInput {
            field: "slug",
            message: format!(
                "invalid {what} '{}': use 1 to 63 lowercase letters, digits and dashes, \
                 starting with a letter or digit",
                quoted(raw)
            ),
        })
    }

    /// Whether a text can be a slug at all: anything else names no project or team, and
    /// is answered so without asking the database.
    pub fn is_valid(text: &str) -> bool {
        let bytes = text.as_bytes();
        (1..=63).contains(&bytes.len())
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Read-only access as text, so a checked value goes wherever a `&str` is wanted.
impl std::ops::Deref for Slug {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Ana@Example.COM ").unwrap().as_str(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a b@example.com",
            "a@b@c",
            "a\u{0}@example.com",
            &format!("{}@example.com", "a".repeat(250)),
        ] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad:?}");
            assert!(err.message.contains("not an email address"), "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_twelve_to_1024_characters_and_equal_repeats() {
        let problem = |p: &str, again| NewPassword::parse(p, again).err().map(|e| e.message);
        assert!(problem("short", None).unwrap().contains("at least 12"));
        assert!(problem(&"x".repeat(11), None).is_some());
        assert_eq!(problem(&"x".repeat(12), None), None);
        // characters, not bytes
        assert_eq!(problem(&"é".repeat(12), None), None);
        assert_eq!(problem(&"x".repeat(1024), None), None);
        assert!(
            problem(&"x".repeat(1025), None)
                .unwrap()
                .contains("at most 1024")
        );
        assert_eq!(problem("long enough pass", Some("long enough pass")), None);
        assert_eq!(
            problem("long enough pass", Some("long enough pas")).as_deref(),
            Some("The two passwords differ.")
        );
        let secret = NewPassword::parse("correct horse battery", None).unwrap();
        assert!(!format!("{secret:?}").contains("horse"));
    }

    #[test]
    fn only_what_the_schema_allows_is_a_slug() {
        for ok in ["web", "payments-api", "a", "0", "9lives", &"x".repeat(63)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-web",
            "Web",
            "web\u{0}",
            "web/x",
            "wéb",
            "shöp",
            &"x".repeat(64),
            "a b",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
            let err = Slug::parse_for("team slug", bad).unwrap_err();
            assert!(err.message.starts_with("invalid team slug"), "{bad:?}");
        }
    }
}
