//! Scalar value types of the scenario language, each with its own parser and schema.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

/// A span of simulated time, written with units: `250ms`, `30s`, `1m30s`, `2h`, `1.5s`, `20us`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub Duration);

impl SimDuration {
    /// The duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("empty duration")]
    Empty,
    /// A number without a unit, or an unknown unit.
    #[error("`{0}` needs a unit: us, ms, s, m or h (for example `30s` or `250ms`)")]
    Unit(String),
    /// Not a number where one was expected.
    #[error("`{0}` is not a duration (for example `30s`, `250ms`, `1m30s`)")]
    Syntax(String),
    /// Finer than a microsecond or too large.
    #[error("`{0}` is out of range (microsecond resolution, at most about 584,000 years)")]
    Range(String),
}

impl FromStr for SimDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, DurationError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        let mut micros: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_len == 0 {
                return Err(DurationError::Syntax(text.to_owned()));
            }
            let (num, tail) = rest.split_at(num_len);
            let unit_len = tail
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_len);
            let scale: u128 = match unit {
                "us" | "µs" => 1,
                "ms" => 1_000,
                "s" => 1_000_000,
                "m" | "min" => 60_000_000,
                "h" => 3_600_000_000,
                _ => return Err(DurationError::Unit(text.to_owned())),
            };
            micros += scaled(num, scale).ok_or_else(|| DurationError::Range(text.to_owned()))?;
            rest = tail;
        }
        let micros = u64::try_from(micros).map_err(|_| DurationError::Range(text.to_owned()))?;
        Ok(Self(Duration::from_micros(micros)))
    }
}

/// `num × scale` for a decimal `num`, exact to the microsecond, or `None`.
fn scaled(num: &str, scale: u128) -> Option<u128> {
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return None;
    }
    let mut total = if int.is_empty() {
        0
    } else {
        int.parse::<u128>().ok()?.checked_mul(scale)?
    };
    let mut place = scale;
    for digit in frac.bytes() {
        if !place.is_multiple_of(10) {
            return None;
        }
        place /= 10;
        total = total.checked_add(u128::from(digit - b'0') * place)?;
    }
    Some(total)
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0.as_micros();
        if us == 0 {
            return f.write_str("0s");
        }
        for (unit, scale) in [
            ("h", 3_600_000_000u128),
            ("m", 60_000_000),
            ("s", 1_000_000),
            ("ms", 1_000),
        ] {
            if us.is_multiple_of(scale) {
                return write!(f, "{}{unit}", us / scale);
            }
        }
        write!(f, "{us}us")
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, such as `30s`, `250ms` or `1m30s`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SimDuration, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for SimDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration with units: `250ms`, `30s`, `1m30s`, `2h`, `1.5s`, `20us`.",
            "pattern": r"^\s*([0-9]+(\.[0-9]+)?(us|µs|ms|s|m|min|h))+\s*$"
        })
    }
}

/// A probability between 0 and 1 (checked by validation, so that every bad value is reported).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Probability(pub f64);

impl JsonSchema for Probability {
    fn schema_name() -> Cow<'static, str> {
        "Probability".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "minimum": 0.0, "maximum": 1.0 })
    }
}

/// An IP prefix such as `10.0.0.0/24` or `2001:db8:1::/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    /// Network address as written.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
}

impl Prefix {
    /// Whether `ip` lies inside the prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// The `n`-th address of the prefix (`n = 1` is the first host of `10.0.0.0/24`), if inside.
    pub fn nth(&self, n: u128) -> Option<IpAddr> {
        let ip = match self.addr {
            IpAddr::V4(net) => {
                IpAddr::V4(u32::try_from(u128::from(u32::from(net)) + n).ok()?.into())
            }
            IpAddr::V6(net) => IpAddr::V6(u128::from(net).checked_add(n)?.into()),
        };
        self.contains(ip).then_some(ip)
    }
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an IP prefix (for example `10.0.0.0/24`)");
        let (addr, len) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let len: u8 = len.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(format!("prefix length {len} is longer than {max} bits"));
        }
        Ok(Self { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Prefix;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an IP prefix such as `10.0.0.0/24`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Prefix, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Prefix {
    fn schema_name() -> Cow<'static, str> {
        "Prefix".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An IP prefix such as `10.0.0.0/24` or `2001:db8:1::/64`."
        })
    }
}

/// A documented code, by number (`370082`) or by name (`PJNATH_EICEFAILED`,
/// `onRegisterFailure`). Validation resolves it against the catalog.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CodeRef {
    /// Written as a number.
    Number(u64),
    /// Written as a name.
    Name(String),
}

impl fmt::Display for CodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => n.fmt(f),
            Self::Name(s) => f.write_str(s),
        }
    }
}

impl Serialize for CodeRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => s.serialize_u64(*n),
            Self::Name(n) => s.serialize_str(n),
        }
    }
}

impl<'de> Deserialize<'de> for CodeRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CodeRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a code number such as `370082` or a name such as `PJNATH_EICEFAILED`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CodeRef, E> {
                Ok(CodeRef::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CodeRef, E> {
                u64::try_from(v)
                    .map(CodeRef::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CodeRef, E> {
                let v = v.trim();
                Ok(match v.parse::<u64>() {
                    Ok(n) => CodeRef::Number(n),
                    Err(_) => CodeRef::Name(v.to_owned()),
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for CodeRef {
    fn schema_name() -> Cow<'static, str> {
        "CodeRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A documented code by number (`370082`) or by name (`PJNATH_EICEFAILED`).",
            "oneOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "minLength": 1 }
            ]
        })
    }
}

/// Where a probe sends: a node (`bob`, `bob:4000`), an address (`198.51.100.1:5000`,
/// `[2001:db8::1]:5000`) or the public address another node observed for an endpoint
/// (`{mapping_of: alice, seen_by: stun1}`), which is how a scenario aims at a NAT mapping whose
/// port it cannot know in advance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A node by name, at its default port unless one is given.
    Node {
        /// Node name.
        name: String,
        /// Port, or the node's default.
        port: Option<u16>,
    },
    /// A literal address.
    Addr(SocketAddr),
    /// The source address `seen_by` last observed from `mapping_of`.
    Mapping {
        /// The endpoint whose mapping is meant.
        mapping_of: String,
        /// The node that observed it.
        seen_by: String,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Node { name, port: None } => f.write_str(name),
            Self::Node {
                name,
                port: Some(p),
            } => write!(f, "{name}:{p}"),
            Self::Addr(a) => a.fmt(f),
            Self::Mapping {
                mapping_of,
                seen_by,
            } => {
                write!(f, "mapping of {mapping_of} seen by {seen_by}")
            }
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Self::Addr(addr));
        }
        if s.parse::<IpAddr>().is_ok() {
            return Err(format!("`{s}` needs a port (for example `{s}:5000`)"));
        }
        let (name, port) = match s.rsplit_once(':') {
            Some((name, port)) => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("`{port}` in `{s}` is not a port number"))?;
                (name, Some(port))
            }
            None => (s, None),
        };
        if name.is_empty() {
            return Err("empty target".to_owned());
        }
        Ok(Self::Node {
            name: name.to_owned(),
            port,
        })
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Mapping {
                mapping_of,
                seen_by,
            } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("mapping_of", mapping_of)?;
                m.serialize_entry("seen_by", seen_by)?;
                m.end()
            }
            other => s.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct MappingForm {
            mapping_of: String,
            seen_by: String,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Target;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a node (`bob`, `bob:4000`), an address (`198.51.100.1:5000`) or \
                     `{mapping_of: <endpoint>, seen_by: <node>}`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Target, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Target, A::Error> {
                let m = MappingForm::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Target::Mapping {
                    mapping_of: m.mapping_of,
                    seen_by: m.seen_by,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Target {
    fn schema_name() -> Cow<'static, str> {
        "Target".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A node (`bob`, `bob:4000`), an address (`198.51.100.1:5000`) or the \
                            address a node observed for an endpoint.",
            "oneOf": [
                { "type": "string", "minLength": 1 },
                {
                    "type": "object",
                    "properties": {
                        "mapping_of": { "type": "string" },
                        "seen_by": { "type": "string" }
                    },
                    "required": ["mapping_of", "seen_by"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// SIP transport, as the intercom and SIP settings name it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
}

/// The payload format of a `udp-probe`'s probes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeWire {
    /// One line of text: `natlab probe from=alice id=3 port=5000 seq=7`; echoes say `seen=`.
    #[default]
    Text,
    /// SIP OPTIONS requests with `rport` (the SIP keep-alive); echoes are `200 OK` with
    /// `received` and `rport`, so SIP tools and `natlab analyze` read the capture.
    SipOptions,
    /// STUN Binding requests (random transaction ids, seeded in a run); echoes are Binding
    /// success responses with XOR-MAPPED-ADDRESS.
    Stun,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Duration {
        s.parse::<SimDuration>().map(SimDuration::get).unwrap()
    }

    #[test]
    fn duration_parses_units_and_compounds() {
        assert_eq!(d("250ms"), Duration::from_millis(250));
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert_eq!(d("1.5s"), Duration::from_millis(1500));
        assert_eq!(d("20us"), Duration::from_micros(20));
        assert_eq!(d("2h"), Duration::from_secs(7200));
        assert_eq!(d("0s"), Duration::ZERO);
    }

    #[test]
    fn duration_rejects_missing_units_and_garbage() {
        assert!(matches!(
            "30".parse::<SimDuration>(),
            Err(DurationError::Unit(_))
        ));
        assert!(matches!(
            "3x".parse::<SimDuration>(),
            Err(DurationError::Unit(_))
        ));
        assert!(matches!(
            "s".parse::<SimDuration>(),
            Err(DurationError::Syntax(_))
        ));
        assert!(matches!(
            "1.5us".parse::<SimDuration>(),
            Err(DurationError::Range(_))
        ));
        assert!(matches!(
            "".parse::<SimDuration>(),
            Err(DurationError::Empty)
        ));
    }

    #[test]
    fn duration_display_round_trips() {
        for s in ["0s", "250ms", "90s", "2h", "20us", "1500ms"] {
            let v: SimDuration = s.parse().unwrap();
            assert_eq!(v.to_string().parse::<SimDuration>().unwrap(), v, "{s}");
        }
        assert_eq!("1m30s".parse::<SimDuration>().unwrap().to_string(), "90s");
    }

    #[test]
    fn prefix_contains_and_nth() {
        let p: Prefix = "10.0.0.0/24".parse().unwrap();
        assert!(p.contains("10.0.0.200".parse().unwrap()));
        assert!(!p.contains("10.0.1.1".parse().unwrap()));
        assert_eq!(p.nth(2), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(p.nth(256), None);
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        let v6: Prefix = "2001:db8::/64".parse().unwrap();
        assert!(v6.contains("2001:db8::5".parse().unwrap()));
    }

    #[test]
    fn target_forms() {
        assert_eq!(
            "bob".parse(),
            Ok(Target::Node {
                name: "bob".into(),
                port: None
            })
        );
        assert_eq!(
            "bob:4000".parse(),
            Ok(Target::Node {
                name: "bob".into(),
                port: Some(4000)
            })
        );
        assert_eq!(
            "198.51.100.1:5000".parse(),
            Ok(Target::Addr("198.51.100.1:5000".parse().unwrap()))
        );
        assert!("198.51.100.1".parse::<Target>().is_err());
        assert!("bob:x".parse::<Target>().is_err());
    }
}
