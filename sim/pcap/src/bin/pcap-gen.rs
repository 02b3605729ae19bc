//! `pcap-gen`: writes the deterministic synthetic captures.
//!
//! ```text
//! pcap-gen edge DIR            the edge-case samples (and their .md sidecars) into DIR
//! pcap-gen bench FILE SIZE_MB [rtp]  a large capture of many calls for the benchmark
//!                                     (`rtp`: answered calls also carry G.711 media)
//! ```

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["edge", dir] => edge(Path::new(dir)),
        ["bench", file, mb, rest @ ..] if rest.is_empty() || rest == ["rtp"] => {
            match mb.parse::<u64>() {
                Ok(mb) => {
                    sim_pcap::synth::bench::write(Path::new(file), mb << 20, !rest.is_empty())
                        .map(|_| ())
                }
                Err(e) => Err(std::io::Error::other(format!("bad size {mb:?}: {e}"))),
            }
        }
        _ => Err(std::io::Error::other(
            "usage: pcap-gen edge DIR | pcap-gen bench FILE SIZE_MB [rtp]",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("pcap-gen: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn edge(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for c in sim_pcap::synth::edge::edge_captures() {
        std::fs::write(dir.join(c.name), &c.bytes)?;
        std::fs::write(dir.join(format!("{}.md", c.name)), &c.sidecar)?;
    }
    Ok(())
}
