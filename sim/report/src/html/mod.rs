//! Self-contained HTML pages for a suite run: one [`ladder`] page per scenario run and the
//! suite's [`index`]. Every page carries its CSS and script inline, loads nothing from
//! anywhere (it opens from `file://` with no network), and depends only on its input: the same
//! run gives the same bytes.

pub mod index;
pub mod ladder;

/// Escapes text for HTML bodies, attributes and inline SVG (control characters dropped).
pub(crate) fn esc(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\n' | '\t' => o.push(' '),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Cuts `t` to at most `max` characters, marking the cut with `…`.
pub(crate) fn cut(t: &str, max: usize) -> String {
    if t.chars().count() <= max {
        return t.to_owned();
    }
    let mut s: String = t.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Simulated microseconds as seconds with six decimals (`92.040000 s`).
pub(crate) fn seconds(us: u64) -> String {
    format!("{}.{:06} s", us / 1_000_000, us % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_makes_text_safe_in_attributes_and_bodies() {
        assert_eq!(
            esc("<a href=\"x\">'&'\u{1}\n</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39; &lt;/a&gt;"
        );
    }

    #[test]
    fn cut_marks_what_it_cuts() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn seconds_keeps_six_decimals() {
        assert_eq!(seconds(92_040_000), "92.040000 s");
        assert_eq!(seconds(5), "0.000005 s");
    }
}
