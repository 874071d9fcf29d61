//! Romanian IBANs: `RO`, two mod-97 check digits, a four-letter bank code and a 16-character account.

use rand::{Rng, RngExt};

/// Bank codes of banks operating in Romania (the BIC's first four letters).
pub const BANK_CODES: &[&str] = &[
    "BTRL", // Banca Transilvania
    "RNCB", // Banca Comercială Română
    "BRDE", // BRD - Groupe Société Générale
    "INGB", // ING Bank
    "RZBR", // Raiffeisen Bank
    "BACX", // UniCredit Bank
    "CECE", // CEC Bank
    "OTPV", // OTP Bank
    "LIBR", // Libra Internet Bank
    "PIRB", // First Bank
    "BRMA", // Banca Românească
    "CARP", // Patria Bank
];

const ACCOUNT_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ACCOUNT_LEN: usize = 16;

/// A valid RO IBAN with a random bank from [`BANK_CODES`] and a random account.
pub fn romanian_iban<R: Rng + ?Sized>(rng: &mut R) -> String {
    let bank = BANK_CODES[rng.random_range(0..BANK_CODES.len())];
    let mut bban = String::with_capacity(4 + ACCOUNT_LEN);
    bban.push_str(bank);
    bban.extend(
        (0..ACCOUNT_LEN)
            .map(|_| char::from(ACCOUNT_CHARS[rng.random_range(0..ACCOUNT_CHARS.len())])),
    );
    with_check_digits("RO", &bban)
}

/// `country` + check digits + `bban`, the check digits computed by ISO 13616 (98 - mod 97).
fn with_check_digits(country: &str, bban: &str) -> String {
    let remainder = bban.bytes().chain(country.bytes()).chain(*b"00").fold(
        0u32,
        |remainder, byte| match byte {
            b'0'..=b'9' => (remainder * 10 + u32::from(byte - b'0')) % 97,
            // Letters count as two digits, A = 10 to Z = 35.
            _ => (remainder * 100 + u32::from(byte.to_ascii_uppercase() - b'A') + 10) % 97,
        },
    );
    format!("{country}{:02}{bban}", 98 - remainder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iban::IbanLike;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn known_iban_gets_its_published_check_digits() {
        // The example of the Romanian national bank's IBAN guide.
        assert_eq!(
            with_check_digits("RO", "AAAA1B31007593840000"),
            "RO49AAAA1B31007593840000"
        );
    }

    #[test]
    fn generated_ibans_pass_an_independent_validator() {
        let mut rng = StdRng::seed_from_u64(97);
        for _ in 0..10_000 {
            let iban = romanian_iban(&mut rng);
            let parsed: iban::Iban = iban
                .parse()
                .unwrap_or_else(|error| panic!("{iban}: {error:?}"));
            assert_eq!(parsed.country_code(), "RO");
            assert_eq!(iban.len(), 24);
            assert!(BANK_CODES.contains(&&iban[4..8]), "{iban}");
        }
    }
}
