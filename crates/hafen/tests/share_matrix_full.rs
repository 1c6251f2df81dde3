//! Issue 6, acceptance 1: the authorization matrix of sharing. One server, one fixture; for
//! every endpoint family (WebDAV, public WebDAV, OCS shares, JSON API, web pages) and every
//! role (owner, user-share recipients with each permission, group member, a user and the admin
//! of another organisation, a guest, anonymous visitors with a good, a password-protected, a
//! wrong-password, an expired, an unknown and a file-drop link, the server admin) the table
//! below states the exact status expected. All rows run in one loop; every mismatch is
//! collected and the test fails at the end listing each of them, so one run shows every
//! unexpected allow (and every unexpected deny).
//!
//! After every row the owner's data is compared with the fixture: a denied request must have
//! changed nothing (plan.txt byte-identical, no new entry, nothing gone, /Privat untouched);
//! an allowed write must have had its effect, which is then undone so the next row starts
//! from the same state. Shares, accounts and memberships an allowed row creates are removed
//! again the same way.
//!
//! Fixture: organisations `ministry` and `town`. alice (ministry) owns /Akten/plan.txt and
//! /Privat/secret.txt (never shared). /Akten is shared with bob_r (1 read), bob_ru (3
//! read+update), bob_rc (5 read+create), bob_rd (9 read+delete), bob_rs (17 read+share), bob_all
//! (31), the project group `projekt` (1; its member gina is in `town`), the guest (15) and
//! viktor (1; the share the "delete someone's share" rows aim at). carol (town) receives
//! nothing, tom is town's organisation admin. Reshares go to mara (ministry, no share).

mod common;

use common::{Client, Reply, TestServer, ADMIN_PASSWORD};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

const PLAN: &[u8] = b"Plan 2026: Haushalt, Personal, Bauvorhaben.\n";
const SECRET: &[u8] = b"streng vertraulich: nur alice\n";
const LINK_PASSWORD: &str = "Link-Passwort-2026";
const WRONG_LINK_PASSWORD: &str = "falsch-geraten-123";
const GUEST_EMAIL: &str = "gast@example.org";
const GUEST_PASSWORD: &str = "Gast-Passwort-2026";
const UNKNOWN_TOKEN: &str = "UnbekanntesToken0000";

const PROPFIND_PERMS: &str = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\">\
     <d:prop><d:resourcetype/><oc:permissions/></d:prop></d:propfind>";

/// Status sentinel in the tables: "any refusal" (400, 401, 403 or 404) — used only for path
/// escape attempts, where the spec fixes no single code; what matters is that nothing of
/// /Privat comes back.
const DENY: u16 = 1;
/// Table cell that is not a row (the operation does not apply to the role).
const SKIP: u16 = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Role {
    Alice,
    BobR,
    BobRu,
    BobRc,
    BobRd,
    BobRs,
    BobAll,
    Gina,
    Guest,
    Carol,
    Tom,
    Admin,
    /// No credentials; a read link (1) without password.
    AnonLink,
    /// A read link with password, and the right password.
    AnonPassword,
    /// The same password-protected link, without a password.
    AnonNoPassword,
    /// A password-protected link, with a wrong password.
    AnonWrongPassword,
    /// A link whose expiry lies in the past.
    AnonExpired,
    /// A token no link has.
    AnonUnknown,
    /// A file-drop link (4: create only).
    AnonDrop,
}
use Role::*;

const ACCOUNT_ROLES: [Role; 12] = [Alice, BobR, BobRu, BobRc, BobRd, BobRs, BobAll, Gina, Guest, Carol, Tom, Admin];

impl Role {
    fn account(self) -> Option<&'static str> {
        Some(match self {
            Alice => "alice",
            BobR => "bob_r",
            BobRu => "bob_ru",
            BobRc => "bob_rc",
            BobRd => "bob_rd",
            BobRs => "bob_rs",
            BobAll => "bob_all",
            Gina => "gina",
            Guest => GUEST_EMAIL,
            Carol => "carol",
            Tom => "tom",
            Admin => "admin",
            _ => return None,
        })
    }

    /// The share permissions the role holds on /Akten (0: none).
    fn held(self) -> i64 {
        match self {
            BobR | Gina => 1,
            BobRu => 3,
            BobRc => 5,
            BobRd => 9,
            BobRs => 17,
            BobAll => 31,
            Guest => 15,
            _ => 0,
        }
    }
}

fn password_of(account: &str) -> String {
    match account {
        "admin" => ADMIN_PASSWORD.to_string(),
        GUEST_EMAIL => GUEST_PASSWORD.to_string(),
        other => format!("{other}-Passwort-1"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    // WebDAV, in the role's own namespace (/remote.php/dav/files/{role}/…).
    DavPropfindAkten,
    DavGetPlan,
    DavPutPlan,
    DavPutNew,
    DavMkcol,
    DavMoveRename,
    DavDeletePlan,
    DavPropfindPrivat,
    /// `oc:permissions` of a path of the role's namespace.
    DavLetters(&'static str),
    /// (method, path) on alice's URL /remote.php/dav/files/alice/….
    DavAlice(&'static str, &'static str),
    // Public WebDAV /public.php/dav/files/{token}/….
    PubPropfind,
    PubGetPlan,
    PubPutPlan,
    PubPutNew,
    PubMkcol,
    PubDeletePlan,
    PubMoveRename,
    PubEscape,
    PubThrottled,
    // OCS share API.
    OcsList(&'static str),
    OcsShare {
        path: &'static str,
        share_type: u8,
        perms: i64,
    },
    OcsGetVictim,
    OcsUpdateVictim,
    OcsRaiseOwnReceived,
    OcsDeleteVictim,
    // JSON API.
    ApiList(&'static str),
    ApiShare {
        path: &'static str,
        kind: &'static str,
        perms: i64,
    },
    ApiGetVictim,
    ApiPatchVictim,
    ApiRaiseOwnReceived,
    ApiDeleteVictim,
    ApiListUsers,
    ApiCreateUser {
        org: &'static str,
        admin: bool,
    },
    ApiDeleteUser(&'static str),
    ApiCreateOrg,
    ApiCreateGroup(&'static str),
    ApiAddMember,
    ApiInviteGuest,
    ApiNotifications,
    // Web pages /s/{token}….
    PageView,
    PageDownload,
    PageEscape,
    PageUploadNew,
    PageUploadPlan,
    PageLogin(bool),
    PageViewWithCookie,
    PageDownloadWithCookie,
    PageForgedCookie,
    /// GET /s/{password link} with the role's account Basic credentials.
    PageViewAsAccount,
}
use Op::*;

#[derive(Clone, Debug)]
enum Expect {
    Status(u16),
    AnyDeny,
    /// 207 and exactly these `oc:permissions` letters (order ignored).
    Letters(&'static str),
}

impl Expect {
    fn from_cell(cell: u16) -> Expect {
        if cell == DENY {
            Expect::AnyDeny
        } else {
            Expect::Status(cell)
        }
    }
    fn describe(&self) -> String {
        match self {
            Expect::Status(code) => code.to_string(),
            Expect::AnyDeny => "a refusal (400/401/403/404)".into(),
            Expect::Letters(letters) => format!("207 with oc:permissions {letters}"),
        }
    }
    fn accepts(&self, status: u16) -> bool {
        match self {
            Expect::Status(code) => status == *code,
            Expect::AnyDeny => matches!(status, 400 | 401 | 403 | 404),
            Expect::Letters(_) => status == 207,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The matrix.
// ---------------------------------------------------------------------------------------

const DAV_OPS: [Op; 13] = [
    DavPropfindAkten,
    DavGetPlan,
    DavPutPlan,
    DavPutNew,
    DavMkcol,
    DavMoveRename,
    DavDeletePlan,
    DavPropfindPrivat,
    DavAlice("PROPFIND", "Akten/"),
    DavAlice("GET", "Akten/plan.txt"),
    DavAlice("PUT", "Akten/plan.txt"),
    DavAlice("DELETE", "Akten/plan.txt"),
    DavAlice("GET", "Privat/secret.txt"),
];

/// Own namespace: a share appears as /Akten for its recipients only; writes need the bit
/// (update: overwrite and rename in place; create: new file and folder; delete). Roles
/// without the share have no /Akten at all: PROPFIND/GET/MOVE/DELETE 404, PUT/MKCOL 409 (the
/// parent folder does not exist in their own tree — anything else would mean they reached
/// alice's). alice's URLs are 403 for every other account, even the server admin, and 401
/// without credentials.
#[rustfmt::skip]
const DAV_TABLE: &[(Role, [u16; 13])] = &[
    //                 own namespace                                  | alice's URLs
    //                 PROPFIND GET  PUT   PUT  MKCOL MOVE DELETE PROPFIND| PROPFIND GET  PUT  DELETE GET
    //                 Akten    plan plan  new             plan   Privat  | Akten    plan plan plan   secret
    (Alice,           [207,     200, 204,  201, 201,  201, 204,   207,      207,     200, 204, 204,   200]),
    (BobR,            [207,     200, 403,  403, 403,  403, 403,   404,      403,     403, 403, 403,   403]),
    (BobRu,           [207,     200, 204,  403, 403,  201, 403,   404,      403,     403, 403, 403,   403]),
    (BobRc,           [207,     200, 403,  201, 201,  403, 403,   404,      403,     403, 403, 403,   403]),
    (BobRd,           [207,     200, 403,  403, 403,  403, 204,   404,      403,     403, 403, 403,   403]),
    (BobRs,           [207,     200, 403,  403, 403,  403, 403,   404,      403,     403, 403, 403,   403]),
    (BobAll,          [207,     200, 204,  201, 201,  201, 204,   404,      403,     403, 403, 403,   403]),
    (Gina,            [207,     200, 403,  403, 403,  403, 403,   404,      403,     403, 403, 403,   403]),
    (Guest,           [207,     200, 204,  201, 201,  201, 204,   404,      403,     403, 403, 403,   403]),
    (Carol,           [404,     404, 409,  409, 409,  404, 404,   404,      403,     403, 403, 403,   403]),
    (Tom,             [404,     404, 409,  409, 409,  404, 404,   404,      403,     403, 403, 403,   403]),
    (Admin,           [404,     404, 409,  409, 409,  404, 404,   404,      403,     403, 403, 403,   403]),
    (AnonLink,        [SKIP,    SKIP,SKIP, SKIP,SKIP, SKIP,SKIP,  SKIP,     401,     401, 401, 401,   401]),
];

/// `oc:permissions` of /Akten and /Akten/plan.txt in each role's namespace: S shared with me,
/// R reshare (bit 16), M mount root, G read, D delete, NV rename (update; the mount root can
/// always be left and renamed: D N V), W write a file (update), CK create in a folder.
#[rustfmt::skip]
const LETTER_TABLE: &[(Role, &str, &str)] = &[
    (Alice,  "RGDNVCK",   "RGDNVW"),
    (BobR,   "SMGDNV",    "SG"),
    (BobRu,  "SMGDNV",    "SGNVW"),
    (BobRc,  "SMGDNVCK",  "SG"),
    (BobRd,  "SMGDNV",    "SGD"),
    (BobRs,  "SRMGDNV",   "SRG"),
    (BobAll, "SRMGDNVCK", "SRGDNVW"),
    (Gina,   "SMGDNV",    "SG"),
    (Guest,  "SMGDNVCK",  "SGDNVW"),
];

const PUB_OPS: [Op; 9] =
    [PubPropfind, PubGetPlan, PubPutPlan, PubPutNew, PubMkcol, PubDeletePlan, PubMoveRename, PubEscape, PubThrottled];

/// Public WebDAV. A read link reads and writes nothing; without the password 401, wrong
/// password 401 three times, then 429 (throttled per link and address); expired or unknown
/// 404. The file drop (4) accepts new files (an existing name is stored under a free one, never
/// overwritten) but shows and hands out nothing (PROPFIND lists no children, GET/DELETE/MOVE of
/// a member 404) and makes no folders (403). The wrong-password row has exactly three
/// password failures before the throttled one.
#[rustfmt::skip]
const PUB_TABLE: &[(Role, [u16; 9])] = &[
    //                  PROPFIND GET  PUT   PUT  MKCOL DELETE MOVE  escape 4th wrong
    //                  root     plan plan  new        plan   plan         password
    (AnonLink,          [207,    200, 403,  403, 403,  403,   403,  DENY,  SKIP]),
    (AnonPassword,      [207,    200, 403,  403, 403,  403,   403,  DENY,  SKIP]),
    (AnonNoPassword,    [401,    401, 401,  401, 401,  401,   401,  DENY,  SKIP]),
    (AnonWrongPassword, [401,    401, SKIP, 401, SKIP, SKIP,  SKIP, SKIP,  429]),
    (AnonExpired,       [404,    404, 404,  404, 404,  404,   404,  DENY,  SKIP]),
    (AnonUnknown,       [404,    404, 404,  404, 404,  404,   404,  DENY,  SKIP]),
    (AnonDrop,          [207,    404, 201,  201, 403,  404,   404,  DENY,  SKIP]),
];

const OCS_OPS: [Op; 11] = [
    OcsList("path=/Akten"),
    OcsList(""),
    OcsList("shared_with_me=true"),
    OcsShare { path: "/Akten", share_type: 0, perms: 1 },
    OcsShare { path: "/Akten", share_type: 0, perms: 3 },
    OcsShare { path: "/Akten", share_type: 3, perms: 1 },
    OcsShare { path: "/Privat", share_type: 0, perms: 1 },
    OcsGetVictim,
    OcsUpdateVictim,
    OcsRaiseOwnReceived,
    OcsDeleteVictim,
];

/// OCS (v2: HTTP status = OCS status). Resharing needs bit 16 and never grants more than held
/// (bob_rs holds 17: may share read, not read+update); guests never share (403); a path the
/// role does not have is 404. alice's share to viktor is visible (GET/PUT/DELETE) only to
/// alice and the server admin (404 for everyone else); a recipient may not change the share
/// they receive (403).
#[rustfmt::skip]
const OCS_TABLE: &[(Role, [u16; 11])] = &[
    //                 list   list  shared  share  share  link   share   GET     PUT     PUT own  DELETE
    //                 Akten  own   with me 1      3      1      Privat  victim  victim  received victim
    (Alice,           [200,   200,  200,    200,   200,   200,   SKIP,   200,    200,    SKIP,    200]),
    (BobR,            [200,   200,  200,    403,   403,   403,   404,    404,    404,    403,     404]),
    (BobRu,           [200,   200,  200,    403,   403,   403,   404,    404,    404,    403,     404]),
    (BobRc,           [200,   200,  200,    403,   403,   403,   404,    404,    404,    403,     404]),
    (BobRd,           [200,   200,  200,    403,   403,   403,   404,    404,    404,    403,     404]),
    (BobRs,           [200,   200,  200,    200,   403,   200,   404,    404,    404,    403,     404]),
    (BobAll,          [200,   200,  200,    200,   200,   200,   404,    404,    404,    403,     404]),
    (Gina,            [200,   200,  200,    403,   403,   403,   404,    404,    404,    403,     404]),
    (Guest,           [200,   200,  200,    403,   403,   403,   403,    404,    404,    403,     404]),
    (Carol,           [404,   200,  200,    404,   404,   404,   404,    404,    404,    SKIP,    404]),
    (Tom,             [404,   200,  200,    404,   404,   404,   404,    404,    404,    SKIP,    404]),
    (Admin,           [404,   200,  200,    404,   404,   404,   404,    200,    200,    SKIP,    200]),
    (AnonLink,        [401,   401,  SKIP,   401,   SKIP,  SKIP,  SKIP,   401,    SKIP,   SKIP,    401]),
];

const API_SHARE_OPS: [Op; 10] = [
    ApiList(""),
    ApiList("shared_with_me=true"),
    ApiShare { path: "/Akten", kind: "user", perms: 1 },
    ApiShare { path: "/Akten", kind: "user", perms: 3 },
    ApiShare { path: "/Akten", kind: "link", perms: 1 },
    ApiShare { path: "/Privat", kind: "user", perms: 1 },
    ApiGetVictim,
    ApiPatchVictim,
    ApiRaiseOwnReceived,
    ApiDeleteVictim,
];

/// JSON API shares: the same rules as OCS, with REST statuses (201 created, 204 deleted).
#[rustfmt::skip]
const API_SHARE_TABLE: &[(Role, [u16; 10])] = &[
    //                 list  shared  share  share  link   share   GET     PATCH   PATCH own DELETE
    //                 own   with me 1      3      1      Privat  victim  victim  received  victim
    (Alice,           [200,  200,    201,   201,   201,   SKIP,   200,    200,    SKIP,     204]),
    (BobR,            [200,  200,    403,   403,   403,   404,    404,    404,    403,      404]),
    (BobRu,           [200,  200,    403,   403,   403,   404,    404,    404,    403,      404]),
    (BobRc,           [200,  200,    403,   403,   403,   404,    404,    404,    403,      404]),
    (BobRd,           [200,  200,    403,   403,   403,   404,    404,    404,    403,      404]),
    (BobRs,           [200,  200,    201,   403,   201,   404,    404,    404,    403,      404]),
    (BobAll,          [200,  200,    201,   201,   201,   404,    404,    404,    403,      404]),
    (Gina,            [200,  200,    403,   403,   403,   404,    404,    404,    403,      404]),
    (Guest,           [200,  200,    403,   403,   403,   403,    404,    404,    403,      404]),
    (Carol,           [200,  200,    404,   404,   404,   404,    404,    404,    SKIP,     404]),
    (Tom,             [200,  200,    404,   404,   404,   404,    404,    404,    SKIP,     404]),
    (Admin,           [200,  200,    404,   404,   404,   404,    200,    200,    SKIP,     204]),
    (AnonLink,        [401,  401,    401,   SKIP,  SKIP,  SKIP,   401,    SKIP,   SKIP,     401]),
];

const API_ADMIN_OPS: [Op; 12] = [
    ApiListUsers,
    ApiCreateUser { org: "town", admin: false },
    ApiCreateUser { org: "ministry", admin: false },
    ApiCreateUser { org: "town", admin: true },
    ApiDeleteUser("del_m"),
    ApiDeleteUser("del_t"),
    ApiCreateOrg,
    ApiCreateGroup("town"),
    ApiCreateGroup("ministry"),
    ApiAddMember,
    ApiInviteGuest,
    ApiNotifications,
];

/// JSON API administration: the server admin manages everything; tom (town's organisation
/// admin) lists (only town's accounts), creates and deletes accounts of town and creates
/// town groups — nothing of ministry, no server admins, no organisations; everyone else 403.
/// Adding carol to the project group is for the server admin only (gina is a plain member).
/// Every account but the guest may invite guests.
#[rustfmt::skip]
const API_ADMIN_TABLE: &[(Role, [u16; 12])] = &[
    //                 list   user   user      admin  delete  delete  org    group  group     member  guest   notifi-
    //                 users  town   ministry  town   del_m   del_t          town   ministry  projekt invite  cations
    (Alice,           [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (BobR,            [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (BobRu,           [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (BobRc,           [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (BobRd,           [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (BobRs,           [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (BobAll,          [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (Gina,            [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (Guest,           [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    403,    200]),
    (Carol,           [403,   403,   403,      403,   403,    403,    403,   403,   403,      403,    201,    200]),
    (Tom,             [200,   201,   403,      403,   403,    204,    403,   201,   403,      403,    201,    200]),
    (Admin,           [200,   201,   201,      201,   204,    204,    201,   201,   201,      204,    201,    200]),
    (AnonLink,        [401,   401,   SKIP,     SKIP,  401,    SKIP,   401,   401,   SKIP,     401,    401,    401]),
];

const PAGE_OPS: [Op; 10] = [
    PageView,
    PageDownload,
    PageEscape,
    PageUploadNew,
    PageUploadPlan,
    PageLogin(true),
    PageLogin(false),
    PageViewWithCookie,
    PageDownloadWithCookie,
    PageForgedCookie,
];

/// Web pages. The password form answers 401 until the right password is posted (303 and a
/// cookie scoped to that link; a wrong one 401); the cookie opens that link's page and
/// downloads, and its value under another link's cookie name opens nothing. Expired/unknown
/// 404. The drop page lists nothing and downloads nothing; uploads go only to links that
/// accept them.
#[rustfmt::skip]
const PAGE_TABLE: &[(Role, [u16; 10])] = &[
    //                  view  download escape upload upload  login  login  view    download forged
    //                        plan            new    plan    right  wrong  cookie  cookie   cookie
    (AnonLink,          [200, 200,     DENY,  403,   403,    SKIP,  SKIP,  SKIP,   SKIP,    SKIP]),
    (AnonNoPassword,    [401, 401,     SKIP,  401,   SKIP,   SKIP,  SKIP,  SKIP,   SKIP,    SKIP]),
    (AnonPassword,      [SKIP,SKIP,    SKIP,  SKIP,  SKIP,   303,   SKIP,  200,    200,     401]),
    (AnonWrongPassword, [401, 401,     SKIP,  SKIP,  SKIP,   SKIP,  401,   SKIP,   SKIP,    SKIP]),
    (AnonExpired,       [404, 404,     SKIP,  404,   SKIP,   SKIP,  SKIP,  SKIP,   SKIP,    SKIP]),
    (AnonUnknown,       [404, 404,     SKIP,  404,   SKIP,   SKIP,  SKIP,  SKIP,   SKIP,    SKIP]),
    (AnonDrop,          [200, 404,     DENY,  201,   201,    SKIP,  SKIP,  SKIP,   SKIP,    SKIP]),
];

struct Row {
    role: Role,
    op: Op,
    expect: Expect,
}

fn matrix() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut add_table = |ops: &[Op], table: &[(Role, &[u16])]| {
        for (role, cells) in table {
            assert_eq!(cells.len(), ops.len(), "table row of {role:?} has the wrong width");
            for (op, cell) in ops.iter().zip(cells.iter()) {
                if *cell != SKIP {
                    rows.push(Row { role: *role, op: *op, expect: Expect::from_cell(*cell) });
                }
            }
        }
    };
    let slices = |table: &'static [(Role, [u16; 13])]| table.iter().map(|(r, c)| (*r, &c[..])).collect::<Vec<_>>();
    add_table(&DAV_OPS, &slices(DAV_TABLE));
    let pub_rows: Vec<_> = PUB_TABLE.iter().map(|(r, c)| (*r, &c[..])).collect();
    add_table(&PUB_OPS, &pub_rows);
    let ocs_rows: Vec<_> = OCS_TABLE.iter().map(|(r, c)| (*r, &c[..])).collect();
    add_table(&OCS_OPS, &ocs_rows);
    let api_share_rows: Vec<_> = API_SHARE_TABLE.iter().map(|(r, c)| (*r, &c[..])).collect();
    add_table(&API_SHARE_OPS, &api_share_rows);
    let api_admin_rows: Vec<_> = API_ADMIN_TABLE.iter().map(|(r, c)| (*r, &c[..])).collect();
    add_table(&API_ADMIN_OPS, &api_admin_rows);
    let page_rows: Vec<_> = PAGE_TABLE.iter().map(|(r, c)| (*r, &c[..])).collect();
    add_table(&PAGE_OPS, &page_rows);
    for (role, root, file) in LETTER_TABLE {
        rows.push(Row { role: *role, op: DavLetters("Akten"), expect: Expect::Letters(root) });
        rows.push(Row { role: *role, op: DavLetters("Akten/plan.txt"), expect: Expect::Letters(file) });
    }
    // Account credentials are not a link password: no account opens the protected link page.
    for role in ACCOUNT_ROLES {
        rows.push(Row { role, op: PageViewAsAccount, expect: Expect::Status(401) });
    }
    rows
}

// ---------------------------------------------------------------------------------------
// Fixture and execution.
// ---------------------------------------------------------------------------------------

/// What an allowed write must have done to alice's /Akten.
enum Effect {
    None,
    PlanIs(Vec<u8>),
    AktenHas(String),
    AktenLacks(&'static str),
    /// A drop upload of an existing name: plan.txt unchanged, the content under another name.
    StoredBeside(Vec<u8>),
}

/// What to undo after an allowed row.
enum Cleanup {
    None,
    /// A share created by the row: its id is in the reply (OCS `ocs.data.id` or JSON `id`).
    CreatedShare {
        ocs: bool,
    },
    CreatedUser(String),
    RecreateUser(&'static str),
    VictimPermissions,
    RecreateVictim,
    RemoveMember,
    StoreCookie,
}

struct Done {
    request: String,
    reply: Reply,
    effect: Effect,
    cleanup: Cleanup,
}

struct Fixture {
    server: TestServer,
    admin: Client,
    alice: Client,
    link_read: String,
    link_password: String,
    link_wrong: String,
    link_wrong_web: String,
    link_expired: String,
    link_drop: String,
    /// The share that brings /Akten to each recipient role.
    received: HashMap<Role, String>,
    /// alice's share of /Akten with viktor.
    victim: String,
    /// `hafen_link_{token}=value` after the password form of the password link.
    cookie: Option<String>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

fn json_of(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
}

fn excerpt(reply: &Reply) -> String {
    let text = reply.text().replace('\n', " ");
    let mut cut: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        cut.push('…');
    }
    cut
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(byte) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Texts of the elements with local name `local` (any namespace prefix).
fn element_texts(xml: &str, local: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('/') || tag.starts_with('?') || tag.ends_with('/') {
            continue;
        }
        let name = tag.split_whitespace().next().unwrap_or_default();
        if name.rsplit(':').next() == Some(local) {
            let close = rest.find("</").unwrap_or(rest.len());
            found.push(rest[..close].to_string());
        }
    }
    found
}

/// Names of the members listed by a Depth 1 PROPFIND of `folder` (the folder itself left out).
fn member_names(xml: &str) -> BTreeSet<String> {
    element_texts(xml, "href")
        .iter()
        .skip(1)
        .map(|href| percent_decode(href.trim_end_matches('/').rsplit('/').next().unwrap_or_default()))
        .collect()
}

/// Whether a body carries (the start of) alice's secret.
fn leaks_secret(body: &[u8]) -> bool {
    body.windows(10).any(|window| window == &SECRET[..10])
}

fn letters_set(letters: &str) -> BTreeSet<char> {
    letters.chars().collect()
}

impl Fixture {
    fn build() -> Fixture {
        let server = TestServer::start();
        let cli = |args: &[&str]| {
            let (code, out, err) = server.cli(args, None);
            assert_eq!(code, 0, "hafen {args:?}: {out} {err}");
            out
        };
        cli(&["org", "add", "ministry", "--display-name", "Ministerium"]);
        cli(&["org", "add", "town", "--display-name", "Stadt"]);
        for name in ["alice", "bob_r", "bob_ru", "bob_rc", "bob_rd", "bob_rs", "bob_all", "viktor", "mara", "del_m"] {
            server.add_user(
                name,
                &password_of(name),
                &["--org", "ministry", "--email", &format!("{name}@ministry.example")],
            );
        }
        for name in ["carol", "gina", "del_t"] {
            server.add_user(name, &password_of(name), &["--org", "town", "--email", &format!("{name}@town.example")]);
        }
        server.add_user("tom", &password_of("tom"), &["--org", "town", "--org-admin", "--email", "tom@town.example"]);
        cli(&["group", "add", "projekt"]);
        cli(&["group", "add-member", "projekt", "gina"]);
        let invited = cli(&["guest", "invite", GUEST_EMAIL, "--by", "alice"]);
        let link = invited
            .lines()
            .find_map(|line| line.strip_prefix("invitation link: "))
            .unwrap_or_else(|| panic!("no invitation link printed: {invited}"));
        let invitation = link.rsplit("/invite/").next().unwrap_or_default().trim();
        let accepted = Client::anonymous().send(
            "POST",
            &format!("{}/invite/{invitation}", server.base),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("password={GUEST_PASSWORD}").as_bytes(),
        );
        assert_eq!(accepted.status, 200, "accepting the invitation: {}", accepted.text());

        let alice = Client::new("alice", &password_of("alice"));
        let admin = Client::new("admin", ADMIN_PASSWORD);
        for (path, body) in [("Akten/plan.txt", PLAN), ("Privat/secret.txt", SECRET)] {
            let folder = path.split('/').next().unwrap_or_default();
            assert_eq!(alice.mkcol(&server.dav_url("alice", folder)).status, 201);
            assert_eq!(alice.put(&server.dav_url("alice", path), body).status, 201);
        }
        let mut fixture = Fixture {
            server,
            admin,
            alice,
            link_read: String::new(),
            link_password: String::new(),
            link_wrong: String::new(),
            link_wrong_web: String::new(),
            link_expired: String::new(),
            link_drop: String::new(),
            received: HashMap::new(),
            victim: String::new(),
            cookie: None,
        };
        for role in [BobR, BobRu, BobRc, BobRd, BobRs, BobAll, Guest] {
            let share = fixture.alice_share(json!({"path": "/Akten", "type": "user",
                "with": role.account(), "permissions": role.held()}));
            fixture.received.insert(role, share["id"].as_str().unwrap_or_default().to_string());
        }
        let group =
            fixture.alice_share(json!({"path": "/Akten", "type": "group", "with": "projekt", "permissions": 1}));
        fixture.received.insert(Gina, group["id"].as_str().unwrap_or_default().to_string());
        fixture.victim = fixture.create_victim();
        let link = |fixture: &Fixture, extra: Value| {
            let mut body = json!({"path": "/Akten", "type": "link", "permissions": 1});
            if let (Some(object), Value::Object(extra)) = (body.as_object_mut(), extra) {
                object.extend(extra);
            }
            fixture.alice_share(body)["token"].as_str().unwrap_or_default().to_string()
        };
        fixture.link_read = link(&fixture, json!({}));
        fixture.link_password = link(&fixture, json!({"password": LINK_PASSWORD}));
        fixture.link_wrong = link(&fixture, json!({"password": LINK_PASSWORD}));
        fixture.link_wrong_web = link(&fixture, json!({"password": LINK_PASSWORD}));
        fixture.link_expired = link(&fixture, json!({"expires_at": now() - 10}));
        fixture.link_drop = link(&fixture, json!({"permissions": 4}));
        for token in [&fixture.link_read, &fixture.link_password, &fixture.link_expired, &fixture.link_drop] {
            assert!(token.len() >= 10, "link without a token");
        }
        fixture
    }

    fn alice_share(&self, body: Value) -> Value {
        let reply = self.alice.send(
            "POST",
            &format!("{}/api/v1/shares", self.server.base),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(reply.status, 201, "fixture share {body}: {}", reply.text());
        json_of(&reply)
    }

    fn create_victim(&self) -> String {
        let share = self.alice_share(json!({"path": "/Akten", "type": "user", "with": "viktor", "permissions": 1}));
        share["id"].as_str().unwrap_or_default().to_string()
    }

    fn client(&self, role: Role) -> Client {
        match role.account() {
            Some(name) => Client::new(name, &password_of(name)),
            None => Client::anonymous(),
        }
    }

    /// The client for public WebDAV: Basic auth carries the link password.
    fn public_client(&self, role: Role) -> Client {
        match role {
            AnonPassword => Client::new("anonymous", LINK_PASSWORD),
            AnonWrongPassword => Client::new("anonymous", WRONG_LINK_PASSWORD),
            _ => Client::anonymous(),
        }
    }

    fn token(&self, role: Role, pages: bool) -> &str {
        match role {
            AnonLink => &self.link_read,
            AnonPassword | AnonNoPassword => &self.link_password,
            AnonWrongPassword if pages => &self.link_wrong_web,
            AnonWrongPassword => &self.link_wrong,
            AnonExpired => &self.link_expired,
            AnonUnknown => UNKNOWN_TOKEN,
            AnonDrop => &self.link_drop,
            _ => &self.link_password,
        }
    }

    fn alice_names(&self, folder: &str) -> BTreeSet<String> {
        let reply = self.alice.propfind(&self.server.dav_url("alice", &format!("{folder}/")), "1", PROPFIND_PERMS);
        assert_eq!(reply.status, 207, "alice's PROPFIND of {folder}: {}", reply.text());
        member_names(&reply.text())
    }

    fn alice_get(&self, path: &str) -> Reply {
        self.alice.get(&self.server.dav_url("alice", path))
    }

    /// How alice's data differs from the fixture (empty: unchanged).
    fn deviations(&self) -> Vec<String> {
        let mut found = Vec::new();
        let akten = self.alice_names("Akten");
        if akten != BTreeSet::from(["plan.txt".to_string()]) {
            found.push(format!("alice's /Akten now holds {akten:?}"));
        }
        let plan = self.alice_get("Akten/plan.txt");
        if plan.status != 200 || plan.body != PLAN {
            found.push(format!("alice's plan.txt changed: {} {:?}", plan.status, excerpt(&plan)));
        }
        let privat = self.alice_names("Privat");
        if privat != BTreeSet::from(["secret.txt".to_string()]) {
            found.push(format!("alice's /Privat now holds {privat:?}"));
        }
        let secret = self.alice_get("Privat/secret.txt");
        if secret.status != 200 || secret.body != SECRET {
            found.push(format!("alice's secret.txt changed: {}", secret.status));
        }
        found
    }

    /// Puts alice's /Akten back into the fixture state.
    fn restore(&self) {
        for name in self.alice_names("Akten") {
            if name != "plan.txt" {
                let reply = self.alice.delete(&self.server.dav_url("alice", &format!("Akten/{name}")));
                assert!(reply.status < 300, "restore: delete {name}: {}", reply.status);
            }
        }
        if self.alice_get("Akten/plan.txt").body != PLAN {
            let reply = self.alice.put(&self.server.dav_url("alice", "Akten/plan.txt"), PLAN);
            assert!(reply.status < 300, "restore: put plan.txt: {}", reply.status);
        }
        let left = self.deviations();
        assert!(left.is_empty(), "could not restore the fixture: {left:?}");
    }

    fn verify_effect(&self, effect: &Effect) -> Option<String> {
        match effect {
            Effect::None => None,
            Effect::PlanIs(content) => {
                let plan = self.alice_get("Akten/plan.txt");
                (plan.body != *content)
                    .then(|| format!("allowed, but alice's plan.txt is not the new content ({})", plan.status))
            }
            Effect::AktenHas(name) => {
                let names = self.alice_names("Akten");
                (!names.contains(name)).then(|| format!("allowed, but alice's /Akten lacks {name}: {names:?}"))
            }
            Effect::AktenLacks(name) => {
                let names = self.alice_names("Akten");
                names.contains(*name).then(|| format!("allowed, but alice's /Akten still has {name}"))
            }
            Effect::StoredBeside(content) => {
                let plan = self.alice_get("Akten/plan.txt");
                if plan.body != PLAN {
                    return Some("the drop upload overwrote plan.txt".into());
                }
                let names = self.alice_names("Akten");
                let beside = names.iter().find(|name| name.as_str() != "plan.txt" && name.starts_with("plan"));
                match beside {
                    Some(name) if self.alice_get(&format!("Akten/{name}")).body == *content => None,
                    _ => Some(format!("the drop upload of plan.txt is not stored under a free name: {names:?}")),
                }
            }
        }
    }

    fn cleanup(&mut self, cleanup: &Cleanup, reply: &Reply) {
        let base = self.server.base.clone();
        match cleanup {
            Cleanup::None => {}
            Cleanup::CreatedShare { ocs } => {
                let value = json_of(reply);
                let id = if *ocs { &value["ocs"]["data"]["id"] } else { &value["id"] };
                let id = id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string());
                let deleted = self.admin.delete(&format!("{base}/api/v1/shares/{id}"));
                assert_eq!(deleted.status, 204, "cleanup: delete share {id}: {}", deleted.text());
            }
            Cleanup::CreatedUser(name) => {
                let deleted = self.admin.delete(&format!("{base}/api/v1/users/{name}"));
                assert_eq!(deleted.status, 204, "cleanup: delete user {name}: {}", deleted.text());
            }
            Cleanup::RecreateUser(name) => {
                let org = if name.ends_with("_m") { "ministry" } else { "town" };
                self.server.add_user(name, &password_of(name), &["--org", org]);
            }
            Cleanup::VictimPermissions => {
                let reply = self.alice.send(
                    "PATCH",
                    &format!("{base}/api/v1/shares/{}", self.victim),
                    &[("Content-Type", "application/json")],
                    br#"{"permissions": 1}"#,
                );
                assert_eq!(reply.status, 200, "cleanup: victim permissions: {}", reply.text());
            }
            Cleanup::RecreateVictim => {
                let reply = self.alice.get(&format!("{base}/api/v1/shares/{}", self.victim));
                if reply.status == 404 {
                    self.victim = self.create_victim();
                }
            }
            Cleanup::RemoveMember => {
                let reply = self.admin.delete(&format!("{base}/api/v1/groups/projekt/members/carol"));
                assert!(reply.status < 300, "cleanup: remove carol from projekt: {}", reply.text());
            }
            Cleanup::StoreCookie => {
                self.cookie = reply
                    .header("set-cookie")
                    .and_then(|cookie| cookie.split(';').next())
                    .map(|pair| pair.trim().to_string());
            }
        }
    }

    /// Runs one operation as `role`; `notes` collects content violations seen in the reply.
    fn run(&self, index: usize, role: Role, op: Op, notes: &mut Vec<String>) -> Done {
        let base = &self.server.base;
        let me = role.account().unwrap_or("anonymous");
        let client = self.client(role);
        let own = |path: &str| self.server.dav_url(me, path);
        let form = [("Content-Type", "application/x-www-form-urlencoded"), ("OCS-APIRequest", "true")];
        let json_type = [("Content-Type", "application/json")];
        let ocs_shares = format!("{base}/ocs/v2.php/apps/files_sharing/api/v1/shares");
        let api = format!("{base}/api/v1");
        let public = |role: Role| format!("{base}/public.php/dav/files/{}/", self.token(role, false));
        let page = |role: Role| format!("{base}/s/{}", self.token(role, true));
        let mut effect = Effect::None;
        let mut cleanup = Cleanup::None;
        let new_content = format!("geschrieben von {role:?} in Zeile {index}\n").into_bytes();
        let (request, reply) = match op {
            DavPropfindAkten => {
                let url = own("Akten/");
                let reply = client.propfind(&url, "1", PROPFIND_PERMS);
                if reply.status == 207 {
                    let names = member_names(&reply.text());
                    if names != BTreeSet::from(["plan.txt".to_string()]) {
                        notes.push(format!("listing of /Akten shows {names:?}"));
                    }
                }
                (format!("PROPFIND {url} (Depth 1)"), reply)
            }
            DavGetPlan => {
                let url = own("Akten/plan.txt");
                let reply = client.get(&url);
                if reply.status == 200 && reply.body != PLAN {
                    notes.push("GET plan.txt returned other bytes".into());
                }
                (format!("GET {url}"), reply)
            }
            DavPutPlan => {
                let url = own("Akten/plan.txt");
                effect = Effect::PlanIs(new_content.clone());
                (format!("PUT {url} (overwrite)"), client.put(&url, &new_content))
            }
            DavPutNew => {
                let name = format!("neu-{index}.txt");
                let url = own(&format!("Akten/{name}"));
                effect = Effect::AktenHas(name);
                (format!("PUT {url} (new file)"), client.put(&url, &new_content))
            }
            DavMkcol => {
                let name = format!("ordner-{index}");
                let url = own(&format!("Akten/{name}"));
                effect = Effect::AktenHas(name);
                (format!("MKCOL {url}"), client.mkcol(&url))
            }
            DavMoveRename => {
                let url = own("Akten/plan.txt");
                let name = format!("plan-{index}.txt");
                let destination = own(&format!("Akten/{name}"));
                effect = Effect::AktenHas(name);
                let reply = client.send("MOVE", &url, &[("Destination", &destination)], b"");
                (format!("MOVE {url} → {destination}"), reply)
            }
            DavDeletePlan => {
                let url = own("Akten/plan.txt");
                effect = Effect::AktenLacks("plan.txt");
                (format!("DELETE {url}"), client.delete(&url))
            }
            DavPropfindPrivat => {
                let url = own("Privat/");
                (format!("PROPFIND {url} (Depth 1)"), client.propfind(&url, "1", PROPFIND_PERMS))
            }
            DavLetters(path) => {
                let url = own(path);
                (format!("PROPFIND {url} (Depth 0) oc:permissions"), client.propfind(&url, "0", PROPFIND_PERMS))
            }
            DavAlice(method, path) => {
                let url = self.server.dav_url("alice", path);
                let reply = match method {
                    "PROPFIND" => client.propfind(&url, "1", PROPFIND_PERMS),
                    "PUT" => {
                        effect = Effect::PlanIs(new_content.clone());
                        client.put(&url, &new_content)
                    }
                    "DELETE" => {
                        effect = Effect::AktenLacks("plan.txt");
                        client.delete(&url)
                    }
                    other => client.send(other, &url, &[], b""),
                };
                if reply.status < 300 && role != Alice && leaks_secret(&reply.body) {
                    notes.push("alice's secret.txt content was returned".into());
                }
                (format!("{method} {url}"), reply)
            }
            PubPropfind => {
                let url = public(role);
                let reply = self.public_client(role).propfind(&url, "1", PROPFIND_PERMS);
                if reply.status == 207 {
                    let names = member_names(&reply.text());
                    let expected: BTreeSet<String> =
                        if role == AnonDrop { BTreeSet::new() } else { BTreeSet::from(["plan.txt".to_string()]) };
                    if names != expected {
                        notes.push(format!("public listing shows {names:?}, expected {expected:?}"));
                    }
                }
                (format!("PROPFIND {url} (Depth 1)"), reply)
            }
            PubGetPlan => {
                let url = format!("{}plan.txt", public(role));
                let reply = self.public_client(role).get(&url);
                if reply.status == 200 && reply.body != PLAN {
                    notes.push("public GET plan.txt returned other bytes".into());
                }
                (format!("GET {url}"), reply)
            }
            PubPutPlan => {
                let url = format!("{}plan.txt", public(role));
                effect = if role == AnonDrop {
                    Effect::StoredBeside(new_content.clone())
                } else {
                    Effect::PlanIs(new_content.clone())
                };
                (format!("PUT {url} (existing name)"), self.public_client(role).put(&url, &new_content))
            }
            PubPutNew => {
                let name = format!("anonym-{index}.txt");
                let url = format!("{}{name}", public(role));
                effect = Effect::AktenHas(name);
                (format!("PUT {url} (new file)"), self.public_client(role).put(&url, &new_content))
            }
            PubMkcol => {
                let name = format!("ordner-{index}");
                let url = format!("{}{name}", public(role));
                effect = Effect::AktenHas(name);
                (format!("MKCOL {url}"), self.public_client(role).mkcol(&url))
            }
            PubDeletePlan => {
                let url = format!("{}plan.txt", public(role));
                effect = Effect::AktenLacks("plan.txt");
                (format!("DELETE {url}"), self.public_client(role).delete(&url))
            }
            PubMoveRename => {
                let url = format!("{}plan.txt", public(role));
                let name = format!("plan-{index}.txt");
                let destination = format!("{}{name}", public(role));
                effect = Effect::AktenHas(name);
                let reply = self.public_client(role).send("MOVE", &url, &[("Destination", &destination)], b"");
                (format!("MOVE {url} → {destination}"), reply)
            }
            PubEscape => {
                let url = format!("{}%2E%2E%2FPrivat%2Fsecret.txt", public(role));
                let reply = self.public_client(role).get(&url);
                if leaks_secret(&reply.body) {
                    notes.push("the link handed out /Privat/secret.txt".into());
                }
                (format!("GET {url}"), reply)
            }
            PubThrottled => {
                let url = format!("{}plan.txt", public(role));
                let reply = self.public_client(role).get(&url);
                if reply.status == 429 && reply.header("retry-after").is_none() {
                    notes.push("429 without Retry-After".into());
                }
                (format!("GET {url} (4th wrong password)"), reply)
            }
            OcsList(query) => {
                let url = format!("{ocs_shares}?format=json&{query}");
                let reply = client.send("GET", &url, &form[1..], b"");
                self.check_listing(role, query.contains("shared_with_me"), &reply, notes);
                (format!("GET {url}"), reply)
            }
            OcsShare { path, share_type, perms } => {
                let url = format!("{ocs_shares}?format=json");
                let with = if share_type == 3 { String::new() } else { "&shareWith=mara".to_string() };
                let body = format!("path={path}&shareType={share_type}{with}&permissions={perms}");
                cleanup = Cleanup::CreatedShare { ocs: true };
                (format!("POST {url} {body}"), client.send("POST", &url, &form, body.as_bytes()))
            }
            OcsGetVictim => {
                let url = format!("{ocs_shares}/{}?format=json", self.victim);
                (format!("GET {url}"), client.send("GET", &url, &form[1..], b""))
            }
            OcsUpdateVictim => {
                let url = format!("{ocs_shares}/{}?format=json", self.victim);
                cleanup = Cleanup::VictimPermissions;
                (format!("PUT {url} permissions=3"), client.send("PUT", &url, &form, b"permissions=3"))
            }
            OcsRaiseOwnReceived => {
                let id = self.received.get(&role).cloned().unwrap_or_default();
                let url = format!("{ocs_shares}/{id}?format=json");
                (
                    format!("PUT {url} permissions=31 (own received share)"),
                    client.send("PUT", &url, &form, b"permissions=31"),
                )
            }
            OcsDeleteVictim => {
                let url = format!("{ocs_shares}/{}?format=json", self.victim);
                cleanup = Cleanup::RecreateVictim;
                (format!("DELETE {url}"), client.send("DELETE", &url, &form[1..], b""))
            }
            ApiList(query) => {
                let url = format!("{api}/shares?{query}");
                let reply = client.get(&url);
                self.check_listing(role, query.contains("shared_with_me"), &reply, notes);
                (format!("GET {url}"), reply)
            }
            ApiShare { path, kind, perms } => {
                let url = format!("{api}/shares");
                let body = if kind == "link" {
                    json!({"path": path, "type": kind, "permissions": perms})
                } else {
                    json!({"path": path, "type": kind, "with": "mara", "permissions": perms})
                };
                cleanup = Cleanup::CreatedShare { ocs: false };
                (format!("POST {url} {body}"), client.send("POST", &url, &json_type, body.to_string().as_bytes()))
            }
            ApiGetVictim => {
                let url = format!("{api}/shares/{}", self.victim);
                (format!("GET {url}"), client.get(&url))
            }
            ApiPatchVictim => {
                let url = format!("{api}/shares/{}", self.victim);
                cleanup = Cleanup::VictimPermissions;
                let body = br#"{"permissions": 3}"#;
                (format!("PATCH {url} {{\"permissions\": 3}}"), client.send("PATCH", &url, &json_type, body))
            }
            ApiRaiseOwnReceived => {
                let id = self.received.get(&role).cloned().unwrap_or_default();
                let url = format!("{api}/shares/{id}");
                let body = br#"{"permissions": 31}"#;
                (
                    format!("PATCH {url} {{\"permissions\": 31}} (own received share)"),
                    client.send("PATCH", &url, &json_type, body),
                )
            }
            ApiDeleteVictim => {
                let url = format!("{api}/shares/{}", self.victim);
                cleanup = Cleanup::RecreateVictim;
                (format!("DELETE {url}"), client.delete(&url))
            }
            ApiListUsers => {
                let url = format!("{api}/users");
                let reply = client.get(&url);
                if reply.status == 200 && role == Tom {
                    let names: Vec<String> = json_of(&reply)
                        .as_array()
                        .map(|users| users.iter().filter_map(|u| u["name"].as_str().map(str::to_string)).collect())
                        .unwrap_or_default();
                    if names.iter().any(|name| name == "alice" || name == "admin")
                        || !names.iter().any(|n| n == "carol")
                    {
                        notes.push(format!("tom's account list is not town's: {names:?}"));
                    }
                }
                (format!("GET {url}"), reply)
            }
            ApiCreateUser { org, admin } => {
                let url = format!("{api}/users");
                let name = format!("neu{index}");
                let body = json!({"name": name, "password": password_of(&name), "org": org, "is_admin": admin});
                cleanup = Cleanup::CreatedUser(name);
                (format!("POST {url} {body}"), client.send("POST", &url, &json_type, body.to_string().as_bytes()))
            }
            ApiDeleteUser(name) => {
                let url = format!("{api}/users/{name}");
                cleanup = Cleanup::RecreateUser(name);
                (format!("DELETE {url}"), client.delete(&url))
            }
            ApiCreateOrg => {
                let url = format!("{api}/orgs");
                let body = json!({"name": format!("org{index}"), "display_name": "Neue Organisation"});
                (format!("POST {url} {body}"), client.send("POST", &url, &json_type, body.to_string().as_bytes()))
            }
            ApiCreateGroup(org) => {
                let url = format!("{api}/groups");
                let body = json!({"name": format!("gruppe{index}"), "display_name": "Gruppe", "org": org});
                (format!("POST {url} {body}"), client.send("POST", &url, &json_type, body.to_string().as_bytes()))
            }
            ApiAddMember => {
                let url = format!("{api}/groups/projekt/members/carol");
                cleanup = Cleanup::RemoveMember;
                (format!("PUT {url}"), client.send("PUT", &url, &json_type, br#"{"admin": false}"#))
            }
            ApiInviteGuest => {
                let url = format!("{api}/guests");
                let body = json!({"email": format!("gast{index}@example.org")});
                (format!("POST {url} {body}"), client.send("POST", &url, &json_type, body.to_string().as_bytes()))
            }
            ApiNotifications => {
                let url = format!("{api}/notifications");
                (format!("GET {url}"), client.get(&url))
            }
            PageView => {
                let url = page(role);
                let reply = Client::anonymous().get(&url);
                let text = reply.text();
                if reply.status == 200 {
                    let shows_plan = text.contains("plan.txt");
                    if role == AnonDrop && shows_plan {
                        notes.push("the drop page shows the folder's files".into());
                    }
                    if role != AnonDrop && !shows_plan {
                        notes.push("the link page does not list plan.txt".into());
                    }
                }
                if text.contains("secret.txt") {
                    notes.push("the page mentions secret.txt".into());
                }
                (format!("GET {url}"), reply)
            }
            PageDownload => {
                let url = format!("{}/download?path=/plan.txt", page(role));
                let reply = Client::anonymous().get(&url);
                if reply.status == 200 && reply.body != PLAN {
                    notes.push("download returned other bytes".into());
                }
                (format!("GET {url}"), reply)
            }
            PageEscape => {
                let url = format!("{}/download?path=/../Privat/secret.txt", page(role));
                let reply = Client::anonymous().get(&url);
                if leaks_secret(&reply.body) {
                    notes.push("the page handed out /Privat/secret.txt".into());
                }
                (format!("GET {url}"), reply)
            }
            PageUploadNew | PageUploadPlan => {
                let name =
                    if matches!(op, PageUploadPlan) { "plan.txt".to_string() } else { format!("seite-{index}.txt") };
                let url = format!("{}/upload/{name}", page(role));
                let reply = Client::anonymous().put(&url, &new_content);
                if reply.status == 201 {
                    let stored = json_of(&reply)["name"].as_str().unwrap_or_default().to_string();
                    if matches!(op, PageUploadPlan) {
                        effect = Effect::StoredBeside(new_content.clone());
                        if stored == "plan.txt" {
                            notes.push("the drop page upload claims to have stored plan.txt itself".into());
                        }
                    } else {
                        if stored != name {
                            notes.push(format!("upload answered name {stored:?}, expected {name:?}"));
                        }
                        effect = Effect::AktenHas(name);
                    }
                }
                (format!("PUT {url}"), reply)
            }
            PageLogin(right) => {
                let url = page(role);
                let password = if right { LINK_PASSWORD } else { WRONG_LINK_PASSWORD };
                let reply = Client::anonymous().send(
                    "POST",
                    &url,
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    format!("password={password}").as_bytes(),
                );
                if right {
                    cleanup = Cleanup::StoreCookie;
                    if reply.status == 303 && reply.header("set-cookie").is_none() {
                        notes.push("303 without Set-Cookie".into());
                    }
                } else if reply.header("set-cookie").is_some() {
                    notes.push("a wrong password got a cookie".into());
                }
                (format!("POST {url} password={}", if right { "(right)" } else { "(wrong)" }), reply)
            }
            PageViewWithCookie | PageDownloadWithCookie => {
                let mut url = page(role);
                if matches!(op, PageDownloadWithCookie) {
                    url.push_str("/download?path=/plan.txt");
                }
                let cookie = self.cookie.clone().unwrap_or_default();
                let reply = Client::anonymous().send("GET", &url, &[("Cookie", &cookie)], b"");
                if matches!(op, PageDownloadWithCookie) && reply.status == 200 && reply.body != PLAN {
                    notes.push("download returned other bytes".into());
                }
                (format!("GET {url} (with the link's cookie)"), reply)
            }
            PageForgedCookie => {
                let value = self.cookie.as_deref().and_then(|pair| pair.split_once('=')).map(|(_, v)| v).unwrap_or("x");
                let url = format!("{base}/s/{}", self.link_wrong_web);
                let cookie = format!("hafen_link_{}={value}", self.link_wrong_web);
                let reply = Client::anonymous().send("GET", &url, &[("Cookie", &cookie)], b"");
                (format!("GET {url} (another link's cookie value)"), reply)
            }
            PageViewAsAccount => {
                let url = format!("{base}/s/{}", self.link_password);
                (format!("GET {url} (account Basic credentials)"), client.get(&url))
            }
        };
        Done { request, reply, effect, cleanup }
    }

    /// Share listings must not reveal alice's shares to anyone else; "shared with me" lists
    /// /Akten exactly for its recipients.
    fn check_listing(&self, role: Role, shared_with_me: bool, reply: &Reply, notes: &mut Vec<String>) {
        if !(200..300).contains(&reply.status) {
            return;
        }
        let text = reply.text();
        if role != Alice && role != Admin {
            for (what, token) in [
                ("read link", &self.link_read),
                ("password link", &self.link_password),
                ("drop link", &self.link_drop),
                ("expired link", &self.link_expired),
            ] {
                if text.contains(token.as_str()) {
                    notes.push(format!("the listing reveals alice's {what}"));
                }
            }
            if text.contains("\"viktor\"") {
                notes.push("the listing reveals alice's share with viktor".into());
            }
        }
        if text.contains("Privat") {
            notes.push("the listing mentions /Privat".into());
        }
        if shared_with_me {
            let lists = text.contains("Akten");
            if role.held() > 0 && !lists {
                notes.push("shared_with_me does not list /Akten".into());
            }
            if role.held() == 0 && lists {
                notes.push("shared_with_me lists /Akten for a role without a share".into());
            }
        } else if role == Alice && !text.contains(self.link_read.as_str()) {
            notes.push("alice's own listing lacks her read link".into());
        }
    }
}

#[test]
fn every_role_gets_exactly_the_access_the_matrix_states() {
    let mut fixture = Fixture::build();
    let rows = matrix();
    let mut mismatches = Vec::new();
    let mut allowed = 0;
    for (index, row) in rows.iter().enumerate() {
        let mut notes = Vec::new();
        let done = fixture.run(index, row.role, row.op, &mut notes);
        let status = done.reply.status;
        if !row.expect.accepts(status) {
            let kind =
                if (200..300).contains(&status) || status == 303 { "UNEXPECTED ALLOW" } else { "unexpected status" };
            notes.insert(
                0,
                format!("{kind}: expected {}, got {status} {}", row.expect.describe(), excerpt(&done.reply)),
            );
        }
        if let Expect::Letters(expected) = &row.expect {
            if status == 207 {
                let got = element_texts(&done.reply.text(), "permissions").first().cloned().unwrap_or_default();
                if letters_set(&got) != letters_set(expected) {
                    notes.push(format!("oc:permissions {got:?}, expected {expected:?}"));
                }
            }
        }
        let succeeded = (200..300).contains(&status);
        if succeeded {
            allowed += 1;
            if let Some(problem) = fixture.verify_effect(&done.effect) {
                notes.push(problem);
            }
        } else {
            for deviation in fixture.deviations() {
                notes.push(format!("refused ({status}) but changed data: {deviation}"));
            }
        }
        fixture.restore();
        if succeeded || status == 303 {
            fixture.cleanup(&done.cleanup, &done.reply);
        }
        for note in notes {
            mismatches.push(format!("#{index} {:?}: {} — {note}", row.role, done.request));
        }
    }
    println!("share matrix: {} rows, {allowed} allowed, {} mismatches", rows.len(), mismatches.len());
    assert!(
        mismatches.is_empty(),
        "{} mismatches in the share matrix ({} rows):\n{}",
        mismatches.len(),
        rows.len(),
        mismatches.join("\n")
    );
}

fn expect_status(problems: &mut Vec<String>, what: &str, got: u16, expected: u16) {
    if got != expected {
        problems.push(format!("{what}: expected {expected}, got {got}"));
    }
}

/// A reshare (to a user, or as a public link) can never carry more than its resharer holds —
/// not only when it is made (the matrix checks that) but afterwards: when the owner narrows
/// the resharer's share, the reshares are narrowed with it; when the owner revokes it, the
/// reshares stop working. Otherwise an owner could never take back what they gave.
#[test]
fn reshares_never_outlast_or_exceed_the_resharers_rights() {
    let server = TestServer::start();
    for name in ["alice", "bob_all", "mara"] {
        server.add_user(name, &password_of(name), &[]);
    }
    let [alice, bob, mara] = ["alice", "bob_all", "mara"].map(|name| Client::new(name, &password_of(name)));
    assert_eq!(alice.mkcol(&server.dav_url("alice", "Akten")).status, 201);
    assert_eq!(alice.put(&server.dav_url("alice", "Akten/plan.txt"), PLAN).status, 201);
    let create = |client: &Client, body: Value| {
        let reply = client.send(
            "POST",
            &format!("{}/api/v1/shares", server.base),
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(reply.status, 201, "{body}: {}", reply.text());
        json_of(&reply)
    };
    let to_bob = create(&alice, json!({"path": "/Akten", "type": "user", "with": "bob_all", "permissions": 31}));
    let to_bob = to_bob["id"].as_str().unwrap_or_default().to_string();
    create(&bob, json!({"path": "/Akten", "type": "user", "with": "mara", "permissions": 31}));
    let link = create(&bob, json!({"path": "/Akten", "type": "link", "permissions": 15}));
    let public = format!("{}/public.php/dav/files/{}/", server.base, link["token"].as_str().unwrap_or_default());
    let anonymous = Client::anonymous();
    assert_eq!(mara.put(&server.dav_url("mara", "Akten/plan.txt"), PLAN).status, 204, "the reshare works at first");

    let mut problems = Vec::new();
    // alice narrows bob to read only.
    let narrowed = alice.send(
        "PATCH",
        &format!("{}/api/v1/shares/{to_bob}", server.base),
        &[("Content-Type", "application/json")],
        br#"{"permissions": 1}"#,
    );
    assert_eq!(narrowed.status, 200, "{}", narrowed.text());
    expect_status(
        &mut problems,
        "bob_all PUT Akten/plan.txt after narrowing",
        bob.put(&server.dav_url("bob_all", "Akten/plan.txt"), b"x").status,
        403,
    );
    expect_status(
        &mut problems,
        "mara (reshare of bob_all) PUT Akten/plan.txt after bob_all was narrowed to 1",
        mara.put(&server.dav_url("mara", "Akten/plan.txt"), b"von mara").status,
        403,
    );
    expect_status(
        &mut problems,
        "mara (reshare of bob_all) PUT Akten/neu.txt after bob_all was narrowed to 1",
        mara.put(&server.dav_url("mara", "Akten/neu.txt"), b"von mara").status,
        403,
    );
    expect_status(
        &mut problems,
        "bob_all's link (15) PUT plan.txt after bob_all was narrowed to 1",
        anonymous.put(&format!("{public}plan.txt"), b"anonym").status,
        403,
    );
    expect_status(
        &mut problems,
        "bob_all's link (15) PUT anonym.txt after bob_all was narrowed to 1",
        anonymous.put(&format!("{public}anonym.txt"), b"anonym").status,
        403,
    );
    expect_status(
        &mut problems,
        "mara GET after narrowing (read stays)",
        mara.get(&server.dav_url("mara", "Akten/plan.txt")).status,
        200,
    );
    let plan = alice.get(&server.dav_url("alice", "Akten/plan.txt"));
    if plan.body != PLAN {
        problems.push(format!("alice's plan.txt was changed through a reshare: {:?}", plan.text()));
    }
    let names = member_names(&alice.propfind(&server.dav_url("alice", "Akten/"), "1", PROPFIND_PERMS).text());
    if names != BTreeSet::from(["plan.txt".to_string()]) {
        problems.push(format!("files arrived in alice's /Akten through reshares: {names:?}"));
    }
    // alice revokes bob's share: what bob passed on goes with it.
    assert_eq!(alice.delete(&format!("{}/api/v1/shares/{to_bob}", server.base)).status, 204);
    expect_status(
        &mut problems,
        "bob_all GET after revocation",
        bob.get(&server.dav_url("bob_all", "Akten/plan.txt")).status,
        404,
    );
    expect_status(
        &mut problems,
        "mara (reshare of bob_all) GET Akten/plan.txt after bob_all's share was revoked",
        mara.get(&server.dav_url("mara", "Akten/plan.txt")).status,
        404,
    );
    expect_status(
        &mut problems,
        "bob_all's link GET plan.txt after bob_all's share was revoked",
        anonymous.get(&format!("{public}plan.txt")).status,
        404,
    );
    assert!(problems.is_empty(), "{} reshare problems:\n{}", problems.len(), problems.join("\n"));
}
