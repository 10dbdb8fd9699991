//! The registry facts one report reads: grants by source, the licence catalogue, the
//! versions it evaluates with their content per source, and cap volumes — each read once,
//! up front where the report knows what it needs.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::error::Result;
use crate::licence::Catalogue;
use crate::registry::{DatasetInfo, Grant, Registry, SourceUsage, VolumeRow};
use crate::types::{DatasetRef, Date};
use crate::verdict::{self, Outcome, Rules};

/// Registry facts shared by every evaluation of one report.
pub(super) struct Facts<'r> {
    reg: &'r dyn Registry,
    pub(super) cat: Catalogue,
    pub(super) grants: HashMap<String, Vec<Grant>>,
    pub(super) datasets: HashMap<DatasetRef, Option<(DatasetInfo, Vec<SourceUsage>)>>,
    /// Per (source, org): the distinct shards of the source's content the org collected,
    /// each at its first collection (for caps); read once per source.
    volumes: HashMap<(String, String), Vec<VolumeRow>>,
    volumes_read: HashSet<String>,
    rules: Rules,
}

impl<'r> Facts<'r> {
    pub(super) fn load(reg: &'r dyn Registry, rules: Rules) -> Result<Facts<'r>> {
        let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
        for g in reg.grants()? {
            grants.entry(g.source.clone()).or_default().push(g);
        }
        Ok(Facts {
            reg,
            cat: Catalogue::with_overrides(reg.licences()?),
            grants,
            datasets: HashMap::new(),
            volumes: HashMap::new(),
            volumes_read: HashSet::new(),
            rules,
        })
    }

    pub(super) fn dataset(
        &mut self,
        r: &DatasetRef,
    ) -> Result<Option<&(DatasetInfo, Vec<SourceUsage>)>> {
        if !self.datasets.contains_key(r) {
            let v = match self.reg.dataset(r)? {
                Some(info) => Some((info, self.reg.dataset_usage(r)?)),
                None => None,
            };
            self.datasets.insert(r.clone(), v);
        }
        Ok(self.datasets.get(r).and_then(|v| v.as_ref()))
    }

    pub(super) fn evaluate(&self, source: &str, org: &str, date: Date, use_: &str) -> Outcome<'_> {
        let grants = self.grants.get(source).map(Vec::as_slice).unwrap_or(&[]);
        verdict::evaluate(grants, &self.cat, org, date, use_, self.rules)
    }

    /// Reads the registered versions among `refs` with their usage, in one pass.
    pub(super) fn prefetch_datasets(&mut self, refs: &BTreeSet<DatasetRef>) -> Result<()> {
        let refs: Vec<DatasetRef> = refs
            .iter()
            .filter(|r| !self.datasets.contains_key(*r))
            .cloned()
            .collect();
        let mut found = self.reg.datasets_usage(&refs)?;
        for r in refs {
            let v = found.remove(&r);
            self.datasets.insert(r, v);
        }
        Ok(())
    }

    /// Reads the cap volumes of `sources` not read yet, in one pass.
    pub(super) fn prefetch_volumes(&mut self, sources: &BTreeSet<String>) -> Result<()> {
        let sources: Vec<String> = sources
            .iter()
            .filter(|s| !self.volumes_read.contains(*s))
            .cloned()
            .collect();
        if sources.is_empty() {
            return Ok(());
        }
        self.volumes.extend(self.reg.cap_volumes(&sources)?);
        self.volumes_read.extend(sources);
        Ok(())
    }

    /// The distinct shards of `source` in the datasets `org` owns, each at its first
    /// collection, for caps.
    pub(super) fn volume(&mut self, source: &str, org: &str) -> Result<&[VolumeRow]> {
        self.prefetch_volumes(&BTreeSet::from([source.to_string()]))?;
        Ok(self
            .volumes
            .get(&(source.to_string(), org.to_string()))
            .map_or(&[], Vec::as_slice))
    }

    pub(super) fn licence_of(&self, o: &Outcome<'_>) -> Option<String> {
        o.grant.map(|g| g.licence.clone())
    }

    /// The registry the facts are read from.
    pub(super) fn registry(&self) -> &'r dyn Registry {
        self.reg
    }

    /// The grants of `source`.
    pub(super) fn grants_of(&self, source: &str) -> &[Grant] {
        self.grants.get(source).map_or(&[], Vec::as_slice)
    }
}
