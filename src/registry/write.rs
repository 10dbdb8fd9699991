//! The writing workflows, once for every backend: applying a policy, registering, staging
//! and sealing a dataset version (with what it declares), recording training, appending to
//! the event chain and copying tables in; card imports are in [`super::card`]. Each runs
//! inside the one transaction its [`super::Backend::write`] gives it and appends its event
//! there.

use std::collections::HashMap;

use super::conn::{Conn, Owner, Param, StoredShards, params};
use super::{
    DatasetInfo, DatasetTotals, EventDraft, ExportedTable, Member, NewDataset, PartMember, Policy,
    PrintSet, Registered, RegistryError, Retraction, StagedPartRow, Subject, TrainingRun, Value,
    check_table,
};
use super::{read, state};
use crate::events;
use crate::types::{DatasetRef, utc_now_rfc3339};

/// Appends one event to the chain, after the head it reads under the chain lock: concurrent
/// writers append one after the other.
pub fn append_event(c: &mut dyn Conn, draft: &EventDraft) -> Result<(), RegistryError> {
    c.lock_chain()?;
    let head = c.query(
        "SELECT seq, hash, payload FROM events ORDER BY seq DESC LIMIT 1",
        &[],
        "read chain head",
    )?;
    let (seq, prev, previous) = match head.first() {
        Some(r) => (r.count(0)?, r.text(1)?, Some(r.text(2)?)),
        None => (0, events::GENESIS.to_string(), None),
    };
    let previous =
        previous.and_then(|p| super::state::State::recorded_root(&serde_json::from_str(&p).ok()?));
    let seq = seq + 1;
    let time = utc_now_rfc3339();
    // The event commits to the state its transaction leaves.
    let mut payload = draft.payload.clone();
    payload["state"] = super::state::State::read(c)?.to_json_after(previous.as_deref());
    let payload = events::canonical(&payload);
    let hash = events::chain_hash(&prev, seq, &time, &draft.actor, &draft.kind, &payload);
    c.execute(
        "INSERT INTO events (seq, time, actor, kind, payload, prev, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            seq,
            &time,
            &draft.actor,
            &draft.kind,
            &payload,
            &prev,
            &hash
        ],
        "append event",
    )?;
    Ok(())
}

/// Upserts one training run with its datasets and uses.
pub fn upsert_training(c: &mut dyn Conn, t: &TrainingRun) -> Result<(), RegistryError> {
    let what = "store training run";
    let date = t.date.to_string();
    c.execute(
        "INSERT INTO training_runs (model, org, date) VALUES (?1, ?2, ?3) \
         ON CONFLICT (model) DO UPDATE SET org = excluded.org, date = excluded.date",
        params![&t.model, &t.org, &date],
        what,
    )?;
    c.execute(
        "DELETE FROM training_datasets WHERE model = ?1",
        params![&t.model],
        what,
    )?;
    c.execute(
        "DELETE FROM training_uses WHERE model = ?1",
        params![&t.model],
        what,
    )?;
    for d in &t.datasets {
        c.execute(
            "INSERT INTO training_datasets (model, dataset) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
            params![&t.model, &d.to_string()],
            what,
        )?;
    }
    for u in &t.uses {
        c.execute(
            "INSERT INTO training_uses (model, use_name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![&t.model, u],
            what,
        )?;
    }
    Ok(())
}

/// Upserts everything in the policy; never deletes (but a source's domains, a licence's
/// terms and an application's models are replaced by the policy's).
pub fn upsert_policy(c: &mut dyn Conn, p: &Policy) -> Result<(), RegistryError> {
    for s in &p.sources {
        let what = "store source";
        c.execute(
            "INSERT INTO sources (id, name) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![&s.id, &s.name],
            what,
        )?;
        c.execute(
            "DELETE FROM source_domains WHERE source_id = ?1",
            params![&s.id],
            what,
        )?;
        for d in &s.domains {
            let owner = c.query(
                "SELECT source_id FROM source_domains WHERE domain = ?1",
                params![d],
                what,
            )?;
            if let Some(owner) = owner.first() {
                return Err(RegistryError::DomainTaken {
                    domain: d.clone(),
                    source_id: s.id.clone(),
                    owner: owner.text(0)?,
                });
            }
            c.execute(
                "INSERT INTO source_domains (domain, source_id) VALUES (?1, ?2)",
                params![d, &s.id],
                what,
            )?;
        }
    }
    for l in &p.licences {
        let what = "store licence";
        c.execute(
            "INSERT INTO licences (id, name) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![&l.id, &l.name],
            what,
        )?;
        c.execute(
            "DELETE FROM licence_terms WHERE licence_id = ?1",
            params![&l.id],
            what,
        )?;
        let terms = l
            .allow
            .iter()
            .map(|t| ("allow", t))
            .chain(l.deny.iter().map(|t| ("deny", t)))
            .chain(l.conditions.iter().map(|t| ("condition", t)));
        for (kind, term) in terms {
            c.execute(
                "INSERT INTO licence_terms (licence_id, kind, term) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
                params![&l.id, kind, term],
                what,
            )?;
        }
    }
    for g in &p.grants {
        c.execute(
            "INSERT INTO grants (id, source_id, licence_id, grantee, valid_from, valid_until, \
             cap_records, cap_per) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (id) DO UPDATE SET source_id = excluded.source_id, \
             licence_id = excluded.licence_id, grantee = excluded.grantee, \
             valid_from = excluded.valid_from, valid_until = excluded.valid_until, \
             cap_records = excluded.cap_records, cap_per = excluded.cap_per",
            params![
                &g.id,
                &g.source,
                &g.licence,
                &g.grantee,
                &g.from.to_string(),
                &g.until.map(|d| d.to_string()),
                g.cap.map(|c| i64::try_from(c.records).unwrap_or(i64::MAX)),
                g.cap.map(|c| c.per.as_str()),
            ],
            "store grant",
        )?;
    }
    for t in &p.training {
        upsert_training(c, t)?;
    }
    for a in &p.applications {
        let what = "store application";
        c.execute(
            "INSERT INTO applications (id, org, disclosed) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET org = excluded.org, disclosed = excluded.disclosed",
            params![&a.id, &a.org, a.disclosed],
            what,
        )?;
        replace_list(c, "application_models", "model", &a.id, &a.models, what)?;
        replace_list(c, "application_uses", "use_name", &a.id, &a.uses, what)?;
    }
    for d in &p.disclosures {
        let (dataset, source) = match &d.subject {
            Subject::Dataset(r) => (Some(r.to_string()), None),
            Subject::Source(s) => (None, Some(s.clone())),
        };
        c.execute(
            "INSERT INTO disclosures (id, dataset, source_id, recipient, kind, date, org) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (id) DO UPDATE SET dataset = excluded.dataset, \
             source_id = excluded.source_id, recipient = excluded.recipient, \
             kind = excluded.kind, date = excluded.date, org = excluded.org",
            params![
                &d.id,
                &dataset,
                &source,
                &d.recipient,
                &d.kind,
                &d.date.to_string(),
                &d.org
            ],
            "store disclosure",
        )?;
    }
    super::optout::upsert_rights(c, &p.crawlers, &p.source_kinds)?;
    Ok(())
}

/// The ids of `--derived-from` parents, which must be registered.
fn parent_ids(c: &mut dyn Conn, parents: &[DatasetRef]) -> Result<Vec<i64>, RegistryError> {
    let mut out = Vec::with_capacity(parents.len());
    for p in parents {
        out.push(read::live_dataset_id(c, p, RegistryError::UnknownParent)?);
    }
    Ok(out)
}

/// Saves the scanner's state for a directory (replacing what was saved).
pub fn save_state(c: &mut dyn Conn, dir: &[u8], state: &[u8]) -> Result<(), RegistryError> {
    c.execute(
        "INSERT INTO scan_state (dir, state) VALUES (?1, ?2) \
         ON CONFLICT (dir) DO UPDATE SET state = excluded.state",
        params![dir, state],
        "write scan state",
    )?;
    Ok(())
}

/// Stores a published version's row; its id.
fn insert_dataset(c: &mut dyn Conn, info: &DatasetInfo) -> Result<i64, RegistryError> {
    // A concurrent scan of the same version: the unique key makes the second wait for the
    // first, then fail on the conflict rather than store a second copy.
    c.insert_id(
        "INSERT INTO datasets (name, version, org, collected, root_hash, files, bytes, \
         records, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            &info.dataset.name,
            &info.dataset.version,
            &info.org,
            &info.collected.to_string(),
            &info.root,
            info.files,
            info.bytes,
            info.records,
            &utc_now_rfc3339(),
        ],
        "store dataset",
    )
}

/// Links a published version to its parents.
fn insert_parents(c: &mut dyn Conn, id: i64, parents: &[i64]) -> Result<(), RegistryError> {
    for p in parents {
        c.execute(
            "INSERT INTO dataset_parents (dataset_id, parent_id) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
            params![id, *p],
            "store dataset parents",
        )?;
    }
    Ok(())
}

/// Test hook: with `PROVTRACK_TEST_PAUSE_BEFORE_COMMIT=1` a registering scan, its writes all
/// made, says so on stderr and waits to be killed before committing, so a test can kill it
/// exactly there and check that nothing of the version is left (tests/scanner.rs,
/// `a_killed_scan_leaves_no_partial_version`). Never set outside tests.
fn pause_before_commit() {
    if std::env::var_os("PROVTRACK_TEST_PAUSE_BEFORE_COMMIT").is_some_and(|v| v == "1") {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "provtrack: test hook: paused before commit");
        let _ = err.flush();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Stores what the members declare (see [`Member::declared`]) for the version or part
/// `owner`, each distinct shard once; `ids` are the members' shard ids.
fn store_declarations(
    c: &mut dyn Conn,
    owner: Owner,
    members: &[Member],
    ids: &[i64],
) -> Result<(), RegistryError> {
    let (table, column, owner_id) = match owner {
        Owner::Dataset(id) => ("declarations", "dataset_id", id),
        Owner::Part(id) => ("dataset_part_declarations", "part_id", id),
    };
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (m, &shard) in members.iter().zip(ids) {
        if m.declared.is_empty() || !seen.insert(shard) {
            continue;
        }
        for a in &m.declared {
            rows.push(vec![
                Value::Int(owner_id),
                Value::Int(shard),
                Value::Text(a.source.clone()),
                Value::Text(a.method.as_str().into()),
            ]);
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    c.insert_rows(table, &[column, "shard_id", "source_id", "method"], &rows)
}

/// Stores a dataset version with its members, shards, attributions and the scanner's
/// state, appends `event`, and answers what the registry now holds of it; the same version
/// with the same root hash is left as it is.
pub fn register(
    c: &mut dyn Conn,
    ds: &NewDataset,
    event: &EventDraft,
) -> Result<Registered, RegistryError> {
    let existing = c.query(
        "SELECT id, root_hash FROM datasets WHERE name = ?1 AND version = ?2",
        params![&ds.dataset.name, &ds.dataset.version],
        "look up dataset",
    )?;
    if let Some(row) = existing.first() {
        let id = row.int(0)?;
        read::refuse_retracted(c, &ds.dataset, id)?;
        if row.hash(1)? == ds.root_hash {
            let totals = read::dataset_totals(c, id)?;
            return Ok(Registered::Unchanged { totals });
        }
        let old: Vec<(Vec<u8>, blake3::Hash)> = read::members(c, id)?
            .into_iter()
            .map(|m| (m.path, m.shard.hash))
            .collect();
        return Err(RegistryError::DatasetChanged {
            dataset: ds.dataset.clone(),
            changes: super::describe_changes(&old, &ds.members),
        });
    }
    let parents = parent_ids(c, &ds.parents)?;
    // What the members sum to, if all their shards are new (a first scan): computed from
    // the members on another core while the rows are written, used only in that case.
    std::thread::scope(|s| {
        let sums = s.spawn(|| {
            let totals = state::found(&ds.members);
            let hosts = super::optout::found_hosts(&ds.members);
            (totals, hosts)
        });
        insert_version(c, ds, event, &parents, || {
            sums.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    })
}

/// The writes of [`register`] for a version not yet stored; `sums` gives the totals and
/// host rows the members alone sum to, right when every shard is new.
fn insert_version(
    c: &mut dyn Conn,
    ds: &NewDataset,
    event: &EventDraft,
    parents: &[i64],
    sums: impl FnOnce() -> (DatasetTotals, super::optout::DatasetHosts),
) -> Result<Registered, RegistryError> {
    let info = DatasetInfo {
        dataset: ds.dataset.clone(),
        org: ds.org.clone(),
        collected: ds.collected,
        root: ds.root_hash,
        files: ds.members.len() as u64,
        bytes: ds.members.iter().map(|m| m.shard.size).sum(),
        records: super::distinct_records(
            ds.members.iter().map(|m| (&m.shard.hash, m.shard.records)),
        ),
        parents: Vec::new(),
        retracted: None,
    };
    // The versions holding these bytes already: the event names those whose counts change.
    let before = state::holders(
        c,
        ds.members
            .iter()
            .map(|m| m.shard.hash.as_bytes().as_slice()),
    )?;
    let id = insert_dataset(c, &info)?;
    insert_parents(c, id, parents)?;
    let stored = c.store_shards(&ds.members)?;
    store_prints(c, &stored, &ds.members)?;
    super::optout::store_hosts(c, &ds.members, &stored)?;
    c.write_members(
        Owner::Dataset(id),
        &super::member_rows(&ds.members, &stored.ids),
    )?;
    store_declarations(c, Owner::Dataset(id), &ds.members, &stored.ids)?;
    if let Some((dir, state)) = &ds.state {
        save_state(c, dir, state)?;
    }
    // Shards all new hold exactly what the scan found: their totals and host rows need no
    // query.
    let (totals, hosts) = if stored.all_new() {
        let (totals, hosts) = sums();
        (totals, Some(hosts))
    } else {
        (
            state::digested(c, id)?,
            super::optout::dataset_hosts(c, &ds.dataset)?,
        )
    };
    let changed = state::changed(c, before, Some(id))?;
    let mut event = state::with_totals(event.clone(), Some(&totals), changed);
    if let Some(h) = hosts {
        event.payload["hosts"] = h.digest().into();
    }
    append_event(c, &event)?;
    pause_before_commit();
    // The digest is the event's; the caller is answered the sums, as for an unchanged scan.
    Ok(Registered::Created {
        inherited_shards: stored.inherited,
        totals: DatasetTotals {
            content: None,
            ..totals
        },
    })
}

/// Stages part `k` of `n` of a version (see [`super::Registry::stage_part`]).
pub fn stage_part(
    c: &mut dyn Conn,
    ds: &NewDataset,
    (k, n): (u32, u32),
    event: &EventDraft,
) -> Result<Registered, RegistryError> {
    let d = &ds.dataset;
    if read::dataset_id(c, d, "look up dataset")?.is_some() {
        return Err(RegistryError::StagingSealed(d.clone()));
    }
    let staged = read::staged(c, d)?;
    if let Some((j, m, _, _)) = staged.iter().find(|(_, m, _, _)| *m != n) {
        return Err(RegistryError::PartCountDiffers {
            dataset: d.clone(),
            staged: i64::from(*j),
            parts: i64::from(*m),
            asked: n,
        });
    }
    if let Some((_, _, _, root)) = staged.iter().find(|(j, _, _, _)| *j == k) {
        if *root == ds.root_hash {
            return Ok(Registered::Unchanged {
                totals: Default::default(),
            });
        }
        return Err(RegistryError::PartChanged {
            dataset: d.clone(),
            part: k,
            parts: n,
        });
    }
    let parents = parent_ids(c, &ds.parents)?;
    let part_id = c.insert_id(
        "INSERT INTO dataset_parts (name, version, part, parts, org, collected, root_hash, \
         files, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            &d.name,
            &d.version,
            k,
            n,
            &ds.org,
            &ds.collected.to_string(),
            &ds.root_hash,
            ds.members.len() as u64,
            &utc_now_rfc3339(),
        ],
        "stage part",
    )?;
    for p in parents {
        c.execute(
            "INSERT INTO dataset_part_parents (part_id, parent_id) VALUES (?1, ?2) \
             ON CONFLICT DO NOTHING",
            params![part_id, p],
            "stage part parents",
        )?;
    }
    let before = state::holders(
        c,
        ds.members
            .iter()
            .map(|m| m.shard.hash.as_bytes().as_slice()),
    )?;
    let stored = c.store_shards(&ds.members)?;
    store_prints(c, &stored, &ds.members)?;
    super::optout::store_hosts(c, &ds.members, &stored)?;
    c.write_members(
        Owner::Part(part_id),
        &super::member_rows(&ds.members, &stored.ids),
    )?;
    store_declarations(c, Owner::Part(part_id), &ds.members, &stored.ids)?;
    if let Some((dir, state)) = &ds.state {
        save_state(c, dir, state)?;
    }
    let changed = state::changed(c, before, None)?;
    append_event(c, &state::with_totals(event.clone(), None, changed))?;
    pause_before_commit();
    Ok(Registered::Staged {
        inherited_shards: stored.inherited,
    })
}

/// Publishes a version from its staged parts (see [`super::Registry::seal_dataset`]);
/// answers its id and what was published.
pub fn seal(
    c: &mut dyn Conn,
    d: &DatasetRef,
    event: &dyn Fn(&DatasetInfo) -> EventDraft,
) -> Result<(i64, DatasetInfo), RegistryError> {
    let sealed = read::dataset_id(c, d, "look up dataset")?.is_some();
    // Parts are locked while they are checked and published.
    let sql = format!(
        "SELECT id, part, parts, org, collected FROM dataset_parts \
         WHERE name = ?1 AND version = ?2 ORDER BY part{}",
        c.row_lock(" FOR UPDATE")
    );
    let rows = c.query(&sql, params![&d.name, &d.version], "read staged parts")?;
    let mut parts = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        parts.push(StagedPartRow {
            id: r.int(0)?,
            part: r.int(1)?,
            parts: r.int(2)?,
            org: r.opt_text(3)?,
            collected: r.text(4)?,
        });
    }
    super::check_staged_parts(d, sealed, &parts)?;
    // Each part's parents, and all parts' members, one query each.
    let rows = c.query(
        "SELECT pp.part_id, pp.parent_id FROM dataset_part_parents pp \
         JOIN dataset_parts p ON p.id = pp.part_id \
         WHERE p.name = ?1 AND p.version = ?2 ORDER BY pp.part_id, pp.parent_id",
        params![&d.name, &d.version],
        "read part parents",
    )?;
    let mut by_part: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in rows.iter() {
        by_part.entry(r.int(0)?).or_default().push(r.int(1)?);
    }
    let parents = parts
        .iter()
        .map(|p| by_part.remove(&p.id).unwrap_or_default())
        .collect();
    let parents = super::same_parents(d, &parts, parents)?;
    let rows = c.query(
        "SELECT m.path, s.id, s.hash, s.size, s.records, p.part \
         FROM dataset_part_shards m JOIN shards s ON s.id = m.shard_id \
         JOIN dataset_parts p ON p.id = m.part_id \
         WHERE p.name = ?1 AND p.version = ?2",
        params![&d.name, &d.version],
        "read part shards",
    )?;
    let mut members = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        members.push(PartMember {
            path: r.blob(0)?.to_vec(),
            shard_id: r.int(1)?,
            hash: r.hash(2)?,
            size: r.count(3)?,
            records: r.count(4)?,
            part: r.int(5)?,
        });
    }
    drop(rows);
    let info = super::sealed_info(d, &parts, &mut members)?;
    let id = insert_dataset(c, &info)?;
    let rows: Vec<(&[u8], i64)> = members
        .iter()
        .map(|m| (m.path.as_slice(), m.shard_id))
        .collect();
    c.write_members(Owner::Dataset(id), &rows)?;
    // What the parts declared, this version's now (the parts go below).
    c.execute(
        "INSERT INTO declarations (dataset_id, shard_id, source_id, method) \
         SELECT DISTINCT CAST(?1 AS BIGINT), pd.shard_id, pd.source_id, pd.method \
         FROM dataset_part_declarations pd JOIN dataset_parts p ON p.id = pd.part_id \
         WHERE p.name = ?2 AND p.version = ?3 ON CONFLICT DO NOTHING",
        params![id, &d.name, &d.version],
        "publish part declarations",
    )?;
    insert_parents(c, id, &parents)?;
    c.execute(
        "DELETE FROM dataset_parts WHERE name = ?1 AND version = ?2",
        params![&d.name, &d.version],
        "remove staged parts",
    )?;
    let totals = state::digested(c, id)?;
    append_event(
        c,
        &state::with_totals(event(&info), Some(&totals), Default::default()),
    )?;
    Ok((id, info))
}

/// Withdraws the version `d` (see [`super::Registry::retract_dataset`]).
pub fn retract(
    c: &mut dyn Conn,
    d: &DatasetRef,
    reason: &str,
    event: &EventDraft,
) -> Result<Retraction, RegistryError> {
    let id = read::dataset_id(c, d, "look up dataset")?
        .ok_or_else(|| RegistryError::UnknownDataset(d.clone()))?;
    if let Some(reason) = read::retraction(c, id)? {
        return Err(RegistryError::AlreadyRetracted {
            dataset: d.clone(),
            reason,
        });
    }
    let name = d.to_string();
    let mut users = Vec::new();
    let relying = [
        (
            "SELECT model FROM training_datasets WHERE dataset = ?1 ORDER BY model",
            "trained on by",
        ),
        (
            "SELECT id FROM disclosures WHERE dataset = ?1 ORDER BY id",
            "shared in disclosure",
        ),
    ];
    for (sql, how) in relying {
        for r in c
            .query(sql, params![&name], "read what relies on a dataset")?
            .iter()
        {
            users.push(format!("{how} {}", r.text(0)?));
        }
    }
    for r in c
        .query(
            "SELECT d.name || '@' || d.version FROM dataset_parents p \
             JOIN datasets d ON d.id = p.dataset_id WHERE p.parent_id = ?1 \
             ORDER BY d.name, d.version",
            params![id],
            "read what relies on a dataset",
        )?
        .iter()
    {
        users.push(format!("parent of {}", r.text(0)?));
    }
    if !users.is_empty() {
        return Err(RegistryError::RetractionRefused {
            dataset: d.clone(),
            users: users.join(", "),
        });
    }
    let time = utc_now_rfc3339();
    c.execute(
        "INSERT INTO retractions (dataset_id, reason, time) VALUES (?1, ?2, ?3)",
        params![id, reason, &time],
        "store retraction",
    )?;
    append_event(c, event)?;
    Ok(Retraction {
        reason: reason.to_string(),
        time,
    })
}

/// Stores exported tables verbatim into a registry that holds nothing yet.
pub fn import_tables(c: &mut dyn Conn, tables: &[ExportedTable<'_>]) -> Result<(), RegistryError> {
    let held = c.query(
        "SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM sources) + \
         (SELECT COUNT(*) FROM datasets) + (SELECT COUNT(*) FROM dataset_parts)",
        &[],
        "inspect the target",
    )?;
    if held.first().map_or(Ok(0), |r| r.int(0))? > 0 {
        return Err(RegistryError::NotEmpty {
            location: c.location().to_string(),
        });
    }
    for (table, columns, rows) in tables {
        check_table(table, columns)?;
        if !rows.is_empty() {
            c.insert_rows(table, columns, rows)?;
        }
    }
    c.continue_ids()
}

/// Replaces the list an application holds in `table` (its models, its uses): the policy's
/// list is the whole truth. `table` and `column` are this module's own names, never input.
fn replace_list(
    c: &mut dyn Conn,
    table: &str,
    column: &str,
    application: &str,
    items: &[String],
    what: &str,
) -> Result<(), RegistryError> {
    c.execute(
        &format!("DELETE FROM {table} WHERE application_id = ?1"),
        params![application],
        what,
    )?;
    let insert = format!(
        "INSERT INTO {table} (application_id, {column}) VALUES (?1, ?2) ON CONFLICT DO NOTHING"
    );
    for item in items {
        c.execute(&insert, params![application, item], what)?;
    }
    Ok(())
}

/// Stores the members' print sets, in statements of up to 200 rows. A shard already
/// printed keeps its sets (same bytes, same records); one registered before prints existed
/// gets them now.
fn store_prints(
    c: &mut dyn Conn,
    stored: &StoredShards,
    members: &[Member],
) -> Result<(), RegistryError> {
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<(i64, &PrintSet)> = Vec::new();
    for (m, &id) in members.iter().zip(&stored.ids) {
        if m.prints.is_empty() || !seen.insert(id) {
            continue;
        }
        if stored.was_known(id)
            && c.query(
                "SELECT 1 FROM record_prints WHERE shard_id = ?1 LIMIT 1",
                params![id],
                "read record prints",
            )?
            .first()
            .is_some()
        {
            continue;
        }
        rows.extend(m.prints.iter().map(|p| (id, p)));
    }
    for chunk in rows.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO record_prints (shard_id, kind, source_id, records, prints) VALUES ",
        );
        let mut ps: Vec<Param<'_>> = Vec::with_capacity(chunk.len() * 5);
        for (k, (id, p)) in chunk.iter().enumerate() {
            let b = k * 5;
            if k > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(?{}, ?{}, ?{}, ?{}, ?{})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            ));
            ps.push(Param::Int(*id));
            ps.push(Param::Text(p.kind.as_str()));
            ps.push(Param::Text(p.source.as_deref().unwrap_or("")));
            ps.push(Param::from(p.records));
            ps.push(Param::Blob(&p.blob));
        }
        c.execute(&sql, &ps, "store record prints")?;
    }
    Ok(())
}
