//! The `Registry` contract, through the library (no binary): every backend gives the same
//! answers and the same refusals. Runs on SQLite always, and on PostgreSQL too with
//! `PROVTRACK_TEST_POSTGRES=1` (a throw-away server, see `common::pg`).

mod common;

use common::pg;
use provtrack::events;
use provtrack::licence::Licence;
use provtrack::registry::{
    self, Application, Attribution, Cap, CardAttributed, CardImport, DatasetInfo, EventDraft,
    Grant, Member, Method, NewDataset, Policy, Registered, Registry, Shard, Source, Subject,
    TABLES, TrainingRun,
};
use provtrack::types::{DatasetRef, Date, Period};

/// Runs `check` on a fresh registry of every backend under test.
fn each_backend(check: impl Fn(&mut dyn Registry)) {
    for location in locations() {
        let mut reg = registry::open(&location.0).expect("open registry");
        check(&mut *reg);
    }
}

/// Fresh registry locations, one per backend (the temp dir kept alive with it).
fn locations() -> Vec<(String, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("reg.db").display().to_string();
    let mut out = vec![(sqlite, Some(dir))];
    if pg::enabled() {
        out.push((pg::fresh_database(), None));
    } else {
        eprintln!(
            "notice: contract run on SQLite only (PROVTRACK_TEST_POSTGRES=1 adds PostgreSQL)"
        );
    }
    out
}

fn date(s: &str) -> Date {
    s.parse().unwrap()
}

fn dref(s: &str) -> DatasetRef {
    s.parse().unwrap()
}

fn event(kind: &str) -> EventDraft {
    EventDraft {
        actor: "tester".into(),
        kind: kind.into(),
        payload: serde_json::json!({ "kind": kind }),
    }
}

fn policy() -> Policy {
    Policy {
        // In the order the registry answers: sources by id, domains sorted.
        sources: vec![
            Source {
                id: "reddit".into(),
                name: "Reddit".into(),
                domains: vec!["reddit.com".into()],
            },
            Source {
                id: "twitter".into(),
                name: "Twitter".into(),
                domains: vec!["t.co".into(), "twitter.com".into()],
            },
        ],
        licences: vec![Licence {
            id: "api-terms".into(),
            name: "API terms".into(),
            allow: vec!["research".into()],
            deny: vec!["ai-training".into()],
            conditions: vec!["attribution".into()],
            builtin: false,
        }],
        grants: vec![Grant {
            id: "g1".into(),
            source: "twitter".into(),
            licence: "api-terms".into(),
            grantee: "acme".into(),
            from: date("2023-01-01"),
            until: Some(date("2024-01-01")),
            cap: Some(Cap {
                records: 10,
                per: Period::Month,
            }),
        }],
        training: vec![TrainingRun {
            model: "m1".into(),
            org: "acme".into(),
            date: date("2023-06-01"),
            datasets: vec![dref("web@1")],
            uses: vec!["ai-training".into()],
        }],
        applications: vec![Application {
            id: "app".into(),
            org: "acme".into(),
            models: vec!["m1".into()],
            uses: vec!["advertising".into()],
            disclosed: false,
        }],
        disclosures: vec![provtrack::registry::Disclosure {
            id: "d1".into(),
            subject: Subject::Source("twitter".into()),
            recipient: "agency".into(),
            kind: "government".into(),
            date: date("2023-07-01"),
            org: Some("acme".into()),
        }],
        crawlers: Vec::new(),
        source_kinds: Vec::new(),
    }
}

/// A member whose bytes are `content`, with `records` of `source` (if any) and
/// `unattributed` records of no source.
fn member(path: &str, content: &str, source: Option<(&str, u64)>, unattributed: u64) -> Member {
    let attributed = source.map_or(0, |(_, n)| n);
    Member {
        path: path.as_bytes().to_vec(),
        shard: Shard {
            hash: blake3::hash(content.as_bytes()),
            size: content.len() as u64,
            format: "jsonl".into(),
            records: attributed + unattributed,
            unattributed_records: unattributed,
            unattributed_bytes: unattributed * 10,
            malformed: 0,
            problem: None,
        },
        attributions: source
            .map(|(s, n)| Attribution {
                source: s.into(),
                records: n,
                bytes: n * 10,
                method: Method::Url,
            })
            .into_iter()
            .collect(),
        declared: Vec::new(),
        prints: Vec::new(),
        hosts: None,
    }
}

fn dataset(name: &str, org: &str, collected: &str, members: Vec<Member>) -> NewDataset {
    let root =
        provtrack::digest::root_hash(members.iter().map(|m| (m.path.as_slice(), &m.shard.hash)));
    NewDataset {
        dataset: dref(name),
        org: Some(org.into()),
        collected: date(collected),
        root_hash: root,
        parents: Vec::new(),
        members,
        state: Some((b"/data/web".to_vec(), b"state".to_vec())),
    }
}

fn web() -> NewDataset {
    dataset(
        "web@1",
        "acme",
        "2023-03-01",
        vec![
            member("a.jsonl", "a", Some(("twitter", 4)), 1),
            member("b.jsonl", "b", Some(("reddit", 2)), 0),
            member("c.jsonl", "a", Some(("twitter", 4)), 1),
        ],
    )
}

#[test]
fn applying_a_policy_twice_changes_nothing_but_the_log() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        let read = |reg: &dyn Registry| {
            (
                reg.sources().unwrap(),
                reg.licences().unwrap(),
                reg.grants().unwrap(),
                reg.training_runs().unwrap(),
                reg.applications().unwrap(),
                reg.disclosures().unwrap(),
            )
        };
        let first = read(reg);
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        assert_eq!(read(reg), first);
        let p = policy();
        assert_eq!(first.0, p.sources);
        assert_eq!(first.1, p.licences);
        assert_eq!(first.2, p.grants);
        assert_eq!(first.3, p.training);
        assert_eq!(first.4, p.applications);
        assert_eq!(first.5, p.disclosures);
        // A domain of another source is refused, and nothing of that policy is kept.
        let mut clash = Policy::default();
        clash.sources.push(Source {
            id: "x".into(),
            name: "X".into(),
            domains: vec!["t.co".into()],
        });
        let err = reg.apply_policy(&clash, &event("apply")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "domain 't.co' of source 'x' already belongs to source 'twitter'"
        );
        assert_eq!(reg.sources().unwrap().len(), 2);
        assert_eq!(reg.events(None).unwrap().len(), 2);
    });
}

#[test]
fn a_version_is_registered_once_unchanged_again_and_refused_when_changed() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        let ds = web();
        let Registered::Created {
            inherited_shards,
            totals,
        } = reg.register_dataset(&ds, &event("scan")).unwrap()
        else {
            panic!("not created")
        };
        assert_eq!(inherited_shards, 0);
        // Each distinct shard once: a.jsonl and c.jsonl hold the same shard.
        assert_eq!(totals.sources["twitter"], (4, 40));
        assert_eq!(totals.sources["reddit"], (2, 20));
        assert_eq!(totals.unattributed_records, 1);
        let again = reg.register_dataset(&ds, &event("scan")).unwrap();
        assert_eq!(again, Registered::Unchanged { totals });
        let info = reg.dataset(&dref("web@1")).unwrap().unwrap();
        assert_eq!((info.files, info.records, info.root), (3, 7, ds.root_hash));
        assert_eq!(reg.dataset_members(&dref("web@1")).unwrap().len(), 3);
        // Usage counts each distinct shard once.
        let usage = reg.dataset_usage(&dref("web@1")).unwrap();
        let twitter = usage
            .iter()
            .find(|u| u.source.as_deref() == Some("twitter"));
        assert_eq!(twitter.map(|u| (u.shards, u.records)), Some((1, 4)));
        let none = usage.iter().find(|u| u.source.is_none()).unwrap();
        assert_eq!((none.shards, none.records), (1, 1));

        let mut changed = web();
        changed.members[0] = member("a.jsonl", "a2", Some(("twitter", 1)), 0);
        changed.root_hash = provtrack::digest::root_hash(
            changed
                .members
                .iter()
                .map(|m| (m.path.as_slice(), &m.shard.hash)),
        );
        let err = reg.register_dataset(&changed, &event("scan")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dataset web@1 is already registered with different content (changed: a.jsonl); scan it as a new version"
        );

        // The scan's state was saved with the version; its context reads it back in one
        // pass, with the version and its parents' sources.
        let ctx = reg
            .scan_context(Some(&dref("web@1")), &[dref("web@1")], b"/data/web")
            .unwrap();
        assert_eq!(ctx.state.as_deref(), Some(b"state".as_slice()));
        assert_eq!(ctx.existing.map(|(i, _)| i.root), Some(ds.root_hash));
        assert_eq!(ctx.parent_sources, vec!["reddit", "twitter"]);
        assert_eq!(ctx.sources.len(), 2);
        let err = reg
            .scan_context(None, &[dref("nope@1")], b"/data/web")
            .unwrap_err();
        assert_eq!(err.to_string(), "parent dataset nope@1 is not registered");

        let mut child = dataset(
            "child@1",
            "acme",
            "2023-04-01",
            vec![member("x", "a", None, 5)],
        );
        child.parents = vec![dref("web@1"), dref("nope@1")];
        let err = reg.register_dataset(&child, &event("scan")).unwrap_err();
        assert_eq!(err.to_string(), "parent dataset nope@1 is not registered");
        child.parents.pop();
        // The same bytes keep their provenance: the known shard's attribution is inherited.
        let Registered::Created {
            inherited_shards, ..
        } = reg.register_dataset(&child, &event("scan")).unwrap()
        else {
            panic!("not created")
        };
        assert_eq!(inherited_shards, 1);
        let info = reg.dataset(&dref("child@1")).unwrap().unwrap();
        assert_eq!(info.parents, vec![dref("web@1")]);
        assert_eq!(reg.events(None).unwrap().len(), 3);
    });
}

#[test]
fn a_version_naming_an_unknown_source_is_refused_and_leaves_nothing() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        let ds = dataset(
            "odd@1",
            "acme",
            "2023-03-01",
            vec![
                member("a.jsonl", "a", Some(("twitter", 4)), 1),
                member("b.jsonl", "b", Some(("nosuch", 2)), 0),
            ],
        );
        let err = reg.register_dataset(&ds, &event("scan")).unwrap_err();
        assert!(
            matches!(&err, registry::RegistryError::UnknownSource(s) if s == "nosuch"),
            "{err}"
        );
        assert!(reg.dataset(&dref("odd@1")).unwrap().is_none());
        assert_eq!(reg.events(None).unwrap().len(), 1);
        // The registry still registers (and checks) afterwards.
        assert!(matches!(
            reg.register_dataset(&web(), &event("scan")).unwrap(),
            Registered::Created { .. }
        ));
    });
}

#[test]
fn parts_are_staged_then_sealed_as_one_scan() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        let whole = web();
        let part = |k: usize| {
            let mut p = whole.clone();
            p.members = vec![whole.members[k].clone()];
            if k == 1 {
                p.members.push(whole.members[2].clone());
            }
            p.root_hash = provtrack::digest::root_hash(
                p.members.iter().map(|m| (m.path.as_slice(), &m.shard.hash)),
            );
            p
        };
        let d = dref("web@1");
        let err = reg.seal_dataset(&d, &|_| event("seal")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dataset web@1 has no staged parts; scan each slice with --partition K/N first"
        );
        let staged = reg
            .stage_part(&part(0), (1, 2), &event("scan-part"))
            .unwrap();
        assert_eq!(
            staged,
            Registered::Staged {
                inherited_shards: 0
            }
        );
        let again = reg
            .stage_part(&part(0), (1, 2), &event("scan-part"))
            .unwrap();
        assert!(matches!(again, Registered::Unchanged { .. }));
        let err = reg
            .stage_part(&part(1), (2, 3), &event("scan-part"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dataset web@1 is being scanned in 2 parts (part 1/2 is staged), not 3: use --partition K/2"
        );
        let err = reg.seal_dataset(&d, &|_| event("seal")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dataset web@1: part 2/2 missing (staged: 1/2); scan it with --partition"
        );
        assert!(
            reg.dataset(&d).unwrap().is_none(),
            "staged parts are invisible"
        );
        reg.stage_part(&part(1), (2, 2), &event("scan-part"))
            .unwrap();
        assert_eq!(reg.staged_parts(&d).unwrap(), vec![(1, 2, 1), (2, 2, 2)]);
        let seen = std::cell::Cell::new(None);
        let info = reg
            .seal_dataset(&d, &|i: &DatasetInfo| {
                seen.set(Some(i.root));
                event("seal")
            })
            .unwrap();
        assert_eq!(
            info.root, whole.root_hash,
            "the root of one scan of the whole"
        );
        assert_eq!(seen.get(), Some(whole.root_hash));
        // Three paths, two distinct shards: records count each shard once.
        assert_eq!((info.files, info.records), (3, 7));
        assert!(reg.staged_parts(&d).unwrap().is_empty());
        let err = reg.seal_dataset(&d, &|_| event("seal")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dataset web@1 is already registered (sealed)"
        );
        let err = reg
            .stage_part(&part(0), (1, 2), &event("scan-part"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dataset web@1 is already registered (sealed); scan the parts of a new version"
        );
        // The sealed version is the one a single scan registers.
        assert!(matches!(
            reg.register_dataset(&whole, &event("scan")).unwrap(),
            Registered::Unchanged { .. }
        ));
    });
}

#[test]
fn a_card_claims_unattributed_content_once() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        reg.register_dataset(&web(), &event("scan")).unwrap();
        let card = |dataset: &str| CardImport {
            dataset: dref(dataset),
            source: Source {
                id: "hub".into(),
                name: "Hub".into(),
                domains: Vec::new(),
            },
            licences: vec![Licence {
                id: "LicenseRef-hub".into(),
                name: "Hub terms".into(),
                allow: Vec::new(),
                deny: Vec::new(),
                conditions: Vec::new(),
                builtin: false,
            }],
            grants: vec![Grant {
                id: "hub-all".into(),
                source: "hub".into(),
                licence: "LicenseRef-hub".into(),
                grantee: "*".into(),
                from: date("2020-01-01"),
                until: None,
                cap: None,
            }],
            paths: None,
        };
        let err = reg
            .import_card(&card("nope@1"), &event("import-card"))
            .unwrap_err();
        assert_eq!(err.to_string(), "dataset nope@1 is not registered");
        let got = reg
            .import_card(&card("web@1"), &event("import-card"))
            .unwrap();
        assert_eq!(
            got,
            CardAttributed {
                shards: 1,
                records: 1,
                bytes: 10
            }
        );
        let usage = reg.dataset_usage(&dref("web@1")).unwrap();
        assert!(usage.iter().all(|u| u.source.is_some()), "{usage:?}");
        assert!(reg.sources().unwrap().iter().any(|s| s.id == "hub"));
        assert!(reg.grants().unwrap().iter().any(|g| g.id == "hub-all"));
        // Nothing left to claim the second time.
        let again = reg
            .import_card(&card("web@1"), &event("import-card"))
            .unwrap();
        assert_eq!(again, CardAttributed::default());
        let last = reg.events(Some(1)).unwrap().pop().unwrap();
        assert_eq!(last.kind, "import-card");
        assert!(last.payload.contains("\"attributed\""), "{}", last.payload);
    });
}

#[test]
fn training_runs_are_upserted_by_model() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        let mut run = policy().training[0].clone();
        run.uses = vec!["ai-training".into(), "commercial".into()];
        run.datasets = vec![dref("web@1"), dref("web@2")];
        reg.record_training(&run, &event("train")).unwrap();
        assert_eq!(reg.training_runs().unwrap(), vec![run.clone()]);
        run.uses = vec!["research".into()];
        reg.record_training(&run, &event("train")).unwrap();
        assert_eq!(reg.training_runs().unwrap(), vec![run]);
    });
}

#[test]
fn every_write_appends_to_one_hash_chain() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        reg.register_dataset(&web(), &event("scan")).unwrap();
        reg.record_event(&event("gate")).unwrap();
        reg.record_training(&policy().training[0], &event("train"))
            .unwrap();
        let all = reg.events(None).unwrap();
        let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["apply", "scan", "gate", "train"]);
        let mut prev = events::GENESIS.to_string();
        for (k, e) in all.iter().enumerate() {
            assert_eq!(e.seq, k as u64 + 1);
            assert_eq!(e.prev, prev);
            let hash = events::chain_hash(&e.prev, e.seq, &e.time, &e.actor, &e.kind, &e.payload);
            assert_eq!(e.hash, hash);
            prev = e.hash.clone();
        }
        let last = reg.events(Some(2)).unwrap();
        assert_eq!(last, all[2..]);
        // A refused write appends nothing.
        let mut bad = web();
        bad.root_hash = blake3::hash(b"other");
        assert!(reg.register_dataset(&bad, &event("scan")).is_err());
        assert_eq!(reg.events(None).unwrap().len(), 4);
    });
}

#[test]
fn caps_count_each_shard_once_per_org_and_usage_reads_many_versions() {
    each_backend(|reg| {
        reg.apply_policy(&policy(), &event("apply")).unwrap();
        reg.register_dataset(&web(), &event("scan")).unwrap();
        let later = dataset(
            "web@2",
            "acme",
            "2023-02-01",
            vec![
                member("a.jsonl", "a", Some(("twitter", 4)), 1),
                member("n.jsonl", "n", Some(("twitter", 3)), 0),
            ],
        );
        reg.register_dataset(&later, &event("scan")).unwrap();
        let other = dataset(
            "theirs@1",
            "globex",
            "2023-05-01",
            vec![member("a.jsonl", "a", Some(("twitter", 4)), 1)],
        );
        reg.register_dataset(&other, &event("scan")).unwrap();
        let caps = reg.cap_volumes(&["twitter".into()]).unwrap();
        let mut acme = caps[&("twitter".to_string(), "acme".to_string())].clone();
        acme.sort_by_key(|r| r.records);
        let rows: Vec<(u64, Date)> = acme.iter().map(|r| (r.records, r.collected)).collect();
        // Shard "a" in both acme versions counts once, at its earliest collection.
        assert_eq!(rows, vec![(3, date("2023-02-01")), (4, date("2023-02-01"))]);
        assert_eq!(
            caps[&("twitter".to_string(), "globex".to_string())].len(),
            1
        );
        assert!(reg.cap_volumes(&[]).unwrap().is_empty());

        let refs = [dref("web@1"), dref("web@2"), dref("nope@1"), dref("web@1")];
        let many = reg.datasets_usage(&refs).unwrap();
        assert_eq!(many.len(), 2);
        for r in [dref("web@1"), dref("web@2")] {
            let (info, mut usage) = many[&r].clone();
            assert_eq!(Some(info), reg.dataset(&r).unwrap());
            let mut one = reg.dataset_usage(&r).unwrap();
            usage.sort_by(|a, b| a.source.cmp(&b.source));
            one.sort_by(|a, b| a.source.cmp(&b.source));
            assert_eq!(usage, one);
        }
    });
}

#[test]
fn a_copy_is_the_same_registry_and_needs_an_empty_target() {
    let mut from_locations = locations();
    let mut to_locations = locations();
    for (from, to) in from_locations.iter_mut().zip(to_locations.iter_mut().rev()) {
        let mut a = registry::open(&from.0).unwrap();
        a.apply_policy(&policy(), &event("apply")).unwrap();
        a.register_dataset(&web(), &event("scan")).unwrap();
        let part = dataset("p@1", "acme", "2023-01-01", vec![member("z", "z", None, 2)]);
        a.stage_part(&part, (1, 2), &event("scan-part")).unwrap();
        let mut b = registry::open(&to.0).unwrap();
        let copied = registry::copy(&*a, &mut *b).unwrap();
        assert_eq!(copied.events, 3);
        assert_eq!(
            copied.chain_head,
            a.events(Some(1)).unwrap().pop().map(|e| e.hash)
        );
        for (table, columns) in TABLES {
            assert_eq!(
                a.export_table(table, columns).unwrap(),
                b.export_table(table, columns).unwrap(),
                "{table}"
            );
        }
        // Generated ids continue past the copied ones.
        let next = dataset(
            "next@1",
            "acme",
            "2023-01-01",
            vec![member("q", "q", None, 1)],
        );
        b.register_dataset(&next, &event("scan")).unwrap();
        assert_eq!(b.datasets().unwrap().len(), 2);
        let err = registry::copy(&*a, &mut *b).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "registry {} already holds data; copy into a new, empty registry",
                registry::display(&to.0)
            )
        );
    }
}
