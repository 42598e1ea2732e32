//! The Kubernetes manifests (`deploy/kubernetes/`) checked by a real validator:
//! `kubernetes-validate`, which holds the Kubernetes API's OpenAPI schemas of each release and
//! validates offline, strictly (an unknown field is an error). It must reject a broken manifest,
//! the Job must run the segments the way `load --segments` expects, and the watch Deployment's
//! probes and Service must reach its metrics listener, with arguments `watch` accepts.

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
    assert!(files.len() >= 6, "{files:?}");
    let docs = documents().len();
    for version in VERSIONS {
        let out = validate(version, &files);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{version}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // One verdict a document, each a pass: a document the validator skipped is no pass.
        assert_eq!(
            stdout.matches(" passed for resource ").count(),
            docs,
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

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

/// `args` with every `$(VAR)` of the container's environment replaced by its ConfigMap value, as
/// the kubelet expands them; every variable from the ConfigMap must name a key it has.
/// The pod IP `expand_args` puts in place of `$(POD_IP)`.
const POD_IP: &str = "10.1.2.3";

fn expand_args(container: &Value, config: &Value) -> Vec<String> {
    let mut args: Vec<String> = strs(&container["args"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    for env in container["env"].as_array().unwrap() {
        let from = &env["valueFrom"];
        // The pod's own IP, as the downward API gives it.
        let value = if from["fieldRef"]["fieldPath"] == "status.podIP" {
            POD_IP
        } else {
            let key = from["configMapKeyRef"]["key"]
                .as_str()
                .expect("every other variable comes from the ConfigMap");
            config["data"][key]
                .as_str()
                .unwrap_or_else(|| panic!("the ConfigMap lacks {key}"))
        };
        let var = format!("$({})", env["name"].as_str().unwrap());
        args = args.into_iter().map(|a| a.replace(&var, value)).collect();
    }
    assert!(!args.iter().any(|a| a.contains("$(")), "{args:?}");
    args
}

#[test]
fn the_watch_deployment_probes_its_metrics_listener_and_its_args_parse() {
    use clap::Parser;
    use span_sentinel::cli::{Cli, Command as Sub};

    let docs = documents();
    let deployment = named(&docs, "Deployment", "span-sentinel-watch");
    let config = named(&docs, "ConfigMap", "span-sentinel-watch");
    let service = named(&docs, "Service", "span-sentinel-watch");
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1, "one watch per rule");
    assert_eq!(spec["strategy"]["type"], "Recreate", "never two at once");
    let pod = &spec["template"];
    let container = &pod["spec"]["containers"][0];
    let port = &container["ports"][0];
    let (port_name, port_number) = (&port["name"], port["containerPort"].as_u64().unwrap());
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert!(
            get["port"] == *port_name || get["port"] == port_number,
            "{probe}"
        );
    }
    let target_port = &service["spec"]["ports"][0]["targetPort"];
    assert!(*target_port == *port_name || *target_port == port_number);
    for (label, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod["metadata"]["labels"][label], value, "{label}");
    }
    let names: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for var in [
        "SPAN_SENTINEL_TARGET",
        "SPAN_SENTINEL_TRACES",
        "SPAN_SENTINEL_METRICS",
        "SPAN_SENTINEL_ALERTS",
        "SPAN_SENTINEL_ALERTMANAGER_URL",
    ] {
        assert!(names.contains(&var), "{var} is not set");
    }
    let resources = &container["resources"];
    assert!(resources["requests"]["memory"].is_string(), "{resources}");
    assert!(resources["limits"]["memory"].is_string(), "{resources}");

    // The arguments parse as `span-sentinel watch` flags and give a plan, with the profile the
    // pod mounts from the ConfigMap in place of its mount path.
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(&profile, config["data"]["profile.toml"].as_str().unwrap()).unwrap();
    let mount = container["volumeMounts"][0]["mountPath"].as_str().unwrap();
    let item = pod["spec"]["volumes"][0]["configMap"]["items"][0]["path"]
        .as_str()
        .unwrap();
    let mounted = format!("{mount}/{item}");
    let args = expand_args(container, config);
    assert!(args.contains(&mounted), "{args:?} reads no {mounted}");
    let argv = std::iter::once("span-sentinel".to_owned()).chain(
        args.iter()
            .map(|a| a.replace(&mounted, profile.to_str().unwrap())),
    );
    let Sub::Watch(watch) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("{args:?} is not a watch");
    };
    assert_eq!(watch.metrics_addr.port() as u64, port_number);
    assert!(
        watch.metrics_addr.ip().is_unspecified(),
        "reachable from the pod's IP"
    );
    let plan =
        span_sentinel::config::watch::watch_plan(&span_sentinel::config::watch::WatchOverrides {
            run: watch.sentinel.apply(watch.target.overrides()),
            window: watch.window,
            duration: watch.duration,
            metrics_addr: watch.metrics_addr,
        })
        .unwrap();
    assert_eq!(plan.window, std::time::Duration::from_secs(60));
    // The pipeline, in another pod, posts its notifications to the pod's IP, on a port the pod
    // declares, where the receiver listens on every interface.
    let webhook = &plan.run.webhook;
    assert!(webhook.listen.ip().is_unspecified(), "{webhook:?}");
    let declared: Vec<u64> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_u64().unwrap())
        .collect();
    assert!(
        declared.contains(&(webhook.listen.port() as u64)),
        "{declared:?}"
    );
    let url = format!("http://{POD_IP}:{}/hook", webhook.listen.port());
    assert_eq!(webhook.url.as_deref(), Some(url.as_str()));
}
