//! Writing capture containers: classic pcap in either byte order and resolution, and pcapng with
//! any number of interfaces.

/// Classic pcap options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcapOptions {
    /// `LINKTYPE_*` of every record.
    pub linktype: u32,
    /// Nanosecond timestamps (magic `a1b23c4d`) instead of microseconds.
    pub nanos: bool,
    /// Big-endian headers.
    pub big_endian: bool,
    /// Snapshot length declared in the header.
    pub snaplen: u32,
}

impl PcapOptions {
    /// Little-endian, microseconds, snaplen 262144.
    pub const fn new(linktype: u32) -> Self {
        Self {
            linktype,
            nanos: false,
            big_endian: false,
            snaplen: 262_144,
        }
    }
}

/// A classic pcap being built in memory.
#[derive(Clone, Debug)]
pub struct PcapFile {
    opts: PcapOptions,
    bytes: Vec<u8>,
}

impl PcapFile {
    /// A file with just its header.
    pub fn new(opts: PcapOptions) -> Self {
        let magic: u32 = if opts.nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 };
        let mut f = Self {
            opts,
            bytes: Vec::new(),
        };
        f.u32(magic);
        f.u16(2);
        f.u16(4);
        f.u32(0);
        f.u32(0);
        f.u32(opts.snaplen);
        f.u32(opts.linktype);
        f
    }

    /// Appends a record; `ts_ns` is nanoseconds since the epoch.
    pub fn push(&mut self, ts_ns: i64, data: &[u8]) {
        self.push_truncated(ts_ns, data, data.len());
    }

    /// Appends a record holding only the first `keep` bytes of `data` (as a small snaplen would).
    pub fn push_truncated(&mut self, ts_ns: i64, data: &[u8], keep: usize) {
        let keep = keep.min(data.len());
        let secs = u32::try_from(ts_ns.div_euclid(1_000_000_000)).unwrap_or(0);
        let ns = u32::try_from(ts_ns.rem_euclid(1_000_000_000)).unwrap_or(0);
        let frac = if self.opts.nanos { ns } else { ns / 1_000 };
        self.u32(secs);
        self.u32(frac);
        self.u32(u32::try_from(keep).unwrap_or(u32::MAX));
        self.u32(u32::try_from(data.len()).unwrap_or(u32::MAX));
        self.bytes
            .extend_from_slice(data.get(..keep).unwrap_or_default());
    }

    /// Appends raw bytes (to build corrupt files).
    pub fn push_raw(&mut self, raw: &[u8]) {
        self.bytes.extend_from_slice(raw);
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The file's bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn u32(&mut self, v: u32) {
        let b = if self.opts.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    fn u16(&mut self, v: u16) {
        let b = if self.opts.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }
}

/// A little-endian pcapng being built in memory.
#[derive(Clone, Debug, Default)]
pub struct PcapNgFile {
    bytes: Vec<u8>,
    nanos: Vec<bool>,
}

impl PcapNgFile {
    /// A file with a section header block.
    pub fn new() -> Self {
        let mut f = Self::default();
        let mut body = Vec::new();
        body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        f.block(0x0A0D_0D0A, &body);
        f
    }

    /// Declares an interface; returns its id. `nanos` sets `if_tsresol` to 9 (default: µs).
    pub fn interface(&mut self, linktype: u32, nanos: bool) -> u32 {
        let mut body = Vec::new();
        body.extend_from_slice(&u16::try_from(linktype).unwrap_or(0).to_le_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&262_144u32.to_le_bytes());
        if nanos {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[9, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]);
        }
        self.block(1, &body);
        self.nanos.push(nanos);
        u32::try_from(self.nanos.len() - 1).unwrap_or(0)
    }

    /// Appends an enhanced packet block.
    pub fn packet(&mut self, interface: u32, ts_ns: i64, data: &[u8]) {
        let nanos = self.nanos.get(interface as usize).copied().unwrap_or(false);
        let units = u64::try_from(if nanos { ts_ns } else { ts_ns / 1_000 }).unwrap_or(0);
        let mut body = Vec::with_capacity(20 + data.len() + 3);
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&u32::try_from(units >> 32).unwrap_or(0).to_le_bytes());
        body.extend_from_slice(
            &u32::try_from(units & 0xFFFF_FFFF)
                .unwrap_or(0)
                .to_le_bytes(),
        );
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes();
        body.extend_from_slice(&len);
        body.extend_from_slice(&len);
        body.extend_from_slice(data);
        self.block(6, &body);
    }

    /// Appends a simple packet block (interface 0, no timestamp).
    pub fn simple_packet(&mut self, data: &[u8]) {
        let mut body = Vec::with_capacity(4 + data.len() + 3);
        body.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
        body.extend_from_slice(data);
        self.block(3, &body);
    }

    /// Appends raw bytes (to build corrupt files).
    pub fn push_raw(&mut self, raw: &[u8]) {
        self.bytes.extend_from_slice(raw);
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn block(&mut self, ty: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = u32::try_from(12 + body.len() + pad).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&ty.to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(body);
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
        self.bytes.extend_from_slice(&len.to_le_bytes());
    }
}
