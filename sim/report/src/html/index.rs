//! `index.html`: every scenario × seed of a `natlab run` with its status, what failed, the
//! command that reproduces it and links to its report, ladder, capture and event log. Failed
//! runs come first. No wall-clock time: the page is the same for the same suite and seeds.

use super::esc;
use super::ladder::FileLink;
use std::fmt::Write as _;

/// One run of the suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The scenario's name.
    pub name: String,
    /// The scenario file.
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// `passed`, `failed`, `error` or `skipped`.
    pub status: String,
    /// Expectations that held, and how many there are (absent when it did not run).
    pub expectations: Option<(usize, usize)>,
    /// What failed, one line each.
    pub failed: Vec<String>,
    /// The command that reproduces it.
    pub reproduce: String,
    /// Its files, relative to the index.
    pub files: Vec<FileLink>,
}

/// Renders the index; `entries` in selection order (failures are moved first).
pub fn render(entries: &[IndexEntry]) -> String {
    let bad = entries.iter().filter(|e| e.status != "passed").count();
    let mut s = String::with_capacity(2048 + entries.len() * 700);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>natlab run: {verdict}</title><style>{CSS}</style></head>\n\
         <body class=\"{class}\">\n<h1>natlab run: {passed} of {total} passed</h1>\n",
        verdict = if bad == 0 {
            "all passed".to_owned()
        } else {
            format!("{bad} not passed")
        },
        class = if bad == 0 { "pass" } else { "fail" },
        passed = entries.len() - bad,
        total = entries.len(),
    );
    s.push_str(
        "<p>Runs that did not pass come first. Each run's <em>ladder</em> draws its capture and \
         events on one time axis; <em>capture</em> opens in Wireshark.</p>\n\
         <table class=\"runs\"><tr><th>status</th><th>scenario</th><th>seed</th>\
         <th>expectations</th><th>what failed</th><th>files</th><th>reproduce</th></tr>\n",
    );
    let mut order: Vec<&IndexEntry> = entries.iter().collect();
    order.sort_by_key(|e| e.status == "passed");
    for e in order {
        let files: Vec<String> = e
            .files
            .iter()
            .map(|f| format!("<a href=\"{}\">{}</a>", esc(&f.href), esc(&f.label)))
            .collect();
        let failed: Vec<String> = e.failed.iter().map(|f| esc(f)).collect();
        let _ = writeln!(
            s,
            "<tr class=\"{status}\" data-status=\"{status}\"><td class=\"st\">{status}</td>\
             <td><b>{name}</b><br><span class=\"file\">{file}</span></td><td>{seed}</td><td>{exp}</td>\
             <td>{failed}</td><td class=\"links\">{files}</td><td><code>{cmd}</code></td></tr>",
            status = esc(&e.status),
            name = esc(&e.name),
            file = esc(&e.file),
            seed = e.seed,
            exp = e
                .expectations
                .map_or_else(|| "-".to_owned(), |(p, t)| format!("{p}/{t}")),
            failed = failed.join("<br>"),
            files = files.join(" "),
            cmd = esc(&e.reproduce),
        );
    }
    s.push_str("</table>\n</body></html>\n");
    s
}

const CSS: &str = "body{font-family:sans-serif;margin:16px;color:#222}\
body.pass h1{color:#1c6b2f}body.fail h1{color:#a31e23}\
table.runs{border-collapse:collapse}table.runs td,table.runs th{border:1px solid #ccc;padding:4px 6px;\
font-size:13px;text-align:left;vertical-align:top}\
tr.failed td,tr.error td{background:#fbe3e4}tr.skipped td{background:#f3f3f3;color:#777}\
tr.failed .st,tr.error .st{color:#a31e23;font-weight:bold}tr.passed .st{color:#1c6b2f}\
.file{color:#666;font-size:12px}.links a{margin-right:.5em}code{background:#f2f2f2;padding:1px 4px}";

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, status: &str) -> IndexEntry {
        IndexEntry {
            name: name.into(),
            file: format!("scenarios/{name}.yaml"),
            seed: 1,
            status: status.into(),
            expectations: Some((1, 2)),
            failed: if status == "passed" {
                vec![]
            } else {
                vec!["alice reports exactly 1 onInviteFailure".into()]
            },
            reproduce: format!("natlab run scenarios/{name}.yaml --seed 1"),
            files: vec![FileLink {
                label: "ladder".into(),
                href: format!("{name}/ladder.html"),
            }],
        }
    }

    #[test]
    fn index_lists_failures_first_with_links_and_the_reproduce_command() {
        let html = render(&[entry("good", "passed"), entry("bad", "failed")]);
        let bad = html.find("<b>bad</b>").expect("bad listed");
        let good = html.find("<b>good</b>").expect("good listed");
        assert!(bad < good, "failures first");
        assert!(html.contains("<a href=\"bad/ladder.html\">ladder</a>"));
        assert!(html.contains("<code>natlab run scenarios/bad.yaml --seed 1</code>"));
        assert!(html.contains("1 of 2 passed"));
        assert!(!html.contains("http"));
    }
}
