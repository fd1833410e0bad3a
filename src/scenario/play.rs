//! A scenario played as a [`Sim`]: the scenario's world, each peer a host running the
//! built-in app or the registered app it names, the caller and callee in one signaling
//! session, the timeline.

use super::{PeerSpec, Scenario};
use crate::net::sub_seed;
use crate::peer::{self, CLOSING_GRACE, DRAIN, MediaPlan, PeerSetup};
use crate::sim::{Apps, Host, Sim};
use crate::world::{Run, RunError};

/// Plays `scenario` to its end, each peer running the app of `apps` it names, or the
/// built-in one. A call of built-in apps only ends when they have hung up, after their
/// drain; one with a registered app ends at the scenario's end, as registered apps are
/// not asked to hang up.
pub(super) fn run(scenario: &Scenario, apps: &Apps) -> Result<Run, RunError> {
    // The built-in app calls no tokio, so a world of built-in apps only runs without it.
    run_tokio_if(scenario, apps, !built_in_only(scenario))
}

/// Whether every peer of `scenario` runs the built-in app.
fn built_in_only(scenario: &Scenario) -> bool {
    scenario.peers.iter().all(|peer| peer.app.is_none())
}

/// [`run`], with tokio beside the world if `apps_call_tokio`.
fn run_tokio_if(scenario: &Scenario, apps: &Apps, apps_call_tokio: bool) -> Result<Run, RunError> {
    let calls = scenario
        .calls()
        .map_err(|error| invalid(scenario, error.to_string()))?;
    let mut world = scenario.world.clone();
    world.apps_call_tokio = apps_call_tokio;
    let mut sim = Sim::new(world);
    for (index, peer) in scenario.peers.iter().enumerate() {
        let mut host = Host::new().ice_servers(peer.ice_servers.clone());
        match &peer.network_of {
            Some(owner) => host = host.on_network_of(owner),
            None => {
                host = host.uplink(peer.uplink.clone()).downlink(peer.downlink.clone());
                if let Some(nat) = &peer.nat {
                    host = host.nat(nat.clone());
                }
                if let Some(firewall) = &peer.firewall {
                    host = host.firewall(firewall.clone());
                }
            }
        }
        match &peer.app {
            Some(name) => {
                let app = apps.get(name).ok_or_else(|| {
                    invalid(
                        scenario,
                        format!("`{}` runs the app `{name}`, which is not registered", peer.name),
                    )
                })?;
                sim.peer(&peer.name, host, app.make());
            }
            None => {
                let remote = calls
                    .iter()
                    .find_map(|(caller, callee)| match peer.name.as_str() {
                        name if name == caller.name => Some(*callee),
                        name if name == callee.name => Some(*caller),
                        _ => None,
                    })
                    .ok_or_else(|| invalid(scenario, format!("`{}` is in no call", peer.name)))?;
                let setup = built_in(scenario, peer, remote, index);
                sim.peer(&peer.name, host, move |context| peer::run(context, setup));
            }
        }
    }
    for (caller, callee) in &calls {
        sim.call(&caller.name, &callee.name);
    }
    for timed in &scenario.timeline {
        sim.at(timed.at, timed.action.clone());
    }
    if built_in_only(scenario) {
        sim.run_until_apps_return(scenario.world.duration, DRAIN + CLOSING_GRACE)
    } else {
        sim.run_for(scenario.world.duration)
    }
}

/// What the built-in app of `peer` (the `index`th) does in `scenario`, calling `remote`.
fn built_in(scenario: &Scenario, peer: &PeerSpec, remote: &PeerSpec, index: usize) -> PeerSetup {
    PeerSetup {
        remote: remote.name.clone(),
        media: MediaPlan {
            until: scenario.world.duration,
            ..peer.media.clone()
        },
        policy: peer.policy,
        relay_only: peer.relay_only,
        ice_tcp: peer.ice_tcp,
        seed: sub_seed(scenario.world.seed, 100 + index as u64),
    }
}

fn invalid(scenario: &Scenario, message: String) -> RunError {
    RunError::Invalid {
        scenario: scenario.world.name.clone(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::file;
    use crate::trace::What;

    /// A short call whose outcome hangs on webrtc-rs's `HashMap` orders: TURN permissions
    /// and relayed checks behind a symmetric NAT, on a lossy, jittery link.
    const CALL: &str = r#"
        name = "tokio or not"
        duration = "6s"
        [core]
        delay = "20ms"
        [servers]
        stun = true
        turn = { user = "qa", password = "secret" }
        [peers.alice]
        role = "caller"
        media = ["audio", "video", "data"]
        link = { delay = "10ms", jitter = "5ms", loss = "3%" }
        nat = "symmetric"
        ice_servers = ["stun", "turn"]
        [peers.bob]
        role = "callee"
        media = ["audio", "video", "data"]
        link = { delay = "10ms" }
        nat = "port-restricted-cone"
        ice_servers = ["stun", "turn"]
    "#;

    #[test]
    fn a_world_of_built_in_peers_plays_the_same_with_tokio_beside_as_without() {
        let scenario = file::parse(Path::new("tokio-or-not.toml"), CALL)
            .expect("the scenario parses")
            .scenario;
        let run =
            |apps_call_tokio| run_tokio_if(&scenario, &Apps::new(), apps_call_tokio).expect("the call runs");
        let (with, without) = (run(true), run(false));
        let relayed = with.trace.iter().any(
            |event| matches!(&event.what, What::SelectedPair { local, .. } if local.starts_with("relay")),
        );
        assert!(relayed, "the call went through TURN");
        let serialized = |run: &Run| serde_json::to_string(&run.trace).expect("the trace serializes");
        assert!(
            serialized(&with) == serialized(&without),
            "the trace changed without tokio"
        );
    }
}
