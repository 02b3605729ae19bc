//! The softphone catalog: checked, then written as statics.

use super::emit::{Lit, Out, Raw, check_count, fail, st, variant};
use super::raw_api::{Callback, DefaultValue, Function, Param, PrackMode, SoftphoneFile};

const SOFTPHONE: &str = "softphone-api.yaml";

const FUNCTION_GROUPS: [(&str, &str); 8] = [
    ("setup", "Setup"),
    ("sdp", "Sdp"),
    ("settings", "Settings"),
    ("call", "Call"),
    ("refer", "Refer"),
    ("media-transport", "MediaTransport"),
    ("messaging", "Messaging"),
    ("presence", "Presence"),
];

pub(crate) fn softphone(out: &mut Out, f: &SoftphoneFile) {
    let fn_only = names_only(&f.functions_by_name_only);
    let cb_only = names_only(&f.callbacks_by_name_only);
    let (fc, cc) = (&f.function_count, &f.callback_count);
    check_count(
        SOFTPHONE,
        "functions",
        f.functions.len(),
        fc.listed_in_detail,
    );
    check_count(
        SOFTPHONE,
        "functions_by_name_only",
        fn_only.0.len(),
        fc.by_name_only,
    );
    check_count(
        SOFTPHONE,
        "functions in the manual",
        fc.listed_in_detail + fc.by_name_only,
        fc.total_in_manual,
    );
    check_count(
        SOFTPHONE,
        "callbacks",
        f.callbacks.len(),
        cc.listed_in_detail,
    );
    check_count(
        SOFTPHONE,
        "callbacks_by_name_only",
        cb_only.0.len(),
        cc.by_name_only,
    );
    check_count(
        SOFTPHONE,
        "callbacks in the manual",
        cc.listed_in_detail + cc.by_name_only,
        cc.total_in_manual,
    );
    for cb in &f.callbacks {
        if !f.callback_modules.contains(&cb.module) {
            fail(
                SOFTPHONE,
                format!("callback {} is in unlisted module {:?}", cb.name, cb.module),
            );
        }
    }
    for func in f.functions.iter().filter(|func| !func.modes.is_empty()) {
        if func.modes != f.prack_modes {
            fail(
                SOFTPHONE,
                format!("{}: modes differ from prack_modes", func.name),
            );
        }
    }
    out.array(
        "SOFTPHONE_CALLBACKS",
        "SoftphoneCallback",
        &f.callbacks.iter().map(callback_lit).collect::<Vec<_>>(),
    );
    out.array(
        "CALLBACK_MODULES",
        "&str",
        &f.callback_modules
            .iter()
            .map(|m| m.lit())
            .collect::<Vec<_>>(),
    );
    out.array(
        "SOFTPHONE_FUNCTIONS",
        "SoftphoneFunction",
        &f.functions.iter().map(function_lit).collect::<Vec<_>>(),
    );
    out.item(
        "FUNCTIONS_BY_NAME_ONLY",
        "NamesOnly",
        &names_only_lit(&fn_only),
    );
    out.item(
        "CALLBACKS_BY_NAME_ONLY",
        "NamesOnly",
        &names_only_lit(&cb_only),
    );
    out.array(
        "KEY_DEFAULTS",
        "KeyDefault",
        &f.key_defaults
            .0
            .iter()
            .map(|(k, v)| key_default_lit(k, v))
            .collect::<Vec<_>>(),
    );
    out.array(
        "PRACK_MODES",
        "PrackMode",
        &f.prack_modes
            .iter()
            .map(|m| prack_lit(m).0)
            .collect::<Vec<_>>(),
    );
    let g = &f.general;
    let general = st(
        "SoftphoneGeneral",
        &[
            ("return_convention", g.return_convention.lit()),
            ("thread_safety", g.thread_safety.lit()),
            ("architectures", g.architectures.lit()),
            ("trial_limitation", g.trial_limitation.lit()),
            ("p2p_test", g.p2p_test.lit()),
            ("project_setup", g.project_setup.lit()),
        ],
    );
    out.item("SOFTPHONE_GENERAL", "SoftphoneGeneral", &general);
}

/// `a, b, c (remark)` → ([a, b, c], Some(remark)).
fn names_only(list: &str) -> (Vec<String>, Option<String>) {
    let (names, remark) = match list.split_once(" (") {
        Some((names, rest)) => {
            let remark = rest
                .strip_suffix(')')
                .unwrap_or_else(|| fail(SOFTPHONE, format!("unclosed remark in {list:?}")));
            (names, Some(remark.to_owned()))
        }
        None => (list, None),
    };
    let names: Vec<String> = names.split(',').map(|n| n.trim().to_owned()).collect();
    if let Some(bad) = names
        .iter()
        .find(|n| n.is_empty() || n.contains(char::is_whitespace))
    {
        fail(SOFTPHONE, format!("{bad:?} is not a name in {list:?}"));
    }
    (names, remark)
}

fn names_only_lit((names, remark): &(Vec<String>, Option<String>)) -> String {
    st(
        "NamesOnly",
        &[("names", names.lit()), ("remark", remark.lit())],
    )
}

fn params_lit(params: &[Param]) -> String {
    let items: Vec<Raw> = params
        .iter()
        .map(|p| Raw(st("Param", &[("name", p.name.lit()), ("doc", p.doc.lit())])))
        .collect();
    items.lit()
}

fn prack_lit(m: &PrackMode) -> Raw {
    Raw(st(
        "PrackMode",
        &[
            ("mode", m.mode.lit()),
            ("name", m.name.lit()),
            ("meaning", m.meaning.lit()),
        ],
    ))
}

fn callback_lit(c: &Callback) -> String {
    st(
        "SoftphoneCallback",
        &[
            ("name", c.name.lit()),
            ("module", c.module.lit()),
            ("signature", c.signature.lit()),
            ("trigger", c.trigger.lit()),
            ("sip", c.sip.lit()),
            ("key_params", params_lit(&c.key_params)),
            ("comment", c.comment.lit()),
        ],
    )
}

fn function_lit(f: &Function) -> String {
    let modes: Vec<Raw> = f.modes.iter().map(prack_lit).collect();
    let dtmf: Vec<Raw> = f
        .dtmf_codes
        .iter()
        .map(|d| {
            Raw(st(
                "DtmfCode",
                &[("code", d.code.lit()), ("tone", d.tone.lit())],
            ))
        })
        .collect();
    st(
        "SoftphoneFunction",
        &[
            ("name", f.name.lit()),
            (
                "group",
                variant(SOFTPHONE, "FunctionGroup", &f.group, &FUNCTION_GROUPS).lit(),
            ),
            ("section", f.section.lit()),
            ("signature", f.signature.lit()),
            ("purpose", f.purpose.lit()),
            ("params", params_lit(&f.params)),
            ("defaults_and_limits", f.defaults_and_limits.lit()),
            ("returns", f.returns.lit()),
            ("related_callbacks", f.related_callbacks.lit()),
            ("comment", f.comment.lit()),
            ("modes", modes.lit()),
            ("dtmf_codes", dtmf.lit()),
        ],
    )
}

fn key_default_lit(key: &str, v: &DefaultValue) -> String {
    let value = match v {
        DefaultValue::Flag(b) => format!("DefaultValue::Flag({b})"),
        DefaultValue::Integer(n) => format!("DefaultValue::Integer({n})"),
        DefaultValue::Integers(ns) => format!("DefaultValue::Integers({})", ns.lit()),
        DefaultValue::Text(t) => format!("DefaultValue::Text({})", t.lit()),
    };
    if !key.contains('.') {
        fail(
            SOFTPHONE,
            format!("key_defaults key {key:?} is not function.setting"),
        );
    }
    st("KeyDefault", &[("key", key.lit()), ("value", value)])
}
