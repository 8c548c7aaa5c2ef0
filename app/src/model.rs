//! Types the browser and the server share.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in an org. Ordered: `Member < Admin < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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
    /// The org's payment failed (billing status `past_due`): every page of it says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub past_due: bool,
    /// The org requires a second factor of its members (`require_mfa`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_mfa: bool,
}

/// Who is signed in, and where they belong: what the login answers and the shell shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: UserInfo,
    pub orgs: Vec<OrgMembership>,
}

/// Whom the audit explorer's actor filter offers: the org's members and its org keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorChoices {
    pub people: Vec<ActorChoice>,
    pub keys: Vec<ActorChoice>,
}

/// One choice of the actor filter: the id an event's actor carries, and how to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorChoice {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: String,
}

/// A pending invitation, as its org's owners and admins see it (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// The inviter's name.
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
}

/// What the `/invite/{token}` page shows before accepting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: String,
    /// An account with this email exists: accept by signing in as it.
    pub account_exists: bool,
}

/// A person's second factors, as their Account page shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaStatus {
    pub totp_enabled: bool,
    pub recovery_codes_left: i64,
}

/// TOTP enrolment, answered once: the secret as text and as an `otpauth://` URI, and the QR
/// code of that URI (SVG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub qr_svg: String,
}

/// One of a person's passkeys, as their Account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The first half of a passkey ceremony: its token (for the second half) and the WebAuthn
/// options for `navigator.credentials` (`{publicKey: …}`, in WebAuthn's JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ceremony: String,
    pub options: serde_json::Value,
}

/// A right password: either signed in, or a second factor is asked for the challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LoginStep {
    SignedIn(SessionInfo),
    SecondFactor { mfa_required: bool, challenge: String },
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
    /// Chronicle itself (a background job), named by `label`.
    pub fn system(label: &str) -> Actor {
        Actor { kind: "system".into(), id: None, label: label.into(), name: None, email: None }
    }

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
    /// The approval of the version this is (the live row: its newest version).
    #[serde(default)]
    pub approval: Approval,
    /// The version runs execute: the newest approved one (`None`: none yet).
    #[serde(default)]
    pub approved_version: Option<i64>,
}

/// Where a version stands in four-eyes review: `approved`, `pending` or `rejected`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    #[default]
    Approved,
    Pending,
    Rejected,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Approved => "approved",
            ApprovalState::Pending => "pending",
            ApprovalState::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> ApprovalState {
        match text {
            "pending" => ApprovalState::Pending,
            "rejected" => ApprovalState::Rejected,
            _ => ApprovalState::Approved,
        }
    }
}

/// Who approved or rejected a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewer {
    pub id: Option<String>,
    pub name: String,
}

/// A version's approval: `by` and `at` are null while pending (and for versions that
/// predate approvals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub state: ApprovalState,
    pub by: Option<Reviewer>,
    pub at: Option<String>,
    /// Why it was rejected, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The org setting `workflow_approval`: when a member's version waits for an owner or admin.
pub const WORKFLOW_APPROVAL_MODES: [&str; 3] = ["credentials", "all", "off"];

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
    #[serde(default)]
    pub approval: Approval,
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
    /// Its place in the trail (insertion order), and its org's hash chain once sealed:
    /// `hash = hex(SHA-256(prev_hash + "\n" + JCS(this event without hash and prev_hash)))`.
    #[serde(default)]
    pub seq: Option<i64>,
    #[serde(default)]
    pub prev_hash: Option<String>,
    #[serde(default)]
    pub hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// What an API key may do. A key acts with exactly these, never more.
pub const SCOPES: [&str; 7] =
    ["workflows:read", "workflows:write", "workflows:execute", "audit:read", "keys:read", "files:read", "files:write"];

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
    /// Workflow mail only: its tracking code, and the engagement recorded for it so far.
    #[serde(default)]
    pub tracking: Option<MailTracking>,
}

/// What tracking knows about one workflow mail (events recorded only for orgs that opted in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailTracking {
    pub workflow_id: Option<String>,
    pub delivered: i64,
    pub opened: i64,
    pub clicked: i64,
    pub bounced: i64,
    pub blocked: i64,
}

/// An org's settings (`GET /api/v1/orgs/{org}/settings`). The PostHog key is write-only:
/// only whether one is set is ever answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    pub capture_engagement_events: bool,
    pub audit_retention_days: Option<i64>,
    pub posthog_host: Option<String>,
    pub posthog_api_key_set: bool,
    /// `credentials` (default), `all` or `off`: see [`WORKFLOW_APPROVAL_MODES`].
    #[serde(default)]
    pub workflow_approval: String,
    /// Members need a second factor to reach the org with a session (keys are unaffected).
    #[serde(default)]
    pub require_mfa: bool,
}

/// A settings change: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SettingsPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_engagement_events: Option<bool>,
    #[serde(default, deserialize_with = "present_whole_number", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 36500))]
    pub audit_retention_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<crate::backend::schema::PosthogHost>))]
    pub posthog_host: Option<Option<String>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<crate::backend::schema::PosthogKey>))]
    pub posthog_api_key: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<crate::backend::schema::WorkflowApproval>))]
    pub workflow_approval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_mfa: Option<bool>,
}

/// A JSON integer, also written with a zero fraction (`3.0`): JSON Schema counts both as
/// integers, and so does the API.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number, not {n}")))
}

/// [`whole_number`], or `null`.
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

/// [`optional_whole_number`] for a field that is present (`null` included).
fn present_whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    optional_whole_number(d).map(Some)
}

/// A field that is present (`null` included) is `Some`; an absent one stays `None` by default.
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The engagement events a workflow's mail may produce, and nothing else.
pub const ENGAGEMENT_EVENTS: [&str; 7] = [
    "$workflows_email_sent", "$workflows_email_failed", "$workflows_email_delivered", "$workflows_email_opened",
    "$workflows_email_link_clicked", "$workflows_email_bounced", "$workflows_email_blocked",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngagementEvent {
    pub id: String,
    pub event: String,
    pub distinct_id: String,
    pub workflow_id: Option<String>,
    pub execution_id: Option<String>,
    pub message_id: Option<String>,
    pub properties: serde_json::Value,
    pub occurred_at: String,
    pub received_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct EngagementQuery {
    pub workflow_id: Option<String>,
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::EngagementEventFilter>, inline))]
    pub event: Option<String>,
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 200))]
    pub limit: Option<i64>,
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::Cursor>, inline))]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngagementPage {
    pub events: Vec<EngagementEvent>,
    pub next_cursor: Option<String>,
}

/// A workflow's funnel: how many events of each kind, in all and per day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementSummary {
    /// `(event, count)` for each allowlisted event.
    pub totals: Vec<(String, i64)>,
    /// `(day YYYY-MM-DD, event, count)`, the last 30 days with events.
    pub daily: Vec<(String, String, i64)>,
}

/// Where PostHog forwarding stands for an org.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardingStatus {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub last_error: Option<String>,
}

/// An org file (`POST /api/v1/orgs/{org}/files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgFile {
    pub id: String,
    pub name: String,
    pub size: i64,
    pub sha256: String,
    pub content_type: String,
    pub created_by: KeyCreator,
    pub created_at: String,
    /// Whether a public link to it is active.
    #[serde(default)]
    pub shared: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileList {
    pub files: Vec<OrgFile>,
    /// The next page's cursor; none on the last page.
    pub next_cursor: Option<String>,
}

/// A public link, answered once at creation (the token is stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileShare {
    pub id: String,
    pub url: String,
    pub created_at: String,
}

/// `GET /api/v1/orgs/{org}/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub storage_used_bytes: i64,
    pub storage_quota_bytes: i64,
    pub files: i64,
    pub plan: String,
    pub billing_status: String,
    pub seats: Option<i64>,
}

/// The latest signed checkpoint of an org's trail (the Integrity panel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailCheckpoint {
    pub seq: i64,
    pub hash: String,
    pub created_at: String,
}

/// What verifying an org's trail found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailReport {
    pub ok: bool,
    pub events_checked: i64,
    pub checkpoints_checked: i64,
    pub first_bad_seq: Option<i64>,
    pub reason: Option<String>,
}

/// An audit stream as its page shows it (the secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditStream {
    pub id: String,
    pub url: String,
    /// `json` or `ocsf`.
    pub format: String,
    pub created_at: String,
    /// The last `seq` delivered.
    pub cursor_seq: i64,
    pub delivered: i64,
    /// Sealed events not yet delivered.
    pub lag: i64,
    /// Failed attempts in a row (0 when healthy).
    pub failures: i64,
    pub next_attempt_at: String,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// A stream just created, with its signing secret (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedStream {
    pub stream: AuditStream,
    pub secret: String,
}

/// An SNS subscription waiting for someone to open its SubscribeURL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnsSubscription {
    pub message_id: String,
    pub topic_arn: String,
    pub subscribe_url: String,
    pub received_at: String,
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
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Comma-separated list of actions.
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Inclusive lower bound, RFC 3339.
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::Instant>, inline))]
    pub since: Option<String>,
    /// Exclusive upper bound, RFC 3339.
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::Instant>, inline))]
    pub until: Option<String>,
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 200))]
    pub limit: Option<i64>,
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::AuditCursor>, inline))]
    pub cursor: Option<String>,
}

/// Every action the trail records, for the explorer's action filter.
pub const AUDIT_ACTIONS: [&str; 55] = [
    "auth.login", "auth.login_failed", "auth.login_blocked", "auth.logout", "auth.password_changed",
    "auth.session_revoked", "account.deleted", "member.role_changed", "member.removed", "api_key.created",
    "api_key.revoked", "workflow.created", "workflow.updated", "workflow.deleted", "workflow.restored",
    "workflow.executed", "credential.created", "credential.accessed", "credential.deleted", "webhook_key.created",
    "webhook_key.revoked", "audit_log.exported", "user.created", "org.settings_changed", "workflow.exported", "file.uploaded",
    "file.downloaded", "file.deleted", "file.upload_refused", "file.shared", "file.share_revoked", "billing.subscription_changed",
    "billing.invoice_paid", "billing.payment_failed", "billing.dispute_created", "audit_stream.created", "audit_stream.deleted",
    "audit_log.pruned", "audit_log.verified", "credential.updated", "credential.rotated", "credential.refused",
    "workflow.version_approved", "workflow.version_rejected", "workflow.run_refused", "workflow.version_named",
    "member.invited", "member.invitation_revoked", "member.joined", "auth.mfa_enabled", "auth.mfa_disabled",
    "auth.mfa_failed", "auth.recovery_code_used", "auth.passkey_added", "auth.passkey_removed",
];

/// Whether a filter may name `action`.
pub fn is_known_action(action: &str) -> bool {
    AUDIT_ACTIONS.contains(&action)
}

/// Who triggered a run, copied when it ran so it survives revocation and deletion: `type` is
/// `session`, `org_api_key`, `personal_api_key`, `webhook_key` or `internal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptor {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub label: String,
}

impl CredentialDescriptor {
    /// How the Executions page names the kind.
    pub fn kind_title(&self) -> &'static str {
        match self.kind.as_str() {
            "session" => "Signed in",
            "org_api_key" => "Org key",
            "personal_api_key" => "Personal key",
            "webhook_key" => "Webhook key",
            _ => "Internal",
        }
    }
}

pub const EXECUTION_STATUSES: [&str; 4] = ["queued", "running", "succeeded", "failed"];
pub const CREDENTIAL_TYPES: [&str; 5] = ["session", "org_api_key", "personal_api_key", "webhook_key", "internal"];

/// One node's part in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionStep {
    pub node_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    /// `succeeded`, `failed` or `skipped`.
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// A run of a workflow: who ran it, what ran (hash and version), and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    /// `manual`, `api`, `webhook` or `schedule`.
    pub trigger: String,
    pub credential: CredentialDescriptor,
    pub executed_workflow_hash: String,
    pub version: Option<i64>,
    pub payload: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Only in the answer for one execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<ExecutionStep>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPage {
    pub executions: Vec<Execution>,
    pub next_cursor: Option<String>,
}

/// The Executions list's filters, as the REST query and the page's URL carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ExecutionQuery {
    pub workflow_id: Option<String>,
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::StatusFilter>, inline))]
    pub status: Option<String>,
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::CredentialTypeFilter>, inline))]
    pub credential_type: Option<String>,
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 200))]
    pub limit: Option<i64>,
    #[cfg_attr(feature = "ssr", param(value_type = Option<crate::backend::schema::Cursor>, inline))]
    pub cursor: Option<String>,
}

/// A workflow's inbound webhook key: never its secret, only `display`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookKey {
    pub id: String,
    pub workflow_id: String,
    pub name: String,
    pub display: String,
    pub created_by: KeyCreator,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedWebhookKey {
    pub key: WebhookKey,
    pub secret: String,
}

/// An org credential as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgCredential {
    pub id: String,
    pub name: String,
    /// The hosts its secret may be sent to (`api.example.com`, `*.example.com`, `127.0.0.1`).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    pub created_by: KeyCreator,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A credential change (`PATCH …/credentials/{id}`): absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CredentialPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
    /// A new secret: the credential is rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}
