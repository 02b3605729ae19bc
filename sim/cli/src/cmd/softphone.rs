//! `natlab softphone`: the simulator's softphone core on real sockets against a real SIP server
//! (natlab's own, kamailio, an operator's trunk): it registers, optionally places one call and
//! hangs it up, and prints every SDK callback. Live mode keeps the OS's entropy.

use super::serve::{LiveRun, drive_live, entropy_seed};
use crate::args::{SipTransportArg, SoftphoneArgs};
use crate::exit::{Exit, ExpectedError};
use sim_core::{LogEvent, SimInstant};
use sim_driver::Control;
use sim_driver::live::LiveTransport;
use sim_sip::ua::SipTransport;
use sim_sip::{Softphone, SoftphoneConfig, SoftphoneEvent};
use std::io::Write;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// How the run went, as the sink sees it.
#[derive(Debug, Default)]
struct Progress {
    registered: bool,
    answered: bool,
    done: bool,
    failed: Option<String>,
}

pub(crate) fn run(args: &SoftphoneArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    if !args.bind.is_loopback() && !args.allow_non_loopback {
        return Err(ExpectedError::Invalid(format!(
            "refusing to use {}: not a loopback address; pass --allow-non-loopback",
            args.bind
        )));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ExpectedError::Invalid(format!("cannot start the runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    runtime.block_on(local.run_until(phone(args, out)))
}

async fn phone(args: &SoftphoneArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let domain = args
        .domain
        .clone()
        .unwrap_or_else(|| args.server.ip().to_string());
    let mut config = SoftphoneConfig::new(&args.user, &args.password, &domain, args.server);
    config.local_port = 0;
    config.rtp_port = 0;
    config.transport = match args.transport {
        SipTransportArg::Udp => SipTransport::Udp,
        SipTransportArg::Tcp => SipTransport::Tcp,
    };
    let mut node = Softphone::new(config, entropy_seed().rng());
    let mut transport = LiveTransport::new(args.bind);
    let (control, mut controls) = unbounded_channel::<Control<Softphone>>();
    let _ = control.send(Box::new(|p: &mut Softphone, now| {
        let _ = p.register(now);
    }));
    let progress = std::rc::Rc::new(std::cell::RefCell::new(Progress::default()));
    let call = args.call.clone();
    let hangup_after = args.hangup_after.get();
    let commands = control.clone();
    let run = LiveRun {
        who: "softphone",
        timeout: args.timeout.get(),
        out: &mut *out,
        render,
    };
    let outcome = drive_live(
        run,
        &mut node,
        &mut transport,
        &mut controls,
        |event| react(&progress, event, call.as_deref(), hangup_after, &commands),
        || progress.borrow().done,
    )
    .await;
    drop(control);
    outcome?;
    let progress = std::mem::take(&mut *progress.borrow_mut());
    let ok = progress.registered && (args.call.is_none() || progress.answered);
    let _ = writeln!(
        out,
        "summary: registered {}, {}",
        progress.registered,
        match (&args.call, progress.answered, &progress.failed) {
            (None, _, _) => "no call".to_owned(),
            (Some(_), true, _) => "call answered".to_owned(),
            (Some(_), false, Some(why)) => format!("call failed: {why}"),
            (Some(_), false, None) => "call not answered in time".to_owned(),
        }
    );
    Ok(if ok { Exit::Ok } else { Exit::Failed })
}

/// Next steps after a callback: call once registered, hang up once answered (the BYE's answer
/// gets a second), stop at the end.
fn react(
    shared: &std::rc::Rc<std::cell::RefCell<Progress>>,
    event: &SoftphoneEvent,
    call: Option<&str>,
    hangup_after: std::time::Duration,
    commands: &UnboundedSender<Control<Softphone>>,
) {
    let mut progress = shared.borrow_mut();
    match event {
        SoftphoneEvent::RegisterSuccess { .. } if !progress.registered => {
            progress.registered = true;
            match call {
                Some(to) => {
                    let to = to.to_owned();
                    let _ = commands.send(Box::new(move |p: &mut Softphone, now| {
                        let _ = p.call(now, &to, &[]);
                    }));
                }
                None => progress.done = true,
            }
        }
        SoftphoneEvent::RegisterFailure { status, reason } => {
            progress.failed = Some(format!("{status} {reason}"));
            progress.done = true;
        }
        SoftphoneEvent::InviteConnected { session } => {
            progress.answered = true;
            let session = *session;
            let commands = commands.clone();
            let shared = std::rc::Rc::clone(shared);
            tokio::task::spawn_local(async move {
                tokio::time::sleep(hangup_after).await;
                let _ = commands.send(Box::new(move |p: &mut Softphone, now| {
                    let _ = p.hangup(now, session);
                }));
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                shared.borrow_mut().done = true;
            });
        }
        SoftphoneEvent::InviteFailure { status, reason, .. } => {
            progress.failed = Some(format!("{status} {reason}"));
            progress.done = true;
        }
        SoftphoneEvent::InviteClosed { .. } => progress.done = true,
        _ => {}
    }
}

fn render(now: SimInstant, e: &LogEvent) -> String {
    let status = e.status.map(|s| format!(" {s}")).unwrap_or_default();
    let detail = e.detail.as_deref().unwrap_or_default();
    format!("{now} {}{status} {detail}", e.name)
}
