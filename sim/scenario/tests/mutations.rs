//! Damaged scenario files never panic the loader, and every diagnostic they produce is located.
//! Each example is damaged line by line: the line removed, cut in half, or its first `: `
//! turned into `:`.

use std::path::Path;

fn examples() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter_map(|p| Some((p.display().to_string(), std::fs::read_to_string(&p).ok()?)))
        .collect();
    out.sort();
    out
}

fn damaged(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for i in 0..lines.len() {
        let mut without = lines.clone();
        without.remove(i);
        out.push(without.join("\n"));
        let mut cut = lines.clone();
        let half: String = lines[i]
            .chars()
            .take(lines[i].chars().count() / 2)
            .collect();
        cut[i] = &half;
        out.push(cut.join("\n"));
        let glued = lines[i].replacen(": ", ":", 1);
        let mut g = lines.clone();
        g[i] = &glued;
        out.push(g.join("\n"));
    }
    out
}

#[test]
fn mutations_never_panic_and_every_diagnostic_is_located() {
    let files = examples();
    assert!(!files.is_empty());
    let mut checked = 0;
    for (name, text) in files {
        for variant in damaged(&text) {
            let checked_file = sim_scenario::check_str(&name, &variant);
            for d in checked_file.diagnostics.iter() {
                assert!(d.location.is_some(), "{name}: unlocated {d:?}\n{variant}");
                assert!(!d.message.is_empty());
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked}");
}
