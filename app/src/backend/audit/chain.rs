//! The hash chain, as anyone can recompute it from the JSON Lines export:
//! `hash = hex(SHA-256(prev_hash + "\n" + JCS(event)))`, where `event` is the exported JSON
//! object without `hash` and `prev_hash`, and JCS is RFC 8785 canonical JSON. A chain's first
//! `prev_hash` is 64 zeros. Checkpoints sign JCS({org_id, seq, hash, created_at}) with Ed25519.

use crate::model::AuditEvent;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain an event belongs to: its org, or `""` for events outside any org.
pub fn chain_of(event: &AuditEvent) -> &str {
    event.org_id.as_deref().unwrap_or("")
}

/// RFC 8785 canonical JSON of the event as exported, without its hashes: written field by
/// field in JCS key order (the sealer's hot path), free-form values through the JCS crate.
/// [`canonical_generic`] is the definition it is tested against.
pub fn canonical(event: &AuditEvent) -> String {
    fn text(out: &mut String, value: Option<&str>) {
        match value {
            // serde_json escapes strings exactly as JCS does (quote, backslash, control
            // characters as \b \f \n \r \t or lower-case \u00xx; nothing else).
            Some(v) => out.push_str(&serde_json::to_string(v).expect("strings serialise")),
            None => out.push_str("null"),
        }
    }
    fn jcs(out: &mut String, value: &Value) {
        out.push_str(&serde_json_canonicalizer::to_string(value).expect("JSON values canonicalise"));
    }
    let mut out = String::with_capacity(512);
    out.push_str("{\"action\":");
    text(&mut out, Some(&event.action));
    let a = &event.actor;
    out.push_str(",\"actor\":{\"email\":");
    text(&mut out, a.email.as_deref());
    out.push_str(",\"id\":");
    text(&mut out, a.id.as_deref());
    out.push_str(",\"label\":");
    text(&mut out, Some(&a.label));
    out.push_str(",\"name\":");
    text(&mut out, a.name.as_deref());
    out.push_str(",\"type\":");
    text(&mut out, Some(&a.kind));
    out.push_str("},\"changes\":[");
    for (i, c) in event.changes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"after\":");
        jcs(&mut out, &c.after);
        out.push_str(",\"before\":");
        jcs(&mut out, &c.before);
        out.push_str(",\"op\":");
        text(&mut out, Some(&c.op));
        out.push_str(",\"path\":");
        text(&mut out, Some(&c.path));
        out.push('}');
    }
    out.push_str("],\"created_at\":");
    text(&mut out, Some(&event.created_at));
    out.push_str(",\"id\":");
    text(&mut out, Some(&event.id));
    out.push_str(",\"ip\":");
    text(&mut out, event.ip.as_deref());
    out.push_str(",\"metadata\":");
    jcs(&mut out, &event.metadata);
    out.push_str(",\"org_id\":");
    text(&mut out, event.org_id.as_deref());
    out.push_str(",\"resource\":{\"id\":");
    text(&mut out, event.resource.id.as_deref());
    out.push_str(",\"type\":");
    text(&mut out, Some(&event.resource.kind));
    out.push_str("},\"seq\":");
    // Numbers as JCS writes them (an integer past 2^53 as the double it becomes).
    match event.seq {
        Some(seq) if seq.unsigned_abs() < 1 << 53 => out.push_str(&seq.to_string()),
        Some(seq) => jcs(&mut out, &Value::from(seq)),
        None => out.push_str("null"),
    }
    out.push_str(",\"user_agent\":");
    text(&mut out, event.user_agent.as_deref());
    out.push('}');
    out
}

/// The definition: the exported JSON object without its hashes, through the JCS crate.
pub fn canonical_generic(event: &AuditEvent) -> String {
    let mut value = serde_json::to_value(event).expect("an event serialises");
    if let Value::Object(map) = &mut value {
        map.remove("hash");
        map.remove("prev_hash");
    }
    serde_json_canonicalizer::to_string(&value).expect("JSON values canonicalise")
}

pub fn hash(prev_hash: &str, event: &AuditEvent) -> String {
    let mut digest = Sha256::new();
    digest.update(prev_hash.as_bytes());
    digest.update(b"\n");
    digest.update(canonical(event).as_bytes());
    hex::encode(digest.finalize())
}

/// What a checkpoint signs.
pub fn checkpoint_message(org_id: Option<&str>, seq: i64, hash: &str, created_at: &str) -> String {
    serde_json_canonicalizer::to_string(&json!({ "org_id": org_id, "seq": seq, "hash": hash, "created_at": created_at })).expect("JSON values canonicalise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, AuditResource};

    fn event(metadata: Value) -> AuditEvent {
        AuditEvent {
            id: "01a2".into(),
            org_id: Some("org".into()),
            action: "auth.login".into(),
            actor: Actor { kind: "user".into(), id: Some("u".into()), label: "Ada".into(), name: Some("Ada".into()), email: None },
            resource: AuditResource { kind: "user".into(), id: Some("u".into()) },
            changes: vec![],
            metadata,
            ip: None,
            user_agent: None,
            created_at: "2026-11-26T10:00:00.000000Z".into(),
            seq: Some(7),
            prev_hash: Some("ignored".into()),
            hash: Some("ignored".into()),
        }
    }

    #[test]
    fn the_canonical_form_sorts_keys_and_leaves_the_hashes_out() {
        let c = canonical(&event(json!({ "z": 1, "a": [1.5, "é"] })));
        assert!(c.starts_with(r#"{"action":"auth.login","actor":{"email":null,"id":"u","label":"Ada","name":"Ada","type":"user"},"changes":[],"created_at":"#), "{c}");
        assert!(c.contains(r#""metadata":{"a":[1.5,"é"],"z":1}"#), "{c}");
        assert!(c.ends_with(r#""seq":7,"user_agent":null}"#), "{c}");
        assert!(!c.contains("ignored"));
        assert_eq!(c, canonical_generic(&event(json!({ "z": 1, "a": [1.5, "é"] }))));
        let h = hash(GENESIS, &event(json!({})));
        assert_eq!(h.len(), 64);
        assert_ne!(h, hash(GENESIS, &event(json!({ "x": 1 }))), "any change changes the hash");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::model::{Actor, AuditChange, AuditResource};
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters, non-ASCII, astral planes.
        proptest::string::string_regex("[a-z\"\\\u{0}-\u{1f}\u{7f}é€😀/<>]{0,12}").unwrap()
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_fast_canonical_form_is_the_definition(
            action in text(), label in text(), email in proptest::option::of(text()), ip in proptest::option::of(text()),
            metadata in json_value(), before in json_value(), after in json_value(), path in text(), seq in proptest::option::of(any::<i64>()),
        ) {
            let event = AuditEvent {
                id: "id".into(),
                org_id: None,
                action,
                actor: Actor { kind: "user".into(), id: None, label, name: None, email },
                resource: AuditResource { kind: "workflow".into(), id: Some("w".into()) },
                changes: vec![AuditChange { path, op: "changed".into(), before, after }],
                metadata,
                ip,
                user_agent: None,
                created_at: "2026-11-26T10:00:00.000000Z".into(),
                seq,
                prev_hash: None,
                hash: None,
            };
            prop_assert_eq!(canonical(&event), canonical_generic(&event));
        }
    }
}
