//! The HTML pages of `natlab run --out`: `index.html` and a `ladder.html` opened from
//! `file://` in headless Chromium with the network off, with no console message at all (no
//! script error, no resource that failed to load), the page's script run to its end, and one
//! arrow per SIP message of the capture as tshark counts them (the same frame numbers).
//! Chromium and tshark are Debian packages that `scripts/install-deps` installs; without them
//! these tests fail rather than skip.

#![allow(clippy::expect_used)]

use crate::support::natlab;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs scenarios into a fresh `--out` directory (the run may fail: a fixture fails on purpose).
fn run(name: &str, scenarios: &[&str]) -> PathBuf {
    let dir = scratch(name);
    let out = dir.display().to_string();
    let mut args = vec!["run"];
    args.extend_from_slice(scenarios);
    args.extend_from_slice(&["--out", &out, "--jobs", "2"]);
    let r = natlab(&args);
    assert!(
        matches!(r.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    dir
}

/// Headless Chromium's DOM of `page` after its scripts ran, and its console messages.
fn chromium(page: &Path) -> (String, Vec<String>) {
    let page = page.canonicalize().expect("page exists");
    let profile = page.with_extension("chromium-profile");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Offline: no name resolves and every connection goes to a closed port.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs (scripts/install-deps installs the Debian package `chromium`)");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

/// The numbers of the frames tshark decodes as SIP.
fn tshark_sip_frames(capture: &Path) -> BTreeSet<u64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(["-n", "-Y", "sip", "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark runs (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a frame number"))
        .collect()
}

/// `data-frame` of every element whose `data-proto` is `proto`, in the dumped DOM.
fn drawn_frames(dom: &str, proto: &str) -> Vec<u64> {
    let marker = format!("data-proto=\"{proto}\" data-frame=\"");
    dom.match_indices(&marker)
        .map(|(i, m)| {
            let rest = &dom[i + m.len()..];
            let end = rest.find('"').expect("closing quote");
            rest[..end].parse().expect("a frame number")
        })
        .collect()
}

#[test]
fn html_ladder_in_chromium_draws_one_arrow_per_sip_message_of_the_capture() {
    let dir = run(
        "html-ladder",
        &["scenarios/sip/nat-mapping-expires-call-408.yaml"],
    );
    let scenario = dir.join("sip-nat-mapping-expires-call-408");
    let (dom, console) = chromium(&scenario.join("ladder.html"));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not run to its end"
    );
    let sip = tshark_sip_frames(&scenario.join("capture.pcapng"));
    assert!(
        sip.len() >= 20,
        "the scenario's capture holds its SIP: {sip:?}"
    );
    let drawn = drawn_frames(&dom, "SIP");
    assert_eq!(drawn.len(), sip.len(), "one arrow per SIP message");
    assert_eq!(drawn.iter().copied().collect::<BTreeSet<u64>>(), sip);
    for f in &sip {
        assert!(
            dom.contains(&format!("id=\"f{f}\"")),
            "frame {f} is anchored"
        );
    }
    // The INVITEs the NAT dropped for want of a mapping are drawn as drops at the NAT, the
    // mapping's creation and expiry as notes on its column.
    assert!(dom.contains("dropped: no-mapping"));
    assert!(dom.contains("data-event=\"nat-mapping-created\""));
    assert!(dom.contains("data-event=\"nat-mapping-expired\""));
    assert!(dom.contains("data-event=\"onInviteFailure\""));
}

#[test]
fn html_index_and_a_failing_ladder_in_chromium_show_the_failure_first() {
    let dir = run(
        "html-index",
        &[
            "scenarios/network/nat-flush.yaml",
            "tests/e2e/fixtures/run-failing.yaml",
        ],
    );
    let (dom, console) = chromium(&dir.join("index.html"));
    assert!(console.is_empty(), "console messages: {console:#?}");
    let failing = dom.find("<b>run-failing</b>").expect("failing run listed");
    let passing = dom.find("<b>nat-flush</b>").expect("passing run listed");
    assert!(failing < passing, "failures first");
    for link in [
        "run-failing/ladder.html",
        "run-failing/report.json",
        "run-failing/capture.pcapng",
        "run-failing/events.jsonl",
    ] {
        assert!(dom.contains(&format!("href=\"{link}\"")), "{link}");
        assert!(dir.join(link).is_file(), "{link} exists");
    }
    assert!(dom.contains("natlab run tests/e2e/fixtures/run-failing.yaml --seed 1"));

    let (ladder, console) = chromium(&dir.join("run-failing/ladder.html"));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(ladder.contains("data-ready=\"1\""));
    // Expectation 2 (exactly 2 drops as filtered at home) fails: its row is listed before the
    // passing expectation 0, and the one drop the capture shows is highlighted as its evidence.
    let e2 = ladder
        .find("id=\"expect-2\" class=\"fail\"")
        .expect("failing expectation");
    let e0 = ladder
        .find("id=\"expect-0\" class=\"pass\"")
        .expect("passing expectation");
    assert!(e2 < e0);
    assert!(
        ladder.contains("drop hl\" id=\"f6\""),
        "the filtered packet is highlighted"
    );
}

#[test]
fn html_ladder_of_a_small_run_snapshot() {
    let dir = run("html-snapshot", &["scenarios/network/nat-flush.yaml"]);
    let page = std::fs::read_to_string(dir.join("nat-flush/ladder.html")).expect("ladder.html");
    insta::assert_snapshot!(page);
}
