//! The timeline plot of a report page, as hand-built inline SVG: one lane per stream with
//! its received bitrate (filled) over its sent bitrate (a line) per [`BIN`](super::BIN), a
//! lane of network drops, and a vertical marker with a label for every network event of
//! the timeline, ICE and peer-connection state change, ICE restart and error.

use std::fmt::Write;
use std::time::Duration;

use super::Report;
use super::html::{Kind, describe, escape, seconds, trimmed};
use crate::scenario::expect::{Ratio, Show};

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
    let lanes_bottom = lanes_top + packets.streams.len() as f64 * (LANE + LANE_GAP) + DROPS_LANE;
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

    let mut top = lanes_top;
    for (stream, medium) in lanes(report) {
        let bins = &packets.streams[stream];
        let kbps = |bytes: &[u64]| -> Vec<f64> {
            let per_second = 1.0 / packets.bin.as_secs_f64();
            bytes
                .iter()
                .map(|b| *b as f64 * 8.0 * per_second / 1000.0)
                .collect()
        };
        let (received, sent) = (kbps(&bins.received_bytes), kbps(&bins.sent_bytes));
        let scale = nice_ceiling(received.iter().chain(&sent).copied().fold(0.0, f64::max));
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
            let (from, medium) = stream
                .split_once("<-")
                .and_then(|(_, sender)| sender.rsplit_once(':'))
                .unwrap_or_default();
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
        let mut path = String::new();
        for (index, value) in values.iter().enumerate() {
            let y = self.top + self.height * (1.0 - value / self.scale);
            let (from, to) = (
                (self.x)(self.bin * index as u32),
                (self.x)(self.bin * (index as u32 + 1)),
            );
            let _ = write!(
                path,
                "{}{from:.1},{y:.1}L{to:.1},{y:.1}",
                if index == 0 { "M" } else { "L" }
            );
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
