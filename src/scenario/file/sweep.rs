//! `[sweep]`: one file, a call per combination of values. A point is the file with the
//! swept settings replaced, read again by the same parser, so every point is checked as
//! strictly as a file of its own; a mistake a swept value makes is placed at that value.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use toml::{Spanned, Table, Value};

use super::format::SweepValues;
use super::units::{self, Bps, Share};
use super::{FileError, ScenarioFile, Source, known_peer};

/// The most points a sweep may have: each is a whole call, so more is likely a mistake.
pub const MAX_POINTS: usize = 64;

/// A setting a sweep point gives: its dotted path and its value as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub path: String,
    pub value: String,
}

impl Swept {
    /// The value as a number on its setting's scale, for plots: a plain number as it is, a
    /// duration in seconds, a rate in bit/s, a share (`"5%"`) from 0 to 1; `None` for
    /// anything else (`"symmetric"`, `true`, `"unlimited"`, a queue size).
    pub fn number(&self) -> Option<f64> {
        let value = self.value.as_str();
        value
            .parse::<f64>()
            .ok()
            .filter(|number| number.is_finite())
            .or_else(|| {
                units::parse::<Duration>(value)
                    .ok()
                    .map(|time| time.as_secs_f64())
            })
            .or_else(|| units::parse::<Bps>(value).ok().map(|Bps(bps)| bps as f64))
            .or_else(|| units::parse::<Share>(value).ok().map(|Share(share)| share))
    }
}

/// `peers.alice.link.loss=5%, core.delay=150ms`: a point as names show it.
pub fn label(point: &[Swept]) -> String {
    let settings: Vec<String> = point
        .iter()
        .map(|Swept { path, value }| format!("{path}={value}"))
        .collect();
    settings.join(", ")
}

/// A swept path with the value it takes at a point.
type Pick<'t> = (&'t Spanned<String>, &'t Spanned<Value>);

impl Source<'_> {
    /// The scenarios of a `[sweep]`, one per point, the first path varying slowest.
    pub(super) fn sweep(
        &self,
        sweep: &BTreeMap<Spanned<String>, SweepValues>,
    ) -> Result<Vec<ScenarioFile>, FileError> {
        let mut axes: Vec<(&Spanned<String>, &[Spanned<Value>])> = sweep
            .iter()
            .map(|(path, values)| (path, values.0.as_slice()))
            .collect();
        axes.sort_by_key(|(path, _)| path.span().start);
        let mut document: Table = toml::from_str(self.text)
            .map_err(|error| FileError::whole_file(self.path, &error.to_string()))?;
        document.remove("sweep");
        let mut points = 1;
        for (path, values) in &axes {
            self.check_axis(path, values, &document)?;
            points *= values.len();
            if points > MAX_POINTS {
                let message = format!(
                    "the sweep has {points} points up to this path, more than {MAX_POINTS}: each is \
                     a whole call; sweep fewer values, or split the file"
                );
                return Err(self.error_at(path, &field(path), message));
            }
        }
        (0..points)
            .map(|index| {
                let mut rest = index;
                let mut picks: Vec<Pick> = Vec::new();
                for (path, values) in axes.iter().rev() {
                    picks.push((path, &values[rest % values.len()]));
                    rest /= values.len();
                }
                picks.reverse();
                self.point(&document, &picks)
            })
            .collect()
    }

    /// A swept path names a setting of `document`, and takes distinct single values.
    fn check_axis(
        &self,
        path: &Spanned<String>,
        values: &[Spanned<Value>],
        document: &Table,
    ) -> Result<(), FileError> {
        let field = field(path);
        if values.is_empty() {
            let message = "give the values it takes, at least one".to_owned();
            return Err(self.error_at(path, &field, message));
        }
        for (index, value) in values.iter().enumerate() {
            if matches!(value.get_ref(), Value::Table(_) | Value::Array(_)) {
                let message = "a swept value is one setting's value, such as \"5%\", 3 or true".to_owned();
                return Err(self.error_at(value, &field, message));
            }
            if values[..index]
                .iter()
                .any(|earlier| earlier.get_ref() == value.get_ref())
            {
                let message = format!("`{}` is listed twice", shown(value.get_ref()));
                return Err(self.error_at(value, &field, message));
            }
        }
        self.place(&mut document.clone(), path).map(|_| ())
    }

    /// The setting `path` names in `document`, made if missing with the tables on its way
    /// (the parser then judges their names), except a peer, which must be in the file.
    fn place<'d>(&self, document: &'d mut Table, path: &Spanned<String>) -> Result<&'d mut Value, FileError> {
        let fail = |message: String| self.error_at(path, &field(path), message);
        let keys: Vec<&str> = path.get_ref().split('.').collect();
        let Some((last, tables)) = keys
            .split_last()
            .filter(|_| keys.iter().all(|key| !key.is_empty()))
        else {
            return Err(fail(format!(
                "expected the dotted path of a setting, such as `peers.alice.link.loss`, found `{}`",
                path.get_ref()
            )));
        };
        let mut table = document;
        for (depth, key) in tables.iter().enumerate() {
            if depth == 1 && keys[0] == "peers" {
                let peers: Vec<&str> = table.keys().map(String::as_str).collect();
                known_peer(key, &peers).map_err(fail)?;
            }
            table = match table.entry(*key).or_insert_with(|| Value::Table(Table::new())) {
                Value::Table(inner) => inner,
                _ => {
                    let within = keys[..=depth].join(".");
                    return Err(fail(format!("`{within}` is a value, not a table of settings")));
                }
            };
        }
        Ok(table.entry(*last).or_insert(Value::Boolean(false)))
    }

    /// The scenario at one point: the file with `picks` in place, read again.
    fn point(&self, document: &Table, picks: &[Pick]) -> Result<ScenarioFile, FileError> {
        let mut table = document.clone();
        for (path, value) in picks {
            *self.place(&mut table, path)? = value.get_ref().clone();
        }
        let text =
            toml::to_string(&table).map_err(|error| FileError::whole_file(self.path, &error.to_string()))?;
        let source = Source {
            path: self.path,
            text: &text,
            apps: self.apps,
        };
        let read = serde_path_to_error::deserialize(toml::Deserializer::new(&text));
        let unknown_key = read
            .as_ref()
            .is_err_and(|error| error.inner().message().starts_with("unknown field"));
        let mut file = read
            .map_err(|error| source.read_error(error))
            .and_then(|parsed| source.build(&parsed))
            .map_err(|error| self.placed(error, unknown_key, picks))?;
        file.point = settings(picks);
        file.scenario.world.name = format!("{}[{}]", file.scenario.world.name, label(&file.point));
        Ok(file)
    }

    /// `error`, found in a point's text, placed at its cause in the file: the swept path if
    /// it names a setting or table that is not there, its value if the setting cannot take
    /// it, the first path if the file cannot hold the point as a whole.
    fn placed(&self, error: FileError, unknown_key: bool, picks: &[Pick]) -> FileError {
        let cause = picks.iter().find(|(path, _)| {
            let path = path.get_ref();
            *path == error.field || path.starts_with(&format!("{}.", error.field))
        });
        match cause {
            Some((path, _)) if unknown_key || *path.get_ref() != error.field => {
                self.error_at(path, &error.field, error.message)
            }
            Some((_, value)) => self.error_at(value, &error.field, error.message),
            None => match picks.first() {
                Some((path, _)) => {
                    let message = format!("at the point [{}]: {}", label(&settings(picks)), error.message);
                    self.error_at(path, &error.field, message)
                }
                None => error,
            },
        }
    }
}

/// The settings a point gives.
fn settings(picks: &[Pick]) -> Vec<Swept> {
    picks
        .iter()
        .map(|(path, value)| Swept {
            path: path.get_ref().clone(),
            value: shown(value.get_ref()),
        })
        .collect()
}

/// `sweep."peers.alice.link.loss"`: a swept path as an error names it.
fn field(path: &Spanned<String>) -> String {
    format!("sweep.\"{}\"", path.get_ref())
}

/// A value as the file writes it, strings without quotes: `5%`, `3`, `true`.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::Swept;

    fn number(value: &str) -> Option<f64> {
        Swept {
            path: "x".to_owned(),
            value: value.to_owned(),
        }
        .number()
    }

    #[test]
    fn swept_values_read_as_numbers_on_their_scale() {
        assert_eq!(number("5%"), Some(0.05));
        assert_eq!(number("150ms"), Some(0.15));
        assert_eq!(number("1.5mbps"), Some(1_500_000.0));
        assert_eq!(number("3"), Some(3.0));
        assert_eq!(number("0.25"), Some(0.25));
        for other in ["symmetric", "true", "unlimited", "50 packets", "inf", "NaN"] {
            assert_eq!(number(other), None, "{other}");
        }
    }
}
