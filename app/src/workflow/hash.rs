//! The content hash: SHA-256 over a canonical serialisation of the semantic content only.
//!
//! Canonical: object keys sorted, no whitespace, nodes by id, edges by connectivity. Written
//! out directly (not through `serde_json::Map`, whose key order depends on a crate feature).

use super::Definition;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{self, Write};

/// Hex SHA-256 of the semantic content. Expects a normalised definition (sorted).
pub fn content_hash(def: &Definition) -> String {
    let mut hasher = Sha256::new();
    // The canonical form comes in many tiny writes; SHA-256 takes them best in blocks.
    let mut buffered = io::BufWriter::with_capacity(16 * 1024, &mut hasher);
    write_semantic(&mut buffered, def).expect("hashing never fails to write");
    buffered.flush().expect("hashing never fails to write");
    drop(buffered);
    hex::encode(hasher.finalize())
}

/// `{"edges":[{source,source_handle,target,target_handle}…],"nodes":[{data:{config,label},id,type}…]}`
pub fn canonical_semantic(def: &Definition) -> String {
    let mut out = Vec::with_capacity(def.nodes.len() * 128);
    write_semantic(&mut out, def).expect("writing to memory never fails");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Streams the canonical form into `w` (the hasher itself, so nothing is built in memory).
fn write_semantic<W: Write>(w: &mut W, def: &Definition) -> io::Result<()> {
    w.write_all(b"{\"edges\":[")?;
    for (i, e) in def.edges.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"{\"source\":")?;
        write_str(w, &e.source)?;
        w.write_all(b",\"source_handle\":")?;
        write_opt_str(w, &e.source_handle)?;
        w.write_all(b",\"target\":")?;
        write_str(w, &e.target)?;
        w.write_all(b",\"target_handle\":")?;
        write_opt_str(w, &e.target_handle)?;
        w.write_all(b"}")?;
    }
    w.write_all(b"],\"nodes\":[")?;
    for (i, n) in def.nodes.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"{\"data\":{\"config\":{")?;
        write_members(w, &n.data.config)?;
        w.write_all(b"},\"label\":")?;
        write_str(w, &n.data.label)?;
        w.write_all(b"},\"id\":")?;
        write_str(w, &n.id)?;
        w.write_all(b",\"type\":")?;
        write_str(w, &n.kind)?;
        w.write_all(b"}")?;
    }
    w.write_all(b"]}")
}

/// A string, null or scalar exactly as serde_json escapes it.
fn write_json<W: Write, T: serde::Serialize + ?Sized>(w: &mut W, v: &T) -> io::Result<()> {
    serde_json::to_writer(w, v).map_err(io::Error::other)
}

/// A string as serde_json writes it; most need no escaping and are copied as they are.
fn write_str<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return write_json(w, s);
    }
    w.write_all(b"\"")?;
    w.write_all(s.as_bytes())?;
    w.write_all(b"\"")
}

fn write_opt_str<W: Write>(w: &mut W, s: &Option<String>) -> io::Result<()> {
    match s {
        Some(s) => write_str(w, s),
        None => w.write_all(b"null"),
    }
}

fn write_members<W: Write>(w: &mut W, map: &serde_json::Map<String, Value>) -> io::Result<()> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable();
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_str(w, k)?;
        w.write_all(b":")?;
        write_value(w, &map[k])?;
    }
    Ok(())
}

fn write_value<W: Write>(w: &mut W, v: &Value) -> io::Result<()> {
    match v {
        Value::Object(map) => {
            w.write_all(b"{")?;
            write_members(w, map)?;
            w.write_all(b"}")
        }
        Value::Array(items) => {
            w.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                write_value(w, item)?;
            }
            w.write_all(b"]")
        }
        Value::String(s) => write_str(w, s),
        scalar => write_json(w, scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::definition::normalise;
    use serde_json::json;

    fn hash(v: Value) -> String {
        content_hash(&normalise(serde_json::from_value(v).unwrap()).unwrap())
    }

    fn base() -> Value {
        json!({
            "nodes": [
                {"id": "n1", "type": "http_request", "position": {"x": 0, "y": 0},
                 "data": {"label": "Fetch", "config": {"url": "https://a.test", "method": "GET", "headers": {"b": 1, "a": 2}}}},
                {"id": "n2", "type": "code", "data": {"label": "Shape", "config": {"code": "return 1"}}}
            ],
            "edges": [{"id": "e1", "source": "n1", "target": "n2"}]
        })
    }

    #[test]
    fn same_content_same_hash_whatever_the_order_or_cosmetics() {
        let reordered = json!({
            "edges": [{"target": "n2", "source": "n1", "id": "other-edge-id", "animated": true, "style": {"stroke": "#f00"}}],
            "nodes": [
                {"type": "code", "id": "n2", "data": {"config": {"code": "return 1"}, "label": "Shape"}, "selected": true, "width": 200},
                {"data": {"config": {"headers": {"a": 2, "b": 1}, "method": "GET", "url": "https://a.test"}, "label": "Fetch"},
                 "id": "n1", "type": "http_request", "position": {"x": 400, "y": -80}, "dragging": true}
            ]
        });
        assert_eq!(hash(base()), hash(reordered));
        assert_eq!(hash(base()).len(), 64);
    }

    #[test]
    fn any_semantic_change_changes_the_hash() {
        let h = hash(base());
        let edits: [fn(&mut Value); 6] = [
            |v| v["nodes"][0]["data"]["label"] = json!("Fetch user"),
            |v| v["nodes"][0]["data"]["config"]["url"] = json!("https://b.test"),
            |v| v["nodes"][1]["type"] = json!("condition"),
            |v| v["edges"][0]["source_handle"] = json!("yes"),
            |v| v["edges"].as_array_mut().unwrap().clear(),
            |v| v["nodes"][0]["data"]["config"]["headers"]["c"] = json!(3),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut v = base();
            edit(&mut v);
            assert_ne!(hash(v), h, "edit {i}");
        }
    }

    #[test]
    fn canonical_form_is_sorted_json() {
        let canon = canonical_semantic(&normalise(serde_json::from_value(base()).unwrap()).unwrap());
        let parsed: Value = serde_json::from_str(&canon).unwrap();
        assert_eq!(parsed["nodes"][0]["data"]["config"]["headers"], json!({"a": 2, "b": 1}));
        assert!(canon.starts_with(r#"{"edges":[{"source":"n1","source_handle":null,"target":"n2""#), "{canon}");
        assert!(canon.contains(r#""headers":{"a":2,"b":1}"#), "{canon}");
    }
}
