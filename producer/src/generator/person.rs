//! A person's name and the user name and e-mail derived from it.

/// `first` and `last` without diacritics or separators, in lower case: "Ștefan Țurcanu" gives
/// "stefanturcanu", as the seed builds user names from names.
pub(crate) fn user_name(first: &str, last: &str) -> String {
    let mut name = String::with_capacity(first.len() + last.len());
    name.extend(first.chars().chain(last.chars()).filter_map(ascii_fold));
    name
}

/// The lower-case ASCII letter or digit a Romanian character folds to; `None` for separators.
fn ascii_fold(character: char) -> Option<char> {
    let folded = match character {
        'ă' | 'â' | 'Ă' | 'Â' => 'a',
        'î' | 'Î' => 'i',
        'ș' | 'ş' | 'Ș' | 'Ş' => 's',
        'ț' | 'ţ' | 'Ț' | 'Ţ' => 't',
        other if other.is_ascii_alphanumeric() => other.to_ascii_lowercase(),
        _ => return None,
    };
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diacritics_fold_and_separators_vanish() {
        assert_eq!(user_name("Ștefan", "Țurcanu"), "stefanturcanu");
        assert_eq!(user_name("Ana-Maria", "Pîrvu"), "anamariapirvu");
        assert_eq!(user_name("Lăcrămioara", "Sârbu"), "lacramioarasarbu");
        assert_eq!(user_name("Şerban", "Ţăranu"), "serbantaranu");
    }
}
