//! [`Backend`]: what a storage backend provides (connections, one write transaction, its
//! own faster reads), and the one [`Registry`] implementation every backend gets from it.

use std::collections::HashMap;

use super::conn::Conn;
use super::{
    Application, CardAttributed, CardImport, ContentRow, DatasetInfo, DatasetTotals, Disclosure,
    Event, EventDraft, ExportedTable, Grant, KnownShard, NewDataset, Policy, Registered, Registry,
    RegistryError, Retraction, ScanContext, ShardLinks, Source, SourceUsage, StoredMember,
    TrainingRun, Value, VolumeRow, card, read, shards, state, write,
};
use crate::licence::Licence;
use crate::types::DatasetRef;

/// A storage backend: connections for reading and for one write transaction, and the
/// reads it answers its own faster way.
pub trait Backend {
    /// A connection for reads (no transaction of its own).
    fn read(&self) -> Box<dyn Conn + '_>;
    /// Runs `f` in one write transaction, committed when it succeeds; `what` names the
    /// write for a refusal (`cannot apply a policy`).
    fn write<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError>;
    /// [`Backend::write`] for registering a scanned version: every row it inserts refers
    /// only to rows the same transaction inserted or read (the dataset or part it created,
    /// shard ids returned by [`Conn::store_shards`], parents it looked up, sources the scan
    /// checked), and nothing is ever deleted from those tables, so a backend may skip
    /// re-checking each reference: on SQLite that lookup per member was a third of its cost.
    fn write_scan<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        self.write(what, f)
    }
    /// See [`Registry::known_shards`].
    fn known_shards(
        &self,
        hashes: &[blake3::Hash],
    ) -> Result<HashMap<blake3::Hash, KnownShard>, RegistryError> {
        shards::known_shards_each(&mut *self.read(), hashes)
    }
    /// See [`Registry::datasets_usage`].
    fn datasets_usage(
        &self,
        refs: &[DatasetRef],
    ) -> Result<HashMap<DatasetRef, (DatasetInfo, Vec<SourceUsage>)>, RegistryError> {
        read::datasets_usage_each(&mut *self.read(), refs)
    }
    /// See [`Registry::cap_volumes`].
    fn cap_volumes(
        &self,
        sources: &[String],
    ) -> Result<HashMap<(String, String), Vec<VolumeRow>>, RegistryError> {
        read::cap_volumes_each(&mut *self.read(), sources)
    }
}

impl<B: Backend> Registry for B {
    fn apply_policy(&mut self, policy: &Policy, event: &EventDraft) -> Result<(), RegistryError> {
        self.write("apply a policy", |c| {
            let event = state::annotate(c, event)?;
            write::upsert_policy(c, policy)?;
            write::append_event(c, &event)
        })
    }

    fn register_dataset(
        &mut self,
        ds: &NewDataset,
        event: &EventDraft,
    ) -> Result<Registered, RegistryError> {
        self.write_scan("register a dataset", |c| {
            let event = state::annotate(c, event)?;
            write::register(c, ds, &event)
        })
    }

    fn stage_part(
        &mut self,
        ds: &NewDataset,
        part: (u32, u32),
        event: &EventDraft,
    ) -> Result<Registered, RegistryError> {
        self.write_scan("register a dataset", |c| {
            let event = state::annotate(c, event)?;
            write::stage_part(c, ds, part, &event)
        })
    }

    fn seal_dataset(
        &mut self,
        d: &DatasetRef,
        event: &dyn Fn(&DatasetInfo) -> EventDraft,
    ) -> Result<DatasetInfo, RegistryError> {
        let (id, info) = self.write("seal a dataset", |c| {
            let changed = state::unexplained(c)?;
            write::seal(c, d, &|info| state::mark(event(info), &changed))
        })?;
        // As stored, with its parents.
        Ok(read::datasets(&mut *self.read(), Some(id))?
            .pop()
            .map_or(info, |(_, stored)| stored))
    }

    fn record_training(
        &mut self,
        run: &TrainingRun,
        event: &EventDraft,
    ) -> Result<(), RegistryError> {
        self.write("record a training run", |c| {
            let event = state::annotate(c, event)?;
            write::upsert_training(c, run)?;
            write::append_event(c, &event)
        })
    }

    fn import_card(
        &mut self,
        card: &CardImport,
        event: &EventDraft,
    ) -> Result<CardAttributed, RegistryError> {
        // Checked before the write, so an unknown dataset is named even where nothing can
        // be written.
        let id = read::live_dataset_id(
            &mut *self.read(),
            &card.dataset,
            RegistryError::UnknownDataset,
        )?;
        self.write("import a dataset card", |c| {
            let event = state::annotate(c, event)?;
            card::import_card(c, id, card, &event)
        })
    }

    fn retract_dataset(
        &mut self,
        dataset: &DatasetRef,
        reason: &str,
        event: &EventDraft,
    ) -> Result<Retraction, RegistryError> {
        self.write("retract a dataset", |c| {
            let event = state::annotate(c, event)?;
            write::retract(c, dataset, reason, &event)
        })
    }

    fn record_event(&mut self, event: &EventDraft) -> Result<(), RegistryError> {
        self.write("record an event", |c| {
            let event = state::annotate(c, event)?;
            write::append_event(c, &event)
        })
    }

    fn store_scan_state(&mut self, dir: &[u8], state: &[u8]) -> Result<(), RegistryError> {
        self.write("save scan state", |c| write::save_state(c, dir, state))
    }

    fn import_tables(&mut self, tables: &[ExportedTable<'_>]) -> Result<(), RegistryError> {
        self.write("copy a registry into it", |c| {
            write::import_tables(c, tables)
        })
    }

    fn scan_context(
        &self,
        dataset: Option<&DatasetRef>,
        parents: &[DatasetRef],
        dir: &[u8],
    ) -> Result<ScanContext, RegistryError> {
        read::scan_context(&mut *self.read(), dataset, parents, dir)
    }

    fn state(&self) -> Result<state::State, RegistryError> {
        state::State::read(&mut *self.read())
    }

    fn sources(&self) -> Result<Vec<Source>, RegistryError> {
        read::sources(&mut *self.read())
    }

    fn licences(&self) -> Result<Vec<Licence>, RegistryError> {
        read::licences(&mut *self.read())
    }

    fn grants(&self) -> Result<Vec<Grant>, RegistryError> {
        read::grants(&mut *self.read())
    }

    fn training_runs(&self) -> Result<Vec<TrainingRun>, RegistryError> {
        read::training_runs(&mut *self.read())
    }

    fn applications(&self) -> Result<Vec<Application>, RegistryError> {
        read::applications(&mut *self.read())
    }

    fn disclosures(&self) -> Result<Vec<Disclosure>, RegistryError> {
        read::disclosures(&mut *self.read())
    }

    fn datasets(&self) -> Result<Vec<DatasetInfo>, RegistryError> {
        let all = read::datasets(&mut *self.read(), None)?;
        Ok(all.into_iter().map(|(_, info)| info).collect())
    }

    fn dataset(&self, r: &DatasetRef) -> Result<Option<DatasetInfo>, RegistryError> {
        read::dataset(&mut *self.read(), r)
    }

    fn dataset_members(&self, r: &DatasetRef) -> Result<Vec<StoredMember>, RegistryError> {
        let c = &mut *self.read();
        match read::dataset_id(c, r, "look up dataset")? {
            Some(id) => read::members(c, id),
            None => Ok(Vec::new()),
        }
    }

    fn dataset_usage(&self, r: &DatasetRef) -> Result<Vec<SourceUsage>, RegistryError> {
        let c = &mut *self.read();
        match read::dataset_id(c, r, "look up dataset")? {
            Some(id) => read::usage(c, id),
            None => Ok(Vec::new()),
        }
    }

    fn version_totals(&self, r: &DatasetRef) -> Result<Option<DatasetTotals>, RegistryError> {
        let c = &mut *self.read();
        match read::dataset_id(c, r, "look up dataset")? {
            Some(id) => state::digested(c, id).map(Some),
            None => Ok(None),
        }
    }

    fn datasets_usage(
        &self,
        refs: &[DatasetRef],
    ) -> Result<HashMap<DatasetRef, (DatasetInfo, Vec<SourceUsage>)>, RegistryError> {
        Backend::datasets_usage(self, refs)
    }

    fn cap_volumes(
        &self,
        sources: &[String],
    ) -> Result<HashMap<(String, String), Vec<VolumeRow>>, RegistryError> {
        Backend::cap_volumes(self, sources)
    }

    fn staged_parts(&self, d: &DatasetRef) -> Result<Vec<(u32, u32, u64)>, RegistryError> {
        let staged = read::staged(&mut *self.read(), d)?;
        Ok(staged
            .into_iter()
            .map(|(k, n, files, _)| (k, n, files))
            .collect())
    }

    fn shard_links(&self, hash: &blake3::Hash) -> Result<Option<ShardLinks>, RegistryError> {
        shards::shard_links(&mut *self.read(), hash)
    }

    fn print_sets(
        &self,
        kind: crate::prints::Kind,
        within: &[DatasetRef],
    ) -> Result<Vec<super::StoredPrints>, RegistryError> {
        shards::print_sets(&mut *self.read(), kind, within)
    }

    fn shard_versions(&self, shards: &[i64]) -> Result<Vec<(i64, DatasetRef)>, RegistryError> {
        shards::shard_versions(&mut *self.read(), shards)
    }

    fn shards_with_prefix(
        &self,
        prefix: &[u8],
        limit: u64,
    ) -> Result<Vec<blake3::Hash>, RegistryError> {
        shards::shards_with_prefix(&mut *self.read(), prefix, limit)
    }

    fn known_shards(
        &self,
        hashes: &[blake3::Hash],
    ) -> Result<HashMap<blake3::Hash, KnownShard>, RegistryError> {
        Backend::known_shards(self, hashes)
    }

    fn source_content(&self, source: &str) -> Result<Vec<ContentRow>, RegistryError> {
        read::source_content(&mut *self.read(), source)
    }

    fn events(&self, limit: Option<u64>) -> Result<Vec<Event>, RegistryError> {
        read::events(&mut *self.read(), limit)
    }

    fn import_optouts(
        &mut self,
        rows: &[crate::rights::Reservation],
        event: &EventDraft,
    ) -> Result<u64, RegistryError> {
        self.write("import reservations", |c| {
            let event = state::annotate(c, event)?;
            let new = super::optout::import(c, rows)?;
            let mut event = event;
            event.payload["new"] = serde_json::Value::from(new);
            write::append_event(c, &event)?;
            Ok(new)
        })
    }

    fn optouts(&self) -> Result<Vec<crate::rights::Reservation>, RegistryError> {
        super::optout::reservations(&mut *self.read())
    }

    fn crawlers(&self) -> Result<Vec<crate::rights::Crawler>, RegistryError> {
        super::optout::crawlers(&mut *self.read())
    }

    fn source_kinds(&self) -> Result<Vec<(String, crate::rights::SourceKind)>, RegistryError> {
        super::optout::source_kinds(&mut *self.read())
    }

    fn dataset_hosts(&self, r: &DatasetRef) -> Result<Option<super::DatasetHosts>, RegistryError> {
        super::optout::dataset_hosts(&mut *self.read(), r)
    }

    fn export_table(
        &self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<Value>>, RegistryError> {
        read::export_table(&mut *self.read(), table, columns)
    }
}
