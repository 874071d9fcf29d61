//! The personal identifiers' own rules, beyond their JSON type, so that a sender cannot put arbitrary text
//! where a CNP, an IBAN, an e-mail address or a phone number belongs (nor into the tokens the curated lake
//! keys on them). The rules are as loose as the seed's own generator needs: Faker `ro_RO` writes CNPs for
//! days such as 31 February, so a CNP's day is checked against 01-31, not against the calendar.

use email_address::{EmailAddress, Options};
use iban::Iban;

use super::UserSession;

/// The first identifier of `record` that breaks its rule: the field and what the rule expects.
pub(super) fn check(record: &UserSession) -> Result<(), (&'static str, &'static str)> {
    if !is_cnp(&record.personal_number) {
        return Err(("personal_number", CNP_RULE));
    }
    if !is_iban(&record.iban) {
        return Err(("iban", IBAN_RULE));
    }
    if !is_email(&record.email) {
        return Err(("email", EMAIL_RULE));
    }
    if !is_phone_number(&record.phone_number) {
        return Err(("phone_number", PHONE_RULE));
    }
    Ok(())
}

const CNP_RULE: &str =
    "a CNP: 13 digits, sex 1-9, month 01-12, day 01-31, county 01-52, serial 001-999, its check digit";
const IBAN_RULE: &str = "an IBAN of its country's format with a valid mod-97 check (spaces allowed)";
const EMAIL_RULE: &str = "an e-mail address: local part, @, a domain with a top-level domain";
const PHONE_RULE: &str = "a phone number: 0 and 9 digits, +40 or 0040 and 9 digits, or + and 8-15 digits; \
                          spaces, dots, dashes and parentheses allowed";

/// The CNP's check digit: the first twelve digits weighted by 279146358279, modulo 11, 10 read as 1.
pub fn cnp_check_digit(first_twelve: &[u8; 12]) -> u8 {
    const WEIGHTS: [u32; 12] = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];
    let sum: u32 = first_twelve.iter().zip(WEIGHTS).map(|(digit, weight)| u32::from(*digit) * weight).sum();
    match sum % 11 {
        10 => 1,
        // A remainder below 10 is one digit.
        remainder => remainder as u8,
    }
}

/// `S YYMMDD JJ NNN C`: sex and century, birth date, county, serial, check digit.
fn is_cnp(text: &str) -> bool {
    let Ok(digits) = <[u8; 13]>::try_from(text.as_bytes()) else { return false };
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let digits = digits.map(|digit| digit - b'0');
    let pair = |at: usize| digits[at] * 10 + digits[at + 1];
    let serial = u16::from(digits[9]) * 100 + u16::from(pair(10));
    let mut first_twelve = [0; 12];
    first_twelve.copy_from_slice(&digits[..12]);
    digits[0] != 0
        && (1..=12).contains(&pair(3))
        && (1..=31).contains(&pair(5))
        && (1..=52).contains(&pair(7))
        && serial != 0
        && cnp_check_digit(&first_twelve) == digits[12]
}

/// The longest IBAN (34 characters) in groups of four with a space between.
const IBAN_MAX_CHARS: usize = 42;
/// The longest phone number taken: 15 digits, a `+` and a separator between each digit and the next.
const PHONE_MAX_CHARS: usize = 32;
/// RFC 5321's longest address.
const EMAIL_MAX_BYTES: usize = 254;

/// ASCII letters, digits and spaces only, checked in capitals without the spaces. Unicode white space
/// or case folding (`ſ` to `S`) would let other text pass as an IBAN.
fn is_iban(text: &str) -> bool {
    if text.len() > IBAN_MAX_CHARS || !text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b' ') {
        return false;
    }
    let electronic: String = text.chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
    electronic.parse::<Iban>().is_ok()
}

/// An unquoted address of visible ASCII and Unicode letters and digits (the seed's names carry
/// diacritics): a quoted local part could hold any text, and format or control characters (a zero-width
/// space, a right-to-left override) could make two addresses look alike.
fn is_email(text: &str) -> bool {
    let visible = text.chars().all(|c| c.is_ascii_graphic() || c.is_alphanumeric());
    if text.len() > EMAIL_MAX_BYTES || text.starts_with('"') || !visible {
        return false;
    }
    let options = Options::default().with_required_tld().without_domain_literal().without_display_text();
    EmailAddress::parse_with_options(text, options).is_ok()
}

fn is_phone_number(text: &str) -> bool {
    if text.len() > PHONE_MAX_CHARS {
        return false;
    }
    let international = text.starts_with('+');
    let rest = if international { &text[1..] } else { text };
    if !rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')')) {
        return false;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let (international, digits) = match digits.strip_prefix("00") {
        Some(after) if !international => (true, after),
        _ => (international, digits.as_str()),
    };
    if international {
        match digits.strip_prefix("40") {
            Some(national) => national.len() == 9 && !national.starts_with('0'),
            None => (8..=15).contains(&digits.len()) && !digits.starts_with('0'),
        }
    } else {
        digits.len() == 10 && digits.starts_with('0')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `first_twelve` and its check digit.
    fn with_check(first_twelve: &str) -> String {
        let mut digits = [0; 12];
        for (digit, byte) in digits.iter_mut().zip(first_twelve.bytes()) {
            *digit = byte - b'0';
        }
        format!("{first_twelve}{}", cnp_check_digit(&digits))
    }

    #[test]
    fn a_cnp_needs_its_digits_date_county_serial_and_check_digit() {
        let valid = with_check("290010112001");
        assert!(is_cnp(&valid));
        // Faker ro_RO writes days past a month's end; they pass.
        assert!(is_cnp(&with_check("290023112001")));
        for bad in [
            "090010112001",
            "290130112001",
            "290000112001",
            "290010012001",
            "290013212001",
            "290010100001",
            "290010153001",
            "290010112000",
        ] {
            assert!(!is_cnp(&with_check(bad)), "{bad}");
        }
        let wrong_check = format!("{}{}", &valid[..12], (valid.as_bytes()[12] - b'0' + 1) % 10);
        for bad in
            ["", "290010112001", "29001011200130", "290010112001x", "２９００１０１１２００１３", wrong_check.as_str()]
        {
            assert!(!is_cnp(bad), "{bad}");
        }
    }

    #[test]
    fn an_iban_needs_its_country_format_and_mod_97() {
        assert!(is_iban("RO49AAAA1B31007593840000"));
        assert!(is_iban("RO49 AAAA 1B31 0075 9384 0000"));
        assert!(is_iban("ro49aaaa1b31007593840000"));
        assert!(is_iban("DE89370400440532013000"));
        assert!(!is_iban("RO48AAAA1B31007593840000"), "mod-97");
        assert!(!is_iban("RO49AAAA1B3100759384000"), "RO's length");
        assert!(!is_iban("anything at all"));
        assert!(!is_iban("RO49\u{2003}AAAA1B31007593840000"), "a Unicode space");
        assert!(!is_iban("RO49AAAA1B31007593840000                   "), "longer than an IBAN in groups");
        assert!(!is_iban("RO49AAAA1B31007593840000\u{17f}"), "a long s that capitalises to S");
    }

    #[test]
    fn an_email_needs_its_syntax_and_takes_diacritics() {
        for good in ["ioana@gmail.com", "niculițăstoica@post.ro", "ana-maria.pop+x@yahoo.ro"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "ioana",
            "ioana@",
            "@gmail.com",
            "ioana@localhost",
            "a b@c.ro",
            "Ioana <ioana@gmail.com>",
            "a@[10.0.0.1]",
            "\"Ion Popescu 2900101120015\"@x.ro",
            "io\u{200b}ana@gmail.com",
            "io\u{202e}ana@gmail.com",
            "io\u{a0}ana@gmail.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn a_phone_number_needs_its_digits() {
        for good in
            ["021 123 4567", "0722 123 456", "+40 722 123 456", "0040 722 123 456", "+1 (212) 555-0100", "0722.123.456"]
        {
            assert!(is_phone_number(good), "{good}");
        }
        for bad in [
            "",
            "0722 123 45",
            "0722 123 4567",
            "722 123 456",
            "+40 0722 123 456",
            "+40 722",
            "0722-ABC-456",
            "+",
            "++40722123456",
            "call me",
        ] {
            assert!(!is_phone_number(bad), "{bad}");
        }
    }
}
