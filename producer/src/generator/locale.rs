//! The Romanian locale `fake` lacks, as an implementation of its `Data` trait.
//!
//! First names are split by sex (female first) so a record's personal number can agree with its name;
//! `fake`'s own fakers (last names, street types, phone numbers, e-mail providers) read the rest.

use fake::locales::Data;

/// Romanian (ro_RO) data for `fake`'s fakers.
#[derive(Debug, Clone, Copy, Default)]
#[allow(non_camel_case_types)]
pub(crate) struct RO_RO;

const FEMALE_FIRST_NAMES: [&str; 56] = [
    "Ana",
    "Maria",
    "Elena",
    "Ioana",
    "Andreea",
    "Alexandra",
    "Mihaela",
    "Cristina",
    "Gabriela",
    "Daniela",
    "Alina",
    "Roxana",
    "Simona",
    "Monica",
    "Irina",
    "Adriana",
    "Diana",
    "Raluca",
    "Laura",
    "Oana",
    "Carmen",
    "Florentina",
    "Georgiana",
    "Larisa",
    "Bianca",
    "Teodora",
    "Ecaterina",
    "Ileana",
    "Mioara",
    "Lăcrămioara",
    "Ștefania",
    "Smaranda",
    "Viorica",
    "Rodica",
    "Mădălina",
    "Anca",
    "Corina",
    "Denisa",
    "Iulia",
    "Luminița",
    "Mirela",
    "Nicoleta",
    "Paula",
    "Petronela",
    "Sânziana",
    "Tatiana",
    "Violeta",
    "Zoița",
    "Cătălina",
    "Ionela",
    "Antonia",
    "Sorina",
    "Ramona",
    "Delia",
    "Ana-Maria",
    "Ștefana",
];

const MALE_FIRST_NAMES: [&str; 56] = [
    "Alexandru",
    "Andrei",
    "Ion",
    "Gheorghe",
    "Mihai",
    "Constantin",
    "Vasile",
    "Nicolae",
    "Ștefan",
    "Florin",
    "Adrian",
    "Bogdan",
    "Cristian",
    "Daniel",
    "Dragoș",
    "Dumitru",
    "Emil",
    "Eugen",
    "Gabriel",
    "George",
    "Horia",
    "Ionuț",
    "Iulian",
    "Laurențiu",
    "Lucian",
    "Marian",
    "Marius",
    "Mircea",
    "Ovidiu",
    "Petru",
    "Radu",
    "Răzvan",
    "Sebastian",
    "Sorin",
    "Tudor",
    "Valentin",
    "Victor",
    "Viorel",
    "Cătălin",
    "Costel",
    "Decebal",
    "Doru",
    "Liviu",
    "Nicușor",
    "Octavian",
    "Paul",
    "Remus",
    "Silviu",
    "Traian",
    "Vlad",
    "Aurel",
    "Cosmin",
    "Matei",
    "Șerban",
    "Ciprian",
    "Ilie",
];

const FIRST_NAMES: [&str; FEMALE_FIRST_NAMES.len() + MALE_FIRST_NAMES.len()] =
    concat(FEMALE_FIRST_NAMES, MALE_FIRST_NAMES);

const fn concat<const A: usize, const B: usize, const C: usize>(
    first: [&'static str; A],
    second: [&'static str; B],
) -> [&'static str; C] {
    let mut all = [""; C];
    let mut index = 0;
    while index < A {
        all[index] = first[index];
        index += 1;
    }
    while index < C {
        all[index] = second[index - A];
        index += 1;
    }
    all
}

impl RO_RO {
    /// Female first names, a prefix of `NAME_FIRST_NAME`.
    pub(crate) const FEMALE_FIRST_NAMES: &'static [&'static str] = &FEMALE_FIRST_NAMES;
    /// Male first names, the rest of `NAME_FIRST_NAME`.
    pub(crate) const MALE_FIRST_NAMES: &'static [&'static str] = &MALE_FIRST_NAMES;
    /// Names Romanian streets are given: people, dates, plants and places.
    pub(crate) const STREET_NAMES: &'static [&'static str] = &[
        "Mihai Eminescu",
        "Ștefan cel Mare",
        "Mihai Viteazu",
        "Unirii",
        "Libertății",
        "Republicii",
        "Florilor",
        "Trandafirilor",
        "Teilor",
        "Castanilor",
        "Victoriei",
        "Independenței",
        "Nicolae Bălcescu",
        "Avram Iancu",
        "Tudor Vladimirescu",
        "Alexandru Ioan Cuza",
        "Ion Creangă",
        "George Coșbuc",
        "Lucian Blaga",
        "Mărășești",
        "Decebal",
        "Traian",
        "1 Decembrie 1918",
        "Primăverii",
        "Morii",
        "Gării",
        "Școlii",
        "Bisericii",
        "Păcii",
        "Zorilor",
        "Plopilor",
        "Salcâmilor",
        "Crișan",
        "Horea",
        "Vasile Alecsandri",
        "Ion Luca Caragiale",
        "Octavian Goga",
        "Garoafelor",
        "Lalelelor",
        "Mihail Kogălniceanu",
        "Constantin Brâncuși",
        "Eroilor",
    ];
}

#[rustfmt::skip]
impl Data for RO_RO {
    const NAME_FIRST_NAME: &'static [&'static str] = &FIRST_NAMES;
    const NAME_LAST_NAME: &'static [&'static str] = &[
        "Popescu", "Ionescu", "Popa", "Pop", "Radu", "Dumitru", "Stan", "Stoica", "Gheorghe", "Matei", "Ciobanu",
        "Rusu", "Munteanu", "Florea", "Constantin", "Ilie", "Mihai", "Dinu", "Lazăr", "Marin", "Tudor", "Moldovan",
        "Bălan", "Toma", "Oprea", "Șerban", "Nistor", "Diaconu", "Barbu", "Dobre", "Cristea", "Sima", "Ene",
        "Neagu", "Dragomir", "Ungureanu", "Vasile", "Zamfir", "Mocanu", "Manea", "Niculescu", "Georgescu",
        "Constantinescu", "Dumitrescu", "Stănescu", "Ursu", "Lupu", "Cozma", "Mureșan", "Sârbu", "Căpraru",
        "Buzatu", "Țurcanu", "Ardeleanu", "Bucur", "Crăciun", "Enache", "Iordache", "Jitaru", "Nedelcu", "Pîrvu",
        "Roman", "Sandu", "Tănase", "Voicu", "Țăranu", "Ștefănescu", "Andrieș", "Costache", "Grigore",
    ];
    const NAME_TPL: &'static str = "{FirstName} {LastName}";
    const ADDRESS_COUNTRY: &'static [&'static str] = &["România"];
    const ADDRESS_COUNTRY_CODE: &'static [&'static str] = &["RO"];
    // Street types, weighted by how often they appear in Romanian addresses.
    const ADDRESS_STREET_SUFFIX: &'static [&'static str] = &[
        "Strada", "Strada", "Strada", "Strada", "Strada", "Strada", "Bulevardul", "Calea", "Aleea", "Aleea",
        "Șoseaua", "Splaiul", "Piața", "Intrarea",
    ];
    const ADDRESS_STREET_TPL: &'static str = "{StreetSuffix} {StreetName}";
    const ADDRESS_POSTCODE_FORMATS: &'static [&'static str] = &["######"];
    const ADDRESS_ZIP_FORMATS: &'static [&'static str] = &["######"];
    const INTERNET_FREE_EMAIL_PROVIDER: &'static [&'static str] = &[
        "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "yahoo.ro", "yahoo.com", "hotmail.com",
        "outlook.com", "icloud.com",
    ];
    // Mobile numbers (07xx) outnumber landlines (02xx Romtelecom, 03xx other operators; 021/031 Bucharest).
    const PHONE_NUMBER_FORMATS: &'static [&'static str] = &[
        "07^# ### ###", "07^# ### ###", "07^# ### ###", "07^#######", "+40 7^# ### ###", "+407^#######",
        "021 ### ####", "031 ### ####", "+40 21 ### ####", "02^# ### ###", "03^# ### ###",
    ];
    const PHONE_CELL_NUMBER_FORMATS: &'static [&'static str] = &["07^# ### ###", "07^#######", "+40 7^# ### ###"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_names_are_the_female_then_the_male_names() {
        assert_eq!(RO_RO::NAME_FIRST_NAME.len(), RO_RO::FEMALE_FIRST_NAMES.len() + RO_RO::MALE_FIRST_NAMES.len());
        assert!(RO_RO::NAME_FIRST_NAME.starts_with(RO_RO::FEMALE_FIRST_NAMES));
        assert!(RO_RO::NAME_FIRST_NAME.ends_with(RO_RO::MALE_FIRST_NAMES));
    }

    #[test]
    fn names_carry_romanian_diacritics() {
        let names = RO_RO::NAME_FIRST_NAME.iter().chain(RO_RO::NAME_LAST_NAME);
        assert!(names.clone().any(|name| name.contains('ș')));
        assert!(names.clone().any(|name| name.contains('ț')));
        assert!(names.clone().any(|name| name.contains('ă')));
        // Comma-below letters, never the legacy cedilla forms.
        assert!(!names.clone().any(|name| name.contains(['ş', 'ţ', 'Ş', 'Ţ'])));
    }
}
