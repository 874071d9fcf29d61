//! Romanian IBANs: `RO`, two mod-97 check digits, a four-letter bank code and a 16-character account.

use rand::{Rng, RngExt};

/// Bank codes of banks operating in Romania (the BIC's first four letters).
pub(crate) const BANK_CODES: &[&str] = &[
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
pub(crate) fn romanian_iban<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut bban = [0u8; 4 + ACCOUNT_LEN];
    bban[..4].copy_from_slice(BANK_CODES[rng.random_range(0..BANK_CODES.len())].as_bytes());
    // Eight base-36 digits from each of two 64-bit draws (36^8 < 2^42, so the digits are as good as
    // uniform); a 128-bit draw would need software division, a tenth of the generator's time.
    for half in bban[4..].chunks_mut(ACCOUNT_LEN / 2) {
        let mut draw: u64 = rng.random();
        for place in half {
            *place = ACCOUNT_CHARS[(draw % 36) as usize];
            draw /= 36;
        }
    }
    with_check_digits(*b"RO", &bban)
}

/// `country` + check digits + `bban`, the check digits computed by ISO 13616 (98 - mod 97).
fn with_check_digits(country: [u8; 2], bban: &[u8]) -> String {
    // The number grows by up to two digits a character; reducing it only past 2^50 keeps it within
    // 64 bits with a fraction of the divisions.
    let mut number = 0u64;
    for byte in bban.iter().chain(&country).chain(b"00") {
        number = match byte {
            b'0'..=b'9' => number * 10 + u64::from(byte - b'0'),
            // Letters count as two digits, A = 10 to Z = 35.
            _ => number * 100 + u64::from(byte.to_ascii_uppercase() - b'A') + 10,
        };
        if number >= 1 << 50 {
            number %= 97;
        }
    }
    // Below 98, so it fits in a u8.
    let check = 98 - (number % 97) as u8;
    let mut iban = String::with_capacity(4 + bban.len());
    iban.extend(country.map(char::from));
    iban.extend([check / 10, check % 10].map(|digit| char::from(b'0' + digit)));
    iban.extend(bban.iter().map(|byte| char::from(*byte)));
    iban
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
        assert_eq!(with_check_digits(*b"RO", b"AAAA1B31007593840000"), "RO49AAAA1B31007593840000");
    }

    #[test]
    fn generated_ibans_pass_an_independent_validator() {
        let mut rng = StdRng::seed_from_u64(97);
        for _ in 0..10_000 {
            let iban = romanian_iban(&mut rng);
            let parsed: iban::Iban = iban.parse().unwrap_or_else(|error| panic!("{iban}: {error:?}"));
            assert_eq!(parsed.country_code(), "RO");
            assert_eq!(iban.len(), 24);
            assert!(BANK_CODES.contains(&&iban[4..8]), "{iban}");
        }
    }
}
