//! Reading helpers more than one format needs.

use serde_json::Value;

use crate::ingest::ParseError;

/// The objects of a report written as JSON Lines (one object a line; nuclei, kubeaudit,
/// TruffleHog) or as one JSON array of the same objects, each with its line number when
/// read from lines. Blank lines are skipped, and a line may end with a comma (nuclei 3.3.6's
/// `-jsonl-export` wrote them so). Anything but an object is an error naming its place.
pub fn json_items(
    format: &'static str,
    body: &[u8],
) -> Result<Vec<(Option<usize>, Value)>, ParseError> {
    let text = String::from_utf8_lossy(body);
    let not_object = |message: String, line: Option<usize>| ParseError {
        format,
        message,
        line,
        column: None,
        layout: false,
    };
    if text.trim_start().starts_with('[') {
        let items: Vec<Value> =
            serde_json::from_str(&text).map_err(|e| ParseError::from_json(format, &e))?;
        if let Some(bad) = items.iter().position(|v| !v.is_object()) {
            let message = format!("array item {} is not a JSON object", bad + 1);
            return Err(not_object(message, None));
        }
        return Ok(items.into_iter().map(|v| (None, v)).collect());
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim().trim_end_matches(',');
        if line.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| ParseError {
            line: Some(i + 1),
            ..ParseError::from_json(format, &e)
        })?;
        if !value.is_object() {
            let message = "each line must be a JSON object".to_string();
            return Err(not_object(message, Some(i + 1)));
        }
        out.push((Some(i + 1), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::json_items;

    #[test]
    fn lines_and_arrays_give_the_same_objects_with_places() {
        let lines = json_items("t", b"{\"a\":1}\n\n{\"a\":2},\n").unwrap();
        assert_eq!(
            lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            [Some(1), Some(3)]
        );
        let array = json_items("t", b" [{\"a\":1},{\"a\":2}]").unwrap();
        assert_eq!(array.len(), 2);
        assert_eq!(lines[1].1, array[1].1);
        assert_eq!(
            json_items("t", b"{\"a\":1}\n[1]").unwrap_err().line,
            Some(2)
        );
        assert_eq!(
            json_items("t", b"{\"a\":1}\n{\"a\"").unwrap_err().line,
            Some(2)
        );
        assert!(
            json_items("t", b"[{},2]")
                .unwrap_err()
                .message
                .contains("item 2")
        );
    }
}
