//! Pseudonymised rows of generated records hold no CNP with a valid check digit, no Romanian IBAN that
//! passes mod-97 and no e-mail address, wherever in the row they might hide.

use chrono::{DateTime, Utc};
use compactor::curate::{PersonalData, curate};
use compactor::pseudonym::PseudonymKey;
use producer::generator::user_session;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn rows(personal: &PersonalData) -> String {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").expect("valid").to_utc();
    let mut rng = StdRng::seed_from_u64(13);
    (0..2_000)
        .map(|_| serde_json::to_string(&curate(&user_session(&mut rng, now), personal)).expect("encodes"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every run of `len` characters of `text` that `accept` takes.
fn found(text: &str, len: usize, accept: impl Fn(&str) -> bool) -> usize {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(len).filter(|window| accept(&window.iter().collect::<String>())).count()
}

/// Thirteen digits whose last is the CNP check digit of the first twelve (weights 279146358279, sum mod
/// 11, 10 read as 1), as any CNP validator tests it.
fn is_valid_cnp(candidate: &str) -> bool {
    let digits: Option<Vec<u32>> = candidate.chars().map(|c| c.to_digit(10)).collect();
    let Some(digits) = digits else { return false };
    let sum: u32 = digits[..12].iter().zip([2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]).map(|(d, w)| d * w).sum();
    let check = match sum % 11 {
        10 => 1,
        remainder => remainder,
    };
    digits[0] != 0 && check == digits[12]
}

fn valid_cnps(text: &str) -> usize {
    found(text, 13, is_valid_cnp)
}

fn valid_ibans(text: &str) -> usize {
    found(text, 24, |candidate| candidate.starts_with("RO") && candidate.parse::<iban::Iban>().is_ok())
}

#[test]
fn a_scan_of_pseudonymised_rows_finds_no_cnp_iban_or_email() {
    let key = PseudonymKey::new(1, b"a test key of thirty-two bytes..").expect("a valid key");
    let text = rows(&PersonalData::Pseudonymised(key));
    assert_eq!(valid_cnps(&text), 0);
    assert_eq!(valid_ibans(&text), 0);
    assert!(!text.contains('@'), "an e-mail address");
}

#[test]
fn the_same_scan_finds_them_in_raw_rows() {
    let text = rows(&PersonalData::Raw);
    assert!(valid_cnps(&text) >= 2_000);
    assert!(valid_ibans(&text) >= 2_000);
    assert!(text.matches('@').count() >= 2_000);
}
