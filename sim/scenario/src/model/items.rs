//! Reading the long lists of a scenario file (topology items, timeline, expectations): every
//! item is read even after one fails, so that one reading run reports the problems of all of
//! them.
//!
//! serde's `Vec` stops at the first item that fails. natlab's loader then hides that item and
//! reads the file again, which costs one whole-file run per bad item: a file with thousands of
//! bad endpoints took thousands of runs. Reading on after a failure finds every bad item in the
//! same run; the list still fails (with its first error), so the result is the same as before.
//! A deserializer that does not say how many items are left stops at the first failure, as
//! serde's `Vec` does.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// `deserialize_with` for a list whose items are read to the end even when some fail.
pub(crate) fn every_item<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(EveryItem(PhantomData))
}

/// The visitor of [`every_item`].
struct EveryItem<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for EveryItem<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // Reading on needs a sequence that knows how many items are left (natlab's loader does):
        // each item read, good or bad, makes that number smaller, so the loop ends.
        let mut left = seq.size_hint();
        let mut items = Vec::with_capacity(left.unwrap_or(0).min(4096));
        let mut first_error = None;
        loop {
            match seq.next_element::<T>() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => {
                    let now = seq.size_hint();
                    let progressed = matches!((left, now), (Some(a), Some(b)) if b < a);
                    let e = first_error.take().unwrap_or(e);
                    if !progressed {
                        return Err(e);
                    }
                    first_error = Some(e);
                    left = now;
                    continue;
                }
            }
            left = seq.size_hint();
        }
        first_error.map_or(Ok(items), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct List(#[serde(deserialize_with = "every_item")] Vec<u8>);

    #[test]
    fn every_item_reads_a_list_without_failures() {
        let l: List = serde_json::from_str("[1, 2, 3]").expect("valid");
        assert_eq!(l.0, [1, 2, 3]);
    }

    #[test]
    fn every_item_fails_with_the_first_error() {
        let e = serde_json::from_str::<List>("[1, 300, 2]").expect_err("invalid");
        assert!(e.to_string().contains("300"), "{e}");
    }
}
