//! `GET /api/v1/openapi.json`: an OpenAPI 3.1 document naming every route the API answers,
//! with its methods — checked against the routes themselves.

mod common;

use common::{As, TestServer};
use serde_json::Value;

/// Every REST route (SPEC's table and the README's additions), as method and path template.
const ROUTES: [(&str, &str); 80] = [
    ("post", "/api/v1/auth/passkey/start"),
    ("post", "/api/v1/auth/passkey/finish"),
    ("get", "/api/v1/me/passkeys"),
    ("post", "/api/v1/me/passkeys/register/start"),
    ("post", "/api/v1/me/passkeys/register/finish"),
    ("delete", "/api/v1/me/passkeys/{id}"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/mfa"),
    ("get", "/api/v1/me/mfa"),
    ("post", "/api/v1/me/mfa/totp"),
    ("delete", "/api/v1/me/mfa/totp"),
    ("post", "/api/v1/me/mfa/totp/confirm"),
    ("get", "/api/v1/orgs/{org}/invitations"),
    ("post", "/api/v1/orgs/{org}/invitations"),
    ("delete", "/api/v1/orgs/{org}/invitations/{id}"),
    ("post", "/api/v1/invitations/{token}/accept"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me"),
    ("delete", "/api/v1/me"),
    ("post", "/api/v1/me/password"),
    ("get", "/api/v1/me/api-keys"),
    ("post", "/api/v1/me/api-keys"),
    ("get", "/api/v1/me/api-keys/activity"),
    ("delete", "/api/v1/me/api-keys/{id}"),
    ("get", "/api/v1/orgs/{org}/audit"),
    ("get", "/api/v1/orgs/{org}/audit/export"),
    ("get", "/api/v1/orgs/{org}/api-keys"),
    ("post", "/api/v1/orgs/{org}/api-keys"),
    ("get", "/api/v1/orgs/{org}/api-keys/activity"),
    ("delete", "/api/v1/orgs/{org}/api-keys/{id}"),
    ("get", "/api/v1/orgs/{org}/members"),
    ("patch", "/api/v1/orgs/{org}/members/{user_id}"),
    ("delete", "/api/v1/orgs/{org}/members/{user_id}"),
    ("get", "/api/v1/orgs/{org}/workflows"),
    ("post", "/api/v1/orgs/{org}/workflows"),
    ("get", "/api/v1/orgs/{org}/workflows/{id}"),
    ("put", "/api/v1/orgs/{org}/workflows/{id}"),
    ("delete", "/api/v1/orgs/{org}/workflows/{id}"),
    ("get", "/api/v1/orgs/{org}/workflows/{id}/history"),
    ("get", "/api/v1/orgs/{org}/workflows/{id}/diff"),
    ("post", "/api/v1/orgs/{org}/workflows/{id}/restore"),
    ("post", "/api/v1/orgs/{org}/workflows/{id}/versions/{n}/approve"),
    ("post", "/api/v1/orgs/{org}/workflows/{id}/versions/{n}/reject"),
    ("patch", "/api/v1/orgs/{org}/workflows/{id}/versions/{n}"),
    ("post", "/api/v1/orgs/{org}/workflows/{id}/executions"),
    ("get", "/api/v1/orgs/{org}/executions"),
    ("get", "/api/v1/orgs/{org}/executions/{id}"),
    ("post", "/api/v1/hooks/{workflow_id}"),
    ("get", "/api/v1/orgs/{org}/workflows/{id}/webhook-keys"),
    ("post", "/api/v1/orgs/{org}/workflows/{id}/webhook-keys"),
    ("delete", "/api/v1/orgs/{org}/workflows/{id}/webhook-keys/{key_id}"),
    ("get", "/api/v1/orgs/{org}/credentials"),
    ("post", "/api/v1/orgs/{org}/credentials"),
    ("patch", "/api/v1/orgs/{org}/credentials/{id}"),
    ("delete", "/api/v1/orgs/{org}/credentials/{id}"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/orgs/{org}/settings"),
    ("patch", "/api/v1/orgs/{org}/settings"),
    ("get", "/api/v1/orgs/{org}/engagement"),
    ("get", "/t/o/{code}"),
    ("get", "/t/c/{code}"),
    ("post", "/webhooks/ses"),
    ("post", "/webhooks/billing"),
    ("get", "/api/v1/orgs/{org}/files"),
    ("post", "/api/v1/orgs/{org}/files"),
    ("get", "/api/v1/orgs/{org}/files/{id}/content"),
    ("delete", "/api/v1/orgs/{org}/files/{id}"),
    ("post", "/api/v1/orgs/{org}/files/{id}/share"),
    ("delete", "/api/v1/orgs/{org}/files/{id}/share"),
    ("get", "/api/v1/orgs/{org}/usage"),
    ("get", "/api/v1/orgs/{org}/workflows/{id}/export"),
    ("get", "/s/{token}"),
    ("get", "/api/v1/orgs/{org}/audit/verify"),
    ("get", "/api/v1/orgs/{org}/audit/checkpoints"),
    ("post", "/api/v1/orgs/{org}/audit/checkpoints"),
    ("get", "/api/v1/orgs/{org}/audit/streams"),
    ("post", "/api/v1/orgs/{org}/audit/streams"),
    ("delete", "/api/v1/orgs/{org}/audit/streams/{id}"),
    ("post", "/api/v1/orgs/{org}/audit/streams/{id}/test"),
    ("get", "/api/v1/audit/signing-key"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let (_, db) = common::test_databases().await.remove(0);
    let s = TestServer::start(db).await;
    let res = s.get(As::Anonymous, "/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().filter(|k| *k != "parameters").map(move |m| (m.clone(), path.clone())))
        .collect();
    for (method, path) in ROUTES {
        assert!(documented.contains(&(method.into(), path.into())), "{method} {path} is not in the document");
        // The route answers that method (a concrete path: 404s and 401s are answers; 405 is not).
        let concrete = path.replace("{org}", &s.acme).replace("{id}", "x").replace("{user_id}", "x").replace("{key_id}", "x").replace("{workflow_id}", "x").replace("{code}", "x").replace("{token}", "x");
        let res = s.request(As::Anonymous, method.to_uppercase().parse().unwrap(), &concrete).send().await.unwrap();
        assert_ne!(res.status(), 405, "{method} {path} is documented but not routed");
    }
    assert_eq!(documented.len(), ROUTES.len(), "the document names routes this test does not know: {documented:?}");
    // Every operation says what it does and how it fails.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path} has no summary");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} has no responses");
            // The document itself and the open pixel (always a GIF) cannot fail.
            if !["/api/v1/openapi.json", "/t/o/{code}", "/api/v1/audit/signing-key"].contains(&path.as_str()) {
                let failure = op["responses"]["4XX"]["description"].as_str().unwrap_or_default();
                assert!(failure.contains("\"error\""), "{method} {path} does not describe its errors: {}", op["responses"]);
            }
        }
    }
}
