//! Structured changes from before/after values: `[{path, op, before, after}]`, recursing into
//! objects so a path names the leaf (`config.url`).

use crate::model::AuditChange;
use serde_json::{Map, Value};

pub fn compute(before: &Value, after: &Value) -> Vec<AuditChange> {
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    out
}

fn walk(path: &str, before: &Value, after: &Value, out: &mut Vec<AuditChange>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => members(path, b, a, out),
        (b, a) if b == a => {}
        (Value::Null, a) => out.push(change(path, "added", Value::Null, a.clone())),
        (b, Value::Null) => out.push(change(path, "removed", b.clone(), Value::Null)),
        (b, a) => out.push(change(path, "changed", b.clone(), a.clone())),
    }
}

fn members(path: &str, before: &Map<String, Value>, after: &Map<String, Value>, out: &mut Vec<AuditChange>) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys().filter(|k| !before.contains_key(*k))).collect();
    keys.sort();
    for key in keys {
        let sub = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        walk(&sub, before.get(key).unwrap_or(&Value::Null), after.get(key).unwrap_or(&Value::Null), out);
    }
}

fn change(path: &str, op: &str, before: Value, after: Value) -> AuditChange {
    AuditChange { path: path.to_owned(), op: op.to_owned(), before, after }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_leaf_paths_and_operations() {
        let got = compute(
            &json!({"name": "ci", "role": "member", "limits": {"rate": 10, "burst": 5}, "gone": true}),
            &json!({"name": "ci-prod", "role": "member", "limits": {"rate": 20, "burst": 5}, "new": 1}),
        );
        let summary: Vec<(String, String, Value, Value)> = got.into_iter().map(|c| (c.path, c.op, c.before, c.after)).collect();
        assert_eq!(
            summary,
            vec![
                ("gone".into(), "removed".into(), json!(true), Value::Null),
                ("limits.rate".into(), "changed".into(), json!(10), json!(20)),
                ("name".into(), "changed".into(), json!("ci"), json!("ci-prod")),
                ("new".into(), "added".into(), Value::Null, json!(1)),
            ]
        );
        assert!(compute(&json!({"a": 1}), &json!({"a": 1})).is_empty());
    }
}
