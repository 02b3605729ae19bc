//! Live UDP: one socket per bound port and a reader task per socket.

use super::Note;
use crate::Incoming;
use bytes::Bytes;
use sim_core::Datagram;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

/// Largest datagram the live transport receives.
const MAX_DATAGRAM: usize = 65_535;

/// A bound UDP socket and the task that reads it. Dropping it stops the reader; the socket
/// closes when the stopped task is dropped, on the next turn of the `LocalSet`.
#[derive(Debug)]
pub(super) struct UdpPort {
    socket: Rc<UdpSocket>,
    reader: JoinHandle<()>,
}

impl UdpPort {
    /// Binds `addr` (port 0: any free port) and starts reading it into `notes`.
    pub(super) fn bind(addr: SocketAddr, notes: UnboundedSender<Note>) -> io::Result<Self> {
        let std = std::net::UdpSocket::bind(addr)?;
        std.set_nonblocking(true)?;
        let socket = Rc::new(UdpSocket::from_std(std)?);
        let local = socket.local_addr()?;
        let reader = tokio::task::spawn_local(read(Rc::clone(&socket), local, notes));
        Ok(Self { socket, reader })
    }

    /// The socket's local address, with its real port.
    pub(super) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Sends `payload` to `dst` from this socket.
    pub(super) async fn send_to(&self, payload: &[u8], dst: SocketAddr) -> io::Result<()> {
        self.socket.send_to(payload, dst).await.map(drop)
    }
}

impl Drop for UdpPort {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Reads datagrams until the transport goes away.
async fn read(socket: Rc<UdpSocket>, local: SocketAddr, notes: UnboundedSender<Note>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let input = socket.recv_from(&mut buf).await.map(|(len, src)| {
            let payload = Bytes::copy_from_slice(buf.get(..len).unwrap_or_default());
            Incoming::Datagram(Datagram {
                src,
                dst: local,
                payload,
            })
        });
        if notes.send(Note::Input(input)).is_err() {
            return;
        }
    }
}
