//! Text people type, in one form whatever their keyboard sends.
//!
//! The same word can reach us as different code points: "é" precomposed (NFC, what
//! most keyboards send) or "e" + U+0301 (NFD, what some iOS and macOS inputs send),
//! a full-width "Ａ" from a Japanese keyboard, invisible joiners pasted from a chat.
//! Everything compared (secrets, login addresses, search terms) is compared in one
//! normal form, and the characters that would let an address look like another's are
//! refused. The tables come from libraries (`unicode-normalization`,
//! `unicode-security` for UTS #39, `deunicode` for folding): writing Unicode tables
//! is not what this project is for.

use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

/// A secret (password) in the form it is hashed and verified in: NFKC, as NIST SP
/// 800-63B (§3.1.1.2) asks, so "été" typed as NFC or NFD, or a full-width digit,
/// gives the same bytes.
pub fn secret(raw: &str) -> String {
    raw.nfkc().collect()
}

/// Text stored and displayed (names, labels, free text): NFC, the form the web and
/// the phones' fonts expect.
pub fn stored(raw: &str) -> String {
    raw.nfc().collect()
}

/// The key a name is searched by: case, accents and ligatures folded ("Noël DUPRÉ",
/// "noel dupre" and "NOËL  Dupré" give "noel dupre"), spaces collapsed. Computed
/// once in Rust and stored beside the name, so both databases compare the same bytes
/// (SQLite's `LOWER` folds ASCII only).
pub fn search_key(raw: &str) -> String {
    // Words are split first: folding drops control characters such as tabs.
    let words = stored(raw).split_whitespace().collect::<Vec<_>>().join(" ");
    let folded = deunicode::deunicode(&words).to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Bidirectional formatting characters (Unicode UAX #9): they reorder what is
/// displayed ("Trojan Source"), never needed in what a parent types here.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that display as nothing (zero-width space, word joiner, byte-order
/// mark, soft hyphen, bidi controls…): UTS #39's Default_Ignorable identifier type.
pub fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c.identifier_type(),
            Some(unicode_security::general_security_profile::IdentifierType::Default_Ignorable)
        )
}

/// Why an identifier (a login address) could be mistaken for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoofable {
    /// It holds a character that displays as nothing or reorders the text.
    Invisible,
    /// It holds a character UTS #39 restricts in identifiers (symbols, obsolete or
    /// technical letters).
    Restricted,
    /// One part mixes scripts that look alike (a Cyrillic "а" among Latin letters).
    MixedScripts,
}

/// Checks one part of an identifier (an e-mail's local part, a domain label) for
/// what would let it display like another: invisible characters, characters UTS #39
/// restricts, and mixes of scripts beyond its "highly restrictive" level (Latin with
/// Han and Japanese is fine; Latin with Cyrillic or Greek is not). ASCII punctuation
/// is the caller's to judge.
pub fn spoofable(part: &str) -> Option<Spoofable> {
    if part.chars().any(is_invisible) {
        return Some(Spoofable::Invisible);
    }
    if part
        .chars()
        .any(|c| !c.is_ascii() && !c.identifier_allowed())
    {
        return Some(Spoofable::Restricted);
    }
    let letters: String = part.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters
        .as_str()
        .check_restriction_level(RestrictionLevel::HighlyRestrictive)
    {
        None
    } else {
        Some(Spoofable::MixedScripts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_typed_on_any_keyboard_are_the_same_bytes() {
        let nfc = "Vacances-\u{e9}t\u{e9}-\u{e0}-No\u{eb}l";
        let nfd = "Vacances-e\u{301}te\u{301}-a\u{300}-Noe\u{308}l";
        assert_ne!(nfc, nfd);
        assert_eq!(secret(nfc), secret(nfd));
        assert_eq!(secret(nfc), nfc, "NFC input is already normal");
        // Compatibility forms: full-width letters and digits, ligatures.
        assert_eq!(secret("\u{ff21}\u{ff11}"), "A1");
        assert_eq!(secret("\u{fb01}n"), "fin");
    }

    #[test]
    fn search_keys_fold_case_accents_ligatures_and_spaces() {
        let keys: Vec<String> = [
            "Noël DUPRÉ",
            "noel dupre",
            "NOE\u{308}L  Dupre\u{301}",
            " Noël\tDupré ",
        ]
        .iter()
        .map(|s| search_key(s))
        .collect();
        assert!(keys.iter().all(|k| k == "noel dupre"), "{keys:?}");
        assert_eq!(search_key("Œuvre Straße"), "oeuvre strasse");
        assert_eq!(search_key("L’Haÿ-les-Roses"), "l'hay-les-roses");
    }

    #[test]
    fn invisible_and_mixed_identifiers_are_spoofable() {
        assert_eq!(spoofable("parent"), None);
        assert_eq!(spoofable("élodie"), None);
        assert_eq!(spoofable("山田"), None);
        assert_eq!(spoofable("par\u{200b}ent"), Some(Spoofable::Invisible));
        assert_eq!(spoofable("par\u{2060}ent"), Some(Spoofable::Invisible));
        assert_eq!(spoofable("\u{feff}parent"), Some(Spoofable::Invisible));
        assert_eq!(spoofable("par\u{ad}ent"), Some(Spoofable::Invisible));
        assert_eq!(spoofable("parent\u{202e}moc"), Some(Spoofable::Invisible));
        // A Cyrillic "а" (U+0430) among Latin letters.
        assert_eq!(spoofable("p\u{430}rent"), Some(Spoofable::MixedScripts));
        // A Greek omicron in a domain label.
        assert_eq!(
            spoofable("famille-ex\u{3bf}mple"),
            Some(Spoofable::MixedScripts)
        );
        assert_eq!(spoofable("parent\u{2665}"), Some(Spoofable::Restricted));
    }
}
