//! Values a scenario file writes as text with a unit (`"250ms"`, `"2mbps"`, `"1%"`,
//! `"50 packets"`). They are parsed while the file is read, so a bad unit is reported at its
//! place in the file, and the JSON Schema's pattern is built from the same unit tables.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{InstanceType, Metadata, Schema, SchemaObject, StringValidation, SubschemaValidation};
use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::net::QueueLimit;

/// A kind of value written as a number followed by one of its units.
pub trait Quantity: Sized {
    /// Its name in the JSON Schema.
    const NAME: &'static str;
    /// What a valid value looks like, for error messages and the schema.
    const EXPECTED: &'static str;
    /// Every unit it accepts, as written.
    const UNITS: &'static [&'static str];
    /// The value of `number` in `unit`, one of [`Quantity::UNITS`]; `Err` says why not.
    fn new(number: Decimal, unit: &str) -> Result<Self, String>;
}

/// A quantity as a file field: deserialized from its text, described in the schema by a
/// pattern.
#[derive(Debug, Clone, Copy)]
pub struct WithUnit<Q>(pub Q);

/// A bit rate in bits per second, above 0.
#[derive(Debug, Clone, Copy)]
pub struct Bps(pub u64);

/// A bottleneck rate in bits per second, or `"unlimited"`: what lifts a limit in a change.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit(pub Option<u64>);

impl RateLimit {
    /// What a valid value looks like.
    fn expected() -> String {
        format!("{}, or \"unlimited\"", Bps::EXPECTED)
    }
}

/// A share between 0 and 1, written as a percentage.
#[derive(Debug, Clone, Copy)]
pub struct Share(pub f64);

/// A non-negative decimal number exactly as written: `digits / 10^scale`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    /// `"1.25"` → 125 / 10²; `None` for anything but digits with at most one dot inside.
    fn parse(text: &str) -> Option<Decimal> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || text.ends_with('.') {
            return None;
        }
        Some(Decimal {
            digits: format!("{whole}{fraction}").parse().ok()?,
            scale: fraction.len() as u32,
        })
    }

    /// The number times `factor`, rounded down; `None` if it does not fit.
    fn times(self, factor: u128) -> Option<u128> {
        Some(self.digits.checked_mul(factor)? / 10u128.checked_pow(self.scale)?)
    }

    fn as_f64(self) -> f64 {
        self.digits as f64 / 10f64.powi(self.scale as i32)
    }

    fn is_whole(self) -> bool {
        10u128
            .checked_pow(self.scale)
            .is_some_and(|power| self.digits.is_multiple_of(power))
    }
}

/// Parses `text` as a `Q`: a number, optional spaces, one of `Q`'s units.
pub fn parse<Q: Quantity>(text: &str) -> Result<Q, String> {
    parse_expecting(text, Q::EXPECTED)
}

/// [`parse`], saying `expected` is what a valid value looks like: a field that also takes
/// a word says so.
fn parse_expecting<Q: Quantity>(text: &str, expected: &str) -> Result<Q, String> {
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..number_end], text[number_end..].trim_start());
    if text.trim_start().starts_with('-') {
        return Err(format!("{text:?} is negative; expected {expected}"));
    }
    let Some(number) = Decimal::parse(number) else {
        return Err(format!("expected {expected}, found {text:?}"));
    };
    if !Q::UNITS.contains(&unit) {
        let what = if unit.is_empty() {
            format!("{text:?} has no unit")
        } else {
            format!("unknown unit `{unit}` in {text:?}")
        };
        return Err(format!("{what}; the units are {}", list(Q::UNITS)));
    }
    Q::new(number, unit)
}

/// `a`, `b` or `c`.
pub fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// The unit's factor from a table of `(unit, factor)`.
fn factor(table: &[(&str, u128)], unit: &str) -> u128 {
    table
        .iter()
        .find_map(|(name, factor)| (*name == unit).then_some(*factor))
        .unwrap_or_default()
}

const NANOS_PER: [(&str, u128); 3] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000)];

impl Quantity for Duration {
    const NAME: &'static str = "Duration";
    const EXPECTED: &'static str = r#"a duration such as "250ms", "2s" or "1.5m""#;
    const UNITS: &'static [&'static str] = &["ms", "s", "m"];

    fn new(number: Decimal, unit: &str) -> Result<Self, String> {
        number
            .times(factor(&NANOS_PER, unit))
            .and_then(|nanos| u64::try_from(nanos).ok())
            .map(Duration::from_nanos)
            .ok_or_else(|| "that duration is too long".to_owned())
    }
}

const BITS_PER_SECOND: [(&str, u128); 7] = [
    ("bps", 1),
    ("kbps", 1_000),
    ("Kbps", 1_000),
    ("mbps", 1_000_000),
    ("Mbps", 1_000_000),
    ("gbps", 1_000_000_000),
    ("Gbps", 1_000_000_000),
];

impl Quantity for Bps {
    const NAME: &'static str = "Rate";
    const EXPECTED: &'static str = r#"a rate such as "300kbps", "2mbps" or "1.5gbps""#;
    const UNITS: &'static [&'static str] = &["bps", "kbps", "Kbps", "mbps", "Mbps", "gbps", "Gbps"];

    fn new(number: Decimal, unit: &str) -> Result<Self, String> {
        match number
            .times(factor(&BITS_PER_SECOND, unit))
            .and_then(|bps| u64::try_from(bps).ok())
        {
            Some(0) => Err("a rate must be above 0 bps".to_owned()),
            Some(bps) => Ok(Bps(bps)),
            None => Err("that rate is too high".to_owned()),
        }
    }
}

impl Quantity for Share {
    const NAME: &'static str = "Share";
    const EXPECTED: &'static str = r#"a share such as "1%" or "0.5%""#;
    const UNITS: &'static [&'static str] = &["%"];

    fn new(number: Decimal, _percent: &str) -> Result<Self, String> {
        let share = number.as_f64() / 100.0;
        if share > 1.0 {
            return Err(format!("{}% is over 100%", number.as_f64()));
        }
        Ok(Share(share))
    }
}

const BYTES_PER: [(&str, u128); 5] = [
    ("B", 1),
    ("bytes", 1),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
];

const EMPTY_QUEUE: &str =
    r#"a queue that holds nothing drops every packet; for no waiting room, write "1 pkt" or "0ms""#;

impl Quantity for QueueLimit {
    const NAME: &'static str = "Queue";
    const EXPECTED: &'static str =
        r#"a queue limit in time, bytes or packets, such as "60ms", "64kB" or "50 packets""#;
    const UNITS: &'static [&'static str] = &["ms", "s", "B", "bytes", "kB", "KB", "MB", "packets", "pkt"];

    /// A time limit may be 0 (a packet reaching an idle link is still sent), a size may
    /// not: a queue of no packet or no byte drops everything, and the call never connects.
    fn new(number: Decimal, unit: &str) -> Result<Self, String> {
        let size = |factor: u128| match number.times(factor).and_then(|n| usize::try_from(n).ok()) {
            Some(0) => Err(EMPTY_QUEUE.to_owned()),
            Some(size) => Ok(size),
            None => Err("that queue is too large".to_owned()),
        };
        match unit {
            "ms" | "s" => <Duration as Quantity>::new(number, unit).map(QueueLimit::Time),
            "packets" | "pkt" if !number.is_whole() => Err("a packet count is a whole number".to_owned()),
            "packets" | "pkt" => size(1).map(QueueLimit::Packets),
            bytes => size(factor(&BYTES_PER, bytes)).map(QueueLimit::Bytes),
        }
    }
}

impl<'de, Q: Quantity> Deserialize<'de> for WithUnit<Q> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text<Q>(PhantomData<Q>);

        impl<Q: Quantity> Visitor<'_> for Text<Q> {
            type Value = Q;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(Q::EXPECTED)
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Q, E> {
                parse(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Text(PhantomData)).map(WithUnit)
    }
}

impl<Q: Quantity> JsonSchema for WithUnit<Q> {
    fn schema_name() -> String {
        Q::NAME.to_owned()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let units: Vec<String> = Q::UNITS.iter().map(|unit| regex_escape(unit)).collect();
        Schema::Object(SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            metadata: Some(Box::new(Metadata {
                description: Some(format!("{}.", capitalized(Q::EXPECTED))),
                ..Metadata::default()
            })),
            string: Some(Box::new(StringValidation {
                pattern: Some(format!("^[0-9]+(\\.[0-9]+)? *({})$", units.join("|"))),
                ..StringValidation::default()
            })),
            ..SchemaObject::default()
        })
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;

        impl Visitor<'_> for Text {
            type Value = RateLimit;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(&RateLimit::expected())
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<RateLimit, E> {
                if text == "unlimited" {
                    return Ok(RateLimit(None));
                }
                parse_expecting::<Bps>(text, &RateLimit::expected())
                    .map(|rate| RateLimit(Some(rate.0)))
                    .map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Text)
    }
}

impl JsonSchema for RateLimit {
    fn schema_name() -> String {
        "RateLimit".to_owned()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let unlimited = Schema::Object(SchemaObject {
            enum_values: Some(vec!["unlimited".into()]),
            ..SchemaObject::default()
        });
        Schema::Object(SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some(format!("{}.", capitalized(&RateLimit::expected()))),
                ..Metadata::default()
            })),
            subschemas: Some(Box::new(SubschemaValidation {
                any_of: Some(vec![generator.subschema_for::<WithUnit<Bps>>(), unlimited]),
                ..SubschemaValidation::default()
            })),
            ..SchemaObject::default()
        })
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = !c.is_ascii_alphanumeric() && c != '%';
            escape.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_rates_shares_and_queues_parse_exactly() {
        assert_eq!(parse::<Duration>("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse::<Duration>("0.3s"), Ok(Duration::from_millis(300)));
        assert_eq!(parse::<Duration>("1.5 m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse::<Bps>("1.5mbps").map(|r| r.0), Ok(1_500_000));
        assert_eq!(parse::<Bps>("300kbps").map(|r| r.0), Ok(300_000));
        assert_eq!(parse::<Share>("0.5%").map(|s| s.0), Ok(0.005));
        assert_eq!(parse::<QueueLimit>("50 packets"), Ok(QueueLimit::Packets(50)));
        assert_eq!(parse::<QueueLimit>("64kB"), Ok(QueueLimit::Bytes(64_000)));
        assert_eq!(
            parse::<QueueLimit>("60ms"),
            Ok(QueueLimit::Time(Duration::from_millis(60)))
        );
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        let error = parse::<Duration>("5sec").unwrap_err();
        assert!(
            error.contains("unknown unit `sec`") && error.contains("`ms`, `s` or `m`"),
            "{error}"
        );
        assert!(parse::<Duration>("10").unwrap_err().contains("has no unit"));
        assert!(parse::<Duration>("-5s").unwrap_err().contains("negative"));
        assert!(
            parse::<Duration>("1.s")
                .unwrap_err()
                .contains("expected a duration")
        );
        assert!(parse::<Share>("120%").unwrap_err().contains("over 100%"));
        assert!(parse::<Bps>("0kbps").unwrap_err().contains("above 0"));
        assert!(parse::<QueueLimit>("2.5 packets").unwrap_err().contains("whole"));
        assert!(
            parse::<QueueLimit>("0 pkt")
                .unwrap_err()
                .contains("drops every packet")
        );
        assert!(
            parse::<QueueLimit>("0.4B")
                .unwrap_err()
                .contains("drops every packet")
        );
        assert!(
            parse::<Bps>("99999999999999999999gbps")
                .unwrap_err()
                .contains("too high")
        );
    }
}
