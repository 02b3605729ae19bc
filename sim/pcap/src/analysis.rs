//! The whole pipeline for one capture, and its result: the [`Analysis`] (the JSON document).

use crate::accounting::PacketSummary;
use crate::capture::{CaptureReader, Compression, Format, OpenError, open_path};
use crate::correlate::{Call, Correlator, Options, Tally};
use crate::durations::Durations;
use crate::findings::{Finding, Severity};
use crate::ladder::{Ladder, LadderScope};
use crate::media::MediaStream;
use crate::media::tracker::MediaTracker;
use crate::pipeline;
use crate::store::{IndentWriter, Records};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

/// The version of the JSON document; bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// What to analyse and keep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Record a ladder.
    pub ladder: Option<LadderScope>,
    /// Keep this Call-ID's call and findings in memory, for [`Analysis::retain_call`].
    pub call: Option<String>,
}

/// Why a capture could not be analysed at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    /// The file could not be opened or is not a capture.
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// Facts about the capture file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaptureInfo {
    /// The path as given.
    pub path: String,
    /// `pcap` or `pcapng`.
    pub format: &'static str,
    /// `none` or `gzip`.
    pub compression: &'static str,
    /// Link types of the interfaces.
    pub link_types: Vec<String>,
    /// Bytes of (decompressed) capture data read.
    pub bytes: u64,
    /// Time of the first frame, UTC, ISO 8601 (`null` for an empty capture).
    pub start_time: Option<String>,
    /// Seconds from the first to the last frame.
    pub duration: f64,
    /// Set when reading stopped early on an I/O error (the packets before it were analysed).
    pub read_error: Option<String>,
}

/// Descriptive statistics of a set of durations, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// How many values.
    pub count: u64,
    /// Median.
    pub median: Option<f64>,
    /// 95th percentile (nearest rank).
    pub p95: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Stats {
    fn of(d: &Durations) -> Self {
        let summary = d.summary();
        Self {
            count: d.count(),
            median: summary.map(|s| s.0),
            p95: summary.map(|s| s.1),
            max: summary.map(|s| s.2),
        }
    }
}

/// The summary block.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Packet accounting: `packets = sip + stun + other.total + undecodable.total`.
    #[serde(flatten)]
    pub packets: PacketSummary,
    /// Number of Call-IDs.
    pub calls: u64,
    /// Call-IDs per kind (`call`, `registration`...).
    pub calls_by_kind: BTreeMap<&'static str, u64>,
    /// Call-IDs per outcome (`answered`, `failed`...).
    pub calls_by_outcome: BTreeMap<&'static str, u64>,
    /// Final status codes of calls and how many calls ended with each (like `tshark -z sip,stat`).
    pub final_status: BTreeMap<u16, u64>,
    /// Findings per severity.
    pub findings: BTreeMap<&'static str, u64>,
    /// Call setup time (INVITE to 2xx) over answered calls.
    pub setup_time_ms: Stats,
    /// Post-dial delay (INVITE to first 180/183).
    pub post_dial_delay_ms: Stats,
    /// Media streams (RTP flows, see `media[]`).
    pub media_streams: u64,
}

/// The result of analysing one capture: the JSON document (see the crate documentation).
///
/// Calls and findings are kept in [`Records`]: in memory only their first rows (for the terminal
/// table) and the records of the selected Call-ID; [`Analysis::write_json`] streams all of them.
#[derive(Debug)]
pub struct Analysis {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The file.
    pub capture: CaptureInfo,
    /// Counts.
    pub summary: Summary,
    /// Every Call-ID.
    pub calls: Records<Call>,
    /// Every finding, by first frame.
    pub findings: Records<Finding>,
    /// Every media stream, by first frame.
    pub media: Records<MediaStream>,
    /// The ladder, when one was asked for (not part of the JSON document).
    pub ladder: Option<Ladder>,
    worst: Option<Severity>,
    worst_selected: Option<Severity>,
}

impl Analysis {
    /// Keeps only the selected Call-ID's call and findings in the report (the summary still
    /// counts the whole capture). The Call-ID must have been given as
    /// [`AnalyzeOptions::call`]. Returns false when the capture does not contain it.
    pub fn retain_call(&mut self) -> bool {
        self.calls.select_only();
        self.findings.select_only();
        self.media.select_only();
        self.worst = self.worst_selected;
        !self.calls.is_empty()
    }

    /// The worst severity among the reported findings.
    pub fn worst(&self) -> Option<Severity> {
        self.worst
    }

    /// Writes the JSON document (pretty-printed).
    ///
    /// # Errors
    /// Writing fails.
    pub fn write_json(&mut self, w: &mut dyn Write) -> std::io::Result<()> {
        let field = |w: &mut dyn Write, name: &str, v: &dyn erased::Ser| -> std::io::Result<()> {
            write!(w, "  \"{name}\": ")?;
            let text = v.pretty()?;
            let indented = crate::store::indent(&text, b"  ");
            w.write_all(indented.get(2..).unwrap_or_default())
        };
        w.write_all(b"{\n")?;
        writeln!(w, "  \"schema_version\": {},", self.schema_version)?;
        field(w, "capture", &self.capture)?;
        w.write_all(b",\n")?;
        field(w, "summary", &self.summary)?;
        w.write_all(b",\n  \"calls\": ")?;
        self.calls.write_json_array(w)?;
        w.write_all(b",\n  \"media\": ")?;
        self.media.write_json_array(w)?;
        w.write_all(b",\n  \"findings\": ")?;
        self.findings.write_json_array(w)?;
        w.write_all(b"\n}")
    }
}

/// Serialising the fixed parts of the document through a trait object.
mod erased {
    use serde::Serialize;

    pub(super) trait Ser {
        fn pretty(&self) -> std::io::Result<Vec<u8>>;
    }

    impl<T: Serialize> Ser for T {
        fn pretty(&self) -> std::io::Result<Vec<u8>> {
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)
        }
    }
}

/// Writes the JSON for several captures: one object for one capture, an array for several.
///
/// # Errors
/// Writing fails.
pub fn write_json_many(all: &mut [Analysis], w: &mut dyn Write) -> std::io::Result<()> {
    if let [one] = all {
        one.write_json(w)?;
        return w.write_all(b"\n");
    }
    w.write_all(b"[\n  ")?;
    for (i, a) in all.iter_mut().enumerate() {
        if i > 0 {
            w.write_all(b",\n  ")?;
        }
        let mut indented = IndentWriter::new(w, b"  ");
        a.write_json(&mut indented)?;
    }
    w.write_all(b"\n]\n")
}

/// Analyses the capture at `path`. `progress` is called now and then with the bytes read so far.
///
/// # Errors
/// The file cannot be opened or is not a capture.
pub fn analyze_path(
    path: &Path,
    opts: &AnalyzeOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Analysis, AnalyzeError> {
    let (reader, compression) = open_path(path)?;
    Ok(analyze(
        reader,
        compression,
        &path.display().to_string(),
        opts,
        progress,
    ))
}

/// Analyses an opened capture.
pub fn analyze<R: Read + Send>(
    reader: CaptureReader<R>,
    compression: Compression,
    name: &str,
    opts: &AnalyzeOptions,
    progress: &mut dyn FnMut(u64),
) -> Analysis {
    let mut corr = Correlator::new(Options {
        ladder: opts.ladder.clone(),
        select: opts.call.clone(),
    });
    let select = opts.call.clone().or_else(|| match &opts.ladder {
        Some(LadderScope::Call(id)) => Some(id.clone()),
        _ => None,
    });
    let media = MediaTracker::new(select);
    let mut side = pipeline::run(reader, &mut corr, media, progress);
    debug_assert_eq!(
        side.acct.check(),
        Ok(()),
        "packet accounting does not add up"
    );
    let (first, last) = (side.first_ts, side.last_ts);
    let mut extra = side.nat.findings();
    extra.extend(side.acct.findings());
    extra.append(&mut side.media.findings);
    let media = std::mem::take(&mut side.media.out);
    let mut correlated = corr.finish(last.unwrap_or(0), extra);
    if let Some(l) = &mut correlated.ladder {
        let streams: Vec<&MediaStream> = match &opts.ladder {
            Some(LadderScope::Call(_)) => media.selected().iter().collect(),
            _ => media.head(),
        };
        l.add_media(&streams, first.unwrap_or(0));
    }
    let info = CaptureInfo {
        path: name.to_owned(),
        format: match side.format {
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
        },
        compression: match compression {
            Compression::None => "none",
            Compression::Gzip => "gzip",
        },
        link_types: side.link_types.iter().map(|l| l.name()).collect(),
        bytes: side.bytes,
        start_time: first.map(iso8601),
        duration: match (first, last) {
            (Some(a), Some(b)) => (b - a).max(0) as f64 / 1e9,
            _ => 0.0,
        },
        read_error: side.read_error,
    };
    let mut summary = summarize(side.acct.summary(), &correlated.tally);
    summary.media_streams = media.len();
    Analysis {
        schema_version: SCHEMA_VERSION,
        capture: info,
        summary,
        calls: correlated.calls,
        findings: correlated.findings,
        media,
        ladder: correlated.ladder,
        worst: correlated.tally.worst,
        worst_selected: correlated.tally.worst_selected,
    }
}

fn summarize(packets: PacketSummary, t: &Tally) -> Summary {
    Summary {
        packets,
        calls: t.calls,
        calls_by_kind: t.by_kind.clone(),
        calls_by_outcome: t.by_outcome.clone(),
        final_status: t.by_status.clone(),
        findings: t.findings.clone(),
        setup_time_ms: Stats::of(&t.setup_ms),
        post_dial_delay_ms: Stats::of(&t.pdd_ms),
        media_streams: 0,
    }
}

/// `2024-03-01T12:00:00.123456Z` from nanoseconds since the epoch.
pub(crate) fn iso8601(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let micros = ts_ns.rem_euclid(1_000_000_000) / 1_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_iso8601_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            iso8601(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(
            iso8601(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn analysis_stats_nearest_rank() {
        let mut d = Durations::default();
        for v in [5.0, 1.0, 3.0, 2.0, 4.0] {
            d.push(v);
        }
        let s = Stats::of(&d);
        assert_eq!(
            (s.count, s.median, s.p95, s.max),
            (5, Some(3.0), Some(5.0), Some(5.0))
        );
        let empty = Stats::of(&Durations::default());
        assert_eq!((empty.count, empty.median), (0, None));
    }
}
