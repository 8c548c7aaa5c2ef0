//! Types the browser and the server share.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in an org. Ordered: `Member < Admin < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!("must be owner, admin or member, not {other:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub name: String,
}

/// An org as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgMembership {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// Who is signed in, and where they belong: what the login answers and the shell shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: UserInfo,
    pub orgs: Vec<OrgMembership>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: String,
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Member < Role::Admin && Role::Admin < Role::Owner);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert!("Owner".parse::<Role>().is_err());
    }
}

/// Who did something, as recorded at the time: the shape of a version's author and (later)
/// of an audit event's actor. System and anonymous actors have no id and a readable label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub label: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

impl Actor {
    pub fn user(user: &UserInfo) -> Actor {
        Actor {
            kind: "user".into(),
            id: Some(user.id.clone()),
            label: user.name.clone(),
            name: Some(user.name.clone()),
            email: Some(user.email.clone()),
        }
    }
}

/// A workflow: the live definition, or a version's snapshot in the same shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub nodes: Vec<crate::workflow::Node>,
    pub edges: Vec<crate::workflow::Edge>,
    pub version: i64,
    pub content_hash: String,
    pub enabled: bool,
    pub updated_at: String,
}

/// A row of the workflow list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowSummary {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub version: i64,
    pub content_hash: String,
    pub enabled: bool,
    pub updated_at: String,
    pub updated_by: String,
}

/// Where a version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    Create,
    Update,
    Restore,
    Api,
}

impl VersionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Create => "create",
            VersionSource::Update => "update",
            VersionSource::Restore => "restore",
            VersionSource::Api => "api",
        }
    }
}

impl FromStr for VersionSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "create" => Ok(VersionSource::Create),
            "update" => Ok(VersionSource::Update),
            "restore" => Ok(VersionSource::Restore),
            "api" => Ok(VersionSource::Api),
            other => Err(format!("unknown version source {other:?}")),
        }
    }
}

/// A history row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: i64,
    pub name: String,
    pub content_hash: String,
    pub source: VersionSource,
    pub label: Option<String>,
    pub created_at: String,
    pub actor: Actor,
    pub summary: crate::workflow::DiffSummary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub versions: Vec<VersionInfo>,
    pub next_cursor: Option<String>,
}

/// The semantic diff between two versions, as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub from: i64,
    pub to: i64,
    #[serde(flatten)]
    pub diff: crate::workflow::WorkflowDiff,
}

/// What an audit event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

/// One structured change: `path: before → after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditChange {
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub op: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// An entry of the security audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub org_id: Option<String>,
    pub action: String,
    pub actor: Actor,
    pub resource: AuditResource,
    pub changes: Vec<AuditChange>,
    pub metadata: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// What an API key may do. A key acts with exactly these, never more.
pub const SCOPES: [&str; 4] = ["workflows:read", "workflows:write", "audit:read", "keys:read"];

/// Who created a key, as they were named then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreator {
    pub id: String,
    pub name: String,
}

/// An API key as the UI and API show it: never its secret, only `display` (prefix + last 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    /// `org` or `personal`.
    pub kind: String,
    pub name: String,
    pub display: String,
    pub scopes: Vec<String>,
    pub created_by: KeyCreator,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A new key and its secret: the only time the secret is ever shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// A mail in the outbox: pending until SMTP delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// `pending` or `sent`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// One of the signed-in user's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub created_at: String,
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub current: bool,
}

/// The audit explorer's filters, as the REST query string and the explorer's URL carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Comma-separated list of actions.
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Inclusive lower bound, RFC 3339.
    pub since: Option<String>,
    /// Exclusive upper bound, RFC 3339.
    pub until: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Every action the trail records, for the explorer's action filter.
pub const AUDIT_ACTIONS: [&str; 17] = [
    "auth.login", "auth.login_failed", "auth.login_blocked", "auth.logout", "auth.password_changed",
    "auth.session_revoked", "account.deleted", "member.role_changed", "member.removed", "api_key.created",
    "api_key.revoked", "workflow.created", "workflow.updated", "workflow.deleted", "workflow.restored",
    "audit_log.exported", "user.created",
];

/// Actions of features still to come (SPEC "Audit event"): a filter may name them already.
pub const PLANNED_AUDIT_ACTIONS: [&str; 22] = [
    "workflow.executed", "workflow.exported", "credential.created", "credential.accessed", "credential.deleted",
    "webhook_key.created", "webhook_key.revoked", "org.settings_changed", "file.uploaded", "file.downloaded",
    "file.deleted", "file.upload_refused", "file.shared", "file.share_revoked", "billing.subscription_changed",
    "billing.invoice_paid", "billing.payment_failed", "billing.dispute_created", "audit_stream.created",
    "audit_stream.deleted", "audit_log.pruned", "audit_log.verified",
];

/// Whether a filter may name `action`.
pub fn is_known_action(action: &str) -> bool {
    AUDIT_ACTIONS.contains(&action) || PLANNED_AUDIT_ACTIONS.contains(&action)
}
