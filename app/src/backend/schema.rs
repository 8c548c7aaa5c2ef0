//! OpenAPI schemas of the values the server checks by rule rather than by Rust type: closed
//! sets (scopes, node types, formats…) and names. Each is built from the same constant or
//! rule the server enforces, so the document cannot drift from what is accepted.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A string schema whose values are exactly `values`.
pub fn closed_set(description: &str, values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).description(Some(description)).into()
}

/// Declares a schema-only type (for `#[schema(value_type = …)]`) with the given schema.
macro_rules! schema_type {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

/// Characters a name may not hold (`char::is_control`: line breaks would forge mail lines).
const NO_CONTROL: &str = r"[^\x00-\x1f\x7f-\x9f]";

/// Text of 1 to `max` characters, not blank, without control characters.
fn not_blank(max: usize, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!(r"^{NO_CONTROL}*[^\s\x00-\x1f\x7f-\x9f]{NO_CONTROL}*$")))
        .description(Some(description))
        .into()
}

schema_type!(
    /// What `users::validate_name` accepts: 1–100 characters, not blank, no control characters.
    Name => not_blank(crate::backend::users::MAX_NAME_CHARS, "1–100 characters, not blank, without control characters")
);
schema_type!(
    /// An API key scope.
    Scope => closed_set("An API key scope: what an org key may do", crate::model::SCOPES)
);
schema_type!(
    /// A node's `type`: one of the catalog's.
    NodeType => closed_set("A node type from the catalog", crate::workflow::catalog::type_names())
);
schema_type!(
    /// Who must approve a member's version.
    WorkflowApproval => closed_set(
        "Which members' versions wait for an owner's or admin's approval",
        crate::model::WORKFLOW_APPROVAL_MODES,
    )
);

/// A filter's closed set; the empty value is accepted and means "any".
fn filter(description: &str, values: &[&'static str]) -> RefOr<Schema> {
    closed_set(description, std::iter::once("").chain(values.iter().copied()))
}

schema_type!(
    /// The Executions list's `status` filter.
    StatusFilter => filter("Only runs in this status (empty: any)", &crate::model::EXECUTION_STATUSES)
);
schema_type!(
    /// The Executions list's `credential_type` filter.
    CredentialTypeFilter => filter("Only runs started with this kind of credential (empty: any)", &crate::model::CREDENTIAL_TYPES)
);
schema_type!(
    /// The engagement list's `event` filter.
    EngagementEventFilter => filter("Only events of this kind (empty: any)", &crate::model::ENGAGEMENT_EVENTS)
);
schema_type!(
    /// What an audit export is written as.
    ExportFormat => closed_set("csv (default), jsonl, or ocsf (OCSF 1.5.0 rows as JSON Lines)", ["csv", "jsonl", "ocsf"])
);
schema_type!(
    /// What a stream delivers.
    StreamFormat => closed_set("json (default: the audit event) or ocsf (OCSF 1.5.0)", ["json", "ocsf"])
);
schema_type!(
    /// What `settings::posthog_host` accepts: an http(s) origin, blanks and a trailing `/` aside.
    PosthogHost => ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(crate::backend::settings::MAX_POSTHOG_TEXT.0))
        .pattern(Some(r"^\s*https?://[^/?#@\s\x00-\x1f\x7f-\x9f]+/*\s*$"))
        .description(Some("The PostHog origin, e.g. https://eu.i.posthog.com; null removes it"))
        .into()
);
schema_type!(
    /// A PostHog project key: 1–512 characters, not blank, no control characters.
    PosthogKey => not_blank(crate::backend::settings::MAX_POSTHOG_TEXT.1, "The project API key; null removes it")
);

/// What `cursor::decode::<N>` accepts: the hex of N integers joined by `|` (18 digits at
/// most, so any fits an i64), or nothing (the first page).
fn cursor(keys: usize) -> RefOr<Schema> {
    let number = "(2d)?(3[0-9]){1,18}";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^({number}(7c{number}){{{}}})?$", keys - 1)))
        .description(Some("The next_cursor of the previous page (empty or absent: the first page)"))
        .into()
}

schema_type!(
    /// A list's cursor with one key (executions, engagement, versions).
    Cursor => cursor(1)
);
schema_type!(
    /// A cursor of the audit trail: time and seq.
    AuditCursor => cursor(2)
);
schema_type!(
    /// A list's cursor with two text keys (time and id: workflows, files), in hex.
    TextCursor => {
        // A key is printable ASCII without `|` (0x7c), which joins the two.
        let key = "([2-6][0-9a-f]|7[0-9abde])*";
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^({key}7c{key})?$")))
            .description(Some("The next_cursor of the previous page (empty or absent: the first page)"))
            .into()
    }
);
schema_type!(
    /// What `files::check_name` accepts: not blank, no `/`, `\\`, `..` or control
    /// characters, not `.`; 255 characters at most.
    FileName => {
        // `token` never holds two dots in a row; a name is tokens and maybe a final dot, with
        // at least one dot or non-blank character.
        let token = format!(r"\.?{PLAIN}");
        let solid = format!(r"(\.{PLAIN}|\.?{SOLID})");
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(crate::backend::files::MAX_NAME_CHARS))
            .pattern(Some(format!(r"^({token})*{solid}({token})*\.?$|^({token})+\.$")))
            .description(Some("The file's name, e.g. report.pdf"))
            .into()
    }
);

/// A file name's characters other than the dot; [`SOLID`]: those that are not blank either.
const PLAIN: &str = r"[^./\\\x00-\x1f\x7f-\x9f]";
const SOLID: &str = r"[^\s./\\\x00-\x1f\x7f-\x9f]";

schema_type!(
    /// An RFC 3339 time as the audit filters take it (`parse_from_rfc3339`), blanks around it
    /// allowed; empty: no bound. (29 February is left out of the pattern for brevity.)
    Instant => {
        let date = r"\d{4}-((0[13578]|1[02])-(0[1-9]|[12]\d|3[01])|(0[469]|11)-(0[1-9]|[12]\d|30)|02-(0[1-9]|1\d|2[0-8]))";
        let time = r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)";
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!(r"^\s*({date}[Tt]{time})?\s*$")))
            .description(Some("An RFC 3339 time, e.g. 2026-11-23T12:00:00Z (empty: no bound)"))
            .into()
    }
);
