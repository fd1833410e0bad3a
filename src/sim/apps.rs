//! The apps a scenario file may name: `app = "my-client"` in a peer's table picks one
//! registered here, with the timeline commands it takes. A file is checked against the
//! registry it is read with, so a name or a command an app does not know is refused at
//! `check`, at its place in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use super::{App, AppFuture, Context};
use crate::timeline::Action;

/// Apps by name, each a factory that makes a peer's future from its context, once per peer
/// per run. Cloning is cheap: the factories are shared.
///
/// ```
/// use webrtc_netsim::sim::{Apps, CommandKind};
///
/// let apps = Apps::new()
///     .app("my-client", |ctx| async move { drop(ctx) })
///     .takes(&[CommandKind::RestartIce, CommandKind::Close]);
/// assert!(apps.get("my-client").is_some());
/// ```
#[derive(Clone, Default)]
pub struct Apps {
    apps: BTreeMap<String, Registered>,
    /// The app `takes` applies to: the last one registered.
    last: Option<String>,
}

/// A registered app: how to make it, and which commands it handles.
#[derive(Clone)]
pub struct Registered {
    factory: Arc<dyn Fn(Context) -> AppFuture + Send + Sync>,
    takes: BTreeSet<CommandKind>,
}

impl Apps {
    /// No app: a file may then only run the built-in one (what `netsim` itself knows).
    pub const NONE: Apps = Apps {
        apps: BTreeMap::new(),
        last: None,
    };

    pub fn new() -> Self {
        Apps::default()
    }

    /// Registers `factory` as the app `name`, taking no command until [`Apps::takes`] says
    /// which; a name registered again is replaced.
    pub fn app<F, Fut>(mut self, name: &str, factory: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let registered = Registered {
            factory: Arc::new(move |context| Box::pin(factory(context))),
            takes: BTreeSet::new(),
        };
        self.apps.insert(name.to_owned(), registered);
        self.last = Some(name.to_owned());
        self
    }

    /// The timeline commands the app registered last handles: a file sending it any other
    /// is refused.
    ///
    /// # Panics
    /// Before any [`Apps::app`]: there is no app to say it of.
    pub fn takes(mut self, commands: &[CommandKind]) -> Self {
        let name = self
            .last
            .as_ref()
            .expect("`takes` follows the `app` it describes");
        let registered = self.apps.get_mut(name).expect("the last app is registered");
        registered.takes.extend(commands.iter().copied());
        self
    }

    /// The app registered as `name`.
    pub fn get(&self, name: &str) -> Option<&Registered> {
        self.apps.get(name)
    }

    /// The registered names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.apps.keys().map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }
}

impl Registered {
    /// Whether the app handles `command`.
    pub fn takes(&self, command: CommandKind) -> bool {
        self.takes.contains(&command)
    }

    /// The commands it handles, in order.
    pub fn commands(&self) -> Vec<CommandKind> {
        self.takes.iter().copied().collect()
    }

    /// A peer's app, made by the factory.
    pub(crate) fn make(&self) -> App {
        let factory = self.factory.clone();
        Box::new(move |context| factory(context))
    }
}

/// The kinds of [`super::Command`], as an app declares what it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommandKind {
    RestartIce,
    SetIceServers,
    PauseMedia,
    Close,
}

impl CommandKind {
    /// The command a timeline action sends an app, if it sends one.
    pub fn of(action: &Action) -> Option<CommandKind> {
        match action {
            Action::RestartIce { .. } => Some(CommandKind::RestartIce),
            Action::SetIceServers { .. } => Some(CommandKind::SetIceServers),
            Action::PauseMedia { .. } => Some(CommandKind::PauseMedia),
            Action::Close { .. } => Some(CommandKind::Close),
            _ => None,
        }
    }

    /// Its name in scenario files' timelines: `restart_ice`.
    pub fn name(self) -> &'static str {
        match self {
            CommandKind::RestartIce => "restart_ice",
            CommandKind::SetIceServers => "set_ice_servers",
            CommandKind::PauseMedia => "pause_media",
            CommandKind::Close => "close",
        }
    }
}
