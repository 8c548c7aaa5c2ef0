//! What the handlers' `#[utoipa::path]` entries cannot say one by one: how each operation
//! authenticates, the error body every 4xx carries, that ids are UUIDs, and the links from
//! each creating operation to those that take the id it returns. Applied once, to the
//! generated document, so it holds for every route.

use serde_json::{json, Map, Value};

/// Operations anyone may call: sign-in, the document, the public key, signed codes and
/// provider webhooks (their signatures are checked instead), public file links.
const PUBLIC: [&str; 9] = [
    "login",
    "logout",
    "getOpenApiDocument",
    "getAuditSigningKey",
    "trackOpen",
    "trackClick",
    "receiveSesWebhook",
    "receiveBillingWebhook",
    "downloadSharedFile",
];

/// Operations for a signed-in person only: no API key opens them.
const SESSION_ONLY: [&str; 2] = ["changePassword", "deleteAccount"];

/// Path parameters that hold an id the server gave out (UUIDs); any other value is a 404.
const ID_PARAMS: [&str; 5] = ["org", "id", "user_id", "key_id", "workflow_id"];

/// `(from, status, link name, to, parameters)`: the id a creating operation returns, and
/// the operations that take it (the `org` path parameter is carried over). `getMe` names the
/// caller's first org, so a client that starts from nothing reaches every creating operation.
const LINKS: &[(&str, &str, &str, &str, &[(&str, &str)])] = &[
    ("getMe", "200", "CreateWorkflow", "createWorkflow", &[("org", "$response.body#/orgs/0/id")]),
    ("getMe", "200", "CreateOrgApiKey", "createOrgApiKey", &[("org", "$response.body#/orgs/0/id")]),
    ("getMe", "200", "CreateCredential", "createCredential", &[("org", "$response.body#/orgs/0/id")]),
    ("getMe", "200", "CreateAuditStream", "createAuditStream", &[("org", "$response.body#/orgs/0/id")]),
    ("getMe", "200", "UploadFile", "uploadFile", &[("org", "$response.body#/orgs/0/id")]),
    ("createWorkflow", "201", "GetWorkflow", "getWorkflow", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "UpdateWorkflow", "updateWorkflow", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "ListWorkflowVersions", "listWorkflowVersions", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "DiffWorkflowVersions", "diffWorkflowVersions", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "RestoreWorkflowVersion", "restoreWorkflowVersion", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "RunWorkflow", "runWorkflow", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "ListWebhookKeys", "listWebhookKeys", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "CreateWebhookKey", "createWebhookKey", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "ExportWorkflow", "exportWorkflow", &[("id", "$response.body#/id")]),
    ("createWorkflow", "201", "TriggerWorkflowWebhook", "triggerWorkflowWebhook", &[("workflow_id", "$response.body#/id")]),
    ("createWorkflow", "201", "ApproveWorkflowVersion", "approveWorkflowVersion", &[("id", "$response.body#/id"), ("n", "$response.body#/version")]),
    ("createWorkflow", "201", "RejectWorkflowVersion", "rejectWorkflowVersion", &[("id", "$response.body#/id"), ("n", "$response.body#/version")]),
    ("createWorkflow", "201", "DeleteWorkflow", "deleteWorkflow", &[("id", "$response.body#/id")]),
    ("runWorkflow", "202", "GetExecution", "getExecution", &[("id", "$response.body#/id")]),
    ("createWebhookKey", "201", "RevokeWebhookKey", "revokeWebhookKey", &[("id", "$response.body#/key/workflow_id"), ("key_id", "$response.body#/key/id")]),
    ("createOrgApiKey", "201", "RevokeOrgApiKey", "revokeOrgApiKey", &[("id", "$response.body#/key/id")]),
    ("createMyApiKey", "201", "RevokeMyApiKey", "revokeMyApiKey", &[("id", "$response.body#/key/id")]),
    ("createCredential", "201", "UpdateCredential", "updateCredential", &[("id", "$response.body#/id")]),
    ("createCredential", "201", "DeleteCredential", "deleteCredential", &[("id", "$response.body#/id")]),
    ("createAuditStream", "201", "TestAuditStream", "testAuditStream", &[("id", "$response.body#/stream/id")]),
    ("createAuditStream", "201", "DeleteAuditStream", "deleteAuditStream", &[("id", "$response.body#/stream/id")]),
    ("uploadFile", "201", "DownloadFile", "downloadFile", &[("id", "$response.body#/id")]),
    ("uploadFile", "201", "ShareFile", "shareFile", &[("id", "$response.body#/id")]),
    ("uploadFile", "201", "RevokeFileShare", "revokeFileShare", &[("id", "$response.body#/id")]),
    ("uploadFile", "201", "DeleteFile", "deleteFile", &[("id", "$response.body#/id")]),
];

/// `(operation, status, media types)`: answers that are not JSON. Downloads carry the type
/// the file was stored with.
const MEDIA: [(&str, &str, &[&str]); 4] = [
    ("exportAuditEvents", "200", &["text/csv", "application/x-ndjson"]),
    ("downloadFile", "200", &["*/*"]),
    ("downloadSharedFile", "200", &["*/*"]),
    ("trackOpen", "200", &["image/gif"]),
];

/// The generated document, completed.
pub fn refine(mut doc: Value) -> Value {
    doc["components"]["securitySchemes"] = json!({
        "api_key": {"type": "http", "scheme": "bearer", "description": "An API key: `chr_org_…` (its scopes, in its org) or `chr_pat_…` (its user's roles)"},
        "session": {"type": "apiKey", "in": "cookie", "name": app::backend::sessions::COOKIE_NAME, "description": "The session cookie set by POST /api/v1/auth/login"},
        "webhook_key": {"type": "http", "scheme": "bearer", "description": "A workflow's webhook key (`whk_…`)"},
    });
    doc["components"]["schemas"]["Error"] = json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "snake_case, stable: e.g. not_found, invalid_input, approval_required"},
                "message": {"type": "string", "description": "What went wrong, for people"},
                "field": {"type": "string", "description": "The field at fault (422)"},
            },
        }},
    });
    let Some(paths) = doc["paths"].as_object_mut() else { return doc };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()).filter_map(Value::as_object_mut) {
        complete(operation);
    }
    for (from, status, name, to, parameters) in LINKS {
        // `org` is carried over to the operations under `/orgs/{org}` (unless the link names it).
        let takes_org = find_operation(&mut doc, to)
            .and_then(|op| op["parameters"].as_array())
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "org"));
        let org = takes_org.then_some(("org", "$request.path.org"));
        let parameters: Map<String, Value> = org.iter().chain(parameters.iter()).map(|(k, v)| (k.to_string(), json!(v))).collect();
        let link = json!({"operationId": to, "parameters": parameters});
        if let Some(response) = find_operation(&mut doc, from).and_then(|op| op["responses"].get_mut(*status)) {
            response["links"][*name] = link;
        }
    }
    for (id, status, types) in MEDIA {
        let content: Map<String, Value> = types.iter().map(|t| (t.to_string(), json!({"schema": {"type": "string", "format": "binary"}}))).collect();
        if let Some(response) = find_operation(&mut doc, id).and_then(|op| op["responses"].get_mut(status)) {
            response["content"] = Value::Object(content);
        }
    }
    // An upload is the raw bytes, and no body at all is an empty file.
    if let Some(upload) = find_operation(&mut doc, "uploadFile") {
        upload["requestBody"] = json!({
            "required": false,
            "description": "The file's bytes (none: an empty file)",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        });
    }
    doc
}

/// Security, the error body and id formats of one operation.
fn complete(operation: &mut Map<String, Value>) {
    let id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
    if PUBLIC.contains(&id.as_str()) {
        operation.remove("security");
    } else if SESSION_ONLY.contains(&id.as_str()) {
        operation.insert("security".into(), json!([{"session": []}]));
    } else if !operation.contains_key("security") {
        operation.insert("security".into(), json!([{"api_key": []}, {"session": []}]));
    }
    if let Some(failure) = operation.get_mut("responses").and_then(|r| r.get_mut("4XX")) {
        failure["content"] = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    }
    for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap_or_default();
        if parameter["in"] == "path" && ID_PARAMS.contains(&name) {
            parameter["schema"] = json!({"type": "string", "format": "uuid"});
        }
    }
}

fn find_operation<'a>(doc: &'a mut Value, id: &str) -> Option<&'a mut Value> {
    doc["paths"].as_object_mut()?.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()).find(|op| op["operationId"] == id)
}
