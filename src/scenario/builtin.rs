//! The built-in app's call: a scenario's caller and callee, each a [`Peer`] with its
//! synthetic media and policies, on a world of their own.

use std::time::Instant;

use super::{PeerSpec, Scenario};
use crate::net::{Network, sub_seed};
use crate::peer::{MediaPlan, PeerSetup, Role};
use crate::runtime::entropy;
use crate::servers::rtc_ice_servers;
use crate::world::{CLOSING_GRACE, DRAIN, Run, RunError, World};

/// Runs `scenario` to its end: on the virtual clock, on a thread of its own whose OS
/// randomness comes from the seed (see [`crate::runtime::entropy`]).
pub(super) fn run(scenario: &Scenario) -> Result<Run, RunError> {
    // Built on the caller's thread, so it joins the caller's `capturing` scope.
    let network = Network::new(scenario.world.core.clone(), sub_seed(scenario.world.seed, 1));
    if scenario.world.realtime {
        return run_on(scenario, network);
    }
    entropy::run_seeded(sub_seed(scenario.world.seed, 3), || run_on(scenario, network))
}

fn run_on(scenario: &Scenario, network: Network) -> Result<Run, RunError> {
    let started = Instant::now();
    let [caller, callee] = call_parties(scenario)?;
    let config = scenario.world.clone();
    let world = World::start(&config, network)?;
    let setups: Vec<PeerSetup> = [(caller, callee), (callee, caller)]
        .into_iter()
        .enumerate()
        .map(|(index, (spec, remote))| PeerSetup {
            name: spec.name.clone(),
            remote: remote.name.clone(),
            role: spec.role,
            media: MediaPlan {
                until: scenario.world.duration,
                ..spec.media.clone()
            },
            policy: spec.policy,
            address: world.attach(
                &spec.name,
                spec.nat.clone(),
                spec.uplink.clone(),
                spec.downlink.clone(),
            ),
            ice_servers: rtc_ice_servers(&spec.ice_servers),
            relay_only: spec.relay_only,
            seed: sub_seed(scenario.world.seed, 100 + index as u64),
        })
        .collect();
    let call = world
        .clone()
        .play(setups, scenario.timeline.clone(), scenario.world.duration);
    world.finish(
        &config,
        call,
        scenario.world.duration + DRAIN + CLOSING_GRACE,
        started,
    )
}

/// The caller and the callee, or why the scenario is not a call.
fn call_parties(scenario: &Scenario) -> Result<[&PeerSpec; 2], RunError> {
    let invalid = |message: &str| RunError::Invalid {
        scenario: scenario.world.name.clone(),
        message: message.to_owned(),
    };
    let caller = scenario
        .peers
        .iter()
        .find(|p| p.role == Role::Caller)
        .ok_or_else(|| invalid("no caller"))?;
    let callee = scenario
        .peers
        .iter()
        .find(|p| p.role == Role::Callee)
        .ok_or_else(|| invalid("no callee"))?;
    if scenario.peers.len() != 2 {
        return Err(invalid("a call has exactly two peers, one caller and one callee"));
    }
    if let Some(peer) = scenario.peers.iter().find(|p| p.app.is_some()) {
        return Err(invalid(&format!(
            "`{}` runs a registered app: play it with `Scenario::run_with` and the apps",
            peer.name
        )));
    }
    for timed in &scenario.timeline {
        if let Some(peer) = timed.action.peer()
            && !scenario.peers.iter().any(|p| p.name == peer)
        {
            return Err(invalid(&format!(
                "the timeline names `{peer}`, who is not in the call"
            )));
        }
    }
    Ok([caller, callee])
}
