//! The analysis runs on two threads. The reader thread reads the file, decodes frames, scans SIP,
//! summarises SDP, makes the NAT observations and hashes Call-IDs; it hands batches of prepared
//! messages to the correlating thread (the caller's), which follows calls and transactions and
//! makes the diagnoses. Batches are recycled, so the steady state allocates nothing per message.
//! The order of messages is kept, so results are the same as on one thread.

use crate::accounting::{Accounting, Class};
use crate::capture::{CaptureReader, Format, LinkType, Record};
use crate::correlate::{CallIdHash, Correlator, Recovery, message_sdp};
use crate::decode::{Decoder, EventSink, PacketMeta};
use crate::findings::nat::NatTracker;
use crate::media::tracker::MediaTracker;
use crate::sip::sdp::SdpSummary;
use crate::sip::{Scanned, SipMessage};
use crate::stun::StunMessage;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

/// Messages per batch.
const BATCH_EVENTS: usize = 1024;
/// Message bytes per batch.
const BATCH_BYTES: usize = 512 * 1024;
/// Batches in flight between the threads.
const IN_FLIGHT: usize = 4;

/// One decoded message, ready for the correlator. SIP messages dominate, so their variant is
/// kept inline (no allocation per message) although it is the large one.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Event {
    Sip {
        meta: PacketMeta,
        start: usize,
        len: usize,
        fields: Scanned,
        sdp: Option<SdpSummary>,
        id: CallIdHash,
    },
    Stun(PacketMeta, Box<StunMessage>),
    Unreachable(u64, i64, SocketAddr),
}

#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    events: Vec<Event>,
    /// Bytes of the capture consumed when the batch was sent.
    consumed: u64,
    first_ts: Option<i64>,
}

/// What the reader thread learnt about the file.
#[derive(Debug)]
pub(crate) struct ReaderSide {
    pub(crate) acct: Accounting,
    pub(crate) nat: NatTracker,
    pub(crate) media: MediaTracker,
    pub(crate) format: Format,
    pub(crate) link_types: Vec<LinkType>,
    pub(crate) bytes: u64,
    pub(crate) read_error: Option<String>,
    pub(crate) first_ts: Option<i64>,
    pub(crate) last_ts: Option<i64>,
}

/// Runs the reader thread over `reader` and feeds `corr` on this thread.
pub(crate) fn run<R: Read + Send>(
    reader: CaptureReader<R>,
    corr: &mut Correlator,
    media: MediaTracker,
    progress: &mut dyn FnMut(u64),
) -> ReaderSide {
    let (tx, rx) = sync_channel::<Batch>(IN_FLIGHT);
    let (back_tx, back_rx) = channel::<Batch>();
    std::thread::scope(|s| {
        let handle = s.spawn(move || read_all(reader, media, &tx, &back_rx));
        for mut batch in rx {
            if let Some(t) = batch.first_ts {
                corr.set_first_ts(t);
            }
            feed(corr, &batch);
            progress(batch.consumed);
            batch.bytes.clear();
            batch.events.clear();
            batch.first_ts = None;
            // The reader may have finished: a failed send only drops the batch.
            let _ = back_tx.send(batch);
        }
        match handle.join() {
            Ok(side) => side,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn feed(corr: &mut Correlator, batch: &Batch) {
    for ev in &batch.events {
        match ev {
            Event::Sip {
                meta,
                start,
                len,
                fields,
                sdp,
                id,
            } => {
                let bytes = batch.bytes.get(*start..start + len).unwrap_or_default();
                let msg = SipMessage { bytes, fields };
                corr.sip_prepared(meta, &msg, sdp.as_ref(), *id);
            }
            Event::Stun(meta, m) => corr.stun(meta, m),
            Event::Unreachable(frame, ts, target) => corr.unreachable(*frame, *ts, *target),
        }
    }
}

/// The reader thread: records in, batches out.
fn read_all<R: Read>(
    mut reader: CaptureReader<R>,
    mut media: MediaTracker,
    tx: &SyncSender<Batch>,
    back: &Receiver<Batch>,
) -> ReaderSide {
    let mut decoder = Decoder::default();
    let mut nat = NatTracker::default();
    let mut recovery = Recovery::default();
    let mut batch = Batch::default();
    let (mut first_ts, mut last_ts) = (None, None);
    while let Some(rec) = reader.next_record() {
        if let Record::Packet(f) = &rec {
            if first_ts.is_none() {
                first_ts = Some(f.ts_ns);
                batch.first_ts = Some(f.ts_ns);
                media.set_t0(f.ts_ns);
            }
            last_ts = Some(last_ts.map_or(f.ts_ns, |l: i64| l.max(f.ts_ns)));
        }
        let mut sink = Collector {
            batch: &mut batch,
            nat: &mut nat,
            media: &mut media,
            end: None,
            recovery: &mut recovery,
        };
        decoder.record(&rec, &mut sink);
        if batch.events.len() >= BATCH_EVENTS || batch.bytes.len() >= BATCH_BYTES {
            batch.consumed = reader.bytes_consumed();
            let next = back.try_recv().unwrap_or_default();
            if tx.send(std::mem::replace(&mut batch, next)).is_err() {
                break;
            }
        }
    }
    let mut sink = Collector {
        batch: &mut batch,
        nat: &mut nat,
        media: &mut media,
        end: last_ts,
        recovery: &mut recovery,
    };
    let acct = decoder.finish(&mut sink);
    batch.consumed = reader.bytes_consumed();
    let _ = tx.send(batch);
    ReaderSide {
        acct,
        nat,
        media,
        format: reader.format(),
        link_types: reader.link_types().iter().copied().collect(),
        bytes: reader.bytes_consumed(),
        read_error: reader.take_read_error().map(|e| e.to_string()),
        first_ts,
        last_ts,
    }
}

/// The decoder's sink on the reader thread: prepares messages into the current batch.
struct Collector<'a> {
    batch: &'a mut Batch,
    nat: &'a mut NatTracker,
    media: &'a mut MediaTracker,
    /// The last timestamp of the capture (set for the final flush).
    end: Option<i64>,
    recovery: &'a mut Recovery,
}

impl EventSink for Collector<'_> {
    fn sip(&mut self, meta: &PacketMeta, msg: SipMessage<'_>) {
        let sdp = message_sdp(&msg);
        self.nat.on_sip(meta, &msg, sdp.as_ref());
        let id = self.recovery.id(&msg);
        self.media.on_sip(meta, &msg, sdp.is_some(), id);
        let start = self.batch.bytes.len();
        self.batch.bytes.extend_from_slice(msg.bytes);
        self.batch.events.push(Event::Sip {
            meta: *meta,
            start,
            len: msg.bytes.len(),
            fields: *msg.fields,
            sdp,
            id,
        });
    }

    fn stun(&mut self, meta: &PacketMeta, msg: &StunMessage) {
        self.batch
            .events
            .push(Event::Stun(*meta, Box::new(msg.clone())));
    }

    fn unreachable(&mut self, frame: u64, ts_ns: i64, target: SocketAddr) {
        self.media.on_unreachable(frame, ts_ns, target);
        self.batch
            .events
            .push(Event::Unreachable(frame, ts_ns, target));
    }

    fn media(&mut self, meta: &PacketMeta, payload: &[u8], acct: &mut Accounting) -> Option<Class> {
        self.media.on_packet(meta, payload, acct)
    }

    fn finish_media(&mut self, acct: &mut Accounting) {
        self.media.finish(acct, self.end.unwrap_or(0));
    }
}
