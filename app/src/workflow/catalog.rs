//! The node types a workflow can use, each with its config schema. The editor's side panel
//! renders these fields; strict validation (on enable) checks them.

use crate::error::ApiError;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Code, an email body: multi-line, diffed line by line.
    LongText,
    /// An http(s) URL.
    Url,
    /// One of a fixed set of values.
    Choice(&'static [&'static str]),
    /// A JSON array (e.g. contract arguments).
    List,
    /// The id of one of the org's credentials (a select of their names in the editor).
    Credential,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub required: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct NodeSpec {
    pub kind: &'static str,
    pub title: &'static str,
    /// A short glyph for the canvas.
    pub icon: &'static str,
    pub is_trigger: bool,
    pub fields: &'static [FieldSpec],
}

const fn field(key: &'static str, label: &'static str, kind: FieldKind, required: bool) -> FieldSpec {
    FieldSpec { key, label, kind, required }
}

const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
const NETWORKS: &[&str] = &["mainnet", "sepolia", "base", "polygon"];

const CONTRACT_FIELDS: &[FieldSpec] = &[
    field("network", "Network", FieldKind::Choice(NETWORKS), true),
    field("contractAddress", "Contract address", FieldKind::Text, true),
    field("abiFunction", "Function", FieldKind::Text, true),
    field("functionArgs", "Arguments", FieldKind::List, false),
];

pub const CATALOG: &[NodeSpec] = &[
    NodeSpec { kind: "manual_trigger", title: "Manual trigger", icon: "▶", is_trigger: true, fields: &[] },
    NodeSpec {
        kind: "webhook_trigger",
        title: "Webhook",
        icon: "⚡",
        is_trigger: true,
        fields: &[field("path", "Path", FieldKind::Text, true), field("method", "Method", FieldKind::Choice(HTTP_METHODS), true)],
    },
    NodeSpec {
        kind: "schedule_trigger",
        title: "Schedule",
        icon: "◷",
        is_trigger: true,
        fields: &[field("cron", "Cron expression", FieldKind::Text, true), field("timezone", "Time zone", FieldKind::Text, false)],
    },
    NodeSpec {
        kind: "http_request",
        title: "HTTP request",
        icon: "⇄",
        is_trigger: false,
        fields: &[
            field("url", "URL", FieldKind::Url, true),
            field("method", "Method", FieldKind::Choice(HTTP_METHODS), true),
            field("body", "Body", FieldKind::LongText, false),
            field("credential_id", "Credential", FieldKind::Credential, false),
        ],
    },
    NodeSpec {
        kind: "send_email",
        title: "Send email",
        icon: "✉",
        is_trigger: false,
        fields: &[
            field("to", "To", FieldKind::Text, true),
            field("subject", "Subject", FieldKind::Text, true),
            field("body", "Body", FieldKind::LongText, true),
        ],
    },
    NodeSpec {
        kind: "condition",
        title: "Condition",
        icon: "◇",
        is_trigger: false,
        fields: &[field("expression", "Expression", FieldKind::Text, true)],
    },
    NodeSpec {
        kind: "code",
        title: "Code",
        icon: "{}",
        is_trigger: false,
        fields: &[
            field("language", "Language", FieldKind::Choice(&["javascript", "python"]), true),
            field("code", "Code", FieldKind::LongText, true),
        ],
    },
    NodeSpec { kind: "read_contract", title: "Read contract", icon: "⊞", is_trigger: false, fields: CONTRACT_FIELDS },
    NodeSpec { kind: "write_contract", title: "Write contract", icon: "✎", is_trigger: false, fields: CONTRACT_FIELDS },
];

pub fn spec(kind: &str) -> Option<&'static NodeSpec> {
    CATALOG.iter().find(|s| s.kind == kind)
}

pub fn type_names() -> Vec<&'static str> {
    CATALOG.iter().map(|s| s.kind).collect()
}

/// Older clients wrote contract configs with other key names; read them as today's.
/// `args` → `functionArgs`, `functionName` → `abiFunction`; `abiFunctionKey` is ignored.
/// A current key wins over its legacy alias.
pub fn apply_legacy_keys(kind: &str, config: &mut Map<String, Value>) {
    if kind != "read_contract" && kind != "write_contract" {
        return;
    }
    for (legacy, current) in [("args", "functionArgs"), ("functionName", "abiFunction")] {
        if let Some(value) = config.remove(legacy) {
            config.entry(current).or_insert(value);
        }
    }
    config.remove("abiFunctionKey");
}

/// The most `schedule_trigger` nodes an enabled workflow may have: each is a cron the
/// scheduler reads every tick on every instance.
pub const MAX_SCHEDULE_TRIGGERS: usize = 20;

/// Strict validation, applied when a workflow is enabled: every required field present and
/// of the right kind. The error names the node and the field.
pub fn validate_strict(nodes: &[super::Node]) -> Result<(), ApiError> {
    if !nodes.iter().any(|n| spec(&n.kind).is_some_and(|s| s.is_trigger)) {
        return Err(ApiError::invalid("nodes", "a workflow needs a trigger node to be enabled"));
    }
    let schedules = nodes.iter().filter(|n| n.kind == "schedule_trigger").count();
    if schedules > MAX_SCHEDULE_TRIGGERS {
        return Err(ApiError::invalid("nodes", format!("a workflow may have at most {MAX_SCHEDULE_TRIGGERS} schedule triggers; this one has {schedules}")));
    }
    for node in nodes {
        let Some(spec) = spec(&node.kind) else { continue };
        for f in spec.fields {
            let path = format!("nodes[{}].config.{}", node.id, f.key);
            let value = node.data.config.get(f.key).filter(|v| !v.is_null() && v.as_str() != Some(""));
            let Some(value) = value else {
                if f.required {
                    return Err(ApiError::invalid(&path, format!("{} is required", f.label)));
                }
                continue;
            };
            check_kind(&path, f, value)?;
        }
        check_meaning(node)?;
    }
    Ok(())
}

/// What a field's kind cannot tell: a condition that parses, a schedule that is a 5-field
/// cron in a known time zone.
fn check_meaning(node: &super::Node) -> Result<(), ApiError> {
    let text = |key: &str| node.data.config.get(key).and_then(Value::as_str).filter(|t| !t.trim().is_empty());
    let path = |key: &str| format!("nodes[{}].config.{key}", node.id);
    match node.kind.as_str() {
        "condition" => {
            if let Some(expression) = text("expression") {
                super::condition::parse(expression).map_err(|why| ApiError::invalid(&path("expression"), why))?;
            }
        }
        #[cfg(feature = "ssr")]
        "schedule_trigger" => {
            if let Some(cron) = text("cron") {
                crate::backend::executions::schedule::parse_cron(cron).map_err(|why| ApiError::invalid(&path("cron"), why))?;
            }
            if let Some(zone) = text("timezone") {
                crate::backend::executions::schedule::parse_zone(zone).map_err(|why| ApiError::invalid(&path("timezone"), why))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_kind(path: &str, f: &FieldSpec, value: &Value) -> Result<(), ApiError> {
    match f.kind {
        FieldKind::List if !value.is_array() => Err(ApiError::invalid(path, "must be a list")),
        FieldKind::List => Ok(()),
        _ => {
            let Some(text) = value.as_str() else { return Err(ApiError::invalid(path, "must be text")) };
            match f.kind {
                FieldKind::Url if !(text.starts_with("https://") || text.starts_with("http://")) => {
                    Err(ApiError::invalid(path, "must be an http:// or https:// URL"))
                }
                FieldKind::Choice(options) if !options.contains(&text) => {
                    Err(ApiError::invalid(path, format!("must be one of {}", options.join(", "))))
                }
                _ => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Node;
    use serde_json::json;

    fn node(kind: &str, config: Value) -> Node {
        serde_json::from_value(json!({"id": "n1", "type": kind, "data": {"label": "N", "config": config}})).unwrap()
    }

    #[test]
    fn legacy_contract_keys_are_read_as_current_ones() {
        let cases = [
            (json!({"args": [1], "functionName": "balanceOf", "abiFunctionKey": "k"}), json!({"functionArgs": [1], "abiFunction": "balanceOf"})),
            (json!({"args": [1], "functionArgs": [2]}), json!({"functionArgs": [2]})),
            (json!({"abiFunction": "a", "functionName": "b"}), json!({"abiFunction": "a"})),
        ];
        for kind in ["read_contract", "write_contract"] {
            for (input, want) in &cases {
                let mut config = input.as_object().unwrap().clone();
                apply_legacy_keys(kind, &mut config);
                assert_eq!(Value::Object(config), *want, "{kind} {input}");
            }
        }
        let mut other = json!({"args": [1]}).as_object().unwrap().clone();
        apply_legacy_keys("code", &mut other);
        assert!(other.contains_key("args"), "only contract nodes have legacy keys");
    }

    #[test]
    fn strict_validation_names_node_and_field() {
        let trigger = node("manual_trigger", json!({}));
        let cases = [
            (node("http_request", json!({"method": "GET"})), Some("nodes[n1].config.url")),
            (node("http_request", json!({"url": "ftp://x", "method": "GET"})), Some("nodes[n1].config.url")),
            (node("http_request", json!({"url": "https://x", "method": "FETCH"})), Some("nodes[n1].config.method")),
            (node("read_contract", json!({"network": "base", "contractAddress": "0x1", "abiFunction": "f", "functionArgs": "1"})), Some("nodes[n1].config.functionArgs")),
            (node("http_request", json!({"url": "https://x", "method": "GET"})), None),
        ];
        for (n, want) in cases {
            let mut t = trigger.clone();
            t.id = "t".into();
            let got = validate_strict(&[t, n.clone()]).err().and_then(|e| e.field);
            assert_eq!(got.as_deref(), want, "{:?}", n.data.config);
        }
        assert_eq!(validate_strict(&[]).unwrap_err().field.as_deref(), Some("nodes"), "needs a trigger");
    }
}
