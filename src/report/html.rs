//! `index.html`: one page per scenario that opens from disk (inline CSS and SVG; no script,
//! no font, no external asset), read top-down: what was expected and what happened, the
//! timeline plot, the metrics, the peers' setup, every event.

use std::fmt::Write;
use std::time::Duration;

use super::{Report, chart};
use crate::metrics::Metrics;
use crate::net::{
    DropReason, FirewallDrop, Hop, LinkConfig, Loss, NatConfig, NatDrop, QueueLimit, Undelivered,
};
use crate::scenario::expect::{Ratio, Show};
use crate::sim::Role;
use crate::trace::{NegotiationStep, What};

/// The page of `report`.
pub fn page(report: &Report) -> String {
    let scenario = &report.scenario;
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · netsim</title><style>{STYLE}</style></head><body><main>"#,
        escape(&scenario.name)
    );
    header(&mut html, report);
    expectations(&mut html, report);
    html.push_str("<h2>Timeline</h2>");
    match chart::timeline(report) {
        Some(svg) => {
            html.push_str(LEGEND);
            html.push_str(&svg);
        }
        None => html.push_str("<p>The run recorded nothing to plot.</p>"),
    }
    if let (Some(metrics), Some(counters)) = (&report.metrics, &report.counters) {
        html.push_str("<h2>Metrics</h2>");
        streams(&mut html, metrics);
        recovery(&mut html, metrics);
        let _ = write!(
            html,
            "<h3>Network</h3><p>{} datagrams sent, {} duplicated by links, {} delivered, {} dropped, {} in flight at the end.</p>",
            counters.sent, counters.duplicated, counters.delivered, counters.dropped, counters.in_flight
        );
        drops(&mut html, report);
    }
    setup(&mut html, report);
    events(&mut html, report);
    html.push_str("</main></body></html>\n");
    html
}

fn header(html: &mut String, report: &Report) {
    let scenario = &report.scenario;
    let failed = report.verdicts.iter().filter(|verdict| !verdict.passed).count();
    let badge = match (&report.error, failed) {
        (Some(_), _) => r#"<span class="badge fail">could not finish</span>"#.to_owned(),
        (None, 0) => r#"<span class="badge pass">passed</span>"#.to_owned(),
        (None, failed) => format!(
            r#"<span class="badge fail">{failed} of {} failed</span>"#,
            report.verdicts.len()
        ),
    };
    let _ = write!(
        html,
        r#"<header><h1>{} {badge}</h1><p class="meta">{} · seed {} · {} call · {} {} · webrtc {}</p><p class="story">{}</p></header>"#,
        escape(&scenario.name),
        escape(&scenario.file.display().to_string()),
        scenario.seed,
        span(scenario.duration),
        report.harness.name,
        report.harness.version,
        report.harness.webrtc,
        escape(&scenario.description)
    );
}

fn expectations(html: &mut String, report: &Report) {
    html.push_str("<h2>Expectations</h2>");
    if let Some(error) = &report.error {
        let _ = write!(
            html,
            r#"<p class="error">The run could not finish: {}</p>"#,
            escape(error)
        );
    }
    if report.verdicts.is_empty() {
        html.push_str("<p>No expectations were judged.</p>");
        return;
    }
    html.push_str("<table><tr><th></th><th>expectation</th><th>measured</th><th>limit</th></tr>");
    for verdict in &report.verdicts {
        let (class, mark) = if verdict.passed {
            ("pass", "✓")
        } else {
            ("fail", "✗")
        };
        let _ = write!(
            html,
            r#"<tr class="{class}"><td class="mark">{mark}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(&verdict.expectation),
            escape(&verdict.measured),
            escape(&verdict.limit)
        );
    }
    html.push_str("</table>");
}

fn streams(html: &mut String, metrics: &Metrics) {
    let connect = metrics.connect_time.map_or("never connected".to_owned(), |time| {
        format!("connected in {}", span(time))
    });
    let _ = write!(
        html,
        "<p><b>Connect time</b> (caller's offer → both peers connected): {connect}.</p>"
    );
    html.push_str(
        "<table><tr><th>stream</th><th>sent</th><th>received</th><th>delivered</th><th>lost</th>\
         <th>duplicates</th><th>out of order</th><th>longest gap</th><th>delay p50 / p95 / max</th>\
         <th>freezes</th></tr>",
    );
    for (stream, m) in &metrics.streams {
        let delay = m.one_way_delay.map_or("–".to_owned(), |delay| {
            format!("{} / {} / {}", span(delay.p50), span(delay.p95), span(delay.max))
        });
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{delay}</td><td class="num">{}</td></tr>"#,
            escape(stream),
            m.sent,
            m.received,
            Ratio(m.delivered).show(),
            m.lost,
            m.duplicates,
            m.out_of_order,
            span(m.media_gap),
            m.freezes
        );
    }
    html.push_str("</table>");
}

/// ICE restarts and reconnections after network events, when there were any.
fn recovery(html: &mut String, metrics: &Metrics) {
    if !metrics.restarts.is_empty() {
        html.push_str(
            "<h3>ICE restarts</h3><table><tr><th>at</th><th>peer</th><th>why</th><th>restart time</th>\
             <th>new credentials (offer / answer)</th><th>selected pair before ⇒ after</th>\
             <th>media received meanwhile</th></tr>",
        );
        for restart in &metrics.restarts {
            let yes_no = |changed: bool| if changed { "yes" } else { "no" };
            let _ = write!(
                html,
                r#"<tr><td class="num">{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{} / {}</td><td>{} ⇒ {}</td><td class="num">{}</td></tr>"#,
                seconds(restart.at),
                escape(&restart.peer),
                escape(&restart.reason),
                restart.restart_time.map_or("never reconnected".to_owned(), span),
                yes_no(restart.offer_credentials_changed),
                yes_no(restart.answer_credentials_changed),
                escape(restart.pair_before.as_deref().unwrap_or("–")),
                escape(restart.pair_after.as_deref().unwrap_or("–")),
                restart.received_while_restarting
            );
        }
        html.push_str("</table>");
    }
    if !metrics.reconnects.is_empty() {
        html.push_str(
            "<h3>Reconnection after network events</h3><table><tr><th>at</th><th>event</th>\
             <th>first packet sent after it that arrived, per stream</th></tr>",
        );
        for reconnect in &metrics.reconnects {
            let times: Vec<String> = reconnect
                .reconnect_time
                .iter()
                .map(|(stream, time)| {
                    let time = time.map_or("never".to_owned(), span);
                    format!("{}: {time}", escape(stream))
                })
                .collect();
            let _ = write!(
                html,
                r#"<tr><td class="num">{}</td><td>{}</td><td>{}</td></tr>"#,
                seconds(reconnect.at),
                escape(&reconnect.action),
                times.join("<br>")
            );
        }
        html.push_str("</table>");
    }
}

/// Where and why the network dropped datagrams.
fn drops(html: &mut String, report: &Report) {
    if report.packets.dropped.is_empty() {
        return;
    }
    html.push_str("<table><tr><th>dropped at</th><th>why</th><th>datagrams</th></tr>");
    for count in &report.packets.dropped {
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
            escape(&place(count.hop.as_ref())),
            why(&count.reason),
            count.datagrams
        );
    }
    html.push_str("</table>");
}

fn place(hop: Option<&Hop>) -> String {
    match hop {
        Some(Hop::Uplink(host)) => format!("{host}'s uplink"),
        Some(Hop::Downlink(host)) => format!("{host}'s downlink"),
        Some(Hop::Nat(nat)) => nat.clone(),
        Some(Hop::Firewall(host)) => format!("{host}'s firewall"),
        Some(Hop::Core) => "the core".to_owned(),
        None => "routing".to_owned(),
    }
}

fn why(reason: &Undelivered) -> &'static str {
    match reason {
        Undelivered::Link(DropReason::LinkDown) => "link down",
        Undelivered::Link(DropReason::Mtu) => "larger than the MTU",
        Undelivered::Link(DropReason::Loss) => "lost",
        Undelivered::Link(DropReason::QueueFull) => "queue full",
        Undelivered::Nat(NatDrop::NoBinding) => "no NAT binding",
        Undelivered::Nat(NatDrop::Filtered) => "filtered by the NAT",
        Undelivered::Nat(NatDrop::HairpinDisabled) => "no hairpinning",
        Undelivered::Nat(NatDrop::PortsExhausted) => "NAT out of ports",
        Undelivered::Firewall(FirewallDrop::Udp) => "UDP blocked by a firewall",
        Undelivered::Firewall(FirewallDrop::TcpPort) => "TCP port blocked by a firewall",
        Undelivered::Firewall(FirewallDrop::Unsolicited) => "unsolicited TCP, blocked by a firewall",
        Undelivered::NoRoute => "no route",
        Undelivered::PortUnreachable => "port unreachable",
    }
}

fn setup(html: &mut String, report: &Report) {
    let scenario = &report.scenario;
    html.push_str(
        "<h2>Setup</h2><table><tr><th>peer</th><th>role</th><th>sends</th><th>uplink (to the core)</th>\
         <th>downlink</th><th>NAT</th><th>ICE servers</th></tr>",
    );
    for peer in &scenario.peers {
        let mut sends: Vec<String> = peer.media.iter().map(ToString::to_string).collect();
        if let Some(video) = sends.iter_mut().find(|kind| *kind == "video") {
            *video = format!("video {}", rate(peer.video_bitrate_bps));
        }
        if let Some(data) = sends.iter_mut().find(|kind| *kind == "data") {
            *data = format!("data every {}", span(peer.data_interval));
        }
        let mut ice_servers = peer.ice_servers.join(", ");
        if peer.relay_only {
            ice_servers += " (relay only)";
        }
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&peer.name),
            match peer.role {
                Role::Caller => "caller",
                Role::Callee => "callee",
            },
            sends.join(", "),
            link(&peer.uplink),
            link(&peer.downlink),
            peer.nat.as_ref().map_or("none".to_owned(), nat),
            if ice_servers.is_empty() {
                "none"
            } else {
                &ice_servers
            }
        );
    }
    let servers = if scenario.servers.is_empty() {
        "none".to_owned()
    } else {
        scenario.servers.join(", ")
    };
    let _ = write!(
        html,
        "</table><p>Core: {} · signaling relay: {} per message · servers: {servers}.</p>",
        link(&scenario.core),
        span(scenario.signaling_delay)
    );
}

fn events(html: &mut String, report: &Report) {
    let _ = write!(
        html,
        "<h2>Events</h2><details><summary>{} events (per-packet ones are counted above)</summary><table class=\"events\">",
        report.events.len()
    );
    for event in &report.events {
        let shown = describe(&event.what);
        let _ = write!(
            html,
            r#"<tr><td class="num">{}</td><td><span class="dot {}"></span>{}</td></tr>"#,
            seconds(event.at),
            shown.kind.class(),
            escape(&shown.text)
        );
    }
    html.push_str("</table></details>");
}

/// What an event is about: its colour on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Signaling,
    Ice,
    Connection,
    Restart,
    Network,
    Server,
    Error,
    Media,
}

impl Kind {
    pub(super) fn class(self) -> &'static str {
        match self {
            Kind::Signaling => "signaling",
            Kind::Ice => "ice",
            Kind::Connection => "connection",
            Kind::Restart => "restart",
            Kind::Network => "network",
            Kind::Server => "server",
            Kind::Error => "error",
            Kind::Media => "media",
        }
    }
}

/// How the page shows one event.
pub(super) struct Shown {
    pub kind: Kind,
    /// For the event list.
    pub text: String,
    /// The short label of its marker on the timeline plot, if it gets one.
    pub marker: Option<String>,
}

pub(super) fn describe(what: &What) -> Shown {
    let plain = |kind, text: String| Shown {
        kind,
        text,
        marker: None,
    };
    let marked = |kind, text: String, marker: String| Shown {
        kind,
        text,
        marker: Some(marker),
    };
    match what {
        What::SessionCreated { peer, token } => {
            plain(Kind::Signaling, format!("{peer} opens relay session {token}"))
        }
        What::SessionJoined { peer, accepted } => plain(
            Kind::Signaling,
            format!(
                "{peer} {} the session",
                if *accepted { "joins" } else { "is refused" }
            ),
        ),
        What::Relayed { from, to } => {
            plain(Kind::Signaling, format!("relay forwards a message {from} → {to}"))
        }
        What::OfferCreated { peer } => plain(Kind::Signaling, format!("{peer} creates the offer")),
        What::LocalDescription {
            peer,
            sdp_type,
            ufrag,
            ..
        } => plain(
            Kind::Signaling,
            format!("{peer} applies its {sdp_type} (ICE {ufrag})"),
        ),
        What::Negotiation { peer, step, offer } => plain(
            Kind::Signaling,
            match step {
                NegotiationStep::Rollback => format!("{peer} rolls back its offer {offer} (glare: polite)"),
                NegotiationStep::IgnoreOffer => format!("{peer} ignores offer {offer} (glare: impolite)"),
                NegotiationStep::QueueRestart => format!("{peer} queues a restart until {offer} is answered"),
                NegotiationStep::DropAnswer => format!("{peer} drops a stale answer to {offer}"),
            },
        ),
        What::SignalingState { peer, state } => plain(Kind::Signaling, format!("{peer} signaling {state}")),
        What::IceGatheringState { peer, state } => plain(Kind::Ice, format!("{peer} ICE gathering {state}")),
        What::Candidate { peer, candidate } => plain(Kind::Ice, format!("{peer} gathers {candidate}")),
        What::SelectedPair { peer, local, remote } => {
            plain(Kind::Ice, format!("{peer} selects pair {local} → {remote}"))
        }
        What::IceConnectionState { peer, state } => marked(
            Kind::Ice,
            format!("{peer} ICE {state}"),
            format!("{peer} ICE {state}"),
        ),
        What::PeerConnectionState { peer, state } => marked(
            Kind::Connection,
            format!("{peer} peer connection {state}"),
            format!("{peer} PC {state}"),
        ),
        What::RestartIce { peer, reason } => marked(
            Kind::Restart,
            format!("{peer} restarts ICE ({reason})"),
            format!("{peer} restarts ICE"),
        ),
        // A restart is marked by its own event, with who restarted.
        What::Timeline { action, detail } if action == "restart_ice" => plain(Kind::Restart, detail.clone()),
        What::Timeline { action, detail } => marked(Kind::Network, detail.clone(), action.replace('_', " ")),
        What::Server { server, note } => plain(Kind::Server, format!("{server}: {note}")),
        What::Error { peer, message } => {
            marked(Kind::Error, format!("{peer}: {message}"), format!("{peer} error"))
        }
        What::NetworkDrop {
            from,
            to,
            size,
            hop,
            reason,
        } => plain(
            Kind::Network,
            format!(
                "{from} → {to} ({size} B) dropped at {}: {}",
                place(hop.as_ref()),
                why(reason)
            ),
        ),
        What::TargetBitrate { peer, bps } => plain(
            Kind::Media,
            format!("{peer}'s congestion control targets {}", rate(*bps)),
        ),
        What::StackStats {
            peer,
            rtt,
            inbound,
            outbound,
            ..
        } => {
            let lost: i64 = inbound.iter().map(|stream| stream.packets_lost).sum();
            let nacks: u32 = outbound.iter().map(|stream| stream.nack_count).sum();
            let rtt = rtt.map_or_else(|| "no RTT yet".to_owned(), |rtt| format!("RTT {}", span(rtt)));
            plain(
                Kind::Media,
                format!(
                    "{peer}'s stack: {rtt}; {} inbound streams, {lost} lost; {} outbound, {nacks} NACKs",
                    inbound.len(),
                    outbound.len()
                ),
            )
        }
        What::CrossTraffic {
            flow,
            sent_bytes,
            received_bytes,
        } => plain(
            Kind::Network,
            format!("cross traffic {flow}: {sent_bytes} B sent, {received_bytes} B arrived in 100 ms"),
        ),
        What::MediaSent { stream, seq, .. } => plain(Kind::Media, format!("{stream} #{seq} sent")),
        What::MediaReceived { stream, seq, .. } => plain(Kind::Media, format!("{stream} #{seq} received")),
    }
}

/// An instant of the call: `4.200 s`.
pub(super) fn seconds(at: Duration) -> String {
    format!("{:.3} s", at.as_secs_f64())
}

/// A length of time as a person says it: `520 ms`, `12.3 ms`, `1.24 s`.
pub(super) fn span(time: Duration) -> String {
    let ms = time.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{} s", trimmed(ms / 1000.0, 2))
    } else {
        format!("{} ms", trimmed(ms, 1))
    }
}

/// `value` with at most `decimals` decimals and no trailing zeros: `2`, `0.5`, `12.3`.
pub(super) fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn rate(bps: u64) -> String {
    match bps {
        0..1_000 => format!("{bps} bit/s"),
        1_000..1_000_000 => format!("{} kbit/s", trimmed(bps as f64 / 1e3, 1)),
        _ => format!("{} Mbit/s", trimmed(bps as f64 / 1e6, 2)),
    }
}

/// One direction of a link in a few words: `25 ms · 2% random loss · 1 Mbit/s, queue 100 ms`.
fn link(config: &LinkConfig) -> String {
    let mut parts = Vec::new();
    if !config.up {
        parts.push("down".to_owned());
    }
    if !config.delay.is_zero() {
        parts.push(span(config.delay));
    }
    if !config.jitter.is_zero() {
        let reorder = if config.reorder { ", reordering" } else { "" };
        parts.push(format!("jitter {}{reorder}", span(config.jitter)));
    }
    match config.loss {
        Loss::None => {}
        Loss::Random(share) => parts.push(format!("{} random loss", Ratio(share).show())),
        Loss::Bursty { loss, mean_burst } => parts.push(format!(
            "{} loss in bursts of {}",
            Ratio(loss).show(),
            trimmed(mean_burst, 1)
        )),
    }
    let bottleneck = match (&config.trace, config.rate_bps) {
        (Some(trace), _) => Some(format!("recorded link, mean {}", rate(trace.mean_rate_bps()))),
        (None, Some(bps)) => Some(rate(bps)),
        (None, None) => None,
    };
    if let Some(bottleneck) = bottleneck {
        let queue = match config.queue {
            QueueLimit::Bytes(bytes) => format!("{bytes} B"),
            QueueLimit::Packets(packets) => format!("{packets} packets"),
            QueueLimit::Time(time) => span(time),
        };
        parts.push(format!("{bottleneck}, queue {queue}"));
    }
    if config.duplicate > 0.0 {
        parts.push(format!("{} duplicated", Ratio(config.duplicate).show()));
    }
    if config.mtu != LinkConfig::default().mtu {
        parts.push(format!("MTU {} B", config.mtu));
    }
    if parts.is_empty() {
        "ideal".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// A NAT by its common name when it has one.
fn nat(config: &NatConfig) -> String {
    NatConfig::SHORTHANDS
        .into_iter()
        .find(|name| {
            NatConfig::from_shorthand(name)
                .is_some_and(|known| known.mapping == config.mapping && known.filtering == config.filtering)
        })
        .map_or_else(
            || format!("{:?} mapping, {:?} filtering", config.mapping, config.filtering),
            str::to_owned,
        )
}

/// `text` safe inside HTML and SVG, in text and in quoted attributes.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// What the plot's colours and lines mean.
const LEGEND: &str = concat!(
    r#"<p class="legend">"#,
    r#"<span><span class="swatch audio"></span>audio</span> <span><span class="swatch video"></span>video</span> "#,
    r#"<span><span class="swatch data"></span>data: received bitrate per 100 ms</span> "#,
    r#"<span><span class="swatch sent"></span>sent bitrate</span> "#,
    r#"<span><span class="swatch target"></span>congestion-control target</span> "#,
    r#"<span><span class="swatch capacity"></span>sender's uplink capacity</span> "#,
    r#"<span><span class="swatch cross"></span>cross traffic arrived</span> "#,
    r#"<span><span class="swatch drops"></span>datagrams the network dropped</span> "#,
    r#"<span><span class="swatch after"></span>after the call: draining, hanging up</span><br>"#,
    r#"Markers: <span><span class="dot network"></span>network event</span> <span><span class="dot ice"></span>ICE state</span> "#,
    r#"<span><span class="dot connection"></span>peer connection (PC) state</span> "#,
    r#"<span><span class="dot restart"></span>ICE restart</span> <span><span class="dot error"></span>error</span> "#,
    r#"· hover over a marker for the whole event.</p>"#
);

pub(super) const STYLE: &str = "
:root { --pass: #15803d; --fail: #b91c1c; --muted: #6b7280; --rule: #e5e7eb; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #111827; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 0; }
.story { max-width: 90ch; }
.error { color: var(--fail); font-weight: 600; }
.badge { font-size: 13px; font-weight: 600; padding: 2px 10px; border-radius: 11px; color: #fff; vertical-align: middle; }
.badge.pass { background: var(--pass); }
.badge.fail { background: var(--fail); }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.pass .mark { color: var(--pass); font-weight: 700; }
tr.fail td { background: #fef2f2; }
tr.fail .mark { color: var(--fail); font-weight: 700; }
details summary { cursor: pointer; color: #374151; }
.legend { color: #374151; font-size: 13px; margin: 4px 0; }
.legend > span { white-space: nowrap; margin-right: 8px; }
.swatch { display: inline-block; width: 14px; height: 10px; margin: 0 4px 0 6px; border: 1px solid; }
.swatch.sent { height: 0; border-width: 1px 0 0; border-color: #111827; }
.swatch.after { background: #f3f4f6; border-color: #d1d5db; }
.swatch.target { height: 0; border-width: 2px 0 0; border-style: dashed; border-color: #7c3aed; }
.swatch.capacity { height: 0; border-width: 2px 0 0; border-style: solid; border-color: #dc2626; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin: 0 5px 0 6px; background: #9ca3af; }
.chart { width: 100%; height: auto; display: block; margin-top: 6px; }
.chart text { font-size: 11px; fill: #374151; }
.chart .lane { fill: #f9fafb; stroke: #e5e7eb; }
.chart .lane-title { font-size: 12px; font-weight: 600; fill: #111827; }
.chart .note, .chart .tick { fill: var(--muted); }
.chart .grid { stroke: #e5e7eb; }
.chart .after { fill: #f3f4f6; }
.chart .sent { fill: none; stroke: #111827; stroke-width: 0.8; stroke-opacity: 0.6; }
.chart .received { stroke-width: 1; }
.chart .target { fill: none; stroke: #7c3aed; stroke-width: 1.4; stroke-dasharray: 5 3; }
.chart .capacity { fill: none; stroke: #dc2626; stroke-width: 1.2; }
.cross { fill: #e5e7eb; stroke: #6b7280; background: #e5e7eb; border-color: #6b7280; }
.audio { fill: #a7dcc9; stroke: #1b9e77; background: #a7dcc9; border-color: #1b9e77; }
.video { fill: #b4c9f2; stroke: #3b6fd6; background: #b4c9f2; border-color: #3b6fd6; }
.data { fill: #f5d699; stroke: #c58a00; background: #f5d699; border-color: #c58a00; }
.drops, .chart .drops { fill: #fca5a5; stroke: #dc2626; stroke-width: 0.8; background: #fca5a5; border-color: #dc2626; }
.marker line { stroke-width: 1; stroke-dasharray: 3 2; }
.marker.network line { stroke-dasharray: none; stroke-width: 1.5; }
.network { stroke: #dc2626; background: #dc2626; } .marker.network text { fill: #b91c1c; }
.ice { stroke: #2563eb; background: #2563eb; } .marker.ice text { fill: #1d4ed8; }
.connection { stroke: #7c3aed; background: #7c3aed; } .marker.connection text { fill: #6d28d9; }
.restart { stroke: #059669; background: #059669; } .marker.restart text { fill: #047857; }
.error { stroke: #9f1239; } .dot.error { background: #9f1239; } .marker.error text { fill: #9f1239; }
.dot.server { background: #0d9488; } .dot.signaling { background: #6b7280; }
";
