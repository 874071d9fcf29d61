//! Properties of the record decoder: any input gives a record or an error that names the problem, never a
//! panic; and every valid record survives encoding and decoding unchanged.

use std::net::Ipv4Addr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use proptest::prelude::*;
use shared::{MacAddress, Problem, UserSession};
use uuid::Uuid;

const SAMPLE: &str = r#"{"person_name":"Diana Stoica","user_name":"dianastoica","email":"dianastoica@outlook.com","personal_number":"2641111318492","birth_date":"1964-11-11","address":"Aleea Garoafelor nr. 68, 454474 Zalău, jud. Sălaj","phone_number":"+40 767 649 681","mac_address":"60:ae:6b:c5:c3:fa","ip_address":"64.197.195.213","iban":"RO94LIBRDYZV7ONQLEKW7GNZ","accessed_at":"2026-11-26 06:47:16.810786","session_duration":1071,"download_speed":560,"upload_speed":329,"consumed_traffic":588015,"unique_id":"d4fd96d4-eb09-41f5-9146-9c9a372cd98d"}"#;

fn refused_or_round_trips(bytes: &[u8]) -> Result<(), TestCaseError> {
    match UserSession::from_json(bytes) {
        Ok(record) => {
            let again = UserSession::from_json(record.to_json().expect("encodes").as_bytes()).expect("decodes");
            prop_assert_eq!(again, record);
        }
        Err(error) => {
            prop_assert!(error.to_string().starts_with("invalid user-session record: "));
            // A format problem is always a field's; one without a field is the second reading accepting
            // what the first refused.
            prop_assert!(error.problem() != Problem::InvalidFormat || error.field() != ".", "{}", error);
        }
    }
    Ok(())
}

fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|text| text.chars().take(40).collect())
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1900_i32..2100, 1_u32..=12, 1_u32..=28).prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("valid"))
}

/// A CNP with a valid date, county, serial and check digit.
fn cnp() -> impl Strategy<Value = String> {
    (1_u8..=9, 0_u8..=99, 1_u8..=12, 1_u8..=31, 1_u8..=52, 1_u16..=999).prop_map(
        |(sex, year, month, day, county, serial)| {
            let first_twelve = format!("{sex}{year:02}{month:02}{day:02}{county:02}{serial:03}");
            let mut digits = [0; 12];
            for (digit, byte) in digits.iter_mut().zip(first_twelve.bytes()) {
                *digit = byte - b'0';
            }
            format!("{first_twelve}{}", shared::record::cnp_check_digit(&digits))
        },
    )
}

fn iban() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["RO49AAAA1B31007593840000", "RO94LIBRDYZV7ONQLEKW7GNZ", "RO49 AAAA 1B31 0075 9384 0000"])
        .prop_map(str::to_owned)
}

fn record() -> impl Strategy<Value = UserSession> {
    let time = (0_u32..24, 0_u32..60, 0_u32..60, 0_u32..1_000_000)
        .prop_map(|(h, m, s, micros)| NaiveTime::from_hms_micro_opt(h, m, s, micros).expect("valid"));
    (
        (
            text(),
            text(),
            "[a-zăîșț]{1,20}(\\.[a-z]{1,5})?@[a-z]{1,12}\\.(ro|com)",
            cnp(),
            date(),
            text(),
            "07[0-9]{2} [0-9]{3} [0-9]{3}",
        ),
        (any::<[u8; 6]>(), any::<u32>(), iban(), date(), time),
        (0_u32..=36_000, 0_u32..=1_000, 0_u32..=800, 0_u32..=2_000_000, any::<u128>()),
    )
        .prop_map(|(person, session, numbers)| {
            let (person_name, user_name, email, personal_number, birth_date, address, phone_number) = person;
            let (mac, ip, iban, day, time) = session;
            let (session_duration, download_speed, upload_speed, consumed_traffic, id) = numbers;
            UserSession {
                person_name,
                user_name,
                email,
                personal_number,
                birth_date,
                address,
                phone_number,
                mac_address: MacAddress(mac),
                ip_address: Ipv4Addr::from(ip),
                iban,
                accessed_at: NaiveDateTime::new(day, time),
                session_duration,
                download_speed,
                upload_speed,
                consumed_traffic,
                unique_id: Uuid::from_u128(id),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_are_refused_or_decoded_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        refused_or_round_trips(&bytes)?;
    }

    #[test]
    fn a_valid_record_with_one_edit_is_refused_or_decoded(
        position in 0..SAMPLE.len(),
        edit in 0..3_u8,
        byte in any::<u8>(),
    ) {
        let mut bytes = SAMPLE.as_bytes().to_vec();
        match edit {
            0 => {
                bytes.remove(position);
            }
            1 => bytes.insert(position, byte),
            _ => bytes[position] = byte,
        }
        refused_or_round_trips(&bytes)?;
    }

    #[test]
    fn every_valid_record_survives_encoding_and_decoding(record in record()) {
        let json = record.to_json().expect("encodes");
        prop_assert_eq!(UserSession::from_json(json.as_bytes()).expect("decodes"), record);
    }
}
