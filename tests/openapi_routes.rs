//! openapi.yaml documents exactly the routes the server registers (the tile
//! wildcard as one template per shape of tile path, HEAD beside every GET),
//! every registered route is really served, the tile templates match every
//! canonical tile path exactly once, and every example in the document
//! matches its schema. tests/openapi_conformance.rs checks real answers.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::openapi::{self, escape, text_format, Spec};
use common::Server;
use rootlog::api::ROUTES;
use rootlog::tiles::{entries_path, tile_path, TileId};
use serde_json::Value;

/// The server's one wildcard route, which the tile templates describe.
const TILE_WILDCARD: &str = "/tile/{path}";

/// The documented (METHOD, path) pairs as the server's router has them.
fn documented_as_routed(spec: &Spec) -> BTreeSet<(String, String)> {
    spec.operations()
        .into_iter()
        .map(|(method, path)| {
            let routed = if path.starts_with("/tile/") {
                TILE_WILDCARD.to_string()
            } else {
                path
            };
            (method, routed)
        })
        .collect()
}

#[test]
fn spec_and_router_agree() {
    let spec = openapi::load();
    // axum answers HEAD for every GET route.
    let mut registered = BTreeSet::new();
    for (method, path) in ROUTES {
        registered.insert((method.to_string(), path.to_string()));
        if *method == "GET" {
            registered.insert(("HEAD".to_string(), path.to_string()));
        }
    }
    assert_eq!(documented_as_routed(&spec), registered);
}

#[test]
fn every_head_operation_answers_what_its_get_answers() {
    let spec = openapi::load();
    let ops = spec.operations();
    for (method, path) in &ops {
        let item = format!("/paths/{}", escape(path));
        let statuses = |m: &str| -> BTreeSet<String> {
            spec.at(&format!("{item}/{m}/responses"))
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        match method.as_str() {
            "GET" => {
                assert!(
                    ops.contains(&("HEAD".to_string(), path.clone())),
                    "GET {path} has no HEAD operation"
                );
                assert_eq!(statuses("get"), statuses("head"), "HEAD {path}");
                for status in statuses("head") {
                    let response = spec.deref(&format!("{item}/head/responses/{status}"));
                    assert_eq!(
                        response, "/components/responses/Head",
                        "HEAD {path} {status} is not the Head response"
                    );
                }
            }
            "HEAD" => assert!(ops.contains(&("GET".to_string(), path.clone()))),
            _ => {}
        }
    }
}

#[test]
fn every_operation_can_be_rate_limited_and_shed() {
    // The server's edge refuses any request with 429 (--rate-per-ip) or 503
    // overloaded (--max-in-flight), so every operation lists both.
    let spec = openapi::load();
    for (method, path, op) in spec.operation_pointers() {
        let responses = spec.at(&format!("{op}/responses"));
        for status in ["429", "503"] {
            assert!(
                responses.get(status).is_some(),
                "{method} {path} lists no {status}"
            );
        }
        let ids: Vec<&str> = spec.at(&op)["operationId"].as_str().into_iter().collect();
        assert_eq!(ids.len(), 1, "{method} {path} has no operationId");
    }
}

#[tokio::test]
async fn every_route_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{tenant}", "acme")
            .replace("{date}", "2026-01-01")
            .replace("{index}", "0")
            .replace("{id}", "acme")
            .replace("{asset}", "app.js")
            // The one multi-segment parameter (axum's `/tile/{*path}`).
            .replace("{path}", "0/000.p/1");
        let url = format!("{}{concrete}", server.url);
        let response = http
            .request(method.parse().unwrap(), &url)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("no_such_route") && !body.contains("method_not_allowed"),
            "{method} {path} is not routed: {status} {body}"
        );
        if *method == "GET" {
            let head = http.head(&url).send().await.unwrap();
            assert_eq!(head.status().as_u16(), status, "HEAD {path}");
        }
    }
}

/// Canonical tile paths of every shape: hash tiles at several levels and
/// entry bundles, full and partial, with indexes of one to seven groups.
fn canonical_tile_paths() -> Vec<(String, usize)> {
    let indexes = [
        0u64,
        7,
        999,
        1_000,
        1_001,
        999_999,
        1_000_000,
        1_234_067,
        999_999_999,
        1_000_000_000,
        u64::MAX / 256,
        u64::MAX,
    ];
    let mut out = Vec::new();
    for index in indexes {
        let groups = rootlog::tiles::path::encode_index(index).split('/').count();
        for width in [1u16, 17, 255, 256] {
            for level in [0u8, 1, 7, 63] {
                out.push((
                    format!("/{}", tile_path(TileId { level, index }, width)),
                    groups,
                ));
            }
            out.push((format!("/{}", entries_path(index, width)), groups));
        }
    }
    out
}

#[test]
fn the_tile_templates_match_every_canonical_tile_path_of_up_to_three_groups_once() {
    let spec = openapi::load();
    for (path, groups) in canonical_tile_paths() {
        let matched = spec.match_path(&path).unwrap_or_else(|e| panic!("{e}"));
        if groups > 3 {
            // Beyond the templates: the server answers 404 tile_not_found
            // (the `tiles` tag says so; tests/openapi_conformance.rs checks it).
            assert!(matched.is_none(), "{path} matched {matched:?}");
            continue;
        }
        let matched = matched.unwrap_or_else(|| panic!("no template matches {path}"));
        assert!(
            spec.params_valid(&matched.template, &matched.params),
            "{path}: the parameters {:?} of {} are not valid",
            matched.params,
            matched.template
        );
        assert_eq!(
            matched.template.starts_with("/tile/entries/"),
            path.starts_with("/tile/entries/"),
            "{path} matched {}",
            matched.template
        );
        assert_eq!(
            matched.template.ends_with(".p/{width}"),
            path.contains(".p/"),
            "{path} matched {}",
            matched.template
        );
        // Building the path back from the template and the parameters gives it again,
        // as a generated client would build it.
        let mut built = matched.template.clone();
        for (name, value) in &matched.params {
            built = built.replace(&format!("{{{name}}}"), value);
        }
        assert_eq!(built, path);
    }
}

#[test]
fn the_tile_templates_take_no_non_canonical_tile_path() {
    let spec = openapi::load();
    for path in [
        "/tile/0/x000/001",
        "/tile/0/x000/x001/001",
        "/tile/0/01",
        "/tile/0/0001",
        "/tile/00/000",
        "/tile/64/000",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/017",
        "/tile/entries/x000/000",
        "/tile/entries/000.p/0",
        "/tile/0/x1/000",
    ] {
        if let Some(m) = spec.match_path(path).unwrap() {
            assert!(
                !spec.params_valid(&m.template, &m.params),
                "{path} is not canonical, yet {} takes it with {:?}",
                m.template,
                m.params
            );
        }
        assert!(
            rootlog::tiles::parse_tile_path(path.trim_start_matches("/tile/")).is_err(),
            "{path} is canonical after all"
        );
    }
}

/// Every example in the document with the schema it illustrates.
fn examples(spec: &Spec) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    fn walk(spec: &Spec, pointer: &str, value: &Value, out: &mut Vec<(String, String, Value)>) {
        let Some(obj) = value.as_object() else {
            if let Some(items) = value.as_array() {
                for (i, v) in items.iter().enumerate() {
                    walk(spec, &format!("{pointer}/{i}"), v, out);
                }
            }
            return;
        };
        // Media types and parameters: `schema` beside `example` or `examples` (a map).
        if obj.contains_key("schema") {
            let schema = format!("{pointer}/schema");
            if let Some(example) = obj.get("example") {
                out.push((pointer.to_string(), schema.clone(), example.clone()));
            }
            if let Some(map) = obj.get("examples").and_then(Value::as_object) {
                for name in map.keys() {
                    let ex = spec.deref(&format!("{pointer}/examples/{}", escape(name)));
                    if let Some(v) = spec.at(&ex).get("value") {
                        out.push((ex.clone(), schema.clone(), v.clone()));
                    }
                }
            }
        }
        // Schemas: `examples` is a list of instances.
        if obj.contains_key("type") || obj.contains_key("allOf") || obj.contains_key("$ref") {
            if let Some(list) = obj.get("examples").and_then(Value::as_array) {
                for (i, v) in list.iter().enumerate() {
                    out.push((
                        format!("{pointer}/examples/{i}"),
                        pointer.to_string(),
                        v.clone(),
                    ));
                }
            }
        }
        for (k, v) in obj {
            walk(spec, &format!("{pointer}/{}", escape(k)), v, out);
        }
    }
    walk(spec, "", &spec.doc.clone(), &mut out);
    out
}

#[test]
fn every_example_matches_its_schema() {
    let spec = openapi::load();
    let all = examples(&spec);
    assert!(all.len() > 50, "only {} examples found", all.len());
    let mut failures = Vec::new();
    for (at, schema, example) in all {
        // Path and query parameters are written as text; integers among them
        // are numbers in YAML already.
        if let Err(e) = spec.validate(&schema, &example) {
            failures.push(format!("{at}: {e}"));
            continue;
        }
        if let (Some(name), Some(text)) = (spec.schema_name(&schema), example.as_str()) {
            if ["CheckpointNote", "TlogProofFile", "PrometheusText"].contains(&name.as_str()) {
                if let Err(e) = text_format(&name, text) {
                    failures.push(format!("{at}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_error_code_of_the_document_is_in_the_error_table() {
    // The `Error` schema's description is a table of every code; its enum
    // lists the same codes, and every code a response names is one of them.
    let spec = openapi::load();
    let error = spec.at("/components/schemas/Error");
    let listed: BTreeSet<String> = error["properties"]["error"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let table: BTreeSet<String> = error["description"]
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    assert_eq!(listed, table);
    let mut named = HashMap::new();
    fn codes(pointer: &str, v: &Value, out: &mut HashMap<String, String>) {
        match v {
            Value::Object(obj) => {
                if let Some(error) = obj.get("properties").and_then(|p| p.get("error")) {
                    for c in error["enum"].as_array().into_iter().flatten() {
                        if let Some(c) = c.as_str() {
                            out.insert(c.to_string(), pointer.to_string());
                        }
                    }
                    if let Some(c) = error["const"].as_str() {
                        out.insert(c.to_string(), pointer.to_string());
                    }
                }
                for (k, v) in obj {
                    codes(&format!("{pointer}/{k}"), v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| codes(pointer, v, out)),
            _ => {}
        }
    }
    codes("", &spec.doc, &mut named);
    for (code, at) in named {
        if code == "ok" || at.contains("Health") {
            continue;
        }
        assert!(
            listed.contains(&code),
            "{at} names {code}, which Error does not list"
        );
    }
}
