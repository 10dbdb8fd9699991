//! CycloneDX 1.6 JSON of one dataset version: a `data` component for the dataset (BLAKE3
//! root hash, licence expression, `data.governance`, the sources as `externalReferences`)
//! holding one `data` component per file with its BLAKE3 hash; the models trained on it as
//! `machine-learning-model` components and the applications using them, joined by
//! `dependencies`; findings as `provtrack:finding` properties of the dataset.

use serde_json::{Value, json};

use super::{Bom, BomSource, slug};

/// Builds the CycloneDX 1.6 BOM; `created` is an RFC 3339 UTC timestamp.
pub fn bom(b: &Bom, created: &str) -> Value {
    let dataset_ref = format!("dataset:{}", b.info.dataset);
    let prop = |name: &str, value: String| json!({ "name": name, "value": value });

    let mut files = Vec::new();
    for (n, f) in b.files.iter().enumerate() {
        let mut props = vec![
            prop("provtrack:format", f.shard.format.clone()),
            prop("provtrack:size", f.shard.size.to_string()),
            prop("provtrack:records", f.shard.records.to_string()),
            prop(
                "provtrack:unattributed-records",
                f.shard.unattributed_records.to_string(),
            ),
        ];
        for s in &f.sources {
            props.push(prop("provtrack:source", s.clone()));
        }
        let mut c = json!({
            "type": "data",
            "bom-ref": format!("{dataset_ref}/file/{n}"),
            "name": f.path,
            "hashes": [{ "alg": "BLAKE3", "content": f.shard.hash.to_hex().to_string() }],
            "data": [{ "type": "dataset", "name": f.path }],
            "properties": props,
        });
        match super::file_declared(b, f) {
            super::Declared::Expression(expr) => {
                c["licenses"] = json!([{ "expression": expr }]);
            }
            super::Declared::NoAssertion(why) => no_licence(&mut c, &why),
        }
        files.push(c);
    }

    // The rights holders of the content own it; the org that collected it keeps it.
    let owners: Vec<Value> = b
        .sources
        .iter()
        .map(|s| json!({ "organization": { "name": s.source.name } }))
        .collect();
    let mut governance = json!({});
    if !owners.is_empty() {
        governance["owners"] = Value::Array(owners);
    }
    if let Some(org) = &b.info.org {
        governance["custodians"] = json!([{ "organization": { "name": org } }]);
    }
    let mut data = json!({
        "type": "dataset",
        "name": b.info.dataset.to_string(),
        "description": super::collection_process(b),
        "classification": super::data_kinds(b).join(", "),
    });
    if governance.as_object().is_some_and(|o| !o.is_empty()) {
        data["governance"] = governance;
    }

    let mut props = vec![
        prop("provtrack:collected", b.info.collected.to_string()),
        prop("provtrack:files", b.info.files.to_string()),
        prop("provtrack:bytes", b.info.bytes.to_string()),
        prop("provtrack:records", b.info.records.to_string()),
        prop("provtrack:intended-use", super::intended_use(b)),
    ];
    for p in &b.info.parents {
        props.push(prop("provtrack:derived-from", p.to_string()));
    }
    if let Some(u) = &b.unattributed {
        props.push(prop(
            "provtrack:unattributed-records",
            u.records.to_string(),
        ));
    }
    for s in &b.sources {
        for g in &s.grants {
            props.push(prop(
                "provtrack:grant",
                format!(
                    "{} ({} to {} from {}{} under {})",
                    g.id,
                    g.source,
                    g.grantee,
                    g.from,
                    g.until.map(|u| format!(" until {u}")).unwrap_or_default(),
                    g.licence
                ),
            ));
        }
    }
    for f in &b.findings {
        props.push(prop(
            "provtrack:finding",
            format!(
                "{} {} {}{}: {}",
                f.verdict.code(),
                f.use_,
                f.source.as_deref().unwrap_or("unattributed"),
                f.model
                    .as_deref()
                    .map(|m| format!(" {m}"))
                    .unwrap_or_default(),
                f.detail
            ),
        ));
    }
    let mut dataset = json!({
        "type": "data",
        "bom-ref": dataset_ref,
        "name": b.info.dataset.name,
        "version": b.info.dataset.version,
        "description": super::collection_process(b),
        "hashes": [{ "alg": "BLAKE3", "content": b.info.root.to_hex().to_string() }],
        "data": [data],
        "properties": props,
        "components": files,
    });
    if let Some(org) = &b.info.org {
        dataset["supplier"] = json!({ "name": org });
    }
    match super::dataset_declared(b) {
        super::Declared::Expression(expr) => {
            dataset["licenses"] = json!([{ "expression": expr }]);
        }
        super::Declared::NoAssertion(why) => no_licence(&mut dataset, &why),
    }
    let refs: Vec<Value> = b.sources.iter().map(source_reference).collect();
    if !refs.is_empty() {
        dataset["externalReferences"] = Value::Array(refs);
    }

    let mut components = vec![dataset];
    let mut dependencies = vec![json!({ "ref": dataset_ref, "dependsOn": [] })];
    for t in &b.models {
        let r = format!("model:{}", t.model);
        components.push(json!({
            "type": "machine-learning-model",
            "bom-ref": r,
            "name": t.model,
            "supplier": { "name": t.org },
            "description": format!("trained by {} on {}", t.org, t.date),
            "properties": t.uses.iter().map(|u| prop("provtrack:use", u.clone()))
                .chain(std::iter::once(prop("provtrack:trained", t.date.to_string())))
                .collect::<Vec<_>>(),
        }));
        dependencies.push(json!({ "ref": r, "dependsOn": [dataset_ref] }));
    }
    for a in &b.applications {
        let r = format!("application:{}", a.id);
        components.push(json!({
            "type": "application",
            "bom-ref": r,
            "name": a.id,
            "supplier": { "name": a.org },
            "properties": [prop("provtrack:disclosed", a.disclosed.to_string())],
        }));
        let models: Vec<String> = a
            .models
            .iter()
            .filter(|m| b.models.iter().any(|t| t.model == **m))
            .map(|m| format!("model:{m}"))
            .collect();
        dependencies.push(json!({ "ref": r, "dependsOn": models }));
    }

    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial_number(b),
        "version": 1,
        "metadata": {
            "timestamp": created,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "provtrack",
                    "version": env!("CARGO_PKG_VERSION"),
                }],
            },
            "component": {
                "type": "data",
                "bom-ref": format!("bom:{}", b.info.dataset),
                "name": b.info.dataset.to_string(),
            },
        },
        "components": components,
        "dependencies": dependencies,
    })
}

/// A source as an external reference: its first domain's web site, or a provtrack URN for
/// a source without domains.
fn source_reference(s: &BomSource) -> Value {
    let comment = format!(
        "content source {} ({}): {} records, {} bytes in {} shards{}",
        s.source.id,
        s.source.name,
        s.usage.records,
        s.usage.bytes,
        s.usage.shards,
        if s.source.domains.is_empty() {
            String::new()
        } else {
            format!("; domains {}", s.source.domains.join(", "))
        }
    );
    match s.source.domains.first() {
        Some(d) => json!({ "type": "website", "url": format!("https://{d}/"), "comment": comment }),
        None => json!({
            "type": "other",
            "url": format!("urn:provtrack:source:{}", slug(&s.source.id)),
            "comment": comment,
        }),
    }
}

/// A stable `urn:uuid:` for this dataset version's BOM: a version-4-shaped UUID from the
/// BLAKE3 of its name and root hash, so exporting the same content twice names the same BOM.
fn serial_number(b: &Bom) -> String {
    let h = blake3::hash(format!("{}\0{}", b.info.dataset, b.info.root.to_hex()).as_bytes());
    let mut u = [0u8; 16];
    u.copy_from_slice(&h.as_bytes()[..16]);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    let hex: String = u.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A component whose licence cannot be declared: no `licenses`, and a property saying why.
fn no_licence(c: &mut Value, why: &str) {
    if let Some(props) = c["properties"].as_array_mut() {
        props.push(json!({ "name": "provtrack:licence", "value": format!("NOASSERTION: {why}") }));
    } else {
        c["properties"] =
            json!([{ "name": "provtrack:licence", "value": format!("NOASSERTION: {why}") }]);
    }
}
