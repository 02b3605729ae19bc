//! Every bundled example and runnable scenario survives a round trip: decoded, written back as
//! YAML by another serializer (serde-saphyr), and loaded again, it is the same file.

use sim_scenario::model::ScenarioFile;
use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "invalid") {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn round_trip_examples_and_scenarios_load_back_equal() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = yaml_files(&root.join("docs/examples"));
    files.extend(yaml_files(&root.join("scenarios")));
    assert!(
        files.len() >= 3,
        "no examples found under {}",
        root.display()
    );
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let original: ScenarioFile =
            sim_scenario::decode_str(&name, &text).unwrap_or_else(|d| panic!("{d}"));
        let written = serde_saphyr::to_string(&original).unwrap();
        let again = sim_scenario::decode_str(&format!("{name} (written back)"), &written)
            .unwrap_or_else(|d| panic!("{d}\n--- written:\n{written}"));
        assert_eq!(again, original, "{name}\n--- written:\n{written}");
        // And the written form validates like the original.
        assert_eq!(
            sim_scenario::check_str("a", &text).diagnostics.len(),
            sim_scenario::check_str("b", &written).diagnostics.len(),
            "{name}"
        );
    }
}
