//! `restart_ice()` → both connected again under new credentials, per network profile,
//! direct and through TURN. The wall cost of the whole run is timed; the virtual
//! `restart_time` is printed beside it.

mod common;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use webrtc_netsim::{Action, MediaKind};

/// The restart happens here, well after the call connected on every profile (relay pairs
/// take ~4 s of virtual time to connect).
const RESTART_AT: Duration = Duration::from_secs(6);
/// Time after the restart for it to complete on every profile.
const AFTER_RESTART: Duration = Duration::from_secs(6);

fn ice_restart(c: &mut Criterion) {
    let mut group = c.benchmark_group("ice_restart");
    for (profile, one_way_ms) in common::PROFILES {
        for turn in [false, true] {
            let name = format!("{profile}/{}", if turn { "turn" } else { "direct" });
            let scenario = common::call(one_way_ms, turn, &[MediaKind::Audio], RESTART_AT + AFTER_RESTART)
                .at(RESTART_AT, Action::RestartIce { peer: "alice".into() });
            let mut restart_times = Vec::new();
            group.bench_function(&name, |b| {
                b.iter_custom(|iterations| {
                    common::run_timed(&scenario, iterations, |run| {
                        restart_times.extend(
                            run.metrics
                                .restarts
                                .iter()
                                .filter_map(|restart| restart.restart_time),
                        )
                    })
                })
            });
            println!(
                "ice_restart/{name}: virtual restart_time median {:?}",
                common::median(restart_times)
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = ice_restart
}
criterion_main!(benches);
