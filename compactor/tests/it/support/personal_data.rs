//! What a scan for personal data looks for: CNPs with a valid check digit, Romanian IBANs that pass
//! mod-97, e-mail addresses.

/// Every run of `len` characters of `text` that `accept` takes.
pub(crate) fn found(text: &str, len: usize, accept: impl Fn(&str) -> bool) -> usize {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(len).filter(|window| accept(&window.iter().collect::<String>())).count()
}

/// Thirteen digits whose last is the CNP check digit of the first twelve (weights 279146358279, sum mod
/// 11, 10 read as 1), as any CNP validator tests it.
pub(crate) fn is_valid_cnp(candidate: &str) -> bool {
    let digits: Option<Vec<u32>> = candidate.chars().map(|c| c.to_digit(10)).collect();
    let Some(digits) = digits else { return false };
    let sum: u32 = digits[..12].iter().zip([2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]).map(|(d, w)| d * w).sum();
    let check = match sum % 11 {
        10 => 1,
        remainder => remainder,
    };
    digits[0] != 0 && check == digits[12]
}

pub(crate) fn valid_cnps(text: &str) -> usize {
    found(text, 13, is_valid_cnp)
}

pub(crate) fn valid_ibans(text: &str) -> usize {
    found(text, 24, |candidate| candidate.starts_with("RO") && candidate.parse::<iban::Iban>().is_ok())
}

/// Whether `text` holds any CNP, IBAN or e-mail address.
pub(crate) fn personal_data_in(text: &str) -> (usize, usize, usize) {
    (valid_cnps(text), valid_ibans(text), text.matches('@').count())
}
