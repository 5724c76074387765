//! Stable finding identities.
//!
//! A fingerprint is the SHA-256 of a format tag and a list of identifying fields, each
//! length-prefixed so that ("ab","c") and ("a","bc") differ. Which fields go in is decided
//! per format and layer, and documented there; volatile text (descriptions, line numbers
//! when a better anchor exists) stays out so that re-imports map to the same finding.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

#[derive(Clone)]
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

    /// Finishes, numbering results alike: the first result of an identity in a report
    /// keeps it plain; a result of the same identity at another `place` (line, column) is
    /// the n-th such and has `#n` pushed last. For tools that give no stable identity, two
    /// results alike in every field but their place (the same call on two lines) stay two
    /// findings, and neither depends on a line number: the place only tells a second
    /// result from a repeat of the first (the same place again, which is the same finding).
    pub fn finish_numbered(&mut self, seen: &mut Occurrences, place: (i64, i64)) -> [u8; 32] {
        let mut numbered = Fingerprint(self.0.clone());
        let base = self.finish();
        match seen.ordinal(&base, place) {
            1 => base,
            n => numbered.push(&format!("#{n}")).finish(),
        }
    }
}

/// The places each identity has been seen at so far in one report (see
/// [`Fingerprint::finish_numbered`]). Small on reports of hundreds of thousands of
/// results: 64 bits of the identity, the count and the first place's hash; only identities
/// seen at more than one place keep the rest of their places.
#[derive(Default)]
pub struct Occurrences {
    first: HashMap<u64, (u32, u32)>,
    later: HashMap<(u64, u32), u32>,
}

impl Occurrences {
    /// Which of its identity's places `place` is, counting from 1 in report order.
    pub fn ordinal(&mut self, base: &[u8; 32], place: (i64, i64)) -> u32 {
        let key = u64::from_le_bytes(base[..8].try_into().expect("8 bytes"));
        let at = place_hash(place);
        let (count, first_place) = self.first.entry(key).or_insert((0, at));
        if *count == 0 {
            *count = 1;
            return 1;
        }
        if *first_place == at {
            return 1;
        }
        let next = *count + 1;
        let n = *self.later.entry((key, at)).or_insert(next);
        if n == next {
            *count = next;
        }
        n
    }
}

fn place_hash((line, column): (i64, i64)) -> u32 {
    let h = Sha256::new()
        .chain_update(line.to_le_bytes())
        .chain_update(column.to_le_bytes())
        .finalize();
    u32::from_le_bytes(h[..4].try_into().expect("4 bytes"))
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
    fn results_alike_are_numbered_by_place_in_report_order() {
        let mut seen = Occurrences::default();
        let mut at = |field: &str, place| {
            Fingerprint::new("t")
                .push(field)
                .finish_numbered(&mut seen, place)
        };
        let first = at("x", (10, 1));
        let second = at("x", (20, 1));
        let repeat_of_first = at("x", (10, 1));
        let third = at("x", (30, 5));
        let repeat_of_second = at("x", (20, 1));
        let other = at("y", (20, 1));
        assert_eq!(
            first,
            Fingerprint::new("t").push("x").finish(),
            "the first is plain"
        );
        assert_eq!(second, Fingerprint::new("t").push("x").push("#2").finish());
        assert_eq!(third, Fingerprint::new("t").push("x").push("#3").finish());
        assert_eq!(
            repeat_of_first, first,
            "the same place again is the same finding"
        );
        assert_eq!(repeat_of_second, second);
        assert_eq!(other, Fingerprint::new("t").push("y").finish());
    }

    #[test]
    fn same_fields_same_fingerprint_and_scheme_matters() {
        let a = Fingerprint::new("t").push("x").finish();
        assert_eq!(a, Fingerprint::new("t").push("x").finish());
        assert_ne!(a, Fingerprint::new("u").push("x").finish());
    }
}
