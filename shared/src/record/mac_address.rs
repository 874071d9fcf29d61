//! A MAC address in the seed's text form.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 48-bit MAC address, written like the seed's Faker: six lower-case hex pairs separated by colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddress(pub [u8; 6]);

/// Why a string is not a MAC address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid MAC address, expected six hex pairs separated by colons (aa:bb:cc:dd:ee:ff)")]
pub struct MacAddressParseError;

impl MacAddress {
    const TEXT_LEN: usize = 17;

    fn to_text(self) -> [u8; Self::TEXT_LEN] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b':'; Self::TEXT_LEN];
        for (index, byte) in self.0.iter().enumerate() {
            text[index * 3] = HEX[usize::from(byte >> 4)];
            text[index * 3 + 1] = HEX[usize::from(byte & 0x0f)];
        }
        text
    }
}

impl FromStr for MacAddress {
    type Err = MacAddressParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = text.as_bytes();
        if bytes.len() != Self::TEXT_LEN {
            return Err(MacAddressParseError);
        }
        let mut octets = [0u8; 6];
        for (index, octet) in octets.iter_mut().enumerate() {
            let pair = &bytes[index * 3..index * 3 + 2];
            if index < 5 && bytes[index * 3 + 2] != b':' {
                return Err(MacAddressParseError);
            }
            let pair = std::str::from_utf8(pair).map_err(|_| MacAddressParseError)?;
            if !pair.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                return Err(MacAddressParseError);
            }
            *octet = u8::from_str_radix(pair, 16).map_err(|_| MacAddressParseError)?;
        }
        Ok(Self(octets))
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        let text = self.to_text();
        // Only ASCII hex digits and colons were written.
        formatter.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for MacAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_text();
        let text = std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| de::Error::invalid_value(Unexpected::Str(&text), &"a MAC address like aa:bb:cc:dd:ee:ff"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_case_and_writes_lower_case() {
        let mac: MacAddress = "0A:1b:2C:3d:4E:5f".parse().expect("valid MAC");
        assert_eq!(mac, MacAddress([0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]));
        assert_eq!(mac.to_string(), "0a:1b:2c:3d:4e:5f");
    }

    #[test]
    fn anything_but_six_colon_separated_hex_pairs_is_refused() {
        for text in
            ["0a:1b:2c:3d:4e:5f:", "+a:1b:2c:3d:4e:5f", "0a-1b-2c-3d-4e-5f", "0a:1b:2c:3d:4e", "", "0a:1b:2c:3d:4e:5ö"]
        {
            assert_eq!(text.parse::<MacAddress>(), Err(MacAddressParseError), "{text}");
        }
    }
}
