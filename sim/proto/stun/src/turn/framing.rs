//! ChannelData (RFC 5766 §11.4) and the framing of STUN and ChannelData over a TCP stream
//! (RFC 5766 §11.5: STUN messages delimit themselves; ChannelData is padded to 4 bytes).

/// The first and last valid channel numbers (RFC 5766 §11).
pub(crate) const CHANNELS: std::ops::RangeInclusive<u16> = 0x4000..=0x7FFF;

/// A ChannelData message; padded to a multiple of 4 bytes when `pad` (mandatory over TCP).
pub(crate) fn channel_data(number: u16, data: &[u8], pad: bool) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(4 + data.len() + 3);
    out.extend_from_slice(&number.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data.get(..usize::from(len)).unwrap_or(data));
    if pad {
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

/// A ChannelData datagram's channel and payload, or `None` if it is not one. Over UDP the
/// padding may be absent (RFC 5766 §11.5).
pub(crate) fn parse_channel_data(buf: &[u8]) -> Option<(u16, &[u8])> {
    let number = u16::from_be_bytes([*buf.first()?, *buf.get(1)?]);
    let len = usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]));
    if !CHANNELS.contains(&number) {
        return None;
    }
    Some((number, buf.get(4..4 + len)?))
}

/// One message cut from a TCP stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A STUN message.
    Stun(Vec<u8>),
    /// A ChannelData message (channel, payload).
    ChannelData(u16, Vec<u8>),
}

/// Bytes received on a TCP connection, not yet cut into frames.
#[derive(Clone, Debug, Default)]
pub(crate) struct StreamBuf {
    buf: Vec<u8>,
}

/// The stream carries something that is neither STUN nor ChannelData.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadFraming;

impl StreamBuf {
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame>, BadFraming> {
        let Some(header) = self.buf.get(..4) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let (total, stun) = match header[0] >> 6 {
            0b00 => (20 + len, true),
            0b01 => ((4 + len).next_multiple_of(4), false),
            _ => return Err(BadFraming),
        };
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..total).collect();
        if stun {
            return Ok(Some(Frame::Stun(frame)));
        }
        let number = u16::from_be_bytes([frame[0], frame[1]]);
        let data = frame.get(4..4 + len).unwrap_or_default().to_vec();
        Ok(Some(Frame::ChannelData(number, data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_channel_data_round_trips_padded_and_unpadded() {
        let unpadded = channel_data(0x4001, b"hello", false);
        assert_eq!(unpadded.len(), 9);
        assert_eq!(parse_channel_data(&unpadded), Some((0x4001, &b"hello"[..])));
        let padded = channel_data(0x4001, b"hello", true);
        assert_eq!(padded.len(), 12);
        assert_eq!(parse_channel_data(&padded), Some((0x4001, &b"hello"[..])));
        assert_eq!(parse_channel_data(&channel_data(0x3fff, b"x", false)), None);
        assert_eq!(parse_channel_data(&unpadded[..8]), None);
    }

    #[test]
    fn framing_stream_cuts_stun_and_padded_channel_data_byte_by_byte() {
        let mut stun = vec![0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[7; 12]);
        stun.extend_from_slice(&[0x80, 0x22, 0x00, 0x00]);
        let cd = channel_data(0x4000, b"abc", true);
        let stream: Vec<u8> = [stun.clone(), cd, stun.clone()].concat();
        let mut buf = StreamBuf::default();
        let mut frames = Vec::new();
        for b in stream {
            buf.push(&[b]);
            while let Some(f) = buf.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(
            frames,
            [
                Frame::Stun(stun.clone()),
                Frame::ChannelData(0x4000, b"abc".to_vec()),
                Frame::Stun(stun)
            ]
        );
        let mut bad = StreamBuf::default();
        bad.push(&[0xc0, 0x01, 0x00, 0x00]);
        assert_eq!(bad.next_frame(), Err(BadFraming));
    }
}
