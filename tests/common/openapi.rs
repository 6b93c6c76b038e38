//! openapi.yaml as the tests read it: the document (YAML read with
//! yaml-rust2 into JSON), its path templates matched the way OpenAPI tools
//! match them, and a checker that says whether one real answer of the server
//! is one the document describes: its status for that operation, its headers,
//! its `Content-Type`, and its body (JSON against the JSON Schema, draft
//! 2020-12 as OpenAPI 3.1 has it; text and binary bodies against the format
//! the document names).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Which listener answered: the public one, the admin one, or the single
/// listener of a server started with `--admin-on-public`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    Both,
    Public,
    Admin,
}

/// The public and admin listeners as openapi.yaml's `servers` name them.
const PUBLIC_SERVER: &str = "http://127.0.0.1:8080";
const ADMIN_SERVER: &str = "http://127.0.0.1:8079";

/// One answer of the server, as the checker sees it.
pub struct Exchange<'a> {
    pub listener: Listener,
    /// Upper case, as sent.
    pub method: &'a str,
    /// The raw request path, without the query.
    pub path: &'a str,
    pub status: u16,
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What a checked answer was: the operation (or the rule for requests no
/// operation takes), its status and the error code of an error answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Outcome {
    pub operation: String,
    pub status: u16,
    pub code: Option<String>,
}

/// The pseudo-operations of answers to requests no operation takes.
pub const NO_ROUTE: &str = "(unknown path)";
pub const WRONG_METHOD: &str = "(method not taken)";
pub const OTHER_TILE_PATH: &str = "(other path under /tile/)";

/// A path template, split into segments of literal text and at most one parameter.
#[derive(Clone, Debug)]
pub struct Template {
    pub path: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug)]
struct Segment {
    prefix: String,
    param: Option<String>,
    suffix: String,
}

/// A request path matched to a template, with the parameters' raw values.
#[derive(Clone, Debug)]
pub struct Matched {
    pub template: String,
    pub params: HashMap<String, String>,
}

pub struct Spec {
    pub doc: Value,
    templates: Vec<Template>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// openapi.yaml at the root of the repository.
pub fn load() -> Spec {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml is readable");
    Spec::from_yaml(&text)
}

/// A YAML node as JSON: integers that do not fit in i64 (the `maximum` of
/// `Uint64`) come as `Real` from the YAML reader and become u64 again.
pub fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) => match s.parse::<u64>() {
            Ok(n) => json!(n),
            Err(_) => json!(s.parse::<f64>().expect("a YAML float")),
        },
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    other => panic!("unexpected YAML key {other:?}"),
                };
                assert!(
                    out.insert(key.clone(), yaml_to_json(v)).is_none(),
                    "duplicate key {key}"
                );
            }
            Value::Object(out)
        }
        Yaml::Null => Value::Null,
        Yaml::Alias(_) | Yaml::BadValue => panic!("unsupported YAML node {y:?}"),
    }
}

/// `~` and `/` escaped for a JSON pointer token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn parse_template(path: &str) -> Template {
    let segments = path
        .split('/')
        .map(|seg| match seg.find('{') {
            None => Segment {
                prefix: seg.to_string(),
                param: None,
                suffix: String::new(),
            },
            Some(open) => {
                let close = seg.find('}').expect("closing brace");
                let suffix = &seg[close + 1..];
                assert!(
                    !suffix.contains('{'),
                    "{path}: one parameter per segment is all this matcher knows"
                );
                Segment {
                    prefix: seg[..open].to_string(),
                    param: Some(seg[open + 1..close].to_string()),
                    suffix: suffix.to_string(),
                }
            }
        })
        .collect();
    Template {
        path: path.to_string(),
        segments,
    }
}

impl Template {
    /// The parameters' raw values if `path` has this template's shape.
    fn capture(&self, path: &str) -> Option<HashMap<String, String>> {
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = HashMap::new();
        for (seg, part) in self.segments.iter().zip(parts) {
            match &seg.param {
                None if seg.prefix == part => {}
                None => return None,
                Some(name) => {
                    let fixed = seg.prefix.len() + seg.suffix.len();
                    if part.len() <= fixed
                        || !part.starts_with(&seg.prefix)
                        || !part.ends_with(&seg.suffix)
                    {
                        return None;
                    }
                    let value = &part[seg.prefix.len()..part.len() - seg.suffix.len()];
                    params.insert(name.clone(), value.to_string());
                }
            }
        }
        Some(params)
    }

    /// Characters of literal text: OpenAPI matches the more concrete path first.
    fn literal_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| s.prefix.len() + s.suffix.len())
            .sum()
    }
}

/// Percent-decodes a path segment; None when it is not UTF-8.
pub fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = raw
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn media_type(value: &str) -> String {
    value.to_ascii_lowercase().replace(' ', "")
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

impl Spec {
    pub fn from_yaml(text: &str) -> Spec {
        let docs = YamlLoader::load_from_str(text).expect("openapi.yaml is YAML");
        assert_eq!(docs.len(), 1, "openapi.yaml holds one document");
        let doc = yaml_to_json(&docs[0]);
        let templates = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(|p| parse_template(p))
            .collect();
        Spec {
            doc,
            templates,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The value at a JSON pointer (`/paths/...`).
    pub fn at(&self, pointer: &str) -> &Value {
        self.doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("openapi.yaml has nothing at {pointer}"))
    }

    /// Follows `$ref`s from `pointer`: the pointer of the object they lead to.
    pub fn deref(&self, pointer: &str) -> String {
        let mut pointer = pointer.to_string();
        for _ in 0..16 {
            match self.at(&pointer).get("$ref").and_then(Value::as_str) {
                Some(target) => {
                    pointer = target
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("{pointer}: only local $refs, not {target}"))
                        .to_string();
                }
                None => return pointer,
            }
        }
        panic!("{pointer}: $ref loop");
    }

    /// Every (METHOD, path template) of the document.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                if item.get(method).is_some() {
                    out.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        out
    }

    /// Every operation with its JSON pointer.
    pub fn operation_pointers(&self) -> Vec<(String, String, String)> {
        self.operations()
            .into_iter()
            .map(|(m, p)| {
                let pointer = format!("/paths/{}/{}", escape(&p), m.to_lowercase());
                (m, p, pointer)
            })
            .collect()
    }

    /// The listeners that serve an operation (its `servers`, else the document's).
    fn served_on(&self, op_pointer: &str, listener: Listener) -> bool {
        let servers = self
            .at(op_pointer)
            .get("servers")
            .unwrap_or(&self.doc["servers"]);
        let urls: Vec<&str> = servers
            .as_array()
            .expect("servers")
            .iter()
            .filter_map(|s| s["url"].as_str())
            .collect();
        match listener {
            Listener::Both => true,
            Listener::Public => urls.contains(&PUBLIC_SERVER),
            Listener::Admin => urls.contains(&ADMIN_SERVER),
        }
    }

    /// Whether `value` (a raw path parameter) satisfies the parameter's schema.
    fn param_ok(&self, op_pointer: &str, template: &str, name: &str, value: &str) -> bool {
        let Some(decoded) = percent_decode(value) else {
            return false;
        };
        let Some(schema) = self.param_schema(op_pointer, template, name) else {
            return false;
        };
        let ty = self.at(&self.deref(&schema))["type"]
            .as_str()
            .map(str::to_string);
        let instance = match ty.as_deref() {
            Some("integer") => match decoded.parse::<u64>() {
                // Only the canonical spelling, as a client writes an integer.
                Ok(n) if n.to_string() == decoded => json!(n),
                _ => return false,
            },
            _ => json!(decoded),
        };
        self.validate(&schema, &instance).is_ok()
    }

    /// The pointer of a path parameter's schema, from the operation's or the path item's parameters.
    pub fn param_schema(&self, op_pointer: &str, template: &str, name: &str) -> Option<String> {
        let item = format!("/paths/{}", escape(template));
        for list in [
            format!("{op_pointer}/parameters"),
            format!("{item}/parameters"),
        ] {
            let Some(params) = self.doc.pointer(&list).and_then(Value::as_array) else {
                continue;
            };
            for i in 0..params.len() {
                let p = self.deref(&format!("{list}/{i}"));
                let param = self.at(&p);
                if param["name"] == name && param["in"] == "path" {
                    return Some(format!("{p}/schema"));
                }
            }
        }
        None
    }

    /// The templates `path` has the shape of, most concrete first; among
    /// equally concrete ones, those whose parameters are valid win.
    pub fn match_path(&self, path: &str) -> Result<Option<Matched>, String> {
        let mut found: Vec<(&Template, HashMap<String, String>)> = self
            .templates
            .iter()
            .filter_map(|t| t.capture(path).map(|p| (t, p)))
            .collect();
        let Some(best) = found.iter().map(|(t, _)| t.literal_len()).max() else {
            return Ok(None);
        };
        found.retain(|(t, _)| t.literal_len() == best);
        if found.len() > 1 {
            let valid: Vec<_> = found
                .iter()
                .filter(|(t, params)| self.params_valid(&t.path, params))
                .cloned()
                .collect();
            if valid.len() != 1 {
                return Err(format!(
                    "{path} matches {} templates equally: {:?}",
                    found.len(),
                    found.iter().map(|(t, _)| &t.path).collect::<Vec<_>>()
                ));
            }
            found = valid;
        }
        let (t, params) = found.remove(0);
        Ok(Some(Matched {
            template: t.path.clone(),
            params,
        }))
    }

    /// Whether every parameter satisfies its schema (in any operation of the path).
    pub fn params_valid(&self, template: &str, params: &HashMap<String, String>) -> bool {
        let item = &self.doc["paths"][template];
        let Some(method) = METHODS.iter().find(|m| item.get(**m).is_some()) else {
            return false;
        };
        let op = format!("/paths/{}/{method}", escape(template));
        params
            .iter()
            .all(|(name, value)| self.param_ok(&op, template, name, value))
    }

    /// A validator for the schema at `pointer`, compiled once: the whole
    /// document is the root, so its `#/components/...` references resolve.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap();
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        let mut root = self.doc.clone();
        root["$ref"] = json!(format!("#{}", fragment(pointer)));
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"));
        let validator = Arc::new(validator);
        cache.insert(pointer.to_string(), validator.clone());
        validator
    }

    /// Validates `instance` against the schema at `pointer`.
    pub fn validate(&self, pointer: &str, instance: &Value) -> Result<(), String> {
        let errors: Vec<String> = self
            .validator(pointer)
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// The name of the component schema a media type's schema refers to.
    pub fn schema_name(&self, schema_pointer: &str) -> Option<String> {
        let target = self.deref(schema_pointer);
        target
            .strip_prefix("/components/schemas/")
            .map(str::to_string)
    }

    /// Checks one answer against the document: the operation it answers,
    /// or the rules for requests no operation takes.
    pub fn check(&self, x: &Exchange) -> Result<Outcome, String> {
        let fail = |what: String| {
            Err(format!(
                "{} {} answered {}: {what}",
                x.method, x.path, x.status
            ))
        };
        let matched = match self.match_path(x.path) {
            Ok(m) => m,
            Err(e) => return fail(e),
        };
        let Some(matched) = matched else {
            return self.check_unrouted(x, None);
        };
        let item = format!("/paths/{}", escape(&matched.template));
        let served: Vec<String> = METHODS
            .iter()
            .filter(|m| {
                self.doc.pointer(&format!("{item}/{m}")).is_some()
                    && self.served_on(&format!("{item}/{m}"), x.listener)
            })
            .map(|m| m.to_uppercase())
            .collect();
        if served.is_empty() {
            return self.check_unrouted(x, None);
        }
        if !served.iter().any(|m| m == x.method) {
            return self.check_unrouted(x, Some(&served));
        }
        let op = format!("{item}/{}", x.method.to_lowercase());
        let operation = self.at(&op)["operationId"]
            .as_str()
            .unwrap_or("(no operationId)")
            .to_string();
        let status = x.status.to_string();
        let Some(_) = self.at(&op)["responses"].get(&status) else {
            return fail(format!("{operation} lists no {status} response"));
        };
        let response = self.deref(&format!("{op}/responses/{status}"));
        // HEAD answers GET's headers: checked against GET's response.
        let (response, head) = if x.method == "HEAD" {
            let get = format!("{item}/get");
            if self.at(&get)["responses"].get(&status).is_none() {
                return fail(format!("HEAD answered {status}, which GET does not list"));
            }
            (self.deref(&format!("{get}/responses/{status}")), true)
        } else {
            (response, false)
        };
        match self.check_response(&response, x, head, &matched.params, &operation) {
            Ok(code) => Ok(Outcome {
                operation,
                status: x.status,
                code,
            }),
            Err(e) => fail(format!("{operation}: {e}")),
        }
    }

    /// A request no operation takes: an unknown path (under `/tile/`, a path
    /// that is no template's), or a method the path does not take here.
    fn check_unrouted(&self, x: &Exchange, allowed: Option<&[String]>) -> Result<Outcome, String> {
        let (operation, expected) = match allowed {
            Some(_) => (WRONG_METHOD, vec![(405, "MethodNotAllowed")]),
            None if x.path.starts_with("/tile/") => (
                OTHER_TILE_PATH,
                vec![(400, "BadTilePath"), (404, "TileNotFound")],
            ),
            None => (NO_ROUTE, vec![(404, "NoSuchRoute")]),
        };
        let mut expected = expected;
        expected.extend([(429, "RateLimited"), (503, "Overloaded")]);
        let fail = |what: String| {
            Err(format!(
                "{} {} answered {} ({operation}): {what}",
                x.method, x.path, x.status
            ))
        };
        let Some((_, name)) = expected.iter().find(|(s, _)| *s == x.status) else {
            return fail(format!(
                "the document says such a request answers {:?}",
                expected.iter().map(|(s, _)| s).collect::<Vec<_>>()
            ));
        };
        let response = self.deref(&format!("/components/responses/{name}"));
        let code =
            match self.check_response(&response, x, x.method == "HEAD", &HashMap::new(), operation)
            {
                Ok(code) => code,
                Err(e) => return fail(e),
            };
        if let (405, Some(allowed)) = (x.status, allowed) {
            let want: BTreeSet<&str> = allowed.iter().map(String::as_str).collect();
            let got: BTreeSet<&str> = header(x.headers, "allow")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect();
            if want != got {
                return fail(format!("Allow is {got:?}, the document has {want:?} here"));
            }
        }
        Ok(Outcome {
            operation: operation.to_string(),
            status: x.status,
            code,
        })
    }

    /// Checks the headers and body of an answer against a response object;
    /// the error code of a JSON error body.
    fn check_response(
        &self,
        response: &str,
        x: &Exchange,
        head: bool,
        params: &HashMap<String, String>,
        operation: &str,
    ) -> Result<Option<String>, String> {
        if let Some(headers) = self.at(response).get("headers").and_then(Value::as_object) {
            for name in headers.keys() {
                let h = self.deref(&format!("{response}/headers/{}", escape(name)));
                let required = self.at(&h)["required"].as_bool().unwrap_or(false);
                match header(x.headers, &name.to_ascii_lowercase()) {
                    None if required => return Err(format!("no {name} header")),
                    None => {}
                    Some(value) => {
                        let schema = format!("{h}/schema");
                        let ty = self.at(&self.deref(&schema))["type"].clone();
                        let instance = if ty == "integer" {
                            match value.parse::<u64>() {
                                Ok(n) => json!(n),
                                Err(_) => return Err(format!("{name}: {value:?} is no integer")),
                            }
                        } else {
                            json!(value)
                        };
                        self.validate(&schema, &instance)
                            .map_err(|e| format!("{name}: {value:?}: {e}"))?;
                    }
                }
            }
        }
        if head && !x.body.is_empty() {
            return Err(format!(
                "a HEAD answer with a body of {} bytes",
                x.body.len()
            ));
        }
        let Some(content) = self.at(response).get("content").and_then(Value::as_object) else {
            if !x.body.is_empty() {
                return Err(format!(
                    "the document describes no body, the answer has {} bytes",
                    x.body.len()
                ));
            }
            return Ok(None);
        };
        let Some(content_type) = header(x.headers, "content-type") else {
            return Err("no Content-Type".into());
        };
        let Some(media) = content
            .keys()
            .find(|k| media_type(k) == media_type(content_type))
        else {
            return Err(format!(
                "Content-Type {content_type:?} is not one of {:?}",
                content.keys().collect::<Vec<_>>()
            ));
        };
        if head {
            return Ok(None);
        }
        let schema = format!("{response}/content/{}/schema", escape(media));
        if media_type(media) == "application/json" {
            let body: Value =
                serde_json::from_slice(x.body).map_err(|e| format!("the body is not JSON: {e}"))?;
            self.validate(&schema, &body)?;
            return Ok(body["error"].as_str().map(str::to_string));
        }
        let name = self.schema_name(&schema);
        if media.starts_with("text/") || media.starts_with("application/openmetrics-text") {
            let text = std::str::from_utf8(x.body).map_err(|_| "the text is not UTF-8")?;
            self.validate(&schema, &json!(text))?;
            return match name.as_deref() {
                Some(name) => text_format(name, text).map(|()| None),
                None => Err(format!(
                    "{media} has no named format to check the text against"
                )),
            };
        }
        binary_format(name.as_deref(), operation, params, x.body).map(|()| None)
    }
}

/// Checks a text body against the format its schema names.
pub fn text_format(schema: &str, text: &str) -> Result<(), String> {
    match schema {
        "CheckpointNote" => checkpoint_note(text),
        "TlogProofFile" => {
            let proof =
                rootlog::tlogproof::TlogProof::parse(text.as_bytes()).map_err(|e| e.to_string())?;
            checkpoint_note(&proof.checkpoint)
        }
        "PrometheusText" => prometheus_text(text),
        "PageFile" => page_file(text.as_bytes()),
        other => Err(format!("no checker for the text format {other}")),
    }
}

/// One of the auditor's page's files, byte for byte as the binary embeds them.
fn page_file(body: &[u8]) -> Result<(), String> {
    if rootlog::page::ASSETS.iter().any(|a| a.body == body) {
        Ok(())
    } else {
        Err("not one of the page's files".into())
    }
}

/// A checkpoint (c2sp.org/tlog-checkpoint) as a signed note with at least one signature.
fn checkpoint_note(text: &str) -> Result<(), String> {
    let note = rootlog::note::Note::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    if note.signatures.is_empty() {
        return Err("a checkpoint without signatures".into());
    }
    rootlog::note::Checkpoint::parse(&note.text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The OpenMetrics 1.0 text format, as openapi.yaml's `PrometheusText` has
/// it: HELP and TYPE before the samples of each `rootlog_*` metric family,
/// sample names the family's name or it with its type's suffix, `# EOF` last.
fn prometheus_text(text: &str) -> Result<(), String> {
    let mut helped = BTreeSet::new();
    let mut typed: HashMap<String, String> = HashMap::new();
    let name_ok = |n: &str| {
        n.starts_with("rootlog_") && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let body = text
        .strip_suffix("# EOF\n")
        .ok_or("the metrics do not end with the line # EOF")?;
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').ok_or(format!("{line:?}"))?;
            if !name_ok(name) || help.is_empty() {
                return Err(format!("bad HELP line {line:?}"));
            }
            helped.insert(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or(format!("{line:?}"))?;
            if !name_ok(name) || !["counter", "gauge", "histogram", "info"].contains(&kind) {
                return Err(format!("bad TYPE line {line:?}"));
            }
            typed.insert(name.to_string(), kind.to_string());
        } else {
            let (series, value) = line
                .rsplit_once(' ')
                .ok_or(format!("bad sample {line:?}"))?;
            let name = series.split('{').next().unwrap_or("");
            if let Some(labels) = series.strip_prefix(name) {
                let ok = labels.is_empty()
                    || (labels.starts_with('{')
                        && labels.ends_with('}')
                        && labels[1..labels.len() - 1].split(',').all(|l| {
                            l.split_once('=').is_some_and(|(k, v)| {
                                !k.is_empty()
                                    && v.len() >= 2
                                    && v.starts_with('"')
                                    && v.ends_with('"')
                            })
                        }));
                if !ok {
                    return Err(format!("bad labels in {line:?}"));
                }
            }
            if !name_ok(name) || value.parse::<f64>().is_err() {
                return Err(format!("bad sample {line:?}"));
            }
            let suffixes: &[&str] = &["", "_total", "_bucket", "_sum", "_count", "_info"];
            let family = suffixes.iter().find_map(|suffix| {
                let family = name.strip_suffix(suffix)?;
                let kind = typed.get(family)?;
                let fits = match kind.as_str() {
                    "counter" => *suffix == "_total",
                    "gauge" => suffix.is_empty(),
                    "histogram" => ["_bucket", "_sum", "_count"].contains(suffix),
                    _ => *suffix == "_info",
                };
                fits.then_some(family)
            });
            match family {
                Some(family) if helped.contains(family) => {}
                _ => return Err(format!("{name} has samples before its HELP and TYPE")),
            }
        }
    }
    if helped.is_empty() {
        return Err("no metrics".into());
    }
    Ok(())
}

/// Checks a binary body against the format its schema names: tiles and
/// bundles of the width the path asks for, a backup stream that ends well.
pub fn binary_format(
    schema: Option<&str>,
    operation: &str,
    params: &HashMap<String, String>,
    body: &[u8],
) -> Result<(), String> {
    let width: usize = params
        .get("width")
        .map(|w| w.parse().expect("a checked width"))
        .unwrap_or(256);
    match schema {
        Some("PageFile") => page_file(body),
        Some("HashTileBytes") => {
            if body.len() != 32 * width {
                return Err(format!("a tile of width {width} with {} bytes", body.len()));
            }
            Ok(())
        }
        Some("EntryBundleBytes") => {
            let entries = rootlog::tiles::decode_bundle(body).map_err(|e| e.to_string())?;
            if entries.len() != width {
                return Err(format!(
                    "a bundle of width {width} with {} entries",
                    entries.len()
                ));
            }
            for entry in entries {
                rootlog::note::Note::parse(&entry)
                    .map_err(|e| format!("a bundle entry is not a signed note: {e}"))?;
            }
            Ok(())
        }
        Some("BackupStream") => {
            let mut reader = std::io::BufReader::new(body);
            rootlog::backup::read_header(&mut reader).map_err(|e| e.to_string())?;
            loop {
                match rootlog::backup::Frame::read(&mut reader).map_err(|e| e.to_string())? {
                    Some(rootlog::backup::Frame::End { .. }) => return Ok(()),
                    Some(_) => {}
                    None => return Err("the backup ends without its end frame".into()),
                }
            }
        }
        other => Err(format!(
            "{operation}: no checker for the binary format {other:?}"
        )),
    }
}

/// A JSON pointer as a URI fragment: every byte outside RFC 3986's
/// unreserved set and `/` percent-encoded (`{index}`, `; charset=` occur in
/// the document's pointers).
fn fragment(pointer: &str) -> String {
    let mut out = String::new();
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
