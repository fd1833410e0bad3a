//! The plots of the report pages, as hand-built inline SVG.
//!
//! [`timeline`], on a scenario's page: one lane per stream with its received bitrate
//! (filled) over its sent bitrate (a line) per [`BIN`](super::BIN), and on a video lane its
//! sender's congestion-control target (a dashed line); a lane per flow of cross traffic, the
//! same way; a lane of network drops; and a vertical marker with a label for every network
//! event of the timeline, ICE and peer-connection state change, ICE restart and error.
//!
//! [`sweep`], on a sweep's page: one expectation's measured value at each point over the
//! swept values, a line per series, its limits as a band, each point marked passed or failed
//! and linked to its own page.

use std::fmt::Write;
use std::time::Duration;

use super::Report;
use super::html::{Kind, describe, escape, seconds, trimmed};
use crate::scenario::expect::{Ratio, Show, Unit};

/// Geometry, in SVG user units (the plot scales to the page's width).
const WIDTH: f64 = 1160.0;
/// Room for the lane labels.
const LEFT: f64 = 210.0;
const RIGHT: f64 = 24.0;
const LANE: f64 = 54.0;
const DROPS_LANE: f64 = 34.0;
const LANE_GAP: f64 = 8.0;
/// Height of one row of marker labels.
const ROW: f64 = 15.0;
/// Marker labels cascade down at most this many rows before they overlap.
const MAX_ROWS: usize = 12;
/// Approximate width of a character of an 11px label.
const CHAR: f64 = 6.2;
const AXIS: f64 = 28.0;

/// The plot, or `None` if the run recorded nothing to plot.
pub(super) fn timeline(report: &Report) -> Option<String> {
    let packets = &report.packets;
    let bins = packets.drops.len();
    if bins == 0 {
        return None;
    }
    let end = packets.bin * bins as u32;
    let x = |at: Duration| LEFT + (WIDTH - LEFT - RIGHT) * at.as_secs_f64() / end.as_secs_f64();

    let markers = place_markers(report, &x);
    // Marker labels take the band above the lanes.
    let lanes_top = markers.iter().map(|m| m.row + 1).max().unwrap_or(0) as f64 * ROW + 6.0;
    let rate_lanes = packets.streams.len() + packets.cross_traffic.len();
    let lanes_bottom = lanes_top + rate_lanes as f64 * (LANE + LANE_GAP) + DROPS_LANE;
    let height = lanes_bottom + AXIS;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="timeline of the call">"#
    );
    // After the call: the world drains packets in flight, then both peers hang up.
    let call_end = x(report.scenario.duration);
    let _ = write!(
        svg,
        r#"<rect class="after" x="{call_end:.1}" y="{lanes_top:.1}" width="{:.1}" height="{:.1}"><title>after the call ({}): packets in flight drain, then both peers hang up</title></rect>"#,
        WIDTH - RIGHT - call_end,
        lanes_bottom - lanes_top,
        seconds(report.scenario.duration)
    );
    axis(&mut svg, end, &x, lanes_top, lanes_bottom);

    let kbps = |bytes: &[u64]| -> Vec<f64> {
        let per_second = 1.0 / packets.bin.as_secs_f64();
        bytes
            .iter()
            .map(|b| *b as f64 * 8.0 * per_second / 1000.0)
            .collect()
    };
    let mut top = lanes_top;
    for (stream, medium) in lanes(report) {
        let bins = &packets.streams[stream];
        let (received, sent) = (kbps(&bins.received_bytes), kbps(&bins.sent_bytes));
        let video = medium == "video";
        let target = video
            .then(|| targets(report, sender_of(stream), bins.sent.len()))
            .flatten();
        let capacity: Option<Vec<Option<f64>>> = video
            .then(|| packets.uplink_capacity.get(sender_of(stream)))
            .flatten()
            .map(|bins| {
                bins.iter()
                    .map(|bps| bps.map(|bps| bps as f64 / 1000.0))
                    .collect()
            });
        let highest = received
            .iter()
            .chain(&sent)
            .chain(target.iter().flatten())
            .chain(capacity.iter().flatten().flatten());
        let scale = nice_ceiling(highest.copied().fold(0.0, f64::max));
        let delivered = report
            .metrics
            .as_ref()
            .and_then(|metrics| metrics.streams.get(stream))
            .map(|m| format!("{} delivered", Ratio(m.delivered).show()))
            .unwrap_or_default();
        let lane = Lane {
            top,
            height: LANE,
            scale,
            bin: packets.bin,
            x: &x,
        };
        lane.background(
            &mut svg,
            stream,
            &[&delivered, &format!("0–{} kbit/s", trimmed(scale, 3))],
        );
        let _ = write!(
            svg,
            r#"<path class="received {medium}" data-stream="{}" d="{}"><title>{} received, kbit/s</title></path>"#,
            escape(stream),
            lane.area(&received),
            escape(stream)
        );
        let _ = write!(svg, r#"<path class="sent" d="{}"/>"#, lane.line(&sent));
        if let Some(target) = &target {
            let _ = write!(
                svg,
                r#"<path class="target" d="{}"><title>{}'s congestion-control target, kbit/s</title></path>"#,
                lane.line(target),
                escape(sender_of(stream))
            );
        }
        if let Some(capacity) = &capacity {
            let _ = write!(
                svg,
                r#"<path class="capacity" d="{}"><title>{}'s uplink capacity (whole datagrams), kbit/s</title></path>"#,
                lane.broken_line(capacity),
                escape(sender_of(stream))
            );
        }
        top += LANE + LANE_GAP;
    }
    for (flow, bins) in &packets.cross_traffic {
        let (received, sent) = (kbps(&bins.received_bytes), kbps(&bins.sent_bytes));
        let lane = Lane {
            top,
            height: LANE,
            scale: nice_ceiling(received.iter().chain(&sent).copied().fold(0.0, f64::max)),
            bin: packets.bin,
            x: &x,
        };
        let title = format!("cross traffic {flow}");
        lane.background(
            &mut svg,
            &title,
            &[&format!("0–{} kbit/s", trimmed(lane.scale, 3))],
        );
        let _ = write!(
            svg,
            r#"<path class="received cross" d="{}"><title>{} arrived, kbit/s</title></path>"#,
            lane.area(&received),
            escape(&title)
        );
        let _ = write!(svg, r#"<path class="sent" d="{}"/>"#, lane.line(&sent));
        top += LANE + LANE_GAP;
    }
    let drops: Vec<f64> = packets.drops.iter().map(|d| *d as f64).collect();
    let lane = Lane {
        top,
        height: DROPS_LANE,
        scale: nice_ceiling(drops.iter().copied().fold(0.0, f64::max)),
        bin: packets.bin,
        x: &x,
    };
    let total: u64 = packets.drops.iter().sum();
    lane.background(
        &mut svg,
        "network drops",
        &[&format!(
            "{total} datagrams, 0–{} per bin",
            trimmed(lane.scale, 3)
        )],
    );
    let _ = write!(svg, r#"<path class="drops" d="{}"/>"#, lane.area(&drops));

    for marker in &markers {
        marker.draw(&mut svg, lanes_bottom);
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// The sender and medium of `stream` (`bob<-alice:video` → `alice`, `video`).
fn sender_and_medium(stream: &str) -> (&str, &str) {
    stream
        .split_once("<-")
        .and_then(|(_, sender)| sender.rsplit_once(':'))
        .unwrap_or_default()
}

fn sender_of(stream: &str) -> &str {
    sender_and_medium(stream).0
}

/// `peer`'s congestion-control target in kbit/s in effect at the start of each of `bins`
/// bins (0 before its first), from the report's `target_bitrate` events; `None` for a peer
/// without congestion control.
fn targets(report: &Report, peer: &str, bins: usize) -> Option<Vec<f64>> {
    let set: Vec<(Duration, f64)> = report
        .events
        .iter()
        .filter_map(|event| match &event.what {
            crate::trace::What::TargetBitrate { peer: p, bps } if p == peer => {
                Some((event.at, *bps as f64 / 1000.0))
            }
            _ => None,
        })
        .collect();
    if set.is_empty() {
        return None;
    }
    let bin = report.packets.bin;
    let in_effect = |start: Duration| {
        set.iter()
            .take_while(|(at, _)| *at <= start)
            .last()
            .map_or(0.0, |(_, kbps)| *kbps)
    };
    Some((0..bins).map(|index| in_effect(bin * index as u32)).collect())
}

/// Media names in lane order.
const MEDIA: [&str; 3] = ["audio", "video", "data"];

/// The streams in the order a person reads them: what each peer sends (in the scenario's
/// order of peers), audio, video, data; with their medium.
fn lanes(report: &Report) -> Vec<(&str, &'static str)> {
    let mut lanes: Vec<(usize, usize, &str, &'static str)> = report
        .packets
        .streams
        .keys()
        .map(|stream| {
            let (from, medium) = sender_and_medium(stream);
            let peers = &report.scenario.peers;
            let sender = peers
                .iter()
                .position(|peer| peer.name == from)
                .unwrap_or(peers.len());
            let medium = MEDIA
                .iter()
                .position(|known| *known == medium)
                .unwrap_or(MEDIA.len() - 1);
            (sender, medium, stream.as_str(), MEDIA[medium])
        })
        .collect();
    lanes.sort();
    lanes
        .into_iter()
        .map(|(_, _, stream, medium)| (stream, medium))
        .collect()
}

/// One horizontal lane: values per bin, from 0 at its bottom to `scale` at its top.
struct Lane<'a, X: Fn(Duration) -> f64> {
    top: f64,
    height: f64,
    scale: f64,
    bin: Duration,
    x: &'a X,
}

impl<X: Fn(Duration) -> f64> Lane<'_, X> {
    fn background(&self, svg: &mut String, title: &str, notes: &[&str]) {
        let _ = write!(
            svg,
            r#"<rect class="lane" x="{LEFT}" y="{:.1}" width="{:.1}" height="{}"/><text class="lane-title" x="8" y="{:.1}">{}</text>"#,
            self.top,
            WIDTH - LEFT - RIGHT,
            self.height,
            self.top + 13.0,
            escape(title)
        );
        for (index, note) in notes.iter().filter(|note| !note.is_empty()).enumerate() {
            let _ = write!(
                svg,
                r#"<text class="note" x="8" y="{:.1}">{}</text>"#,
                self.top + 27.0 + 12.0 * index as f64,
                escape(note)
            );
        }
    }

    /// The step line through `values`: flat across each bin.
    fn line(&self, values: &[f64]) -> String {
        let values: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
        self.broken_line(&values)
    }

    /// [`Lane::line`] with a break wherever a bin has no value.
    fn broken_line(&self, values: &[Option<f64>]) -> String {
        let mut path = String::new();
        let mut drawing = false;
        for (index, value) in values.iter().enumerate() {
            let Some(value) = value else {
                drawing = false;
                continue;
            };
            let y = self.top + self.height * (1.0 - value / self.scale);
            let (from, to) = (
                (self.x)(self.bin * index as u32),
                (self.x)(self.bin * (index as u32 + 1)),
            );
            let _ = write!(
                path,
                "{}{from:.1},{y:.1}L{to:.1},{y:.1}",
                if drawing { "L" } else { "M" }
            );
            drawing = true;
        }
        path
    }

    /// The area under [`Lane::line`].
    fn area(&self, values: &[f64]) -> String {
        let bottom = self.top + self.height;
        let end = (self.x)(self.bin * values.len() as u32);
        format!(
            "M{LEFT:.1},{bottom:.1}L{}L{end:.1},{bottom:.1}Z",
            self.line(values).trim_start_matches('M')
        )
    }
}

/// A labelled vertical line at the time of an event.
struct Marker {
    x: f64,
    row: usize,
    kind: Kind,
    label: String,
    /// The full event, for the tooltip.
    title: String,
    /// Label to the left of the line (near the right edge).
    flipped: bool,
}

impl Marker {
    fn draw(&self, svg: &mut String, bottom: f64) {
        let top = self.row as f64 * ROW + 2.0;
        let (text_x, anchor) = if self.flipped {
            (self.x - 3.0, "end")
        } else {
            (self.x + 3.0, "start")
        };
        let _ = write!(
            svg,
            r#"<g class="marker {}"><title>{}</title><line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}"/><text x="{text_x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text></g>"#,
            self.kind.class(),
            escape(&self.title),
            top + 10.0,
            escape(&self.label),
            x = self.x,
        );
    }
}

/// Labels cascade: each goes on the highest row below every earlier label it would run
/// into, so no line crosses an earlier label and bursts of events (a call connecting)
/// read as a staircase.
fn place_markers(report: &Report, x: &impl Fn(Duration) -> f64) -> Vec<Marker> {
    let right = WIDTH - RIGHT;
    let mut placed: Vec<(Marker, f64)> = Vec::new();
    for event in &report.events {
        let shown = describe(&event.what);
        let Some(label) = shown.marker else { continue };
        let at = x(event.at);
        let width = label.chars().count() as f64 * CHAR + 6.0;
        let flipped = at + width > right;
        let (start, end) = if flipped {
            (at - width, at)
        } else {
            (at, at + width)
        };
        let row = placed
            .iter()
            .filter(|(_, previous_end)| *previous_end > start)
            .map(|(marker, _)| marker.row + 1)
            .max()
            .unwrap_or(0)
            .min(MAX_ROWS - 1);
        let title = format!("{}  {}", seconds(event.at), shown.text);
        let marker = Marker {
            x: at,
            row,
            kind: shown.kind,
            label,
            title,
            flipped,
        };
        placed.push((marker, end));
    }
    placed.into_iter().map(|(marker, _)| marker).collect()
}

/// Vertical grid lines and time labels every 1, 2 or 5 × 10ⁿ seconds, about ten of them.
fn axis(svg: &mut String, end: Duration, x: &impl Fn(Duration) -> f64, top: f64, bottom: f64) {
    let step = nice_ceiling(end.as_secs_f64() / 10.0);
    let ticks = (end.as_secs_f64() / step).floor() as u32;
    for tick in (0..=ticks).map(|n| f64::from(n) * step) {
        let at = x(Duration::from_secs_f64(tick));
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{at:.1}" y1="{top:.1}" x2="{at:.1}" y2="{bottom:.1}"/><text class="tick" x="{at:.1}" y="{:.1}" text-anchor="middle">{} s</text>"#,
            bottom + 16.0,
            trimmed(tick, 3)
        );
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `value` (1 for nothing), for scales and steps.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|nice| *nice >= value * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// Geometry of a sweep plot, in SVG user units (two plots side by side on a wide page).
const SWEEP_WIDTH: f64 = 580.0;
/// Room for the value labels.
const SWEEP_LEFT: f64 = 66.0;
/// Room for the limits' labels.
const SWEEP_RIGHT: f64 = 80.0;
const SWEEP_TOP: f64 = 12.0;
/// Height of the plotting area of a measured value.
const SWEEP_VALUES: f64 = 190.0;
/// Height of one row of a pass/fail strip (a check with no scale).
const SWEEP_ROW: f64 = 26.0;
/// Two rows of value labels under the plot, then the swept path's name.
const SWEEP_AXIS: f64 = 52.0;
const MARK_RADIUS: f64 = 5.0;

/// The x axis of a sweep: a swept setting's values, in file order.
pub(super) struct SweepAxis {
    /// The swept path, `peers.alice.link.loss`.
    pub name: String,
    /// As the file writes them: `5%`.
    pub values: Vec<String>,
    /// Each value's number ([`Swept::number`](crate::scenario::file::Swept::number)) when
    /// every value has one: the axis is then to scale, else its values are evenly spaced.
    pub numbers: Option<Vec<f64>>,
}

/// The points of a sweep that share the values of every swept path but the first: a line.
pub(super) struct Series {
    /// `core.delay=150ms`; empty when only one path is swept.
    pub label: String,
    /// Its values alone, `150ms`: its row's name in a pass/fail strip.
    pub values: String,
    pub marks: Vec<SweepMark>,
}

/// One point of a sweep in a plot.
pub(super) struct SweepMark {
    /// Index of its value in [`SweepAxis::values`].
    pub at: usize,
    /// `peers.alice.link.loss=5%, core.delay=150ms`.
    pub point: String,
    /// What was measured, if anything could be.
    pub value: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub passed: bool,
    /// The tooltip: what was measured, against what limit.
    pub title: String,
    /// The point's own report page, relative to the sweep's page.
    pub href: String,
}

/// The plot of one expectation over a sweep: its measured value in `unit` at every point,
/// or with `unit` `None` (a check with no scale) a row per series of passed and failed
/// marks.
pub(super) fn sweep(axis: &SweepAxis, series: &[Series], unit: Option<Unit>) -> String {
    let rows = series.len().max(1) as f64;
    let plot_height = if unit.is_some() {
        SWEEP_VALUES
    } else {
        rows * SWEEP_ROW
    };
    let (top, bottom) = (SWEEP_TOP, SWEEP_TOP + plot_height);
    let height = bottom + SWEEP_AXIS;
    let x = sweep_positions(axis);

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart sweep" viewBox="0 0 {SWEEP_WIDTH} {height:.0}" role="img" aria-label="measured over {}">"#,
        escape(&axis.name)
    );
    let _ = write!(
        svg,
        r#"<rect class="lane" x="{SWEEP_LEFT}" y="{top}" width="{:.1}" height="{plot_height}"/>"#,
        SWEEP_WIDTH - SWEEP_LEFT - SWEEP_RIGHT
    );
    sweep_x_axis(&mut svg, axis, &x, top, bottom);

    let marks = || series.iter().flat_map(|series| &series.marks);
    let scale = unit.map(|unit| ValueScale::new(unit, marks(), top, bottom));
    if let Some(scale) = &scale {
        scale.axis(&mut svg);
        limits(&mut svg, scale, &x, series);
    }
    for (index, line) in series.iter().enumerate() {
        let color = index % SERIES_COLORS;
        // A check with no scale: a row per series.
        let row_y = top + SWEEP_ROW * (index as f64 + 0.5);
        if let Some(scale) = &scale {
            let mut path = String::new();
            let mut ordered: Vec<&SweepMark> = line.marks.iter().collect();
            ordered.sort_by(|a, b| x[a.at].total_cmp(&x[b.at]));
            let mut pen_down = false;
            for mark in ordered {
                match mark.value {
                    Some(value) => {
                        let command = if pen_down { 'L' } else { 'M' };
                        let _ = write!(path, "{command}{:.1},{:.1}", x[mark.at], scale.y(value));
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            let _ = write!(
                svg,
                r#"<path class="series s{color}" data-series="{}" d="{path}"/>"#,
                escape(&line.label)
            );
        } else if series.len() > 1 {
            let room = ((SWEEP_LEFT - 10.0) / CHAR) as usize;
            let mut name: String = line.values.chars().take(room).collect();
            if line.values.chars().count() > room {
                name.pop();
                name.push('…');
            }
            let _ = write!(
                svg,
                r#"<text class="note" x="{:.1}" y="{:.1}" text-anchor="end"><title>{}</title>{}</text>"#,
                SWEEP_LEFT - 6.0,
                row_y + 4.0,
                escape(&line.label),
                escape(&name)
            );
        }
        for mark in &line.marks {
            let y = match (&scale, mark.value) {
                (Some(scale), Some(value)) => Some(scale.y(value)),
                (Some(_), None) => None,
                (None, _) => Some(row_y),
            };
            draw_mark(
                &mut svg,
                mark,
                &axis.values[mark.at],
                color,
                x[mark.at],
                y,
                bottom,
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// How many colours series cycle through (classes `s0`…).
pub(super) const SERIES_COLORS: usize = 8;

/// The x of each value of the axis: to scale when it has numbers, else evenly spaced, each
/// in the middle of its share of the width.
fn sweep_positions(axis: &SweepAxis) -> Vec<f64> {
    let count = axis.values.len();
    let width = SWEEP_WIDTH - SWEEP_LEFT - SWEEP_RIGHT;
    let evenly = |index: usize| SWEEP_LEFT + width * (index as f64 + 0.5) / count as f64;
    // Room at both ends, so marks and labels at the ends are whole.
    let inset = 28.0;
    let (left, right) = (SWEEP_LEFT + inset, SWEEP_WIDTH - SWEEP_RIGHT - inset);
    match &axis.numbers {
        Some(numbers) => {
            let low = numbers.iter().copied().fold(f64::INFINITY, f64::min);
            let high = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            numbers
                .iter()
                .enumerate()
                .map(|(index, number)| {
                    if high > low {
                        left + (right - left) * (number - low) / (high - low)
                    } else {
                        evenly(index)
                    }
                })
                .collect()
        }
        None => (0..count).map(evenly).collect(),
    }
}

/// A grid line and a label per swept value (on a second row when the first is taken, left
/// out when both are), and the path's name.
fn sweep_x_axis(svg: &mut String, axis: &SweepAxis, x: &[f64], top: f64, bottom: f64) {
    let mut order: Vec<usize> = (0..axis.values.len()).collect();
    order.sort_by(|a, b| x[*a].total_cmp(&x[*b]));
    let mut row_ends = [f64::NEG_INFINITY; 2];
    for index in order {
        let at = x[index];
        let label = &axis.values[index];
        let half = label.chars().count() as f64 * CHAR / 2.0 + 4.0;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{at:.1}" y1="{top:.1}" x2="{at:.1}" y2="{bottom:.1}"/>"#
        );
        let Some(row) = row_ends.iter().position(|end| *end <= at - half) else {
            continue;
        };
        row_ends[row] = at + half;
        let _ = write!(
            svg,
            r#"<text class="tick" x="{at:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom + 15.0 + 13.0 * row as f64,
            escape(label)
        );
    }
    let _ = write!(
        svg,
        r#"<text class="axis-name" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (SWEEP_LEFT + SWEEP_WIDTH - SWEEP_RIGHT) / 2.0,
        bottom + SWEEP_AXIS - 6.0,
        escape(&axis.name)
    );
}

/// The vertical scale of measured values: from `low` at `bottom` to `high` at `top`, in
/// round steps, covering every value and limit.
struct ValueScale {
    unit: Unit,
    low: f64,
    high: f64,
    step: f64,
    top: f64,
    bottom: f64,
}

impl ValueScale {
    fn new<'a>(unit: Unit, marks: impl Iterator<Item = &'a SweepMark>, top: f64, bottom: f64) -> ValueScale {
        let numbers: Vec<f64> = marks
            .flat_map(|mark| [mark.value, mark.min, mark.max])
            .flatten()
            .filter(|number| number.is_finite())
            .collect();
        let mut low = numbers.iter().copied().fold(f64::INFINITY, f64::min);
        let mut high = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if numbers.is_empty() {
            (low, high) = (0.0, 0.0);
        }
        // Times and counts read against zero; shares (95–100 %) against their own range.
        if unit != Unit::Share {
            low = low.min(0.0);
        }
        let mut step = nice_ceiling((high - low) / 4.0);
        if unit == Unit::Count {
            step = step.max(1.0);
        }
        low = (low / step).floor() * step;
        high = (high / step).ceil() * step;
        if high <= low {
            high = low + step;
        }
        if unit == Unit::Share {
            // A little room above 100 % would read as more than everything.
            (low, high) = (low.max(0.0), high.min(1.0).max(low + step));
        }
        ValueScale {
            unit,
            low,
            high,
            step,
            top,
            bottom,
        }
    }

    fn y(&self, value: f64) -> f64 {
        let share = (value - self.low) / (self.high - self.low);
        self.bottom - (self.bottom - self.top) * share.clamp(-0.02, 1.02)
    }

    /// A value as its axis label reads: `250 ms`, `1.5 s`, `97.5%`, `3`.
    fn label(&self, value: f64) -> String {
        match self.unit {
            Unit::Seconds if self.high < 1.0 => format!("{} ms", trimmed(value * 1000.0, 1)),
            Unit::Seconds => format!("{} s", trimmed(value, 2)),
            Unit::Share => format!("{}%", trimmed(value * 100.0, 2)),
            Unit::Count => trimmed(value, 2),
            Unit::Bps if self.high < 1e6 => format!("{} kbit/s", trimmed(value / 1e3, 1)),
            Unit::Bps => format!("{} Mbit/s", trimmed(value / 1e6, 2)),
        }
    }

    /// Horizontal grid lines with their values.
    fn axis(&self, svg: &mut String) {
        let steps = ((self.high - self.low) / self.step).round() as u32;
        for n in 0..=steps {
            let value = self.low + f64::from(n) * self.step;
            let y = self.y(value);
            let _ = write!(
                svg,
                r#"<line class="grid" x1="{SWEEP_LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                SWEEP_WIDTH - SWEEP_RIGHT,
                SWEEP_LEFT - 6.0,
                y + 4.0,
                self.label(value)
            );
        }
    }
}

/// The limits of the expectation: the band a value passes in and its edges, across the
/// plot when every point has the same limits, else a short dash at each point's value.
fn limits(svg: &mut String, scale: &ValueScale, x: &[f64], series: &[Series]) {
    let measured: Vec<&SweepMark> = series
        .iter()
        .flat_map(|series| &series.marks)
        .filter(|mark| mark.value.is_some())
        .collect();
    let Some(first) = measured.first() else {
        return;
    };
    let (left, right) = (SWEEP_LEFT, SWEEP_WIDTH - SWEEP_RIGHT);
    let same = measured
        .iter()
        .all(|mark| mark.min == first.min && mark.max == first.max);
    if same {
        let band_top = first.max.map_or(scale.top, |max| scale.y(max));
        let band_bottom = first.min.map_or(scale.bottom, |min| scale.y(min));
        let _ = write!(
            svg,
            r#"<rect class="within" x="{left}" y="{band_top:.1}" width="{:.1}" height="{:.1}"/>"#,
            right - left,
            (band_bottom - band_top).max(0.0)
        );
        for (limit, name) in [(first.min, "min"), (first.max, "max")] {
            let Some(limit) = limit else { continue };
            let y = scale.y(limit);
            let _ = write!(
                svg,
                r#"<g class="limit"><title>{name} {}</title><line x1="{left}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}">{name} {}</text></g>"#,
                scale.label(limit),
                right + 4.0,
                y + 4.0,
                scale.label(limit)
            );
        }
        return;
    }
    for mark in measured {
        for (limit, name) in [(mark.min, "min"), (mark.max, "max")] {
            let Some(limit) = limit else { continue };
            let (at, y) = (x[mark.at], scale.y(limit));
            let _ = write!(
                svg,
                r#"<g class="limit"><title>{name} {} at {}</title><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/></g>"#,
                scale.label(limit),
                escape(&mark.point),
                at - 12.0,
                at + 12.0
            );
        }
    }
}

/// One point: a dot in its series' colour, ringed red when it failed, linked to its page;
/// a red cross on the bottom edge when nothing was measured (`y` `None`).
fn draw_mark(
    svg: &mut String,
    mark: &SweepMark,
    value: &str,
    color: usize,
    x: f64,
    y: Option<f64>,
    bottom: f64,
) {
    let verdict = if mark.passed { "pass" } else { "fail" };
    let measured = mark
        .value
        .map(|value| format!(r#" data-measured="{value}""#))
        .unwrap_or_default();
    let _ = write!(
        svg,
        r#"<a href="{}"><g class="mark {verdict} s{color}" data-point="{}" data-value="{}"{measured}><title>{}</title>"#,
        escape(&mark.href),
        escape(&mark.point),
        escape(value),
        escape(&mark.title)
    );
    match y {
        Some(y) => {
            if !mark.passed {
                let _ = write!(
                    svg,
                    r#"<circle class="ring" cx="{x:.1}" cy="{y:.1}" r="{:.1}"/>"#,
                    MARK_RADIUS + 3.5
                );
            }
            let _ = write!(
                svg,
                r#"<circle class="pt" cx="{x:.1}" cy="{y:.1}" r="{MARK_RADIUS}"/>"#
            );
        }
        None => {
            let (y, arm) = (bottom - 9.0, 5.0);
            let _ = write!(
                svg,
                r#"<path class="unmeasured" d="M{:.1},{:.1}L{:.1},{:.1}M{:.1},{:.1}L{:.1},{:.1}"/>"#,
                x - arm,
                y - arm,
                x + arm,
                y + arm,
                x - arm,
                y + arm,
                x + arm,
                y - arm
            );
        }
    }
    svg.push_str("</g></a>");
}
