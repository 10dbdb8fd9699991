//! "Did you mean": the one-line error for a name a filter or flag gives that the registry
//! does not know, naming the nearest known one. A typo is an error, never an empty answer.

use crate::error::Error;

/// The known name nearest to `name` by edit distance, when it is near enough to be a typo.
pub fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// The error for `name`, given as `place` (a flag or field), naming no known `kind`: it says
/// the nearest known name, or lists a few, or says there are none and where they come from.
pub fn unknown<'a>(
    place: &str,
    kind: &str,
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
    how: &str,
) -> Error {
    let msg = if let Some(k) = nearest(name, known.clone()) {
        format!("unknown {kind} '{name}'; did you mean '{k}'?")
    } else {
        let mut all: Vec<&str> = known.into_iter().collect();
        all.sort_unstable();
        all.dedup();
        match all.len() {
            0 => format!("unknown {kind} '{name}': the registry has none ({how})"),
            n if n <= 8 => format!("unknown {kind} '{name}' (known: {})", all.join(", ")),
            n => format!(
                "unknown {kind} '{name}' (known: {}, and {} more{})",
                all[..8].join(", "),
                n - 8,
                if how.is_empty() {
                    String::new()
                } else {
                    format!("; {how}")
                }
            ),
        }
    };
    Error::input(place, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_name_and_strangers_list_the_known() {
        let known = ["acme-chat-1", "acme-vision-1", "streamy"];
        assert_eq!(nearest("streamy", known), Some("streamy"));
        assert_eq!(nearest("stremy", known), Some("streamy"));
        assert_eq!(nearest("acme-chat-2", known), Some("acme-chat-1"));
        assert_eq!(nearest("nosuch", known), None);
        let e = unknown("--model", "model", "nosuch", known, "see provtrack report").to_string();
        assert_eq!(
            e,
            "--model: unknown model 'nosuch' (known: acme-chat-1, acme-vision-1, streamy)"
        );
        let e = unknown("--use", "use", "comercial", ["commercial"], "").to_string();
        assert!(e.contains("did you mean 'commercial'"), "{e}");
        let none: [&str; 0] = [];
        let e = unknown(
            "--source",
            "source",
            "x",
            none,
            "declare sources with apply",
        )
        .to_string();
        assert!(
            e.contains("the registry has none (declare sources with apply)"),
            "{e}"
        );
    }
}
