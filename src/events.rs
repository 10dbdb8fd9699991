//! The tamper-evident event log's hash chain: canonical payloads and the link hash.
//!
//! Each event's hash is `BLAKE3(prev || envelope)`, where `prev` is the previous event's
//! hash in hex (64 zeros for the first event) and `envelope` is the canonical JSON (sorted
//! keys, no white space) of `{"actor","kind","payload","seq","time"}` with the payload
//! itself kept as its canonical JSON string. Editing, deleting or reordering any event
//! breaks every hash after it.

/// The `prev` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Canonical JSON: object keys sorted, no insignificant white space.
pub fn canonical(v: &serde_json::Value) -> String {
    // serde_json's Map is a BTreeMap (the `preserve_order` feature is off), so keys
    // serialise sorted at every depth.
    serde_json::to_string(v).unwrap_or_default()
}

/// The chain hash of an event, hex.
pub fn chain_hash(
    prev: &str,
    seq: u64,
    time: &str,
    actor: &str,
    kind: &str,
    payload: &str,
) -> String {
    let envelope = serde_json::json!({
        "actor": actor,
        "kind": kind,
        "payload": payload,
        "seq": seq,
        "time": time,
    });
    let mut h = blake3::Hasher::new();
    h.update(prev.as_bytes());
    h.update(canonical(&envelope).as_bytes());
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys_at_every_depth() {
        let v = serde_json::json!({"b": 1, "a": {"d": [1, 2], "c": null}});
        assert_eq!(canonical(&v), r#"{"a":{"c":null,"d":[1,2]},"b":1}"#);
    }

    #[test]
    fn any_field_change_changes_the_hash() {
        let base = chain_hash(GENESIS, 1, "2026-01-01T00:00:00Z", "ann", "apply", "{}");
        assert_ne!(
            base,
            chain_hash(GENESIS, 2, "2026-01-01T00:00:00Z", "ann", "apply", "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, 1, "2026-01-01T00:00:01Z", "ann", "apply", "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, 1, "2026-01-01T00:00:00Z", "bob", "apply", "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, 1, "2026-01-01T00:00:00Z", "ann", "scan", "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, 1, "2026-01-01T00:00:00Z", "ann", "apply", "[]")
        );
        assert_ne!(
            base,
            chain_hash(&base, 1, "2026-01-01T00:00:00Z", "ann", "apply", "{}")
        );
    }
}

/// Whether an event's payload (canonical JSON) is about the dataset version `dataset`
/// (`NAME@VERSION`): it registered or retracted it (`dataset`), changed its counts
/// (`changed`) or recorded a training run on it (`datasets` of a `train` event).
pub fn concerns(payload: &str, dataset: &str) -> bool {
    let Ok(p) = serde_json::from_str::<serde_json::Value>(payload) else {
        return false;
    };
    let named = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()) == Some(dataset);
    named(p.get("dataset"))
        || p.get("changed").is_some_and(|c| c.get(dataset).is_some())
        || p.get("datasets")
            .and_then(|d| d.as_array())
            .is_some_and(|d| d.iter().any(|x| x.as_str() == Some(dataset)))
}

#[cfg(test)]
mod concerns_tests {
    use super::concerns;

    #[test]
    fn an_event_concerns_the_versions_it_registers_changes_or_trains_on() {
        assert!(concerns(r#"{"dataset":"a@1","root":"x"}"#, "a@1"));
        assert!(!concerns(r#"{"dataset":"a@10"}"#, "a@1"));
        assert!(concerns(r#"{"dataset":"b@1","changed":{"a@1":{}}}"#, "a@1"));
        assert!(concerns(r#"{"model":"m","datasets":["b@1","a@1"]}"#, "a@1"));
        assert!(!concerns(r#"{"model":"m","datasets":["b@1"]}"#, "a@1"));
        assert!(!concerns("not json", "a@1"));
    }
}
