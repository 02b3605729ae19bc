//! Opening a capture: a file or any reader, gzip-compressed or not (detected by content).

use super::{CaptureReader, OpenError};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Whether the capture was compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain pcap / pcapng.
    None,
    /// gzip (`.gz`; detected by the magic bytes, not the file name).
    Gzip,
}

/// A boxed byte stream, so plain and compressed captures have one type.
pub type Input = Box<dyn Read + Send>;

/// Opens a capture file.
///
/// # Errors
/// The file cannot be read or is not a capture.
pub fn open_path(path: &Path) -> Result<(CaptureReader<Input>, Compression), OpenError> {
    let file = File::open(path)?;
    open_reader(file)
}

/// Opens a capture from any reader, decompressing gzip when the stream starts with its magic.
///
/// # Errors
/// The stream cannot be read or is not a capture.
pub fn open_reader<R: Read + Send + 'static>(
    reader: R,
) -> Result<(CaptureReader<Input>, Compression), OpenError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader);
    let head = buffered.fill_buf()?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let input: Input = Box::new(MultiGzDecoder::new(buffered));
        Ok((CaptureReader::new(input)?, Compression::Gzip))
    } else {
        let input: Input = Box::new(buffered);
        Ok((CaptureReader::new(input)?, Compression::None))
    }
}
