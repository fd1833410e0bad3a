//! Scenario files: TOML a QA engineer can read aloud, parsed into a [`Scenario`] and the
//! [`Expectation`]s to judge its run by. The README documents the format; `netsim schema`
//! prints it as a JSON Schema derived from the same types (`format`).
//!
//! Reading happens in two passes. serde reads the text into the `format` types, checking
//! syntax, key names, types and units; then `Source` checks what serde cannot (one caller
//! and one callee, servers that exist, timeline events within the call and on known peers,
//! windows within the call, streams and events that exist) and builds the scenario.
//! Every error names `file:line:col` and the field. A file with a `[sweep]` gives one
//! scenario per point (`sweep`).

mod format;
mod sweep;
mod units;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::schema::RootSchema;
use toml::Spanned;

use self::format::{
    CheckText, CongestionControlText, CredentialsText, CrossDirectionText, CrossKindText, CrossTrafficText,
    DirectionText, ExpectText, FirewallText, IceServerText, LinkText, MediaText, NameOrTable, NatName,
    NatTableText, NatText, PeerText, ProcessingText, RampCheckText, ReconnectCheckText, RestartPolicyText,
    ScenarioText, Scope, ServerName, ServersText, SignalingName, TargetBitrateCheckText, ThroughputCheckText,
    TimelineText, TransportPolicyText,
};
pub use self::sweep::{MAX_POINTS, Swept, label};
use self::units::{Bps, Share, WithUnit, list};
use super::expect::{self, Bitrate, Bounds, Expectation, Ramp, Ratio, Show, StreamMetric, Verdict};
use super::{CallsError, Credentials, IceServer, PeerSpec, Processing, Scenario, Seeds, Servers, TURN};
use crate::cross::{CrossDirection, CrossKind, CrossTraffic};
use crate::metrics::{NETWORK_EVENTS, Window};
use crate::net::{DeliveryTrace, LinkConfig, Loss, NatConfig};
use crate::peer::{AppPolicy, CongestionControl, RestartPolicy};
use crate::sim::{Apps, CommandKind};
use crate::timeline::{Action, Direction, LinkChange, SignalingChange, TimedAction};
use crate::trace::{MediaKind, StreamId};
use crate::world::MAX_CROSS_FLOWS;
use crate::world::{Run, RunError};

/// A scenario read from a file, with what must hold about its run.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The story it tells.
    pub description: String,
    pub scenario: Scenario,
    pub expectations: Vec<Expectation>,
    /// Of `seeds`, the share each expectation must hold on, by index (its `[[expect]]`'s
    /// `share`); `None`: every seed.
    pub shares: Vec<Option<f64>>,
    /// The seeds it is played with, one run each (its `seeds`); `None`: once, with the
    /// scenario's seed.
    pub seeds: Option<Seeds>,
    /// The settings its `[sweep]` point gives, in file order; empty without a sweep.
    pub point: Vec<Swept>,
}

impl ScenarioFile {
    /// The same file, played with `seed`.
    pub fn with_seed(&self, seed: u64) -> ScenarioFile {
        let mut seeded = self.clone();
        seeded.scenario.world.seed = seed;
        seeded
    }

    /// The file once per seed of its `seeds`, or once as it is.
    pub fn per_seed(&self) -> Vec<ScenarioFile> {
        match self.seeds {
            Some(seeds) => seeds.iter().map(|seed| self.with_seed(seed)).collect(),
            None => vec![self.clone()],
        }
    }

    /// Runs the call with the built-in app and judges every expectation on it.
    pub fn play(&self) -> Result<(Run, Vec<Verdict>), RunError> {
        self.play_with(&Apps::NONE)
    }

    /// Runs the call, its peers' `app`s taken from `apps`, and judges every expectation on
    /// it as [`ScenarioFile::play`] does.
    pub fn play_with(&self, apps: &Apps) -> Result<(Run, Vec<Verdict>), RunError> {
        let run = self.scenario.run_with(apps)?;
        let mut verdicts = expect::judge(&self.expectations, &run);
        for (verdict, share) in verdicts.iter_mut().zip(&self.shares) {
            verdict.share = *share;
        }
        Ok((run, verdicts))
    }

    /// What tests and reports call it: the file name, with its sweep point if it has one,
    /// e.g. `loss-sweep[peers.alice.link.loss=5%]`.
    pub fn id(&self) -> String {
        if self.point.is_empty() {
            return self.stem();
        }
        format!("{}[{}]", self.stem(), sweep::label(&self.point))
    }

    /// The file name without `.toml`.
    fn stem(&self) -> String {
        stem(&self.path)
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Reads and checks the scenario file at `path`, which has no `[sweep]`.
pub fn load(path: &Path) -> Result<ScenarioFile, FileError> {
    single(path, load_all(path)?)
}

/// Reads and checks the scenario file at `path`: one scenario per point of its `[sweep]`,
/// or the one it describes. Its peers run the built-in app, as in `netsim`.
pub fn load_all(path: &Path) -> Result<Vec<ScenarioFile>, FileError> {
    load_all_with(path, &Apps::NONE)
}

/// [`load_all`], for a file whose peers may name the apps of `apps`.
pub fn load_all_with(path: &Path, apps: &Apps) -> Result<Vec<ScenarioFile>, FileError> {
    let bytes = std::fs::read(path).map_err(|error| FileError::unreadable(path, &error))?;
    let text = String::from_utf8(bytes).map_err(|error| FileError::not_utf8(path, error.as_bytes()))?;
    parse_all_with(path, &text, apps)
}

/// Checks the scenario in `text`, which has no `[sweep]`; `path` names the file in errors
/// and gives the default name.
pub fn parse(path: &Path, text: &str) -> Result<ScenarioFile, FileError> {
    single(path, parse_all(path, text)?)
}

/// Checks the scenarios in `text`: one per point of its `[sweep]`, or the one it describes.
/// Its peers run the built-in app, as in `netsim`.
pub fn parse_all(path: &Path, text: &str) -> Result<Vec<ScenarioFile>, FileError> {
    parse_all_with(path, text, &Apps::NONE)
}

/// [`parse_all`], for a file whose peers may name the apps of `apps`.
pub fn parse_all_with(path: &Path, text: &str, apps: &Apps) -> Result<Vec<ScenarioFile>, FileError> {
    let source = Source { path, text, apps };
    let parsed = source.read()?;
    // The file as written must hold, so that its own mistakes are placed in its own text.
    let file = source.build(&parsed)?;
    if parsed.sweep.is_empty() {
        return Ok(vec![file]);
    }
    source.sweep(&parsed.sweep)
}

/// The one scenario of a file without a sweep.
fn single(path: &Path, mut files: Vec<ScenarioFile>) -> Result<ScenarioFile, FileError> {
    match files.pop() {
        Some(file) if files.is_empty() && file.point.is_empty() => Ok(file),
        _ => Err(FileError::whole_file(
            path,
            "its [sweep] makes it several scenarios: read them with `load_all` or `parse_all`",
        )),
    }
}

/// The scenario files among `paths`: files as given, then each folder's `*.toml` files in
/// name order.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FileError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|error| FileError::unreadable(path, &error))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|file| file.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        if found.is_empty() {
            return Err(FileError::whole_file(
                path,
                "this folder holds no `*.toml` scenario files",
            ));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Parses a duration written as in scenario files (`"30s"`, `"250ms"`), for the CLI.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    units::parse(text)
}

/// The JSON Schema of the format, for editors to validate and complete scenario files.
pub fn json_schema() -> RootSchema {
    schemars::schema_for!(ScenarioText)
}

/// A scenario file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    /// Line and column (from 1) of the offending text; `None` for the file as a whole.
    pub position: Option<(usize, usize)>,
    /// Dotted path of the offending field, e.g. `peers.alice.link.loss`; empty if none.
    pub field: String,
    /// What is wrong, what was expected and, where there is one, a suggestion.
    pub message: String,
    /// The offending line with its offending text underlined; empty if none.
    excerpt: String,
}

impl FileError {
    fn whole_file(path: &Path, message: &str) -> FileError {
        FileError {
            path: path.to_owned(),
            position: None,
            field: String::new(),
            message: message.to_owned(),
            excerpt: String::new(),
        }
    }

    fn unreadable(path: &Path, error: &std::io::Error) -> FileError {
        Self::whole_file(path, &format!("cannot read it: {error}"))
    }

    /// `bytes`, the file, are not UTF-8: placed at the first byte that is not, which the
    /// excerpt shows as `�`.
    fn not_utf8(path: &Path, bytes: &[u8]) -> FileError {
        let valid = std::str::from_utf8(bytes).map_or_else(|error| error.valid_up_to(), str::len);
        let bad = bytes.get(valid).copied().unwrap_or_default();
        // The valid prefix is the same in the lossy text, and `�` replaces what follows.
        let text = String::from_utf8_lossy(bytes);
        let source = Source {
            path,
            text: &text,
            apps: &Apps::NONE,
        };
        let message = format!("a scenario file is UTF-8 text, and byte 0x{bad:02x} here is not UTF-8");
        source.error(valid..valid + '\u{fffd}'.len_utf8(), "", message)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.excerpt.is_empty() {
            write!(f, "\n{}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// Keys of SPEC's format that this version cannot simulate yet, with advice: named as such
/// rather than reported as typos.
const NOT_YET: [(&str, &str); 1] = [(
    "interface",
    "; describe a peer's access link with `link` (or `uplink` and `downlink`) and its NAT \
     with `nat`",
)];

/// A `[servers] turn` to show in advice.
const TURN_EXAMPLE: &str = r#"turn = { user = "qa", password = "secret" }"#;

/// The file being read: turns places in its text into errors, and checked text into a
/// scenario whose apps are among `apps`.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
    apps: &'a Apps,
}

impl Source<'_> {
    fn error(&self, span: Range<usize>, field: &str, message: String) -> FileError {
        let start = span.start.min(self.text.len());
        let line_start = self.text[..start].rfind('\n').map_or(0, |newline| newline + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |end| start + end);
        let number = self.text[..start].matches('\n').count() + 1;
        let column = self.text[line_start..start].chars().count() + 1;
        let width = self.text[start..span.end.clamp(start, line_end)].chars().count();
        let margin = " ".repeat(number.to_string().len());
        let excerpt = format!(
            " {number} | {}\n {margin} | {}{}",
            self.text[line_start..line_end].trim_end_matches('\r'),
            " ".repeat(column - 1),
            "^".repeat(width.max(1))
        );
        FileError {
            path: self.path.to_owned(),
            position: Some((number, column)),
            field: field.to_owned(),
            message,
            excerpt,
        }
    }

    fn error_at<T>(&self, value: &Spanned<T>, field: &str, message: String) -> FileError {
        self.error(value.span(), field, message)
    }

    /// The first pass: the text as the `format` types.
    fn read(&self) -> Result<ScenarioText, FileError> {
        serde_path_to_error::deserialize(toml::Deserializer::new(self.text))
            .map_err(|error| self.read_error(error))
    }

    /// An error from the first pass, with serde's message made friendlier: a value of the
    /// wrong type says what was expected, then what was found, in TOML's words.
    fn read_error(&self, error: serde_path_to_error::Error<toml::de::Error>) -> FileError {
        let field = field_path(error.path());
        let error = error.into_inner();
        let mut span = error.span().unwrap_or(0..0);
        let message = error.message();
        let message = if message.starts_with("unknown field") || message.starts_with("unknown variant") {
            // A check's name is read from its `[[expect]]` table as a whole, whose place the
            // error carries: point at the name itself.
            if let Some(name) = message.split('`').nth(1) {
                span = self.key_within(span, name);
            }
            unknown_name(message)
        } else if let Some((found, expected)) = message
            .strip_prefix("invalid type: ")
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            let found = match found {
                "map" => self.map_found(error.span().unwrap_or(0..0)),
                "sequence" => "an array".to_owned(),
                value => value.to_owned(),
            };
            format!("expected {expected}, found {found}")
        } else {
            message.trim().replace('\n', "; ")
        };
        self.error(span, &field, message)
    }

    /// Where `name` starts a line within `span` (a table's), as a key; `span` itself if it
    /// does not.
    fn key_within(&self, span: Range<usize>, name: &str) -> Range<usize> {
        let text = self.text.get(span.clone()).unwrap_or_default();
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            let key = line.trim_start();
            if key.starts_with(name) && key[name.len()..].trim_start().starts_with('=') {
                let at = span.start + line_start + (line.len() - key.len());
                return at..at + name.len();
            }
            line_start += line.len();
        }
        span
    }

    /// What serde calls a map, as the text at `span` writes it: a table, or a TOML date or
    /// time (`2024-01-01T00:00:00`, `07:30:00`), which toml hands to serde as a map.
    fn map_found(&self, span: Range<usize>) -> String {
        let text = self.text.get(span).unwrap_or_default();
        if text.starts_with(|c: char| c.is_ascii_digit()) {
            format!("the date/time `{text}`")
        } else {
            "a table".to_owned()
        }
    }

    /// The second pass: everything serde cannot check, then the scenario itself.
    fn build(&self, text: &ScenarioText) -> Result<ScenarioFile, FileError> {
        let duration = text.duration.get_ref().0;
        if duration.is_zero() {
            return Err(self.error_at(
                &text.duration,
                "duration",
                "a call lasts longer than 0s".to_owned(),
            ));
        }
        let default_name = self.path.file_stem().unwrap_or_default().to_string_lossy();
        let mut scenario = Scenario::new(text.name.as_deref().unwrap_or(&default_name));
        scenario.world.duration = duration;
        scenario.world.seed = text.seed.unwrap_or(scenario.world.seed);
        let seeds = self.seeds(text)?;
        scenario.world.core = self.link_config(&text.core, "core")?;
        if let Some(delay) = text.signaling.delay {
            scenario.world.signaling_delay = delay.0;
        }
        scenario.world.processing = match text.processing {
            ProcessingText::None => Processing::None,
            ProcessingText::Measured => Processing::Measured,
            ProcessingText::MeasuredOneMachine => Processing::MeasuredOneMachine,
        };
        if let Some(interval) = &text.stats {
            if interval.get_ref().0.is_zero() {
                let message = "samples need some time between them: give more than 0s".to_owned();
                return Err(self.error_at(interval, "stats", message));
            }
            scenario.world.stats_interval = Some(interval.get_ref().0);
        }
        scenario.world.servers = self.servers(&text.servers, &text.peers)?;
        scenario.peers = self.peers(&text.peers, &scenario.world.servers)?;
        scenario.world.cross_traffic = self.cross_traffic(&text.cross_traffic, &scenario)?;
        for (index, entry) in text.timeline.iter().enumerate() {
            let action = self.timed_action(index, entry, &scenario)?;
            scenario.timeline.push(action);
        }
        self.check_nats_exist(&text.timeline, &scenario)?;
        self.check_commands(&text.timeline, &scenario)?;

        let call = Call::new(&scenario);
        let (mut expectations, mut shares) = (Vec::new(), Vec::new());
        for (index, entry) in text.expect.iter().enumerate() {
            let share = self.share(index, entry, seeds)?;
            let judged = self.expectations(index, entry, &call)?;
            shares.extend(judged.iter().map(|_| share));
            expectations.extend(judged);
        }
        Ok(ScenarioFile {
            path: self.path.to_owned(),
            description: text.description.trim().to_owned(),
            scenario,
            expectations,
            shares,
            seeds,
            point: Vec::new(),
        })
    }

    /// The file's `seeds`, which replace its `seed`.
    fn seeds(&self, text: &ScenarioText) -> Result<Option<Seeds>, FileError> {
        let Some(range) = &text.seeds else {
            return Ok(None);
        };
        if text.seed.is_some() {
            let message = "a file is played with one `seed` or over `seeds`, not both".to_owned();
            return Err(self.error_at(range, "seeds", message));
        }
        let seeds = range
            .get_ref()
            .parse()
            .map_err(|message| self.error_at(range, "seeds", message))?;
        Ok(Some(seeds))
    }

    /// The share of the seeds `[[expect]]` number `index` must hold on, if it gives one:
    /// above 0, and only in a file played over `seeds`.
    fn share(
        &self,
        index: usize,
        entry: &Spanned<ExpectText>,
        seeds: Option<Seeds>,
    ) -> Result<Option<f64>, FileError> {
        let Some(share) = &entry.get_ref().share else {
            return Ok(None);
        };
        let field = format!("expect[{index}].share");
        if seeds.is_none() {
            let message =
                "a share of seeds needs a file played over `seeds`, such as `seeds = \"1..20\"`".to_owned();
            return Err(self.error_at(share, &field, message));
        }
        let value = share.get_ref().0.0;
        if value <= 0.0 {
            return Err(self.error_at(share, &field, "a share of seeds is above 0%".to_owned()));
        }
        Ok(Some(value))
    }

    fn peers(
        &self,
        peers: &BTreeMap<String, Spanned<PeerText>>,
        servers: &Servers,
    ) -> Result<Vec<PeerSpec>, FileError> {
        let mut specs = Vec::new();
        for (name, peer) in peers {
            let field = format!("peers.{name}");
            if !is_name(name) {
                let message = format!("`{name}` cannot name a peer: use letters, digits, `-` and `_`");
                return Err(self.error_at(peer, &field, message));
            }
            specs.push(self.peer(name, peer, &field, servers)?);
        }
        self.check_calls(peers, &specs)?;
        self.check_networks(peers, &specs)?;
        self.check_not_mixed(peers)?;
        Ok(specs)
    }

    /// The `[cross_traffic.<name>]` flows, on peers of the call, each with the keys its kind
    /// takes.
    fn cross_traffic(
        &self,
        flows: &BTreeMap<String, Spanned<CrossTrafficText>>,
        scenario: &Scenario,
    ) -> Result<Vec<CrossTraffic>, FileError> {
        let mut built = Vec::new();
        if flows.len() > MAX_CROSS_FLOWS {
            let span = flows.values().last().map_or(0..0, Spanned::span);
            let message = format!("{} flows; a world has room for {MAX_CROSS_FLOWS}", flows.len());
            return Err(self.error(span, "cross_traffic", message));
        }
        for (name, entry) in flows {
            let field = format!("cross_traffic.{name}");
            let flow = entry.get_ref();
            if !is_name(name) {
                let message = format!("`{name}` cannot name a flow: use letters, digits, `-` and `_`");
                return Err(self.error_at(entry, &field, message));
            }
            if scenario.peers.iter().any(|peer| peer.name == *name) {
                let message = format!("`{name}` is a peer; a flow's device needs a name of its own");
                return Err(self.error_at(entry, &field, message));
            }
            let peer = self.peer_name(&flow.peer, &format!("{field}.peer"), &scenario.peers)?;
            let on_off = [("on", &flow.on), ("off", &flow.off)];
            let kind = match (flow.kind, &flow.rate) {
                (CrossKindText::Tcp, Some(rate)) => {
                    let message = "a tcp flow takes no `rate`: TCP finds its own".to_owned();
                    return Err(self.error_at(rate, &format!("{field}.rate"), message));
                }
                (CrossKindText::Tcp, None) => CrossKind::Tcp,
                (_, None) => {
                    let message =
                        "a constant or on-off flow needs a `rate`, e.g. rate = \"500kbps\"".to_owned();
                    return Err(self.error_at(entry, &field, message));
                }
                (_, Some(rate)) if rate.get_ref().0.0 == 0 => {
                    let message = "a flow's rate is above 0".to_owned();
                    return Err(self.error_at(rate, &format!("{field}.rate"), message));
                }
                (CrossKindText::Constant, Some(rate)) => CrossKind::Constant {
                    rate_bps: rate.get_ref().0.0,
                },
                (CrossKindText::OnOff, Some(rate)) => {
                    let mut periods = [Duration::ZERO; 2];
                    for ((key, value), period) in on_off.iter().zip(&mut periods) {
                        let Some(value) = value else {
                            let message = format!("an on-off flow needs `{key}`, e.g. {key} = \"1s\"");
                            return Err(self.error_at(entry, &field, message));
                        };
                        *period = value.get_ref().0;
                    }
                    if let Some(on) = flow.on.as_ref().filter(|on| on.get_ref().0.is_zero()) {
                        let message = "an on period is longer than 0s".to_owned();
                        return Err(self.error_at(on, &format!("{field}.on"), message));
                    }
                    CrossKind::OnOff {
                        rate_bps: rate.get_ref().0.0,
                        on: periods[0],
                        off: periods[1],
                    }
                }
            };
            if flow.kind != CrossKindText::OnOff
                && let Some((key, Some(value))) = on_off.iter().find(|(_, value)| value.is_some())
            {
                let message = format!("`{key}` is for on-off flows only");
                return Err(self.error_at(value, &format!("{field}.{key}"), message));
            }
            let from = flow.from.as_ref().map_or(Duration::ZERO, |from| from.get_ref().0);
            if let Some(from_text) = &flow.from
                && from >= scenario.world.duration
            {
                let message = format!(
                    "a flow starting at {} is not before the end of the call ({})",
                    from.show(),
                    scenario.world.duration.show()
                );
                return Err(self.error_at(from_text, &format!("{field}.from"), message));
            }
            let to = flow.to.as_ref().map(|to| to.get_ref().0);
            if let Some(to_text) = &flow.to
                && to.is_some_and(|to| to <= from)
            {
                let message = format!("a flow stops after it starts (at {})", from.show());
                return Err(self.error_at(to_text, &format!("{field}.to"), message));
            }
            built.push(CrossTraffic {
                name: name.clone(),
                peer,
                direction: match flow.direction {
                    CrossDirectionText::Up => CrossDirection::Up,
                    CrossDirectionText::Down => CrossDirection::Down,
                },
                kind,
                from,
                to,
            });
        }
        Ok(built)
    }

    /// The peers pair up into calls ([`Scenario::calls`]); an error is placed at the key
    /// that breaks the pairing.
    fn check_calls(
        &self,
        peers: &BTreeMap<String, Spanned<PeerText>>,
        specs: &[PeerSpec],
    ) -> Result<(), FileError> {
        let scenario = Scenario {
            peers: specs.to_vec(),
            ..Scenario::new("calls")
        };
        let Err(error) = scenario.calls() else {
            return Ok(());
        };
        let role = |peer: &str| {
            let field = format!("peers.{peer}.role");
            self.error_at(&peers[peer].get_ref().role, &field, error.to_string())
        };
        let calls_with = |peer: &str, message: String| match &peers[peer].get_ref().calls {
            Some(calls) => self.error_at(calls, &format!("peers.{peer}.calls"), message),
            None => role(peer),
        };
        let calls = |peer: &str| calls_with(peer, error.to_string());
        Err(match &error {
            // At the last peer, or at the top of the file when there is none.
            CallsError::NoCaller | CallsError::NoCallee => match peers.keys().last() {
                Some(last) => role(last),
                None => self.error(0..0, "peers", error.to_string()),
            },
            CallsError::CalleeCalls { peer } => calls(peer),
            CallsError::NotACallee { caller, named } => {
                // Naming nobody at all is the likelier slip: suggest a name.
                let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
                calls_with(
                    caller,
                    known_peer(named, &names)
                        .err()
                        .unwrap_or_else(|| error.to_string()),
                )
            }
            CallsError::WhomToCall { caller } => role(caller),
            CallsError::CalledTwice { second, .. } => calls(second),
            CallsError::Uncalled { callee } => role(callee),
        })
    }

    /// A `same_network_as` names another peer that has a network of its own.
    fn check_networks(
        &self,
        peers: &BTreeMap<String, Spanned<PeerText>>,
        specs: &[PeerSpec],
    ) -> Result<(), FileError> {
        for spec in specs {
            let (Some(owner), Some(text)) = (&spec.network_of, &peers[&spec.name].get_ref().same_network_as)
            else {
                continue;
            };
            let field = format!("peers.{}.same_network_as", spec.name);
            let others: Vec<&str> = specs
                .iter()
                .filter(|other| other.name != spec.name)
                .map(|other| other.name.as_str())
                .collect();
            known_peer(owner, &others).map_err(|message| self.error_at(text, &field, message))?;
            let owner_spec = specs.iter().find(|other| other.name == *owner);
            if let Some(theirs) = owner_spec.and_then(|owner| owner.network_of.as_ref()) {
                let message = format!("`{owner}` is on the network of `{theirs}`: name `{theirs}`");
                return Err(self.error_at(text, &field, message));
            }
        }
        Ok(())
    }

    /// Both peers run the built-in app, or both registered ones: each app signals in its own
    /// protocol, so the built-in app and a registered one cannot call each other.
    fn check_not_mixed(&self, peers: &BTreeMap<String, Spanned<PeerText>>) -> Result<(), FileError> {
        let built_in = peers.iter().find(|(_, peer)| peer.get_ref().app.is_none());
        let registered = peers
            .iter()
            .find_map(|(name, peer)| Some((name, peer.get_ref().app.as_ref()?)));
        let (Some((other, _)), Some((name, app))) = (built_in, registered) else {
            return Ok(());
        };
        let message = format!(
            "`{name}` runs the app `{}` and `{other}` the built-in one, which cannot call each \
             other (each signals in its own protocol): give `{other}` an `app` too",
            app.get_ref()
        );
        Err(self.error_at(app, &format!("peers.{name}.app"), message))
    }

    /// The registered app a peer names, which must take the peer's other keys.
    fn app(&self, app: &Spanned<String>, text: &PeerText, field: &str) -> Result<String, FileError> {
        let name = app.get_ref();
        let field = format!("{field}.app");
        if self.apps.get(name).is_none() {
            return Err(self.error_at(app, &field, unknown_app(name, self.apps)));
        }
        if let Some((key, _)) = text.built_in_keys().iter().find(|(_, given)| *given) {
            let message = format!(
                "`{key}` configures the built-in app, and `{name}` is an app of its own: remove `{key}`"
            );
            return Err(self.error_at(app, &field, message));
        }
        Ok(name.clone())
    }

    fn peer(
        &self,
        name: &str,
        peer: &Spanned<PeerText>,
        field: &str,
        servers: &Servers,
    ) -> Result<PeerSpec, FileError> {
        let text = peer.get_ref();
        let mut spec = PeerSpec::new(name, *text.role.get_ref());
        if let Some(app) = &text.app {
            spec.app = Some(self.app(app, text, field)?);
        }
        if let Some(media) = &text.media {
            let kinds: Vec<MediaKind> = media.iter().map(|medium| media_kind(*medium)).collect();
            if let Some(twice) = kinds
                .iter()
                .find(|kind| kinds.iter().filter(|k| k == kind).count() > 1)
            {
                let message = format!("`{twice}` is listed twice");
                return Err(self.error_at(peer, &format!("{field}.media"), message));
            }
            spec.media.kinds = kinds;
        }
        if let Some(rate) = text.video_bitrate {
            spec.media.video_bitrate_bps = rate.0.0;
        }
        if let Some(control) = &text.congestion_control {
            spec.media.congestion_control = Some(self.congestion_control(control, field)?);
        }
        if let Some(interval) = &text.data_interval {
            if interval.get_ref().0.is_zero() {
                let message = "messages need some time between them: give more than 0s".to_owned();
                return Err(self.error_at(interval, &format!("{field}.data_interval"), message));
            }
            spec.media.data_interval = interval.get_ref().0;
        }
        // `uplink` and `downlink` change what `link` says.
        let both = self.link_config(&text.link, &format!("{field}.link"))?;
        spec.uplink = self
            .link_change(&text.uplink, &format!("{field}.uplink"))?
            .apply(&both);
        spec.downlink = self
            .link_change(&text.downlink, &format!("{field}.downlink"))?
            .apply(&both);
        if let Some(nat) = &text.nat {
            spec.nat = self.nat(nat, &format!("{field}.nat"))?;
        }
        spec.ice_servers = self.ice_servers(&text.ice_servers, &format!("{field}.ice_servers"), servers)?;
        if let Some(policy) = &text.ice_transport_policy {
            spec.relay_only = *policy.get_ref() == TransportPolicyText::Relay;
            if spec.relay_only && !spec.ice_servers.iter().any(|s| matches!(s, IceServer::Turn(_))) {
                let message = "relay candidates come from a TURN server: add \"turn\" to this peer's \
                               `ice_servers`"
                    .to_owned();
                return Err(self.error_at(policy, &format!("{field}.ice_transport_policy"), message));
            }
        }
        spec.ice_tcp = text.ice_tcp.unwrap_or(false);
        spec.firewall = text.firewall.as_ref().map(FirewallText::config);
        spec.policy = AppPolicy {
            on_disconnected: text.on_disconnected.map(restart_policy),
            on_failed: text.on_failed.map(restart_policy),
        };
        spec.calls = text.calls.as_ref().map(|callee| callee.get_ref().clone());
        if let Some(owner) = &text.same_network_as {
            let own = [
                (
                    "link",
                    spec.uplink != LinkConfig::default() || spec.downlink != LinkConfig::default(),
                ),
                ("nat", text.nat.is_some()),
                ("firewall", text.firewall.is_some()),
            ];
            if let Some((key, _)) = own.iter().find(|(_, given)| *given) {
                let message = format!(
                    "`{name}` is on the network of `{}` and uses its access link, NAT and firewall: \
                     drop its `{key}` (or `uplink`/`downlink`)",
                    owner.get_ref()
                );
                return Err(self.error_at(owner, &format!("{field}.same_network_as"), message));
            }
            spec.network_of = Some(owner.get_ref().clone());
        }
        Ok(spec)
    }

    /// A `congestion_control` table, its absent keys the defaults; `start` within the limits.
    fn congestion_control(
        &self,
        control: &Spanned<CongestionControlText>,
        field: &str,
    ) -> Result<CongestionControl, FileError> {
        let text = control.get_ref();
        let default = CongestionControl::default();
        let given = |rate: Option<WithUnit<Bps>>, default: u64| rate.map_or(default, |rate| rate.0.0);
        let control_of = CongestionControl {
            start_bps: given(text.start, default.start_bps),
            min_bps: given(text.min, default.min_bps),
            max_bps: given(text.max, default.max_bps),
        };
        let CongestionControl {
            start_bps: start,
            min_bps: min,
            max_bps: max,
        } = control_of;
        let show = |bps: u64| Bitrate(bps).show();
        let message = if min > max {
            format!("`min` ({}) is above `max` ({})", show(min), show(max))
        } else if !(min..=max).contains(&start) {
            format!(
                "`start` ({}) is outside `min` to `max` ({} to {})",
                show(start),
                show(min),
                show(max)
            )
        } else {
            return Ok(control_of);
        };
        Err(self.error_at(control, &format!("{field}.congestion_control"), message))
    }

    /// The link a table describes, its absent keys ideal.
    fn link_config(&self, link: &LinkText, field: &str) -> Result<LinkConfig, FileError> {
        Ok(self.link_change(link, field)?.apply(&LinkConfig::default()))
    }

    /// What a link table changes: the settings it names. A rate replaces a trace.
    fn link_change(&self, link: &LinkText, field: &str) -> Result<LinkChange, FileError> {
        self.check_link(link, field)?;
        let trace = match &link.trace {
            Some(path) => Some(self.delivery_trace(path, &format!("{field}.trace"))?),
            None => None,
        };
        Ok(LinkChange {
            delay: link.delay.map(|delay| delay.0),
            jitter: link.jitter.map(|jitter| jitter.0),
            reorder: link.reorder,
            loss: link.loss.map(|loss| match &link.burst {
                _ if loss.0.0 == 0.0 => Loss::None,
                Some(burst) => Loss::Bursty {
                    loss: loss.0.0,
                    mean_burst: *burst.get_ref(),
                },
                None => Loss::Random(loss.0.0),
            }),
            rate_bps: link.rate.map(|rate| rate.0),
            trace: trace.map(Some).or(link.rate.map(|_| None)),
            queue: link.queue.map(|queue| queue.0),
            duplicate: link.duplicate.map(|share| share.0.0),
            mtu: link.mtu.map(|mtu| usize::from(mtu.get())),
        })
    }

    fn check_link(&self, link: &LinkText, field: &str) -> Result<(), FileError> {
        if let (Some(trace), Some(_)) = (&link.trace, link.rate) {
            let message = "give `rate` or `trace`, not both: the trace sets the link's rate".to_owned();
            return Err(self.error_at(trace, &format!("{field}.trace"), message));
        }
        let Some(burst) = &link.burst else {
            return Ok(());
        };
        let field = format!("{field}.burst");
        if link.loss.is_none() {
            let message = "`burst` needs `loss` in the same table: the share of packets lost".to_owned();
            return Err(self.error_at(burst, &field, message));
        }
        let mean = *burst.get_ref();
        if !(mean.is_finite() && mean >= 1.0) {
            let message = format!("a burst is on average at least 1 packet long, not {mean}");
            return Err(self.error_at(burst, &field, message));
        }
        Ok(())
    }

    /// The Mahimahi trace at `path`, relative to the scenario file's folder.
    fn delivery_trace(&self, path: &Spanned<String>, field: &str) -> Result<DeliveryTrace, FileError> {
        let folder = self.path.parent().unwrap_or(Path::new(""));
        DeliveryTrace::load(&folder.join(path.get_ref()))
            .map_err(|error| self.error_at(path, field, format!("cannot use this trace: {error}")))
    }

    /// The NAT a `nat` value describes; `None` for "none".
    fn nat(&self, nat: &Spanned<NatText>, field: &str) -> Result<Option<NatConfig>, FileError> {
        match nat.get_ref() {
            NameOrTable::Name(NatName(config)) => Ok(config.clone()),
            NameOrTable::Table(table) => self.nat_table(table, nat.span(), field).map(Some),
        }
    }

    /// A NAT table: its `type`, or its `mapping` and `filtering`, changed by its other keys.
    fn nat_table(
        &self,
        table: &NatTableText,
        span: Range<usize>,
        field: &str,
    ) -> Result<NatConfig, FileError> {
        let start = match (&table.kind, table.mapping, table.filtering) {
            (Some(kind), ..) => kind.get_ref().0.clone().ok_or_else(|| {
                let message = "\"none\" is no NAT to describe: write `nat = \"none\"`, or name a NAT type";
                self.error_at(kind, &format!("{field}.type"), message.to_owned())
            })?,
            // The shorthands' defaults for the keys not given.
            (None, Some(mapping), Some(filtering)) => NatConfig {
                mapping: mapping.mapping(),
                filtering: filtering.filtering(),
                ..NatConfig::full_cone()
            },
            (None, ..) => {
                let message = format!(
                    "give the NAT's `type` to start from ({}), or both its `mapping` and `filtering`",
                    list(&NatConfig::SHORTHANDS)
                );
                return Err(self.error(span, field, message));
            }
        };
        if let Some(lifetime) = table
            .binding_lifetime
            .as_ref()
            .filter(|l| l.get_ref().0.is_zero())
        {
            let message = "a binding lives longer than 0s".to_owned();
            return Err(self.error_at(lifetime, &format!("{field}.binding_lifetime"), message));
        }
        Ok(NatConfig {
            mapping: table.mapping.map_or(start.mapping, |mapping| mapping.mapping()),
            filtering: table
                .filtering
                .map_or(start.filtering, |filtering| filtering.filtering()),
            ports: table.ports.map_or(start.ports, |ports| ports.assignment()),
            binding_lifetime: table
                .binding_lifetime
                .as_ref()
                .map_or(start.binding_lifetime, |lifetime| lifetime.get_ref().0),
            hairpinning: table.hairpinning.unwrap_or(start.hairpinning),
        })
    }

    /// The ICE servers a list names; each must be declared in `[servers]`.
    fn ice_servers(
        &self,
        names: &[Spanned<IceServerText>],
        field: &str,
        servers: &Servers,
    ) -> Result<Vec<IceServer>, FileError> {
        let mut configured = Vec::new();
        for (index, server) in names.iter().enumerate() {
            let field = format!("{field}[{index}]");
            let (name, credentials) = match server.get_ref() {
                NameOrTable::Name(ServerName(name)) if name == "stun" => {
                    if !servers.stun {
                        return Err(self.error_at(server, &field, unknown_server(name, servers)));
                    }
                    configured.push(IceServer::Stun);
                    continue;
                }
                NameOrTable::Name(ServerName(name)) => (name.as_str(), None),
                NameOrTable::Table(table) => (
                    table.server.as_deref().unwrap_or(TURN),
                    Some(credentials(&table.turn)),
                ),
            };
            if !servers.has_turn(name) {
                return Err(self.error_at(server, &field, unknown_server(name, servers)));
            }
            configured.push(match (name, credentials) {
                (TURN, credentials) => IceServer::Turn(
                    credentials.unwrap_or_else(|| servers.turn.clone().expect("`turn` is declared")),
                ),
                (name, credentials) => IceServer::ExtraTurn {
                    server: name.to_owned(),
                    credentials: credentials.unwrap_or_else(|| servers.extra_turn[name].clone()),
                },
            });
        }
        Ok(configured)
    }

    /// The servers `[servers]` declares; the extra TURN servers' names must be host names
    /// of their own.
    fn servers(
        &self,
        text: &ServersText,
        peers: &BTreeMap<String, Spanned<PeerText>>,
    ) -> Result<Servers, FileError> {
        let mut extra_turn = BTreeMap::new();
        for (name, declared) in &text.extra_turn {
            let field = format!("servers.extra_turn.{}", name.get_ref());
            let fail = |message: String| self.error_at(name, &field, message);
            let name = name.get_ref();
            let label = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-');
            if !label {
                return Err(fail(format!(
                    "`{name}` cannot name a server: it becomes `{name}.netsim`, so use lowercase \
                     letters, digits and `-` (not at either end)"
                )));
            }
            if name == "stun" || name == TURN {
                return Err(fail(format!(
                    "`{name}` is the name of `[servers] {name}`: give this TURN server another name"
                )));
            }
            if peers.contains_key(name) || name.starts_with("nat-") {
                return Err(fail(format!(
                    "`{name}` names a host already (a peer, or the NAT in front of one): the trace \
                     would not tell them apart; give this TURN server another name"
                )));
            }
            extra_turn.insert(name.clone(), credentials(declared));
        }
        Ok(Servers {
            stun: text.stun,
            turn: text.turn.as_ref().map(credentials),
            extra_turn,
        })
    }

    /// One `[[timeline]]` entry: a time within the call and one action on known peers.
    fn timed_action(
        &self,
        index: usize,
        entry: &Spanned<TimelineText>,
        scenario: &Scenario,
    ) -> Result<TimedAction, FileError> {
        let field = format!("timeline[{index}]");
        let text = entry.get_ref();
        let at = text.at.get_ref().0;
        if at >= scenario.world.duration {
            let message = format!(
                "at {} is not before the end of the call ({})",
                at.show(),
                scenario.world.duration.show()
            );
            return Err(self.error_at(&text.at, &format!("{field}.at"), message));
        }
        let keys = text.action_keys();
        let given: Vec<&str> = keys
            .iter()
            .filter_map(|(key, given)| given.then_some(*key))
            .collect();
        if let [first, second, ..] = given.as_slice() {
            let message = format!(
                "an entry holds one action, this one holds `{first}` and `{second}`; give each its \
                 own [[timeline]] with its own `at`"
            );
            return Err(self.error_at(entry, &field, message));
        }
        let action = self.action(entry, &field, scenario)?;
        Ok(TimedAction { at, action })
    }

    /// The action of a timeline entry that holds at most one.
    fn action(
        &self,
        entry: &Spanned<TimelineText>,
        field: &str,
        scenario: &Scenario,
    ) -> Result<Action, FileError> {
        let text = entry.get_ref();
        let peer = |name: &Spanned<String>, key: &str| {
            self.peer_name(name, &format!("{field}.{key}.peer"), &scenario.peers)
        };
        Ok(if let Some(change) = &text.link {
            Action::Link {
                peer: peer(&change.peer, "link")?,
                direction: direction(change.direction),
                change: self.link_change(&change.keys(), &format!("{field}.link"))?,
            }
        } else if let Some(outage) = &text.outage {
            let duration = outage.duration.get_ref().0;
            if duration.is_zero() {
                let message = "an outage lasts longer than 0s".to_owned();
                return Err(self.error_at(&outage.duration, &format!("{field}.outage.duration"), message));
            }
            match (&outage.peer, &outage.server) {
                (Some(name), None) => Action::Outage {
                    peer: peer(name, "outage")?,
                    duration,
                },
                (None, Some(server)) => Action::ServerOutage {
                    server: self.server_name(
                        server,
                        &format!("{field}.outage.server"),
                        &scenario.world.servers,
                    )?,
                    duration,
                },
                (Some(_), Some(server)) => {
                    let message = "give `peer` or `server`, not both: one host goes down".to_owned();
                    return Err(self.error_at(server, &format!("{field}.outage.server"), message));
                }
                (None, None) => {
                    let message = "whose link goes down? give `peer = \"alice\"` or `server = \"turn\"`";
                    return Err(self.error_at(entry, &format!("{field}.outage"), message.to_owned()));
                }
            }
        } else if let Some(change) = &text.change_address {
            let field = format!("{field}.change_address");
            Action::ChangeAddress {
                peer: peer(&change.peer, "change_address")?,
                nat: match &change.nat {
                    Some(nat) => self.nat(nat, &format!("{field}.nat"))?,
                    None => None,
                },
                link: match &change.link {
                    Some(link) => Some(self.link_config(link, &format!("{field}.link"))?),
                    None => None,
                },
            }
        } else if let Some(reset) = &text.nat_reset {
            Action::NatReset {
                peer: peer(&reset.peer, "nat_reset")?,
            }
        } else if let Some(change) = &text.nat {
            Action::Nat {
                peer: peer(&change.peer, "nat")?,
                config: self.nat_table(&change.keys(), entry.span(), &format!("{field}.nat"))?,
            }
        } else if let Some(change) = &text.firewall {
            Action::Firewall {
                peer: peer(&change.peer, "firewall")?,
                config: Some(change.config()),
            }
        } else if let Some(change) = &text.signaling {
            Action::Signaling(match change {
                NameOrTable::Name(SignalingName::Cut) => SignalingChange::Cut,
                NameOrTable::Name(SignalingName::Restore) => SignalingChange::Restore,
                NameOrTable::Table(delay) => SignalingChange::Delay(delay.delay.0),
            })
        } else if let Some(set) = &text.set_ice_servers {
            Action::SetIceServers {
                peer: peer(&set.peer, "set_ice_servers")?,
                servers: self.ice_servers(
                    &set.servers,
                    &format!("{field}.set_ice_servers.servers"),
                    &scenario.world.servers,
                )?,
            }
        } else if let Some(restart) = &text.restart_ice {
            Action::RestartIce {
                peer: peer(&restart.peer, "restart_ice")?,
            }
        } else if let Some(pause) = &text.pause_media {
            let duration = pause.duration.get_ref().0;
            if duration.is_zero() {
                let message = "a pause lasts longer than 0s".to_owned();
                return Err(self.error_at(
                    &pause.duration,
                    &format!("{field}.pause_media.duration"),
                    message,
                ));
            }
            Action::PauseMedia {
                peer: peer(&pause.peer, "pause_media")?,
                duration,
            }
        } else if let Some(close) = &text.close {
            Action::Close {
                peer: peer(&close.peer, "close")?,
            }
        } else {
            let keys: Vec<&str> = text.action_keys().iter().map(|(key, _)| *key).collect();
            let message = format!("this entry has a time but no action; give one of {}", list(&keys));
            return Err(self.error_at(entry, field, message));
        })
    }

    /// `nat_reset` and `nat` need a NAT in front of the peer at that time: its own, or the
    /// one of a network it moved to before.
    fn check_nats_exist(
        &self,
        entries: &[Spanned<TimelineText>],
        scenario: &Scenario,
    ) -> Result<(), FileError> {
        let mut behind_nat: BTreeMap<&str, bool> = scenario
            .peers
            .iter()
            .map(|peer| (peer.name.as_str(), peer.nat.is_some()))
            .collect();
        let mut in_time_order: Vec<(usize, &TimedAction)> = scenario.timeline.iter().enumerate().collect();
        in_time_order.sort_by_key(|(_, timed)| timed.at);
        for (index, timed) in in_time_order {
            match &timed.action {
                Action::ChangeAddress { peer, nat, .. } => {
                    behind_nat.insert(peer, nat.is_some());
                }
                Action::NatReset { peer } | Action::Nat { peer, .. } if !behind_nat[peer.as_str()] => {
                    let message = format!(
                        "{peer} is behind no NAT at {}: give the peer a `nat`, or move it behind one \
                         first with `change_address`",
                        timed.at.show()
                    );
                    let field = format!("timeline[{index}].{}", timed.action.name());
                    return Err(self.error_at(&entries[index], &field, message));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A command the timeline sends a registered app must be one the app takes.
    fn check_commands(
        &self,
        entries: &[Spanned<TimelineText>],
        scenario: &Scenario,
    ) -> Result<(), FileError> {
        for (index, timed) in scenario.timeline.iter().enumerate() {
            let Some(command) = CommandKind::of(&timed.action) else {
                continue;
            };
            let peer = scenario
                .peers
                .iter()
                .find(|peer| Some(peer.name.as_str()) == timed.action.peer())
                .expect("the timeline names peers of the call");
            let Some(app) = &peer.app else { continue };
            let takes = self
                .apps
                .get(app)
                .expect("the peer's app is registered")
                .commands();
            if takes.contains(&command) {
                continue;
            }
            let names: Vec<&str> = takes.iter().map(|command| command.name()).collect();
            let taken = match names.as_slice() {
                [] => "it takes no command".to_owned(),
                names => format!("it takes {}", list(names)),
            };
            let message = format!(
                "{} runs the app `{app}`, which does not take `{}` ({taken}): remove the action, or \
                 have the app take it where it is registered (`Apps::takes`)",
                peer.name,
                command.name()
            );
            let place = entries[index]
                .get_ref()
                .app_peer()
                .expect("a command names a peer");
            let field = format!("timeline[{index}].{}", command.name());
            return Err(self.error_at(place, &field, message));
        }
        Ok(())
    }

    /// A server a timeline entry names, which `[servers]` must declare.
    fn server_name(
        &self,
        name: &Spanned<String>,
        field: &str,
        servers: &Servers,
    ) -> Result<String, FileError> {
        let text = name.get_ref();
        if server_names(servers).contains(&text.as_str()) {
            return Ok(text.clone());
        }
        Err(self.error_at(name, field, unknown_server(text, servers)))
    }

    /// A peer a timeline entry names, which must be in the call.
    fn peer_name(
        &self,
        name: &Spanned<String>,
        field: &str,
        peers: &[PeerSpec],
    ) -> Result<String, FileError> {
        let names: Vec<&str> = peers.iter().map(|peer| peer.name.as_str()).collect();
        known_peer(name.get_ref(), &names).map_err(|message| self.error_at(name, field, message))?;
        Ok(name.get_ref().clone())
    }

    /// One `[[expect]]`: an expectation per stream or peer it covers.
    fn expectations(
        &self,
        index: usize,
        check: &Spanned<ExpectText>,
        call: &Call,
    ) -> Result<Vec<Expectation>, FileError> {
        let field = format!("expect[{index}].{}", check.get_ref().check.name());
        let bad_bounds = |message: &str| self.error_at(check, &field, message.to_owned());
        let duration = |limit: Option<WithUnit<Duration>>| limit.map(|limit| limit.0);
        let ratio = |limit: Option<WithUnit<Share>>| limit.map(|limit| Ratio(limit.0.0));
        let bitrate = |limit: Option<WithUnit<Bps>>| limit.map(|limit| Bitrate(limit.0.0));
        let any = &MediaKind::ALL[..];
        let (scope, kinds, metric) = match &check.get_ref().check {
            CheckText::ConnectTime(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                return Ok(vec![Expectation::ConnectTime(bounds)]);
            }
            CheckText::FinalState(state) => {
                let at_the_end = |peer: &String| Expectation::FinalState {
                    peer: peer.clone(),
                    state: state.as_str().to_owned(),
                    at: call.duration,
                };
                return Ok(call.peers.iter().map(at_the_end).collect());
            }
            CheckText::ReconnectTime(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                return self.reconnect_times(&field, c, check.span(), bounds, call);
            }
            CheckText::RestartTime(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                return Ok(vec![Expectation::RestartTime {
                    nth: c.nth.map(|nth| nth.get()),
                    bounds,
                }]);
            }
            CheckText::Restarts(c) => {
                let bounds = Bounds::new(c.min, c.max).map_err(bad_bounds)?;
                return Ok(vec![Expectation::Restarts(bounds)]);
            }
            CheckText::Delivered(c) => {
                let bounds = Bounds::new(ratio(c.min), ratio(c.max)).map_err(bad_bounds)?;
                (c.scope(), any, StreamMetric::Delivered(bounds))
            }
            CheckText::MediaGap(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                (c.scope(), any, StreamMetric::MediaGap(bounds))
            }
            CheckText::OneWayDelay(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                (c.scope(), any, StreamMetric::OneWayDelay(c.percentile, bounds))
            }
            CheckText::Freezes(c) => {
                let bounds = Bounds::new(c.min, c.max).map_err(bad_bounds)?;
                (c.scope(), &[MediaKind::Video][..], StreamMetric::Freezes(bounds))
            }
            CheckText::DataChannel(c) => (c.scope(), &[MediaKind::Data][..], StreamMetric::DataChannel),
            CheckText::TargetBitrate(c) => {
                let bounds = Bounds::new(bitrate(c.min), bitrate(c.max)).map_err(bad_bounds)?;
                return self.target_bitrates(&field, c, check.span(), bounds, call);
            }
            CheckText::QueueDelay(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                return Ok(vec![Expectation::QueueDelay {
                    peer: c.peer.get_ref().clone(),
                    direction: direction(c.direction),
                    percentile: c.percentile,
                    window: self.access_link_window(&field, &c.peer, c.scope(&c.peer), call)?,
                    bounds,
                }]);
            }
            CheckText::Bitrate(c) => {
                let bounds = Bounds::new(bitrate(c.min), bitrate(c.max)).map_err(bad_bounds)?;
                (c.scope(), any, StreamMetric::Bitrate(bounds))
            }
            CheckText::Throughput(c) => {
                let bounds = Bounds::new(bitrate(c.min), bitrate(c.max)).map_err(bad_bounds)?;
                return self.throughput(&field, c, bounds, call);
            }
            CheckText::Utilization(c) => {
                let bounds = Bounds::new(ratio(c.min), ratio(c.max)).map_err(bad_bounds)?;
                return Ok(vec![Expectation::Utilization {
                    peer: c.peer.get_ref().clone(),
                    direction: direction(c.direction),
                    window: self.access_link_window(&field, &c.peer, c.scope(&c.peer), call)?,
                    bounds,
                }]);
            }
            CheckText::RampdownTime(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                return self.ramp_times(&field, c, Ramp::Down, check.span(), bounds, call);
            }
            CheckText::RampupTime(c) => {
                let bounds = Bounds::new(duration(c.min), duration(c.max)).map_err(bad_bounds)?;
                return self.ramp_times(&field, c, Ramp::Up, check.span(), bounds, call);
            }
        };
        self.per_stream(&field, scope, kinds, call, metric)
    }

    /// `metric` on every stream of `kinds` that `scope` selects, within its window.
    fn per_stream(
        &self,
        field: &str,
        scope: Scope<'_>,
        kinds: &[MediaKind],
        call: &Call,
        metric: StreamMetric,
    ) -> Result<Vec<Expectation>, FileError> {
        let window = self.window(field, &scope, call)?;
        let streams = self.select(&format!("{field}.stream"), scope.stream, kinds, call)?;
        Ok(streams
            .into_iter()
            .map(|stream| Expectation::Stream {
                stream: stream.to_string(),
                window,
                metric: metric.clone(),
            })
            .collect())
    }

    /// A reconnection time per stream the check selects (every stream by default, `span`
    /// placing errors about that), after a network event.
    fn reconnect_times(
        &self,
        field: &str,
        check: &ReconnectCheckText,
        span: Range<usize>,
        bounds: Bounds<Duration>,
        call: &Call,
    ) -> Result<Vec<Expectation>, FileError> {
        let after_field = format!("{field}.after");
        let CallEvent { name: action, at, .. } = self.event(&check.after, &after_field, call)?;
        let (action, at) = (action.as_str(), *at);
        if !NETWORK_EVENTS.contains(&action) {
            let hint = if action == "outage" {
                "; a peer's outage's reconnection counts from its end: `outage_end`"
            } else {
                ""
            };
            let message = format!(
                "reconnection counts from a network event: {}{hint}",
                list(&NETWORK_EVENTS)
            );
            return Err(self.error_at(&check.after, &after_field, message));
        }
        let every = Spanned::new(span, "*".to_owned());
        let stream = check.stream.as_ref().unwrap_or(&every);
        let streams = self.select(&format!("{field}.stream"), stream, &MediaKind::ALL, call)?;
        Ok(streams
            .into_iter()
            .map(|stream| Expectation::ReconnectTime {
                action: action.to_owned(),
                at,
                stream: stream.to_string(),
                bounds,
            })
            .collect())
    }

    /// A `target_bitrate` expectation per peer with congestion control the check names.
    fn target_bitrates(
        &self,
        field: &str,
        check: &TargetBitrateCheckText,
        span: Range<usize>,
        bounds: Bounds<Bitrate>,
        call: &Call,
    ) -> Result<Vec<Expectation>, FileError> {
        let every = Spanned::new(span, "*".to_owned());
        let selector = check.peer.as_ref().unwrap_or(&every);
        let window = self.window(field, &check.scope(selector), call)?;
        Ok(self
            .controlled_peers(field, selector, call)?
            .into_iter()
            .map(|peer| Expectation::TargetBitrate { peer, window, bounds })
            .collect())
    }

    /// A `rampdown_time` or `rampup_time` expectation per peer with congestion control the
    /// check names, after a `link` event that sets a rate.
    fn ramp_times(
        &self,
        field: &str,
        check: &RampCheckText,
        ramp: Ramp,
        span: Range<usize>,
        bounds: Bounds<Duration>,
        call: &Call,
    ) -> Result<Vec<Expectation>, FileError> {
        let after_field = format!("{field}.after");
        let event = self.event(&check.after, &after_field, call)?;
        let refuse = |message: String| Err(self.error_at(&check.after, &after_field, message));
        let capacity = match (event.name.as_str(), event.sets_rate) {
            ("link", Some(Some(bps))) if bps > 0 => Bitrate(bps),
            ("link", Some(Some(_))) => {
                return refuse("that `link` sets a rate of 0: there is no capacity to ramp to".to_owned());
            }
            ("link", Some(None)) => {
                return refuse(
                    "that `link` lifts the rate limit: there is no capacity to ramp to".to_owned(),
                );
            }
            ("link", None) => return refuse("that `link` sets no `rate`: name one that does".to_owned()),
            (name, _) => {
                return refuse(format!(
                    "a ramp counts from a `link` event that sets a `rate`, not `{name}`"
                ));
            }
        };
        let of_capacity = check.of_capacity.get_ref().0.0;
        if of_capacity <= 0.0 {
            let message = "give a share of the new rate above 0%".to_owned();
            return Err(self.error_at(&check.of_capacity, &format!("{field}.of_capacity"), message));
        }
        let every = Spanned::new(span, "*".to_owned());
        let selector = check.peer.as_ref().unwrap_or(&every);
        Ok(self
            .controlled_peers(field, selector, call)?
            .into_iter()
            .map(|peer| Expectation::RampTime {
                peer,
                ramp,
                action: check.after.get_ref().clone(),
                at: event.at,
                capacity,
                of_capacity: Ratio(of_capacity),
                bounds,
            })
            .collect())
    }

    /// The peers with congestion control `selector` (a name or `*`) names; none is an error.
    fn controlled_peers(
        &self,
        field: &str,
        selector: &Spanned<String>,
        call: &Call,
    ) -> Result<Vec<String>, FileError> {
        let peer_field = format!("{field}.peer");
        let fail = |message: String| self.error_at(selector, &peer_field, message);
        match selector.get_ref().as_str() {
            "*" if call.controlled.is_empty() => Err(fail(
                "no peer has `congestion_control`: there is no target".to_owned(),
            )),
            "*" => Ok(call.controlled.clone()),
            name => {
                let names: Vec<&str> = call.peers.iter().map(String::as_str).collect();
                known_peer(name, &names).map_err(fail)?;
                if !call.controlled.iter().any(|peer| peer == name) {
                    let message = format!("`{name}` has no `congestion_control`: there is no target");
                    return Err(fail(message));
                }
                Ok(vec![name.to_owned()])
            }
        }
    }

    /// The window of a check on `peer`'s access link, refusing a `peer` the call does not
    /// have at its place.
    fn access_link_window(
        &self,
        field: &str,
        peer: &Spanned<String>,
        scope: Scope<'_>,
        call: &Call,
    ) -> Result<Window, FileError> {
        let window = self.window(field, &scope, call)?;
        let names: Vec<&str> = call.peers.iter().map(String::as_str).collect();
        known_peer(peer.get_ref(), &names)
            .map_err(|message| self.error_at(peer, &format!("{field}.peer"), message))?;
        Ok(window)
    }

    /// `throughput` of a flow the file declares, within its window.
    fn throughput(
        &self,
        field: &str,
        check: &ThroughputCheckText,
        bounds: Bounds<Bitrate>,
        call: &Call,
    ) -> Result<Vec<Expectation>, FileError> {
        let window = self.window(field, &check.scope(&check.flow), call)?;
        let flow = check.flow.get_ref();
        if !call.flows.contains(flow) {
            let names: Vec<&str> = call.flows.iter().map(String::as_str).collect();
            let message = match closest(flow, &names) {
                Some(near) => format!("no flow `{flow}` under [cross_traffic]; did you mean `{near}`?"),
                None if names.is_empty() => format!("no flow `{flow}`: the file has no [cross_traffic]"),
                None => format!("no flow `{flow}` under [cross_traffic]: name {}", list(&names)),
            };
            return Err(self.error_at(&check.flow, &format!("{field}.flow"), message));
        }
        Ok(vec![Expectation::Throughput {
            flow: flow.clone(),
            window,
            bounds,
        }])
    }

    /// The window of a stream check: from `from` or the `after` event, to `to`.
    fn window(&self, field: &str, scope: &Scope<'_>, call: &Call) -> Result<Window, FileError> {
        let (from, start) = match (scope.after, scope.from) {
            (Some(_), Some(from)) => {
                let message = "give `from` or `after`, not both: `after` starts the window at its event";
                return Err(self.error_at(from, &format!("{field}.from"), message.to_owned()));
            }
            (Some(after), None) => {
                let after_field = format!("{field}.after");
                let at = self.event(after, &after_field, call)?.at;
                (at, Some((after.span(), after_field)))
            }
            (None, Some(from)) => (from.get_ref().0, Some((from.span(), format!("{field}.from")))),
            (None, None) => (Duration::ZERO, None),
        };
        let to = scope.to.as_ref().map_or(call.duration, |to| to.get_ref().0);
        if let Some(text) = scope.to.as_ref().filter(|_| to > call.duration) {
            let message = format!(
                "the window ends at {}, after the call (it lasts {})",
                to.show(),
                call.duration.show()
            );
            return Err(self.error_at(text, &format!("{field}.to"), message));
        }
        if from < to {
            return Ok(Window { from, to });
        }
        Err(match start {
            Some((span, start_field)) => {
                let message = format!(
                    "the window starts at {}, not before its end ({})",
                    from.show(),
                    to.show()
                );
                self.error(span, &start_field, message)
            }
            // It starts at 0s, so `to` says 0s: the call itself lasts longer.
            None => {
                let message = format!("the window ends at {}, not after its start (0s)", to.show());
                let span = scope.to.as_ref().map_or(0..0, Spanned::span);
                self.error(span, &format!("{field}.to"), message)
            }
        })
    }

    /// The timeline event `after` names, `action` or `action#n` (the n-th in time order).
    fn event<'c>(
        &self,
        after: &Spanned<String>,
        field: &str,
        call: &'c Call,
    ) -> Result<&'c CallEvent, FileError> {
        let fail = |message: String| self.error_at(after, field, message);
        let text = after.get_ref();
        let (name, nth) = match text.split_once('#') {
            None => (text.as_str(), 1),
            Some((name, nth)) => match nth.parse::<usize>() {
                Ok(nth) if nth >= 1 => (name, nth),
                _ => {
                    return Err(fail(format!(
                        "expected `{name}#n` with n a count from 1, found `{text}`"
                    )));
                }
            },
        };
        let occurrences: Vec<&CallEvent> = call.events.iter().filter(|event| event.name == name).collect();
        if let Some(event) = occurrences.get(nth - 1) {
            return Ok(event);
        }
        if !occurrences.is_empty() {
            return Err(fail(format!(
                "the timeline has {} `{name}`, not {nth}",
                occurrences.len()
            )));
        }
        let mut names: Vec<&str> = call.events.iter().map(|event| event.name.as_str()).collect();
        names.sort();
        names.dedup();
        Err(fail(match closest(name, &names) {
            _ if names.is_empty() => format!("the timeline has no `{name}`: it is empty"),
            _ if name == "outage" && names.contains(&"server_outage") => {
                "the timeline has no peer's `outage`; a server's is `server_outage`".to_owned()
            }
            Some(close) => format!("the timeline has no `{name}`; did you mean `{close}`?"),
            None => format!("the timeline has no `{name}`; it has {}", list(&names)),
        }))
    }

    /// The streams of `kinds` that `selector` names; naming none is an error.
    fn select(
        &self,
        field: &str,
        selector: &Spanned<String>,
        kinds: &[MediaKind],
        call: &Call,
    ) -> Result<Vec<StreamId>, FileError> {
        let fail = |message: String| self.error_at(selector, field, message);
        let pattern = StreamPattern::parse(selector.get_ref()).map_err(fail)?;
        let peers: Vec<&str> = call.peers.iter().map(String::as_str).collect();
        for name in [pattern.to, pattern.from].into_iter().flatten() {
            known_peer(name, &peers).map_err(fail)?;
        }
        let candidates: Vec<&StreamId> = call
            .streams
            .iter()
            .filter(|stream| kinds.contains(&stream.kind))
            .collect();
        let selected: Vec<StreamId> = candidates
            .iter()
            .filter(|stream| pattern.matches(stream))
            .map(|stream| (*stream).clone())
            .collect();
        if selected.is_empty() {
            let names: Vec<String> = candidates.iter().map(|stream| stream.to_string()).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let message = if names.is_empty() {
                let kinds: Vec<String> = kinds.iter().map(MediaKind::to_string).collect();
                format!("no peer sends {}", kinds.join(" or "))
            } else {
                format!(
                    "`{}` matches no stream this check applies to: {}",
                    selector.get_ref(),
                    list(&names)
                )
            };
            return Err(fail(message));
        }
        Ok(selected)
    }
}

/// What the expectations of a file can refer to.
struct Call {
    /// The flows of cross traffic, by name.
    flows: Vec<String>,
    duration: Duration,
    peers: Vec<String>,
    /// The peers with congestion control on.
    controlled: Vec<String>,
    /// Every stream some peer sends.
    streams: Vec<StreamId>,
    /// The timeline's events in time order: its actions, and `outage_end` when an outage's
    /// link comes back.
    events: Vec<CallEvent>,
}

/// One event of the timeline, as expectations name it.
struct CallEvent {
    /// The action's name (`link`), or `outage_end`.
    name: String,
    at: Duration,
    /// The rate a `link` action sets: `Some(None)` lifts the limit.
    sets_rate: Option<Option<u64>>,
}

impl Call {
    fn new(scenario: &Scenario) -> Call {
        let peers = &scenario.peers;
        // The file's calls were checked before its expectations are read.
        let calls = scenario.calls().unwrap_or_default();
        let partner = |peer: &PeerSpec| {
            calls
                .iter()
                .find_map(|(caller, callee)| match peer.name.as_str() {
                    name if name == caller.name => Some(callee.name.clone()),
                    name if name == callee.name => Some(caller.name.clone()),
                    _ => None,
                })
        };
        let streams = peers
            .iter()
            .filter_map(|sender| Some((sender, partner(sender)?)))
            .flat_map(|(sender, receiver)| {
                sender.media.kinds.iter().map(move |kind| StreamId {
                    from: sender.name.clone(),
                    to: receiver.clone(),
                    kind: *kind,
                })
            })
            .collect();
        let mut events: Vec<CallEvent> = Vec::new();
        for TimedAction { at, action } in &scenario.timeline {
            let sets_rate = match action {
                Action::Link { change, .. } => change.rate_bps,
                _ => None,
            };
            events.push(CallEvent {
                name: action.name().to_owned(),
                at: *at,
                sets_rate,
            });
            let end = match action {
                Action::Outage { duration, .. } | Action::ServerOutage { duration, .. } => {
                    Some(("outage_end", duration))
                }
                Action::PauseMedia { duration, .. } => Some(("pause_media_end", duration)),
                _ => None,
            };
            if let Some((name, duration)) = end {
                events.push(CallEvent {
                    name: name.to_owned(),
                    at: *at + *duration,
                    sets_rate: None,
                });
            }
        }
        events.sort_by_key(|event| event.at);
        Call {
            flows: scenario
                .world
                .cross_traffic
                .iter()
                .map(|flow| flow.name.clone())
                .collect(),
            duration: scenario.world.duration,
            peers: peers.iter().map(|peer| peer.name.clone()).collect(),
            controlled: peers
                .iter()
                .filter(|peer| peer.media.congestion_control.is_some())
                .map(|peer| peer.name.clone())
                .collect(),
            streams,
            events,
        }
    }
}

/// A stream selector: `receiver<-sender:medium`, any part `*` for all; `bob<-alice`,
/// `*:audio` and `*` for short.
struct StreamPattern<'a> {
    to: Option<&'a str>,
    from: Option<&'a str>,
    kind: Option<MediaKind>,
}

impl<'a> StreamPattern<'a> {
    fn parse(text: &'a str) -> Result<Self, String> {
        let (peers, medium) = text.rsplit_once(':').unwrap_or((text, "*"));
        let kind = match medium {
            "*" => None,
            name => match MediaKind::named(name) {
                Some(kind) => Some(kind),
                None => {
                    let names = ["audio", "video", "data", "*"];
                    let suggestion = closest(name, &names)
                        .map_or(String::new(), |close| format!("did you mean `{close}`? "));
                    return Err(format!(
                        "unknown medium `{name}`; {suggestion}expected {}",
                        list(&names)
                    ));
                }
            },
        };
        let any = |part: &'a str| (part != "*").then_some(part);
        let (to, from) = match peers.split_once("<-") {
            Some((to, from)) => (any(to), any(from)),
            None if peers == "*" => (None, None),
            None => {
                return Err(format!(
                    "expected `receiver<-sender:medium` such as `bob<-alice:audio`, `*:video` or `*`, \
                     found `{text}`"
                ));
            }
        };
        Ok(StreamPattern { to, from, kind })
    }

    fn matches(&self, stream: &StreamId) -> bool {
        self.to.is_none_or(|to| to == stream.to)
            && self.from.is_none_or(|from| from == stream.from)
            && self.kind.is_none_or(|kind| kind == stream.kind)
    }
}

/// The names of the servers `[servers]` declares: `stun`, `turn`, the extra TURN servers.
fn server_names(servers: &Servers) -> Vec<&str> {
    let mut names: Vec<&str> = servers.stun.then_some("stun").into_iter().collect();
    names.extend(servers.turn.iter().map(|_| TURN));
    names.extend(servers.extra_turn.keys().map(String::as_str));
    names
}

/// Why `name` names no server of `servers` (a TURN server, if any), and what may be meant.
fn unknown_server(name: &str, servers: &Servers) -> String {
    let names = server_names(servers);
    if name == "stun" {
        return "[servers] has no STUN server; declare one there: `stun = true`".to_owned();
    }
    if name == TURN {
        return format!("[servers] has no TURN server `turn`; declare one there: `{TURN_EXAMPLE}`");
    }
    match closest(name, &names) {
        Some(close) => format!("[servers] has no server `{name}`; did you mean `{close}`?"),
        None if names.is_empty() => format!(
            "[servers] has no server `{name}`; declare it there as an extra TURN server: \
             `extra_turn = {{ {name} = {{ user = \"qa\", password = \"secret\" }} }}`"
        ),
        None => format!("[servers] has no server `{name}`; it has {}", list(&names)),
    }
}

fn credentials(text: &CredentialsText) -> Credentials {
    Credentials {
        user: text.user.clone(),
        password: text.password.clone(),
    }
}

fn restart_policy(text: RestartPolicyText) -> RestartPolicy {
    RestartPolicy {
        delay: text.restart_ice.0,
        max_attempts: text.max_attempts.map_or(3, |attempts| attempts.get()),
    }
}

/// A link's direction as written; both by default.
fn direction(text: Option<DirectionText>) -> Direction {
    match text {
        None | Some(DirectionText::Both) => Direction::Both,
        Some(DirectionText::Up) => Direction::Up,
        Some(DirectionText::Down) => Direction::Down,
    }
}

fn media_kind(medium: MediaText) -> MediaKind {
    match medium {
        MediaText::Audio => MediaKind::Audio,
        MediaText::Video => MediaKind::Video,
        MediaText::Data => MediaKind::Data,
    }
}

/// `peers.alice.link.loss` or `expect[2].delivered.min` from serde's path, without toml's
/// private names for spans, nor keys serde cannot name (placed ones, as `[sweep]`'s): the
/// error's place shows those.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut field = String::new();
    for segment in path.iter() {
        let name = match segment {
            Segment::Seq { index } => {
                field.push_str(&format!("[{index}]"));
                continue;
            }
            Segment::Map { key } if key.starts_with("$__") => continue,
            Segment::Map { key } => key.as_str(),
            Segment::Enum { variant } => variant.as_str(),
            Segment::Unknown => continue,
        };
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(name);
    }
    field
}

/// serde's "unknown field `medai`, expected one of `role`, `media`" as advice: what is not
/// supported yet, or the closest valid name.
fn unknown_name(message: &str) -> String {
    let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let Some((name, expected)) = names.split_first() else {
        return message.to_owned();
    };
    if let Some((_, advice)) = NOT_YET.iter().find(|(key, _)| key == name) {
        return format!("`{name}` is not supported yet by this version{advice}");
    }
    let suggestion =
        closest(name, expected).map_or(String::new(), |close| format!("did you mean `{close}`? "));
    format!("unknown name `{name}`; {suggestion}expected {}", list(expected))
}

/// Why `name` names no app of `apps`, and what may be meant.
fn unknown_app(name: &str, apps: &Apps) -> String {
    if apps.is_empty() {
        return format!(
            "`{name}` is not an app registered in `netsim`, which runs only the built-in app \
             (leave `app` out for it); your own apps run from your crate's test target, which \
             registers them: `webrtc_netsim::suite::scenario_trials(folder, &apps)`"
        );
    }
    let names = apps.names();
    match closest(name, &names) {
        Some(close) => format!("no app `{name}` is registered; did you mean `{close}`?"),
        None => format!(
            "no app `{name}` is registered; the registered apps are {}",
            list(&names)
        ),
    }
}

/// Whether `name` is one of `peers`; if not, which one it may have meant.
/// Whether `name` can name a peer or a flow: letters of any alphabet, digits, `-`, `_`.
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

fn known_peer(name: &str, peers: &[&str]) -> Result<(), String> {
    if peers.contains(&name) {
        return Ok(());
    }
    let suggestion = closest(name, peers).map_or(String::new(), |close| format!("did you mean `{close}`? "));
    Err(format!(
        "no peer is called `{name}`; {suggestion}the peers are {}",
        list(peers)
    ))
}

/// The candidate `name` was most likely meant to be, if one is close enough.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), *candidate))
        .filter(|(similarity, _)| *similarity >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
