//! `netsim`: runs calls between real webrtc-rs peers over the simulated network.
//!
//! Scenario files (`netsim run scenarios/`) are being built; today `netsim demo` plays the
//! bundled clean call (Alice calls Bob, 50 ms one-way, audio + video + data, 10 s).

use std::process::ExitCode;
use std::time::Duration;

use webrtc_netsim::{LinkConfig, PeerSpec, Scenario};

const USAGE: &str = "usage: netsim demo [--seed N]\n\n  demo   play the bundled clean call (50 ms one-way, 10 s) and print its metrics";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = match args.as_slice() {
        [command] if command == "demo" => 1,
        [command, flag, seed] if command == "demo" && flag == "--seed" => match seed.parse() {
            Ok(seed) => seed,
            Err(_) => return usage_error(&format!("--seed takes a whole number, not `{seed}`")),
        },
        _ => return usage_error("expected `demo`"),
    };

    let link = LinkConfig {
        delay: Duration::from_millis(25),
        ..LinkConfig::default()
    };
    let scenario = Scenario::new("clean call")
        .seed(seed)
        .duration(Duration::from_secs(10))
        .peer(PeerSpec::caller("alice").link(link.clone()))
        .peer(PeerSpec::callee("bob").link(link));
    let run = match scenario.run() {
        Ok(run) => run,
        Err(error) => {
            eprintln!("netsim: {error}");
            return ExitCode::FAILURE;
        }
    };

    println!(
        "scenario `{}` (seed {seed}): 10 s virtual in {:?} wall",
        scenario.name, run.wall_time
    );
    match run.metrics.connect_time {
        Some(connect) => println!("connect_time {connect:?}"),
        None => println!("connect_time: never connected"),
    }
    println!(
        "{:<20} {:>6} {:>9} {:>10} {:>10} {:>9} {:>8}",
        "stream", "sent", "delivered", "delay p50", "delay p95", "max gap", "freezes"
    );
    for (stream, m) in &run.metrics.streams {
        let (p50, p95) = m.one_way_delay.map_or(("-".into(), "-".into()), |d| {
            (format!("{:?}", d.p50), format!("{:?}", d.p95))
        });
        println!(
            "{stream:<20} {:>6} {:>8.1}% {p50:>10} {p95:>10} {:>9?} {:>8}",
            m.sent,
            m.delivered * 100.0,
            m.media_gap,
            m.freezes
        );
    }
    ExitCode::SUCCESS
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("netsim: {message}\n\n{USAGE}");
    ExitCode::from(2)
}
