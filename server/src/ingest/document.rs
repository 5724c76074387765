//! The top level of a JSON document, read without building it: the keys of the root object
//! (or of a root array's first element) with their short string values.
//!
//! Format detection first looks at the ends of a report (cheap); when no format claims it
//! there, it reads this: serialisers that sort keys put a format's tell-tale keys anywhere
//! (cyclonedx-py and Checkov write `bomFormat` after every component and vulnerability), so
//! a byte window cannot be enough.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Longest string value kept (longer ones are recorded as present, without their text).
const VALUE_MAX: usize = 256;

/// A document's top level.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TopLevel {
    /// The root is an array; the keys are its first element's.
    pub array: bool,
    /// Keys in document order, with their value when it is a short string.
    pub keys: Vec<(String, Option<String>)>,
}

impl TopLevel {
    pub fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == key)
    }

    /// A key's string value, when it has a short one.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// The top level of `body`, or `None` when it is not one JSON object or array of objects.
pub fn top_level(body: &[u8]) -> Option<TopLevel> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = de.deserialize_any(RootVisitor).ok()?;
    de.end().ok()?;
    Some(top)
}

struct RootVisitor;

impl<'de> Visitor<'de> for RootVisitor {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TopLevel, A::Error> {
        Ok(TopLevel {
            array: false,
            keys: read_keys(map)?,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel, A::Error> {
        let keys = seq.next_element_seed(FirstObject)?.unwrap_or_default();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopLevel { array: true, keys })
    }
}

fn read_keys<'de, A: MapAccess<'de>>(
    mut map: A,
) -> Result<Vec<(String, Option<String>)>, A::Error> {
    let mut keys = Vec::new();
    while let Some(key) = map.next_key::<String>()? {
        let ShortString(value) = map.next_value()?;
        keys.push((key, value));
    }
    Ok(keys)
}

/// The first element of a root array: its keys when it is an object.
struct FirstObject;

impl<'de> DeserializeSeed<'de> for FirstObject {
    type Value = Vec<(String, Option<String>)>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(String, Option<String>)>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                read_keys(map)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Vec::new())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Vec::new())
            }
        }
        de.deserialize_any(V)
    }
}

/// A value read only for its text when it is a short string; anything else is skipped.
struct ShortString(Option<String>);

impl<'de> de::Deserialize<'de> for ShortString {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ShortString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ShortString, E> {
                Ok(ShortString((v.len() <= VALUE_MAX).then(|| v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ShortString, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ShortString(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ShortString, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ShortString(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<ShortString, E> {
                Ok(ShortString(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<ShortString, E> {
                Ok(ShortString(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<ShortString, E> {
                Ok(ShortString(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<ShortString, E> {
                Ok(ShortString(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ShortString, E> {
                Ok(ShortString(None))
            }
        }
        de.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_anywhere_in_the_root_object_are_seen() {
        let padding = "x".repeat(20_000);
        let body = format!(
            r#"{{"components":[{{"name":"{padding}"}}],"nested":{{"bomFormat":"no"}},"bomFormat":"CycloneDX","specVersion":"1.6","version":1}}"#
        );
        let top = top_level(body.as_bytes()).unwrap();
        assert!(!top.array);
        assert_eq!(top.value("bomFormat"), Some("CycloneDX"));
        assert_eq!(top.value("specVersion"), Some("1.6"));
        assert!(top.has("components") && top.value("components").is_none());
        assert!(top.has("version") && !top.has("name"), "only the top level");
    }

    #[test]
    fn a_root_array_gives_its_first_objects_keys() {
        let top = top_level(br#"[{"check_type":"terraform","results":{}},{"other":1}]"#).unwrap();
        assert!(top.array);
        assert_eq!(top.value("check_type"), Some("terraform"));
        assert!(!top.has("other"));
        assert_eq!(top_level(b"[]").unwrap().keys.len(), 0);
    }

    #[test]
    fn anything_else_is_none() {
        for body in [
            &b""[..],
            b"  ",
            b"42",
            b"\"text\"",
            b"{\"a\":1}\n{\"a\":2}",
            b"{\"a\":",
        ] {
            assert_eq!(top_level(body), None, "{:?}", String::from_utf8_lossy(body));
        }
        assert!(
            top_level(b"\xef\xbb\xbf{\"a\":\"b\"}").is_some(),
            "a BOM is allowed"
        );
    }
}
