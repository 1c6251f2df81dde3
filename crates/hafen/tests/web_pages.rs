//! The web interface end to end against the real binary, as a browser without JavaScript
//! would use it: login with a session cookie (HttpOnly, SameSite=Lax), the page security
//! headers, logout and password changes ending sessions, app passwords refused on the login
//! form; CSRF protection of the forms (token field and same-origin check) and of WebDAV and
//! the JSON API used with the cookie (`requesttoken` header); the file browser's actions
//! (new folder, rename, move, copy, delete of a selection) checked through WebDAV; listing
//! order, filter, breadcrumbs, sharing state, sizes and language; downloads of a file, a
//! selection and a folder as ZIP; the share dialog (links with password, expiry and limit,
//! file-drop links, shares with accounts, removal, recipient suggestions); and that one
//! account's session never reaches another account's files.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;

/// Percent-encodes everything but unreserved characters (form values and query parameters).
fn enc(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Percent-encodes a path for a WebDAV URL, keeping `/`.
fn enc_path(path: &str) -> String {
    path.split('/').map(enc).collect::<Vec<_>>().join("/")
}

/// Decodes `%XX` escapes (and `+` as space, as in form values).
fn dec(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' && tail.len() >= 2 {
            let hex = std::str::from_utf8(&tail[..2]).expect("hex");
            bytes.push(u8::from_str_radix(hex, 16).expect("hex"));
            rest = &tail[2..];
        } else {
            bytes.push(if byte == b'+' { b' ' } else { byte });
            rest = tail;
        }
    }
    String::from_utf8(bytes).expect("UTF-8")
}

/// `application/x-www-form-urlencoded` of the fields, in order (names may repeat).
fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(name, value)| format!("{}={}", enc(name), enc(value))).collect::<Vec<_>>().join("&")
}

fn location(reply: &Reply) -> String {
    reply
        .header("location")
        .unwrap_or_else(|| panic!("no Location in {} reply: {}", reply.status, reply.text()))
        .to_string()
}

/// The decoded query parameters of a URL.
fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (dec(name), dec(value))
        })
        .collect()
}

/// The outcome an action reports through its redirect: `done=KEY` or `failed=KEY`.
fn outcome(reply: &Reply) -> String {
    assert_eq!(reply.status, 303, "expected a redirect after the form POST: {}", reply.text());
    let target = location(reply);
    query_of(&target)
        .into_iter()
        .find(|(name, _)| name == "done" || name == "failed")
        .map(|(name, value)| format!("{name}={value}"))
        .unwrap_or_else(|| panic!("no done=/failed= in {target}"))
}

/// The value of the session cookie a `Set-Cookie` header sets, with the whole header.
fn session_cookie(reply: &Reply) -> Option<(String, String)> {
    reply
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, value)| value.strip_prefix("hafen_session=").map(|rest| (rest.to_string(), value.clone())))
        .map(|(rest, header)| (rest.split(';').next().unwrap_or_default().to_string(), header))
}

/// `content` of the first `<meta name="hafen-csrf">`.
fn csrf_of(html: &str) -> Option<String> {
    let start = html.find("<meta name=\"hafen-csrf\" content=\"")? + "<meta name=\"hafen-csrf\" content=\"".len();
    Some(html[start..].split('"').next()?.to_string())
}

/// Posts the login form as a browser does (with the page's origin).
fn login_attempt(server: &TestServer, user: &str, password: &str, redirect_url: &str) -> Reply {
    Client::anonymous().send(
        "POST",
        &format!("{}/login", server.base),
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", &server.base)],
        form(&[("user", user), ("password", password), ("redirect_url", redirect_url)]).as_bytes(),
    )
}

/// A browser with a logged-in session: sends the session cookie, posts forms with the CSRF
/// token and the page's origin, never follows redirects.
struct Browser {
    base: String,
    user: String,
    http: Client,
    session: String,
    csrf: String,
    /// Extra cookies sent with every request (`hafen_lang=en`).
    extra_cookies: Vec<String>,
}

impl Browser {
    fn login(server: &TestServer, user: &str, password: &str) -> Browser {
        let reply = login_attempt(server, user, password, "/apps/files/");
        assert_eq!(reply.status, 303, "login of {user}: {}", reply.text());
        assert_eq!(location(&reply), "/apps/files/");
        let (session, _) = session_cookie(&reply).expect("session cookie");
        let mut browser = Browser {
            base: server.base.clone(),
            user: user.to_string(),
            http: Client::anonymous(),
            session,
            csrf: String::new(),
            extra_cookies: Vec::new(),
        };
        let page = browser.page("/apps/files/");
        browser.csrf = csrf_of(&page).expect("the files page carries the CSRF token");
        assert!(!browser.csrf.is_empty());
        browser
    }

    fn cookie_header(&self) -> String {
        let mut cookies = vec![format!("hafen_session={}", self.session)];
        cookies.extend(self.extra_cookies.iter().cloned());
        cookies.join("; ")
    }

    /// `method` on a path of the server (or a full URL) with the session cookie.
    fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) };
        let cookie = self.cookie_header();
        let mut all = vec![("Cookie", cookie.as_str())];
        all.extend_from_slice(headers);
        self.http.send(method, &url, &all, body)
    }

    fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], b"")
    }

    /// The HTML of a page that must answer 200, with the `/` minijinja escapes in attribute
    /// values (`&#x2f;`) written plainly (`<`, `>`, `&` and quotes stay escaped).
    fn page(&self, path: &str) -> String {
        let reply = self.get(path);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
        reply.text().replace("&#x2f;", "/")
    }

    /// Posts a form with the session's CSRF token and the page's origin.
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, Some(&self.base))
    }

    /// Posts exactly these fields, with the given `Origin` header (if any).
    fn post_raw(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Reply {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(origin) = origin {
            headers.push(("Origin", origin));
        }
        self.send("POST", path, &headers, form(fields).as_bytes())
    }

    /// URL of a path in this account's WebDAV tree.
    fn dav(&self, path: &str) -> String {
        format!("{}/remote.php/dav/files/{}/{}", self.base, self.user, enc_path(path))
    }
}

/// Whether `path` exists in `user`'s tree (PROPFIND with Basic credentials).
fn exists(server: &TestServer, client: &Client, user: &str, path: &str) -> bool {
    let reply = client.propfind(&server.dav_url(user, &enc_path(path)), "0", "");
    match reply.status {
        207 => true,
        404 => false,
        other => panic!("PROPFIND {path}: {other} {}", reply.text()),
    }
}

/// The body of a file in `user`'s tree (GET with Basic credentials); panics unless 200.
fn content(server: &TestServer, client: &Client, user: &str, path: &str) -> Vec<u8> {
    let reply = client.get(&server.dav_url(user, &enc_path(path)));
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
    reply.body
}

fn put(server: &TestServer, client: &Client, user: &str, path: &str, body: &[u8]) {
    let status = client.put(&server.dav_url(user, &enc_path(path)), body).status;
    assert!(status == 201 || status == 204, "PUT {path}: {status}");
}

fn mkcol(server: &TestServer, client: &Client, user: &str, path: &str) {
    assert_eq!(client.mkcol(&server.dav_url(user, &enc_path(path))).status, 201, "MKCOL {path}");
}

/// `(name, type)` of each row of the file table, in page order.
fn rows(html: &str) -> Vec<(String, String)> {
    html.split("<tr data-name=\"")
        .skip(1)
        .map(|rest| {
            let name = rest.split('"').next().unwrap_or_default().to_string();
            let kind = rest.split("data-type=\"").nth(1).and_then(|t| t.split('"').next()).unwrap_or_default();
            (name, kind.to_string())
        })
        .collect()
}

fn row_names(html: &str) -> Vec<String> {
    rows(html).into_iter().map(|(name, _)| name).collect()
}

/// The HTML of the table row of `name`.
fn row<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("<tr data-name=\"{name}\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no row {name} in {html}"));
    let end = html[start..].find("</tr>").map_or(html.len(), |end| start + end);
    &html[start..end]
}

/// The part of `html` from `open` to the next `close`.
fn section<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html.find(open).unwrap_or_else(|| panic!("no {open} in {html}"));
    let end = html[start..].find(close).map_or(html.len(), |end| start + end);
    &html[start..end]
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", reply.text()))
}

/// Every entry of a ZIP: name → content (`None` for a folder).
fn unpack(reply: &Reply) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(reply.body.clone()))
        .unwrap_or_else(|error| panic!("not a ZIP ({error}): {}", reply.text()));
    let mut entries = BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).expect("entry");
        let name = file.name().expect("a UTF-8 name").into_owned();
        let data = if file.is_dir() {
            None
        } else {
            let mut data = Vec::new();
            file.read_to_end(&mut data).expect("entry content (CRC checked)");
            Some(data)
        };
        assert!(entries.insert(name.clone(), data).is_none(), "{name} twice");
    }
    entries
}

fn expected(entries: &[(&str, Option<&[u8]>)]) -> BTreeMap<String, Option<Vec<u8>>> {
    entries.iter().map(|(name, data)| (name.to_string(), data.map(<[u8]>::to_vec))).collect()
}

/// The token of the public link URL shown in the share dialog for share `id`.
fn link_token_in_dialog(html: &str, id: &str) -> (String, String) {
    let item = section(html, &format!("<li data-share-id=\"{id}\""), "</li>");
    let value = item.split("class=\"link-url\" type=\"text\" readonly value=\"").nth(1).expect("link URL field");
    let url = value.split('"').next().unwrap_or_default().to_string();
    let token = url.rsplit("/s/").next().unwrap_or_default().to_string();
    assert!(url.ends_with(&format!("/s/{token}")) && token.len() >= 8, "link URL {url}");
    (url, token)
}

/// Ids of the entries of the dialog's share list with `data-kind`.
fn share_ids(html: &str, kind: &str) -> Vec<String> {
    html.split("<li data-share-id=\"")
        .skip(1)
        .filter(|rest| rest.split('>').next().unwrap_or_default().contains(&format!("data-kind=\"{kind}\"")))
        .map(|rest| rest.split('"').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn sessions_start_with_the_password_and_end_with_logout_or_a_new_password() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let anonymous = Client::anonymous();

    // Without a session every page sends the browser to the login form, remembering the page.
    let reply = anonymous.get(&format!("{}/apps/files/?dir=%2FA", server.base));
    assert_eq!(reply.status, 303);
    let target = location(&reply);
    assert!(target.starts_with("/login?redirect_url="), "{target}");
    assert_eq!(query_of(&target), vec![("redirect_url".to_string(), "/apps/files/?dir=%2FA".to_string())]);
    let reply = anonymous.get(&format!("{}/", server.base));
    assert_eq!((reply.status, location(&reply).starts_with("/login")), (303, true));
    let login_page = anonymous.get(&format!("{}/login", server.base));
    assert_eq!(login_page.status, 200);
    let html = login_page.text();
    assert!(html.contains("id=\"user\"") && html.contains("id=\"password\"") && html.contains("id=\"login\""));
    assert!(html.contains("<html lang=\"de\">"), "German by default: {html}");

    // A wrong password: 401, the German message, no session.
    let reply = login_attempt(&server, "alice", "wrong-password", "/apps/files/");
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert!(reply.text().contains("Benutzername oder Passwort ist falsch."), "{}", reply.text());
    assert!(reply.text().contains("class=\"error\" role=\"alert\""));
    assert!(session_cookie(&reply).is_none());
    // A cross-site login post is refused.
    let reply = Client::anonymous().send(
        "POST",
        &format!("{}/login", server.base),
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://evil.example")],
        form(&[("user", "alice"), ("password", "alice-password")]).as_bytes(),
    );
    assert_eq!(reply.status, 403);
    assert!(session_cookie(&reply).is_none());

    // The right password: a redirect to the remembered page (local paths only) and the cookie.
    let reply = login_attempt(&server, "alice", "alice-password", "/apps/files/?dir=%2F");
    assert_eq!(reply.status, 303, "{}", reply.text());
    assert_eq!(location(&reply), "/apps/files/?dir=%2F");
    let (session, header) = session_cookie(&reply).expect("session cookie");
    assert!(session.len() >= 32, "{header}");
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");
    assert!(header.contains("Path=/"), "{header}");
    let reply = login_attempt(&server, "alice", "alice-password", "//evil.example/");
    assert_eq!(location(&reply), "/apps/files/", "no redirect to another site");

    let browser = Browser::login(&server, "alice", "alice-password");
    let reply = browser.get("/apps/files/");
    assert_eq!(reply.status, 200);
    let csp = reply.header("content-security-policy").expect("CSP").to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert!(reply.header("content-type").unwrap_or_default().starts_with("text/html"));
    let html = reply.text();
    assert!(html.contains("data-user=\"alice\""), "{html}");
    assert!(html.contains("id=\"logout\""));
    assert_eq!(csrf_of(&html).as_deref(), Some(browser.csrf.as_str()));
    // No inline script or style, no event handler attributes (the CSP would block them).
    assert!(!html.contains("<script>") && !html.contains("style=\"") && !html.contains(" onclick="), "{html}");
    // A logged-in browser on the login page or the start page goes to the files.
    assert_eq!(location(&browser.get("/login")), "/apps/files/");
    assert_eq!(location(&browser.get("/")), "/apps/files/");
    // The cookie works for WebDAV downloads too.
    assert_eq!(browser.send("PROPFIND", &browser.dav(""), &[("Depth", "0")], b"").status, 403, "PROPFIND is not safe");
    put(&server, &Client::new("alice", "alice-password"), "alice", "hallo.txt", b"Hallo");
    assert_eq!(browser.get(&browser.dav("hallo.txt")).body, b"Hallo");

    // Logout needs the CSRF token; then the cookie no longer works, for pages and WebDAV.
    let reply = browser.post_raw("/logout", &[], Some(&server.base));
    assert_eq!(reply.status, 403);
    assert_eq!(browser.get("/apps/files/").status, 200, "a refused logout keeps the session");
    let reply = browser.post("/logout", &[]);
    assert_eq!(reply.status, 303);
    assert_eq!(location(&reply), "/login");
    let cleared = reply.header("set-cookie").unwrap_or_default();
    assert!(cleared.starts_with("hafen_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let reply = browser.get("/apps/files/");
    assert_eq!(reply.status, 303);
    assert!(location(&reply).starts_with("/login?redirect_url="));
    assert_eq!(browser.get(&browser.dav("hallo.txt")).status, 401);

    // App passwords are for programs: they work over WebDAV but not on the login form.
    let (code, out, err) = server.cli(&["user", "app-password", "alice"], None);
    assert_eq!(code, 0, "app-password: {out} {err}");
    let token = out.lines().rfind(|line| !line.trim().is_empty()).expect("token line").trim().to_string();
    assert_eq!(Client::new("alice", &token).propfind(&server.dav_url("alice", ""), "0", "").status, 207);
    let reply = login_attempt(&server, "alice", &token, "/apps/files/");
    assert_eq!(reply.status, 401, "an app password opened a web session: {}", reply.text());
    assert!(session_cookie(&reply).is_none());

    // A new password ends every session of the account.
    let first = Browser::login(&server, "alice", "alice-password");
    let second = Browser::login(&server, "alice", "alice-password");
    assert_eq!(first.get("/apps/files/").status, 200);
    let (code, out, err) = server.cli(&["user", "passwd", "alice", "--password-stdin"], Some("alice-new-password\n"));
    assert_eq!(code, 0, "passwd: {out} {err}");
    for browser in [&first, &second] {
        let reply = browser.get("/apps/files/");
        assert_eq!(reply.status, 303, "a session survived the password change");
        assert!(location(&reply).starts_with("/login"));
        let reply = browser.post("/apps/files/mkdir", &[("dir", "/"), ("name", "NachWechsel")]);
        assert_eq!(reply.status, 303);
        assert!(location(&reply).starts_with("/login"));
    }
    let alice = Client::new("alice", "alice-new-password");
    assert!(!exists(&server, &alice, "alice", "NachWechsel"));
    assert_eq!(login_attempt(&server, "alice", "alice-password", "/apps/files/").status, 401);
    let fresh = Browser::login(&server, "alice", "alice-new-password");
    assert_ne!(fresh.session, first.session);
    assert_eq!(fresh.get("/apps/files/").status, 200);
}

#[test]
fn forms_webdav_and_the_api_refuse_requests_without_the_csrf_token() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let browser = Browser::login(&server, "alice", "alice-password");
    let base = server.base.as_str();

    let refused = |reply: Reply, what: &str| {
        assert_eq!(reply.status, 403, "{what}: {}", reply.text());
        assert!(reply.text().contains("Die Anfrage konnte nicht überprüft werden."), "{what}: {}", reply.text());
    };
    refused(browser.post_raw("/apps/files/mkdir", &[("dir", "/"), ("name", "Ohne")], Some(base)), "no csrf");
    refused(
        browser.post_raw("/apps/files/mkdir", &[("csrf", ""), ("dir", "/"), ("name", "Leer")], Some(base)),
        "empty csrf",
    );
    let wrong = format!("{}0", &browser.csrf[..browser.csrf.len() - 1]);
    let wrong = if wrong == browser.csrf { format!("{}1", &browser.csrf[..browser.csrf.len() - 1]) } else { wrong };
    refused(
        browser.post_raw("/apps/files/mkdir", &[("csrf", &wrong), ("dir", "/"), ("name", "Falsch")], Some(base)),
        "wrong csrf",
    );
    refused(
        browser.post_raw(
            "/apps/files/mkdir",
            &[("csrf", &browser.csrf), ("dir", "/"), ("name", "Fremd")],
            Some("http://evil.example"),
        ),
        "foreign origin",
    );
    refused(
        browser.send(
            "POST",
            "/apps/files/mkdir",
            &[("Content-Type", "application/x-www-form-urlencoded"), ("Sec-Fetch-Site", "cross-site")],
            form(&[("csrf", &browser.csrf), ("dir", "/"), ("name", "Quer")]).as_bytes(),
        ),
        "cross-site fetch",
    );
    // Another session's token does not fit this session.
    let other = Browser::login(&server, "alice", "alice-password");
    assert_ne!(other.csrf, browser.csrf);
    refused(
        browser.post_raw("/apps/files/mkdir", &[("csrf", &other.csrf), ("dir", "/"), ("name", "Andere")], Some(base)),
        "token of another session",
    );
    for name in ["Ohne", "Leer", "Falsch", "Fremd", "Quer", "Andere"] {
        assert!(!exists(&server, &alice, "alice", name), "{name} was created by a refused form");
    }
    // The same form with the token is carried out.
    assert_eq!(outcome(&browser.post("/apps/files/mkdir", &[("dir", "/"), ("name", "Mit")])), "done=files.done.mkdir");
    assert!(exists(&server, &alice, "alice", "Mit"));

    // WebDAV with the cookie: reading needs no token, changing does.
    let reply = browser.send("PUT", &browser.dav("ohne.txt"), &[], b"ohne");
    assert_eq!(reply.status, 403, "PUT with only the cookie: {}", reply.text());
    assert!(!exists(&server, &alice, "alice", "ohne.txt"));
    let reply = browser.send("PUT", &browser.dav("falsch.txt"), &[("requesttoken", &wrong)], b"falsch");
    assert_eq!(reply.status, 403);
    assert!(!exists(&server, &alice, "alice", "falsch.txt"));
    let reply = browser.send("PUT", &browser.dav("mit.txt"), &[("requesttoken", &browser.csrf)], b"mit Token");
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(content(&server, &alice, "alice", "mit.txt"), b"mit Token");
    let reply = browser.get(&browser.dav("mit.txt"));
    assert_eq!((reply.status, reply.body.as_slice()), (200, b"mit Token".as_slice()));
    assert_eq!(browser.send("DELETE", &browser.dav("mit.txt"), &[], b"").status, 403);
    assert!(exists(&server, &alice, "alice", "mit.txt"));
    let reply = browser.send("MKCOL", &browser.dav("Neu"), &[("requesttoken", &browser.csrf)], b"");
    assert_eq!(reply.status, 201);
    // Without the cookie (and without credentials) WebDAV asks for credentials.
    assert_eq!(Client::anonymous().get(&server.dav_url("alice", "mit.txt")).status, 401);

    // The JSON API with the cookie needs the token for every request.
    let me = format!("{base}/api/v1/me");
    assert_eq!(browser.get(&me).status, 403);
    assert_eq!(browser.send("GET", &me, &[("requesttoken", &wrong)], b"").status, 403);
    let reply = browser.send("GET", &me, &[("requesttoken", &browser.csrf)], b"");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(json_of(&reply)["name"], "alice");
    assert_eq!(Client::anonymous().send("GET", &me, &[("requesttoken", &browser.csrf)], b"").status, 401);
}

#[test]
fn folder_actions_change_the_tree_and_refuse_bad_names() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let browser = Browser::login(&server, "alice", "alice-password");
    for (name, body) in [("a.txt", "A"), ("b.txt", "B"), ("c.txt", "C")] {
        put(&server, &alice, "alice", name, body.as_bytes());
    }
    mkcol(&server, &alice, "alice", "Ziel");

    // New folders, at the root and below.
    let reply = browser.post("/apps/files/mkdir", &[("dir", "/"), ("name", "Neu")]);
    assert_eq!(outcome(&reply), "done=files.done.mkdir");
    assert!(location(&reply).starts_with("/apps/files/?dir=%2F&"), "{}", location(&reply));
    let reply = browser.post("/apps/files/mkdir", &[("dir", "/Neu"), ("name", " Unter ")]);
    assert_eq!(outcome(&reply), "done=files.done.mkdir");
    assert_eq!(query_of(&location(&reply))[0], ("dir".to_string(), "/Neu".to_string()));
    assert!(exists(&server, &alice, "alice", "Neu/Unter"), "names are trimmed");
    assert_eq!(outcome(&browser.post("/apps/files/mkdir", &[("dir", "/"), ("name", "Ziel")])), "failed=error.conflict");
    for bad in ["x/y", "..", "", "/"] {
        let reply = browser.post("/apps/files/mkdir", &[("dir", "/"), ("name", bad)]);
        assert_eq!(outcome(&reply), "failed=files.failed.name", "mkdir {bad:?}");
    }
    assert!(!exists(&server, &alice, "alice", "x"));
    assert!(!exists(&server, &alice, "alice", "x/y"));
    // The flash message is shown on the folder page (and only known keys are).
    let html = browser.page(&location(&browser.post("/apps/files/mkdir", &[("dir", "/"), ("name", "x/y")])));
    assert!(html.contains("id=\"flash\" class=\"flash error\" role=\"alert\""), "{html}");
    assert!(html.contains("Dieser Name ist nicht erlaubt"), "{html}");
    let html = browser.page("/apps/files/?dir=%2F&failed=%3Cscript%3E");
    assert!(!html.contains("id=\"flash\"") && !html.contains("<script>"), "{html}");

    // Rename.
    let reply = browser.post("/apps/files/rename", &[("dir", "/"), ("from", "a.txt"), ("to", "a2.txt")]);
    assert_eq!(outcome(&reply), "done=files.done.rename");
    assert_eq!(content(&server, &alice, "alice", "a2.txt"), b"A");
    assert!(!exists(&server, &alice, "alice", "a.txt"));
    for bad in ["Ziel/a2.txt", "..", "../a2.txt", ""] {
        let reply = browser.post("/apps/files/rename", &[("dir", "/"), ("from", "a2.txt"), ("to", bad)]);
        assert_eq!(outcome(&reply), "failed=files.failed.name", "rename to {bad:?}");
    }
    let reply = browser.post("/apps/files/rename", &[("dir", "/"), ("from", "../a2.txt"), ("to", "z.txt")]);
    assert_eq!(outcome(&reply), "failed=files.failed.name");
    assert_eq!(content(&server, &alice, "alice", "a2.txt"), b"A");
    assert!(!exists(&server, &alice, "alice", "Ziel/a2.txt"));
    assert!(!exists(&server, &alice, "alice", "z.txt"));
    // Onto an existing name: refused, both files unchanged.
    let reply = browser.post("/apps/files/rename", &[("dir", "/"), ("from", "a2.txt"), ("to", "b.txt")]);
    assert_eq!(outcome(&reply), "failed=error.conflict");
    assert_eq!(content(&server, &alice, "alice", "a2.txt"), b"A");
    assert_eq!(content(&server, &alice, "alice", "b.txt"), b"B");
    let html = browser.page(&location(&reply));
    assert!(html.contains("Ein Element mit diesem Namen ist bereits vorhanden"), "{html}");
    // Rename form: `?rename=NAME` shows it for an existing row only.
    let html = browser.page("/apps/files/?dir=%2F&rename=b.txt");
    assert!(
        html.contains("id=\"rename-form\"")
            && html.contains("id=\"rename-to\" name=\"to\" type=\"text\" value=\"b.txt\"")
    );
    assert!(!browser.page("/apps/files/?dir=%2F&rename=fehlt.txt").contains("id=\"rename-form\""));

    // Move a selection into a folder.
    let reply = browser.post(
        "/apps/files/action",
        &[("dir", "/"), ("op", "move"), ("selected", "a2.txt"), ("selected", "b.txt"), ("target", "/Ziel")],
    );
    assert_eq!(outcome(&reply), "done=files.done.move");
    assert_eq!(content(&server, &alice, "alice", "Ziel/a2.txt"), b"A");
    assert_eq!(content(&server, &alice, "alice", "Ziel/b.txt"), b"B");
    assert!(!exists(&server, &alice, "alice", "a2.txt"));
    assert!(!exists(&server, &alice, "alice", "b.txt"));

    // Copy a file and a folder (with what is inside) into a folder.
    let reply = browser.post(
        "/apps/files/action",
        &[("dir", "/"), ("op", "copy"), ("selected", "c.txt"), ("selected", "Neu"), ("target", "Ziel")],
    );
    assert_eq!(outcome(&reply), "done=files.done.copy");
    assert_eq!(content(&server, &alice, "alice", "c.txt"), b"C");
    assert_eq!(content(&server, &alice, "alice", "Ziel/c.txt"), b"C");
    assert!(exists(&server, &alice, "alice", "Neu/Unter"));
    assert!(exists(&server, &alice, "alice", "Ziel/Neu/Unter"));
    // Copying again would overwrite: refused, nothing changes.
    put(&server, &alice, "alice", "c.txt", b"C2");
    let reply =
        browser.post("/apps/files/action", &[("dir", "/"), ("op", "copy"), ("selected", "c.txt"), ("target", "/Ziel")]);
    assert_eq!(outcome(&reply), "failed=error.conflict");
    assert_eq!(content(&server, &alice, "alice", "Ziel/c.txt"), b"C");
    // Into a folder that does not exist, or a folder into itself: refused.
    let reply = browser
        .post("/apps/files/action", &[("dir", "/"), ("op", "move"), ("selected", "c.txt"), ("target", "/Fehlt")]);
    assert!(outcome(&reply).starts_with("failed="), "{}", outcome(&reply));
    assert_eq!(content(&server, &alice, "alice", "c.txt"), b"C2");
    let reply =
        browser.post("/apps/files/action", &[("dir", "/"), ("op", "move"), ("selected", "Ziel"), ("target", "/Ziel")]);
    assert!(outcome(&reply).starts_with("failed="), "{}", outcome(&reply));
    assert_eq!(content(&server, &alice, "alice", "Ziel/b.txt"), b"B");
    // Names that are not members of the folder are ignored; with nothing left, nothing happens.
    let reply = browser.post(
        "/apps/files/action",
        &[("dir", "/"), ("op", "delete"), ("selected", "../c.txt"), ("selected", "Ziel/b.txt")],
    );
    assert_eq!(outcome(&reply), "failed=files.failed.nothing_selected");
    assert!(exists(&server, &alice, "alice", "c.txt"));
    assert!(exists(&server, &alice, "alice", "Ziel/b.txt"));
    let reply = browser.post("/apps/files/action", &[("dir", "/"), ("op", "shred"), ("selected", "c.txt")]);
    assert_eq!(outcome(&reply), "failed=error.invalid");
    assert!(exists(&server, &alice, "alice", "c.txt"));

    // Delete a selection (in a subfolder).
    let reply = browser
        .post("/apps/files/action", &[("dir", "/Ziel"), ("op", "delete"), ("selected", "a2.txt"), ("selected", "Neu")]);
    assert_eq!(outcome(&reply), "done=files.done.delete");
    assert_eq!(query_of(&location(&reply))[0], ("dir".to_string(), "/Ziel".to_string()));
    assert!(!exists(&server, &alice, "alice", "Ziel/a2.txt"));
    assert!(!exists(&server, &alice, "alice", "Ziel/Neu"));
    assert!(exists(&server, &alice, "alice", "Ziel/b.txt"));
    assert!(exists(&server, &alice, "alice", "Neu/Unter"), "the original of the copy stays");
    let reply = browser.post("/apps/files/action", &[("dir", "/"), ("op", "delete"), ("selected", "c.txt")]);
    assert_eq!(outcome(&reply), "done=files.done.delete");
    assert!(!exists(&server, &alice, "alice", "c.txt"));
    let html = browser.page("/apps/files/?dir=%2F");
    assert_eq!(row_names(&html), vec!["Neu", "Ziel"]);
}

#[test]
fn the_listing_sorts_filters_shows_breadcrumbs_sharing_and_localised_sizes() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let mut browser = Browser::login(&server, "alice", "alice-password");
    for folder in ["Liste", "Liste/Alpha", "Liste/Zordner", "Liste/Alpha/Beta", "Liste/Alpha/Beta/Gamma"] {
        mkcol(&server, &alice, "alice", folder);
    }
    put(&server, &alice, "alice", "Liste/klein.txt", &[b'k'; 10]);
    put(&server, &alice, "alice", "Liste/gross.bin", &vec![7u8; 1_500_000]);
    put(&server, &alice, "alice", "Liste/mittel.txt", &[b'm'; 1000]);
    put(&server, &alice, "alice", "Liste/Alpha/innen.txt", &[b'i'; 5_000_000]);

    let html = browser.page("/apps/files/?dir=%2FListe");
    assert_eq!(row_names(&html), vec!["Alpha", "Zordner", "gross.bin", "klein.txt", "mittel.txt"]);
    assert_eq!(rows(&html)[0].1, "dir");
    assert_eq!(rows(&html)[2].1, "file");
    assert!(html.contains("data-dir=\"/Liste\""), "{html}");

    // By size, descending: folders first, then the biggest file.
    let html = browser.page("/apps/files/?dir=%2FListe&sort=size&order=desc");
    let names = row_names(&html);
    assert_eq!(names.len(), 5);
    assert!(names[..2].contains(&"Alpha".to_string()) && names[..2].contains(&"Zordner".to_string()), "{names:?}");
    assert_eq!(names[2..], ["gross.bin", "mittel.txt", "klein.txt"], "{names:?}");
    assert!(html.contains("aria-sort=\"descending\""), "{html}");
    let html = browser.page("/apps/files/?dir=%2FListe&sort=size&order=asc");
    assert_eq!(row_names(&html)[2..], ["klein.txt", "mittel.txt", "gross.bin"]);
    let html = browser.page("/apps/files/?dir=%2FListe&sort=name&order=desc");
    assert_eq!(row_names(&html), vec!["Zordner", "Alpha", "mittel.txt", "klein.txt", "gross.bin"]);

    // Sizes in the German format.
    let html = browser.page("/apps/files/?dir=%2FListe");
    assert!(row(&html, "gross.bin").contains("1,5 MB"), "{}", row(&html, "gross.bin"));
    assert!(row(&html, "mittel.txt").contains("1,0 KB"), "{}", row(&html, "mittel.txt"));
    assert!(row(&html, "klein.txt").contains("10 B"), "{}", row(&html, "klein.txt"));

    // The filter hides rows whose name does not match (case-insensitive).
    let html = browser.page("/apps/files/?dir=%2FListe&filter=TXT");
    assert_eq!(row_names(&html), vec!["klein.txt", "mittel.txt"]);
    assert!(html.contains("id=\"filter\" name=\"filter\" type=\"search\" value=\"txt\""), "{html}");
    let html = browser.page("/apps/files/?dir=%2FListe&filter=gibtsnicht");
    assert!(row_names(&html).is_empty());
    assert!(html.contains("Kein Name passt zum Filter."), "{html}");

    // Breadcrumbs: every ancestor, linked.
    let html = browser.page("/apps/files/?dir=%2FListe%2FAlpha%2FBeta%2FGamma");
    let crumbs = section(&html, "<nav id=\"breadcrumbs\"", "</nav>");
    for (href, name) in [
        ("/apps/files/?dir=%2F", "Alle Dateien"),
        ("/apps/files/?dir=%2FListe", "Liste"),
        ("/apps/files/?dir=%2FListe%2FAlpha", "Alpha"),
        ("/apps/files/?dir=%2FListe%2FAlpha%2FBeta", "Beta"),
        ("/apps/files/?dir=%2FListe%2FAlpha%2FBeta%2FGamma", "Gamma"),
    ] {
        assert!(crumbs.contains(&format!("<a href=\"{href}\"")), "crumb {href}: {crumbs}");
        assert!(crumbs.contains(&format!(">{name}</a>")), "crumb {name}: {crumbs}");
    }
    assert!(crumbs.contains("aria-current=\"page\">Gamma</a>"), "{crumbs}");
    assert_eq!(crumbs.matches("<li>").count(), 5, "{crumbs}");
    // A file path as folder leads to its download; a missing folder is a 404 page.
    let reply = browser.get("/apps/files/?dir=%2FListe%2Fklein.txt");
    assert_eq!(reply.status, 303);
    assert_eq!(location(&reply), "/apps/files/download?path=%2FListe%2Fklein.txt");
    assert_eq!(browser.get("/apps/files/?dir=%2FFehlt").status, 404);
    assert_eq!(browser.get("/apps/files/?dir=%2F..%2Falice").status, 400);

    // After sharing, the row says so.
    let html = browser.page("/apps/files/?dir=%2FListe");
    assert!(!row(&html, "gross.bin").contains("von Ihnen geteilt"));
    let reply = browser.post("/apps/files/link", &[("path", "/Liste/gross.bin"), ("kind", "read")]);
    assert_eq!(outcome(&reply), "done=share.done.link");
    let html = browser.page("/apps/files/?dir=%2FListe");
    assert!(row(&html, "gross.bin").contains("von Ihnen geteilt"), "{}", row(&html, "gross.bin"));
    assert!(!row(&html, "klein.txt").contains("von Ihnen geteilt"));

    // Languages: German by default, English by Accept-Language, the cookie wins.
    assert!(html.contains("<html lang=\"de\">"));
    let reply = browser.send("GET", "/apps/files/?dir=%2FListe", &[("Accept-Language", "en-GB,en;q=0.9")], b"");
    let english = reply.text().replace("&#x2f;", "/");
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    assert!(english.contains("shared by you") && !english.contains("von Ihnen geteilt"), "{english}");
    assert!(row(&english, "gross.bin").contains("1.5 MB"));
    assert!(english.contains(">All files</a>"), "{english}");
    let reply = browser.send("GET", "/apps/files/?dir=%2FListe", &[("Accept-Language", "fr, de;q=0.5")], b"");
    assert!(reply.text().contains("<html lang=\"de\">"));
    browser.extra_cookies.push("hafen_lang=en".into());
    let reply = browser.send("GET", "/apps/files/?dir=%2FListe", &[("Accept-Language", "de-DE,de")], b"");
    let html = reply.text().replace("&#x2f;", "/");
    assert!(html.contains("<html lang=\"en\">"), "the language cookie wins: {html}");
    assert!(row(&html, "gross.bin").contains("1.5 MB"));
    browser.extra_cookies = vec!["hafen_lang=de".into()];
    let reply = browser.send("GET", "/apps/files/?dir=%2FListe", &[("Accept-Language", "en")], b"");
    assert!(reply.text().contains("<html lang=\"de\">"));
    // The language form (also before login) sets the cookie and goes back to the page.
    let language = |fields: &[(&str, &str)]| {
        Client::anonymous().send(
            "POST",
            &format!("{}/language", server.base),
            &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", &server.base)],
            form(fields).as_bytes(),
        )
    };
    let reply = language(&[("lang", "en"), ("back", "/login")]);
    assert_eq!(reply.status, 303);
    assert_eq!(location(&reply), "/login");
    let cookie = reply.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("hafen_lang=en;"), "{cookie}");
    assert_eq!(location(&language(&[("lang", "en"), ("back", "https://evil.example/")])), "/");
    assert_eq!(language(&[("lang", "fr"), ("back", "/login")]).status, 400);
}

#[test]
fn files_selections_and_folders_download() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    let alice = Client::new("alice", "alice-password");
    let browser = Browser::login(&server, "alice", "alice-password");
    let single: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    put(&server, &alice, "alice", "einzeln.bin", &single);
    put(&server, &alice, "alice", "Bericht März.txt", "Bericht für März".as_bytes());
    mkcol(&server, &alice, "alice", "Akten");
    mkcol(&server, &alice, "alice", "Akten/Unter");
    put(&server, &alice, "alice", "Akten/liste.txt", b"Liste");
    put(&server, &alice, "alice", "Akten/Unter/tief.txt", b"tief unten");
    put(&server, &alice, "alice", "nicht-dabei.txt", b"nein");

    let reply = browser.get("/apps/files/download?path=%2Feinzeln.bin");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, single);
    assert_eq!(reply.header("content-disposition"), Some("attachment; filename*=UTF-8''einzeln.bin"));
    let reply = browser.get(&format!("/apps/files/download?path={}", enc("/Bericht März.txt")));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "Bericht für März".as_bytes());
    let disposition = reply.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("attachment; filename*=UTF-8''"), "{disposition}");
    assert_eq!(dec(disposition.trim_start_matches("attachment; filename*=UTF-8''")), "Bericht März.txt");
    assert_eq!(browser.get("/apps/files/download?path=%2Ffehlt.txt").status, 404);
    assert_eq!(
        Client::anonymous().get(&format!("{}/apps/files/download?path=%2Feinzeln.bin", server.base)).status,
        303
    );

    // A selection of a file and a folder: one ZIP with the folder's content below its name.
    let reply = browser
        .post("/apps/files/action", &[("dir", "/"), ("op", "zip"), ("selected", "einzeln.bin"), ("selected", "Akten")]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/zip"));
    assert!(reply.header("content-disposition").unwrap_or_default().starts_with("attachment;"));
    assert_eq!(
        unpack(&reply),
        expected(&[
            ("einzeln.bin", Some(&single)),
            ("Akten/", None),
            ("Akten/liste.txt", Some(b"Liste")),
            ("Akten/Unter/", None),
            ("Akten/Unter/tief.txt", Some(b"tief unten")),
        ])
    );
    // The same selection as a GET link.
    let reply = browser.get("/apps/files/zip?dir=%2F&selected=einzeln.bin&selected=Akten");
    assert_eq!(reply.status, 200);
    assert_eq!(unpack(&reply).len(), 5);
    // The whole folder.
    let reply = browser.get("/apps/files/zip?dir=%2FAkten");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-disposition"), Some("attachment; filename*=UTF-8''Akten.zip"));
    assert_eq!(
        unpack(&reply),
        expected(&[("liste.txt", Some(b"Liste")), ("Unter/", None), ("Unter/tief.txt", Some(b"tief unten"))])
    );
    // A folder's download link gives the folder's ZIP too.
    let reply = browser.get("/apps/files/download?path=%2FAkten%2FUnter");
    assert_eq!(reply.status, 200);
    assert_eq!(unpack(&reply), expected(&[("tief.txt", Some(b"tief unten"))]));
    // A name outside the folder is refused, not resolved.
    let reply = browser.get("/apps/files/zip?dir=%2FAkten&selected=..%2Fnicht-dabei.txt");
    assert_ne!(reply.status, 200, "a selection escaped its folder");
    // A zip needs a session.
    let reply = Client::anonymous().get(&format!("{}/apps/files/zip?dir=%2FAkten", server.base));
    assert_eq!(reply.status, 303);
}

#[test]
fn the_share_dialog_creates_links_and_shares_and_removes_them() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &["--display-name", "Bob Beispiel"]);
    let alice = Client::new("alice", "alice-password");
    let bob = Client::new("bob", "bob-password");
    let browser = Browser::login(&server, "alice", "alice-password");
    mkcol(&server, &alice, "alice", "Akten");
    put(&server, &alice, "alice", "Akten/akte.txt", b"Aktenzeichen 1");
    mkcol(&server, &alice, "alice", "Ablage");
    put(&server, &alice, "alice", "Ablage/vertraulich.txt", b"geheim");

    let html = browser.page("/apps/files/share?path=%2FAkten");
    assert!(html.contains("id=\"share-list-empty\""), "{html}");
    for id in ["share-with", "perm-edit", "perm-create", "perm-delete", "perm-share", "share-submit", "link-kind"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}: {html}");
    }
    assert!(html.contains("<option value=\"upload\">"), "folders offer file-drop links");
    let file_dialog = browser.page("/apps/files/share?path=%2FAkten%2Fakte.txt");
    assert!(!file_dialog.contains("<option value=\"upload\">") && !file_dialog.contains("id=\"perm-create\""));
    assert_eq!(browser.get("/apps/files/share?path=%2F").status, 403, "the root cannot be shared");

    // A read link with password, expiry and download limit.
    let reply = browser.post(
        "/apps/files/link",
        &[
            ("path", "/Akten"),
            ("kind", "read"),
            ("password", "Link-Passwort-42"),
            ("expire", "2099-12-31"),
            ("limit", "5"),
        ],
    );
    assert_eq!(outcome(&reply), "done=share.done.link");
    assert!(location(&reply).starts_with("/apps/files/share?path=%2FAkten&"), "{}", location(&reply));
    let html = browser.page(&location(&reply));
    assert!(html.contains("Der Link wurde erstellt."), "{html}");
    let links = share_ids(&html, "link");
    assert_eq!(links.len(), 1, "{html}");
    let item = section(&html, &format!("<li data-share-id=\"{}\"", links[0]), "</li>");
    assert!(item.contains("mit Passwort"), "{item}");
    assert!(item.contains("gültig bis 31.12.2099"), "{item}");
    assert!(item.contains("0 von 5 Downloads"), "{item}");
    assert!(item.contains("class=\"copy-link") && item.contains("class=\"unshare"), "{item}");
    let (url, token) = link_token_in_dialog(&html, &links[0]);
    assert_eq!(url, format!("{}/s/{token}", server.base), "the link names the server as it listens");
    let shares = json_of(&alice.get(&format!("{}/api/v1/shares", server.base)));
    let link = shares.as_array().expect("list").iter().find(|share| share["token"] == token.as_str()).expect("link");
    assert_eq!(link["permissions"], 1);
    assert_eq!(link["download_limit"], 5);
    assert!(link["expiration"].as_str().unwrap_or_default().starts_with("2099-12-31"), "{link}");

    // Opened anonymously, the link asks for the password first.
    let visitor = Client::anonymous();
    let page = visitor.get(&format!("{}/s/{token}", server.base));
    assert_eq!(page.status, 401, "{}", page.text());
    assert!(page.text().contains("id=\"password\"") && page.text().contains("id=\"open\""));
    assert!(!page.text().contains("akte.txt"));
    let open = |password: &str| {
        visitor.send(
            "POST",
            &format!("{}/s/{token}", server.base),
            &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", &server.base)],
            form(&[("password", password)]).as_bytes(),
        )
    };
    let reply = open("falsch");
    assert_eq!(reply.status, 401);
    assert!(!reply.text().contains("akte.txt"));
    let reply = open("Link-Passwort-42");
    assert_eq!(reply.status, 303, "{}", reply.text());
    let cookie = reply.header("set-cookie").expect("link cookie").split(';').next().unwrap_or_default().to_string();
    assert!(cookie.starts_with(&format!("hafen_link_{token}=")), "{cookie}");
    let page = visitor.send("GET", &format!("{}/s/{token}", server.base), &[("Cookie", &cookie)], b"");
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("akte.txt") && page.text().contains("id=\"download-zip\""), "{}", page.text());

    // An upload-only link on a folder: permission 4, a drop page that shows nothing.
    let reply = browser.post("/apps/files/link", &[("path", "/Ablage"), ("kind", "upload")]);
    assert_eq!(outcome(&reply), "done=share.done.link");
    let html = browser.page(&location(&reply));
    let drops = share_ids(&html, "link");
    assert_eq!(drops.len(), 1);
    let item = section(&html, &format!("<li data-share-id=\"{}\"", drops[0]), "</li>");
    assert!(item.contains("Nur hochladen (Dateiablage)"), "{item}");
    let (_, drop_token) = link_token_in_dialog(&html, &drops[0]);
    let shares = json_of(&alice.get(&format!("{}/api/v1/shares", server.base)));
    let drop =
        shares.as_array().expect("list").iter().find(|share| share["token"] == drop_token.as_str()).expect("drop");
    assert_eq!(drop["permissions"], 4, "{drop}");
    let page = visitor.get(&format!("{}/s/{drop_token}", server.base));
    assert_eq!(page.status, 200);
    assert!(page.text().contains("id=\"files\"") && page.text().contains("id=\"upload\""), "{}", page.text());
    assert!(!page.text().contains("vertraulich.txt"));
    // A file cannot become a drop; bad limits and dates are refused with their message.
    let reply = browser.post("/apps/files/link", &[("path", "/Akten/akte.txt"), ("kind", "upload")]);
    assert_eq!(outcome(&reply), "failed=error.invalid");
    let reply = browser.post("/apps/files/link", &[("path", "/Akten"), ("kind", "read"), ("limit", "0")]);
    assert_eq!(outcome(&reply), "failed=share.failed.limit");
    let reply = browser.post("/apps/files/link", &[("path", "/Akten"), ("kind", "read"), ("expire", "morgen")]);
    assert_eq!(outcome(&reply), "failed=share.failed.expiry");
    assert_eq!(share_ids(&browser.page("/apps/files/share?path=%2FAkten"), "link").len(), 1);

    // Share with an account, with edit permission.
    let reply = browser.post("/apps/files/share", &[("path", "/Akten"), ("with", "user:bob"), ("perm_edit", "1")]);
    assert_eq!(outcome(&reply), "done=share.done.shared");
    let html = browser.page("/apps/files/share?path=%2FAkten");
    let users = share_ids(&html, "user");
    assert_eq!(users.len(), 1, "{html}");
    let item = section(&html, &format!("<li data-share-id=\"{}\"", users[0]), "</li>");
    assert!(item.contains("Bob Beispiel") && item.contains("Bearbeiten"), "{item}");
    let listing = bob.propfind(&server.dav_url("bob", ""), "1", "");
    assert_eq!(listing.status, 207);
    assert!(listing.text().contains("/remote.php/dav/files/bob/Akten/"), "{}", listing.text());
    assert_eq!(content(&server, &bob, "bob", "Akten/akte.txt"), b"Aktenzeichen 1");
    put(&server, &bob, "bob", "Akten/akte.txt", b"Aktenzeichen 2");
    assert_eq!(content(&server, &alice, "alice", "Akten/akte.txt"), b"Aktenzeichen 2", "bob may edit");
    let bob_browser = Browser::login(&server, "bob", "bob-password");
    let shared = bob_browser.page("/apps/files/shared");
    assert!(shared.contains("Mit mir geteilt"));
    let with_me = section(&shared, "<table id=\"shared-with-me\"", "</table>");
    assert!(with_me.contains(">Akten</a>") && with_me.contains("Bearbeiten"), "{with_me}");
    let alice_shared = browser.page("/apps/files/shared");
    let by_alice = section(&alice_shared, "<table id=\"shared-by-me\"", "</table>");
    assert!(by_alice.contains("Bob Beispiel") && by_alice.contains("Akten"), "{by_alice}");
    let bob_root = bob_browser.page("/apps/files/?dir=%2F");
    assert!(row(&bob_root, "Akten").contains("mit Ihnen geteilt"), "{bob_root}");

    // Unknown recipients.
    for unknown in ["nobody", "user:nobody", ""] {
        let reply = browser.post("/apps/files/share", &[("path", "/Akten"), ("with", unknown)]);
        assert_eq!(outcome(&reply), "failed=share.failed.recipient", "with={unknown:?}");
    }
    // A plain name is looked up among the suggestions.
    let reply = browser.post("/apps/files/share", &[("path", "/Akten/akte.txt"), ("with", "bob")]);
    assert_eq!(outcome(&reply), "done=share.done.shared");
    assert_eq!(share_ids(&browser.page("/apps/files/share?path=%2FAkten%2Fakte.txt"), "user").len(), 1);

    // Removing the share takes the folder away from bob.
    let reply = browser.post("/apps/files/unshare", &[("path", "/Akten"), ("id", &users[0])]);
    assert_eq!(outcome(&reply), "done=share.done.removed");
    let html = browser.page("/apps/files/share?path=%2FAkten");
    assert!(share_ids(&html, "user").is_empty(), "{html}");
    assert_eq!(share_ids(&html, "link").len(), 1, "the link stays");
    assert!(!exists(&server, &bob, "bob", "Akten"));
    assert!(!bob.propfind(&server.dav_url("bob", ""), "1", "").text().contains("/files/bob/Akten/"));
    let shared = bob_browser.page("/apps/files/shared");
    assert!(!shared.contains(">Akten</a>"), "{shared}");
    // Removing the link ends it.
    let reply = browser.post("/apps/files/unshare", &[("path", "/Akten"), ("id", &links[0])]);
    assert_eq!(outcome(&reply), "done=share.done.removed");
    assert_eq!(visitor.send("GET", &format!("{}/s/{token}", server.base), &[("Cookie", &cookie)], b"").status, 404);

    // Suggestions for the recipient field.
    let reply = browser.get("/apps/files/sharees?q=bo");
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").unwrap_or_default().starts_with("application/json"));
    let items = json_of(&reply);
    let values: Vec<&str> = items.as_array().expect("array").iter().filter_map(|item| item["value"].as_str()).collect();
    assert!(values.contains(&"user:bob"), "{items}");
    assert!(!values.contains(&"user:alice"), "{items}");
    let bob_item = items.as_array().expect("array").iter().find(|item| item["value"] == "user:bob").expect("bob");
    assert!(bob_item["label"].as_str().unwrap_or_default().contains("Bob Beispiel"), "{bob_item}");
    let none = json_of(&browser.get("/apps/files/sharees?q=zzzz"));
    assert_eq!(none.as_array().map(Vec::len), Some(0), "{none}");
    assert_eq!(Client::anonymous().get(&format!("{}/apps/files/sharees?q=bo", server.base)).status, 401);
}

#[test]
fn a_session_reaches_only_its_own_accounts_files() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &[]);
    let alice = Client::new("alice", "alice-password");
    mkcol(&server, &alice, "alice", "Privat");
    put(&server, &alice, "alice", "Privat/tagebuch.txt", b"Liebes Tagebuch");
    put(&server, &alice, "alice", "geheim.txt", b"geheim");
    let alice_browser = Browser::login(&server, "alice", "alice-password");
    let reply = alice_browser.post("/apps/files/link", &[("path", "/geheim.txt"), ("kind", "read")]);
    assert_eq!(outcome(&reply), "done=share.done.link");
    let link_id = share_ids(&alice_browser.page("/apps/files/share?path=%2Fgeheim.txt"), "link")[0].clone();

    let bob = Browser::login(&server, "bob", "bob-password");
    for path in ["/geheim.txt", "/Privat/tagebuch.txt", "/Privat"] {
        let reply = bob.get(&format!("/apps/files/download?path={}", enc(path)));
        assert_eq!(reply.status, 404, "download {path}: {}", reply.text());
        assert_ne!(reply.body, b"geheim");
        let reply = bob.get(&format!("/apps/files/share?path={}", enc(path)));
        assert_eq!(reply.status, 404, "share dialog {path}: {}", reply.text());
    }
    assert_eq!(bob.get("/apps/files/?dir=%2FPrivat").status, 404);
    assert_eq!(bob.get("/apps/files/zip?dir=%2FPrivat").status, 404);
    let reply = bob.get("/apps/files/zip?dir=%2F&selected=geheim.txt");
    assert_eq!(reply.status, 404);
    for path in ["/../alice/geheim.txt", "/alice/geheim.txt", "/./../geheim.txt"] {
        let reply = bob.get(&format!("/apps/files/download?path={}", enc(path)));
        assert!(reply.status == 400 || reply.status == 404, "download {path}: {}", reply.status);
        assert_ne!(reply.body, b"geheim");
    }
    // bob's cookie does not open alice's WebDAV tree.
    let reply = bob.get(&format!("{}/remote.php/dav/files/alice/geheim.txt", server.base));
    assert!(matches!(reply.status, 403 | 404), "bob read alice's file over WebDAV: {}", reply.status);
    // bob's forms cannot change alice's files or shares.
    let reply = bob.post("/apps/files/action", &[("dir", "/"), ("op", "delete"), ("selected", "geheim.txt")]);
    assert!(outcome(&reply).starts_with("failed="), "{}", outcome(&reply));
    let reply = bob.post("/apps/files/rename", &[("dir", "/Privat"), ("from", "tagebuch.txt"), ("to", "x.txt")]);
    assert!(outcome(&reply).starts_with("failed="), "{}", outcome(&reply));
    let reply = bob.post("/apps/files/link", &[("path", "/geheim.txt"), ("kind", "read")]);
    assert!(outcome(&reply).starts_with("failed="), "{}", outcome(&reply));
    let reply = bob.post("/apps/files/unshare", &[("path", "/geheim.txt"), ("id", &link_id)]);
    assert!(outcome(&reply).starts_with("failed="), "{}", outcome(&reply));
    assert_eq!(content(&server, &alice, "alice", "geheim.txt"), b"geheim");
    assert_eq!(content(&server, &alice, "alice", "Privat/tagebuch.txt"), b"Liebes Tagebuch");
    assert_eq!(share_ids(&alice_browser.page("/apps/files/share?path=%2Fgeheim.txt"), "link"), vec![link_id]);
    assert!(!bob.page("/apps/files/shared").contains("geheim.txt"));
    // alice's CSRF token does not work with bob's session.
    let reply = bob.post_raw(
        "/apps/files/mkdir",
        &[("csrf", &alice_browser.csrf), ("dir", "/"), ("name", "Fremd")],
        Some(&server.base),
    );
    assert_eq!(reply.status, 403);
}

/// The ids in `data-{attribute}="…"` of the page, in page order.
fn data_ids(html: &str, attribute: &str) -> Vec<i64> {
    html.split(&format!("data-{attribute}=\""))
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().parse().expect("numeric id"))
        .collect()
}

#[test]
fn comments_tags_favourites_and_activity_pages() {
    let server = TestServer::start();
    server.add_user("alice", "alice-password", &[]);
    server.add_user("bob", "bob-password", &[]);
    let alice_dav = Client::new("alice", "alice-password");
    let bob_dav = Client::new("bob", "bob-password");
    mkcol(&server, &alice_dav, "alice", "Projekt");
    put(&server, &alice_dav, "alice", "Projekt/plan.txt", b"Plan");
    let alice = Browser::login(&server, "alice", "alice-password");
    let base = server.base.as_str();

    // The star of a row toggles the favourite, as WebDAV (oc:favorite) and the favourites view show.
    let favorite_prop = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\"><d:prop><oc:favorite/></d:prop></d:propfind>";
    let favorite_of = |path: &str| {
        let reply = alice_dav.propfind(&server.dav_url("alice", &enc_path(path)), "0", favorite_prop);
        assert_eq!(reply.status, 207, "{}", reply.text());
        reply.text().contains("<oc:favorite>1</oc:favorite>")
    };
    let html = alice.page("/apps/files/?dir=%2FProjekt");
    let plan = row(&html, "plan.txt");
    assert!(plan.contains("aria-pressed=\"false\""), "{plan}");
    assert!(plan.contains("aria-label=\"plan.txt zu Favoriten hinzufügen\""), "{plan}");
    assert!(plan.contains("form=\"favorite-form-1\""), "{plan}");
    assert!(plan.contains(">Kommentare und Schlagworte</a>"), "{plan}");
    assert!(!plan.contains("Kommentar<") && !plan.contains("Kommentare<"), "no comment count yet: {plan}");
    let hidden = section(&html, "<form id=\"favorite-form-1\"", "</form>");
    assert!(hidden.contains("name=\"csrf\"") && hidden.contains("value=\"/Projekt/plan.txt\""), "{hidden}");
    assert!(!favorite_of("Projekt/plan.txt"));
    let reply = alice.post("/apps/files/favorite", &[("path", "/Projekt/plan.txt"), ("on", "1")]);
    assert_eq!(outcome(&reply), "done=files.done.favorite_added");
    assert!(location(&reply).starts_with("/apps/files/?dir=%2FProjekt&"), "{}", location(&reply));
    assert!(favorite_of("Projekt/plan.txt"));
    let html = alice.page(&location(&reply));
    assert!(html.contains("Das Element wurde zu Ihren Favoriten hinzugefügt."), "{html}");
    let plan = row(&html, "plan.txt");
    assert!(plan.contains("aria-pressed=\"true\"") && plan.contains("plan.txt aus Favoriten entfernen"), "{plan}");
    assert!(plan.contains("name=\"on\" value=\"0\""), "{plan}");
    let favorites = alice.page("/apps/files/favorites");
    assert!(favorites.contains("id=\"nav-favorites\" href=\"/apps/files/favorites\" aria-current=\"page\""));
    assert!(favorites.contains("<tr data-path=\"/Projekt/plan.txt\">"), "{favorites}");
    assert!(favorites.contains("href=\"/apps/files/download?path=%2FProjekt%2Fplan.txt\""), "{favorites}");
    assert!(favorites.contains("href=\"/apps/files/?dir=%2FProjekt\""), "{favorites}");
    let reply =
        alice.post("/apps/files/favorite", &[("path", "/Projekt/plan.txt"), ("on", "0"), ("back", "favorites")]);
    assert_eq!(outcome(&reply), "done=files.done.favorite_removed");
    assert!(location(&reply).starts_with("/apps/files/favorites?"), "{}", location(&reply));
    assert!(!favorite_of("Projekt/plan.txt"));
    assert!(alice.page("/apps/files/favorites").contains("id=\"favorites-none\""));
    assert_eq!(
        outcome(&alice.post("/apps/files/favorite", &[("path", "/Projekt"), ("on", "1")])),
        "done=files.done.favorite_added"
    );
    assert!(favorite_of("Projekt"));
    assert_eq!(
        outcome(&alice.post("/apps/files/favorite", &[("path", "/Fehlt"), ("on", "1")])),
        "failed=error.not_found"
    );

    // Alice shares the folder with bob and mentions him in a comment on the file.
    let share = alice_dav.send(
        "POST",
        &format!("{base}/api/v1/shares"),
        &[("Content-Type", "application/json")],
        br#"{"path": "/Projekt", "type": "user", "with": "bob", "permissions": 31}"#,
    );
    assert_eq!(share.status, 201, "{}", share.text());
    let details = "/apps/files/comments?path=%2FProjekt%2Fplan.txt";
    let html = alice.page(details);
    assert!(html.contains("<h1>Kommentare und Schlagworte: plan.txt</h1>"), "{html}");
    assert!(html.contains("id=\"comments-none\"") && html.contains("<label for=\"comment-message\">"), "{html}");
    assert!(html.contains("@Name"), "the form explains mentions: {html}");
    assert!(html.contains("href=\"/apps/files/versions?path=%2FProjekt%2Fplan.txt\""), "{html}");
    let versions = alice.page("/apps/files/versions?path=%2FProjekt%2Fplan.txt");
    assert!(versions.contains(&format!("href=\"{details}\"")), "the versions panel links the details: {versions}");
    let message = "Bitte prüfen, @bob: <b>bis Freitag</b>";
    let reply = alice.post("/apps/files/comments/add", &[("path", "/Projekt/plan.txt"), ("message", message)]);
    assert_eq!(outcome(&reply), "done=comments.done.added");
    assert!(location(&reply).starts_with(&format!("{details}&")), "{}", location(&reply));
    let html = alice.page(&location(&reply));
    assert!(html.contains("Der Kommentar wurde hinzugefügt."), "{html}");
    let ids = data_ids(&html, "comment-id");
    assert_eq!(ids.len(), 1, "{html}");
    let alices_comment = ids[0].to_string();
    let item = section(&html, "<li data-comment-id=", "</li>");
    assert!(
        item.contains("<strong class=\"mention\"><span class=\"visually-hidden\">Erwähnung: </span>@bob</strong>"),
        "{item}"
    );
    assert!(item.contains("Erwähnt: bob"), "{item}");
    assert!(item.contains("&lt;b&gt;bis Freitag&lt;/b&gt;") && !item.contains("<b>"), "escaped: {item}");
    assert!(item.contains("class=\"comment-author\">alice</strong>") && item.contains("<time datetime=\""), "{item}");
    assert!(item.contains("class=\"edit-comment") && item.contains("class=\"delete-comment"), "{item}");
    assert!(!item.contains("bearbeitet"), "{item}");
    assert!(row(&alice.page("/apps/files/?dir=%2FProjekt"), "plan.txt").contains(">1 Kommentar</a>"));
    assert_eq!(
        outcome(&alice.post("/apps/files/comments/add", &[("path", "/Projekt/plan.txt"), ("message", "  ")])),
        "failed=comments.failed.empty"
    );

    // Bob sees the comment on his page of the shared file, may neither edit nor delete it,
    // and has a notification of the mention.
    let bob = Browser::login(&server, "bob", "bob-password");
    let html = bob.page(details);
    let item = section(&html, "<li data-comment-id=", "</li>");
    assert!(item.contains("data-author=\"alice\"") && item.contains("@bob</strong>"), "{item}");
    assert!(!item.contains("edit-comment") && !item.contains("delete-comment"), "{item}");
    let reply = bob.post("/apps/files/comments/delete", &[("path", "/Projekt/plan.txt"), ("id", &alices_comment)]);
    assert_eq!(outcome(&reply), "failed=error.forbidden");
    let html = bob.page(&location(&reply));
    assert!(html.contains("role=\"alert\">Dazu sind Sie nicht berechtigt.</p>"), "{html}");
    let reply = bob
        .post("/apps/files/comments/edit", &[("path", "/Projekt/plan.txt"), ("id", &alices_comment), ("message", "x")]);
    assert_eq!(outcome(&reply), "failed=error.forbidden");
    let activity = bob.page("/apps/activity");
    assert!(activity.contains("id=\"nav-activity\" href=\"/apps/activity\" aria-current=\"page\""), "{activity}");
    let notes = section(&activity, "<ul id=\"notification-list\"", "</ul>");
    assert!(notes.contains("alice hat Sie in einem Kommentar zu plan.txt erwähnt"), "{notes}");
    let mention = notes
        .split("<li data-notification-id=\"")
        .skip(1)
        .find(|item| item.contains("erwähnt"))
        .and_then(|item| item.split("</li>").next())
        .expect("the mention's notification");
    assert!(mention.contains("class=\"dismiss") && mention.contains("name=\"csrf\""), "{mention}");
    let notification = mention.split('"').next().expect("notification id").to_string();
    assert!(activity.contains("alice hat plan.txt kommentiert."), "{activity}");
    assert!(activity.contains("alice hat Projekt mit Ihnen geteilt."), "{activity}");
    let reply = bob.post("/apps/activity/notifications/dismiss", &[("id", &notification), ("back", "/apps/activity")]);
    assert_eq!(outcome(&reply), "done=activity.done.dismissed");
    let activity = bob.page(&location(&reply));
    assert!(!activity.contains("in einem Kommentar zu plan.txt erwähnt"), "{activity}");
    assert_eq!(
        outcome(&bob.post("/apps/activity/notifications/dismiss", &[("id", &notification)])),
        "failed=error.not_found"
    );
    assert_eq!(bob.get("/apps/notifications").status, 303);

    // Bob answers; alice edits her comment and, as the file's owner, deletes bob's.
    let reply =
        bob.post("/apps/files/comments/add", &[("path", "/Projekt/plan.txt"), ("message", "Erledigt, @alice.")]);
    assert_eq!(outcome(&reply), "done=comments.done.added");
    let html = alice.page(details);
    let ids = data_ids(&html, "comment-id");
    assert_eq!(ids.len(), 2, "{html}");
    let bobs_comment = ids[1].to_string();
    let item = section(&html, &format!("<li data-comment-id=\"{bobs_comment}\""), "</li>");
    assert!(!item.contains("edit-comment") && item.contains("delete-comment"), "{item}");
    let editing = alice.page(&format!("{details}&edit={alices_comment}"));
    assert!(editing.contains("<label for=\"edit-message\">") && editing.contains("&lt;b&gt;bis Freitag"), "{editing}");
    let reply = alice.post(
        "/apps/files/comments/edit",
        &[("path", "/Projekt/plan.txt"), ("id", &alices_comment), ("message", "Bitte bis Montag prüfen, @bob.")],
    );
    assert_eq!(outcome(&reply), "done=comments.done.edited");
    let reply = alice.post("/apps/files/comments/delete", &[("path", "/Projekt/plan.txt"), ("id", &bobs_comment)]);
    assert_eq!(outcome(&reply), "done=comments.done.deleted");
    let html = bob.page(details);
    assert_eq!(data_ids(&html, "comment-id"), vec![alices_comment.parse::<i64>().unwrap()], "{html}");
    assert!(html.contains("Bitte bis Montag prüfen, ") && html.contains("(bearbeitet am "), "{html}");

    // Tags: created and assigned in one step, assigned from the list, removed.
    let reply = alice.post("/apps/files/tags/create", &[("path", "/Projekt"), ("name", "Archiv")]);
    assert_eq!(outcome(&reply), "done=tags.done.created");
    let reply = alice.post("/apps/files/tags/create", &[("path", "/Projekt/plan.txt"), ("name", "Eilig")]);
    assert_eq!(outcome(&reply), "done=tags.done.created");
    let html = alice.page(details);
    let tags = section(&html, "<ul id=\"tag-list\"", "</ul>");
    assert!(tags.contains("<span class=\"tag-name\">Eilig</span>") && !tags.contains("Archiv"), "{tags}");
    assert!(tags.contains("aria-label=\"Schlagwort Eilig entfernen\""), "{tags}");
    let eilig = data_ids(tags, "tag-id")[0].to_string();
    let select = section(&html, "<select id=\"assign-tag\"", "</select>");
    assert!(select.contains(">Archiv</option>") && !select.contains("Eilig"), "{select}");
    let archiv = select.split("value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("option").to_string();
    assert_eq!(
        outcome(&alice.post("/apps/files/tags/assign", &[("path", "/Projekt/plan.txt"), ("tag", &archiv)])),
        "done=tags.done.assigned"
    );
    assert_eq!(
        outcome(&alice.post("/apps/files/tags/remove", &[("path", "/Projekt/plan.txt"), ("tag", &eilig)])),
        "done=tags.done.removed"
    );
    let html = alice.page(details);
    let tags = section(&html, "<ul id=\"tag-list\"", "</ul>");
    assert!(tags.contains(">Archiv</span>") && !tags.contains("Eilig"), "{tags}");
    assert!(section(&html, "<select id=\"assign-tag\"", "</select>").contains(">Eilig</option>"), "{html}");
    assert!(
        bob.page(details).contains("<span class=\"tag-name\">Archiv</span>"),
        "bob sees the tags of the shared file"
    );
    // A name that exists already assigns that tag; an empty one is refused.
    assert_eq!(
        outcome(&alice.post("/apps/files/tags/create", &[("path", "/Projekt/plan.txt"), ("name", "Eilig")])),
        "done=tags.done.created"
    );
    assert!(section(&alice.page(details), "<ul id=\"tag-list\"", "</ul>").contains(">Eilig</span>"));
    assert_eq!(
        outcome(&alice.post("/apps/files/tags/create", &[("path", "/Projekt/plan.txt"), ("name", " ")])),
        "failed=tags.failed.name"
    );

    // Alice's stream: newest first, as sentences, filtered by area, paged.
    let activity = alice.page("/apps/activity");
    assert!(activity.contains("Sie haben /Projekt geteilt."), "{activity}");
    assert!(activity.contains("Sie haben plan.txt kommentiert."), "{activity}");
    assert!(activity.contains("bob hat plan.txt kommentiert."), "{activity}");
    assert!(activity.contains("Sie haben /Projekt/plan.txt erstellt."), "{activity}");
    assert!(activity.contains("<label for=\"activity-filter\">"), "{activity}");
    let ids = data_ids(&activity, "activity-id");
    assert!(ids.len() >= 4 && ids.windows(2).all(|pair| pair[0] > pair[1]), "newest first: {ids:?}");
    let shares = alice.page("/apps/activity?filter=shares");
    assert!(shares.contains("Sie haben /Projekt geteilt.") && !shares.contains("kommentiert"), "{shares}");
    assert!(shares.contains("<option value=\"shares\" selected>"), "{shares}");
    let comments = alice.page("/apps/activity?filter=comments");
    assert!(comments.contains("kommentiert.") && !comments.contains("geteilt."), "{comments}");
    let files = alice.page("/apps/activity?filter=files");
    assert!(files.contains("/Projekt/plan.txt erstellt.") && !files.contains("kommentiert"), "{files}");
    let older = alice.page(&format!("/apps/activity?before={}", ids[0]));
    assert_eq!(data_ids(&older, "activity-id"), ids[1..].to_vec(), "{older}");
    assert!(older.contains("id=\"activity-newest\""), "{older}");
    assert!(!activity.contains("id=\"activity-older\""), "one page only: {activity}");
    for index in 0..50 {
        put(&server, &alice_dav, "alice", &format!("Projekt/datei-{index}.txt"), b"x");
    }
    let activity = alice.page("/apps/activity?filter=files");
    let href = section(&activity, "<a id=\"activity-older\" href=\"", "\">")
        .trim_start_matches("<a id=\"activity-older\" href=\"")
        .replace("&amp;", "&");
    assert!(href.starts_with("/apps/activity?filter=files&before="), "{href}");
    let older = alice.page(&href);
    assert!(older.contains("Sie haben /Projekt/plan.txt erstellt."), "{older}");
    assert!(!bob_dav.get(&server.dav_url("bob", "Projekt/plan.txt")).body.is_empty());
    // In English.
    let reply = alice.send("GET", "/apps/activity?filter=shares", &[("Accept-Language", "en")], b"");
    let english = reply.text().replace("&#x2f;", "/");
    assert!(english.contains("You shared /Projekt.") && english.contains("<html lang=\"en\">"), "{english}");

    // Settings: the e-mail batching is saved.
    let settings = alice.page("/settings");
    assert!(settings.contains("<label for=\"mail-digest\">"), "{settings}");
    assert!(settings.contains("<option value=\"batched\" selected>Gesammelt (alle 15 Minuten)</option>"), "{settings}");
    let reply = alice.post("/settings/profile", &[("display_name", "alice"), ("email", ""), ("mail_digest", "daily")]);
    assert_eq!(outcome(&reply), "done=settings.done.profile");
    let me = alice_dav.get(&format!("{base}/api/v1/me"));
    assert!(me.text().contains("\"mail_digest\":\"daily\""), "{}", me.text());
    assert!(alice.page("/settings").contains("<option value=\"daily\" selected>Einmal täglich</option>"));
    let reply = alice.post("/settings/profile", &[("display_name", "alice"), ("mail_digest", "stündlich")]);
    assert_eq!(outcome(&reply), "failed=error.invalid");
    assert!(alice_dav.get(&format!("{base}/api/v1/me")).text().contains("\"mail_digest\":\"daily\""));

    // Forged posts (no token, or another site's) are refused and change nothing.
    let forged: &[(&str, &[(&str, &str)])] = &[
        ("/apps/files/favorite", &[("path", "/Projekt/plan.txt"), ("on", "1")]),
        ("/apps/files/comments/add", &[("path", "/Projekt/plan.txt"), ("message", "gefälscht")]),
        ("/apps/files/comments/delete", &[("path", "/Projekt/plan.txt"), ("id", &alices_comment)]),
        ("/apps/files/tags/create", &[("path", "/Projekt/plan.txt"), ("name", "Gefälscht")]),
        ("/apps/files/tags/remove", &[("path", "/Projekt/plan.txt"), ("tag", &archiv)]),
        ("/apps/activity/notifications/dismiss", &[("id", "1")]),
        ("/settings/profile", &[("display_name", "alice"), ("mail_digest", "batched")]),
    ];
    for (path, fields) in forged {
        let reply = alice.post_raw(path, fields, Some(base));
        assert_eq!(reply.status, 403, "{path} without a token: {}", reply.text());
        let mut with_token = vec![("csrf", alice.csrf.as_str())];
        with_token.extend_from_slice(fields);
        let reply = alice.post_raw(path, &with_token, Some("http://evil.example"));
        assert_eq!(reply.status, 403, "{path} from another site: {}", reply.text());
    }
    assert!(!favorite_of("Projekt/plan.txt"));
    let html = alice.page(details);
    assert!(!html.contains("gefälscht") && !html.contains("Gefälscht") && html.contains(">Archiv</span>"), "{html}");
    assert_eq!(data_ids(&html, "comment-id").len(), 1);
    assert!(alice_dav.get(&format!("{base}/api/v1/me")).text().contains("\"mail_digest\":\"daily\""));
}
