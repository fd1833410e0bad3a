//! Harness speed: how many virtual seconds a wall second simulates for a standard call (a
//! 60 s two-peer audio + video + data call on a 20 ms link), and how that scales with 1, 10
//! and 100 pairs running at once in one process — speed factor, and peak RSS per pair
//! measured in a fresh child process so no earlier benchmark inflates it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use webrtc_netsim::scenario::{CongestionControl, Processing};
use webrtc_netsim::{MediaKind, Scenario};

const ALL_MEDIA: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Video, MediaKind::Data];
/// Set in a child process: run this many pairs once and print the peak RSS.
const CHILD_PAIRS: &str = "NETSIM_BENCH_CHILD_PAIRS";
/// The length of each call in the pairs benchmark.
const PAIR_CALL: Duration = Duration::from_secs(10);

/// The standard call's length.
const CALL: Duration = Duration::from_secs(60);

fn standard_call(c: &mut Criterion) {
    timed_call(c, "speed/60s_call", common::call(20, false, &ALL_MEDIA, CALL));
}

/// The standard call with the processing-time model on (issue 14 wants it ≥ 270×).
fn call_with_processing(c: &mut Criterion) {
    let scenario = common::call(20, false, &ALL_MEDIA, CALL).processing(Processing::Measured);
    timed_call(c, "speed/60s_call_processing", scenario);
}

/// The standard call with webrtc-rs's GCC on both senders, the video following its target.
fn call_with_congestion_control(c: &mut Criterion) {
    let mut scenario = common::call(20, false, &ALL_MEDIA, CALL);
    for peer in &mut scenario.peers {
        peer.media.congestion_control = Some(CongestionControl::default());
    }
    timed_call(c, "speed/60s_call_gcc", scenario);
}

/// Benchmarks `scenario` as `name` and prints its speed factor from the median run.
fn timed_call(c: &mut Criterion, name: &str, scenario: Scenario) {
    let mut walls = Vec::new();
    c.bench_function(name, |b| {
        b.iter_custom(|iterations| common::run_timed(&scenario, iterations, |run| walls.push(run.wall_time)))
    });
    if let Some(median) = common::median(walls) {
        println!(
            "{name}: {:.0}x real time (median {median:?} wall)",
            scenario.world.duration.as_secs_f64() / median.as_secs_f64()
        );
    }
}

/// Runs `pairs` calls at once, each on its own thread.
fn run_pairs(scenario: &Scenario, pairs: usize) {
    std::thread::scope(|scope| {
        for _ in 0..pairs {
            scope.spawn(|| scenario.run().expect("the call runs"));
        }
    });
}

fn concurrent_pairs(c: &mut Criterion) {
    let scenario = common::call(20, false, &ALL_MEDIA, PAIR_CALL);
    let mut group = c.benchmark_group("speed/pairs");
    group.sample_size(10);
    let baseline = child_peak_rss(0);
    for pairs in [1usize, 10, 100] {
        let mut walls = Vec::new();
        group.bench_function(pairs.to_string(), |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    let round = Instant::now();
                    run_pairs(&scenario, pairs);
                    walls.push(round.elapsed());
                }
                started.elapsed()
            })
        });
        let rss = match (child_peak_rss(pairs), baseline) {
            (Some(peak), Some(base)) => {
                format!("{:.1} MB", peak.saturating_sub(base) as f64 / 1e6 / pairs as f64)
            }
            _ => "unknown".to_owned(),
        };
        if let Some(median) = common::median(walls) {
            let per_pair = PAIR_CALL.as_secs_f64() / median.as_secs_f64();
            println!(
                "speed/pairs/{pairs}: {per_pair:.1}x real time per pair ({:.0} call-seconds per wall second in all); peak RSS {rss} per pair",
                per_pair * pairs as f64
            );
        }
    }
    group.finish();
}

/// The peak RSS of a fresh copy of this benchmark that runs `pairs` pairs once.
fn child_peak_rss(pairs: usize) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe)
        .env(CHILD_PAIRS, pairs.to_string())
        .output()
        .ok()?;
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// The process's peak resident set size so far (Linux `VmHWM`), in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = standard_call, call_with_processing, call_with_congestion_control, concurrent_pairs
}

fn main() {
    if let Ok(pairs) = std::env::var(CHILD_PAIRS) {
        let pairs: usize = pairs.parse().expect("a number of pairs");
        run_pairs(&common::call(20, false, &ALL_MEDIA, PAIR_CALL), pairs);
        println!("{}", peak_rss_bytes().unwrap_or_default());
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
