//! Bounded memory for the reportable records of an analysis (calls and findings).
//!
//! A record that will not change any more is written at once, as the JSON text the report will
//! contain (one record per line), to an anonymous temporary file; memory keeps a sort key and the
//! file position of each record (16 bytes) for the latest 262,144 records, the first rows for
//! the terminal table, and the records of a selected Call-ID. Each full run of sort entries is
//! sorted and written to a second temporary file, so memory does not grow with the capture. The
//! JSON document is then streamed from the file in sort order, merging the runs. When no temporary
//! file can be created the texts and entries stay in memory instead.

use serde::Serialize;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows kept in memory for the terminal table.
pub const HEAD_ROWS: usize = 200;
/// Sort entries kept in memory before they are sorted and written out as one run (4 MiB).
const RUN_LEN: usize = 256 * 1024;
/// Sort entries read at a time from each run while merging.
const MERGE_BLOCK: usize = 4096;
/// Indentation of a record inside the JSON document (`{ "calls": [ HERE ] }`).
const RECORD_INDENT: &[u8] = b"    ";

/// Where record texts go: a temporary file, or memory when there is none (or the disk is full).
#[derive(Debug)]
struct Backing {
    file: Option<File>,
    /// Bytes given to the file so far (written or still in `pending`).
    file_len: u64,
    /// Texts not yet written to the file (written in large blocks).
    pending: Vec<u8>,
    write_failed: bool,
    mem: Vec<u8>,
}

/// Size of the blocks written to the temporary file.
const WRITE_BLOCK: usize = 1 << 20;

/// Flags a position in memory rather than in the file.
const IN_MEMORY: u64 = 1 << 39;

impl Backing {
    fn new() -> Self {
        Self {
            file: temp_file().ok(),
            file_len: 0,
            pending: Vec::new(),
            write_failed: false,
            mem: Vec::new(),
        }
    }

    /// Stores `bytes`; returns their position.
    fn append(&mut self, bytes: &[u8]) -> u64 {
        if self.file.is_some() && !self.write_failed {
            let at = self.file_len;
            self.pending.extend_from_slice(bytes);
            self.file_len += bytes.len() as u64;
            if self.pending.len() >= WRITE_BLOCK {
                self.write_pending();
            }
            return at;
        }
        let at = self.mem.len() as u64 | IN_MEMORY;
        self.mem.extend_from_slice(bytes);
        at
    }

    /// Writes the pending block. If the disk is full, the block stays in memory (`pending`)
    /// and later texts go to memory too.
    fn write_pending(&mut self) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if self.write_failed || file.write_all(&self.pending).is_err() {
            self.write_failed = true;
            return;
        }
        self.pending.clear();
    }

    fn read(&mut self, at: u64, len: u32, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        if at & IN_MEMORY != 0 {
            let s = usize::try_from(at & !IN_MEMORY).unwrap_or(usize::MAX);
            out.extend_from_slice(self.mem.get(s..s + len as usize).unwrap_or_default());
            return Ok(());
        }
        // Texts after the last complete write are still in `pending`.
        let written = self.file_len - self.pending.len() as u64;
        if at >= written {
            let s = usize::try_from(at - written).unwrap_or(usize::MAX);
            out.extend_from_slice(self.pending.get(s..s + len as usize).unwrap_or_default());
            return Ok(());
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(at))?;
        out.resize(len as usize, 0);
        file.read_exact(out)?;
        file.seek(SeekFrom::Start(written))?;
        Ok(())
    }
}

/// An anonymous temporary file: created in the temporary directory and unlinked at once.
fn temp_file() -> io::Result<File> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("natlab-analyze-{}-{n}.json", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// A record's sort key: (first frame, tie-breaker, sequence number).
pub(crate) type SortKey = (u64, u64, u64);

/// Where a record's text is: position (40 bits, see [`IN_MEMORY`]) and length (24 bits; a record
/// text is far shorter than 16 MiB).
fn pack(at: u64, len: usize) -> u64 {
    ((at & 0xFF_FFFF_FFFF) << 24) | (len as u64 & 0xFF_FFFF)
}

fn unpack(p: u64) -> (u64, u32) {
    (p >> 24, u32::try_from(p & 0xFF_FFFF).unwrap_or(0))
}

/// Sorted runs of sort entries, in a temporary file.
#[derive(Debug)]
struct Runs {
    file: File,
    /// Start (in entries) and length of each run, in the order they were written.
    runs: Vec<(u64, u64)>,
    written: u64,
}

impl Runs {
    /// Writes one sorted run.
    fn write(&mut self, entries: &[(u64, u64)]) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(entries.len() * 16);
        for (key, packed) in entries {
            bytes.extend_from_slice(&key.to_le_bytes());
            bytes.extend_from_slice(&packed.to_le_bytes());
        }
        self.file.seek(SeekFrom::Start(self.written * 16))?;
        self.file.write_all(&bytes)?;
        self.runs.push((self.written, entries.len() as u64));
        self.written += entries.len() as u64;
        Ok(())
    }

    /// Reads up to `max` entries of the run at `start`, `len` entries long, from entry `from`.
    fn read(
        &mut self,
        (start, len): (u64, u64),
        from: u64,
        max: usize,
    ) -> io::Result<Vec<(u64, u64)>> {
        let n = usize::try_from(len.saturating_sub(from))
            .unwrap_or(usize::MAX)
            .min(max);
        let mut bytes = vec![0; n * 16];
        self.file.seek(SeekFrom::Start((start + from) * 16))?;
        self.file.read_exact(&mut bytes)?;
        Ok(bytes
            .chunks_exact(16)
            .map(|c| {
                let word = |r: std::ops::Range<usize>| {
                    u64::from_le_bytes(c.get(r).and_then(|b| b.try_into().ok()).unwrap_or_default())
                };
                (word(0..8), word(8..16))
            })
            .collect())
    }
}

/// One run being merged: its buffered entries and how far it has been read.
struct Cursor {
    run: (u64, u64),
    next: u64,
    buf: std::vec::IntoIter<(u64, u64)>,
}

/// The records of one kind (calls, or findings).
#[derive(Debug)]
pub struct Records<T> {
    backing: Option<Backing>,
    /// (first frame × 64 + tie-breaker, packed position) of the latest records, in the order
    /// they arrived.
    index: Vec<(u64, u64)>,
    /// Earlier entries, sorted in runs (`None` until the first run, or when there is no file).
    runs: Option<Runs>,
    /// Records pushed in all.
    total: u64,
    head: BinaryHeap<Keyed<T>>,
    selected: Vec<T>,
    only_selected: bool,
    seq: u64,
}

/// A record with its key, ordered by key (for the head heap).
#[derive(Debug)]
struct Keyed<T>(SortKey, T);

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

impl<T> Default for Records<T> {
    fn default() -> Self {
        Self {
            backing: None,
            index: Vec::new(),
            runs: None,
            total: 0,
            head: BinaryHeap::new(),
            selected: Vec::new(),
            only_selected: false,
            seq: 0,
        }
    }
}

impl<T: Serialize + Clone> Records<T> {
    /// Adds a final record, ordered by `first_frame` then `tie` (below 64) then arrival;
    /// `selected` keeps it in memory.
    pub(crate) fn push(&mut self, first_frame: u64, tie: u64, record: T, selected: bool) {
        self.seq += 1;
        let key = (first_frame, tie, self.seq);
        let text = record_text(&record);
        let backing = self.backing.get_or_insert_with(Backing::new);
        let at = backing.append(&text);
        let sort = first_frame.saturating_mul(64).saturating_add(tie % 64);
        self.index.push((sort, pack(at, text.len())));
        self.total += 1;
        if self.index.len() >= RUN_LEN {
            self.spill_run();
        }
        if selected {
            self.selected.push(record.clone());
        }
        if self.head.len() < HEAD_ROWS {
            self.head.push(Keyed(key, record));
        } else if self.head.peek().is_some_and(|top| key < top.0) {
            self.head.pop();
            self.head.push(Keyed(key, record));
        }
    }

    /// How many records there are (all of them, or the selected ones after [`Self::select_only`]).
    pub fn len(&self) -> u64 {
        if self.only_selected {
            self.selected.len() as u64
        } else {
            self.total
        }
    }

    /// Sorts the in-memory entries and writes them out as one run; keeps them in memory when
    /// that fails.
    fn spill_run(&mut self) {
        if self.runs.is_none() {
            self.runs = temp_file().ok().map(|file| Runs {
                file,
                runs: Vec::new(),
                written: 0,
            });
        }
        let Some(runs) = self.runs.as_mut() else {
            return;
        };
        // Stable: equal keys keep their arrival order.
        self.index.sort_by_key(|e| e.0);
        if runs.write(&self.index).is_ok() {
            self.index.clear();
        }
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first records in report order (at most [`HEAD_ROWS`]; the selected ones after
    /// [`Self::select_only`]).
    pub fn head(&self) -> Vec<&T> {
        if self.only_selected {
            return self.selected.iter().collect();
        }
        let mut v: Vec<&Keyed<T>> = self.head.iter().collect();
        v.sort_by_key(|k| k.0);
        v.into_iter().map(|k| &k.1).collect()
    }

    /// The records that matched the selection.
    pub fn selected(&self) -> &[T] {
        &self.selected
    }

    /// From now on, only the selected records are reported.
    pub fn select_only(&mut self) {
        self.only_selected = true;
    }

    /// Writes the records as the elements of a JSON array (pretty, at the document's indentation).
    ///
    /// # Errors
    /// Writing fails.
    pub fn write_json_array(&mut self, w: &mut dyn Write) -> io::Result<()> {
        if self.is_empty() {
            return w.write_all(b"[]");
        }
        w.write_all(b"[\n")?;
        if self.only_selected {
            for (i, r) in self.selected.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",\n")?;
                }
                w.write_all(&record_text(r))?;
            }
        } else {
            // Stable: records with equal keys stay in the order they arrived.
            self.index.sort_by_key(|e| e.0);
            let mut buf = Vec::new();
            let Some(backing) = self.backing.as_mut() else {
                return Ok(());
            };
            let mut first = true;
            let mut write = |packed: u64| -> io::Result<()> {
                if !std::mem::take(&mut first) {
                    w.write_all(b",\n")?;
                }
                let (at, len) = unpack(packed);
                backing.read(at, len, &mut buf)?;
                w.write_all(&buf)
            };
            match self.runs.as_mut() {
                None => {
                    for (_, packed) in &self.index {
                        write(*packed)?;
                    }
                }
                Some(runs) => merge(runs, &self.index, &mut write)?,
            }
        }
        w.write_all(b"\n  ]")
    }
}

/// Visits the entries of every run and then of `last` (sorted, in memory) in key order; equal
/// keys in the order the runs were written (their arrival order).
fn merge(
    runs: &mut Runs,
    last: &[(u64, u64)],
    visit: &mut dyn FnMut(u64) -> io::Result<()>,
) -> io::Result<()> {
    let mut cursors: Vec<Cursor> = runs
        .runs
        .iter()
        .map(|&run| Cursor {
            run,
            next: 0,
            buf: Vec::new().into_iter(),
        })
        .collect();
    let mut last = last.iter().copied();
    // (key, source) with the smallest key, then the earliest source, on top.
    let mut heap = BinaryHeap::new();
    let mut pending: Vec<Option<(u64, u64)>> = vec![None; cursors.len() + 1];
    let mut refill =
        |i: usize, runs: &mut Runs, cursors: &mut [Cursor]| -> io::Result<Option<(u64, u64)>> {
            let Some(c) = cursors.get_mut(i) else {
                return Ok(last.next());
            };
            if let Some(e) = c.buf.next() {
                return Ok(Some(e));
            }
            if c.next >= c.run.1 {
                return Ok(None);
            }
            let block = runs.read(c.run, c.next, MERGE_BLOCK)?;
            c.next += block.len() as u64;
            c.buf = block.into_iter();
            Ok(c.buf.next())
        };
    for (i, slot) in pending.iter_mut().enumerate() {
        *slot = refill(i, runs, &mut cursors)?;
        if let Some((key, _)) = *slot {
            heap.push(std::cmp::Reverse((key, i)));
        }
    }
    while let Some(std::cmp::Reverse((_, i))) = heap.pop() {
        let Some(slot) = pending.get_mut(i) else {
            continue;
        };
        if let Some((_, packed)) = slot.take() {
            visit(packed)?;
        }
        *slot = refill(i, runs, &mut cursors)?;
        if let Some((key, _)) = *slot {
            heap.push(std::cmp::Reverse((key, i)));
        }
    }
    Ok(())
}

/// A record as one line of JSON, indented to sit in an array of the document.
fn record_text<T: Serialize>(record: &T) -> Vec<u8> {
    let mut out = RECORD_INDENT.to_vec();
    if serde_json::to_writer(&mut out, record).is_err() {
        out.truncate(RECORD_INDENT.len());
        out.extend_from_slice(b"null");
    }
    out
}

/// Prefixes every line of `text` with `prefix` (JSON strings hold no raw newlines).
pub(crate) fn indent(text: &[u8], prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    out.extend_from_slice(prefix);
    for &b in text {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(prefix);
        }
    }
    out
}

/// A writer that indents every line after the first by a fixed prefix (for embedding a
/// document in an array).
pub struct IndentWriter<'a> {
    inner: &'a mut dyn Write,
    prefix: &'a [u8],
}

impl<'a> IndentWriter<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a mut dyn Write, prefix: &'a [u8]) -> Self {
        Self { inner, prefix }
    }
}

impl std::fmt::Debug for IndentWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndentWriter").finish_non_exhaustive()
    }
}

impl Write for IndentWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(nl + 1);
            self.inner.write_all(line)?;
            self.inner.write_all(self.prefix)?;
            rest = tail;
        }
        self.inner.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_head_keeps_the_first_rows_and_json_is_sorted() {
        let mut r: Records<u64> = Records::default();
        for v in (0..500u64).rev() {
            r.push(v, 0, v, v == 7);
        }
        assert_eq!(r.len(), 500);
        let head: Vec<u64> = r.head().into_iter().copied().collect();
        assert_eq!(head, (0..HEAD_ROWS as u64).collect::<Vec<_>>());
        let mut out = Vec::new();
        r.write_json_array(&mut out).unwrap();
        let v: Vec<u64> = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, (0..500).collect::<Vec<_>>());
        r.select_only();
        assert_eq!((r.len(), r.head().len()), (1, 1));
    }

    #[test]
    fn records_over_several_runs_merge_in_key_order_and_keep_arrival_order_on_ties() {
        let mut r: Records<(u64, u64)> = Records::default();
        let n = RUN_LEN as u64 * 2 + 1234;
        // Keys fall and rise across run boundaries; every key appears three times.
        let key = |i: u64| (i * 7_919) % (n / 3 + 1);
        for i in 0..n {
            r.push(key(i), 0, (key(i), i), false);
        }
        assert_eq!(r.len(), n);
        assert!(r.runs.as_ref().is_some_and(|runs| runs.runs.len() == 2));
        assert!(r.index.len() < RUN_LEN);
        let mut out = Vec::new();
        r.write_json_array(&mut out).unwrap();
        let v: Vec<(u64, u64)> = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.len() as u64, n);
        let mut want: Vec<(u64, u64)> = (0..n).map(|i| (key(i), i)).collect();
        want.sort();
        assert_eq!(v, want);
    }

    #[test]
    fn records_larger_than_a_write_block_read_back_from_the_file() {
        let mut r: Records<String> = Records::default();
        let text = |i: u64| format!("{i:08}-{}", "x".repeat(100));
        for i in (0..20_000u64).rev() {
            r.push(i, 0, text(i), false);
        }
        let mut out = Vec::new();
        r.write_json_array(&mut out).unwrap();
        let v: Vec<String> = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.len(), 20_000);
        assert!(v.iter().enumerate().all(|(i, s)| *s == text(i as u64)));
    }
}
