//! The AAE web service and the `aae-app` in the world: their commands.

use super::SimNode;
use sim_aae_web::{Answer, BindOptions, WebPolicy};
use sim_core::SimInstant;

/// Which side of a binding an `aae-app` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindSide {
    /// App steps, then the firmware login.
    Both,
    /// Only the app steps (the handover is kept).
    App,
    /// Only the firmware login with the last handover.
    Firmware,
}

/// A timeline command for an `aae-web` server or an `aae-app`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebAction {
    /// `aae-app`: a binding.
    Bind {
        /// How.
        options: BindOptions,
        /// Which side.
        side: BindSide,
    },
    /// `aae-web`: a new policy, and whether every ticket expires now.
    Policy {
        /// The policy from now on (`None`: unchanged).
        policy: Option<WebPolicy>,
        /// Expire every ticket issued so far.
        expire_tickets: bool,
    },
}

/// Applies a web command to the node it names.
pub(crate) fn apply(node: &mut SimNode, now: SimInstant, action: WebAction) {
    match (node, action) {
        (SimNode::AaeApp(app), WebAction::Bind { options, side }) => match side {
            BindSide::Both => app.bind(now, options),
            BindSide::App => app.app_bind(now, options),
            BindSide::Firmware => app.firmware_login(now, options.router_md5mac),
        },
        (
            SimNode::AaeWeb(server),
            WebAction::Policy {
                policy,
                expire_tickets,
            },
        ) => {
            if let Some(p) = policy {
                server.set_policy(now, p);
            }
            if expire_tickets {
                server.expire_tickets(now);
            }
        }
        _ => {}
    }
}

/// How the server answers under a scenario's policy switches.
pub(crate) const fn answer_of(
    drop: bool,
    respond: Option<u16>,
    reset: bool,
    truncate: bool,
) -> Answer {
    if drop {
        Answer::Silent
    } else if reset {
        Answer::Reset
    } else if truncate {
        Answer::TruncateHead
    } else if let Some(code) = respond {
        Answer::Status(code)
    } else {
        Answer::Normal
    }
}
