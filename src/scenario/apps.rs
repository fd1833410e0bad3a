//! A scenario whose peers run registered apps, played as a [`Sim`]: the scenario's world,
//! peers and timeline in the sim's terms, the caller and callee in one signaling session.

use super::Scenario;
use crate::peer::Role;
use crate::sim::{Apps, Host, Sim};
use crate::world::RunError;

/// The sim `scenario` describes, each peer running the app of `apps` it names.
pub(super) fn sim(scenario: &Scenario, apps: &Apps) -> Result<Sim, RunError> {
    let invalid = |message: String| RunError::Invalid {
        scenario: scenario.world.name.clone(),
        message,
    };
    let mut sim = Sim::new(scenario.world.clone());
    for peer in &scenario.peers {
        let Some(name) = &peer.app else {
            return Err(invalid(format!(
                "`{}` runs the built-in app, which cannot share a call with a registered one yet",
                peer.name
            )));
        };
        let app = apps
            .get(name)
            .ok_or_else(|| {
                invalid(format!(
                    "`{}` runs the app `{name}`, which is not registered",
                    peer.name
                ))
            })?
            .make();
        let mut host = Host::new()
            .uplink(peer.uplink.clone())
            .downlink(peer.downlink.clone())
            .ice_servers(peer.ice_servers.clone());
        if let Some(nat) = &peer.nat {
            host = host.nat(nat.clone());
        }
        sim.peer(&peer.name, host, app);
    }
    let party = |role| scenario.peers.iter().find(|peer| peer.role == role);
    if let (Some(caller), Some(callee)) = (party(Role::Caller), party(Role::Callee)) {
        sim.call(&caller.name, &callee.name);
    }
    for timed in &scenario.timeline {
        sim.at(timed.at, timed.action.clone());
    }
    Ok(sim)
}
