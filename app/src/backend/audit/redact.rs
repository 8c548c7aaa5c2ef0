//! The one redaction rule: by field name, before an event is stored. Passwords, secrets,
//! tokens, key and token hashes, signing keys, authorization headers and cookies never enter
//! the audit trail, wherever they sit in an event's changes or metadata.

use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Field names (lower-cased, compared as substrings) whose values are never stored.
const SENSITIVE: &[&str] = &[
    "password", "passwd", "secret", "token", "key_hash", "signing_key", "private_key", "authorization", "cookie",
];

pub fn is_sensitive(field: &str) -> bool {
    let field = field.to_ascii_lowercase();
    SENSITIVE.iter().any(|s| field.contains(s))
}

/// Replaces the value of every sensitive field in `value`, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive(k) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// PostgreSQL text cannot hold NUL, so one in any field would fail every retry of its batch
/// and wedge the writer: it becomes U+FFFD before the event is queued.
pub fn storable(text: &mut String) {
    if text.contains('\0') {
        *text = text.replace('\0', "\u{FFFD}");
    }
}

/// [`storable`] for every string and key in `value`.
pub fn storable_json(value: &mut Value) {
    match value {
        Value::String(s) => storable(s),
        Value::Array(items) => items.iter_mut().for_each(storable_json),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(mut k, v)| {
                        storable(&mut k);
                        (k, v)
                    })
                    .collect();
            }
            map.values_mut().for_each(storable_json);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_fields_are_redacted_at_any_depth() {
        let mut v = json!({
            "name": "ci", "password": "hunter2", "nested": {"api_secret": "s", "Authorization": "Bearer x", "keep": 1},
            "list": [{"session_token": "t"}, {"content_hash": "abc"}], "key_hash": "h", "signing_key": "k"
        });
        redact(&mut v);
        assert_eq!(v, json!({
            "name": "ci", "password": REDACTED, "nested": {"api_secret": REDACTED, "Authorization": REDACTED, "keep": 1},
            "list": [{"session_token": REDACTED}, {"content_hash": "abc"}], "key_hash": REDACTED, "signing_key": REDACTED
        }));
    }

    #[test]
    fn nul_becomes_a_replacement_character_everywhere() {
        let mut v = json!({"a\0b": ["x\0", {"k": "\0"}], "n": 1});
        storable_json(&mut v);
        assert_eq!(v, json!({"a\u{FFFD}b": ["x\u{FFFD}", {"k": "\u{FFFD}"}], "n": 1}));
    }
}
