//! Offer → both `connected`, per network profile, direct and through TURN: criterion times
//! the wall cost of a run (build both peers, negotiate, connect, hang up); the virtual
//! `connect_time` each profile yields is printed beside it.

mod common;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use webrtc_netsim::MediaKind;

fn negotiation(c: &mut Criterion) {
    let mut group = c.benchmark_group("negotiation");
    for (profile, one_way_ms) in common::PROFILES {
        for turn in [false, true] {
            let name = format!("{profile}/{}", if turn { "turn" } else { "direct" });
            // Long enough to connect on every profile (relay pairs take ~4 s of virtual time);
            // the data channel then idles at 10 messages/s.
            let scenario = common::call(one_way_ms, turn, &[MediaKind::Data], Duration::from_secs(6));
            let mut connect_times = Vec::new();
            group.bench_function(&name, |b| {
                b.iter_custom(|iterations| {
                    common::run_timed(&scenario, iterations, |run| {
                        connect_times.extend(run.metrics.connect_time)
                    })
                })
            });
            println!(
                "negotiation/{name}: virtual connect_time median {:?}",
                common::median(connect_times)
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = negotiation
}
criterion_main!(benches);
