//! Grant coverage: whether a grant covers an org on a date, and how a collection stands
//! against a source's grants (semantics step 7). Written once; every query asks here.

use crate::types::Date;
use crate::values::Grant;

impl Grant {
    /// Whether the grant is to `org` or to everyone (`*`).
    pub fn covers_org(&self, org: &str) -> bool {
        self.grantee == org || self.grantee == "*"
    }

    /// Whether `date` lies in the grant's window `[from, until)`.
    pub fn valid_on(&self, date: Date) -> bool {
        self.from <= date && self.until.is_none_or(|u| date < u)
    }

    /// Whether the grant covers `org` on `date`.
    pub fn covers(&self, org: &str, date: Date) -> bool {
        self.covers_org(org) && self.valid_on(date)
    }
}

/// How a collection of a source's content by an org on a date stands against its grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection<'g> {
    /// A grant covered the org on the date (org-specific grants preferred, then by id).
    Covered(&'g Grant),
    /// Grants of the org existed but the latest had ended: pulls after termination.
    AfterEnd(&'g Grant),
    /// Grants of the org exist but none had started yet (the earliest is named).
    BeforeStart(&'g Grant),
    /// No grant of the source names the org or everyone.
    NoGrant,
}

impl Collection<'_> {
    /// Whether the collection was made under a grant.
    pub fn is_covered(&self) -> bool {
        matches!(self, Collection::Covered(_))
    }
}

/// Judges a collection by `org` on `date` against `grants` (one source's).
pub fn collection<'g>(grants: &'g [Grant], org: &str, date: Date) -> Collection<'g> {
    let mut candidates: Vec<&Grant> = grants.iter().filter(|g| g.covers_org(org)).collect();
    candidates.sort_by(|a, b| (a.grantee == "*", &a.id).cmp(&(b.grantee == "*", &b.id)));
    if let Some(g) = candidates.iter().find(|g| g.valid_on(date)) {
        return Collection::Covered(g);
    }
    if let Some(g) = candidates
        .iter()
        .filter(|g| g.until.is_some_and(|u| u <= date))
        .max_by_key(|g| g.until)
    {
        return Collection::AfterEnd(g);
    }
    match candidates.iter().min_by_key(|g| g.from) {
        Some(g) => Collection::BeforeStart(g),
        None => Collection::NoGrant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::testing::{d, grant};

    #[test]
    fn windows_are_half_open_and_orgs_include_everyone() {
        let g = grant("g", "api", "acme", "2020-01-01", Some("2023-02-09"));
        assert!(g.covers("acme", d("2020-01-01")));
        assert!(g.covers("acme", d("2023-02-08")));
        assert!(!g.covers("acme", d("2023-02-09")));
        assert!(!g.covers("acme", d("2019-12-31")));
        assert!(!g.covers("other", d("2021-01-01")));
        let open = grant("o", "CC0-1.0", "*", "2020-01-01", None);
        assert!(open.covers("anyone", d("2999-01-01")));
    }

    #[test]
    fn collections_name_the_nearest_grant() {
        let early = grant("early", "api", "acme", "2020-01-01", Some("2021-01-01"));
        let late = grant("late", "api", "acme", "2022-01-01", Some("2023-02-09"));
        let future = grant("future", "api", "acme", "2030-01-01", None);
        let other = grant("other", "api", "globex", "2000-01-01", None);
        let all = [early.clone(), late.clone(), future.clone(), other.clone()];
        assert_eq!(
            collection(&all, "acme", d("2022-06-01")),
            Collection::Covered(&all[1])
        );
        // Between two grants: after the end of the first.
        assert_eq!(
            collection(&all, "acme", d("2021-06-01")),
            Collection::AfterEnd(&all[0])
        );
        // After the last ended: the latest end is named.
        assert_eq!(
            collection(&all, "acme", d("2024-01-01")),
            Collection::AfterEnd(&all[1])
        );
        assert_eq!(
            collection(&all, "acme", d("2019-01-01")),
            Collection::BeforeStart(&all[0])
        );
        assert_eq!(
            collection(&all, "initech", d("2022-06-01")),
            Collection::NoGrant
        );
        assert_eq!(
            collection(&[], "acme", d("2022-06-01")),
            Collection::NoGrant
        );
        // An org grant is preferred to a public one when both cover.
        let public = grant("a-public", "CC0-1.0", "*", "2020-01-01", None);
        let both = [public, late];
        assert_eq!(
            collection(&both, "acme", d("2022-06-01")),
            Collection::Covered(&both[1])
        );
        assert!(collection(&both, "acme", d("2030-06-01")).is_covered());
    }
}
