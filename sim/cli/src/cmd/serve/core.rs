//! Any protocol core served on real sockets: [`Served`] wraps a core, reports each socket it
//! binds (with the real port) and turns the core's events into [`LogEvent`]s; the summary
//! counts them by name.
//!
//! The cores: `sip` (the registrar and proxy with the trunk policy), `stun` (the RFC 5389/5780
//! server), `turn` (the RFC 5766 server). They are the simulator's own, unchanged.

use sim_core::{
    Addresses, Binding, Bound, Datagram, LogEvent, Node, Protocol, SimInstant, StreamEvent,
    Transmit,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// What a served core reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A socket is bound.
    Listening(Protocol, SocketAddr),
    /// A bind failed (fatal for the server).
    BindFailed(Binding, String),
    /// One of the core's events.
    Event(LogEvent),
}

/// A core, the sockets it bound and what it reported.
pub(crate) struct Served<N: Node> {
    core: N,
    log: fn(&N::Event) -> Option<LogEvent>,
    lines: VecDeque<Line>,
    /// Bound sockets, in bind order.
    pub(crate) sockets: Vec<(Protocol, SocketAddr)>,
    /// Events reported, by name.
    pub(crate) counts: BTreeMap<String, u64>,
}

impl<N: Node> std::fmt::Debug for Served<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("sockets", &self.sockets)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl<N: Node> Served<N> {
    /// Wraps `core`; `log` maps its events (`None`: counted traffic, not printed).
    pub(crate) fn new(core: N, log: fn(&N::Event) -> Option<LogEvent>) -> Self {
        Self {
            core,
            log,
            lines: VecDeque::new(),
            sockets: Vec::new(),
            counts: BTreeMap::new(),
        }
    }
}

impl<N: Node> Node for Served<N> {
    type Event = Line;

    fn bindings(&self) -> Vec<Binding> {
        self.core.bindings()
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        self.core.handle_start(now, addresses);
    }

    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        match &bound.result {
            Ok(local) => {
                self.sockets.push((bound.binding.protocol, *local));
                self.lines
                    .push_back(Line::Listening(bound.binding.protocol, *local));
            }
            Err(e) => self
                .lines
                .push_back(Line::BindFailed(bound.binding, e.to_string())),
        }
        self.core.handle_bound(now, bound);
    }

    fn handle_datagram(&mut self, now: SimInstant, datagram: Datagram) {
        self.core.handle_datagram(now, datagram);
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        self.core.handle_stream(now, event);
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        self.core.handle_timeout(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.core.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<Line> {
        if let Some(line) = self.lines.pop_front() {
            return Some(line);
        }
        loop {
            let event = self.core.poll_event()?;
            if let Some(e) = (self.log)(&event) {
                *self.counts.entry(e.name.to_string()).or_default() += 1;
                return Some(Line::Event(e));
            }
        }
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        self.core.poll_timeout()
    }
}

/// `user:password` per line; blank lines and `#` comments are skipped.
pub(crate) fn parse_accounts(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut accounts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, password)) = line.split_once(':') else {
            return Err(format!(
                "line {}: expected `user:password`, found `{line}`",
                i + 1
            ));
        };
        if user.is_empty() {
            return Err(format!("line {}: the user is empty", i + 1));
        }
        if accounts.iter().any(|(u, _): &(String, String)| u == user) {
            return Err(format!("line {}: user `{user}` is listed twice", i + 1));
        }
        accounts.push((user.to_owned(), password.to_owned()));
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_file_lines_comments_and_errors() {
        let ok = parse_accounts("# pbx\n1001:secret\n\n1002:pa:ss\n").expect("valid");
        assert_eq!(
            ok,
            [
                ("1001".to_owned(), "secret".to_owned()),
                ("1002".to_owned(), "pa:ss".to_owned())
            ]
        );
        assert!(
            parse_accounts("1001 secret")
                .expect_err("no colon")
                .contains("line 1")
        );
        assert!(
            parse_accounts(":x")
                .expect_err("empty user")
                .contains("empty")
        );
        assert!(
            parse_accounts("a:1\na:2")
                .expect_err("twice")
                .contains("twice")
        );
    }
}
