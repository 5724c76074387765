//! A small, bounded XML tree on top of `quick_xml`, for formats that are easier to walk
//! than to map onto serde types. External entities and DTDs are never fetched or expanded:
//! only the predefined entities and character references are resolved.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use crate::ingest::ParseError;

const MAX_DEPTH: usize = 128;
const MAX_TEXT: usize = 200_000;
/// Most elements a document may have: each costs a node in memory (~150 bytes), so a
/// file of empty elements (`<a/>`, 4 bytes each) must not become a tree 40 times its
/// size. Real reports use far more than 16 bytes per element.
pub const MAX_ELEMENTS: usize = 500_000;
const BYTES_PER_ELEMENT: usize = 16;
/// Most attributes one element may carry.
const MAX_ATTRIBUTES: usize = 256;

/// The element budget of a document of `len` bytes.
fn element_budget(len: usize) -> usize {
    (len / BYTES_PER_ELEMENT).clamp(10_000, MAX_ELEMENTS)
}

/// Checks a document's shape without building it: at most its element budget, nested
/// at most [`MAX_DEPTH`] deep. For readers that map XML onto types (ZAP) and so cannot
/// count as they go.
pub fn check_limits(body: &[u8]) -> Result<(), XmlError> {
    let mut reader = Reader::from_reader(body);
    let budget = element_budget(body.len());
    let (mut depth, mut elements) = (0usize, 0usize);
    loop {
        let event = reader.read_event();
        match event {
            Ok(Event::Start(_)) | Ok(Event::Empty(_)) => {
                elements += 1;
                if matches!(event, Ok(Event::Start(_))) {
                    depth += 1;
                }
                if elements > budget {
                    return Err(too_many(body, &reader, budget));
                }
                if depth > MAX_DEPTH {
                    return Err(XmlError {
                        message: "elements are nested too deeply".into(),
                        line: Some(line_at(body, reader.buffer_position())),
                    });
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            // malformed XML is the parser's to describe
            Err(_) => return Ok(()),
        }
    }
}

fn too_many(body: &[u8], reader: &Reader<&[u8]>, budget: usize) -> XmlError {
    XmlError {
        message: format!(
            "the document has more than {budget} elements (for its {} bytes); \
             Bosun reads at most one element per {BYTES_PER_ELEMENT} bytes and {MAX_ELEMENTS} in all",
            body.len()
        ),
        line: Some(line_at(body, reader.buffer_position())),
    }
}

#[derive(Debug, Default)]
pub struct Element {
    /// Local name, without namespace prefix.
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A child's text, trimmed and bounded for short fields; empty when absent.
    pub fn text_of(&self, name: &str) -> String {
        self.child(name)
            .map(|c| crate::ingest::normalize::bounded(c.text.trim(), 1_000))
            .unwrap_or_default()
    }

    /// A child's text, trimmed, unbounded (the caller bounds it).
    pub fn long_text_of(&self, name: &str) -> String {
        self.child(name)
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default()
    }

    /// The element as JSON, for evidence: attributes as `@name`, text as `#text`.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.attrs {
            map.insert(format!("@{k}"), Value::String(v.clone()));
        }
        if !self.text.trim().is_empty() {
            map.insert("#text".into(), Value::String(self.text.trim().to_string()));
        }
        for c in &self.children {
            let value = if c.children.is_empty() && c.attrs.is_empty() {
                Value::String(c.text.trim().to_string())
            } else {
                c.to_json()
            };
            match map.get_mut(&c.name) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    map.insert(c.name.clone(), value);
                }
            }
        }
        Value::Object(map)
    }
}

pub struct XmlError {
    pub message: String,
    pub line: Option<usize>,
}

impl XmlError {
    pub fn into_parse_error(self, format: &'static str) -> ParseError {
        ParseError {
            format,
            message: self.message,
            line: self.line,
            column: None,
            layout: false,
        }
    }
}

fn line_at(body: &[u8], pos: u64) -> usize {
    let end = usize::try_from(pos).unwrap_or(usize::MAX).min(body.len());
    body[..end].iter().filter(|b| **b == b'\n').count() + 1
}

fn element(e: &BytesStart<'_>) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        if attrs.len() >= MAX_ATTRIBUTES {
            return Err(format!(
                "an element has more than {MAX_ATTRIBUTES} attributes"
            ));
        }
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| format!("bad attribute value: {err}"))?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
        attrs,
        ..Element::default()
    })
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut()
        && top.text.len() < MAX_TEXT
    {
        top.text.push_str(text);
    }
}

/// The document's root element.
pub fn parse(body: &[u8]) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = vec![Element::default()];
    let fail = |reader: &Reader<&[u8]>, message: String| XmlError {
        message,
        line: Some(line_at(body, reader.buffer_position())),
    };
    let budget = element_budget(body.len());
    let mut elements = 0usize;
    loop {
        let event = reader.read_event();
        if matches!(event, Ok(Event::Start(_)) | Ok(Event::Empty(_))) {
            elements += 1;
            if elements > budget {
                return Err(too_many(body, &reader, budget));
            }
        }
        match event {
            Ok(Event::Start(e)) => {
                if stack.len() > MAX_DEPTH {
                    return Err(fail(&reader, "elements are nested too deeply".into()));
                }
                let el = element(&e).map_err(|m| fail(&reader, m))?;
                stack.push(el);
            }
            Ok(Event::Empty(e)) => {
                let el = element(&e).map_err(|m| fail(&reader, m))?;
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Ok(Event::End(_)) => {
                if stack.len() < 2 {
                    return Err(fail(&reader, "unexpected closing tag".into()));
                }
                if let (Some(done), Some(parent)) = (stack.pop(), stack.last_mut()) {
                    parent.children.push(done);
                }
            }
            Ok(Event::Text(t)) => {
                let text = t
                    .xml_content()
                    .map_err(|e| fail(&reader, format!("bad text: {e}")))?;
                push_text(&mut stack, &text);
            }
            Ok(Event::CData(c)) => {
                let text = c
                    .decode()
                    .map_err(|e| fail(&reader, format!("bad CDATA: {e}")))?;
                push_text(&mut stack, &text);
            }
            Ok(Event::GeneralRef(r)) => {
                if let Ok(Some(ch)) = r.resolve_char_ref() {
                    push_text(&mut stack, ch.encode_utf8(&mut [0; 4]));
                } else if let Ok(name) = r.decode()
                    && let Some(value) = resolve_predefined_entity(&name)
                {
                    push_text(&mut stack, value);
                }
                // any other entity (declared in a DTD or not) is dropped, never expanded
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(XmlError {
                    message: format!("malformed XML: {e}"),
                    line: Some(line_at(body, reader.error_position())),
                });
            }
        }
    }
    if stack.len() != 1 {
        return Err(XmlError {
            message: "the file ends early (truncated?): unclosed elements".into(),
            line: None,
        });
    }
    stack
        .pop()
        .and_then(|doc| doc.children.into_iter().next())
        .ok_or(XmlError {
            message: "the document has no root element".into(),
            line: None,
        })
}

/// A document whose root element must be `<root>`: anything else is not `format`'s report.
pub fn parse_root(format: &'static str, body: &[u8], root: &str) -> Result<Element, ParseError> {
    let doc = parse(body).map_err(|e| e.into_parse_error(format))?;
    if doc.name != root {
        let name = crate::ingest::normalize::bounded(&doc.name, 100);
        let message = format!("the root element is <{name}>, not <{root}>");
        return Err(ParseError::invalid(format, message));
    }
    Ok(doc)
}
