//! End-to-end tests of Nextcloud Login Flow v2: driven with plain HTTP (start, browser pages,
//! CSRF defences, poll) and once in headless Chromium through chromedriver (W3C WebDriver over
//! loopback HTTP), as a real user would click through it.

mod common;

use common::{Client, Reply, TestServer};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DESKTOP_UA: &str =
    "Mozilla/5.0 (Linux) mirall/3.7.3git (Nextcloud, debian-6.1.0 ClientArchitecture: x86_64 OsArchitecture: x86_64)";
const PROPFIND_BODY: &str =
    "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop></d:propfind>";

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

/// A started flow: (poll token, poll endpoint, login URL).
fn start_flow(server: &TestServer) -> (String, String, String) {
    let reply = Client::anonymous().send(
        "POST",
        &format!("{}/index.php/login/v2", server.base),
        &[("User-Agent", DESKTOP_UA)],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.header("Content-Type").is_some_and(|value| value.starts_with("application/json")));
    let body = json_of(&reply);
    let token = body["poll"]["token"].as_str().expect("poll.token").to_string();
    let endpoint = body["poll"]["endpoint"].as_str().expect("poll.endpoint").to_string();
    let login = body["login"].as_str().expect("login").to_string();
    assert!(token.len() >= 64 && token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    assert_eq!(endpoint, format!("{}/index.php/login/v2/poll", server.base));
    assert!(login.starts_with(&format!("{}/index.php/login/v2/flow/", server.base)), "{login}");
    (token, endpoint, login)
}

fn poll(endpoint: &str, token: &str) -> Reply {
    Client::anonymous().send(
        "POST",
        endpoint,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token={token}").as_bytes(),
    )
}

/// The value of the hidden input `name` in an HTML page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in page: {html}")) + marker.len();
    let end = html[start..].find('"').expect("attribute end") + start;
    html[start..end].to_string()
}

fn form_post(url: &str, origin: Option<&str>, fields: &[(&str, &str)]) -> Reply {
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| {
            let encoded: String = value
                .bytes()
                .map(|byte| match byte {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (byte as char).to_string(),
                    other => format!("%{other:02X}"),
                })
                .collect();
            format!("{name}={encoded}")
        })
        .collect();
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(origin) = origin {
        headers.push(("Origin", origin));
    }
    Client::anonymous().send("POST", url, &headers, body.join("&").as_bytes())
}

fn propfind_status(server: &TestServer, user: &str, password: &str) -> u16 {
    Client::new(user, password).propfind(&server.dav_url(user, ""), "0", PROPFIND_BODY).status
}

/// Checks the granted poll answer and that the app password works for WebDAV and OCS.
fn assert_granted(server: &TestServer, endpoint: &str, token: &str, user: &str) -> String {
    let reply = poll(endpoint, token);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = json_of(&reply);
    assert_eq!(body["server"], server.base.as_str());
    assert_eq!(body["loginName"], user);
    let app_password = body["appPassword"].as_str().expect("appPassword").to_string();
    assert_eq!(app_password.len(), 72);
    // Single use.
    let again = poll(endpoint, token);
    assert_eq!(again.status, 404);
    assert_eq!(again.text(), "[]");
    assert_eq!(propfind_status(server, user, &app_password), 207);
    let me = Client::new(user, &app_password).get(&format!("{}/ocs/v1.php/cloud/user?format=json", server.base));
    assert_eq!(json_of(&me)["ocs"]["data"]["id"], user);
    app_password
}

#[test]
fn login_flow_v2_end_to_end_over_http() {
    let server = TestServer::start();
    server.add_user("hanna", "hanna-password", &[]);
    let (token, endpoint, login) = start_flow(&server);
    let before = poll(&endpoint, &token);
    assert_eq!(before.status, 404);
    assert_eq!(before.text(), "[]");
    assert!(before.header("Content-Type").is_some_and(|value| value.starts_with("application/json")));

    // The login page: German by default, accessible form, no script.
    let page = Client::anonymous().get(&login);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.header("Content-Type").is_some_and(|value| value.starts_with("text/html")));
    let html = page.text();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(html.contains("<title>") && html.contains("Anmelden"), "{html}");
    assert!(html.contains("<label for=\"user\">") && html.contains("<label for=\"password\">"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("mirall/3.7.3git"), "the client is named: {html}");
    let csp = page.header("Content-Security-Policy").expect("CSP");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("Referrer-Policy"), Some("same-origin"));
    assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
    let stylesheet = Client::anonymous().get(&format!("{}/index.php/login/v2/style.css", server.base));
    assert_eq!(stylesheet.status, 200);
    assert!(stylesheet.header("Content-Type").is_some_and(|value| value.starts_with("text/css")));

    let form_token = hidden(&html, "form_token");
    let origin = server.base.as_str();

    // Wrong password: the form again, with an error.
    let wrong =
        form_post(&login, Some(origin), &[("form_token", &form_token), ("user", "hanna"), ("password", "nope")]);
    assert_eq!(wrong.status, 403, "{}", wrong.text());
    assert!(wrong.text().contains("role=\"alert\""), "{}", wrong.text());
    assert!(wrong.text().contains("value=\"hanna\""), "the name is kept: {}", wrong.text());

    // Right password: the grant page, which needs another click.
    let grant_page = form_post(
        &login,
        Some(origin),
        &[("form_token", &form_token), ("user", "hanna"), ("password", "hanna-password")],
    );
    assert_eq!(grant_page.status, 200, "{}", grant_page.text());
    let grant_html = grant_page.text();
    assert!(grant_html.contains("Zugriff für <strong>Mozilla/5.0 (Linux) mirall/3.7.3git"), "{grant_html}");
    assert!(grant_html.contains("id=\"grant\""), "{grant_html}");
    assert_eq!(poll(&endpoint, &token).status, 404, "not granted before the click");

    let grant_url = format!("{login}/grant");
    let grant_token = hidden(&grant_html, "grant_token");
    let done = form_post(
        &grant_url,
        Some(origin),
        &[("form_token", &hidden(&grant_html, "form_token")), ("user", "hanna"), ("grant_token", &grant_token)],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Konto verbunden"), "{}", done.text());

    // The link is used up.
    assert_eq!(Client::anonymous().get(&login).status, 404);
    let app_password = assert_granted(&server, &endpoint, &token, "hanna");

    // The new app password is listed with the client's name.
    let list = json_of(&Client::new("hanna", "hanna-password").get(&format!("{}/api/v1/app-passwords", server.base)));
    assert_eq!(list[0]["label"], DESKTOP_UA);
    assert_ne!(app_password, "hanna-password");

    // Without index.php, as Nextcloud also serves it.
    let reply = Client::anonymous().send("POST", &format!("{}/login/v2", server.base), &[], b"");
    assert_eq!(reply.status, 200);
}

#[test]
fn login_flow_refuses_forged_forms() {
    let server = TestServer::start();
    server.add_user("ida", "ida-password", &[]);
    server.add_user("mallory", "mallory-password", &[]);
    let (token, endpoint, login) = start_flow(&server);
    let html = Client::anonymous().get(&login).text();
    let form_token = hidden(&html, "form_token");
    let origin = server.base.as_str();
    let credentials = [("user", "ida"), ("password", "ida-password")];

    // Wrong or missing form token.
    let reply = form_post(&login, Some(origin), &[("form_token", "x"), credentials[0], credentials[1]]);
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(!reply.text().contains("grant_token"));
    let reply = form_post(&login, Some(origin), &credentials);
    assert_eq!(reply.status, 403);
    // Foreign or opaque origin.
    for bad_origin in ["http://evil.example", "null"] {
        let reply = form_post(&login, Some(bad_origin), &[("form_token", &form_token), credentials[0], credentials[1]]);
        assert_eq!(reply.status, 403, "{bad_origin}: {}", reply.text());
    }
    // Without Origin (old browsers) the form token alone is accepted.
    let grant_page = form_post(&login, None, &[("form_token", &form_token), credentials[0], credentials[1]]);
    assert_eq!(grant_page.status, 200, "{}", grant_page.text());
    let grant_token = hidden(&grant_page.text(), "grant_token");
    let grant_url = format!("{login}/grant");

    // The grant token is bound to the account that logged in and cannot be forged.
    for (user, grant) in [("mallory", grant_token.as_str()), ("ida", "1.abc"), ("ida", ""), ("ida", "garbage")] {
        let reply =
            form_post(&grant_url, Some(origin), &[("form_token", &form_token), ("user", user), ("grant_token", grant)]);
        assert_eq!(reply.status, 403, "{user}/{grant}: {}", reply.text());
    }
    let reply = form_post(
        &grant_url,
        Some("http://evil.example"),
        &[("form_token", &form_token), ("user", "ida"), ("grant_token", &grant_token)],
    );
    assert_eq!(reply.status, 403);
    assert_eq!(poll(&endpoint, &token).status, 404, "nothing granted by forged forms");

    let reply = form_post(
        &grant_url,
        Some(origin),
        &[("form_token", &form_token), ("user", "ida"), ("grant_token", &grant_token)],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    // Replaying the grant does not create a second password.
    let replay = form_post(
        &grant_url,
        Some(origin),
        &[("form_token", &form_token), ("user", "ida"), ("grant_token", &grant_token)],
    );
    assert_eq!(replay.status, 404, "{}", replay.text());
    assert_granted(&server, &endpoint, &token, "ida");
    let list = json_of(&Client::new("ida", "ida-password").get(&format!("{}/api/v1/app-passwords", server.base)));
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

    // Unknown links and poll tokens.
    let unknown = Client::anonymous().get(&format!("{}/index.php/login/v2/flow/{}", server.base, "a".repeat(128)));
    assert_eq!(unknown.status, 404);
    assert!(unknown.text().contains("<html lang=\"de\">"));
    assert_eq!(poll(&endpoint, "nonsense").status, 404);
    assert_eq!(Client::anonymous().send("POST", &endpoint, &[], b"").status, 404);
}

#[test]
fn login_flow_pages_in_english_when_preferred() {
    let server = TestServer::start();
    let (_, _, login) = start_flow(&server);
    let page = Client::anonymous().send("GET", &login, &[("Accept-Language", "en-GB,en;q=0.9,de;q=0.5")], b"");
    let html = page.text();
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains(">Log in</button>") && html.contains(">Username</label>"), "{html}");
    let page = Client::anonymous().send("GET", &login, &[("Accept-Language", "de-DE,en;q=0.5")], b"");
    assert!(page.text().contains(">Benutzername</label>"), "{}", page.text());
}

#[test]
fn login_flow_urls_use_https_only_behind_a_trusted_proxy() {
    let server = TestServer::start_with(&["--trusted-proxy", "127.0.0.1"]);
    let url = format!("{}/index.php/login/v2", server.base);
    let reply =
        Client::anonymous().send("POST", &url, &[("X-Forwarded-Proto", "https"), ("Host", "cloud.example.org")], b"");
    let body = json_of(&reply);
    assert_eq!(body["poll"]["endpoint"], "https://cloud.example.org/index.php/login/v2/poll");
    assert!(body["login"]
        .as_str()
        .is_some_and(|login| login.starts_with("https://cloud.example.org/index.php/login/v2/flow/")));
    drop(server);

    let plain = TestServer::start();
    let reply = Client::anonymous().send(
        "POST",
        &format!("{}/index.php/login/v2", plain.base),
        &[("X-Forwarded-Proto", "https")],
        b"",
    );
    assert!(
        json_of(&reply)["login"].as_str().is_some_and(|login| login.starts_with("http://")),
        "untrusted proxy headers are ignored"
    );
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium through chromedriver (W3C WebDriver)
// ---------------------------------------------------------------------------------------------

/// A chromedriver process and one browser session, both ended on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

/// One WebDriver command; `Err` carries the driver's error answer.
fn try_webdriver_call(method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
    let request = agent.request(method, url).set("Content-Type", "application/json");
    let result = match body {
        Some(body) => request.send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(other) => panic!("WebDriver {method} {url}: {other}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap_or_default();
    let value: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("WebDriver {method} {url}: {status} {text}"));
    if status < 300 {
        Ok(value["value"].clone())
    } else {
        Err(format!("WebDriver {method} {url}: {status} {value}"))
    }
}

fn webdriver_call(method: &str, url: &str, body: Option<Value>) -> Value {
    try_webdriver_call(method, url, body).unwrap_or_else(|error| panic!("{error}"))
}

fn chromium_binary() -> Option<String> {
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .iter()
        .find(|path| Path::new(path).exists())
        .map(|path| path.to_string())
}

impl Browser {
    fn start() -> Browser {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .unwrap_or_else(|| {
                panic!("chromedriver is not installed: run scripts/test (installs chromium and chromium-driver)")
            });
        let binary = chromium_binary().unwrap_or_else(|| {
            panic!("chromium is not installed: run scripts/test (installs chromium and chromium-driver)")
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready =
                ureq::get(&format!("{base}/status")).call().ok().and_then(|response| response.into_string().ok());
            if ready.is_some_and(|text| text.contains("\"ready\":true")) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile =
            tempfile::Builder::new().prefix("chromium-").tempdir_in(common::test_tmp_root()).expect("profile dir");
        let mut browser = Browser { driver, base, session: String::new(), _profile: profile };
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-dev-shm-usage".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-default-apps".to_string(),
            "--disable-extensions".to_string(),
            "--disable-breakpad".to_string(),
            "--disable-crash-reporter".to_string(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": args},
        }}});
        let session = webdriver_call("POST", &format!("{}/session", browser.base), Some(capabilities));
        browser.session = session["sessionId"].as_str().expect("sessionId").to_string();
        browser.call("POST", "timeouts", Some(json!({"implicit": 10_000, "pageLoad": 30_000})));
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        webdriver_call(method, &format!("{}/session/{}/{path}", self.base, self.session), body)
    }

    fn navigate(&self, url: &str) {
        self.call("POST", "url", Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> String {
        let element = self.call("POST", "element", Some(json!({"using": "css selector", "value": css})));
        element
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {element}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call("POST", &format!("element/{element}/value"), Some(json!({"text": text})));
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("element/{element}/click"), Some(json!({})));
    }

    /// The text of the first `css` element, `None` while the page is (re)loading.
    fn try_text_of(&self, css: &str) -> Option<String> {
        let url = |path: &str| format!("{}/session/{}/{path}", self.base, self.session);
        let element =
            try_webdriver_call("POST", &url("element"), Some(json!({"using": "css selector", "value": css}))).ok()?;
        let id = element.as_object().and_then(|object| object.values().next()).and_then(Value::as_str)?.to_string();
        let text = try_webdriver_call("GET", &url(&format!("element/{id}/text")), None).ok()?;
        text.as_str().map(str::to_string)
    }

    /// Waits until the page's `h1` reads one of `texts`.
    fn wait_for_heading(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let heading = self.try_text_of("h1");
            if let Some(heading) = heading.as_deref().filter(|heading| texts.contains(heading)) {
                return heading.to_string();
            }
            assert!(Instant::now() < deadline, "page heading is {heading:?}, expected one of {texts:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn login_flow_v2_in_headless_chromium() {
    let server = TestServer::start();
    server.add_user("jana", "jana pass wörd", &[]);
    let (token, endpoint, login) = start_flow(&server);
    let browser = Browser::start();

    browser.navigate(&login);
    browser.wait_for_heading(&["Anmelden", "Log in"]);
    browser.type_into("#user", "jana");
    browser.type_into("#password", "jana pass wörd");
    browser.click("#login");
    browser.wait_for_heading(&["Zugriff gewähren", "Grant access"]);
    assert_eq!(poll(&endpoint, &token).status, 404, "a real click on the grant button is required");
    browser.click("#grant");
    browser.wait_for_heading(&["Konto verbunden", "Account connected"]);

    let app_password = assert_granted(&server, &endpoint, &token, "jana");
    assert_eq!(propfind_status(&server, "jana", &app_password), 207);
}
