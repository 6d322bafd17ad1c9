//! Every REST answer the tests receive is checked against the OpenAPI
//! document the server serves (`docs/openapi.json`): the operation must be
//! documented, its status listed, its content type and required headers
//! present, and a JSON body valid against the documented schema. Requests
//! that go through [`Checked::checked`] instead of `send` get this for free.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use badges::rest::OPENAPI_JSON;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

static DOC: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(OPENAPI_JSON).expect("docs/openapi.json is JSON"));

/// Compiled validators by the JSON text of their schema.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

/// Sends the request like `send`, and checks the answer against the document.
pub trait Checked {
    fn checked(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send;
}

impl Checked for reqwest::RequestBuilder {
    async fn checked(self) -> reqwest::Result<reqwest::Response> {
        let (client, request) = self.build_split();
        let request = request?;
        let method = request.method().clone();
        let path = request.url().path().to_owned();
        let response = client.execute(request).await?;
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        conform(&method, &path, status, &headers, &body);
        let mut rebuilt = http::Response::builder().status(status).version(version);
        *rebuilt.headers_mut().expect("builder") = headers;
        Ok(reqwest::Response::from(
            rebuilt.body(body).expect("response"),
        ))
    }
}

/// The documented path template `path` falls under, if any; literal segments
/// win over templated ones.
fn template(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let paths = DOC["paths"].as_object().expect("paths");
    paths
        .keys()
        .filter_map(|t| {
            let parts: Vec<&str> = t.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (p, s) in parts.iter().zip(&segments) {
                if p.starts_with('{') && p.ends_with('}') {
                    if s.is_empty() {
                        return None;
                    }
                } else if p == s {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, t.as_str()))
        })
        .max()
        .map(|(_, t)| t)
}

/// Follows a local `$ref` of the document.
fn resolve(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            resolve(
                DOC.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling {r}")),
            )
        }
        None => v,
    }
}

fn validator(schema: &Value) -> Arc<jsonschema::Validator> {
    let key = schema.to_string();
    let mut cache = VALIDATORS.lock().expect("validators");
    cache
        .entry(key)
        .or_insert_with(|| {
            let mut root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": DOC["components"],
            });
            for (k, v) in schema.as_object().expect("schema object") {
                root[k] = v.clone();
            }
            Arc::new(jsonschema::validator_for(&root).expect("valid schema"))
        })
        .clone()
}

/// Checks one answer; panics with what breaks the document.
pub fn conform(method: &Method, path: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) {
    let what = format!("{method} {path} answered {status}");
    let media = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
    let operation =
        template(path).and_then(|t| DOC["paths"][t].get(method.as_str().to_lowercase()));
    let Some(operation) = operation else {
        // Not an operation of the API: only the JSON not-found and
        // wrong-method answers may come from such a request.
        assert!(
            matches!(
                status,
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ),
            "{what}: not a documented operation"
        );
        check_json(
            &what,
            &json!({"$ref": "#/components/schemas/ErrorEnvelope"}),
            media,
            body,
        );
        return;
    };
    let responses = &operation["responses"];
    let response = responses
        .get(status.as_str())
        .or_else(|| responses.get("default"))
        .map(resolve)
        .unwrap_or_else(|| panic!("{what}: status not documented"));
    if let Some(required) = response.get("headers").and_then(Value::as_object) {
        for (name, h) in required {
            if h["required"] == true {
                assert!(
                    headers.contains_key(name.as_str()),
                    "{what}: no {name} header"
                );
            }
        }
    }
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return;
    };
    let media = media.unwrap_or_else(|| panic!("{what}: no content type"));
    let Some(entry) = content.get(&media) else {
        panic!("{what}: content type {media} not documented");
    };
    if media == "application/json" {
        check_json(&what, &entry["schema"], Some(media), body);
    }
}

fn check_json(what: &str, schema: &Value, media: Option<String>, body: &[u8]) {
    assert_eq!(
        media.as_deref(),
        Some("application/json"),
        "{what}: not JSON"
    );
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{what}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    let errors: Vec<String> = validator(schema)
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: breaks the OpenAPI document: {errors:?}\n{value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_under_their_templates() {
        assert_eq!(
            template("/api_gateway/v1/badges/management/62090013"),
            Some("/api_gateway/v1/badges/management/{customerId}")
        );
        assert_eq!(
            template("/api_gateway/v1/badges/badgeMeta/customer/issueBulk"),
            Some("/api_gateway/v1/badges/badgeMeta/customer/issueBulk")
        );
        assert_eq!(template("/api_gateway/v1/badges/management/"), None);
        assert_eq!(template("/nowhere"), None);
    }

    #[test]
    fn an_answer_outside_the_document_is_caught() {
        let json = |v: Value| v.to_string().into_bytes();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        let list = "/api_gateway/v1/badges/management/1";
        let error = json!({"data": null, "errors": [{"code": 401, "message": "Unauthorized", "reference": null}], "warnings": []});
        conform(
            &Method::GET,
            list,
            StatusCode::UNAUTHORIZED,
            &headers,
            &json(error.clone()),
        );
        let caught =
            |f: Box<dyn FnOnce() + std::panic::UnwindSafe>| std::panic::catch_unwind(f).is_err();
        let h = headers.clone();
        let e = error.clone();
        assert!(
            caught(Box::new(move || conform(
                &Method::GET,
                list,
                StatusCode::IM_A_TEAPOT,
                &h,
                &json(e)
            ))),
            "undocumented status"
        );
        let h = headers.clone();
        let mut extra = error.clone();
        extra["surprise"] = json!(1);
        assert!(
            caught(Box::new(move || conform(
                &Method::GET,
                list,
                StatusCode::UNAUTHORIZED,
                &h,
                &json(extra)
            ))),
            "closed schema"
        );
        let h = headers.clone();
        assert!(
            caught(Box::new(move || conform(
                &Method::GET,
                list,
                StatusCode::TOO_MANY_REQUESTS,
                &h,
                &json(error)
            ))),
            "Retry-After required"
        );
        assert!(
            caught(Box::new(move || conform(
                &Method::DELETE,
                "/v3/oauth/token/generate",
                StatusCode::OK,
                &headers,
                b"{}"
            ))),
            "undocumented operation"
        );
    }
}
