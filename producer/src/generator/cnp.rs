//! The Romanian personal numeric code (CNP): `S YYMMDD JJ NNN C`.
//!
//! S encodes sex and century of birth, YYMMDD the birth date, JJ the county, NNN a serial and C a check
//! digit over the first twelve digits (`shared::record::cnp_check_digit`).

use chrono::{Datelike, NaiveDate};

/// A person's sex as the CNP's first digit encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    Female,
    Male,
}

/// The CNP of a Romanian citizen born on `birth_date` (1800-2099) in the county with `county_code`
/// (01-52), with `serial` (1-999). Returns `None` for a date, county or serial outside those ranges.
pub(crate) fn cnp(sex: Sex, birth_date: NaiveDate, county_code: u8, serial: u16) -> Option<String> {
    let century_digit = match (birth_date.year(), sex) {
        (1900..=1999, Sex::Male) => 1,
        (1900..=1999, Sex::Female) => 2,
        (1800..=1899, Sex::Male) => 3,
        (1800..=1899, Sex::Female) => 4,
        (2000..=2099, Sex::Male) => 5,
        (2000..=2099, Sex::Female) => 6,
        _ => return None,
    };
    if !(1..=52).contains(&county_code) || !(1..=999).contains(&serial) {
        return None;
    }
    let year = birth_date.year().rem_euclid(100).unsigned_abs();
    let fields = [
        (century_digit, 1),
        (year, 2),
        (birth_date.month(), 2),
        (birth_date.day(), 2),
        (u32::from(county_code), 2),
        (u32::from(serial), 3),
    ];
    let mut digits = [0u32; 13];
    let mut at = 0;
    for (value, width) in fields {
        for place in (0..width).rev() {
            digits[at] = value / 10u32.pow(place) % 10;
            at += 1;
        }
    }
    digits[12] = u32::from(check_digit(&digits[..12]));
    let mut code = String::with_capacity(digits.len());
    code.extend(digits.iter().filter_map(|digit| char::from_digit(*digit, 10)));
    Some(code)
}

/// The check digit of twelve digits, by the rule the decoder checks.
fn check_digit(first_twelve: &[u32]) -> u8 {
    let mut digits = [0u8; 12];
    for (digit, value) in digits.iter_mut().zip(first_twelve) {
        // Each value is one decimal digit.
        *digit = *value as u8;
    }
    shared::record::cnp_check_digit(&digits)
}

/// The birth date a CNP encodes, if it is thirteen digits with a valid check digit and a real date. Only
/// the tests read a CNP back, to check the records' codes against their other fields.
#[cfg(test)]
pub(crate) fn birth_date(code: &str) -> Option<NaiveDate> {
    let digits: Vec<u32> = code.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    if digits.len() != 13 || u32::from(check_digit(&digits[..12])) != digits[12] {
        return None;
    }
    let century = match digits[0] {
        1 | 2 => 1900,
        3 | 4 => 1800,
        5 | 6 => 2000,
        _ => return None,
    };
    let pair = |at: usize| digits[at] * 10 + digits[at + 1];
    let year = century + i32::try_from(pair(1)).ok()?;
    NaiveDate::from_ymd_opt(year, pair(3), pair(5))
}

/// The sex a CNP encodes.
#[cfg(test)]
pub(crate) fn sex(code: &str) -> Option<Sex> {
    match code.chars().next()?.to_digit(10)? {
        1 | 3 | 5 | 7 => Some(Sex::Male),
        2 | 4 | 6 | 8 => Some(Sex::Female),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
    }

    #[test]
    fn known_cnp_is_reproduced() {
        // 1·2 + 6·7 + 0·9 + 1·1 + 2·4 + 0·6 + 8·3 + 4·5 + 0·8 + 0·2 + 1·7 + 2·9 = 122, and 122 mod 11 = 1.
        assert_eq!(cnp(Sex::Male, date(1960, 12, 8), 40, 12).as_deref(), Some("1601208400121"));
    }

    #[test]
    fn remainder_ten_gives_check_digit_one() {
        // 5 in the first place weighs 2: the sum is 10, and 10 mod 11 = 10 maps to 1.
        assert_eq!(check_digit(&[5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 1);
        // 8 in the last place weighs 9: 72 mod 11 = 6.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]), 6);
    }

    #[test]
    fn century_digit_follows_sex_and_birth_year() {
        for (year, sex, digit) in [
            (1899, Sex::Male, '3'),
            (1899, Sex::Female, '4'),
            (1950, Sex::Male, '1'),
            (1950, Sex::Female, '2'),
            (2005, Sex::Male, '5'),
            (2005, Sex::Female, '6'),
        ] {
            let code = cnp(sex, date(year, 6, 15), 12, 345).expect("valid inputs");
            assert!(code.starts_with(digit), "{year} {sex:?}: {code}");
            assert_eq!(birth_date(&code), Some(date(year, 6, 15)));
            assert_eq!(self::sex(&code), Some(sex));
        }
    }

    #[test]
    fn out_of_range_inputs_are_refused() {
        assert_eq!(cnp(Sex::Male, date(1799, 1, 1), 12, 1), None);
        assert_eq!(cnp(Sex::Male, date(2100, 1, 1), 12, 1), None);
        assert_eq!(cnp(Sex::Male, date(1990, 1, 1), 0, 1), None);
        assert_eq!(cnp(Sex::Male, date(1990, 1, 1), 53, 1), None);
        assert_eq!(cnp(Sex::Male, date(1990, 1, 1), 12, 0), None);
        assert_eq!(cnp(Sex::Male, date(1990, 1, 1), 12, 1000), None);
    }

    #[test]
    fn a_wrong_check_digit_or_date_is_not_a_cnp() {
        let code = cnp(Sex::Female, date(1987, 2, 28), 22, 7).expect("valid inputs");
        let last = code.as_bytes()[12] - b'0';
        let broken = format!("{}{}", &code[..12], (last + 1) % 10);
        assert_eq!(birth_date(&broken), None);
        assert_eq!(birth_date("1870230400011"), None);
        assert_eq!(birth_date("12345"), None);
        assert_eq!(birth_date("abcdefghijklm"), None);
    }
}
