//! Romania's counties and Bucharest's sectors, with the codes a coherent record needs.
//!
//! The county code is the one a CNP carries (01-52); the postal prefix is the first two digits of the
//! county's six-digit postal codes. A record's address, postal code and CNP are drawn from one entry.

/// A county (județ), or one sector of Bucharest, with some of its towns.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct County {
    pub(crate) name: &'static str,
    /// The two-digit county code of a CNP.
    pub(crate) cnp_code: u8,
    /// The first two digits of postal codes there.
    pub(crate) postal_prefix: &'static str,
    pub(crate) towns: &'static [&'static str],
}

impl County {
    /// Bucharest's sectors have CNP codes 41-46 and are written "Sector N" instead of "jud. X".
    pub(crate) fn bucharest_sector(&self) -> Option<u8> {
        (41..=46).contains(&self.cnp_code).then(|| self.cnp_code - 40)
    }
}

const fn county(
    name: &'static str,
    cnp_code: u8,
    postal_prefix: &'static str,
    towns: &'static [&'static str],
) -> County {
    County { name, cnp_code, postal_prefix, towns }
}

/// Every county and Bucharest sector.
pub(crate) const COUNTIES: &[County] = &[
    county("Alba", 1, "51", &["Alba Iulia", "Aiud", "Sebeș", "Blaj"]),
    county("Arad", 2, "31", &["Arad", "Lipova", "Ineu"]),
    county("Argeș", 3, "11", &["Pitești", "Câmpulung", "Curtea de Argeș"]),
    county("Bacău", 4, "60", &["Bacău", "Onești", "Moinești"]),
    county("Bihor", 5, "41", &["Oradea", "Salonta", "Beiuș"]),
    county("Bistrița-Năsăud", 6, "42", &["Bistrița", "Beclean", "Năsăud"]),
    county("Botoșani", 7, "71", &["Botoșani", "Dorohoi"]),
    county("Brașov", 8, "50", &["Brașov", "Făgăraș", "Săcele", "Codlea"]),
    county("Brăila", 9, "81", &["Brăila", "Ianca"]),
    county("Buzău", 10, "12", &["Buzău", "Râmnicu Sărat"]),
    county("Caraș-Severin", 11, "32", &["Reșița", "Caransebeș"]),
    county("Cluj", 12, "40", &["Cluj-Napoca", "Turda", "Dej", "Câmpia Turzii"]),
    county("Constanța", 13, "90", &["Constanța", "Mangalia", "Medgidia", "Năvodari"]),
    county("Covasna", 14, "52", &["Sfântu Gheorghe", "Târgu Secuiesc"]),
    county("Dâmbovița", 15, "13", &["Târgoviște", "Moreni", "Găești"]),
    county("Dolj", 16, "20", &["Craiova", "Băilești", "Calafat"]),
    county("Galați", 17, "80", &["Galați", "Tecuci"]),
    county("Gorj", 18, "21", &["Târgu Jiu", "Motru"]),
    county("Harghita", 19, "53", &["Miercurea Ciuc", "Odorheiu Secuiesc", "Gheorgheni"]),
    county("Hunedoara", 20, "33", &["Deva", "Hunedoara", "Petroșani"]),
    county("Ialomița", 21, "92", &["Slobozia", "Fetești", "Urziceni"]),
    county("Iași", 22, "70", &["Iași", "Pașcani"]),
    county("Ilfov", 23, "07", &["Voluntari", "Buftea", "Otopeni", "Popești-Leordeni"]),
    county("Maramureș", 24, "43", &["Baia Mare", "Sighetu Marmației", "Borșa"]),
    county("Mehedinți", 25, "22", &["Drobeta-Turnu Severin", "Orșova"]),
    county("Mureș", 26, "54", &["Târgu Mureș", "Reghin", "Sighișoara"]),
    county("Neamț", 27, "61", &["Piatra Neamț", "Roman"]),
    county("Olt", 28, "23", &["Slatina", "Caracal"]),
    county("Prahova", 29, "10", &["Ploiești", "Câmpina", "Sinaia"]),
    county("Satu Mare", 30, "44", &["Satu Mare", "Carei"]),
    county("Sălaj", 31, "45", &["Zalău", "Șimleu Silvaniei"]),
    county("Sibiu", 32, "55", &["Sibiu", "Mediaș"]),
    county("Suceava", 33, "72", &["Suceava", "Fălticeni", "Rădăuți"]),
    county("Teleorman", 34, "14", &["Alexandria", "Roșiorii de Vede", "Turnu Măgurele"]),
    county("Timiș", 35, "30", &["Timișoara", "Lugoj"]),
    county("Tulcea", 36, "82", &["Tulcea", "Babadag"]),
    county("Vaslui", 37, "73", &["Vaslui", "Bârlad", "Huși"]),
    county("Vâlcea", 38, "24", &["Râmnicu Vâlcea", "Drăgășani"]),
    county("Vrancea", 39, "62", &["Focșani", "Adjud"]),
    county("București", 41, "01", &["București"]),
    county("București", 42, "02", &["București"]),
    county("București", 43, "03", &["București"]),
    county("București", 44, "04", &["București"]),
    county("București", 45, "05", &["București"]),
    county("București", 46, "06", &["București"]),
    county("Călărași", 51, "91", &["Călărași", "Oltenița"]),
    county("Giurgiu", 52, "08", &["Giurgiu", "Bolintin-Vale"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_prefixes_are_unique_and_well_formed() {
        let codes: HashSet<u8> = COUNTIES.iter().map(|county| county.cnp_code).collect();
        let prefixes: HashSet<&str> = COUNTIES.iter().map(|county| county.postal_prefix).collect();
        assert_eq!(codes.len(), COUNTIES.len());
        assert_eq!(prefixes.len(), COUNTIES.len());
        for county in COUNTIES {
            assert!((1..=52).contains(&county.cnp_code), "{county:?}");
            assert!(county.postal_prefix.len() == 2 && county.postal_prefix.bytes().all(|b| b.is_ascii_digit()));
            assert!(!county.towns.is_empty(), "{county:?}");
        }
    }

    #[test]
    fn bucharest_has_six_sectors() {
        let sectors: Vec<u8> = COUNTIES.iter().filter_map(County::bucharest_sector).collect();
        assert_eq!(sectors, [1, 2, 3, 4, 5, 6]);
    }
}
