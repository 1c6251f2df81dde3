//! End-to-end tests of the web interface's personal settings (`/settings`) and administration
//! (`/admin`) pages, driven with plain HTTP like a browser without scripts: session cookie
//! from the login form, the CSRF token from the page's `<meta name="hafen-csrf">`, form posts
//! answered with `303 See Other`.

mod common;

use common::{Client, Reply, TestServer, ADMIN_PASSWORD};

const PROPFIND_BODY: &str =
    "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getetag/></d:prop></d:propfind>";

/// `application/x-www-form-urlencoded` of `fields`.
fn form_body(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
                b' ' => "+".to_string(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(name, value)| format!("{}={}", encode(name), encode(value))).collect::<Vec<_>>().join("&")
}

/// The value of attribute `attribute` of the first element carrying `marker` (e.g. `id="x"`).
fn attribute_after(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let start = html.find(marker)?;
    let tag_end = html[start..].find('>')? + start;
    let tag = &html[start..tag_end];
    let needle = format!("{attribute}=\"");
    let value_start = tag.find(&needle)? + needle.len();
    let value_end = tag[value_start..].find('"')? + value_start;
    Some(unescape(&tag[value_start..value_end]))
}

/// Undoes the HTML escaping of the templates (minijinja also escapes `/`).
fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser without scripts: cookies, the CSRF token of the session, same-origin posts.
struct Browser<'a> {
    server: &'a TestServer,
    client: Client,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    fn new(server: &'a TestServer) -> Browser<'a> {
        Browser { server, client: Client::anonymous(), cookies: Vec::new() }
    }

    /// Logs in through the login form; panics unless it works.
    fn login(server: &'a TestServer, user: &str, password: &str) -> Browser<'a> {
        let mut browser = Browser::new(server);
        let reply = browser.try_login(user, password);
        assert_eq!(reply.status, 303, "login of {user} failed: {}", reply.text());
        assert!(browser.session().is_some(), "no session cookie after login");
        browser
    }

    fn try_login(&mut self, user: &str, password: &str) -> Reply {
        self.post_raw("/login", &form_body(&[("user", user), ("password", password), ("redirect_url", "/apps/files/")]))
    }

    fn session(&self) -> Option<&str> {
        self.cookies.iter().find(|(name, _)| name == "hafen_session").map(|(_, value)| value.as_str())
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    fn remember_cookies(&mut self, reply: &Reply) {
        for (name, value) in &reply.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            let Some((cookie, content)) = pair.split_once('=') else { continue };
            self.cookies.retain(|(known, _)| known != cookie);
            if !content.is_empty() && !value.contains("Max-Age=0") {
                self.cookies.push((cookie.to_string(), content.to_string()));
            }
        }
    }

    fn get(&mut self, path: &str) -> Reply {
        let cookies = self.cookie_header();
        let reply = self.client.send("GET", &format!("{}{path}", self.server.base), &[("Cookie", &cookies)], b"");
        self.remember_cookies(&reply);
        reply
    }

    /// A page that must load (200); its HTML.
    fn page(&mut self, path: &str) -> String {
        let reply = self.get(path);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
        reply.text()
    }

    /// The CSRF token of the session (from any page's meta element).
    fn csrf(&mut self) -> String {
        let html = self.page("/settings");
        attribute_after(&html, "name=\"hafen-csrf\"", "content").expect("csrf meta element")
    }

    fn post_raw(&mut self, path: &str, body: &str) -> Reply {
        let server = self.server;
        self.post_with_origin(path, body, Some(&server.base))
    }

    fn post_with_origin(&mut self, path: &str, body: &str, origin: Option<&str>) -> Reply {
        let cookies = self.cookie_header();
        let mut headers = vec![("Cookie", cookies.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(origin) = origin {
            headers.push(("Origin", origin));
        }
        let reply = self.client.send("POST", &format!("{}{path}", self.server.base), &headers, body.as_bytes());
        self.remember_cookies(&reply);
        reply
    }

    /// A form post with the session's CSRF token.
    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let csrf = self.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &form_body(&all))
    }

    /// A form post that must be answered with a redirect; returns the target's HTML.
    fn post_and_follow(&mut self, path: &str, fields: &[(&str, &str)]) -> (String, String) {
        let reply = self.post(path, fields);
        assert_eq!(reply.status, 303, "POST {path}: {}", reply.text());
        let location = reply.header("Location").expect("Location").to_string();
        let html = self.page(&location);
        (location, html)
    }
}

fn propfind_status(server: &TestServer, user: &str, password: &str) -> u16 {
    Client::new(user, password).propfind(&server.dav_url(user, ""), "0", PROPFIND_BODY).status
}

#[test]
fn personal_settings() {
    let server = TestServer::start();
    server.add_user("anna", "anna-password-1", &[]);
    let mut anna = Browser::login(&server, "anna", "anna-password-1");

    let html = anna.page("/settings");
    assert!(html.contains("<html lang=\"de\">"), "German by default");
    for id in [
        "display-name",
        "email",
        "notify-email",
        "profile-submit",
        "current-password",
        "new-password",
        "password-submit",
        "app-password-name",
        "app-password-submit",
        "settings-language",
        "settings-language-submit",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
        if !id.ends_with("submit") {
            assert!(html.contains(&format!("for=\"{id}\"")), "#{id} has no label");
        }
    }
    assert!(html.contains("id=\"quota-text\""), "storage use shown");

    // Profile: display name, e-mail and the notification setting persist.
    let (location, html) = anna.post_and_follow(
        "/settings/profile",
        &[("display_name", "Anna Beispiel"), ("email", "anna@example.org"), ("notify_email", "1")],
    );
    assert_eq!(location, "/settings?done=settings.done.profile");
    assert!(html.contains("role=\"status\""), "{html}");
    assert_eq!(attribute_after(&html, "id=\"display-name\"", "value").as_deref(), Some("Anna Beispiel"));
    assert_eq!(attribute_after(&html, "id=\"email\"", "value").as_deref(), Some("anna@example.org"));
    let notify = &html[html.find("id=\"notify-email\"").unwrap()..];
    assert!(notify[..notify.find('>').unwrap()].contains("checked"), "notification setting saved");
    let me = Client::new("anna", "anna-password-1").get(&format!("{}/api/v1/me", server.base));
    let me: serde_json::Value = serde_json::from_slice(&me.body).expect("JSON");
    assert_eq!(me["display_name"], "Anna Beispiel");
    assert_eq!(me["email"], "anna@example.org");
    assert_eq!(me["notify_by_email"], true);
    // Unticking the box switches notifications off again; an invalid address is refused.
    anna.post_and_follow("/settings/profile", &[("display_name", "Anna Beispiel"), ("email", "anna@example.org")]);
    let (location, html) =
        anna.post_and_follow("/settings/profile", &[("display_name", "Anna"), ("email", "not an address")]);
    assert_eq!(location, "/settings?failed=settings.failed.email");
    assert!(html.contains("role=\"alert\""), "{html}");
    let me = Client::new("anna", "anna-password-1").get(&format!("{}/api/v1/me", server.base));
    let me: serde_json::Value = serde_json::from_slice(&me.body).expect("JSON");
    assert_eq!(me["display_name"], "Anna Beispiel", "a refused form changes nothing");
    assert_eq!(me["notify_by_email"], false);

    // Password: a wrong current password is refused and changes nothing.
    let (location, html) =
        anna.post_and_follow("/settings/password", &[("current", "wrong-password"), ("new", "anna-password-2")]);
    assert_eq!(location, "/settings?failed=settings.failed.current_password");
    assert!(html.contains("role=\"alert\"") && html.contains("Das aktuelle Passwort ist falsch"), "{html}");
    assert_eq!(propfind_status(&server, "anna", "anna-password-1"), 207);
    assert_eq!(propfind_status(&server, "anna", "anna-password-2"), 401);
    // Too short a new password, too.
    let (location, _) = anna.post_and_follow("/settings/password", &[("current", "anna-password-1"), ("new", "short")]);
    assert_eq!(location, "/settings?failed=settings.failed.password_short");
    assert_eq!(propfind_status(&server, "anna", "anna-password-1"), 207);
    // The right one changes it: other sessions end, this browser gets a new one.
    let mut other = Browser::login(&server, "anna", "anna-password-1");
    let old_session = anna.session().unwrap().to_string();
    let reply = anna.post("/settings/password", &[("current", "anna-password-1"), ("new", "anna-password-2")]);
    assert_eq!(reply.status, 303, "{}", reply.text());
    assert_eq!(reply.header("Location"), Some("/settings?done=settings.done.password"));
    let new_session = anna.session().expect("a new session cookie").to_string();
    assert_ne!(new_session, old_session);
    let html = anna.page("/settings?done=settings.done.password");
    assert!(html.contains("role=\"status\""), "{html}");
    assert_eq!(other.get("/settings").status, 303, "the other session ended");
    assert_eq!(propfind_status(&server, "anna", "anna-password-2"), 207);
    assert_eq!(propfind_status(&server, "anna", "anna-password-1"), 401);
    Browser::login(&server, "anna", "anna-password-2");

    // App passwords: shown once on the result page (not in a URL), authenticate WebDAV,
    // and stop doing so when revoked.
    let reply = anna.post("/settings/app-passwords", &[("label", "Laptop")]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let html = reply.text();
    let token = attribute_after(&html, "id=\"new-app-password\"", "value").expect("the new token");
    assert!(token.len() >= 64 && token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    assert!(html.contains("class=\"copy-link") && html.contains("data-copy=\"new-app-password\""));
    assert!(html.contains("readonly"));
    assert_eq!(propfind_status(&server, "anna", &token), 207);
    let html = anna.page("/settings");
    assert!(!html.contains(&token), "the token is shown only once");
    let list = &html[html.find("id=\"app-passwords\"").expect("#app-passwords")..];
    assert!(list.contains("Laptop") && list.contains("class=\"revoke"), "{list}");
    let id = attribute_after(list, "<li data-id=", "data-id").expect("app password id");
    let (location, _) = anna.post_and_follow("/settings/app-passwords/revoke", &[("id", &id)]);
    assert_eq!(location, "/settings?done=settings.done.revoked");
    assert_eq!(propfind_status(&server, "anna", &token), 401);
    let (location, _) = anna.post_and_follow("/settings/app-passwords", &[("label", "  ")]);
    assert_eq!(location, "/settings?failed=settings.failed.label");

    // Language: like the footer form, the account's setting and the cookie; the next page is
    // English, also after an earlier choice in the footer and in another browser.
    let reply = anna.post_raw("/language", &form_body(&[("lang", "de"), ("back", "/settings")]));
    assert_eq!(reply.status, 303, "{}", reply.text());
    let reply = anna.post("/settings/language", &[("lang", "en")]);
    assert_eq!(reply.status, 303, "{}", reply.text());
    let cookie = reply.header("Set-Cookie").expect("Set-Cookie");
    assert!(cookie.starts_with("hafen_lang=en;") && cookie.contains("HttpOnly"), "{cookie}");
    let html = anna.page(reply.header("Location").unwrap());
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("The language was saved."), "{html}");
    let mut elsewhere = Browser::login(&server, "anna", "anna-password-2");
    assert!(elsewhere.page("/settings").contains("<html lang=\"en\">"), "the account's setting");
    let (_, html) = anna.post_and_follow("/settings/language", &[("lang", "de")]);
    assert!(html.contains("<html lang=\"de\">"));
}

#[test]
fn administration_by_server_and_organisation_admins() {
    let server = TestServer::start();
    let mut admin = Browser::login(&server, "admin", ADMIN_PASSWORD);
    let html = admin.page("/admin");
    for id in ["org-list", "user-table", "new-org-name", "new-org-display", "new-org-quota", "new-org-submit"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    for id in [
        "new-user-name",
        "new-user-display",
        "new-user-email",
        "new-user-password",
        "new-user-org",
        "new-user-quota",
        "new-group-name",
        "new-group-display",
        "guest-email",
    ] {
        assert!(html.contains(&format!("for=\"{id}\"")), "#{id} has no label");
    }

    // Organisations: created with a decimal GB quota (comma), listed with usage.
    let (location, html) =
        admin.post_and_follow("/admin/orgs", &[("name", "acme"), ("display_name", "ACME GmbH"), ("quota", "2,5")]);
    assert_eq!(location, "/admin?done=admin.done.org");
    let orgs = &html[html.find("id=\"org-list\"").unwrap()..];
    assert!(orgs.contains("data-name=\"acme\"") && orgs.contains("ACME GmbH") && orgs.contains("2,5 GB"), "{orgs}");
    admin.post_and_follow("/admin/orgs", &[("name", "beta"), ("display_name", ""), ("quota", "")]);
    let (location, _) = admin.post_and_follow("/admin/orgs", &[("name", "acme"), ("quota", "")]);
    assert_eq!(location, "/admin?failed=admin.failed.exists");
    let (location, _) = admin.post_and_follow("/admin/orgs", &[("name", "bad name"), ("quota", "")]);
    assert_eq!(location, "/admin?failed=admin.failed.name");
    let (location, _) = admin.post_and_follow("/admin/orgs", &[("name", "gamma"), ("quota", "zwei")]);
    assert_eq!(location, "/admin?failed=admin.failed.quota");

    // Accounts in an organisation; the new account can log in.
    let (location, html) = admin.post_and_follow(
        "/admin/users",
        &[
            ("name", "erika"),
            ("display_name", "Erika Muster"),
            ("email", "erika@example.org"),
            ("password", "erika-password-1"),
            ("org", "acme"),
            ("quota", "1.5"),
        ],
    );
    assert_eq!(location, "/admin?done=admin.done.user");
    let users = &html[html.find("id=\"user-table\"").unwrap()..];
    let erika = &users[users.find("data-name=\"erika\"").expect("erika listed")..];
    let erika = &erika[..erika.find("</tr>").unwrap()];
    assert!(erika.contains("Erika Muster") && erika.contains("erika@example.org") && erika.contains("acme"), "{erika}");
    assert!(erika.contains("1,5 GB") && erika.contains("class=\"delete-user"), "{erika}");
    assert!(erika.contains("aria-label=\"Konto erika"), "the delete button names the account: {erika}");
    let (location, _) = admin
        .post_and_follow("/admin/users", &[("name", "short"), ("password", "short"), ("org", "acme"), ("quota", "")]);
    assert_eq!(location, "/admin?failed=admin.failed.password_short");
    admin.post_and_follow(
        "/admin/users",
        &[("name", "bert"), ("password", "bert-password-1"), ("org", "beta"), ("quota", "")],
    );
    let mut erika = Browser::login(&server, "erika", "erika-password-1");

    // Quota change and deletion.
    let (location, html) = admin.post_and_follow("/admin/users/quota", &[("name", "erika"), ("quota", "0,5")]);
    assert_eq!(location, "/admin?done=admin.done.quota");
    let row = &html[html.find("data-name=\"erika\"").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("500,0 MB"), "new quota shown");
    let (location, _) = admin.post_and_follow("/admin/users/quota", &[("name", "erika"), ("quota", "-1")]);
    assert_eq!(location, "/admin?failed=admin.failed.quota");

    // Groups and members.
    let (location, _) =
        admin.post_and_follow("/admin/groups", &[("name", "team"), ("display_name", "Das Team"), ("org", "acme")]);
    assert_eq!(location, "/admin?done=admin.done.group");
    let (location, html) = admin.post_and_follow("/admin/groups/members", &[("group", "team"), ("member", "erika")]);
    assert_eq!(location, "/admin?done=admin.done.member");
    let groups = &html[html.find("id=\"group-list\"").unwrap()..];
    let team = &groups[groups.find("data-name=\"team\"").unwrap()..];
    assert!(team[..team.find("</tr>").unwrap()].contains("erika"), "{team}");

    // Guests: without a mailer the one-time link is shown on the page (not put in a URL).
    let csrf = admin.csrf();
    let reply = admin.post_raw("/admin/guests", &form_body(&[("csrf", &csrf), ("email", "gast@example.org")]));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let link = attribute_after(&reply.text(), "id=\"guest-link\"", "value").expect("invitation link");
    assert!(link.contains("/invite/"), "{link}");
    let (location, _) = admin.post_and_follow("/admin/guests", &[("email", "no-address")]);
    assert_eq!(location, "/admin?failed=admin.failed.email");

    // An organisation's administrator sees only its organisation and accounts.
    server.add_user("olga", "olga-password-1", &["--org", "acme", "--org-admin"]);
    let mut olga = Browser::login(&server, "olga", "olga-password-1");
    let html = olga.page("/admin");
    assert!(html.contains("id=\"nav-admin\""));
    let users = &html[html.find("id=\"user-table\"").unwrap()..];
    assert!(users.contains("data-name=\"erika\"") && users.contains("data-name=\"olga\""), "{users}");
    for hidden in ["data-name=\"bert\"", "data-name=\"admin\"", "data-name=\"gast@example.org\""] {
        assert!(!users.contains(hidden), "{hidden} shown to an organisation admin");
    }
    let orgs = &html[html.find("id=\"org-list\"").unwrap()..html.find("id=\"user-table\"").unwrap()];
    assert!(orgs.contains("data-name=\"acme\"") && !orgs.contains("data-name=\"beta\""), "{orgs}");
    assert!(!html.contains("id=\"new-org-name\""), "no organisation form for organisation admins");
    let select = &html[html.find("id=\"new-user-org\"").unwrap()..];
    let select = &select[..select.find("</select>").unwrap()];
    assert!(select.contains("value=\"acme\"") && !select.contains("value=\"beta\""), "{select}");
    let reply = olga.post("/admin/orgs", &[("name", "gamma"), ("quota", "")]);
    assert_eq!(reply.status, 403, "organisation admins cannot create organisations");
    assert!(!admin.page("/admin").contains("data-name=\"gamma\""));
    // … creates accounts in its organisation only, within its quota.
    let (location, _) = olga.post_and_follow(
        "/admin/users",
        &[("name", "otto"), ("password", "otto-password-1"), ("org", "acme"), ("quota", "1")],
    );
    assert_eq!(location, "/admin?done=admin.done.user");
    Browser::login(&server, "otto", "otto-password-1");
    let (location, _) = olga.post_and_follow(
        "/admin/users",
        &[("name", "otto2"), ("password", "otto-password-1"), ("org", "beta"), ("quota", "")],
    );
    assert_eq!(location, "/admin?failed=error.forbidden");
    let (location, _) = olga.post_and_follow(
        "/admin/users",
        &[("name", "otto3"), ("password", "otto-password-1"), ("org", "acme"), ("quota", "3")],
    );
    assert_eq!(location, "/admin?failed=admin.failed.quota_org");
    // … and cannot delete accounts of other organisations.
    let (location, _) = olga.post_and_follow("/admin/users/delete", &[("name", "bert")]);
    assert!(location.starts_with("/admin?failed="), "{location}");
    Browser::login(&server, "bert", "bert-password-1");

    // A plain account gets 403 on the page and on every action, and changes nothing.
    let html = erika.page("/apps/files/");
    assert!(!html.contains("id=\"nav-admin\""));
    assert_eq!(erika.get("/admin").status, 403);
    let actions: &[(&str, &[(&str, &str)])] = &[
        ("/admin/orgs", &[("name", "delta"), ("quota", "")]),
        ("/admin/users", &[("name", "eve"), ("password", "eve-password-1"), ("org", "acme"), ("quota", "")]),
        ("/admin/users/quota", &[("name", "erika"), ("quota", "")]),
        ("/admin/users/delete", &[("name", "otto")]),
        ("/admin/groups", &[("name", "evil"), ("org", "")]),
        ("/admin/groups/members", &[("group", "team"), ("member", "bert")]),
        ("/admin/guests", &[("email", "eve@example.org")]),
    ];
    for (path, fields) in actions {
        assert_eq!(erika.post(path, fields).status, 403, "POST {path} by a plain account");
    }
    let html = admin.page("/admin");
    for absent in ["data-name=\"delta\"", "data-name=\"eve\"", "data-name=\"evil\"", "data-name=\"eve@example.org\""] {
        assert!(!html.contains(absent), "{absent} was created");
    }
    assert!(html.contains("data-name=\"otto\""), "otto was not deleted");

    // Deleting an account ends its logins.
    let (location, html) = admin.post_and_follow("/admin/users/delete", &[("name", "bert")]);
    assert_eq!(location, "/admin?done=admin.done.deleted");
    assert!(!html.contains("data-name=\"bert\""));
    assert_eq!(Browser::new(&server).try_login("bert", "bert-password-1").status, 401);
}

#[test]
fn forged_forms_are_refused() {
    let server = TestServer::start();
    server.add_user("anna", "anna-password-1", &[]);
    let mut admin = Browser::login(&server, "admin", ADMIN_PASSWORD);
    let mut anna = Browser::login(&server, "anna", "anna-password-1");
    let anna_csrf = anna.csrf();

    for csrf in [None, Some("wrong"), Some(anna_csrf.as_str())] {
        let mut fields = vec![("name", "forged"), ("quota", "")];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }
        let reply = admin.post_raw("/admin/orgs", &form_body(&fields));
        assert_eq!(reply.status, 403, "csrf {csrf:?}");
        let mut fields = vec![("display_name", "Forged")];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }
        assert_eq!(admin.post_raw("/settings/profile", &form_body(&fields)).status, 403, "csrf {csrf:?}");
        let mut fields = vec![("current", ADMIN_PASSWORD), ("new", "forged-password")];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }
        assert_eq!(admin.post_raw("/settings/password", &form_body(&fields)).status, 403, "csrf {csrf:?}");
    }
    // The right token from another site is refused, too.
    let csrf = admin.csrf();
    let body = form_body(&[("csrf", &csrf), ("name", "forged"), ("quota", "")]);
    assert_eq!(admin.post_with_origin("/admin/orgs", &body, Some("http://evil.example")).status, 403);
    let body = form_body(&[("csrf", &csrf), ("label", "forged")]);
    assert_eq!(admin.post_with_origin("/settings/app-passwords", &body, Some("http://evil.example")).status, 403);
    // Without a session: to the login page.
    assert_eq!(Browser::new(&server).post_raw("/admin/orgs", &form_body(&[("name", "forged")])).status, 303);

    let html = admin.page("/admin");
    assert!(!html.contains("data-name=\"forged\""), "an organisation was created");
    let settings = admin.page("/settings");
    assert!(!settings.contains("Forged") && !settings.contains("forged"), "a forged form changed the settings");
    assert_eq!(propfind_status(&server, "admin", ADMIN_PASSWORD), 207);
    assert_eq!(anna.get("/admin").status, 403);
}

/// Administration actions need a recently entered password: an older session is sent to the
/// login form (which says why), nothing changes, and after entering the password again the
/// action works (window 2 s here, 15 minutes by default).
#[test]
fn administration_asks_for_the_password_again_after_a_while() {
    let server = TestServer::start_with_env(&[], &[("HAFEN_ADMIN_REAUTH_SECONDS", "2")]);
    let mut admin = Browser::login(&server, "admin", ADMIN_PASSWORD);
    let (location, _) = admin.post_and_follow("/admin/orgs", &[("name", "frisch"), ("quota", "")]);
    assert!(location.starts_with("/admin"), "a fresh session administers: {location}");
    std::thread::sleep(std::time::Duration::from_millis(3000));
    let reply = admin.post("/admin/orgs", &[("name", "spaeter"), ("quota", "")]);
    assert_eq!(reply.status, 303);
    let location = reply.header("Location").expect("Location").to_string();
    assert!(location.starts_with("/login?reauth=1"), "{location}");
    let form = admin.page(&location);
    assert!(form.contains("bestätigen Sie Ihr Passwort"), "{form}");
    let orgs = server.cli(&["org", "list"], None).1;
    assert!(orgs.contains("frisch") && !orgs.contains("spaeter"), "nothing changed: {orgs}");
    // The rest of the interface keeps working with the older session.
    assert_eq!(admin.get("/apps/files/").status, 200);
    let mut again = Browser::login(&server, "admin", ADMIN_PASSWORD);
    let (location, _) = again.post_and_follow("/admin/orgs", &[("name", "spaeter"), ("quota", "")]);
    assert!(location.starts_with("/admin"), "{location}");
    assert!(server.cli(&["org", "list"], None).1.contains("spaeter"));
}
