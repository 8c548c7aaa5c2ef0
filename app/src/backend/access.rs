//! Where roles and scopes are enforced: every server function and REST handler that touches
//! an org asks [`require`] first, with one of the [`Access`] rows below — the one role table.

use super::auth::{Caller, Credential};
use crate::error::{ApiError, ApiResult};
use crate::model::Role;

/// What an operation needs: a minimum role for people, and the scope an API key must carry
/// (`None`: no key may do it, only a signed-in person).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub role: Role,
    pub scope: Option<&'static str>,
}

impl Access {
    pub const READ_WORKFLOWS: Access = Access { role: Role::Member, scope: Some("workflows:read") };
    pub const EDIT_WORKFLOWS: Access = Access { role: Role::Member, scope: Some("workflows:write") };
    /// Version history, snapshots, diffs.
    pub const READ_HISTORY: Access = Access { role: Role::Admin, scope: Some("workflows:read") };
    /// Restore and delete.
    pub const MANAGE_WORKFLOWS: Access = Access { role: Role::Admin, scope: Some("workflows:write") };
    /// Approving or rejecting a member's pending version: the second pair of eyes is a
    /// person, never a key.
    pub const REVIEW_VERSIONS: Access = Access { role: Role::Admin, scope: None };
    pub const READ_AUDIT: Access = Access { role: Role::Admin, scope: Some("audit:read") };
    /// Signing a checkpoint now: people only.
    pub const MANAGE_AUDIT: Access = Access { role: Role::Admin, scope: None };
    pub const READ_KEYS: Access = Access { role: Role::Admin, scope: Some("keys:read") };
    /// Creating and revoking org keys: a key never mints or revokes keys.
    pub const MANAGE_KEYS: Access = Access { role: Role::Admin, scope: None };
    /// Listing members, changing roles, removing members: people only.
    pub const MANAGE_MEMBERS: Access = Access { role: Role::Admin, scope: None };
    /// Running a workflow: any member; an API key needs `workflows:execute`.
    pub const RUN_WORKFLOWS: Access = Access { role: Role::Member, scope: Some("workflows:execute") };
    /// Listing runs: members see their own (the handler narrows), owners and admins all.
    pub const READ_EXECUTIONS: Access = Access { role: Role::Member, scope: Some("workflows:read") };
    /// A workflow's webhook keys: listing.
    pub const READ_WEBHOOK_KEYS: Access = Access { role: Role::Admin, scope: Some("keys:read") };
    /// Creating and revoking webhook keys, and org credentials: people only, as with org keys.
    pub const MANAGE_WEBHOOK_KEYS: Access = Access { role: Role::Admin, scope: None };
    pub const MANAGE_CREDENTIALS: Access = Access { role: Role::Admin, scope: None };
    /// Org settings (engagement capture, retention, PostHog): reading and changing, people only.
    pub const MANAGE_SETTINGS: Access = Access { role: Role::Admin, scope: None };
    /// Engagement events of the org's workflow mail.
    pub const READ_ENGAGEMENT: Access = Access { role: Role::Admin, scope: Some("audit:read") };
    /// Org files: any member uploads, lists and downloads; keys need the files scopes.
    pub const READ_FILES: Access = Access { role: Role::Member, scope: Some("files:read") };
    pub const WRITE_FILES: Access = Access { role: Role::Member, scope: Some("files:write") };
    /// Public links send a file outside the org: owners and admins.
    pub const SHARE_FILES: Access = Access { role: Role::Admin, scope: Some("files:write") };
    /// Plan, billing status and storage in use.
    pub const READ_USAGE: Access = Access { role: Role::Admin, scope: None };
    /// The org's outgoing mail (key alerts): owners, people only.
    pub const READ_OUTBOX: Access = Access { role: Role::Owner, scope: None };
}

/// The caller's role in `org_id` if they may do what `access` needs.
///
/// Not a member (or no such org, or another org's key) answers 404, never 403, so an org's
/// existence does not leak; a role too low or a missing scope gets 403. An org key acts with
/// exactly its scopes inside its org; a personal key with its user's role, limited by its
/// scopes. The roles are the caller's memberships as read with their credentials.
pub fn require(caller: &Caller, org_id: &str, access: Access) -> ApiResult<Role> {
    if let Credential::ApiKey(key) = &caller.credential {
        if let Some(key_org) = &key.org_id {
            if key_org != org_id {
                return Err(ApiError::not_found("Organisation"));
            }
            check_scope(&key.scopes, access)?;
            return Ok(access.role);
        }
    }
    let Some(membership) = caller.memberships.iter().find(|m| m.id == org_id) else { return Err(ApiError::not_found("Organisation")) };
    let role = membership.role;
    match &caller.credential {
        Credential::ApiKey(key) => check_scope(&key.scopes, access)?,
        // Keys are unaffected by the policy; a person's session needs the second factor.
        Credential::Session { .. } if membership.require_mfa && !caller.second_factor => return Err(mfa_required_by_org(&membership.name)),
        Credential::Session { .. } => {}
    }
    if role < access.role {
        return Err(ApiError::forbidden(access.role.as_str()));
    }
    Ok(role)
}

/// What a member without a second factor meets in an org that requires one: what to do.
pub fn mfa_required_by_org(org_name: &str) -> ApiError {
    ApiError::new(
        crate::error::ErrorKind::MfaRequiredByOrg,
        format!("{org_name} requires two-step sign-in. Turn it on under Account → Two-step sign-in, then come back."),
    )
}

fn check_scope(scopes: &[String], access: Access) -> ApiResult<()> {
    match access.scope {
        Some(needed) if scopes.iter().any(|s| s == needed) => Ok(()),
        Some(needed) => Err(ApiError::new(crate::error::ErrorKind::Forbidden, format!("This API key lacks the {needed} scope."))),
        None => Err(ApiError::new(crate::error::ErrorKind::Forbidden, "API keys cannot do this; sign in instead.")),
    }
}

/// The role a caller's versions in `org_id` are written with, for four-eyes approval: an org
/// key's count as an admin's (only owners and admins create org keys); a person's, or a
/// personal key's, as that person's role. Call after [`require`].
pub fn author_role(caller: &Caller, org_id: &str) -> Role {
    match &caller.credential {
        Credential::ApiKey(key) if key.org_id.is_some() => Role::Admin,
        _ => caller.role_in(org_id).unwrap_or(Role::Member),
    }
}

/// Whose runs the caller may see in `org_id` (after [`require`] with `READ_EXECUTIONS`):
/// `None` for everyone's (owners, admins, org keys), `Some(user id)` for a member's own.
pub fn runs_visible_to<'a>(caller: &'a Caller, org_id: &str) -> Option<&'a str> {
    match caller.role_in(org_id) {
        Some(role) if role < Role::Admin => caller.user.as_ref().map(|u| u.id.as_str()),
        _ => None,
    }
}

/// For the caller's own things (personal keys, sessions), outside any org: the person acting,
/// if a key they use carries `access.scope`.
pub fn require_self(caller: &Caller, access: Access) -> ApiResult<&crate::model::UserInfo> {
    if let Credential::ApiKey(key) = &caller.credential {
        check_scope(&key.scopes, access)?;
    }
    caller.person()
}
