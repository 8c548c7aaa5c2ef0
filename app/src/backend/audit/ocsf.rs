//! An event as an OCSF 1.5.0 row, for security lakes and SIEMs: sign-ins and sign-outs as
//! Authentication (3002), password and account events as Account Change (3001), role and
//! membership changes as User Access Management (3005), everything else as API Activity
//! (6003). What OCSF has no field for (the changes, our metadata, the chain) rides in
//! `unmapped`, so nothing recorded is lost on the way.

use crate::model::{Actor, AuditEvent};
use serde_json::{json, Map, Value};

pub const VERSION: &str = "1.5.0";

struct Class {
    uid: i64,
    name: &'static str,
    category_uid: i64,
    category_name: &'static str,
}

const AUTHENTICATION: Class = Class { uid: 3002, name: "Authentication", category_uid: 3, category_name: "Identity & Access Management" };
const ACCOUNT_CHANGE: Class = Class { uid: 3001, name: "Account Change", category_uid: 3, category_name: "Identity & Access Management" };
const USER_ACCESS: Class = Class { uid: 3005, name: "User Access Management", category_uid: 3, category_name: "Identity & Access Management" };
const API_ACTIVITY: Class = Class { uid: 6003, name: "API Activity", category_uid: 6, category_name: "Application Activity" };

/// The class, activity (id, name) and whether the action succeeded.
fn classify(action: &str) -> (Class, i64, &'static str, bool) {
    match action {
        "auth.login" => (AUTHENTICATION, 1, "Logon", true),
        "auth.login_failed" | "auth.login_blocked" | "auth.mfa_failed" => (AUTHENTICATION, 1, "Logon", false),
        "auth.recovery_code_used" => (AUTHENTICATION, 1, "Logon", true),
        "auth.mfa_enabled" | "auth.passkey_added" => (ACCOUNT_CHANGE, 10, "MFA Factor Enable", true),
        "auth.mfa_disabled" | "auth.passkey_removed" => (ACCOUNT_CHANGE, 11, "MFA Factor Disable", true),
        "auth.logout" | "auth.session_revoked" => (AUTHENTICATION, 2, "Logoff", true),
        "auth.password_changed" => (ACCOUNT_CHANGE, 3, "Password Change", true),
        "user.created" => (ACCOUNT_CHANGE, 1, "Create", true),
        "account.deleted" => (ACCOUNT_CHANGE, 6, "Delete", true),
        "member.role_changed" => (USER_ACCESS, 1, "Assign Privileges", true),
        "member.removed" => (USER_ACCESS, 2, "Revoke Privileges", true),
        "member.joined" => (USER_ACCESS, 1, "Assign Privileges", true),
        _ => {
            let verb = action.rsplit('.').next().unwrap_or_default();
            let (id, name) = match verb {
                "created" | "uploaded" | "shared" | "invited" => (1, "Create"),
                "exported" | "downloaded" | "accessed" | "verified" => (2, "Read"),
                "updated" | "restored" | "version_named" | "settings_changed" | "role_changed" | "subscription_changed" => (3, "Update"),
                "deleted" | "revoked" | "removed" | "pruned" | "share_revoked" | "invitation_revoked" => (4, "Delete"),
                _ => (99, "Other"),
            };
            let ok = !matches!(verb, "upload_refused" | "payment_failed");
            (API_ACTIVITY, id, name, ok)
        }
    }
}

/// Epoch milliseconds of an RFC 3339 time (0 if unreadable, which the recorder never writes).
fn epoch_ms(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time).map(|t| t.timestamp_millis()).unwrap_or(0)
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        map.insert(key.into(), value.into());
    }
}

/// The acting principal as an OCSF user: a person, an API key or the system itself.
fn actor_user(actor: &Actor) -> Value {
    let (type_id, type_name) = match actor.kind.as_str() {
        "user" => (1, "User"),
        "system" => (3, "System"),
        "anonymous" => (0, "Unknown"),
        _ => (99, "API key"),
    };
    let mut user = Map::new();
    put(&mut user, "uid", actor.id.as_deref());
    put(&mut user, "name", Some(actor.name.as_deref().unwrap_or(&actor.label)));
    put(&mut user, "email_addr", actor.email.as_deref());
    user.insert("type_id".into(), type_id.into());
    user.insert("type".into(), type_name.into());
    Value::Object(user)
}

/// The user an identity event is about: the resource when it is a user or member, else the actor.
fn subject_user(e: &AuditEvent) -> Value {
    if matches!(e.resource.kind.as_str(), "user" | "member") {
        let mut user = Map::new();
        put(&mut user, "uid", e.resource.id.as_deref());
        put(&mut user, "email_addr", e.metadata.get("email").and_then(Value::as_str));
        put(&mut user, "name", e.metadata.get("name").and_then(Value::as_str));
        if !user.is_empty() {
            return Value::Object(user);
        }
    }
    if let Some(email) = e.metadata.get("email").and_then(Value::as_str).filter(|_| e.actor.id.is_none()) {
        return json!({ "email_addr": email, "name": email });
    }
    actor_user(&e.actor)
}

fn valid_ip(ip: Option<&str>) -> Option<&str> {
    ip.filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
}

/// One OCSF row for `e`.
pub fn row(e: &AuditEvent) -> Value {
    let (class, activity_id, activity_name, ok) = classify(&e.action);
    let mut product = Map::new();
    product.insert("name".into(), "Chronicle".into());
    product.insert("vendor_name".into(), "Chronicle".into());
    product.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    let mut metadata = json!({
        "version": VERSION, "uid": e.id, "product": product, "log_name": "audit",
        "event_code": e.action, "original_time": e.created_at,
    });
    if let Some(seq) = e.seq {
        metadata["sequence"] = seq.into();
    }
    if let Some(org) = &e.org_id {
        metadata["tenant_uid"] = org.as_str().into();
    }
    // Where the request came from; an event of Chronicle's own (no client) names Chronicle.
    let src = match valid_ip(e.ip.as_deref()) {
        Some(ip) => json!({ "ip": ip }),
        None => json!({ "svc_name": "Chronicle" }),
    };
    let mut row = json!({
        "class_uid": class.uid, "class_name": class.name,
        "category_uid": class.category_uid, "category_name": class.category_name,
        "activity_id": activity_id, "activity_name": activity_name,
        "type_uid": class.uid * 100 + activity_id, "type_name": format!("{}: {}", class.name, activity_name),
        "severity_id": 1, "severity": "Informational",
        "status_id": if ok { 1 } else { 2 }, "status": if ok { "Success" } else { "Failure" },
        "time": epoch_ms(&e.created_at),
        "message": e.action,
        "metadata": metadata,
        "actor": { "user": actor_user(&e.actor) },
        "src_endpoint": src,
        "unmapped": {
            "resource": { "type": e.resource.kind, "id": e.resource.id },
            "changes": e.changes, "metadata": e.metadata,
            "prev_hash": e.prev_hash, "hash": e.hash,
        },
    });
    if let Some(agent) = e.user_agent.as_deref().filter(|a| !a.is_empty()) {
        row["http_request"] = json!({ "user_agent": agent });
    }
    if !ok {
        if let Some(reason) = e.metadata.get("reason").and_then(Value::as_str) {
            row["status_detail"] = reason.into();
        }
    }
    match class.uid {
        3002 => {
            row["user"] = subject_user(e);
            // Authentication names the service signed in to.
            row["service"] = json!({ "name": "Chronicle" });
        }
        3001 => row["user"] = subject_user(e),
        3005 => {
            row["user"] = subject_user(e);
            let role = |k: &str| e.changes.iter().find(|c| c.path == "role").and_then(|c| if k == "after" { c.after.as_str() } else { c.before.as_str() }).map(str::to_owned);
            let privilege = if activity_id == 1 { role("after") } else { role("before") }
                .or_else(|| e.metadata.get("role").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "member".into());
            row["privileges"] = json!([privilege]);
        }
        _ => {
            row["api"] = json!({ "operation": e.action });
            let mut resource = Map::new();
            put(&mut resource, "uid", e.resource.id.as_deref());
            resource.insert("name".into(), e.resource.kind.clone().into());
            resource.insert("type".into(), e.resource.kind.clone().into());
            row["resources"] = json!([resource]);
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditResource;

    fn event(action: &str) -> AuditEvent {
        AuditEvent {
            id: "e1".into(),
            org_id: Some("o".into()),
            action: action.into(),
            actor: Actor { kind: "user".into(), id: Some("u1".into()), label: "Ada".into(), name: Some("Ada".into()), email: Some("ada@x".into()) },
            resource: AuditResource { kind: "user".into(), id: Some("u1".into()) },
            changes: vec![],
            metadata: json!({}),
            ip: Some("203.0.113.9".into()),
            user_agent: Some("curl/8".into()),
            created_at: "2026-11-23T10:00:00.123456Z".into(),
            seq: Some(7),
            prev_hash: None,
            hash: None,
        }
    }

    #[test]
    fn classes_follow_the_action() {
        let failed = row(&event("auth.login_failed"));
        assert_eq!((failed["class_uid"].as_i64(), failed["status_id"].as_i64(), failed["type_uid"].as_i64()), (Some(3002), Some(2), Some(300201)));
        assert_eq!(row(&event("auth.password_changed"))["class_uid"], 3001);
        assert_eq!(row(&event("member.role_changed"))["class_uid"], 3005);
        let api = row(&event("workflow.updated"));
        assert_eq!((api["class_uid"].as_i64(), api["activity_id"].as_i64(), api["type_uid"].as_i64()), (Some(6003), Some(3), Some(600303)));
        assert_eq!(api["time"], 1_795_428_000_123i64);
        assert_eq!(api["metadata"]["uid"], "e1");
        assert_eq!(api["metadata"]["version"], "1.5.0");
        assert_eq!(api["src_endpoint"]["ip"], "203.0.113.9");
        assert_eq!(api["http_request"]["user_agent"], "curl/8");
    }
}
