//! The OCS envelope: `{"ocs":{"meta":{…},"data":…}}` in JSON or the same tree in XML.
//!
//! v1 answers success with `statuscode` 100 and HTTP 200 even for most errors (only
//! "unauthorised", 997, is also an HTTP 401); v2 answers success with 200 and uses the OCS
//! status as HTTP status for errors. JSON is chosen by `format=json` or an `Accept` header
//! naming `application/json`, XML otherwise. JSON is compact: the desktop client reads the
//! status with the regex `"statuscode":(\d+)` on the raw text.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// OCS status code for "unauthorised".
const OCS_UNAUTHORISED: u16 = 997;
/// OCS v1 status code for "not found" (an unknown route or object).
const OCS_V1_NOT_FOUND: u16 = 998;

/// Which OCS endpoint family the request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

/// Body format of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Xml,
}

impl Format {
    /// `format=json|xml` in the query wins; then an `Accept` naming JSON; XML by default.
    pub(crate) fn of_request(query: Option<&str>, headers: &HeaderMap) -> Format {
        let requested = query.unwrap_or_default().split('&').find_map(|pair| pair.strip_prefix("format="));
        match requested {
            Some(value) if value.eq_ignore_ascii_case("json") => return Format::Json,
            Some(value) if value.eq_ignore_ascii_case("xml") => return Format::Xml,
            _ => {}
        }
        let accepts_json = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.to_ascii_lowercase().contains("application/json"));
        if accepts_json {
            Format::Json
        } else {
            Format::Xml
        }
    }
}

/// Renders OCS answers for one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ocs {
    pub version: Version,
    pub format: Format,
}

impl Ocs {
    pub(crate) fn new(version: Version, format: Format) -> Ocs {
        Ocs { version, format }
    }

    /// A successful answer carrying `data`.
    pub(crate) fn ok(&self, data: Value) -> Response {
        let code = match self.version {
            Version::V1 => 100,
            Version::V2 => 200,
        };
        self.render(StatusCode::OK, code, true, "OK", &data)
    }

    /// A failed answer. `status` is the HTTP meaning (401, 403, 404, 429, 500…); the OCS code
    /// and the HTTP status sent follow the version's rules.
    pub(crate) fn failure(&self, status: StatusCode, message: &str) -> Response {
        let (http, code) = match (self.version, status) {
            (_, StatusCode::UNAUTHORIZED) => (StatusCode::UNAUTHORIZED, OCS_UNAUTHORISED),
            (Version::V1, StatusCode::NOT_FOUND) => (StatusCode::OK, OCS_V1_NOT_FOUND),
            (Version::V1, other) => (StatusCode::OK, other.as_u16()),
            (Version::V2, other) => (other, other.as_u16()),
        };
        let mut response = self.render(http, code, false, message, &json!([]));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Hafen\", charset=\"UTF-8\""));
        }
        response
    }

    pub(crate) fn not_found(&self) -> Response {
        self.failure(StatusCode::NOT_FOUND, "Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.")
    }

    fn render(&self, http: StatusCode, code: u16, ok: bool, message: &str, data: &Value) -> Response {
        let status = if ok { "ok" } else { "failure" };
        let v1 = self.version == Version::V1;
        // Written by hand so that the fields come in Nextcloud's order (meta first, then data).
        let (content_type, body) = match self.format {
            Format::Json => {
                let paging = if v1 { ",\"totalitems\":\"\",\"itemsperpage\":\"\"" } else { "" };
                let meta = format!(
                    "{{\"status\":\"{status}\",\"statuscode\":{code},\"message\":{}{paging}}}",
                    Value::from(message)
                );
                ("application/json; charset=utf-8", format!("{{\"ocs\":{{\"meta\":{meta},\"data\":{data}}}}}"))
            }
            Format::Xml => {
                let paging = if v1 { "  <totalitems></totalitems>\n  <itemsperpage></itemsperpage>\n" } else { "" };
                let mut body = format!(
                    "<?xml version=\"1.0\"?>\n<ocs>\n <meta>\n  <status>{status}</status>\n  \
                     <statuscode>{code}</statuscode>\n  <message>{}</message>\n{paging} </meta>\n",
                    quick_xml::escape::escape(message)
                );
                write_xml(&mut body, "data", data, 1);
                body.push_str("</ocs>\n");
                ("application/xml; charset=utf-8", body)
            }
        };
        let mut response = (http, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
        response
    }
}

/// Whether `name` can be used as an XML element name as is.
fn is_element_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Writes `value` as element `name` the way Nextcloud does: list items as `<element>`, `true`
/// as `1`, `false` as empty text, empty lists/objects and null as an empty element.
fn write_xml(out: &mut String, name: &str, value: &Value, depth: usize) {
    let name = if is_element_name(name) { name } else { "element" };
    let indent = " ".repeat(depth);
    match value {
        Value::Null => out.push_str(&format!("{indent}<{name}/>\n")),
        Value::Bool(flag) => out.push_str(&format!("{indent}<{name}>{}</{name}>\n", if *flag { "1" } else { "" })),
        Value::Number(number) => out.push_str(&format!("{indent}<{name}>{number}</{name}>\n")),
        Value::String(text) => {
            out.push_str(&format!("{indent}<{name}>{}</{name}>\n", quick_xml::escape::escape(text.as_str())))
        }
        Value::Array(items) if items.is_empty() => out.push_str(&format!("{indent}<{name}/>\n")),
        Value::Object(members) if members.is_empty() => out.push_str(&format!("{indent}<{name}/>\n")),
        Value::Array(items) => {
            out.push_str(&format!("{indent}<{name}>\n"));
            for item in items {
                write_xml(out, "element", item, depth + 1);
            }
            out.push_str(&format!("{indent}</{name}>\n"));
        }
        Value::Object(members) => {
            out.push_str(&format!("{indent}<{name}>\n"));
            for (key, member) in members {
                write_xml(out, key, member, depth + 1);
            }
            out.push_str(&format!("{indent}</{name}>\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn format_selection() {
        let empty = HeaderMap::new();
        assert_eq!(Format::of_request(Some("format=json"), &empty), Format::Json);
        assert_eq!(Format::of_request(Some("a=b&format=xml"), &empty), Format::Xml);
        assert_eq!(Format::of_request(None, &empty), Format::Xml);
        let mut accept = HeaderMap::new();
        accept.insert(header::ACCEPT, HeaderValue::from_static("application/json, text/plain"));
        assert_eq!(Format::of_request(None, &accept), Format::Json);
        assert_eq!(Format::of_request(Some("format=xml"), &accept), Format::Xml);
    }

    #[test]
    fn xml_shapes() {
        let mut out = String::new();
        let value = json!({"a": true, "b": false, "c": [".x", "<y>"], "d": [], "e": null, "9": 1});
        write_xml(&mut out, "data", &value, 0);
        assert!(out.contains("<a>1</a>"), "{out}");
        assert!(out.contains("<b></b>"), "{out}");
        assert!(out.contains("<element>.x</element>") && out.contains("<element>&lt;y&gt;</element>"), "{out}");
        assert!(out.contains("<d/>") && out.contains("<e/>"), "{out}");
        assert!(out.contains("<element>1</element>"), "{out}");
    }

    async fn body_of(response: Response) -> String {
        let bytes = response.into_body().collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn meta_comes_first_in_nextcloud_order() {
        let v1 = Ocs::new(Version::V1, Format::Json).ok(json!({"a": 1}));
        assert_eq!(
            body_of(v1).await,
            "{\"ocs\":{\"meta\":{\"status\":\"ok\",\"statuscode\":100,\"message\":\"OK\",\"totalitems\":\"\",\"itemsperpage\":\"\"},\"data\":{\"a\":1}}}"
        );
        let v2 = Ocs::new(Version::V2, Format::Json).failure(StatusCode::NOT_FOUND, "say \"no\"");
        assert_eq!(v2.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            body_of(v2).await,
            "{\"ocs\":{\"meta\":{\"status\":\"failure\",\"statuscode\":404,\"message\":\"say \\\"no\\\"\"},\"data\":[]}}"
        );
        let xml = body_of(Ocs::new(Version::V2, Format::Xml).ok(json!({}))).await;
        assert_eq!(
            xml,
            "<?xml version=\"1.0\"?>\n<ocs>\n <meta>\n  <status>ok</status>\n  <statuscode>200</statuscode>\n  <message>OK</message>\n </meta>\n <data/>\n</ocs>\n"
        );
    }
}
