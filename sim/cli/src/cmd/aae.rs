//! `natlab aae`: the simulator's AAE endpoint core on real sockets against a real relay SIP
//! server and STUN/TURN server (kamailio and coturn, natlab's own): it initialises, optionally
//! makes a tunnel to a device and writes bytes through it, or answers calls and reports what
//! arrived (bytes and SHA-256); every SDK event is printed as it happens. Live mode keeps the
//! OS's entropy.

use super::serve::{LiveRun, drive_live, entropy_seed};
use crate::args::{AaeArgs, IcePolicyArg};
use crate::exit::{Exit, ExpectedError};
use sim_aae::{AaeConfig, AaeEndpoint, AaeEvent, EventCode};
use sim_core::{LogEvent, SimInstant};
use sim_driver::Control;
use sim_driver::live::LiveTransport;
use sim_ice::{IcePolicy, TurnServer, TurnTransport};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// How the run went, as the sink sees it.
#[derive(Debug, Default)]
struct Progress {
    initialised: bool,
    tunnel_up: bool,
    sent: u64,
    received: Option<(u64, String)>,
    done: bool,
    failed: Option<String>,
}

pub(crate) fn run(args: &AaeArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    if !args.bind.is_loopback() && !args.allow_non_loopback {
        return Err(ExpectedError::Invalid(format!(
            "refusing to use {}: not a loopback address; pass --allow-non-loopback",
            args.bind
        )));
    }
    if args.call.is_none() && args.expect_bytes.is_none() {
        return Err(ExpectedError::Invalid(
            "nothing to do: give --call DEVICE or --expect-bytes BYTES".into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExpectedError::Invalid(format!("cannot start the runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    runtime.block_on(local.run_until(endpoint(args, out)))
}

fn config(args: &AaeArgs) -> AaeConfig {
    let mut cfg = AaeConfig::new(&args.device_id, &args.ticket, args.server);
    cfg.domain = args
        .domain
        .clone()
        .unwrap_or_else(|| args.server.ip().to_string());
    cfg.sip_port = 0;
    cfg.stun_server = args.stun;
    cfg.turn = args.turn.map(|addr| TurnServer {
        addr,
        transport: TurnTransport::Udp,
        username: args.turn_user.clone().unwrap_or_default(),
        password: args.turn_password.clone().unwrap_or_default(),
    });
    cfg.ice_policy = match args.ice_policy {
        IcePolicyArg::All => IcePolicy::All,
        IcePolicyArg::Relay => IcePolicy::Relay,
    };
    cfg
}

async fn endpoint(args: &AaeArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let mut node = AaeEndpoint::new(config(args), entropy_seed());
    let mut transport = LiveTransport::new(args.bind);
    let (control, mut controls) = unbounded_channel::<Control<AaeEndpoint>>();
    let _ = control.send(Box::new(|e: &mut AaeEndpoint, now| e.init(now)));
    let progress = Rc::new(RefCell::new(Progress::default()));
    let commands = control.clone();
    let run = LiveRun {
        who: "endpoint",
        timeout: args.timeout.get(),
        out: &mut *out,
        render,
    };
    let outcome = drive_live(
        run,
        &mut node,
        &mut transport,
        &mut controls,
        |event| react(&progress, event, args, &commands),
        || progress.borrow().done,
    )
    .await;
    drop(control);
    outcome?;
    let p = std::mem::take(&mut *progress.borrow_mut());
    let call_ok = args.call.is_none() || (p.tunnel_up && p.sent == args.send);
    let expect_ok = args
        .expect_bytes
        .is_none_or(|n| p.received.as_ref().is_some_and(|(b, _)| *b >= n));
    let ok = p.initialised && call_ok && expect_ok && p.failed.is_none();
    let received = p.received.map_or_else(
        || "received 0".to_owned(),
        |(b, h)| format!("received {b} sha256 {h}"),
    );
    let _ = writeln!(
        out,
        "summary: initialised {}, tunnel up {}, sent {}, {received}{}",
        p.initialised,
        p.tunnel_up,
        p.sent,
        p.failed
            .map(|f| format!(", failed: {f}"))
            .unwrap_or_default()
    );
    Ok(if ok { Exit::Ok } else { Exit::Failed })
}

/// Next steps after an event: call once initialised, write the bytes once the tunnel is up;
/// the callee hangs up once the expected bytes arrived; stop when the call ends.
fn react(
    shared: &Rc<RefCell<Progress>>,
    event: &AaeEvent,
    args: &AaeArgs,
    commands: &UnboundedSender<Control<AaeEndpoint>>,
) {
    let mut p = shared.borrow_mut();
    match event {
        AaeEvent::Sdk { code, status, .. } => match code {
            EventCode::InitOk => {
                p.initialised = true;
                if let Some(to) = args.call.clone() {
                    let ports = args.ports.clone();
                    let timeout = args.call_timeout.get();
                    let _ = commands.send(Box::new(move |e: &mut AaeEndpoint, now| {
                        let _ = e.make_call(now, &to, &ports, timeout);
                    }));
                }
            }
            EventCode::InitFailed | EventCode::MakeCallFailed => {
                p.failed = Some(format!("{} {}", code.code(), status.unwrap_or_default()));
                p.done = true;
            }
            EventCode::TunnelStart => p.tunnel_up = true,
            EventCode::MakeCallOk if args.send > 0 => {
                let n = args.send;
                let _ = commands.send(Box::new(move |e: &mut AaeEndpoint, now| {
                    e.send_data(now, n);
                }));
            }
            EventCode::Disconnected if args.call.is_some() || p.received.is_some() => {
                p.done = true;
            }
            _ => {}
        },
        AaeEvent::DataSent { bytes, .. } => p.sent = *bytes,
        AaeEvent::DataDropped { bytes, reason } => {
            p.failed = Some(format!("{bytes} bytes dropped: {reason}"));
            p.done = true;
        }
        AaeEvent::Data { bytes, sha256, .. } => {
            let before = p.received.as_ref().map_or(0, |(b, _)| *b);
            p.received = Some((*bytes, sha256.clone()));
            if args.expect_bytes.is_some_and(|n| before < n && *bytes >= n) {
                let _ = commands.send(Box::new(|e: &mut AaeEndpoint, now| e.hangup(now)));
            }
        }
        _ => {}
    }
}

fn render(now: SimInstant, e: &LogEvent) -> String {
    let code = e.code.map(|c| format!(" {c}")).unwrap_or_default();
    let status = e.status.map(|s| format!(" status={s}")).unwrap_or_default();
    let detail = e.detail.as_deref().unwrap_or_default();
    format!("{now} {}{code}{status} {detail}", e.name)
}
