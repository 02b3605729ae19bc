//! The intercom, AAE-ids and web-API catalogs: checked, then written as statics.

use super::emit::{Lit, Out, Raw, check_count, fail, st};
use super::raw::{Constraints, Field, IntercomFile, Schema};
use super::raw_api::{EndpointCall, FlowRule, FlowStep, IdsFile, WebApiFile};

const INTERCOM: &str = "intercom-sip-settings.yaml";
const IDS: &str = "aae-ids.yaml";

// ---- intercom --------------------------------------------------------------------------------

pub(crate) fn intercom(out: &mut Out, f: &IntercomFile) {
    check_count(
        INTERCOM,
        "error_codes",
        f.error_codes.codes.len(),
        f.error_codes.count,
    );
    let responses: Vec<Raw> = f
        .operation
        .responses
        .iter()
        .map(|r| {
            Raw(st(
                "OperationResponse",
                &[
                    ("status", r.status.lit()),
                    ("description", r.description.lit()),
                    ("content_type", r.content_type.lit()),
                    ("body", r.body.lit()),
                ],
            ))
        })
        .collect();
    let op = st(
        "IntercomOperation",
        &[
            ("title", f.operation.title.lit()),
            ("responses", responses.lit()),
            ("comment", f.operation.comment.lit()),
        ],
    );
    out.item("INTERCOM_OPERATION", "IntercomOperation", &op);
    out.item(
        "SIP_SETTINGS_SCHEMA",
        "Schema",
        &schema_lit("sip_settings", &f.schemas.sip_settings),
    );
    out.item(
        "ERROR_SCHEMA",
        "Schema",
        &schema_lit("error", &f.schemas.error),
    );
    let codes: Vec<String> = f
        .error_codes
        .codes
        .iter()
        .map(|c| {
            st(
                "IntercomErrorCode",
                &[
                    ("code", c.code.lit()),
                    ("example_message", c.example_message.lit()),
                    ("comment", c.comment.lit()),
                ],
            )
        })
        .collect();
    out.array("INTERCOM_ERROR_CODES", "IntercomErrorCode", &codes);
    intercom_examples(out, f);
}

fn schema_lit(name: &str, s: &Schema) -> String {
    let fields: Vec<Raw> = s.fields.iter().map(|f| Raw(field_lit(f))).collect();
    st(
        "Schema",
        &[
            ("name", name.lit()),
            ("ty", s.ty.lit()),
            ("fields", fields.lit()),
            ("comment", s.comment.lit()),
        ],
    )
}

fn field_lit(f: &Field) -> String {
    let nested: Vec<Raw> = f.fields.iter().map(|n| Raw(field_lit(n))).collect();
    let behaviour = f.behaviour.as_ref().map(|b| {
        Raw(st(
            "FieldBehaviour",
            &[
                (
                    "re_registration_lead_seconds",
                    b.re_registration_lead_seconds.lit(),
                ),
                ("rule", b.rule.lit()),
            ],
        ))
    });
    let derived = f.derived.as_ref().map(|d| {
        Raw(st(
            "FieldDerived",
            &[
                (
                    "re_register_after_seconds",
                    d.re_register_after_seconds.lit(),
                ),
                ("range", d.range.lit()),
            ],
        ))
    });
    st(
        "SettingField",
        &[
            ("name", f.name.lit()),
            ("ty", f.ty.lit()),
            ("description", f.description.lit()),
            (
                "constraints",
                constraints_lit(&f.name, f.constraints.as_ref()),
            ),
            ("default", f.default.lit()),
            ("unit", f.unit.lit()),
            ("unit_comment", f.unit_comment.lit()),
            ("behaviour", behaviour.lit()),
            ("derived", derived.lit()),
            ("fields", nested.lit()),
            ("comment", f.comment.lit()),
        ],
    )
}

fn constraints_lit(field: &str, c: Option<&Constraints>) -> String {
    let empty = super::raw::ConstraintMap::default();
    let map = match c {
        None => &empty,
        Some(Constraints::None(list)) if list.is_empty() => &empty,
        Some(Constraints::None(list)) => fail(
            INTERCOM,
            format!("{field}: constraints list {list:?} must be empty or a mapping"),
        ),
        Some(Constraints::Some(map)) => map,
    };
    st(
        "FieldConstraints",
        &[
            ("non_empty", map.non_empty.lit()),
            ("max_length", map.max_length.lit()),
            ("minimum", map.minimum.lit()),
            ("maximum", map.maximum.lit()),
            ("inclusive", map.inclusive.lit()),
            ("allowed", map.allowed.lit()),
        ],
    )
}

fn intercom_examples(out: &mut Out, f: &IntercomFile) {
    let settings: Vec<String> = f
        .examples
        .sip_settings
        .iter()
        .map(|e| {
            let v = &e.value;
            st(
                "SipSettingsExample",
                &[
                    ("label", e.label.lit()),
                    ("proxy", v.proxy.lit()),
                    ("realm", v.realm.lit()),
                    ("user", v.user.lit()),
                    ("password", v.password.lit()),
                    ("stun_ip", v.stun.ip.lit()),
                    ("stun_port", v.stun.port.lit()),
                    ("registration_interval", v.registration_interval.lit()),
                    ("h264", v.h264.lit()),
                    ("transport", v.transport.lit()),
                    ("comment", e.comment.lit()),
                ],
            )
        })
        .collect();
    out.array("SIP_SETTINGS_EXAMPLES", "SipSettingsExample", &settings);
    let errors: Vec<String> = f
        .examples
        .error
        .iter()
        .map(|e| {
            let b = &e.value.error;
            st(
                "ErrorExample",
                &[
                    ("label", e.label.lit()),
                    ("code", b.code.lit()),
                    ("message", b.message.lit()),
                    ("data_param", b.data.as_ref().map(|d| &d.param).lit()),
                ],
            )
        })
        .collect();
    out.array("ERROR_EXAMPLES", "ErrorExample", &errors);
}

// ---- aae-ids ---------------------------------------------------------------------------------

pub(crate) fn ids(out: &mut Out, f: &IdsFile) {
    let (u, o, s, d) = (
        &f.sid.userticket_login,
        &f.sid.openid_login,
        &f.sid.other,
        &f.device_types,
    );
    check_count(IDS, "sid.openid_login", o.rows.len(), o.count);
    check_count(IDS, "sid.other", s.rows.len(), s.count);
    check_count(IDS, "device_types", d.rows.len(), d.count);
    let user = st(
        "UserticketSid",
        &[
            ("label_as_written", u.label_as_written.lit()),
            ("label_en", u.label_en.lit()),
            ("sid", u.sid.lit()),
        ],
    );
    out.item("USERTICKET_SID", "UserticketSid", &user);
    let rows: Vec<Raw> = o
        .rows
        .iter()
        .map(|r| {
            Raw(st(
                "OpenIdSid",
                &[("sid", r.sid.lit()), ("auth_type", r.auth_type.lit())],
            ))
        })
        .collect();
    let openid = st(
        "OpenIdSids",
        &[
            ("label_as_written", o.label_as_written.lit()),
            ("label_en", o.label_en.lit()),
            ("columns", o.columns.lit()),
            ("rows", rows.lit()),
        ],
    );
    out.item("OPENID_SIDS", "OpenIdSids", &openid);
    let rows: Vec<Raw> = s
        .rows
        .iter()
        .map(|r| {
            Raw(st(
                "ServiceSid",
                &[
                    ("service", r.service.lit()),
                    ("service_description", r.service_description.lit()),
                    ("auth_type", r.auth_type.lit()),
                    ("comment", r.comment.lit()),
                ],
            ))
        })
        .collect();
    let services = st(
        "ServiceSids",
        &[
            ("label_as_written", s.label_as_written.lit()),
            ("label_en", s.label_en.lit()),
            ("columns", s.columns.lit()),
            ("rows", rows.lit()),
        ],
    );
    out.item("SERVICE_SIDS", "ServiceSids", &services);
    let rows: Vec<Raw> = d
        .rows
        .iter()
        .map(|r| {
            Raw(st(
                "DeviceType",
                &[
                    ("device_type", r.device_type.lit()),
                    ("description", r.description.lit()),
                    ("remark", r.remark.lit()),
                ],
            ))
        })
        .collect();
    let devices = st(
        "DeviceTypes",
        &[
            ("columns", d.columns.lit()),
            ("comment", d.comment.lit()),
            ("rows", rows.lit()),
        ],
    );
    out.item("DEVICE_TYPES", "DeviceTypes", &devices);
}

// ---- aae-web-api -----------------------------------------------------------------------------

pub(crate) fn web_api(out: &mut Out, f: &WebApiFile) {
    let r = &f.service.api_reference;
    let api_reference = st(
        "ApiReference",
        &[
            ("file", r.file.lit()),
            ("how_to_view", r.how_to_view.lit()),
            ("available", r.available.lit()),
            ("comment", r.comment.lit()),
        ],
    );
    let service = st(
        "WebService",
        &[
            ("summary", f.service.summary.lit()),
            ("flow_overview", f.service.flow_overview.lit()),
            ("api_reference", api_reference),
        ],
    );
    out.item("WEB_SERVICE", "WebService", &service);
    let glossary: Vec<String> = f
        .glossary
        .iter()
        .map(|g| {
            st(
                "GlossaryTerm",
                &[
                    ("term", g.term.lit()),
                    ("definition", g.definition.lit()),
                    ("as_written", g.as_written.lit()),
                ],
            )
        })
        .collect();
    out.array("GLOSSARY", "GlossaryTerm", &glossary);
    let terms: Vec<String> = f
        .flow_terms
        .iter()
        .map(|t| {
            st(
                "FlowTerm",
                &[("term", t.term.lit()), ("usage", t.usage.lit())],
            )
        })
        .collect();
    out.array("FLOW_TERMS", "FlowTerm", &terms);
    let endpoints: Vec<String> = f
        .endpoints
        .iter()
        .map(|e| {
            let calls: Vec<Raw> = e.calls.iter().map(call_lit).collect();
            st(
                "Endpoint",
                &[
                    ("path", e.path.lit()),
                    ("purpose", e.purpose.lit()),
                    ("calls", calls.lit()),
                ],
            )
        })
        .collect();
    out.array("ENDPOINTS", "Endpoint", &endpoints);
    let flows: Vec<String> = f
        .binding_flows
        .iter()
        .map(|b| {
            let steps: Vec<Raw> = b.steps.iter().map(step_lit).collect();
            st(
                "BindingFlow",
                &[
                    ("id", b.id.lit()),
                    ("name", b.name.lit()),
                    ("figure_available", b.figure_available.lit()),
                    ("steps", steps.lit()),
                    ("notes", b.notes.lit()),
                ],
            )
        })
        .collect();
    out.array("BINDING_FLOWS", "BindingFlow", &flows);
    let comparison = st(
        "FlowComparison",
        &[
            ("text", f.comparison.text.lit()),
            ("comment", f.comparison.comment.lit()),
        ],
    );
    out.item("BINDING_COMPARISON", "FlowComparison", &comparison);
}

fn rules_lit(rules: &[FlowRule]) -> String {
    let items: Vec<Raw> = rules
        .iter()
        .map(|r| {
            Raw(st(
                "FlowRule",
                &[
                    ("id", r.id.lit()),
                    ("applies_when", r.applies_when.lit()),
                    ("rule", r.rule.lit()),
                ],
            ))
        })
        .collect();
    items.lit()
}

fn call_lit(c: &EndpointCall) -> Raw {
    Raw(st(
        "EndpointCall",
        &[
            ("caller", c.caller.lit()),
            ("flow_steps", c.flow_steps.lit()),
            ("inputs", c.inputs.lit()),
            ("inputs_comment", c.inputs_comment.lit()),
            ("outputs", c.outputs.lit()),
            ("outputs_comment", c.outputs_comment.lit()),
            ("output_alias", c.output_alias.lit()),
            ("rules", rules_lit(&c.rules)),
            ("comment", c.comment.lit()),
        ],
    ))
}

fn step_lit(s: &FlowStep) -> Raw {
    Raw(st(
        "FlowStep",
        &[
            ("n", s.n.lit()),
            ("actor", s.actor.lit()),
            ("action", s.action.lit()),
            ("endpoint", s.endpoint.lit()),
            ("endpoint_as_written", s.endpoint_as_written.lit()),
            ("endpoint_comment", s.endpoint_comment.lit()),
            ("inputs", s.inputs.lit()),
            ("outputs", s.outputs.lit()),
            ("rules", rules_lit(&s.rules)),
        ],
    ))
}
