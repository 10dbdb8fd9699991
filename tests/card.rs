//! `provtrack import-card FILE --dataset D@V`: a Hugging Face dataset card's licences become
//! grants (SPDX ids, or flagged `LicenseRef-…`), its content the card's source; bad input
//! changes nothing.

mod common;

use common::Env;

/// A registered dataset of two JSON Lines files without URLs (all unattributed).
fn dataset() -> Env {
    let env = Env::new();
    env.write(
        "ds/data/train.jsonl",
        "{\"text\":\"a\"}\n{\"text\":\"b\"}\n",
    );
    env.write("ds/notes.jsonl", "{\"text\":\"c\"}\n");
    let dir = env.path("ds");
    env.ok(&[
        "scan",
        dir.to_str().unwrap(),
        "--dataset",
        "hf-set@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
    ]);
    env
}

fn card(license: &str) -> String {
    format!(
        "---\npretty_name: HF Set\nlicense: {license}\nsource_datasets:\n- original\n---\n# HF Set\n"
    )
}

fn import(env: &Env, text: &str) -> serde_json::Value {
    let f = env.write("README.md", text);
    env.json(&["import-card", f.to_str().unwrap(), "--dataset", "hf-set@1"])
}

/// The licence expressions of the dataset's SPDX export.
fn spdx_licences(env: &Env) -> Vec<String> {
    let out = env.ok(&["export", "hf-set@1", "--format", "spdx3"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["simplelicensing_licenseExpression"]
                .as_str()
                .map(String::from)
        })
        .collect()
}

#[test]
fn a_known_spdx_licence_round_trips() {
    let env = dataset();
    let got = import(&env, &card("cc-by-4.0"));
    assert_eq!(got["licences"][0]["licence"], "CC-BY-4.0");
    assert_eq!(got["licences"][0]["known"], true);
    assert_eq!(got["flags"].as_array().unwrap().len(), 0, "{got}");
    assert_eq!(got["attributed"]["records"], 3);
    assert_eq!(got["source"], "hf-set");
    // The grant is there, the content is the source's, the export carries the SPDX id.
    let audit = env.json(&["audit", "hf-set"]);
    assert_eq!(audit["grants"][0]["licence"], "CC-BY-4.0");
    assert_eq!(audit["grants"][0]["grantee"], "*");
    assert_eq!(audit["totals"]["records"], 3);
    assert!(spdx_licences(&env).contains(&"CC-BY-4.0".to_string()));
    // Training on it is permitted: no findings.
    env.ok(&[
        "train",
        "m1",
        "--org",
        "acme",
        "--date",
        "2024-06-01",
        "--dataset",
        "hf-set@1",
    ]);
    let report = env.json(&["report"]);
    assert_eq!(report["summary"]["findings"], 0, "{report}");
    // One import-card event; importing again attributes nothing more.
    let log = env.json(&["log"]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "import-card")
    );
    let again = import(&env, &card("cc-by-4.0"));
    assert_eq!(again["attributed"]["records"], 0);
}

#[test]
fn an_unknown_licence_string_is_kept_as_a_licence_ref_and_flagged() {
    let env = dataset();
    let got = import(&env, &card("\"Acme Research Terms v2\""));
    assert_eq!(
        got["licences"][0]["licence"],
        "LicenseRef-Acme-Research-Terms-v2"
    );
    assert_eq!(got["licences"][0]["known"], false);
    let flags = got["flags"].as_array().unwrap();
    assert!(
        flags.iter().any(|f| f
            .as_str()
            .unwrap()
            .contains("LicenseRef-Acme-Research-Terms-v2")),
        "{got}"
    );
    let table = env.ok(&[
        "import-card",
        env.path("README.md").to_str().unwrap(),
        "--dataset",
        "hf-set@1",
    ]);
    assert!(table.contains("UNKNOWN LICENCE"), "{table}");
    assert!(spdx_licences(&env).contains(&"LicenseRef-Acme-Research-Terms-v2".to_string()));
    // Its terms are unknown, so training is `unspecified`.
    env.ok(&[
        "train",
        "m1",
        "--org",
        "acme",
        "--date",
        "2024-06-01",
        "--dataset",
        "hf-set@1",
    ]);
    let report = env.json(&["report"]);
    assert_eq!(report["findings"][0]["verdict"], "unspecified", "{report}");
}

#[test]
fn a_list_of_licences_becomes_one_grant_each() {
    let env = dataset();
    let got = import(&env, &card("\n- cc-by-sa-4.0\n- odbl\n- other-terms"));
    let ids: Vec<&str> = got["licences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["licence"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CC-BY-SA-4.0", "ODbL-1.0", "LicenseRef-other-terms"]);
    assert_eq!(got["grants"].as_array().unwrap().len(), 3);
    let exprs = spdx_licences(&env);
    assert!(
        exprs.contains(&"(CC-BY-SA-4.0 OR LicenseRef-other-terms OR ODbL-1.0)".to_string()),
        "{exprs:?}"
    );
}

#[test]
fn configs_choose_the_files_whose_content_is_declared() {
    let env = dataset();
    let text = "---\nlicense: mit\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/*.jsonl\n  - split: test\n    path: missing/*.jsonl\n---\n";
    let got = import(&env, text);
    assert_eq!(got["attributed"]["records"], 2, "{got}");
    assert!(
        got["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("missing/*.jsonl"))
    );
}

#[test]
fn bad_input_is_one_line_exit_2_and_changes_nothing() {
    let env = dataset();
    let before = env.dump();
    let f = env.write("README.md", card("mit"));
    let err = env.fails(&["import-card", f.to_str().unwrap(), "--dataset", "nope@1"]);
    assert!(err.contains("nope@1"), "{err}");
    let bad = env.write("bad.md", "---\npretty_name: x\nlicense: {a: 1}\n---\n");
    let err = env.fails(&[
        "import-card",
        bad.to_str().unwrap(),
        "--dataset",
        "hf-set@1",
    ]);
    assert!(err.contains("bad.md:3:"), "{err}");
    let bad = env.write("bad2.md", "---\nlicense: [mit\n---\n");
    let err = env.fails(&[
        "import-card",
        bad.to_str().unwrap(),
        "--dataset",
        "hf-set@1",
    ]);
    assert!(err.contains("bad2.md:"), "{err}");
    let bad = env.write("bad3.md", "# no front matter\n");
    let err = env.fails(&[
        "import-card",
        bad.to_str().unwrap(),
        "--dataset",
        "hf-set@1",
    ]);
    assert!(err.contains("bad3.md:1:"), "{err}");
    let err = env.fails(&["import-card", "absent.md", "--dataset", "hf-set@1"]);
    assert!(err.contains("absent.md"), "{err}");
    assert_eq!(before, env.dump());
}
