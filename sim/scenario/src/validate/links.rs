//! Link settings: ranges, and defaults applied.

use super::{Checker, probability};
use crate::model::{LinkSpec, LossModel};
use crate::path::YamlPath;
use crate::scenario::Link;

/// Smallest and largest MTU (RFC 791 minimum; jumbo frames).
const MTU: (u16, u16) = (68, 9000);

/// Checks `topology.defaults.link` and returns the defaults every link starts from.
pub(crate) fn defaults(c: &mut Checker<'_>) -> Link {
    let path = YamlPath::root().key("topology").key("defaults").key("link");
    match c
        .file
        .topology
        .defaults
        .as_ref()
        .and_then(|d| d.link.as_ref())
    {
        Some(spec) => {
            check(c, &path, spec);
            Link::default().patched(spec)
        }
        None => Link::default(),
    }
}

/// Checks a written link (ranges only; unset fields keep their defaults).
pub(crate) fn check(c: &mut Checker<'_>, path: &YamlPath, spec: &LinkSpec) {
    if let Some(p) = spec.duplicate {
        probability(c, &path.key("duplicate"), p.0);
    }
    if let Some(r) = &spec.reorder {
        let at = path.key("reorder");
        probability(c, &at.key("probability"), r.probability.0);
        if r.delay.get().is_zero() {
            c.error(&at.key("delay"), "reorder `delay` must be longer than 0s");
        }
    }
    if let Some(mtu) = spec.mtu
        && !(MTU.0..=MTU.1).contains(&mtu)
    {
        c.error(
            &path.key("mtu"),
            format!("mtu {mtu} is out of range, expected {} to {}", MTU.0, MTU.1),
        );
    }
    if let Some(loss) = &spec.loss {
        loss_model(c, &path.key("loss"), loss);
    }
}

/// Checks a loss model's probabilities.
fn loss_model(c: &mut Checker<'_>, path: &YamlPath, loss: &LossModel) {
    match loss {
        LossModel::Bernoulli(p) => probability(c, &path.key("bernoulli"), p.0),
        LossModel::GilbertElliott(g) => {
            let at = path.key("gilbert_elliott");
            probability(c, &at.key("to_bad"), g.to_bad.0);
            probability(c, &at.key("to_good"), g.to_good.0);
            if let Some(p) = g.loss_bad {
                probability(c, &at.key("loss_bad"), p.0);
            }
            if let Some(p) = g.loss_good {
                probability(c, &at.key("loss_good"), p.0);
            }
            if g.to_good.0 == 0.0 && g.to_bad.0 > 0.0 {
                c.warning(
                    &at.key("to_good"),
                    "`to_good` is 0: once in the bad state the link never recovers",
                    "set `to_good` above 0 for bursts that end",
                );
            }
        }
    }
}
