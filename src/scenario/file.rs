//! Scenario files: TOML a QA engineer can read aloud, parsed into a [`Scenario`] and the
//! [`Expectation`]s to judge its run by. The README documents the format; `netsim schema`
//! prints it as a JSON Schema derived from the same types (`format`).
//!
//! Reading happens in two passes. serde reads the text into the `format` types, checking
//! syntax, key names, types and units; then `Source` checks what serde cannot (one caller
//! and one callee, windows within the call, streams that exist) and builds the scenario.
//! Every error names `file:line:col` and the field.

mod format;
mod units;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::schema::RootSchema;
use toml::Spanned;

use self::format::{
    CheckText, DelayCheckText, LinkText, MediaText, PeerText, ScenarioText, StreamCheckText, StreamWindowText,
};
use self::units::{Share, WithUnit, list};
use super::expect::{self, Bounds, Expectation, Ratio, Show, StreamMetric, Verdict};
use super::{PeerSpec, Scenario};
use crate::metrics::Window;
use crate::net::{LinkConfig, Loss};
use crate::peer::Role;
use crate::trace::{MediaKind, StreamId};
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
}

impl ScenarioFile {
    /// Runs the call and judges every expectation on it.
    pub fn play(&self) -> Result<(Run, Vec<Verdict>), RunError> {
        let run = self.scenario.run()?;
        let verdicts = expect::judge(&self.expectations, &run);
        Ok((run, verdicts))
    }
}

/// Reads and checks the scenario file at `path`.
pub fn load(path: &Path) -> Result<ScenarioFile, FileError> {
    let text = std::fs::read_to_string(path).map_err(|error| FileError::unreadable(path, &error))?;
    parse(path, &text)
}

/// Checks the scenario in `text`; `path` names the file in errors and gives the default name.
pub fn parse(path: &Path, text: &str) -> Result<ScenarioFile, FileError> {
    let source = Source { path, text };
    let parsed: ScenarioText = serde_path_to_error::deserialize(toml::Deserializer::new(text))
        .map_err(|error| source.read_error(error))?;
    source.build(parsed)
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
const NOT_YET: [(&str, &str); 10] = [
    ("servers", ""),
    ("timeline", ""),
    ("sweep", ""),
    ("nat", ""),
    ("ice_servers", ""),
    ("on_failed", ""),
    ("after", ""),
    ("reconnect_time", ""),
    ("restart_time", ""),
    (
        "interface",
        "; describe a peer's access link with `link`, or `uplink` and `downlink`",
    ),
];

/// The file being read: turns places in its text into errors, and checked text into a
/// scenario.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
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

    /// An error from the first pass, with serde's message made friendlier.
    fn read_error(&self, error: serde_path_to_error::Error<toml::de::Error>) -> FileError {
        let field = field_path(error.path());
        let error = error.into_inner();
        let message = error.message();
        let message = if message.starts_with("unknown field") || message.starts_with("unknown variant") {
            unknown_name(message)
        } else if message.starts_with("wanted exactly 1 element") {
            "each [[expect]] holds exactly one check, such as `delivered = { ... }`; \
             give every check its own [[expect]]"
                .to_owned()
        } else {
            message.trim().replace('\n', "; ")
        };
        self.error(error.span().unwrap_or(0..0), &field, message)
    }

    /// The second pass: everything serde cannot check, then the scenario itself.
    fn build(&self, text: ScenarioText) -> Result<ScenarioFile, FileError> {
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
        scenario.duration = duration;
        scenario.seed = text.seed.unwrap_or(scenario.seed);
        self.check_link(&text.core, "core")?;
        scenario.core = link_config(&text.core);
        if let Some(delay) = text.signaling.delay {
            scenario.signaling_delay = delay.0;
        }
        scenario.peers = self.peers(&text.peers)?;

        let call = Call::new(&scenario);
        let mut expectations = Vec::new();
        for (index, check) in text.expect.iter().enumerate() {
            expectations.extend(self.expectations(index, check, &call)?);
        }
        Ok(ScenarioFile {
            path: self.path.to_owned(),
            description: text.description.trim().to_owned(),
            scenario,
            expectations,
        })
    }

    fn peers(&self, peers: &BTreeMap<String, Spanned<PeerText>>) -> Result<Vec<PeerSpec>, FileError> {
        let mut specs = Vec::new();
        for (name, peer) in peers {
            let field = format!("peers.{name}");
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
                let message = format!("`{name}` cannot name a peer: use letters, digits, `-` and `_`");
                return Err(self.error_at(peer, &field, message));
            }
            let role = *peer.get_ref().role.get_ref();
            if let Some(other) = specs.iter().find(|spec: &&PeerSpec| spec.role == role) {
                let message = format!(
                    "`{}` is already the {}; a call has one caller and one callee",
                    other.name,
                    role_name(role)
                );
                return Err(self.error_at(&peer.get_ref().role, &format!("{field}.role"), message));
            }
            specs.push(self.peer(name, peer, &field)?);
        }
        if specs.len() != 2 {
            let message = format!(
                "a call has two peers, one with role = \"caller\" and one with role = \"callee\"; found {}",
                specs.len()
            );
            // At the lone peer, or at the top of the file when there is none.
            let span = peers.values().last().map_or(0..0, Spanned::span);
            return Err(self.error(span, "peers", message));
        }
        Ok(specs)
    }

    fn peer(&self, name: &str, peer: &Spanned<PeerText>, field: &str) -> Result<PeerSpec, FileError> {
        let text = peer.get_ref();
        let mut spec = PeerSpec::new(name, *text.role.get_ref());
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
        if let Some(interval) = &text.data_interval {
            if interval.get_ref().0.is_zero() {
                let message = "messages need some time between them: give more than 0s".to_owned();
                return Err(self.error_at(interval, &format!("{field}.data_interval"), message));
            }
            spec.media.data_interval = interval.get_ref().0;
        }
        for (link, key) in [
            (&text.link, "link"),
            (&text.uplink, "uplink"),
            (&text.downlink, "downlink"),
        ] {
            self.check_link(link, &format!("{field}.{key}"))?;
        }
        spec.uplink = link_config(&text.uplink.or(&text.link));
        spec.downlink = link_config(&text.downlink.or(&text.link));
        Ok(spec)
    }

    fn check_link(&self, link: &LinkText, field: &str) -> Result<(), FileError> {
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

    /// One `[[expect]]`: an expectation per stream or peer it covers.
    fn expectations(
        &self,
        index: usize,
        check: &Spanned<CheckText>,
        call: &Call,
    ) -> Result<Vec<Expectation>, FileError> {
        let field = format!("expect[{index}].{}", check.get_ref().name());
        let bad_bounds = |message: &str| self.error_at(check, &field, message.to_owned());
        let duration = |limit: Option<WithUnit<Duration>>| limit.map(|limit| limit.0);
        let ratio = |limit: Option<WithUnit<Share>>| limit.map(|limit| Ratio(limit.0.0));
        let any = &ANY_MEDIUM[..];
        let (scope, kinds, metric) = match check.get_ref() {
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
        let window = self.window(field, &scope, call.duration)?;
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

    fn window(&self, field: &str, scope: &Scope<'_>, duration: Duration) -> Result<Window, FileError> {
        let from = scope
            .from
            .as_ref()
            .map_or(Duration::ZERO, |from| from.get_ref().0);
        let to = scope.to.as_ref().map_or(duration, |to| to.get_ref().0);
        if let Some(text) = scope.to.as_ref().filter(|_| to > duration) {
            let message = format!(
                "the window ends at {}, after the call (it lasts {})",
                to.show(),
                duration.show()
            );
            return Err(self.error_at(text, &format!("{field}.to"), message));
        }
        let empty = from >= to;
        if let Some(text) = scope.from.as_ref().filter(|_| empty) {
            let message = format!(
                "the window starts at {}, not before its end ({})",
                from.show(),
                to.show()
            );
            return Err(self.error_at(text, &format!("{field}.from"), message));
        }
        if let Some(text) = scope.to.as_ref().filter(|_| empty) {
            let message = format!("the window ends at {}, not after its start (0s)", to.show());
            return Err(self.error_at(text, &format!("{field}.to"), message));
        }
        Ok(Window { from, to })
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
            if !peers.contains(&name) {
                let suggestion =
                    closest(name, &peers).map_or(String::new(), |close| format!("did you mean `{close}`? "));
                return Err(fail(format!(
                    "no peer is called `{name}`; {suggestion}the peers are {}",
                    list(&peers)
                )));
            }
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
    duration: Duration,
    peers: Vec<String>,
    /// Every stream some peer sends.
    streams: Vec<StreamId>,
}

impl Call {
    fn new(scenario: &Scenario) -> Call {
        let peers = &scenario.peers;
        let streams = peers
            .iter()
            .flat_map(|sender| {
                let receivers = peers.iter().filter(move |peer| peer.name != sender.name);
                receivers.flat_map(move |receiver| {
                    sender.media.kinds.iter().map(move |kind| StreamId {
                        from: sender.name.clone(),
                        to: receiver.name.clone(),
                        kind: *kind,
                    })
                })
            })
            .collect();
        Call {
            duration: scenario.duration,
            peers: peers.iter().map(|peer| peer.name.clone()).collect(),
            streams,
        }
    }
}

/// The streams a stream check covers and the window it looks at, as written.
struct Scope<'a> {
    stream: &'a Spanned<String>,
    from: &'a Option<Spanned<WithUnit<Duration>>>,
    to: &'a Option<Spanned<WithUnit<Duration>>>,
}

impl<T> StreamCheckText<T> {
    fn scope(&self) -> Scope<'_> {
        Scope {
            stream: &self.stream,
            from: &self.from,
            to: &self.to,
        }
    }
}

impl DelayCheckText {
    fn scope(&self) -> Scope<'_> {
        Scope {
            stream: &self.stream,
            from: &self.from,
            to: &self.to,
        }
    }
}

impl StreamWindowText {
    fn scope(&self) -> Scope<'_> {
        Scope {
            stream: &self.stream,
            from: &self.from,
            to: &self.to,
        }
    }
}

const ANY_MEDIUM: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Video, MediaKind::Data];

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
            name => match ANY_MEDIUM.into_iter().find(|kind| kind.to_string() == name) {
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

fn link_config(text: &LinkText) -> LinkConfig {
    let mut config = LinkConfig::default();
    let set = |target: &mut Duration, value: Option<WithUnit<Duration>>| {
        if let Some(value) = value {
            *target = value.0;
        }
    };
    set(&mut config.delay, text.delay);
    set(&mut config.jitter, text.jitter);
    config.reorder = text.reorder.unwrap_or(config.reorder);
    config.loss = match (text.loss, &text.burst) {
        (Some(loss), _) if loss.0.0 == 0.0 => Loss::None,
        (Some(loss), Some(burst)) => Loss::Bursty {
            loss: loss.0.0,
            mean_burst: *burst.get_ref(),
        },
        (Some(loss), None) => Loss::Random(loss.0.0),
        (None, _) => Loss::None,
    };
    config.rate_bps = text.rate.map(|rate| rate.0.0);
    config.queue = text.queue.map_or(config.queue, |queue| queue.0);
    config.duplicate = text.duplicate.map_or(0.0, |share| share.0.0);
    config.mtu = text.mtu.map_or(config.mtu, |mtu| usize::from(mtu.get()));
    config
}

fn media_kind(medium: MediaText) -> MediaKind {
    match medium {
        MediaText::Audio => MediaKind::Audio,
        MediaText::Video => MediaKind::Video,
        MediaText::Data => MediaKind::Data,
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Caller => "caller",
        Role::Callee => "callee",
    }
}

/// `peers.alice.link.loss` or `expect[2].delivered.min` from serde's path, without toml's
/// private names for spans.
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
            Segment::Unknown => "?",
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

/// The candidate `name` was most likely meant to be, if one is close enough.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(name, candidate), *candidate))
        .filter(|(similarity, _)| *similarity >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
