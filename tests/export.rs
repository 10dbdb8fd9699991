//! `provtrack export D@V --format spdx3|cyclonedx` on the bundled sample story, validated
//! offline against the official schemas vendored under tests/schemas/ (see its README).

mod common;

use std::path::Path;

use common::story;
use serde_json::Value;

fn schema(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Resolves the CycloneDX schema's references to its sibling schemas from tests/schemas/;
/// anything else is refused, so validation never reaches the network.
struct Vendored;

impl jsonschema::Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let s = uri.as_str();
        let file = s.rsplit('/').next().unwrap_or(s);
        match file {
            "spdx.schema.json" | "jsf-0.82.schema.json" => Ok(schema(file)),
            _ => Err(format!("not vendored: {s}").into()),
        }
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_retriever(Vendored)
        .build(&schema(name))
        .expect("schema compiles")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn export(env: &common::Env, dataset: &str, format: &str) -> Value {
    let out = env.ok(&["export", dataset, "--format", format]);
    serde_json::from_str(&out).expect("JSON on stdout")
}

const DATASETS: [&str; 3] = ["tw-pull@2022-03", "web-mix@2022", "getty-images@2021"];

#[test]
fn spdx3_exports_of_the_samples_validate_against_the_spdx_schema() {
    let env = story();
    let v = validator("spdx-3.0.1.schema.json");
    for d in DATASETS {
        let doc = export(&env, d, "spdx3");
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{d}: {errs:#?}");
    }

    // What the Dataset profile says about web-mix.
    let doc = export(&env, "web-mix@2022", "spdx3");
    let graph = doc["@graph"].as_array().unwrap();
    let of = |t: &'static str| graph.iter().filter(move |e| e["type"] == t);
    let ds = of("dataset_DatasetPackage").next().unwrap();
    assert_eq!(ds["name"], "web-mix");
    assert_eq!(ds["software_packageVersion"], "2022");
    assert_eq!(ds["software_primaryPurpose"], "data");
    assert!(
        ds["dataset_datasetType"]
            .as_array()
            .unwrap()
            .contains(&"text".into())
    );
    assert!(
        ds["dataset_dataCollectionProcess"]
            .as_str()
            .unwrap()
            .contains("acme")
    );
    assert!(
        ds["dataset_intendedUse"]
            .as_str()
            .unwrap()
            .contains("acme-chat-1")
    );
    let info = env.json(&["dataset", "show", "web-mix@2022"]);
    assert_eq!(ds["verifiedUsing"][0]["algorithm"], "blake3");
    assert_eq!(ds["verifiedUsing"][0]["hashValue"], info["root"]);
    // Every shard is a file with its BLAKE3 hash.
    let hashes: Vec<&str> = of("software_File")
        .map(|f| f["verifiedUsing"][0]["hashValue"].as_str().unwrap())
        .collect();
    for s in info["shards"].as_array().unwrap() {
        assert!(hashes.contains(&s["hash"].as_str().unwrap()), "{s}");
    }
    // Sources originate the content.
    assert_eq!(ds["originatedBy"].as_array().unwrap().len(), 3, "{ds}");
    // Licences: SPDX ids where they exist, LicenseRef- otherwise.
    let exprs: Vec<&str> = of("simplelicensing_LicenseExpression")
        .map(|e| e["simplelicensing_licenseExpression"].as_str().unwrap())
        .collect();
    assert!(exprs.contains(&"CC-BY-SA-4.0"), "{exprs:?}");
    let tw = export(&env, "tw-pull@2022-03", "spdx3");
    let tw_exprs: Vec<String> = tw["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["simplelicensing_licenseExpression"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert!(
        tw_exprs.iter().any(|e| e == "LicenseRef-twitter-free-api"),
        "{tw_exprs:?}"
    );
    // Models trained on it.
    assert!(
        of("ai_AIPackage").any(|m| m["name"] == "acme-chat-1"),
        "no model in {doc}"
    );
    assert!(of("Relationship").any(|r| r["relationshipType"] == "trainedOn"));
}

#[test]
fn cyclonedx_exports_of_the_samples_validate_against_the_cyclonedx_schema() {
    let env = story();
    let v = validator("bom-1.6.schema.json");
    for d in DATASETS {
        let doc = export(&env, d, "cyclonedx");
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{d}: {errs:#?}");
    }
    let doc = export(&env, "tw-pull@2022-03", "cyclonedx");
    let info = env.json(&["dataset", "show", "tw-pull@2022-03"]);
    let comps = doc["components"].as_array().unwrap();
    let ds = &comps[0];
    assert_eq!(ds["type"], "data");
    assert_eq!(
        ds["hashes"][0],
        serde_json::json!({"alg": "BLAKE3", "content": info["root"]})
    );
    assert_eq!(
        ds["data"][0]["governance"]["custodians"][0]["organization"]["name"],
        "acme"
    );
    assert_eq!(
        ds["data"][0]["governance"]["owners"][0]["organization"]["name"],
        "Twitter / X"
    );
    let source = &ds["externalReferences"][0];
    assert_eq!(source["type"], "website");
    assert!(
        source["comment"].as_str().unwrap().contains("twitter.com"),
        "{source}"
    );
    let shards = ds["components"].as_array().unwrap();
    assert_eq!(shards.len(), info["shards"].as_array().unwrap().len());
    assert!(shards.iter().all(|s| s["hashes"][0]["alg"] == "BLAKE3"));
    let models: Vec<&str> = comps
        .iter()
        .filter(|c| c["type"] == "machine-learning-model")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["acme-chat-1", "acme-chat-2"]);
    let deps = doc["dependencies"].as_array().unwrap();
    assert!(
        deps.iter()
            .any(|d| d["ref"] == "model:acme-chat-1"
                && d["dependsOn"][0] == "dataset:tw-pull@2022-03")
    );
    // The same content names the same BOM.
    assert_eq!(
        doc["serialNumber"],
        export(&env, "tw-pull@2022-03", "cyclonedx")["serialNumber"]
    );
}

#[test]
fn the_validators_do_reject_a_broken_document() {
    let env = story();
    let mut doc = export(&env, "web-mix@2022", "cyclonedx");
    doc["components"][0]["hashes"][0]["alg"] = "BLAKE4".into();
    assert!(!errors(&validator("bom-1.6.schema.json"), &doc).is_empty());
    let mut doc = export(&env, "web-mix@2022", "spdx3");
    doc["@graph"][1]["type"] = "NoSuchClass".into();
    assert!(!errors(&validator("spdx-3.0.1.schema.json"), &doc).is_empty());
}

#[test]
fn export_to_a_file_and_bad_input() {
    let env = story();
    let out = env.path("bom.json");
    let stdout = env.ok(&[
        "export",
        "web-mix@2022",
        "--format",
        "cyclonedx",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(stdout.is_empty());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");

    let err = env.fails(&["export", "nope@1", "--format", "spdx3"]);
    assert!(
        err.contains("nope@1") && err.contains("not registered"),
        "{err}"
    );
    let err = env.fails(&["export", "web-mix@2022"]);
    assert!(err.contains("--format"), "{err}");
    let err = env.fails(&["export", "web-mix@2022", "--format", "dot"]);
    assert!(err.contains("--format"), "{err}");
    let err = env.fails(&["report", "--format", "spdx3"]);
    assert!(err.contains("export"), "{err}");
    let err = env.fails(&["export", "not-a-ref", "--format", "spdx3"]);
    assert!(err.contains("not-a-ref"), "{err}");
}

#[test]
fn unlicensed_or_unknown_content_is_never_declared_licensed() {
    let env = story();
    // web-mix holds reddit content collected under no grant and 150 records of unknown
    // provenance: its licence is NOASSERTION, saying why, in both formats.
    let spdx = export(&env, "web-mix@2022", "spdx3");
    let graph = spdx["@graph"].as_array().unwrap();
    let dataset = graph
        .iter()
        .find(|e| e["type"] == "dataset_DatasetPackage")
        .unwrap();
    let declared: Vec<&Value> = graph
        .iter()
        .filter(|e| e["relationshipType"] == "hasDeclaredLicense" && e["from"] == dataset["spdxId"])
        .collect();
    assert_eq!(declared.len(), 1, "{declared:?}");
    assert_eq!(
        declared[0]["to"],
        serde_json::json!(["expandedlicensing_NoAssertionLicense"])
    );
    let why = declared[0]["comment"].as_str().unwrap();
    assert!(
        why.contains("no grant covered the collection of reddit")
            && why.contains("150 records of unknown provenance"),
        "{why}"
    );
    // The wikipedia shard alone is licensed and says so.
    assert!(
        graph
            .iter()
            .any(|e| e["simplelicensing_licenseExpression"] == "CC-BY-SA-4.0"),
        "CC-BY-SA-4.0 missing"
    );
    let cdx = export(&env, "web-mix@2022", "cyclonedx");
    let ds = &cdx["components"][0];
    assert!(ds.get("licenses").is_none(), "{ds}");
    assert!(
        ds["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "provtrack:licence"
                && p["value"].as_str().unwrap().starts_with("NOASSERTION: ")),
        "{ds}"
    );
    // A version wholly collected under a grant keeps its expression.
    let tw = export(&env, "tw-pull@2022-03", "cyclonedx");
    assert_eq!(
        tw["components"][0]["licenses"][0]["expression"],
        "LicenseRef-twitter-free-api"
    );
}
