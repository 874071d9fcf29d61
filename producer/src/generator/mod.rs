//! Synthetic user-session records, coherent and valid, as the seed's Faker ro_RO meant them to be.
//!
//! Everything comes from the random generator and the instant passed in, so a seed and a clock pin the
//! output. One person is drawn first (sex, name, birth date, county) and every field about them derives
//! from it: the user name and e-mail from the name, the CNP from sex, birth date and county, the address
//! and postal code from the county.

mod cnp;
mod iban;
mod locale;
mod person;
mod places;

use cnp::Sex;
use locale::RO_RO;

use std::net::Ipv4Addr;

use chrono::{DateTime, Datelike, Days, NaiveDate, SubsecRound, Utc};
use fake::Fake;
use fake::faker::address::raw::StreetSuffix;
use fake::faker::internet::raw::FreeEmailProvider;
use fake::faker::name::raw::LastName;
use fake::faker::phone_number::raw::PhoneNumber;
use rand::{Rng, RngExt};
use shared::record::{
    MAX_CONSUMED_TRAFFIC, MAX_DOWNLOAD_SPEED, MAX_SESSION_DURATION, MAX_UPLOAD_SPEED, MacAddress, UserSession,
};

use places::{COUNTIES, County};

/// Youngest and oldest age of a generated person, in years.
const AGES: std::ops::RangeInclusive<u64> = 18..=85;

/// One synthetic record of a person using the network at `now`.
pub fn user_session<R: Rng + ?Sized>(rng: &mut R, now: DateTime<Utc>) -> UserSession {
    let sex = if rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
    let first_names = match sex {
        Sex::Female => RO_RO::FEMALE_FIRST_NAMES,
        Sex::Male => RO_RO::MALE_FIRST_NAMES,
    };
    let first = pick(rng, first_names);
    let last: &str = LastName(RO_RO).fake_with_rng(rng);
    let user_name = person::user_name(first, last);
    let provider: &str = FreeEmailProvider(RO_RO).fake_with_rng(rng);
    let email = [user_name.as_str(), "@", provider].concat();

    let birth_date = birth_date(rng, now.date_naive());
    let county = pick(rng, COUNTIES);
    let serial = rng.random_range(1..=999);
    // Every generated date lies within 1900-2099 and every county code within 1-52, so the CNP exists.
    let personal_number = cnp::cnp(sex, birth_date, county.cnp_code, serial).unwrap_or_default();

    UserSession {
        person_name: [first, " ", last].concat(),
        user_name,
        email,
        personal_number,
        birth_date,
        address: address(rng, county),
        phone_number: PhoneNumber(RO_RO).fake_with_rng(rng),
        mac_address: mac_address(rng),
        ip_address: Ipv4Addr::from_bits(rng.random()),
        iban: iban::romanian_iban(rng),
        accessed_at: now.naive_utc().trunc_subsecs(6),
        session_duration: rng.random_range(0..=MAX_SESSION_DURATION),
        download_speed: rng.random_range(0..=MAX_DOWNLOAD_SPEED),
        upload_speed: rng.random_range(0..=MAX_UPLOAD_SPEED),
        consumed_traffic: rng.random_range(0..=MAX_CONSUMED_TRAFFIC),
        unique_id: uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
    }
}

fn pick<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn birth_date<R: Rng + ?Sized>(rng: &mut R, today: NaiveDate) -> NaiveDate {
    let oldest = years_before(today, *AGES.end() + 1).succ_opt().unwrap_or(today);
    let youngest = years_before(today, *AGES.start());
    let span = youngest.signed_duration_since(oldest).num_days().max(0).unsigned_abs();
    oldest.checked_add_days(Days::new(rng.random_range(0..=span))).unwrap_or(youngest)
}

fn years_before(date: NaiveDate, years: u64) -> NaiveDate {
    let year = date.year() - i32::try_from(years).unwrap_or(i32::MAX);
    // 29 February moves to 28 February in a year that lacks it.
    NaiveDate::from_ymd_opt(year, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), date.day() - 1))
        .unwrap_or(date)
}

/// "Strada Florilor nr. 7, bl. 12, sc. B, ap. 41, 400123 Cluj-Napoca, jud. Cluj" or, in Bucharest,
/// "..., 030167 București, Sector 3". Built with `push_str` rather than `write!`: formatting machinery
/// was a tenth of the generator's time.
fn address<R: Rng + ?Sized>(rng: &mut R, county: &County) -> String {
    let street_type: &str = StreetSuffix(RO_RO).fake_with_rng(rng);
    let street = pick(rng, RO_RO::STREET_NAMES);
    let town = pick(rng, county.towns);
    let mut numbers = itoa::Buffer::new();
    let mut address = String::with_capacity(112);
    for part in [street_type, " ", street, " nr. ", numbers.format(rng.random_range(1..=250u32))] {
        address.push_str(part);
    }
    if rng.random_bool(0.4) {
        address.push_str(", bl. ");
        address.push_str(numbers.format(rng.random_range(1..=40u32)));
        address.push_str(", sc. ");
        address.push(char::from(b'A' + rng.random_range(0..4u8)));
        address.push_str(", ap. ");
        address.push_str(numbers.format(rng.random_range(1..=80u32)));
    }
    address.push_str(", ");
    address.push_str(county.postal_prefix);
    let postal_suffix = rng.random_range(10_000..20_000u32);
    // The suffix is zero-padded to four digits by dropping the leading 1 of 1xxxx.
    address.push_str(&numbers.format(postal_suffix)[1..]);
    address.push(' ');
    address.push_str(town);
    match county.bucharest_sector() {
        Some(sector) => {
            address.push_str(", Sector ");
            address.push_str(numbers.format(sector));
        }
        None => {
            address.push_str(", jud. ");
            address.push_str(county.name);
        }
    }
    address
}

fn mac_address<R: Rng + ?Sized>(rng: &mut R) -> MacAddress {
    let mut octets: [u8; 6] = rng.random();
    // A device's own address is unicast: the least significant bit of the first octet is clear.
    octets[0] &= 0xfe;
    MacAddress(octets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::cnp::{birth_date as cnp_birth_date, sex as cnp_sex};
    use fake::locales::Data;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T06:30:15.123456789Z").expect("valid instant").to_utc()
    }

    fn records(seed: u64, count: usize) -> Vec<UserSession> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..count).map(|_| user_session(&mut rng, now())).collect()
    }

    #[test]
    fn same_seed_and_clock_give_the_same_records() {
        assert_eq!(records(7, 200), records(7, 200));
        assert_ne!(records(7, 20), records(8, 20));
    }

    #[test]
    fn output_is_pinned_for_a_seed_and_clock() {
        let json = records(42, 1)[0].to_json().expect("encodes");
        let record = UserSession::from_json(json.as_bytes()).expect("decodes");
        assert_eq!(record.accessed_at.to_string(), "2026-11-26 06:30:15.123456");
        assert!(json.contains("\"accessed_at\":\"2026-11-26 06:30:15.123456\""), "{json}");
    }

    #[test]
    fn every_record_survives_strict_decoding() {
        for record in records(1, 2_000) {
            let json = record.to_json().expect("encodes");
            assert_eq!(UserSession::from_json(json.as_bytes()).expect("decodes"), record);
        }
    }

    #[test]
    fn personal_number_agrees_with_birth_date_sex_and_name() {
        for record in records(2, 5_000) {
            let code = &record.personal_number;
            assert_eq!(cnp_birth_date(code), Some(record.birth_date), "{code}");
            let first = record.person_name.split(' ').next().expect("first name");
            let expected = if RO_RO::FEMALE_FIRST_NAMES.contains(&first) { Sex::Female } else { Sex::Male };
            assert_eq!(cnp_sex(code), Some(expected), "{code} {first}");
        }
    }

    #[test]
    fn personal_number_county_agrees_with_the_address() {
        for record in records(3, 2_000) {
            let code: u8 = record.personal_number[7..9].parse().expect("county digits");
            let county = COUNTIES.iter().find(|county| county.cnp_code == code).expect("known county");
            let postal_code = record
                .address
                .split(", ")
                .find(|part| part.len() > 6 && part[..6].bytes().all(|b| b.is_ascii_digit()))
                .expect("postal code");
            assert!(postal_code.starts_with(county.postal_prefix), "{code}: {}", record.address);
            match county.bucharest_sector() {
                Some(sector) => assert!(record.address.ends_with(&format!("Sector {sector}"))),
                None => assert!(record.address.ends_with(&format!("jud. {}", county.name))),
            }
        }
    }

    #[test]
    fn ages_are_between_18_and_85() {
        let today = now().date_naive();
        for record in records(4, 5_000) {
            let age = today.years_since(record.birth_date).expect("born before today");
            assert!(AGES.contains(&u64::from(age)), "{} is {age}", record.birth_date);
        }
    }

    #[test]
    fn user_name_and_email_come_from_the_person_name() {
        for record in records(5, 2_000) {
            let (first, last) = record.person_name.split_once(' ').expect("two names");
            assert_eq!(record.user_name, person::user_name(first, last));
            assert!(record.user_name.bytes().all(|b| b.is_ascii_lowercase()), "{}", record.user_name);
            let (local, domain) = record.email.split_once('@').expect("an e-mail");
            assert_eq!(local, record.user_name);
            assert!(RO_RO::INTERNET_FREE_EMAIL_PROVIDER.contains(&domain), "{domain}");
        }
    }

    #[test]
    fn numbers_stay_in_the_seed_ranges_and_reach_both_ends() {
        let all = records(6, 20_000);
        let check = |name: &str, values: Vec<u32>, max: u32| {
            assert!(values.iter().all(|value| *value <= max), "{name}");
            assert!(values.iter().max() > Some(&(max * 9 / 10)), "{name} never high");
            assert!(values.iter().min() < Some(&(max / 10)), "{name} never low");
        };
        check("session_duration", all.iter().map(|r| r.session_duration).collect(), MAX_SESSION_DURATION);
        check("download_speed", all.iter().map(|r| r.download_speed).collect(), MAX_DOWNLOAD_SPEED);
        check("upload_speed", all.iter().map(|r| r.upload_speed).collect(), MAX_UPLOAD_SPEED);
        check("consumed_traffic", all.iter().map(|r| r.consumed_traffic).collect(), MAX_CONSUMED_TRAFFIC);
    }

    #[test]
    fn formats_match_the_seed() {
        for record in records(8, 2_000) {
            assert_eq!(record.unique_id.get_version_num(), 4);
            assert_eq!(record.mac_address.0[0] & 1, 0, "unicast");
            assert!(!record.address.contains('\n'));
            let digits: String = record.phone_number.chars().filter(char::is_ascii_digit).collect();
            let national = digits.strip_prefix("40").map(|rest| format!("0{rest}")).unwrap_or(digits);
            assert_eq!(national.len(), 10, "{}", record.phone_number);
            assert!(national.starts_with("07") || national.starts_with("02") || national.starts_with("03"));
        }
    }

    #[test]
    fn person_names_use_the_romanian_locale() {
        let all = records(9, 2_000);
        assert!(all.iter().any(|record| !record.person_name.is_ascii()), "some names carry diacritics");
        for record in all {
            let (_, last) = record.person_name.split_once(' ').expect("two names");
            assert!(RO_RO::NAME_LAST_NAME.contains(&last), "{last}");
        }
    }
}
