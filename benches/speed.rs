//! Harness speed: how many virtual seconds a wall second simulates for a standard call (a
//! 60 s two-peer audio + video + data call on a 20 ms link), and how that scales with 1, 10
//! and 100 pairs running at once in one process (speed factor and peak RSS per pair).

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use webrtc_netsim::MediaKind;

const ALL_MEDIA: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Video, MediaKind::Data];

fn standard_call(c: &mut Criterion) {
    let call = Duration::from_secs(60);
    let scenario = common::call(20, false, &ALL_MEDIA, call);
    let mut walls = Vec::new();
    c.bench_function("speed/60s_call", |b| {
        b.iter_custom(|iterations| {
            let (wall, runs) = common::run_timed(&scenario, iterations);
            walls.extend(runs.iter().map(|run| run.wall_time));
            wall
        })
    });
    if let Some(median) = common::median(walls) {
        println!(
            "speed/60s_call: {:.0}x real time (median {median:?} wall)",
            call.as_secs_f64() / median.as_secs_f64()
        );
    }
}

/// `pairs` calls of `call` each, all running at once on their own threads.
fn concurrent_pairs(c: &mut Criterion) {
    let call = Duration::from_secs(10);
    let mut group = c.benchmark_group("speed/pairs");
    group.sample_size(10);
    for pairs in [1usize, 10, 100] {
        let scenario = common::call(20, false, &ALL_MEDIA, call);
        let mut walls = Vec::new();
        group.bench_function(pairs.to_string(), |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    let round = Instant::now();
                    std::thread::scope(|scope| {
                        for _ in 0..pairs {
                            scope.spawn(|| scenario.run().expect("the call runs"));
                        }
                    });
                    walls.push(round.elapsed());
                }
                started.elapsed()
            })
        });
        if let Some(median) = common::median(walls) {
            let speed = call.as_secs_f64() * pairs as f64 / median.as_secs_f64();
            let rss = common::peak_rss_bytes().map_or("?".into(), |bytes| {
                format!("{:.1} MB", bytes as f64 / 1e6 / pairs as f64)
            });
            println!(
                "speed/pairs/{pairs}: {speed:.0} virtual call-seconds per wall second in all, {:.1}x real time per pair; peak RSS per pair ≤ {rss}",
                speed / pairs as f64
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = standard_call, concurrent_pairs
}
criterion_main!(benches);
