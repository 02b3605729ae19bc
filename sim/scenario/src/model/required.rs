//! Which fields of each struct are required, taken from the structs' JSON Schemas, so that the
//! loader can report every missing field of a mapping at once (serde stops at the first).

use super::*;
use schemars::JsonSchema;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The `required` list of `T`'s schema.
fn required_of<T: JsonSchema>() -> Vec<String> {
    let schema = schemars::schema_for!(T).to_value();
    schema
        .get("required")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

macro_rules! table {
    ($($ty:ident),* $(,)?) => {
        /// Struct name (as serde names it) → required fields.
        fn build() -> BTreeMap<&'static str, Vec<String>> {
            let mut m = BTreeMap::new();
            $(m.insert(stringify!($ty), required_of::<$ty>());)*
            m
        }
    };
}

table!(
    ScenarioFile,
    Topology,
    Defaults,
    NatSpec,
    PortForward,
    LinkSpec,
    GilbertElliott,
    Reorder,
    Account,
    ServerPolicy,
    Block,
    AlternateAddress,
    DnsRecord,
    DnsNamePolicy,
    TurnCredentials,
    IntercomStun,
    SipServerSpec,
    StunSpec,
    TurnSpec,
    WebServiceSpec,
    DnsSpec,
    AaeSpec,
    SoftphoneSpec,
    IntercomSpec,
    IceAgentSpec,
    NatDetectorSpec,
    UdpProbeSpec,
    TcpProbeSpec,
    AaeAppSpec,
    Bind,
    Between,
    NodeRef,
    EndpointRef,
    Send,
    LossBurst,
    LinkChange,
    NatReboot,
    NatRef,
    IpChange,
    PolicySwitch,
    Call,
    Answer,
    Refer,
    Dtmf,
    Message,
    Dnd,
    MakeTunnel,
    SendData,
    TunnelPort,
    Stall,
    PacketFault,
    PacketMatch,
    SipMatch,
    StunMatch,
    TcpMatch,
    Corrupt,
    Rewrite,
    FaultRef,
    Received,
    Dropped,
    Mapping,
    Event,
    Sequence,
    SipResponse,
    Delivered,
);

/// The required fields of the struct serde calls `name`, if it is a model struct.
pub(crate) fn required_fields(name: &str) -> Option<&'static [String]> {
    static TABLE: OnceLock<BTreeMap<&'static str, Vec<String>>> = OnceLock::new();
    TABLE.get_or_init(build).get(name).map(Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_table_lists_every_struct_with_required_fields() {
        let schema = schemars::schema_for!(ScenarioFile).to_value();
        let defs = schema.get("$defs").and_then(|d| d.as_object()).unwrap();
        for (name, def) in defs {
            let is_struct = def.get("type").and_then(|t| t.as_str()) == Some("object")
                && def.get("properties").is_some();
            if is_struct {
                assert!(
                    required_fields(name).is_some(),
                    "{name} is missing from the table"
                );
            }
        }
        assert_eq!(
            required_fields("NatSpec").unwrap(),
            ["name", "public", "lan"]
        );
        assert_eq!(
            required_fields("IntercomSpec").unwrap(),
            [
                "name",
                "proxy",
                "realm",
                "user",
                "password",
                "registration_interval",
                "transport"
            ]
        );
    }
}
