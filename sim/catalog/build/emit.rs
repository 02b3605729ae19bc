//! Writing Rust literals for the generated tables.

use std::fmt::Write as _;

/// Stops the build with a message naming the data file.
pub(crate) fn fail(file: &str, msg: impl std::fmt::Display) -> ! {
    panic!("sim-catalog: data/{file}: {msg}")
}

/// A value that can be written as a Rust expression of the matching catalog type.
pub(crate) trait Lit {
    fn lit(&self) -> String;
}

impl Lit for String {
    fn lit(&self) -> String {
        format!("{self:?}")
    }
}

impl Lit for str {
    fn lit(&self) -> String {
        format!("{self:?}")
    }
}

impl<T: Lit + ?Sized> Lit for &T {
    fn lit(&self) -> String {
        (**self).lit()
    }
}

macro_rules! lit_display {
    ($($t:ty),*) => {$(
        impl Lit for $t {
            fn lit(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
lit_display!(bool, u8, u16, u32, i64, usize);

impl<T: Lit> Lit for Option<T> {
    fn lit(&self) -> String {
        match self {
            Some(v) => format!("Some({})", v.lit()),
            None => "None".to_owned(),
        }
    }
}

impl<T: Lit> Lit for Vec<T> {
    fn lit(&self) -> String {
        let items: Vec<String> = self.iter().map(Lit::lit).collect();
        format!("&[{}]", items.join(", "))
    }
}

/// Rust source written verbatim (a path such as `EventCategory::Tunnel`, or `&FAULTS[3]`).
pub(crate) struct Raw(pub(crate) String);

impl Lit for Raw {
    fn lit(&self) -> String {
        self.0.clone()
    }
}

/// A struct literal `Ty { a: …, b: … }`.
pub(crate) fn st(ty: &str, fields: &[(&str, String)]) -> String {
    let mut out = format!("{ty} {{ ");
    for (name, value) in fields {
        let _ = write!(out, "{name}: {value}, ");
    }
    out.push('}');
    out
}

/// The generated file.
#[derive(Default)]
pub(crate) struct Out {
    pub(crate) buf: String,
}

impl Out {
    /// `pub(crate) static NAME: [Ty; n] = [ … ];`
    pub(crate) fn array(&mut self, name: &str, ty: &str, items: &[String]) {
        let _ = writeln!(
            self.buf,
            "pub(crate) static {name}: [{ty}; {}] = [",
            items.len()
        );
        for item in items {
            let _ = writeln!(self.buf, "    {item},");
        }
        self.buf.push_str("];\n\n");
    }

    /// `pub(crate) static NAME: Ty = …;`
    pub(crate) fn item(&mut self, name: &str, ty: &str, value: &str) {
        let _ = writeln!(self.buf, "pub(crate) static {name}: {ty} = {value};\n");
    }
}

/// Maps a catalog spelling (`sip-call-state`) to the enum variant path, failing on one the
/// crate does not know.
pub(crate) fn variant(file: &str, ty: &str, value: &str, known: &[(&str, &str)]) -> Raw {
    match known.iter().find(|(spelling, _)| *spelling == value) {
        Some((_, v)) => Raw(format!("{ty}::{v}")),
        None => {
            let spellings: Vec<&str> = known.iter().map(|(s, _)| *s).collect();
            fail(
                file,
                format!("unknown {ty} {value:?} (known: {})", spellings.join(", ")),
            )
        }
    }
}

/// Checks a table's length against the count its file declares.
pub(crate) fn check_count(file: &str, table: &str, rows: usize, declared: usize) {
    if rows != declared {
        fail(
            file,
            format!("{table} has {rows} rows but its count field says {declared}"),
        );
    }
}
