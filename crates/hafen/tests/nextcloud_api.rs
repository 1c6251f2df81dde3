//! End-to-end tests of the Nextcloud discovery and OCS API (status.php, capabilities, current
//! user, app passwords), compared field by field with a real Nextcloud's answers
//! (`tests/fixtures/`, copied from `shared/samples/`): presence and JSON type of the keys the
//! clients read, not values.

mod common;

use common::{run_cli, Client, Reply, TestServer, ADMIN_PASSWORD};
use serde_json::Value;
use std::collections::BTreeMap;

const PROPFIND_BODY: &str =
    "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop></d:propfind>";

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|error| panic!("fixture {name}: {error}"))
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every pointer must exist in both documents with the same JSON type.
fn assert_same_shape(ours: &Value, reference: &Value, pointers: &[&str], what: &str) {
    for pointer in pointers {
        let theirs = reference.pointer(pointer).unwrap_or_else(|| panic!("{what}: fixture lacks {pointer}"));
        let mine = ours.pointer(pointer).unwrap_or_else(|| panic!("{what}: Hafen's answer lacks {pointer}: {ours}"));
        assert_eq!(kind(mine), kind(theirs), "{what}: type of {pointer} differs (Hafen {mine}, Nextcloud {theirs})");
    }
}

/// Paths (`ocs/data/…`) of the elements of a pretty-printed OCS XML document (one element per
/// line, as both Nextcloud and Hafen write it), with their text.
fn xml_paths(xml: &str) -> BTreeMap<String, String> {
    let mut paths = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    for line in xml.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if line.starts_with("<?") || line.starts_with("<!--") {
            continue;
        }
        if let Some(name) = line.strip_prefix("</") {
            assert_eq!(stack.pop().as_deref(), Some(name.trim_end_matches('>')), "unbalanced XML at {line}");
            continue;
        }
        let inner = line.strip_prefix('<').unwrap_or_else(|| panic!("unexpected XML line {line}"));
        let (name, text) = if let Some(name) = inner.strip_suffix("/>") {
            (name.to_string(), String::new())
        } else if let Some((name, rest)) = inner.split_once('>') {
            if rest.is_empty() {
                stack.push(name.to_string());
                paths.insert(stack.join("/"), String::from("<container>"));
                continue;
            }
            (name.to_string(), rest.rsplit_once("</").map(|(text, _)| text.to_string()).unwrap_or_default())
        } else {
            panic!("unexpected XML line {line}")
        };
        let path = if stack.is_empty() { name } else { format!("{}/{name}", stack.join("/")) };
        paths.insert(path, text);
    }
    assert!(stack.is_empty(), "unclosed XML elements {stack:?}");
    paths
}

/// The capability keys the clients read (protocol brief §2.2) that Nextcloud also sends.
const CAPABILITY_POINTERS: &[&str] = &[
    "/ocs/meta/status",
    "/ocs/meta/statuscode",
    "/ocs/meta/message",
    "/ocs/data/version/major",
    "/ocs/data/version/minor",
    "/ocs/data/version/micro",
    "/ocs/data/version/string",
    "/ocs/data/version/edition",
    "/ocs/data/version/extendedSupport",
    "/ocs/data/capabilities/core/pollinterval",
    "/ocs/data/capabilities/core/webdav-root",
    "/ocs/data/capabilities/dav/chunking",
    "/ocs/data/capabilities/files/bigfilechunking",
    "/ocs/data/capabilities/files/blacklisted_files",
    "/ocs/data/capabilities/files_sharing/api_enabled",
    "/ocs/data/capabilities/theming/name",
    "/ocs/data/capabilities/theming/color",
    "/ocs/data/capabilities/theming/color-text",
];

/// Features Hafen does not implement and must therefore not advertise.
const NOT_ADVERTISED: &[&str] = &[
    "/ocs/data/capabilities/dav/bulkupload",
    "/ocs/data/capabilities/files/locking",
    "/ocs/data/capabilities/end-to-end-encryption",
    "/ocs/data/capabilities/notify_push",
    "/ocs/data/capabilities/activity",
    "/ocs/data/capabilities/user_status",
    "/ocs/data/capabilities/uploadConflictFiles",
    "/ocs/data/capabilities/globalscale",
];

#[test]
fn status_php_has_nextcloud_fields() {
    let server = TestServer::start();
    let reply = Client::anonymous().get(&format!("{}/status.php", server.base));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.header("Content-Type").is_some_and(|value| value.starts_with("application/json")));
    let ours = json_of(&reply);
    let reference = fixture_json("nextcloud-status.json");
    let pointers: Vec<String> =
        reference.as_object().map(|fields| fields.keys().map(|key| format!("/{key}")).collect()).unwrap_or_default();
    assert_eq!(pointers.len(), 8, "fixture fields");
    assert_same_shape(&ours, &reference, &pointers.iter().map(String::as_str).collect::<Vec<_>>(), "status.php");
    assert_eq!(ours["installed"], true);
    assert_eq!(ours["maintenance"], false);
    assert_eq!(ours["needsDbUpgrade"], false);
    assert_eq!(ours["version"], "28.0.4.1");
    assert_eq!(ours["versionstring"], "28.0.4");
    assert_eq!(ours["edition"], "");
    assert_eq!(ours["productname"], "Hafen");
    assert_eq!(ours["extendedSupport"], false);
}

#[test]
fn capabilities_json_match_nextcloud_shape() {
    let server = TestServer::start();
    let admin = Client::new("admin", ADMIN_PASSWORD);
    let anonymous = Client::anonymous();
    for (version, fixture_name, code) in
        [("v1", "nextcloud-capabilities-v1.json", 100), ("v2", "nextcloud-capabilities-v2.json", 200)]
    {
        let reference = fixture_json(fixture_name);
        let url = format!("{}/ocs/{version}.php/cloud/capabilities?format=json", server.base);
        for (who, client) in [("authenticated", &admin), ("anonymous", &anonymous)] {
            let reply = client.send("GET", &url, &[("OCS-APIREQUEST", "true")], b"");
            assert_eq!(reply.status, 200, "{version} {who}: {}", reply.text());
            assert!(reply.header("Content-Type").is_some_and(|value| value.starts_with("application/json")));
            // The desktop client reads the status code with a regex that allows no space.
            assert!(reply.text().contains(&format!("\"statuscode\":{code}")), "{}", reply.text());
            let ours = json_of(&reply);
            assert_same_shape(&ours, &reference, CAPABILITY_POINTERS, &format!("capabilities {version} {who}"));
            if version == "v1" {
                assert_same_shape(&ours, &reference, &["/ocs/meta/totalitems", "/ocs/meta/itemsperpage"], "v1 meta");
            }
            assert_eq!(ours["ocs"]["meta"]["statuscode"], code);
            assert_eq!(ours["ocs"]["meta"]["status"], "ok");
            let caps = &ours["ocs"]["data"]["capabilities"];
            assert_eq!(caps["dav"]["chunking"], "1.0");
            assert_eq!(caps["files"]["blacklisted_files"], serde_json::json!([".htaccess"]));
            assert_eq!(caps["checksums"]["supportedTypes"], serde_json::json!(["SHA1"]));
            assert_eq!(caps["core"]["pollinterval"], 60);
            assert_eq!(caps["core"]["webdav-root"], "remote.php/webdav");
            assert_eq!(ours["ocs"]["data"]["version"]["string"], "28.0.4");
            // Sharing and notifications exist (issue 6): the clients' share dialogs and
            // notification polling are switched on.
            assert_eq!(caps["files_sharing"]["api_enabled"], true);
            assert_eq!(caps["files_sharing"]["public"]["supports_upload_only"], true);
            assert_eq!(caps["notifications"]["ocs-endpoints"], serde_json::json!(["list", "delete"]));
            for pointer in NOT_ADVERTISED {
                assert!(ours.pointer(pointer).is_none(), "{pointer} must not be advertised");
            }
        }
    }
    // Accept: application/json selects JSON too.
    let reply = admin.send(
        "GET",
        &format!("{}/ocs/v2.php/cloud/capabilities", server.base),
        &[("Accept", "application/json")],
        b"",
    );
    assert_eq!(json_of(&reply)["ocs"]["meta"]["statuscode"], 200);
}

#[test]
fn capabilities_xml_match_nextcloud_shape() {
    let server = TestServer::start();
    let reference = xml_paths(&fixture("nextcloud-capabilities-v2.xml"));
    for (version, code) in [("v1", "100"), ("v2", "200")] {
        let reply = Client::anonymous().get(&format!("{}/ocs/{version}.php/cloud/capabilities", server.base));
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(reply.header("Content-Type").is_some_and(|value| value.starts_with("application/xml")));
        let text = reply.text();
        assert!(text.starts_with("<?xml version=\"1.0\"?>"), "{text}");
        assert!(text.contains(&format!("<statuscode>{code}</statuscode>")), "{text}");
        let ours = xml_paths(&text);
        for pointer in CAPABILITY_POINTERS {
            let path = format!("ocs{}", pointer.trim_start_matches("/ocs"));
            assert!(reference.contains_key(&path), "fixture lacks {path}");
            assert!(ours.contains_key(&path), "XML {version} lacks {path}: {text}");
        }
        assert_eq!(ours.get("ocs/data/capabilities/dav/chunking").map(String::as_str), Some("1.0"));
        assert_eq!(
            ours.get("ocs/data/capabilities/files/blacklisted_files/element").map(String::as_str),
            Some(".htaccess")
        );
        assert_eq!(ours.get("ocs/data/capabilities/files/bigfilechunking").map(String::as_str), Some("1"));
        assert!(!ours.contains_key("ocs/data/capabilities/dav/bulkupload"));
    }
}

#[test]
fn cloud_user_matches_nextcloud_shape() {
    let server = TestServer::start();
    server.add_user(
        "carla",
        "carla-password",
        &["--quota", "1000000", "--display-name", "Carla C.", "--email", "c@example.org"],
    );
    let carla = Client::new("carla", "carla-password");
    assert_eq!(carla.put(&server.dav_url("carla", "f.bin"), &[7u8; 250_000]).status, 201);
    let pointers = [
        "/ocs/meta/status",
        "/ocs/meta/statuscode",
        "/ocs/data/enabled",
        "/ocs/data/id",
        "/ocs/data/lastLogin",
        "/ocs/data/backend",
        "/ocs/data/subadmin",
        "/ocs/data/quota/free",
        "/ocs/data/quota/used",
        "/ocs/data/quota/total",
        "/ocs/data/quota/relative",
        "/ocs/data/quota/quota",
        "/ocs/data/displayname",
        "/ocs/data/display-name",
        "/ocs/data/phone",
        "/ocs/data/address",
        "/ocs/data/website",
        "/ocs/data/twitter",
        "/ocs/data/groups",
        "/ocs/data/language",
        "/ocs/data/locale",
        "/ocs/data/backendCapabilities/setDisplayName",
        "/ocs/data/backendCapabilities/setPassword",
    ];
    for (version, code) in [("v1", 100), ("v2", 200)] {
        let reference = fixture_json(&format!("nextcloud-cloud-user-{version}.json"));
        let url = format!("{}/ocs/{version}.php/cloud/user?format=json", server.base);
        let reply = carla.send("GET", &url, &[("OCS-APIREQUEST", "true")], b"");
        assert_eq!(reply.status, 200, "{}", reply.text());
        let ours = json_of(&reply);
        assert_same_shape(&ours, &reference, &pointers, &format!("cloud/user {version}"));
        assert!(ours.pointer("/ocs/data/email").is_some(), "email missing");
        let data = &ours["ocs"]["data"];
        assert_eq!(ours["ocs"]["meta"]["statuscode"], code);
        assert_eq!(data["id"], "carla");
        assert_eq!(data["display-name"], "Carla C.");
        assert_eq!(data["displayname"], "Carla C.");
        assert_eq!(data["email"], "c@example.org");
        assert_eq!(data["quota"]["used"], 250_000);
        assert_eq!(data["quota"]["total"], 1_000_000);
        assert_eq!(data["quota"]["quota"], 1_000_000);
        assert_eq!(data["quota"]["free"], 750_000);
        assert_eq!(data["quota"]["relative"], 25.0);
    }
    // Unlimited quota: Nextcloud's -3.
    let reply = Client::new("admin", ADMIN_PASSWORD).get(&format!("{}/ocs/v1.php/cloud/user?format=json", server.base));
    let ours = json_of(&reply);
    assert_eq!(ours["ocs"]["data"]["id"], "admin");
    assert_eq!(ours["ocs"]["data"]["quota"]["quota"], -3);
    assert_eq!(ours["ocs"]["data"]["quota"]["total"], -3);
    // XML by default.
    let reply = carla.get(&format!("{}/ocs/v2.php/cloud/user", server.base));
    let paths = xml_paths(&reply.text());
    assert_eq!(paths.get("ocs/data/id").map(String::as_str), Some("carla"));
    assert_eq!(paths.get("ocs/data/display-name").map(String::as_str), Some("Carla C."));
}

#[test]
fn cloud_user_requires_credentials() {
    let server = TestServer::start();
    for version in ["v1", "v2"] {
        let url = format!("{}/ocs/{version}.php/cloud/user?format=json", server.base);
        for client in [Client::anonymous(), Client::new("admin", "wrong")] {
            let reply = client.get(&url);
            assert_eq!(reply.status, 401, "{version}: {}", reply.text());
            assert!(reply.header("WWW-Authenticate").is_some_and(|value| value.starts_with("Basic ")));
            assert!(reply.text().contains("\"statuscode\":997"), "{}", reply.text());
            assert_eq!(json_of(&reply)["ocs"]["meta"]["status"], "failure");
        }
    }
}

#[test]
fn unknown_and_unsupported_ocs_routes_answer_in_ocs_shape() {
    let server = TestServer::start();
    let admin = Client::new("admin", ADMIN_PASSWORD);
    for route in [
        "apps/user_status/api/v1/user_status",
        "core/navigation/apps?absolute=true",
        "search/providers",
        "no/such/route",
    ] {
        let separator = if route.contains('?') { '&' } else { '?' };
        let v2 = admin.get(&format!("{}/ocs/v2.php/{route}{separator}format=json", server.base));
        assert_eq!(v2.status, 404, "{route}: {}", v2.text());
        assert!(v2.text().contains("\"statuscode\":404"), "{route}: {}", v2.text());
        assert_eq!(json_of(&v2)["ocs"]["meta"]["status"], "failure");
        let v1 = admin.get(&format!("{}/ocs/v1.php/{route}{separator}format=json", server.base));
        assert_eq!(v1.status, 200, "{route}: {}", v1.text());
        assert!(v1.text().contains("\"statuscode\":998"), "{route}: {}", v1.text());
        let xml = admin.get(&format!("{}/ocs/v2.php/{route}", server.base));
        assert_eq!(xml.status, 404);
        assert!(
            xml.text().starts_with("<?xml version=\"1.0\"?>") && xml.text().contains("<statuscode>404</statuscode>")
        );
    }
    let odd = admin.get(&format!("{}/ocs/v9.php/cloud/user?format=json", server.base));
    assert_eq!(odd.status, 404);
    assert_eq!(json_of(&odd)["ocs"]["meta"]["statuscode"], 404);
}

#[test]
fn avatars_are_not_found() {
    let server = TestServer::start();
    let admin = Client::new("admin", ADMIN_PASSWORD);
    for path in
        ["/remote.php/dav/avatars/admin/64.png", "/index.php/avatar/admin/64", "/index.php/avatar/admin/64/dark"]
    {
        let reply = admin.get(&format!("{}{path}", server.base));
        assert_eq!(reply.status, 404, "{path}: {}", reply.text());
    }
}

fn propfind_status(server: &TestServer, user: &str, password: &str) -> u16 {
    Client::new(user, password).propfind(&server.dav_url(user, ""), "0", PROPFIND_BODY).status
}

#[test]
fn getapppassword_converts_the_account_password_once() {
    let server = TestServer::start();
    server.add_user("dora", "dora-password", &[]);
    let dora = Client::new("dora", "dora-password");
    let url = format!("{}/ocs/v2.php/core/getapppassword?format=json", server.base);
    let reply = dora.send(
        "GET",
        &url,
        &[("OCS-APIREQUEST", "true"), ("User-Agent", "Mozilla/5.0 (Android) Nextcloud-android/3.30")],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let token = json_of(&reply)["ocs"]["data"]["apppassword"].as_str().map(str::to_string).expect("apppassword");
    assert_eq!(token.len(), 72);
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(propfind_status(&server, "dora", &token), 207);

    // With an app password the conversion is refused, as Nextcloud does.
    let with_app = Client::new("dora", &token).send("GET", &url, &[("OCS-APIREQUEST", "true")], b"");
    assert_eq!(with_app.status, 403, "{}", with_app.text());
    assert!(with_app.text().contains("\"statuscode\":403"));

    // The password is listed with the client's name as label.
    let list = json_of(&dora.get(&format!("{}/api/v1/app-passwords", server.base)));
    let labels: Vec<_> = list.as_array().expect("array").iter().map(|item| item["label"].clone()).collect();
    assert_eq!(labels, vec![Value::from("Mozilla/5.0 (Android) Nextcloud-android/3.30")]);

    // A client logging out revokes the password it uses; afterwards it no longer works.
    let delete = format!("{}/ocs/v2.php/core/apppassword?format=json", server.base);
    let refused = dora.send("DELETE", &delete, &[("OCS-APIREQUEST", "true")], b"");
    assert_eq!(refused.status, 403, "the account password is not an app password: {}", refused.text());
    let revoked = Client::new("dora", &token).send("DELETE", &delete, &[("OCS-APIREQUEST", "true")], b"");
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert_eq!(propfind_status(&server, "dora", &token), 401);
    assert_eq!(propfind_status(&server, "dora", "dora-password"), 207);

    let anonymous = Client::anonymous().get(&url);
    assert_eq!(anonymous.status, 401);
}

fn create_app_password(server: &TestServer, user: &str, label: &str) -> String {
    let (code, out, err) = run_cli(&server.data, &["user", "app-password", user, "--label", label], None);
    assert_eq!(code, 0, "{out} {err}");
    out.trim().to_string()
}

#[test]
fn app_passwords_listed_and_revoked_by_the_user() {
    let server = TestServer::start();
    server.add_user("emil", "emil-password", &[]);
    server.add_user("fritz", "fritz-password", &[]);
    let laptop = create_app_password(&server, "emil", "laptop");
    let phone = create_app_password(&server, "emil", "phone");
    let fritz_token = create_app_password(&server, "fritz", "fritz-pc");
    // Used (and possibly cached) before the revocation.
    assert_eq!(propfind_status(&server, "emil", &laptop), 207);
    assert_eq!(propfind_status(&server, "emil", &phone), 207);

    let emil = Client::new("emil", "emil-password");
    let url = format!("{}/api/v1/app-passwords", server.base);
    let reply = emil.get(&url);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let list = json_of(&reply);
    let items = list.as_array().expect("array");
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["label"], "laptop");
    assert_eq!(items[1]["label"], "phone");
    assert!(items[0]["id"].is_i64() && items[0]["created_at"].is_i64());
    assert!(!reply.text().contains(&laptop), "tokens are never listed");
    let laptop_id = items[0]["id"].as_i64().expect("id");

    // Another account's id is not found for emil.
    let fritz_list = json_of(&Client::new("fritz", "fritz-password").get(&url));
    let fritz_id = fritz_list[0]["id"].as_i64().expect("fritz id");
    assert_eq!(emil.delete(&format!("{url}/{fritz_id}")).status, 404);
    assert_eq!(propfind_status(&server, "fritz", &fritz_token), 207);

    let revoke = emil.delete(&format!("{url}/{laptop_id}"));
    assert_eq!(revoke.status, 204, "{}", revoke.text());
    assert_eq!(propfind_status(&server, "emil", &laptop), 401, "a revoked app password must stop working at once");
    assert_eq!(propfind_status(&server, "emil", &phone), 207);
    assert_eq!(emil.delete(&format!("{url}/{laptop_id}")).status, 404);
    assert_eq!(emil.delete(&format!("{url}/not-a-number")).status, 404);
    assert_eq!(json_of(&emil.get(&url)).as_array().map(Vec::len), Some(1));

    let anonymous = Client::anonymous().get(&url);
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("WWW-Authenticate").is_some());
}

#[test]
fn app_passwords_listed_and_revoked_by_the_admin_cli() {
    let server = TestServer::start();
    server.add_user("gina", "gina-password", &[]);
    let token = create_app_password(&server, "gina", "tablet");
    assert_eq!(propfind_status(&server, "gina", &token), 207);

    let (code, out, err) = run_cli(&server.data, &["user", "app-passwords", "gina"], None);
    assert_eq!(code, 0, "{out} {err}");
    let line = out.lines().next().expect("one app password listed");
    let fields: Vec<_> = line.split('\t').collect();
    assert_eq!(fields.len(), 3, "{line}");
    assert_eq!(fields[1], "tablet");
    assert!(fields[2].ends_with(" UTC") && fields[2].len() == 23, "{line}");
    let id = fields[0];

    let (code, out, err) = run_cli(&server.data, &["user", "revoke-app-password", "gina", "99999"], None);
    assert_ne!(code, 0, "unknown id must fail: {out} {err}");
    let (code, out, err) = run_cli(&server.data, &["user", "revoke-app-password", "gina", id], None);
    assert_eq!(code, 0, "{out} {err}");
    // Revoked in another process: the server must not accept it from a cache.
    assert_eq!(propfind_status(&server, "gina", &token), 401);
    assert_eq!(propfind_status(&server, "gina", "gina-password"), 207);
    let (_, out, _) = run_cli(&server.data, &["user", "app-passwords", "gina"], None);
    assert!(out.trim().is_empty(), "{out}");
}
