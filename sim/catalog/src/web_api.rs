//! The AAE web-service API (`aae-web-api.yaml`): endpoints, the two account-binding flows and
//! the glossary.
//!
//! Parameter names keep the document's mixed spellings (`devicemd5mac` in the glossary,
//! `deviceMd5Mac` in the flows). Only the inputs and outputs the flows name are known.

use crate::data;

/// What the service is and where its full API reference would be.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebService {
    /// The document's summary.
    pub summary: &'static str,
    /// What the (image-only) flow figure shows.
    pub flow_overview: &'static str,
    /// The Swagger file the document refers to.
    pub api_reference: ApiReference,
}

/// The separate API reference the document refers to.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiReference {
    /// Its file name (`api-reference.yaml`).
    pub file: &'static str,
    /// How the document says to view it.
    pub how_to_view: &'static str,
    /// Whether it is part of the material (it is not).
    pub available: bool,
    /// Remarks.
    pub comment: &'static str,
}

/// A term of the document's glossary.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GlossaryTerm {
    /// The term (`deviceticket`).
    pub term: &'static str,
    /// Its definition, translated.
    pub definition: &'static str,
    /// The definition as written (Chinese).
    pub as_written: &'static str,
}

/// A term the binding flows use without defining it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowTerm {
    /// The term (`routerMd5Mac`).
    pub term: &'static str,
    /// How the flows use it.
    pub usage: &'static str,
}

/// A web-service endpoint and the calls the flows make to it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// The path (`/aae/login`).
    pub path: &'static str,
    /// What it is for.
    pub purpose: &'static str,
    /// The calls the flows make to it.
    pub calls: &'static [EndpointCall],
}

/// One call of an endpoint in a binding flow.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointCall {
    /// Who calls (`app`, `fw`, `app (on behalf of the router)`).
    pub caller: &'static str,
    /// The flow steps that make this call (`new.4`, `old.3`).
    pub flow_steps: &'static [&'static str],
    /// Inputs the flows name.
    pub inputs: &'static [&'static str],
    /// Remark on the inputs.
    pub inputs_comment: Option<&'static str>,
    /// Outputs the flows name.
    pub outputs: &'static [&'static str],
    /// Remark on the outputs.
    pub outputs_comment: Option<&'static str>,
    /// The name the flow gives the output (`routeruserticket`).
    pub output_alias: Option<&'static str>,
    /// Rules that apply to the call.
    pub rules: &'static [FlowRule],
    /// Remarks (assumptions the catalog states).
    pub comment: Option<&'static str>,
}

/// A rule a flow step or call must follow.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowRule {
    /// A short id (`empty-routerMd5Mac`).
    pub id: &'static str,
    /// When it applies (`router firmware is old`).
    pub applies_when: Option<&'static str>,
    /// The rule.
    pub rule: &'static str,
}

/// An account-binding flow (`new` or `old`).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BindingFlow {
    /// `new` or `old`.
    pub id: &'static str,
    /// Its name, with the document's Chinese label.
    pub name: &'static str,
    /// Whether the flow's figure is part of the material.
    pub figure_available: bool,
    /// The steps, in order.
    pub steps: &'static [FlowStep],
    /// Remarks.
    pub notes: &'static [&'static str],
}

/// One step of a binding flow.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowStep {
    /// Step number (1-based).
    pub n: u8,
    /// Who acts (`app`, `fw`, `user / app`).
    pub actor: &'static str,
    /// What happens.
    pub action: &'static str,
    /// The endpoint called, if any.
    pub endpoint: Option<&'static str>,
    /// The endpoint as the document spells it at this step, where it differs.
    pub endpoint_as_written: Option<&'static str>,
    /// Remark on the endpoint.
    pub endpoint_comment: Option<&'static str>,
    /// Inputs of the step.
    pub inputs: &'static [&'static str],
    /// Outputs of the step.
    pub outputs: &'static [&'static str],
    /// Rules of the step.
    pub rules: &'static [FlowRule],
}

/// The document's comparison of the two flows.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowComparison {
    /// The comparison, translated.
    pub text: &'static str,
    /// Remarks.
    pub comment: &'static str,
}

/// The service description.
pub fn web_service() -> &'static WebService {
    &data::WEB_SERVICE
}

/// The glossary, in document order.
pub fn glossary() -> &'static [GlossaryTerm] {
    &data::GLOSSARY
}

/// The glossary term spelled `term` (ASCII case-insensitive: the document mixes cases).
pub fn glossary_term(term: &str) -> Option<&'static GlossaryTerm> {
    glossary()
        .iter()
        .find(|g| g.term.eq_ignore_ascii_case(term))
}

/// Terms the flows use without defining.
pub fn flow_terms() -> &'static [FlowTerm] {
    &data::FLOW_TERMS
}

/// The endpoints, in catalog order.
pub fn endpoints() -> &'static [Endpoint] {
    &data::ENDPOINTS
}

/// The endpoint at `path` (`/aae/login`).
pub fn endpoint(path: &str) -> Option<&'static Endpoint> {
    endpoints().iter().find(|e| e.path == path)
}

/// The binding flows (`new`, then `old`).
pub fn binding_flows() -> &'static [BindingFlow] {
    &data::BINDING_FLOWS
}

/// The binding flow with `id` (`new` or `old`).
pub fn binding_flow(id: &str) -> Option<&'static BindingFlow> {
    binding_flows().iter().find(|f| f.id == id)
}

/// The comparison of the two flows.
pub fn binding_comparison() -> &'static FlowComparison {
    &data::BINDING_COMPARISON
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_api_tables_are_complete() {
        assert_eq!(glossary().len(), 12);
        assert_eq!(endpoints().len(), 4);
        assert_eq!(binding_flow("new").map(|f| f.steps.len()), Some(8));
        assert_eq!(binding_flow("old").map(|f| f.steps.len()), Some(5));
        assert!(!web_service().api_reference.available);
    }

    #[test]
    fn web_api_keeps_document_spellings() {
        assert_eq!(
            glossary_term("deviceMd5Mac").map(|g| g.term),
            Some("devicemd5mac")
        );
        let step6 = binding_flow("new")
            .unwrap()
            .steps
            .iter()
            .find(|s| s.n == 6)
            .unwrap();
        assert_eq!(step6.endpoint, Some("/aae/getuserticketbyrefresh"));
        assert_eq!(
            step6.endpoint_as_written,
            Some("/aae/getuserticketbyrefresht")
        );
        assert_eq!(
            step6.rules.first().map(|r| r.id),
            Some("empty-routerMd5Mac")
        );
    }

    #[test]
    fn web_api_flow_endpoints_are_listed_endpoints() {
        for flow in binding_flows() {
            for step in flow.steps {
                if let Some(path) = step.endpoint {
                    assert!(
                        endpoint(path).is_some(),
                        "{} step {}: {path}",
                        flow.id,
                        step.n
                    );
                }
            }
        }
        let login = endpoint("/aae/login").unwrap();
        assert_eq!(login.calls.len(), 3);
        assert_eq!(login.calls[0].outputs.len(), 5);
    }
}
