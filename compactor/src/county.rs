//! The county a curated row names: one of Romania's 41 counties or București, from a fixed list, so no text a
//! sender writes in an address reaches the curated table. An address naming none gives none.

/// The counties (județe) and București, as the curated table writes them, one a line. The privacy scan
/// (`scripts/local_pipeline/privacy.py`) checks the curated lake against the same file.
const COUNTIES: &str = include_str!("counties.txt");

/// The names of [`COUNTIES`].
pub fn counties() -> impl Iterator<Item = &'static str> {
    COUNTIES.lines()
}

const BUCHAREST: &str = "București";

/// The county of a one-line Romanian address: the name after its last `jud. ` if it is one of
/// [`counties`] once case, diacritics (either cedilla or comma below), hyphens and spaces are set aside; else
/// București when a part of the address ends with the city's name (`030167 București, Sector 3`); else none.
pub fn county(address: &str) -> Option<&'static str> {
    if let Some((_, after)) = address.rsplit_once("jud. ") {
        return named(after.split(',').next().unwrap_or(after));
    }
    // The city is its own part of the address, after the postal code ("030167 București"), not a street
    // named after it.
    let city = normalise(BUCHAREST);
    address.split(',').any(|part| normalise(part).ends_with(&city)).then_some(BUCHAREST)
}

/// The county of the list that `name` is, spelled in any of the ways [`county`] sets aside.
pub fn named(name: &str) -> Option<&'static str> {
    let name = normalise(name);
    counties().find(|county| normalise(county) == name)
}

/// Lower case, ASCII letters for the Romanian ones, hyphens as spaces, runs of spaces as one.
fn normalise(text: &str) -> String {
    let folded: String = text
        .chars()
        .map(|c| match c {
            'ă' | 'â' | 'Ă' | 'Â' => 'a',
            'î' | 'Î' => 'i',
            'ș' | 'ş' | 'Ș' | 'Ş' => 's',
            'ț' | 'ţ' | 'Ț' | 'Ţ' => 't',
            '-' => ' ',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_county_is_found_however_it_is_spelled() {
        for (address, expected) in [
            ("Str. A nr. 1, 400123 Cluj-Napoca, jud. Cluj", Some("Cluj")),
            ("Str. A, jud. Bistrita Nasaud", Some("Bistrița-Năsăud")),
            ("Str. A, jud.  CARAŞ-SEVERIN , România", Some("Caraș-Severin")),
            ("Str. A, jud. Iasi", Some("Iași")),
            ("Str. A, jud. Satu-Mare", Some("Satu Mare")),
            ("Strada X nr. 1, 030167 București, Sector 3", Some("București")),
            ("Strada X nr. 1, 030167 Bucuresti", Some("București")),
        ] {
            assert_eq!(county(address), expected, "{address}");
        }
    }

    #[test]
    fn text_that_names_no_county_gives_none() {
        for address in [
            "Main Street 1, Springfield",
            "Str. A, jud. Ioana Popescu 2900101120015",
            "Str. A, jud. ",
            "Str. A, jud. Cluj Napoca",
            "Strada București nr. 3, 100001 Ploiești",
            "",
        ] {
            assert_eq!(county(address), None, "{address}");
        }
    }

    #[test]
    fn the_list_is_41_counties_and_bucharest_each_told_apart() {
        let names: std::collections::HashSet<String> = counties().map(normalise).collect();
        assert_eq!((counties().count(), names.len(), counties().any(|name| name == BUCHAREST)), (42, 42, true));
    }
}
