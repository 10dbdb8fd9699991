//! SPDX 3.0.1 JSON-LD of one dataset version, with the Dataset profile: the dataset as a
//! `dataset_DatasetPackage` verified by its BLAKE3 root hash, each file as a `software_File`
//! with its BLAKE3 hash, each source as an `Organization` the content `originatedBy`,
//! licences as `simplelicensing_LicenseExpression`s linked by `hasDeclaredLicense`, models
//! trained on it as `ai_AIPackage`s (`trainedOn`), the applications using them, and the
//! report's findings as review `Annotation`s.

use serde_json::{Value, json};

use super::{Bom, expression_id, slug};

const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";
const CREATION: &str = "_:creationinfo";

/// Builds the SPDX 3.0.1 JSON-LD document; `created` is an RFC 3339 UTC timestamp.
pub fn document(bom: &Bom, created: &str) -> Value {
    let base = format!(
        "urn:provtrack:{}:{}",
        slug(&bom.info.dataset.to_string()),
        bom.info.root.to_hex()
    );
    let id = |suffix: &str| format!("{base}/{suffix}");
    let mut g = Graph {
        base: base.clone(),
        ..Graph::default()
    };
    let agent = id("agent/provtrack");
    let tool = id("tool/provtrack");
    g.items.push(json!({
        "type": "CreationInfo",
        "@id": CREATION,
        "specVersion": "3.0.1",
        "created": created,
        "createdBy": [agent],
        "createdUsing": [tool],
    }));
    g.add(json!({
        "type": "SoftwareAgent",
        "spdxId": agent,
        "creationInfo": CREATION,
        "name": "provtrack",
    }));
    g.add(json!({
        "type": "Tool",
        "spdxId": tool,
        "creationInfo": CREATION,
        "name": format!("provtrack {}", env!("CARGO_PKG_VERSION")),
    }));

    let data_licence = g.expression("CC0-1.0", "licence of this SPDX document's metadata".into());

    // Orgs and sources as agents.
    let owner = bom.info.org.as_ref().map(|o| {
        let oid = id(&format!("org/{}", slug(o)));
        (o.clone(), oid)
    });
    if let Some((name, oid)) = &owner {
        g.add(json!({
            "type": "Organization",
            "spdxId": oid,
            "creationInfo": CREATION,
            "name": name,
            "comment": "owner of the dataset",
        }));
    }
    let source_id = |s: &str| id(&format!("source/{}", slug(s)));
    let mut per_source_licence: Vec<(String, String)> = Vec::new();
    for s in &bom.sources {
        let mut v = json!({
            "type": "Organization",
            "spdxId": source_id(&s.source.id),
            "creationInfo": CREATION,
            "name": s.source.name,
            "description": format!(
                "provtrack source '{}': {} records, {} bytes in {} shards of this dataset",
                s.source.id, s.usage.records, s.usage.bytes, s.usage.shards
            ),
        });
        if !s.source.domains.is_empty() {
            v["externalRef"] = Value::Array(
                s.source
                    .domains
                    .iter()
                    .map(|d| {
                        json!({
                            "type": "ExternalRef",
                            "externalRefType": "altWebPage",
                            "locator": [format!("https://{d}/")],
                        })
                    })
                    .collect(),
            );
        }
        g.add(v);
        if let Some(expr) = super::source_expression(s) {
            let comment = grants_comment(bom, s);
            let eid = g.expression(&expr, comment);
            per_source_licence.push((s.source.id.clone(), eid));
        }
    }

    // The dataset.
    let dataset = id("dataset");
    let mut ds = json!({
        "type": "dataset_DatasetPackage",
        "spdxId": dataset,
        "creationInfo": CREATION,
        "name": bom.info.dataset.name,
        "software_packageVersion": bom.info.dataset.version,
        "software_primaryPurpose": "data",
        "dataset_datasetType": super::data_kinds(bom),
        "dataset_dataCollectionProcess": super::collection_process(bom),
        "dataset_intendedUse": super::intended_use(bom),
        "dataset_datasetSize": bom.info.bytes,
        "builtTime": super::midnight(bom.info.collected),
        "software_downloadLocation": "NOASSERTION",
        "verifiedUsing": [{
            "type": "Hash",
            "algorithm": "blake3",
            "hashValue": bom.info.root.to_hex().to_string(),
            "comment": "provtrack root hash: BLAKE3 over the sorted lines 'relative-path NUL shard-hash-hex LF'",
        }],
    });
    if !bom.sources.is_empty() {
        ds["originatedBy"] = Value::Array(
            bom.sources
                .iter()
                .map(|s| json!(source_id(&s.source.id)))
                .collect(),
        );
    }
    if let Some((_, oid)) = &owner {
        ds["suppliedBy"] = json!(oid);
    }
    g.add(ds);
    // The dataset's declared licence: every source's licences at once.
    match super::dataset_declared(bom) {
        super::Declared::Expression(expr) => {
            let eid = g.expression(
                &expr,
                "every source's licences together (AND); a source with several grants has them as alternatives (OR)".into(),
            );
            g.relate(&dataset, "hasDeclaredLicense", vec![eid]);
        }
        super::Declared::NoAssertion(why) => g.no_assertion(&dataset, &why),
    }

    // Files.
    let mut file_ids = Vec::new();
    for (n, f) in bom.files.iter().enumerate() {
        let fid = id(&format!("file/{n}"));
        let mut v = json!({
            "type": "software_File",
            "spdxId": fid,
            "creationInfo": CREATION,
            "name": f.path,
            "software_primaryPurpose": "data",
            "verifiedUsing": [{
                "type": "Hash",
                "algorithm": "blake3",
                "hashValue": f.shard.hash.to_hex().to_string(),
            }],
            "comment": format!(
                "{} bytes, format {}, {} records ({} attributed to no source)",
                f.shard.size, f.shard.format, f.shard.records, f.shard.unattributed_records
            ),
        });
        if !f.sources.is_empty() {
            v["originatedBy"] =
                Value::Array(f.sources.iter().map(|s| json!(source_id(s))).collect());
        }
        g.add(v);
        match super::file_declared(bom, f) {
            super::Declared::Expression(_) => {
                let licences: Vec<String> = per_source_licence
                    .iter()
                    .filter(|(s, _)| f.sources.contains(s))
                    .map(|(_, e)| e.clone())
                    .collect();
                g.relate(&fid, "hasDeclaredLicense", licences);
            }
            super::Declared::NoAssertion(why) => g.no_assertion(&fid, &why),
        }
        file_ids.push(fid);
    }
    g.relate(&dataset, "contains", file_ids);

    // Models trained on it and the applications using them.
    for t in &bom.models {
        let mid = id(&format!("model/{}", slug(&t.model)));
        g.add(json!({
            "type": "ai_AIPackage",
            "spdxId": mid,
            "creationInfo": CREATION,
            "name": t.model,
            "software_primaryPurpose": "model",
            "software_downloadLocation": "NOASSERTION",
            "builtTime": super::midnight(t.date),
            "comment": format!("trained by {} on {} for {}", t.org, t.date, t.uses.join(", ")),
        }));
        g.relate(&mid, "trainedOn", vec![dataset.clone()]);
    }
    for a in &bom.applications {
        let aid = id(&format!("application/{}", slug(&a.id)));
        let mut comment = format!("application of {}", a.org);
        if !a.disclosed {
            comment.push_str("; NOT disclosed to the source owners");
        }
        g.add(json!({
            "type": "software_Package",
            "spdxId": aid,
            "creationInfo": CREATION,
            "name": a.id,
            "software_primaryPurpose": "application",
            "software_downloadLocation": "NOASSERTION",
            "comment": comment,
        }));
        let models: Vec<String> = a
            .models
            .iter()
            .filter(|m| bom.models.iter().any(|t| t.model == **m))
            .map(|m| id(&format!("model/{}", slug(m))))
            .collect();
        g.relate(&aid, "dependsOn", models);
    }

    // Findings as review annotations on the dataset.
    for (n, f) in bom.findings.iter().enumerate() {
        g.add(json!({
            "type": "Annotation",
            "spdxId": id(&format!("finding/{n}")),
            "creationInfo": CREATION,
            "annotationType": "review",
            "subject": dataset,
            "statement": format!(
                "provtrack finding {}: use {} of {} content{}: {}",
                f.verdict.code(),
                f.use_,
                f.source.as_deref().unwrap_or("unattributed"),
                f.model.as_deref().map(|m| format!(" by model {m}")).unwrap_or_default(),
                f.detail
            ),
        }));
    }

    let doc = json!({
        "type": "SpdxDocument",
        "spdxId": id("document"),
        "creationInfo": CREATION,
        "name": format!("provtrack provenance of {}", bom.info.dataset),
        "dataLicense": data_licence,
        "profileConformance": ["core", "software", "dataset", "ai", "simpleLicensing"],
        "rootElement": [dataset],
        "element": g.elements,
    });
    g.items.push(doc);
    json!({ "@context": CONTEXT, "@graph": g.items })
}

/// The `@graph` being built: its items and the ids of its elements.
#[derive(Default)]
struct Graph {
    base: String,
    items: Vec<Value>,
    elements: Vec<String>,
    expressions: Vec<(String, String)>,
    relationships: usize,
}

impl Graph {
    fn add(&mut self, v: Value) {
        if let Some(s) = v.get("spdxId").and_then(Value::as_str) {
            self.elements.push(s.to_string());
        }
        self.items.push(v);
    }

    /// The element of a licence expression, added once per distinct expression.
    fn expression(&mut self, expr: &str, comment: String) -> String {
        if let Some((_, eid)) = self.expressions.iter().find(|(e, _)| e == expr) {
            return eid.clone();
        }
        let eid = format!("{}/licence/{}", self.base, self.expressions.len());
        let mut v = json!({
            "type": "simplelicensing_LicenseExpression",
            "spdxId": eid,
            "creationInfo": CREATION,
            "simplelicensing_licenseExpression": expr,
        });
        if !comment.is_empty() {
            v["comment"] = json!(comment);
        }
        self.add(v);
        self.expressions.push((expr.to_string(), eid.clone()));
        eid
    }

    /// A relationship `from` → `to` (nothing when `to` is empty).
    /// `from` declares no licence that can be asserted (`NOASSERTION`), saying why.
    fn no_assertion(&mut self, from: &str, why: &str) {
        self.relationships += 1;
        let rid = format!("{}/relationship/{}", self.base, self.relationships);
        self.add(json!({
            "type": "Relationship",
            "spdxId": rid,
            "creationInfo": CREATION,
            "from": from,
            "relationshipType": "hasDeclaredLicense",
            "to": ["expandedlicensing_NoAssertionLicense"],
            "comment": format!("NOASSERTION: {why}"),
        }));
    }

    fn relate(&mut self, from: &str, kind: &str, to: Vec<String>) {
        if to.is_empty() {
            return;
        }
        self.relationships += 1;
        let rid = format!("{}/relationship/{}", self.base, self.relationships);
        self.add(json!({
            "type": "Relationship",
            "spdxId": rid,
            "creationInfo": CREATION,
            "from": from,
            "relationshipType": kind,
            "to": to,
        }));
    }
}

/// What the grants behind a source's licence expression say, for the expression's comment.
fn grants_comment(bom: &Bom, s: &super::BomSource) -> String {
    let parts: Vec<String> = s
        .grants
        .iter()
        .map(|g| {
            let terms = bom.licences.get(&g.licence).map_or_else(
                || "terms unknown".to_string(),
                |l| {
                    format!(
                        "allows [{}], denies [{}], conditions [{}]",
                        l.allow.join(" "),
                        l.deny.join(" "),
                        l.conditions.join(" ")
                    )
                },
            );
            format!(
                "grant {} of {} to {} from {}{}: licence {} ({}) {}",
                g.id,
                g.source,
                g.grantee,
                g.from,
                g.until.map(|u| format!(" until {u}")).unwrap_or_default(),
                g.licence,
                expression_id(&g.licence),
                terms
            )
        })
        .collect();
    parts.join("; ")
}
