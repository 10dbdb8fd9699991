//! Per-host record counts of a shard: the hosts its records' URLs name, with records and
//! bytes, bounded — the [`TOP_HOSTS`] largest by records, the rest summed as "other". The
//! scanner fills a [`HostTally`] while it reads; the registry stores the [`HostCounts`];
//! rights reservations (opt-outs) and the AI Act summary read them.

use std::collections::HashMap;

/// Hosts kept per shard by records; the others are summed into [`HostCounts::other`].
pub const TOP_HOSTS: usize = 64;

/// Distinct hosts a tally follows one by one while a shard is read; records of any further
/// host go straight to "other", so that a shard of a million hosts costs bounded memory.
pub const TRACKED_HOSTS: usize = 4096;

/// A shard's records per host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostCounts {
    /// (host, records, bytes), most records first (then by host), at most [`TOP_HOSTS`].
    pub top: Vec<(String, u64, u64)>,
    /// Records (and bytes) with a URL host outside `top`.
    pub other: (u64, u64),
}

impl HostCounts {
    /// Records with a URL host, `top` and `other` together (saturating).
    pub fn records(&self) -> u64 {
        self.top
            .iter()
            .fold(self.other.0, |n, (_, r, _)| n.saturating_add(*r))
    }
}

/// Counts records per host while a shard is read. Hosts are lower-cased; a host seen
/// after [`TRACKED_HOSTS`] others is counted as "other". The hot path (once per record):
/// the previous record's host compared first (runs of one host are common), then one
/// borrowed lookup with a fast hash; only a new host allocates.
#[derive(Clone, Debug, Default)]
pub struct HostTally {
    /// (host, records, bytes), in order of first sight.
    hosts: Vec<(String, u64, u64)>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    /// The slot of the previous record's host.
    last: usize,
    other: (u64, u64),
}

impl HostTally {
    /// Counts one record of `bytes` bytes from `host`.
    pub fn count(&mut self, host: &str, bytes: u64) {
        let slot = match self.hosts.get(self.last) {
            Some((h, _, _)) if h == host => Some(self.last),
            _ => self.slot(host),
        };
        let (r, b) = match slot {
            Some(k) => {
                self.last = k;
                let (_, r, b) = &mut self.hosts[k];
                (r, b)
            }
            None => (&mut self.other.0, &mut self.other.1),
        };
        *r = r.saturating_add(1);
        *b = b.saturating_add(bytes);
    }

    /// The slot of `host`, made when there is room; `None`: count it as other.
    fn slot(&mut self, host: &str) -> Option<usize> {
        if let Some(&k) = self.index.get(host) {
            return Some(k);
        }
        let lower = host.to_ascii_lowercase();
        if let Some(&k) = self.index.get(&lower) {
            return Some(k);
        }
        if self.hosts.len() >= TRACKED_HOSTS {
            return None;
        }
        let k = self.hosts.len();
        self.index.insert(lower.clone(), k);
        self.hosts.push((lower, 0, 0));
        Some(k)
    }

    /// The bounded counts: the [`TOP_HOSTS`] hosts with most records, the rest as other.
    pub fn finish(self) -> HostCounts {
        let mut all = self.hosts;
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut other = self.other;
        for (_, r, b) in all.iter().skip(TOP_HOSTS) {
            other.0 = other.0.saturating_add(*r);
            other.1 = other.1.saturating_add(*b);
        }
        all.truncate(TOP_HOSTS);
        HostCounts { top: all, other }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_hosts_are_bounded_and_the_rest_is_other() {
        let mut t = HostTally::default();
        for i in 0..(TOP_HOSTS + 10) {
            for _ in 0..=i {
                t.count(&format!("h{i}.example"), 2);
            }
        }
        t.count("H0.Example", 1);
        let c = t.finish();
        assert_eq!(c.top.len(), TOP_HOSTS);
        assert_eq!(c.top[0].0, format!("h{}.example", TOP_HOSTS + 9));
        // h0..h9 (1..=10 records, h0 one more) fall to other.
        assert_eq!(c.other.0, (1..=10).sum::<u64>() + 1);
        assert!(!c.top.iter().any(|(h, _, _)| h == "h0.example"));
        let total: u64 = (1..=(TOP_HOSTS as u64 + 10)).sum::<u64>() + 1;
        assert_eq!(c.records(), total);
    }

    #[test]
    fn hosts_past_the_tracking_bound_count_as_other() {
        let mut t = HostTally::default();
        for i in 0..(TRACKED_HOSTS + 5) {
            t.count(&format!("h{i}.example"), 1);
        }
        t.count("h0.example", 1);
        let c = t.finish();
        assert_eq!(c.records(), TRACKED_HOSTS as u64 + 6);
        assert_eq!(c.top.len(), TOP_HOSTS);
        assert_eq!(c.top[0], ("h0.example".to_string(), 2, 2));
    }
}
