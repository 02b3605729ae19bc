//! The streams multiplexed inside one tunnel: who may open which id, half-close, counters.

use crate::event::{StreamCounters, StreamId, StreamStats};
use std::collections::BTreeMap;

/// Why a stream operation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The tunnel is not connected (still in the handshake, or ended).
    #[error("tunnel is not connected")]
    NotConnected,
    /// No such open stream.
    #[error("stream {0} is not open")]
    UnknownStream(StreamId),
    /// The local side already finished the stream.
    #[error("stream {0} is already finished")]
    Finished(StreamId),
    /// [`crate::TunnelConfig::max_streams`] streams are open.
    #[error("{0} streams are open already")]
    TooManyStreams(usize),
    /// The write does not fit the send buffer; nothing of it was taken.
    #[error(
        "write of {requested} bytes does not fit the {available} bytes free in the send buffer"
    )]
    BufferFull {
        /// Bytes the write asked for.
        requested: usize,
        /// Bytes free now.
        available: usize,
    },
}

#[derive(Clone, Debug, Default)]
struct Stream {
    local_fin: bool,
    peer_fin: bool,
    counters: StreamCounters,
}

/// What a frame from the peer did to the stream table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PeerFrame {
    Opened,
    Data,
    Finished { closed: Option<StreamStats> },
    Violation,
}

/// The stream table of one tunnel.
#[derive(Clone, Debug)]
pub(crate) struct Streams {
    open: BTreeMap<u32, Stream>,
    next_local: u32,
    highest_peer: u32,
    local_parity: u32,
    max: usize,
}

impl Streams {
    /// `caller` numbers its streams odd, the callee even.
    pub(crate) const fn new(caller: bool, max: usize) -> Self {
        let first = if caller { 1 } else { 2 };
        Self {
            open: BTreeMap::new(),
            next_local: first,
            highest_peer: 0,
            local_parity: first % 2,
            max,
        }
    }

    pub(crate) fn open_local(&mut self) -> Result<StreamId, StreamError> {
        if self.open.len() >= self.max {
            return Err(StreamError::TooManyStreams(self.open.len()));
        }
        let id = self.next_local;
        self.next_local = self.next_local.wrapping_add(2);
        self.open.insert(id, Stream::default());
        Ok(StreamId(id))
    }

    /// Checks that the local side may write to `id`.
    pub(crate) fn writable(&self, id: StreamId) -> Result<(), StreamError> {
        match self.open.get(&id.0) {
            None => Err(StreamError::UnknownStream(id)),
            Some(s) if s.local_fin => Err(StreamError::Finished(id)),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn on_written(&mut self, id: StreamId, bytes: &[u8]) {
        if let Some(s) = self.open.get_mut(&id.0) {
            s.counters.on_sent(bytes);
        }
    }

    /// Marks the local side finished; returns the final stats if the peer had finished too.
    pub(crate) fn finish_local(
        &mut self,
        id: StreamId,
    ) -> Result<Option<StreamStats>, StreamError> {
        self.writable(id)?;
        let Some(s) = self.open.get_mut(&id.0) else {
            return Err(StreamError::UnknownStream(id));
        };
        s.local_fin = true;
        Ok(self.remove_if_done(id.0))
    }

    pub(crate) fn stats(&self, id: StreamId) -> Option<StreamStats> {
        self.open.get(&id.0).map(|s| s.counters.snapshot())
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.open.keys().map(|&k| StreamId(k))
    }

    pub(crate) fn on_peer_open(&mut self, id: u32) -> PeerFrame {
        let peer_parity = 1 - self.local_parity;
        if id % 2 != peer_parity
            || id <= self.highest_peer
            || self.open.contains_key(&id)
            || self.open.len() >= self.max
        {
            return PeerFrame::Violation;
        }
        self.highest_peer = id;
        self.open.insert(id, Stream::default());
        PeerFrame::Opened
    }

    pub(crate) fn on_peer_data(&mut self, id: u32, bytes: &[u8]) -> PeerFrame {
        match self.open.get_mut(&id) {
            Some(s) if !s.peer_fin => {
                s.counters.on_received(bytes);
                PeerFrame::Data
            }
            _ => PeerFrame::Violation,
        }
    }

    pub(crate) fn on_peer_fin(&mut self, id: u32) -> PeerFrame {
        match self.open.get_mut(&id) {
            Some(s) if !s.peer_fin => {
                s.peer_fin = true;
                PeerFrame::Finished {
                    closed: self.remove_if_done(id),
                }
            }
            _ => PeerFrame::Violation,
        }
    }

    fn remove_if_done(&mut self, id: u32) -> Option<StreamStats> {
        let s = self.open.get(&id).filter(|s| s.local_fin && s.peer_fin)?;
        let stats = s.counters.snapshot();
        self.open.remove(&id);
        Some(stats)
    }
}
