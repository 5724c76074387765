//! Stable finding identities.
//!
//! A fingerprint is the SHA-256 of a format tag and a list of identifying fields, each
//! length-prefixed so that ("ab","c") and ("a","bc") differ. Which fields go in is decided
//! per format and layer, and documented there; volatile text (descriptions, line numbers
//! when a better anchor exists) stays out so that re-imports map to the same finding.

use sha2::{Digest, Sha256};

pub struct Fingerprint(Sha256);

impl Fingerprint {
    /// `scheme` names the recipe (e.g. "sarif/v1"): changing a recipe means a new scheme.
    pub fn new(scheme: &str) -> Fingerprint {
        let mut f = Fingerprint(Sha256::new());
        f.push(scheme);
        f
    }

    pub fn push(&mut self, field: &str) -> &mut Fingerprint {
        self.0.update((field.len() as u64).to_le_bytes());
        self.0.update(field.as_bytes());
        self
    }

    pub fn finish(&mut self) -> [u8; 32] {
        std::mem::take(&mut self.0).finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_delimited() {
        let a = Fingerprint::new("t").push("ab").push("c").finish();
        let b = Fingerprint::new("t").push("a").push("bc").finish();
        assert_ne!(a, b);
    }

    #[test]
    fn same_fields_same_fingerprint_and_scheme_matters() {
        let a = Fingerprint::new("t").push("x").finish();
        assert_eq!(a, Fingerprint::new("t").push("x").finish());
        assert_ne!(a, Fingerprint::new("u").push("x").finish());
    }
}
