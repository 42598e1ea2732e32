//! The Kubernetes manifests (`deploy/kubernetes/`) checked by a real validator:
//! `kubernetes-validate`, which holds the Kubernetes API's OpenAPI schemas of each release and
//! validates offline, strictly (an unknown field is an error). It must reject a broken manifest,
//! and the Job must run the segments the way `load --segments` expects.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::peers::peer_path;

/// The oldest and the newest Kubernetes release the validator holds.
const VERSIONS: [&str; 2] = ["1.25", "1.37"];

fn manifests() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn validate(version: &str, files: &[PathBuf]) -> Output {
    Command::new(peer_path("SPAN_SENTINEL_KUBERNETES_VALIDATE"))
        .args(["--strict", "--kubernetes-version", version])
        .args(files)
        .env("PYTHONPATH", peer_path("SPAN_SENTINEL_PY_PATH"))
        .output()
        .expect("kubernetes-validate runs")
}

#[test]
fn the_manifests_validate_against_the_kubernetes_api() {
    let files = manifests();
    assert!(files.len() >= 5, "{files:?}");
    for version in VERSIONS {
        let out = validate(version, &files);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{version}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // One verdict a document, each a pass: a file the validator skipped is no pass.
        assert_eq!(
            stdout.matches(" passed for resource ").count(),
            files.len(),
            "{stdout}"
        );
    }
}

/// A copy of the load Job with `from` replaced by `to`.
fn broken(dir: &Path, from: &str, to: &str) -> PathBuf {
    let job = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/load-job.yaml");
    let text = std::fs::read_to_string(job).unwrap();
    assert!(text.contains(from), "{from}");
    let path = dir.join(format!(
        "broken-{}.yaml",
        to.split(':').next().unwrap().trim()
    ));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn the_validator_rejects_a_broken_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // A misspelt field: strict validation refuses what the API does not know.
        ("  parallelism: 4", "  paralelism: 4", "paralelism"),
        // A wrong type.
        ("  completions: 4", "  completions: four", "four"),
        // A field in the wrong place: parallelism belongs to the Job, not to its pods.
        (
            "      restartPolicy: Never",
            "      parallelism: 4\n      restartPolicy: Never",
            "parallelism",
        ),
    ];
    for (from, to, names) in cases {
        let file = broken(dir.path(), from, to);
        let out = validate(VERSIONS[1], &[file]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{to}: {said}");
        assert!(
            said.contains("did not validate") && said.contains(names),
            "{to}: {said}"
        );
    }
}

/// The manifests as JSON, one value a document, by the validator's own YAML parser.
fn documents() -> Vec<Value> {
    let script = "import json, sys, yaml\n\
                  for f in sys.argv[1:]:\n    \
                  for d in yaml.safe_load_all(open(f)):\n        print(json.dumps(d))";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(manifests())
        .env("PYTHONPATH", peer_path("SPAN_SENTINEL_PY_PATH"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn the_indexed_job_runs_each_segment_once_from_one_test() {
    let docs = documents();
    let job = named(&docs, "Job", "span-sentinel-load");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let container = &spec["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let segments: u64 = args
        .iter()
        .find_map(|a| a.strip_prefix("--segments="))
        .expect("--segments=N")
        .parse()
        .unwrap();
    assert_eq!(spec["completions"], segments, "every segment runs");
    assert_eq!(spec["parallelism"], segments, "all segments at once");
    assert!(args.contains(&"--start-at=$(START_AT)"), "{args:?}");
    assert!(
        args.contains(&"--json=/reports/segment-$(SEGMENT_INDEX).json"),
        "{args:?}"
    );
    let test = named(&docs, "ConfigMap", "span-sentinel-test");
    for env in container["env"].as_array().unwrap() {
        if let Some(key) = env["valueFrom"]["configMapKeyRef"]["key"].as_str() {
            assert!(test["data"][key].is_string(), "the ConfigMap lacks {key}");
        }
    }
    assert!(
        named(&docs, "Job", "span-sentinel-merge")["spec"]["template"]
            .to_string()
            .contains("span-sentinel merge")
    );
    // The profile the pods read is one span-sentinel accepts.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(&profile, test["data"]["profile.toml"].as_str().unwrap()).unwrap();
    let flags = span_sentinel::config::load::LoadOverrides {
        discard: true,
        profile: Some(profile),
        ..Default::default()
    };
    let plan = span_sentinel::config::load::load_plan(&flags).unwrap();
    assert_eq!(plan.seed, 7);
}
