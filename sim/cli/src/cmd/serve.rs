//! `natlab serve`: runs a server core on real sockets with the simulator's drive loop
//! ([`sim_driver::drive`] over [`LiveTransport`] and [`LiveClock`]) until Ctrl-C or
//! `--duration`, printing what it binds, what it sees and, at the end, what went through each
//! socket.
//!
//! Live mode keeps the OS's entropy: the server runs outside a `sim_entropy::seeded` scope.

mod core;
mod echo;

use crate::args::{ServeArgs, ServeKind};
use crate::exit::{Exit, ExpectedError};
use echo::{EchoServer, ServeEvent, Socket};
use sim_core::{Protocol, SimInstant};
use sim_driver::live::{LiveClock, LiveTransport};
use sim_driver::{Clock, Control, DriveError, drive};
use std::future::Future;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// A validated `natlab serve`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    kind: ServeKind,
    ip: IpAddr,
    /// UDP ports (and TCP twins) to listen on; 0 for any free port.
    ports: Vec<u16>,
    duration: Option<Duration>,
    quiet: bool,
    accounts: Vec<(String, String)>,
    domain: String,
}

/// Why the server stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stop {
    Interrupted,
    Elapsed(Duration),
    /// A run-time bind failed: the message.
    Failed(String),
}

impl Stop {
    /// For the summary line: `stopped: …`.
    fn describe(&self) -> String {
        match self {
            Self::Interrupted => "interrupted".to_owned(),
            Self::Elapsed(d) => format!("--duration {}s elapsed", d.as_secs_f64()),
            Self::Failed(message) => message.clone(),
        }
    }
}

/// The message of a failed run-time bind (fatal for a server).
fn bind_failed(binding: sim_core::Binding, error: &dyn std::fmt::Display) -> String {
    format!(
        "cannot listen on {} port {}: {error}",
        binding.protocol, binding.port
    )
}

pub(crate) fn run(args: &ServeArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let plan = plan(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExpectedError::Invalid(format!("cannot start the runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    runtime.block_on(local.run_until(serve(&plan, out)))
}

/// Checks the arguments: loopback unless allowed, each fixed port once.
fn plan(args: &ServeArgs) -> Result<Plan, ExpectedError> {
    let ip = args.bind.ip;
    if !ip.is_loopback() && !args.allow_non_loopback {
        return Err(ExpectedError::Invalid(format!(
            "refusing to serve on {ip}: not a loopback address (127.0.0.0/8, ::1); \
             pass --allow-non-loopback to serve on it"
        )));
    }
    let mut ports: Vec<u16> = args
        .bind
        .port
        .into_iter()
        .chain(args.ports.iter().copied())
        .collect();
    if ports.is_empty() {
        ports.push(0);
    }
    let mut fixed: Vec<u16> = ports.iter().copied().filter(|&p| p != 0).collect();
    fixed.sort_unstable();
    if let Some(w) = fixed.windows(2).find(|w| w[0] == w[1]) {
        return Err(ExpectedError::Invalid(format!(
            "port {} is given twice",
            w[0]
        )));
    }
    let accounts = match &args.accounts {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ExpectedError::Read {
                path: path.clone(),
                source,
            })?;
            core::parse_accounts(&text)
                .map_err(|e| ExpectedError::Invalid(format!("{}: {e}", path.display())))?
        }
        None => Vec::new(),
    };
    if args.kind != ServeKind::Echo && ports.len() > 1 {
        return Err(ExpectedError::Invalid(
            "sip, stun and turn listen on one port (--bind IP:PORT)".into(),
        ));
    }
    Ok(Plan {
        kind: args.kind,
        ip,
        ports,
        duration: args.duration.map(|d| d.get()),
        quiet: args.quiet,
        accounts,
        domain: args
            .domain
            .clone()
            .unwrap_or_else(|| "natlab.invalid".to_owned()),
    })
}

async fn serve(plan: &Plan, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let interrupt = interrupt()
        .map_err(|e| ExpectedError::Invalid(format!("cannot listen for Ctrl-C: {e}")))?;
    let port = plan.ports.first().copied().unwrap_or(0);
    let addr = std::net::SocketAddr::new(plan.ip, port);
    let seed = entropy_seed();
    match plan.kind {
        ServeKind::Echo => {}
        ServeKind::Sip => {
            let users: Vec<(&str, &str)> = plan
                .accounts
                .iter()
                .map(|(u, p)| (u.as_str(), p.as_str()))
                .collect();
            let mut config = sim_sip::SipServerConfig::new(&plan.domain, &users);
            config.port = port;
            let node = sim_sip::SipServer::new(config, seed.rng());
            return serve_core(plan, out, interrupt, node, |e| Some(e.into())).await;
        }
        ServeKind::Stun => {
            let node = sim_stun::StunServer::new(sim_stun::StunServerConfig::new(addr), seed);
            return serve_core(plan, out, interrupt, node, |e| {
                (!e.is_traffic()).then(|| e.into())
            })
            .await;
        }
        ServeKind::Turn => {
            let credentials = sim_stun::LongTerm {
                realm: plan.domain.clone(),
                users: plan.accounts.iter().cloned().collect(),
                nonce_lifetime: Duration::from_secs(3600),
            };
            let node =
                sim_stun::TurnServer::new(sim_stun::TurnServerConfig::new(addr, credentials), seed);
            return serve_core(plan, out, interrupt, node, |e| {
                (!e.is_traffic()).then(|| e.into())
            })
            .await;
        }
    }
    let mut node = EchoServer::new(plan.ports.clone());
    let mut transport = LiveTransport::new(plan.ip);
    let clock = LiveClock::start();
    let (failed_tx, mut failed) = unbounded_channel();
    let mut printer = Printer {
        out,
        quiet: plan.quiet,
        failed: failed_tx,
        broken: None,
    };
    let (control, mut controls) = unbounded_channel::<Control<EchoServer>>();
    let (result, stop) = {
        let mut sink = |now, event| printer.event(now, event);
        let run = drive(&mut node, &mut transport, &clock, &mut controls, &mut sink);
        tokio::pin!(run);
        let stop = tokio::select! {
            biased;
            result = &mut run => return Err(drive_error(result.err(), "server")),
            () = interrupt => Stop::Interrupted,
            () = elapsed(plan.duration) => Stop::Elapsed(plan.duration.unwrap_or_default()),
            Some(message) = failed.recv() => Stop::Failed(message),
        };
        drop(control);
        (run.await, stop)
    };
    result.map_err(|e| drive_error(Some(e), "server"))?;
    if let Stop::Failed(message) = stop {
        return Err(ExpectedError::Invalid(message));
    }
    printer.summary(clock.now(), &stop, node.sockets());
    printer.finish()
}

/// A seed for a live core's nonces, tags and transaction ids, from the OS's per-process hash
/// keys (live mode is not replayed).
pub(crate) fn entropy_seed() -> sim_core::Seed {
    use std::hash::{BuildHasher as _, Hasher as _};
    sim_core::Seed::new(
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish(),
    )
}

/// Serves a protocol core until Ctrl-C or `--duration`: one line per socket, one per event
/// (unless `--quiet`), then a summary of the events by name.
async fn serve_core<N: sim_core::Node>(
    plan: &Plan,
    out: &mut dyn Write,
    interrupt: impl Future<Output = ()>,
    core: N,
    log: fn(&N::Event) -> Option<sim_core::LogEvent>,
) -> Result<Exit, ExpectedError> {
    let mut node = core::Served::new(core, log);
    let mut transport = LiveTransport::new(plan.ip);
    let clock = LiveClock::start();
    let (failed_tx, mut failed) = unbounded_channel();
    let mut printer = Printer {
        out,
        quiet: plan.quiet,
        failed: failed_tx,
        broken: None,
    };
    let (control, mut controls) = unbounded_channel::<Control<core::Served<N>>>();
    let (result, stop) = {
        let mut sink = |now: SimInstant, line: core::Line| match line {
            core::Line::Listening(protocol, local) => {
                printer.line(&format!("listening {protocol} {local}"));
            }
            core::Line::BindFailed(binding, error) => {
                let _ = printer.failed.send(bind_failed(binding, &error));
            }
            core::Line::Event(_) if printer.quiet => {}
            core::Line::Event(e) => {
                let status = e.status.map(|s| format!(" {s}")).unwrap_or_default();
                let detail = e.detail.unwrap_or_default();
                printer.line(&format!("{now} {}{status} {detail}", e.name));
            }
        };
        let run = drive(&mut node, &mut transport, &clock, &mut controls, &mut sink);
        tokio::pin!(run);
        let stop = tokio::select! {
            biased;
            result = &mut run => return Err(drive_error(result.err(), "server")),
            () = interrupt => Stop::Interrupted,
            () = elapsed(plan.duration) => Stop::Elapsed(plan.duration.unwrap_or_default()),
            Some(message) = failed.recv() => Stop::Failed(message),
        };
        drop(control);
        (run.await, stop)
    };
    result.map_err(|e| drive_error(Some(e), "server"))?;
    if let Stop::Failed(message) = stop {
        return Err(ExpectedError::Invalid(message));
    }
    printer.line(&format!(
        "summary: ran {}, stopped: {}",
        clock.now(),
        stop.describe()
    ));
    for (protocol, local) in &node.sockets {
        printer.line(&format!("  {protocol} {local}"));
    }
    for (name, n) in &node.counts {
        printer.line(&format!("  {name}: {n}"));
    }
    printer.finish()
}

/// The error for a drive loop that ended by itself (it only ends early on an error); `who`
/// names the core (`server`, `softphone`).
/// How a live endpoint command (`natlab softphone`, `natlab aae`) prints and bounds its run.
pub(crate) struct LiveRun<'a> {
    /// The endpoint, as drive errors name it (`softphone`).
    pub(crate) who: &'static str,
    /// Wall-clock limit of the run.
    pub(crate) timeout: Duration,
    /// Where every event goes, one line each, flushed.
    pub(crate) out: &'a mut dyn Write,
    /// The line of one event.
    pub(crate) render: fn(SimInstant, &sim_core::LogEvent) -> String,
}

/// Drives `node` on real sockets: prints each event, hands it to `react`, and stops when
/// `done` holds (checked every 20 ms), the timeout passes or the driver fails.
pub(crate) async fn drive_live<N>(
    run: LiveRun<'_>,
    node: &mut N,
    transport: &mut LiveTransport,
    controls: &mut tokio::sync::mpsc::UnboundedReceiver<Control<N>>,
    mut react: impl FnMut(&N::Event),
    done: impl Fn() -> bool,
) -> Result<(), ExpectedError>
where
    N: sim_core::Node,
    for<'e> sim_core::LogEvent: From<&'e N::Event>,
{
    let LiveRun {
        who,
        timeout,
        out,
        render,
    } = run;
    let clock = LiveClock::start();
    let mut broken = None;
    {
        let mut sink = |now: SimInstant, event: N::Event| {
            let line = sim_core::LogEvent::from(&event);
            if broken.is_none()
                && let Err(e) = writeln!(out, "{}", render(now, &line)).and_then(|()| out.flush())
            {
                broken = Some(e);
            }
            react(&event);
        };
        let drive = drive(node, transport, &clock, controls, &mut sink);
        tokio::pin!(drive);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                result = &mut drive => return Err(drive_error(result.err(), who)),
                () = &mut deadline => break,
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            if done() {
                break;
            }
        }
    }
    match broken {
        Some(source) => Err(ExpectedError::Write {
            path: "<stdout>".into(),
            source,
        }),
        None => Ok(()),
    }
}

pub(crate) fn drive_error(e: Option<DriveError>, who: &str) -> ExpectedError {
    match e {
        Some(DriveError::Bind { binding, source }) => {
            ExpectedError::Invalid(bind_failed(binding, &source))
        }
        Some(DriveError::Transport(e)) => ExpectedError::Unreadable(format!("socket failed: {e}")),
        None => ExpectedError::Unreadable(format!("the {who} stopped by itself")),
    }
}

/// Waits for Ctrl-C. The handler is installed when this is called, not when the future is first
/// polled: a SIGINT sent as soon as the listening lines are read is caught, not fatal.
#[cfg(unix)]
fn interrupt() -> io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigint = signal(SignalKind::interrupt())?;
    Ok(async move {
        sigint.recv().await;
    })
}

/// Waits for Ctrl-C.
#[cfg(not(unix))]
fn interrupt() -> io::Result<impl Future<Output = ()>> {
    let mut ctrl_c = tokio::signal::windows::ctrl_c()?;
    Ok(async move {
        ctrl_c.recv().await;
    })
}

async fn elapsed(duration: Option<Duration>) {
    match duration {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Writes the server's lines to stdout as they happen.
struct Printer<'a> {
    out: &'a mut dyn Write,
    quiet: bool,
    /// Where a fatal event goes (it stops the server).
    failed: UnboundedSender<String>,
    /// The first write error; nothing more is written after it.
    broken: Option<io::Error>,
}

impl Printer<'_> {
    fn event(&mut self, now: SimInstant, event: ServeEvent) {
        match event {
            ServeEvent::Listening { protocol, local } => {
                self.line(&format!("listening {protocol} {local}"));
            }
            ServeEvent::BindFailed { binding, error } => {
                let message = bind_failed(binding, &error);
                let _ = self.failed.send(message);
            }
            ServeEvent::Probe(_) if self.quiet => {}
            ServeEvent::Probe(o) => {
                let e = o.log_event();
                let detail = e.detail.unwrap_or_default();
                self.line(&format!("{now} {} {detail}", e.name));
            }
        }
    }

    fn summary<'s>(
        &mut self,
        now: SimInstant,
        stop: &Stop,
        sockets: impl Iterator<Item = &'s Socket>,
    ) {
        self.line(&format!("summary: ran {now}, stopped: {}", stop.describe()));
        for s in sockets {
            let c = s.counts;
            let line = match s.protocol {
                Protocol::Udp => format!(
                    "  udp {}  datagrams received {}, sent {}, echoes sent {}",
                    s.local, c.received, c.sent, c.echoes
                ),
                Protocol::Tcp => format!(
                    "  tcp {}  streams received {}, sent {}, echoes sent {}",
                    s.local, c.received, c.sent, c.echoes
                ),
            };
            self.line(&line);
        }
    }

    fn line(&mut self, line: &str) {
        if self.broken.is_some() {
            return;
        }
        if let Err(e) = writeln!(self.out, "{line}").and_then(|()| self.out.flush()) {
            self.broken = Some(e);
        }
    }

    fn finish(self) -> Result<Exit, ExpectedError> {
        match self.broken {
            None => Ok(Exit::Ok),
            Some(source) => Err(ExpectedError::Write {
                path: PathBuf::from("<stdout>"),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::BindAddr;

    fn args(bind: &str, ports: &[u16]) -> ServeArgs {
        ServeArgs {
            kind: ServeKind::Echo,
            bind: bind.parse().expect("address"),
            ports: ports.to_vec(),
            allow_non_loopback: false,
            duration: None,
            quiet: false,
            accounts: None,
            domain: None,
        }
    }

    #[test]
    fn plan_loopback_bind_with_port_listens_there_and_on_extra_ports() {
        let plan = plan(&args("127.0.0.1:5060", &[5062])).expect("plan");
        assert_eq!(plan.ports, vec![5060, 5062]);
        assert_eq!(plan.ip, IpAddr::from([127, 0, 0, 1]));
    }

    #[test]
    fn plan_bare_ip_without_ports_takes_any_free_port() {
        let plan = plan(&args("::1", &[])).expect("plan");
        assert_eq!(plan.ports, vec![0]);
        let bracketed: BindAddr = "[::1]".parse().expect("address");
        assert_eq!(bracketed.port, None);
    }

    #[test]
    fn plan_non_loopback_without_flag_is_refused_naming_the_flag() {
        let e = plan(&args("192.0.2.1:5060", &[])).expect_err("refused");
        assert_eq!(e.exit(), Exit::Invalid);
        assert!(e.to_string().contains("--allow-non-loopback"), "{e}");
        let allowed = ServeArgs {
            allow_non_loopback: true,
            ..args("192.0.2.1:5060", &[])
        };
        assert!(plan(&allowed).is_ok());
    }

    #[test]
    fn plan_same_port_twice_is_refused() {
        let e = plan(&args("127.0.0.1:5060", &[5060])).expect_err("refused");
        assert!(e.to_string().contains("5060"), "{e}");
        assert!(
            plan(&args("127.0.0.1:0", &[0])).is_ok(),
            "two free ports are fine"
        );
    }

    #[test]
    fn bind_addr_garbage_is_an_error_with_an_example() {
        let e = "localhost:x"
            .parse::<BindAddr>()
            .expect_err("not an address");
        assert!(e.to_string().contains("127.0.0.1:5060"), "{e}");
    }
}
