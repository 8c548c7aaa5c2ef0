//! The one error type every door (server functions, REST) answers with.
//!
//! It is shared with the browser so the UI can show the same message and field that an API
//! client receives. Internal details never travel: the server logs them and sends a generic
//! message.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No credentials, or credentials that do not identify anyone.
    Unauthorized,
    /// The caller is known but their role in this org is too low.
    Forbidden,
    /// Absent, or in an org the caller does not belong to.
    NotFound,
    Conflict,
    /// Well-formed request whose content is invalid; `field` says where.
    InvalidInput,
    /// The request itself could not be read (malformed JSON, wrong content type).
    BadRequest,
    PayloadTooLarge,
    /// An upload that would pass the org's storage quota (413).
    StorageQuotaExceeded,
    /// The server's disk refused to store something (507).
    InsufficientStorage,
    /// A state-changing request a browser sent from another site (403).
    CrossSiteRequest,
    /// Someone saved the workflow since the version the editor started from (409).
    VersionConflict,
    /// A run of a workflow that has no approved version (409).
    ApprovalRequired,
    /// Approving or rejecting a version that is not pending (409).
    NotPending,
    /// Approving or rejecting one's own version: four eyes need a second person (403).
    OwnChange,
    /// A provider webhook whose signature is missing, bad or stale (400).
    InvalidSignature,
    /// Login throttled; `Retry-After` says when to try again (429).
    TooManyAttempts,
    /// The org requires a second factor and the person signed in without one (403).
    MfaRequiredByOrg,
    /// Requiring a second factor of an org needs one's own first (409).
    MfaRequiredFirst,
    /// The server cannot take this now (503): e.g. the audit trail cannot keep up.
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::InvalidInput => 422,
            ErrorKind::BadRequest => 400,
            ErrorKind::InvalidSignature => 400,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::StorageQuotaExceeded => 413,
            ErrorKind::InsufficientStorage => 507,
            ErrorKind::CrossSiteRequest => 403,
            ErrorKind::VersionConflict => 409,
            ErrorKind::ApprovalRequired => 409,
            ErrorKind::NotPending => 409,
            ErrorKind::OwnChange => 403,
            ErrorKind::TooManyAttempts => 429,
            ErrorKind::MfaRequiredByOrg => 403,
            ErrorKind::MfaRequiredFirst => 409,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds until the request may be tried again (sent as `Retry-After` too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// For `version_conflict`: the version that is current now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorKind, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, retry_after: None, version: None }
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorKind::Unauthorized, "Sign in to continue.")
    }

    pub fn forbidden(needed: &str) -> Self {
        Self::new(ErrorKind::Forbidden, format!("This needs the {needed} role in this organisation."))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} not found."))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self { field: Some(field.to_owned()), ..Self::new(ErrorKind::InvalidInput, format!("{field}: {reason}")) }
    }

    /// The message as a form shows it: the field named the way the form labels it
    /// as a sentence ("Expiry date must be in the future", not "expires_at: …").
    pub fn for_people(&self) -> String {
        let Some(field) = self.field.as_deref() else { return self.message.clone() };
        let Some(reason) = self.message.strip_prefix(field).and_then(|rest| rest.strip_prefix(": ")) else { return self.message.clone() };
        let label = match field {
            "name" => "Name",
            "scopes" => "Scopes",
            "expires_at" => "Expiry date",
            "current_password" => "Current password",
            "confirm_password" => "Confirm password",
            "label" => "Version name",
            "new_password" => "New password",
            "password" => "Password",
            "email" => "Email",
            "url" => "URL",
            "format" => "Format",
            "secret" => "Secret",
            "role" => "Role",
            "audit_retention_days" => "Audit retention",
            "posthog_host" => "PostHog host",
            "posthog_api_key" => "PostHog project key",
            "since" => "From",
            "until" => "Until",
            "action" => "Actions",
            "allowed_hosts" => "Allowed hosts",
            "workflow_approval" => "Approval of members' changes",
            "reason" => "Reason",
            "code" => "Code",
            "recovery_code" => "Recovery code",
            "require_mfa" => "Require two-step sign-in",
            _ => return self.message.clone(),
        };
        // "Expiry date must be in the future"; a reason that does not read on from the label
        // keeps the label apart.
        let reads_on = ["is ", "must ", "has ", "does ", "are "].iter().any(|verb| reason.starts_with(verb));
        if reads_on { format!("{label} {reason}") } else { format!("{label}: {reason}") }
    }

    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "Something went wrong on our side. It has been logged.")
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }
}

impl leptos::server_fn::error::FromServerFnError for ApiError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(err: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match err {
            E::Request(_) | E::Response(_) => {
                Self::new(ErrorKind::Internal, "Could not reach the server. Check your connection and retry.")
            }
            E::Args(m) | E::MissingArg(m) | E::Deserialization(m) => Self::new(ErrorKind::BadRequest, m),
            _ => Self::internal(),
        }
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::{ApiError, ErrorKind};
    use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    impl From<sqlx::Error> for ApiError {
        fn from(err: sqlx::Error) -> Self {
            // PostgreSQL refuses NUL in text where SQLite stores it: the input's fault, not ours.
            if matches!(&err, sqlx::Error::Database(e) if e.code().as_deref() == Some("22021")) {
                return Self::new(ErrorKind::InvalidInput, "Text must not contain NUL characters (\\u0000).");
            }
            tracing::error!(error = %err, "database error");
            Self::internal()
        }
    }

    /// REST answers: `{"error": {"code", "message", "field"?}}` with the matching status.
    impl IntoResponse for ApiError {
        fn into_response(self) -> Response {
            let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let retry_after = self.retry_after.map(|secs| [(axum::http::header::RETRY_AFTER, secs.to_string())]);
            (status, retry_after, axum::Json(serde_json::json!({ "error": self }))).into_response()
        }
    }

    /// Bad JSON bodies, in the API's words rather than axum's plain text.
    impl From<JsonRejection> for ApiError {
        fn from(rejection: JsonRejection) -> Self {
            match rejection {
                JsonRejection::JsonDataError(e) => {
                    // serde names the field and the reason, e.g. "missing field `password`".
                    let detail = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text());
                    ApiError::new(ErrorKind::InvalidInput, format!("Invalid request body: {detail}"))
                }
                JsonRejection::JsonSyntaxError(_) => {
                    ApiError::new(ErrorKind::BadRequest, "The request body is not valid JSON.")
                }
                JsonRejection::MissingJsonContentType(_) => {
                    ApiError::new(ErrorKind::BadRequest, "Send the body as JSON with Content-Type: application/json.")
                }
                JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(ErrorKind::PayloadTooLarge, "The request body is too large.")
                }
                other => ApiError::new(ErrorKind::BadRequest, other.body_text()),
            }
        }
    }

    /// A path segment that cannot be what the route takes (e.g. a version number past i64)
    /// names nothing there is.
    impl From<PathRejection> for ApiError {
        fn from(_: PathRejection) -> Self {
            ApiError::not_found("Resource")
        }
    }

    /// Bad query strings: which parameter and why.
    impl From<QueryRejection> for ApiError {
        fn from(rejection: QueryRejection) -> Self {
            let detail = match &rejection {
                QueryRejection::FailedToDeserializeQueryString(e) => {
                    std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_else(|| e.body_text())
                }
                other => other.body_text(),
            };
            ApiError::new(ErrorKind::InvalidInput, format!("Invalid query string: {detail}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_name_fields_by_their_labels() {
        assert_eq!(ApiError::invalid("expires_at", "must be in the future").for_people(), "Expiry date must be in the future");
        assert_eq!(ApiError::invalid("confirm_password", "does not match the new password").for_people(), "Confirm password does not match the new password");
        assert_eq!(ApiError::invalid("action", "names 51 actions; at most 50").for_people(), "Actions: names 51 actions; at most 50");
        assert_eq!(ApiError::invalid("cursor", "is not one of ours").for_people(), "cursor: is not one of ours", "unlabelled fields stay as they are");
        assert_eq!(ApiError::not_found("API key").for_people(), ApiError::not_found("API key").message);
    }
}
