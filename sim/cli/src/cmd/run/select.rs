//! Which runs a `natlab run` makes: every scenario under its seed (or each seed of `--seeds`),
//! narrowed by `--filter` and `--partition`.

use crate::args::RunArgs;
use sim_core::Seed;
use sim_scenario::Scenario;
use std::path::PathBuf;

/// One run: a scenario under one seed, and where its outputs go.
#[derive(Debug)]
pub(crate) struct Job {
    /// The scenario file.
    pub(crate) file: PathBuf,
    /// The scenario, with the seed of this run.
    pub(crate) scenario: Scenario,
    /// The seed.
    pub(crate) seed: u64,
    /// Its output directory: `OUT/<name>`, or `OUT/<name>/seed-<N>` under `--seeds`.
    pub(crate) dir: PathBuf,
}

/// The runs, in file order then seed order.
pub(crate) fn jobs(args: &RunArgs, scenarios: Vec<(PathBuf, Scenario)>) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (file, scenario) in scenarios {
        let path = file.display().to_string();
        if !args.filter.is_empty()
            && !args
                .filter
                .iter()
                .any(|f| scenario.name.contains(f.as_str()) || path.contains(f.as_str()))
        {
            continue;
        }
        let seeds: Vec<u64> = match (args.seeds, args.seed) {
            (Some(range), _) => (range.first..=range.last).collect(),
            (None, Some(seed)) => vec![seed],
            (None, None) => vec![scenario.seed.value()],
        };
        for seed in seeds {
            if let Some(p) = args.partition
                && shard_of(&scenario.name, seed, p.count) != p.shard
            {
                continue;
            }
            let dir = if args.seeds.is_some() {
                args.out.join(&scenario.name).join(format!("seed-{seed}"))
            } else {
                args.out.join(&scenario.name)
            };
            let mut scenario = scenario.clone();
            scenario.seed = Seed::new(seed);
            jobs.push(Job {
                file: file.clone(),
                scenario,
                seed,
                dir,
            });
        }
    }
    jobs
}

/// The 1-based shard of a run: FNV-1a of its name and seed, so that a run keeps its shard when
/// scenarios are added or removed.
pub(crate) fn shard_of(name: &str, seed: u64, count: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes().chain([0]).chain(seed.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % count + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_run_exactly_once_and_spread() {
        let names: Vec<String> = (0..200).map(|i| format!("scenario-{i}")).collect();
        for count in [1, 2, 3, 7] {
            let mut per_shard = vec![0usize; count as usize];
            for name in &names {
                for seed in 1..=3 {
                    let shard = shard_of(name, seed, count);
                    assert!((1..=count).contains(&shard));
                    per_shard[(shard - 1) as usize] += 1;
                }
            }
            assert_eq!(per_shard.iter().sum::<usize>(), 600);
            let fair = 600 / count as usize;
            assert!(
                per_shard.iter().all(|&n| n > fair / 2),
                "{count} shards: {per_shard:?}"
            );
        }
    }

    #[test]
    fn a_run_keeps_its_shard() {
        assert_eq!(shard_of("nat-eim-eif", 7, 4), shard_of("nat-eim-eif", 7, 4));
        let moved = (1..=50)
            .filter(|&s| shard_of("nat-eim-eif", s, 4) != shard_of("nat-eim-adf", s, 4))
            .count();
        assert!(moved > 0, "the name takes part in the hash");
    }
}
