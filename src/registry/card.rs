//! Importing a dataset card, once for every backend: its licences as grants, and its source
//! declared for the content the version's shards leave unattributed. Like a scan's
//! `--source`, the declaration is stored for that version only (`declarations`).

use super::conn::{Conn, params};
use super::write::{append_event, upsert_policy};
use super::{CardAttributed, CardImport, EventDraft, Policy, RegistryError, Value, state};

/// Registers what a dataset card declares for the version with id `dataset_id` (see
/// [`super::Registry::import_card`]).
pub fn import_card(
    c: &mut dyn Conn,
    dataset_id: i64,
    card: &CardImport,
    event: &EventDraft,
) -> Result<CardAttributed, RegistryError> {
    c.execute(
        "INSERT INTO sources (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        params![&card.source.id, &card.source.name],
        "store source",
    )?;
    for l in &card.licences {
        c.execute(
            "INSERT INTO licences (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            params![&l.id, &l.name],
            "store licence",
        )?;
    }
    upsert_policy(
        c,
        &Policy {
            grants: card.grants.clone(),
            ..Policy::default()
        },
    )?;
    // Locked: a scan merging its counts into the same shards waits for us. What the version
    // already declared of a shard is not declared again.
    let sql = format!(
        "SELECT m.path, s.id, s.unattributed_records, s.unattributed_bytes \
         FROM dataset_shards m JOIN shards s ON s.id = m.shard_id \
         WHERE m.dataset_id = ?1 AND NOT EXISTS (SELECT 1 FROM declarations d \
         WHERE d.dataset_id = m.dataset_id AND d.shard_id = m.shard_id) ORDER BY m.path{}",
        c.row_lock(" FOR UPDATE OF s")
    );
    let rows = c.query(&sql, params![dataset_id], "read dataset shards")?;
    let mut members = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        members.push((r.blob(0)?.to_vec(), r.int(1)?, r.int(2)?, r.int(3)?));
    }
    let before = state::sharing(c, dataset_id)?;
    let (targets, attributed) = card.targets(&members);
    // The card speaks for this version only: other versions holding the bytes keep theirs.
    let rows: Vec<Vec<Value>> = targets
        .iter()
        .map(|&(shard, _, _)| {
            vec![
                Value::Int(dataset_id),
                Value::Int(shard),
                Value::Text(card.source.id.clone()),
                Value::Text("declared".into()),
            ]
        })
        .collect();
    if !rows.is_empty() {
        c.insert_rows(
            "declarations",
            &["dataset_id", "shard_id", "source_id", "method"],
            &rows,
        )?;
    }
    let mut event = event.clone();
    event.payload["attributed"] = serde_json::to_value(attributed).unwrap_or_default();
    let changed = state::changed(c, before, None)?;
    append_event(c, &state::with_totals(event, None, changed))?;
    Ok(attributed)
}
