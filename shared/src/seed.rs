//! The one place a run's random generator is chosen: seeded, so a run can be repeated record for
//! record, or from the operating system's entropy.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// The generator for `seed`: the same seed gives the same draws; `None` gives fresh ones.
pub fn rng(seed: Option<u64>) -> StdRng {
    seed.map_or_else(rand::make_rng, StdRng::seed_from_u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn a_seed_repeats_its_draws() {
        assert_eq!(rng(Some(3)).next_u64(), rng(Some(3)).next_u64());
        assert_ne!(rng(Some(3)).next_u64(), rng(Some(4)).next_u64());
        assert_ne!(rng(None).next_u64(), rng(None).next_u64());
    }
}
