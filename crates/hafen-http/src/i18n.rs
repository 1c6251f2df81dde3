//! The message catalog of the server-rendered pages: German by default, English when the
//! browser prefers it. Every user-facing string of the pages comes from `t`. Placeholders
//! (`{client}`, `{user}`) are substituted by the caller after HTML escaping.

use axum::http::{header, HeaderMap};

/// Cookie holding the language chosen on the pages (`de` or `en`).
pub(crate) const LANGUAGE_COOKIE: &str = "hafen_lang";

/// A language the pages are available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    De,
    En,
}

impl Lang {
    /// The value for the `lang` attribute.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The browser's most preferred language among those available (`Accept-Language`, with
    /// q-values); German when it names none of them.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Lang {
        // The choice made on the pages (language form, settings) wins over the browser's.
        match crate::auth::cookie_value(headers, LANGUAGE_COOKIE) {
            Some("de") => return Lang::De,
            Some("en") => return Lang::En,
            _ => {}
        }
        let header = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default();
        Lang::from_accept_language(header)
    }

    /// The language of a `lang` form value.
    pub(crate) fn from_code(code: &str) -> Option<Lang> {
        match code {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn from_accept_language(header: &str) -> Lang {
        let mut ranges: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let quality = parts
                    .find_map(|param| param.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (quality > 0.0 && !tag.is_empty()).then_some((quality, tag))
            })
            .collect();
        // Stable: among equal qualities the order of the header decides.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges
            .iter()
            .find_map(|(_, tag)| {
                let primary = tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
                match primary.as_str() {
                    "de" => Some(Lang::De),
                    "en" => Some(Lang::En),
                    _ => None,
                }
            })
            .unwrap_or(Lang::De)
    }
}

/// The catalogs, German and English, one pair per area of the interface.
/// One language's table: key, text.
type Catalog = &'static [(&'static str, &'static str)];
const CATALOGS: &[(Catalog, Catalog)] = &[(DE, EN), (crate::web::catalog::DE, crate::web::catalog::EN)];

/// The text of `key` in `lang`; `?` when unknown (a bug, visible in tests).
pub(crate) fn t(lang: Lang, key: &str) -> &'static str {
    CATALOGS
        .iter()
        .flat_map(|(de, en)| match lang {
            Lang::De => de.iter(),
            Lang::En => en.iter(),
        })
        .find(|(name, _)| *name == key)
        .map_or_else(
            || {
                tracing::warn!(key, "missing translation");
                "?"
            },
            |(_, text)| *text,
        )
}

const DE: &[(&str, &str)] = &[
    ("login.title", "Anmelden"),
    ("login.intro", "Bitte melden Sie sich an, um diesem Programm Zugriff auf Ihr Konto zu geben: {client}"),
    ("login.user", "Benutzername"),
    ("login.password", "Passwort"),
    ("login.submit", "Anmelden"),
    ("login.failed", "Benutzername oder Passwort ist falsch."),
    ("login.throttled", "Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie etwas und versuchen Sie es dann erneut."),
    ("login.grant_expired", "Die Bestätigung ist abgelaufen. Bitte melden Sie sich erneut an."),
    ("grant.title", "Zugriff gewähren"),
    ("grant.question", "Zugriff für {client} gewähren?"),
    (
        "grant.explanation",
        "Das Programm erhält ein eigenes App-Passwort für das Konto {user}. Sie können es jederzeit widerrufen.",
    ),
    ("grant.submit", "Zugriff gewähren"),
    ("done.title", "Konto verbunden"),
    ("done.text", "Das Konto ist verbunden. Sie können dieses Fenster jetzt schließen."),
    ("invalid.title", "Link ungültig"),
    ("invalid.text", "Dieser Anmeldelink ist ungültig oder abgelaufen. Bitte starten Sie die Anmeldung im Programm neu."),
    ("refused.title", "Anfrage abgelehnt"),
    ("refused.text", "Die Anfrage konnte nicht überprüft werden. Bitte öffnen Sie den Anmeldelink erneut."),
    ("error.title", "Fehler"),
    ("error.text", "Auf dem Server ist ein Fehler aufgetreten. Bitte versuchen Sie es später erneut."),
    ("link.title", "Geteilte Dateien"),
    ("link.gone.title", "Link nicht verfügbar"),
    ("link.gone.text", "Dieser Link existiert nicht oder ist nicht mehr gültig."),
    ("link.forbidden", "Diese Aktion ist über diesen Link nicht erlaubt."),
    ("link.password.title", "Passwort erforderlich"),
    ("link.password.intro", "Dieser Link ist durch ein Passwort geschützt. Bitte geben Sie das Passwort ein."),
    ("link.password.submit", "Öffnen"),
    ("link.password.wrong", "Das Passwort ist falsch."),
    (
        "link.password.throttled",
        "Zu viele falsche Passwörter. Bitte warten Sie etwas und versuchen Sie es dann erneut.",
    ),
    ("link.download", "Herunterladen"),
    ("link.download_zip", "Alles als ZIP herunterladen"),
    ("link.download_folder", "ZIP"),
    ("link.download_folder.label", "Ordner {name} als ZIP herunterladen"),
    (
        "link.zip.too_large",
        "Dieser Ordner enthält zu viele Dateien, um ihn als ein ZIP herunterzuladen. Bitte laden Sie seine Unterordner einzeln herunter.",
    ),
    ("link.name", "Name"),
    ("link.size", "Größe"),
    ("drop.title", "Dateien hochladen"),
    (
        "drop.intro",
        "Über diesen Link können Sie Dateien hochladen. Bereits vorhandene Dateien sehen und überschreiben Sie nicht.",
    ),
    ("drop.choose", "Dateien auswählen"),
    ("drop.submit", "Hochladen"),
    ("drop.progress", "Fortschritt des Hochladens"),
    ("invite.title", "Passwort festlegen"),
    ("invite.intro", "Sie wurden zu Hafen eingeladen. Bitte legen Sie ein Passwort mit mindestens 10 Zeichen fest."),
    ("invite.password", "Neues Passwort"),
    ("invite.submit", "Passwort festlegen"),
    ("invite.short", "Das Passwort muss mindestens 10 Zeichen lang sein."),
    ("invite.invalid", "Dieser Einladungslink ist ungültig, wurde bereits verwendet oder ist abgelaufen."),
    ("invite.done.title", "Passwort festgelegt"),
    (
        "invite.done.text",
        "Ihr Passwort ist festgelegt. Sie können sich jetzt mit Ihrer E-Mail-Adresse als Benutzername anmelden.",
    ),
];

const EN: &[(&str, &str)] = &[
    ("login.title", "Log in"),
    ("login.intro", "Log in to give this program access to your account: {client}"),
    ("login.user", "Username"),
    ("login.password", "Password"),
    ("login.submit", "Log in"),
    ("login.failed", "Wrong username or password."),
    ("login.throttled", "Too many failed logins. Please wait a while, then try again."),
    ("login.grant_expired", "The confirmation has expired. Please log in again."),
    ("grant.title", "Grant access"),
    ("grant.question", "Grant access to {client}?"),
    (
        "grant.explanation",
        "The program gets its own app password for the account {user}. You can revoke it at any time.",
    ),
    ("grant.submit", "Grant access"),
    ("done.title", "Account connected"),
    ("done.text", "The account is connected. You can close this window now."),
    ("invalid.title", "Invalid link"),
    ("invalid.text", "This login link is invalid or has expired. Please start the login again from your program."),
    ("refused.title", "Request refused"),
    ("refused.text", "The request could not be verified. Please open the login link again."),
    ("error.title", "Error"),
    ("error.text", "An error occurred on the server. Please try again later."),
    ("link.title", "Shared files"),
    ("link.gone.title", "Link not available"),
    ("link.gone.text", "This link does not exist or is no longer valid."),
    ("link.forbidden", "This action is not allowed through this link."),
    ("link.password.title", "Password required"),
    ("link.password.intro", "This link is protected by a password. Please enter the password."),
    ("link.password.submit", "Open"),
    ("link.password.wrong", "The password is wrong."),
    ("link.password.throttled", "Too many wrong passwords. Please wait a while, then try again."),
    ("link.download", "Download"),
    ("link.download_zip", "Download all as ZIP"),
    ("link.download_folder", "ZIP"),
    ("link.download_folder.label", "Download folder {name} as ZIP"),
    (
        "link.zip.too_large",
        "This folder holds too many files to download as one ZIP. Please download its subfolders one by one.",
    ),
    ("link.name", "Name"),
    ("link.size", "Size"),
    ("drop.title", "Upload files"),
    (
        "drop.intro",
        "You can upload files through this link. You neither see nor overwrite files that are already there.",
    ),
    ("drop.choose", "Choose files"),
    ("drop.submit", "Upload"),
    ("drop.progress", "Upload progress"),
    ("invite.title", "Set your password"),
    ("invite.intro", "You were invited to Hafen. Please set a password of at least 10 characters."),
    ("invite.password", "New password"),
    ("invite.submit", "Set password"),
    ("invite.short", "The password must be at least 10 characters long."),
    ("invite.invalid", "This invitation link is invalid, was used already or has expired."),
    ("invite.done.title", "Password set"),
    ("invite.done.text", "Your password is set. You can now log in with your e-mail address as user name."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        for (de, en) in CATALOGS {
            let de: Vec<_> = de.iter().map(|(key, _)| *key).collect();
            let en: Vec<_> = en.iter().map(|(key, _)| *key).collect();
            assert_eq!(de, en);
        }
        let mut all: Vec<_> = CATALOGS.iter().flat_map(|(de, _)| de.iter().map(|(key, _)| *key)).collect();
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count, "a key is defined twice");
    }

    #[test]
    fn german_is_formal() {
        for (de, _) in CATALOGS {
            for (key, text) in de.iter() {
                let words: Vec<&str> = text.split(|c: char| !c.is_alphabetic()).collect();
                for informal in ["du", "dich", "dir", "dein", "deine", "deinen", "deinem", "deiner", "Du", "Dein"] {
                    assert!(!words.contains(&informal), "{key}: informal address in {text:?}");
                }
            }
        }
    }

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept_language(""), Lang::De);
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr-FR,fr;q=0.9,en;q=0.8,de;q=0.7"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0.5, de-AT"), Lang::De);
        assert_eq!(Lang::from_accept_language("en;q=0, fr"), Lang::De);
        assert_eq!(Lang::from_accept_language("EN-gb"), Lang::En);
    }
}
