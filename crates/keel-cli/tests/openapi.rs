//! `GET /api/openapi.json` against the official OpenAPI 3.1 schema, the
//! server's routes, and the server's live answers.
//!
//! The meta-schemas are vendored in `tests/data/openapi-3.1/` (see the
//! README there for where they come from and their licences), since the
//! tests run without internet.

#[path = "openapi/client.rs"]
mod client;
#[path = "openapi/contract.rs"]
mod contract;
#[path = "openapi/flow.rs"]
mod flow;
#[path = "openapi/meta.rs"]
mod meta;
#[path = "openapi/routes.rs"]
mod routes;

use keel_forms::settings::FormsSettings;
use std::collections::BTreeSet;

use client::{check_method_not_allowed, every_kind_of_field, fetch_document, submit, submit_multipart, SUBMIT};
use contract::{errors_of, Contract, METHODS};
use keel_testkit::{Backend, TestServer};
use meta::{collect_refs, every_error_is_a_problem, schema_base_errors, vendored};
use reqwest::Method;
use routes::{call_arguments, fill, routing_methods, source_routes};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_openapi_3_1() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let doc = fetch_document(&server).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );

    let errors = errors_of(&vendored("schema.json"), &doc);
    assert!(
        errors.is_empty(),
        "the official OpenAPI 3.1 schema accepts it: {errors:#?}"
    );
    let errors = schema_base_errors(&doc);
    assert!(
        errors.is_empty(),
        "its Schema Objects fit the OAS 3.1 dialect: {errors:#?}"
    );
    // A control: the dialect check does see into Schema Objects.
    let mut broken = doc.clone();
    broken["components"]["schemas"]["Problem"]["type"] = json!(5);
    assert!(
        errors_of(&vendored("schema.json"), &broken).is_empty(),
        "the base schema does not look into schemas"
    );
    assert!(
        !schema_base_errors(&broken).is_empty(),
        "the schema-base refuses a broken Schema Object"
    );

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for reference in &refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is local"));
        assert!(doc.pointer(pointer).is_some(), "{reference} resolves");
    }
    let contract = Contract::new(doc.clone());
    let mut ids = BTreeSet::new();
    for (method, path) in contract.operations() {
        let operation = contract.operation(&method, &path);
        let id = operation["operationId"].as_str().expect("an operationId").to_owned();
        assert!(ids.insert(id.clone()), "operationId {id} is unique");
        every_error_is_a_problem(&contract, &method, &path, &operation);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_path_answers() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let contract = Contract::new(fetch_document(&server).await);
    let documented = contract.operations();
    let in_source = source_routes();
    assert!(in_source.len() >= 17, "the scan finds the routes: {in_source:?}");
    let undocumented: Vec<_> = in_source.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&in_source).collect();
    assert!(
        unrouted.is_empty(),
        "documented operations no route serves: {unrouted:?}"
    );

    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let form: Value = server
        .post_json("/api/forms", &every_kind_of_field())
        .await
        .json()
        .await
        .expect("a form");
    let (id, slug) = (
        form["id"].as_str().expect("an id"),
        form["slug"].as_str().expect("a slug"),
    );
    let public: Value = server
        .get(&format!("/api/public/forms/{slug}"))
        .await
        .json()
        .await
        .expect("a public form");
    let token = public["submission_token"].as_str().expect("a token");
    assert_eq!(submit_multipart(&server, slug, token).await.status(), 201);
    let page: Value = server
        .get(&format!("/api/forms/{id}/responses"))
        .await
        .json()
        .await
        .expect("a page");
    let rid = page["items"][0]["id"].as_str().expect("a response id");
    let fid = page["items"][0]["files"][0]["id"].as_str().expect("a file id");
    let values = [("id", id), ("slug", slug), ("rid", rid), ("fid", fid)];
    let paths: BTreeSet<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    for template in &paths {
        let filled = fill(template, &values);
        assert!(!filled.contains('{'), "{template} has only known parameters");
        let url = server.url(&filled);
        let has: BTreeSet<String> = documented
            .iter()
            .filter(|(_, p)| p == template)
            .map(|(m, _)| m.clone())
            .collect();
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            // The session rides along. A documented unsafe method goes
            // without a CSRF token, so it is refused before it runs; an
            // undocumented one with a token, since the CSRF check comes
            // first and would otherwise answer 403 instead of 405.
            let mut request = server
                .client
                .request(Method::from_bytes(method.as_bytes()).expect("a method"), &url);
            if method != "GET" && !has.contains(method) {
                let token = server.csrf_token_for(&server.client).await;
                request = request.header("x-csrftoken", token).header("origin", server.origin());
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            if has.contains(method) {
                assert!(
                    status != 404 && status != 405,
                    "{method} {template} answers, not {status}"
                );
                contract.check(method, template, response).await;
            } else {
                assert_eq!(status, 405, "{method} {template} is not documented, so it is 405");
                let allow = response.headers()["allow"]
                    .to_str()
                    .expect("an Allow header")
                    .to_owned();
                let allowed: BTreeSet<String> = allow
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .filter(|m| m != "HEAD")
                    .collect();
                assert_eq!(allowed, has, "{template}: Allow lists the documented methods");
                check_method_not_allowed(&contract, response).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_responses_match_the_documented_schemas() {
    let server = TestServer::spawn(keel_cli::site(), Backend::Sqlite).await;
    let api = Contract::new(fetch_document(&server).await);
    let anonymous = reqwest::Client::new();
    let get = |path: &str| anonymous.get(server.url(path)).send();

    assert_eq!(
        api.check("GET", "/healthz", get("/healthz").await.expect("up"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.check("GET", "/readyz", get("/readyz").await.expect("up"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.check("GET", "/api/csrf", get("/api/csrf").await.expect("up"))
            .await
            .status,
        200
    );
    assert_eq!(api.check("GET", "/", get("/").await.expect("up")).await.status, 200);
    let doc = api
        .check("GET", "/api/openapi.json", get("/api/openapi.json").await.expect("up"))
        .await;
    assert_eq!(doc.status, 200);
    assert_eq!(
        api.check("GET", "/api/auth/me", get("/api/auth/me").await.expect("up"))
            .await
            .status,
        401
    );
    assert_eq!(
        api.check("GET", "/api/forms", get("/api/forms").await.expect("up"))
            .await
            .status,
        401
    );

    flow::accounts(&server, &api).await;
    let form = flow::owner_forms(&server, &api).await;
    let (id, slug) = (
        form["id"].as_str().expect("an id"),
        form["slug"].as_str().expect("a slug"),
    );
    flow::public_submissions(&server, &api, id, slug).await;
    flow::another_owner_sees_404(&server, &api, id).await;
    flow::responses_and_closing(&server, &api, id, slug).await;

    let bad_host = anonymous
        .get(server.url("/api/csrf"))
        .header("host", "evil.example")
        .send()
        .await;
    let bad_host = api.check("GET", "/api/csrf", bad_host.expect("up")).await;
    assert_eq!(bad_host.status, 400, "a Host not allowed: {}", bad_host.text);
    let deleted = server
        .send_json(Method::DELETE, &format!("/api/forms/{id}"), &json!({}))
        .await;
    assert_eq!(api.check("DELETE", "/api/forms/{id}", deleted).await.status, 204);
    let trace = anonymous
        .request(Method::TRACE, server.url("/api/forms"))
        .send()
        .await
        .expect("up");
    assert_eq!(trace.status(), 405);
    check_method_not_allowed(&api, trace).await;
    server.core.lifecycle.begin_shutdown();
    let draining = api.check("GET", "/readyz", get("/readyz").await.expect("up")).await;
    assert_eq!(
        (draining.status, draining.json["status"].as_str()),
        (503, Some("shutting_down"))
    );

    let seen = api.seen();
    for (method, path) in api.operations() {
        let ok = seen
            .iter()
            .any(|(m, p, s)| *m == method && *p == path && (200..300).contains(s));
        assert!(ok, "{method} {path} was seen succeeding: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after_as_documented() {
    let once = keel::settings::Rate {
        count: 1,
        period: std::time::Duration::from_secs(600),
    };
    let server = TestServer::spawn_with(keel_cli::site(), Backend::Sqlite, |s| {
        s.security.login_rate = once;
        s.update_section(|f: &mut FormsSettings| f.submission_rate = once);
    })
    .await;
    let api = Contract::new(fetch_document(&server).await);
    assert_eq!(server.signup("owner@example.com").await.status(), 201);
    let form: Value = server
        .post_json("/api/forms", &json!({"title": "T"}))
        .await
        .json()
        .await
        .expect("a form");
    let slug = form["slug"].as_str().expect("a slug");

    let mut statuses = Vec::new();
    for _ in 0..4 {
        let wrong = server.login("owner@example.com", "not the password at all").await;
        statuses.push(api.check("POST", "/api/auth/login", wrong).await.status);
    }
    assert_eq!(statuses.last(), Some(&429), "failed logins are limited: {statuses:?}");

    let public: Value = reqwest::get(server.url(&format!("/api/public/forms/{slug}")))
        .await
        .expect("up")
        .json()
        .await
        .expect("a public form");
    let body = json!({"submission_token": public["submission_token"], "answers": {}});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            api.check("POST", SUBMIT, submit(&server, slug, &body).await)
                .await
                .status,
        );
    }
    assert_eq!(statuses, [201, 429, 429], "one submission per period");
}

#[test]
fn the_route_scan_reads_methods_and_paths() {
    let cases = [
        ("get(list).post(create)", vec!["GET", "POST"], "chained methods"),
        (
            "axum::routing::get(csrf::get_csrf)",
            vec!["GET"],
            "a qualified method, a handler named get_…",
        ),
        (
            "get(move || get_openapi(doc.clone()))",
            vec!["GET"],
            "a closure calling get_…",
        ),
        ("post(submit_response)", vec!["POST"], "one method"),
    ];
    for (args, expected, why) in cases {
        let mut methods = routing_methods(args);
        methods.sort();
        assert_eq!(methods, expected, "{why}");
    }
    assert_eq!(call_arguments("(\"/a\", get(x))).merge(y)"), "\"/a\", get(x)");
    assert_eq!(fill("/f/{id}/r/{rid}", &[("id", "1"), ("rid", "2")]), "/f/1/r/2");
    assert!(METHODS.contains(&"patch"));
}
