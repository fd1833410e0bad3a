//! The seeds a scenario is played over: a flaky network's question is how often a call
//! goes well, not whether one run did.

use std::fmt;
use std::str::FromStr;

/// The seeds `A..B` a scenario is played with, both included: a file's `seeds`, or
/// `netsim run --seeds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeds {
    pub first: u64,
    pub last: u64,
}

impl Seeds {
    /// Every seed, in order.
    pub fn iter(self) -> impl Iterator<Item = u64> {
        self.first..=self.last
    }
}

impl FromStr for Seeds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (first, last) = text
            .split_once("..")
            .ok_or("expected A..B, as in 1..20: the seeds A to B, both included")?;
        let number = |text: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("`{text}` is not a whole number"))
        };
        let (first, last) = (number(first)?, number(last)?);
        if first > last {
            return Err(format!(
                "the first seed must not be greater than the last (here {first} > {last})"
            ));
        }
        Ok(Seeds { first, last })
    }
}

impl fmt::Display for Seeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::Seeds;

    #[test]
    fn seeds_are_a_range_both_ends_included() {
        let seeds: Seeds = "3..5".parse().expect("a range");
        assert_eq!(seeds.iter().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(seeds.to_string(), "3..5");
        assert_eq!("7..7".parse::<Seeds>().map(|seeds| seeds.iter().count()), Ok(1));
        for (text, error) in [
            (
                "5..3",
                "the first seed must not be greater than the last (here 5 > 3)",
            ),
            ("5", "expected A..B, as in 1..20: the seeds A to B, both included"),
            ("1..x", "`x` is not a whole number"),
        ] {
            assert_eq!(text.parse::<Seeds>(), Err(error.to_owned()), "{text}");
        }
    }
}
