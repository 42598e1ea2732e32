//! Pointing the tool at a pipeline as a production one is reached. The whole path encrypted:
//! `serve` with TLS (certificates made here with rcgen), and `run`, `load` reaching it over
//! `grpcs://` and `https://` with `--ca-file`, mutual TLS, a wrong CA (exit 3, a certificate
//! problem said as such) and `--insecure-skip-verify` (warned about). And secrets kept out of
//! every report: header values given by flag or file appear in no output.

use std::path::{Path, PathBuf};
use std::process::Output;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

use crate::support::pipeline::{builder, http_client, send};
use crate::support::{ServeChild as Serve, bin, profile, read_json};

/// A CA, a server certificate for `localhost`/`127.0.0.1` and a client certificate it signed,
/// plus a second CA that signed nothing here: every file as PEM in one directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca_pem, issuer) = ca("span-sentinel test CA");
        let (other_pem, _) = ca("some other CA");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", &ca_pem);
        write("other-ca.pem", &other_pem);
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let (cert, key) = leaf(names, ExtendedKeyUsagePurpose::ServerAuth, &issuer);
        write("server.pem", &cert);
        write("server-key.pem", &key);
        let client = vec!["sentinel-client".to_owned()];
        let (cert, key) = leaf(client, ExtendedKeyUsagePurpose::ClientAuth, &issuer);
        write("client.pem", &cert);
        write("client-key.pem", &key);
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'static, KeyPair>,
) -> (String, String) {
    let mut params = CertificateParams::new(names).unwrap();
    params.extended_key_usages.push(usage);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A TLS `serve` on loopback (the PKI's server certificate) with `extra` flags.
fn tls_serve(pki: &Pki, extra: &[&str]) -> Serve {
    let tls = [
        "--tls-cert",
        &pki.path("server.pem"),
        "--tls-key",
        &pki.path("server-key.pem"),
    ];
    plain_serve(&[&tls[..], extra].concat())
}

/// A `serve` with the short settle window and alert interval the smoke profile expects.
fn plain_serve(extra: &[&str]) -> Serve {
    Serve::start(
        &[
            &["--settle-window", "1s", "--alert-interval", "250ms"][..],
            extra,
        ]
        .concat(),
    )
}

fn smoke() -> PathBuf {
    profile("smoke.toml")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_smoke_run_passes_over_grpcs_and_https_against_a_tls_serve() {
    let pki = Pki::new();
    let serve = tls_serve(&pki, &[]);
    let report = pki.dir.path().join("run.json");
    let out = bin()
        .arg("run")
        .arg(smoke())
        .args(["--target", &format!("grpcs://{}", serve.grpc)])
        .args(["--query-url", &format!("https://{}", serve.http)])
        .args(["--ca-file", &pki.path("ca.pem"), "--quiet", "--json"])
        .arg(&report)
        .output()
        .unwrap();
    let r = read_json(&report);
    assert_eq!(r["verdict"], "pass", "{}\n{r:#}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(r["target"], format!("grpcs://{}", serve.grpc));
    let load = &r["phases"][2]["load"];
    assert!(load["acked_spans"].as_u64().unwrap() > 100_000, "{load:#}");
    assert_eq!(load["failed_spans"], 0, "{load:#}");
}

#[test]
fn a_ca_that_did_not_sign_the_server_fails_at_once_with_exit_3_and_says_certificate() {
    let pki = Pki::new();
    let serve = tls_serve(&pki, &[]);
    let targets = [
        format!("grpcs://{}", serve.grpc),
        format!("https://{}", serve.http),
    ];
    for target in targets {
        let started = std::time::Instant::now();
        let out = bin()
            .arg("run")
            .arg(smoke())
            .args(["--target", &target])
            .args(["--query-url", &format!("https://{}", serve.http)])
            .args(["--ca-file", &pki.path("other-ca.pem"), "--quiet"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{target}: {err}");
        assert!(err.contains("TLS certificate problem"), "{target}: {err}");
        assert!(err.contains("UnknownIssuer"), "{target}: {err}");
        assert!(started.elapsed().as_secs() < 10, "{target}: not at once");
    }
}

#[test]
fn a_query_api_whose_certificate_is_not_trusted_exits_3_and_says_certificate() {
    let pki = Pki::new();
    let (plain, tls) = (plain_serve(&[]), tls_serve(&pki, &[]));
    let out = bin()
        .arg("run")
        .arg(smoke())
        .args(["--target", &format!("grpc://{}", plain.grpc)])
        .args(["--query-url", &format!("https://{}", tls.http)])
        .args(["--ca-file", &pki.path("other-ca.pem"), "--quiet"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("TLS certificate problem"), "{err}");
}

fn load(target: &str, tls: &[&str], report: &Path) -> Output {
    bin()
        .args([
            "load",
            "--target",
            target,
            "--rate",
            "2000",
            "--duration",
            "2s",
        ])
        .args(["--threads", "1", "--quiet", "--json"])
        .arg(report)
        .args(tls)
        .output()
        .unwrap()
}

#[test]
fn load_reaches_a_mutual_tls_serve_with_its_client_certificate_and_not_without() {
    let pki = Pki::new();
    let serve = tls_serve(&pki, &["--client-ca", &pki.path("ca.pem")]);
    let report = pki.dir.path().join("load.json");
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client-key.pem"),
    );
    let mutual = [
        "--ca-file",
        &ca,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
    ];
    for target in [
        format!("grpcs://{}", serve.grpc),
        format!("https://{}", serve.http),
    ] {
        let out = load(&target, &mutual, &report);
        assert_eq!(out.status.code(), Some(0), "{target}: {}", stderr(&out));
        let r = read_json(&report);
        assert!(r["acked_spans"].as_u64().unwrap() > 1000, "{target}: {r:#}");
        assert_eq!(r["acked_spans"], r["sent_spans"], "{target}: {r:#}");
        assert_eq!(r["warnings"].as_array().unwrap().len(), 0, "{r:#}");
    }
    // Without the client certificate the server refuses the connection. With TLS 1.3 the
    // client learns it only on its first read, after connecting: then not one span is acked.
    let target = format!("grpcs://{}", serve.grpc);
    let out = load(&target, &["--ca-file", &ca], &report);
    match out.status.code() {
        Some(3) => {}
        Some(0) => {
            let r = read_json(&report);
            assert_eq!(r["acked_spans"], 0, "{r:#}");
            assert!(r["failed_spans"].as_u64().unwrap() > 0, "{r:#}");
        }
        code => panic!("{code:?}: {}", stderr(&out)),
    }
}

#[test]
fn insecure_skip_verify_connects_to_an_untrusted_server_and_the_report_warns() {
    let pki = Pki::new();
    let serve = tls_serve(&pki, &[]);
    let report = pki.dir.path().join("load.json");
    let target = format!("https://{}", serve.http);
    let out = load(&target, &["--ca-file", &pki.path("other-ca.pem")], &report);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = load(&target, &["--insecure-skip-verify"], &report);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = read_json(&report);
    assert_eq!(r["acked_spans"], r["sent_spans"], "{r:#}");
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("NOT verified"), "{r:#}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT verified"));
}

#[test]
fn tls_server_name_verifies_the_certificate_against_another_name() {
    let pki = Pki::new();
    let serve = tls_serve(&pki, &[]);
    let report = pki.dir.path().join("load.json");
    let target = format!("grpcs://{}", serve.grpc);
    let ca = pki.path("ca.pem");
    let out = load(
        &target,
        &["--ca-file", &ca, "--tls-server-name", "localhost"],
        &report,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let wrong = ["--ca-file", &ca, "--tls-server-name", "collector.example"];
    let out = load(&target, &wrong, &report);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("TLS certificate problem"));
}

const TOKEN: &str = "secret-token-123";
const FILE_TOKEN: &str = "secret-file-456";

/// Every file in `dir` and the given outputs, none holding a token; `needle` (the redacted
/// header) in each of `must_show`.
fn assert_no_token(dir: &Path, outputs: &[(&str, String)]) {
    let mut texts: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "headers")
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap_or_default(),
            )
        })
        .collect();
    texts.extend(outputs.iter().map(|(n, t)| ((*n).to_owned(), t.clone())));
    for (name, text) in &texts {
        for token in [TOKEN, FILE_TOKEN] {
            assert!(!text.contains(token), "{token} in {name}:\n{text}");
        }
    }
}

#[test]
fn header_values_from_flags_and_files_appear_in_no_report_format() {
    let serve = plain_serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(&file, format!("x-api-key={FILE_TOKEN}\n")).unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let auth = format!("authorization={TOKEN}");
    let header_flags = ["--header", &auth, "--header-file", file.to_str().unwrap()];
    let run = bin()
        .arg("run")
        .arg(smoke())
        .args(["--target", &format!("grpc://{}", serve.grpc)])
        .args(["--query-url", &format!("http://{}", serve.http)])
        .args(header_flags)
        .args(["--json", &out("run.json"), "--html", &out("run.html")])
        .output()
        .unwrap();
    assert!(
        run.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&run)
    );
    let report = bin()
        .arg("report")
        .arg(out("run.json"))
        .args(["--markdown", &out("run.md"), "--html", &out("report.html")])
        .output()
        .unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    let terminal = bin().arg("report").arg(out("run.json")).output().unwrap();
    let load = bin()
        .args(["load", "--target", &format!("http://{}", serve.http)])
        .args([
            "--rate",
            "1000",
            "--duration",
            "1s",
            "--json",
            &out("load.json"),
        ])
        .args(header_flags)
        .output()
        .unwrap();
    assert_eq!(load.status.code(), Some(0), "{}", stderr(&load));
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(o);
    let outputs = [
        ("run stdout+stderr", text(&run)),
        ("report stdout+stderr", text(&report)),
        ("report terminal", text(&terminal)),
        ("load stdout+stderr", text(&load)),
    ];
    assert_no_token(dir.path(), &outputs);
    // The names are shown, so a reader knows the headers were sent.
    for name in ["run.json", "run.html", "run.md", "report.html", "load.json"] {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        for header in [
            "authorization=&lt;redacted&gt;",
            "x-api-key=&lt;redacted&gt;",
        ] {
            let plain = header.replace("&lt;", "<").replace("&gt;", ">");
            assert!(
                text.contains(header) || text.contains(&plain),
                "{header} not in {name}"
            );
        }
    }
    assert!(
        outputs[2].1.contains("authorization=<redacted>"),
        "{}",
        outputs[2].1
    );
}

#[test]
fn a_bad_header_value_is_refused_without_echoing_it() {
    let out = bin()
        .args(["load", "--target", "grpc://127.0.0.1:9", "--duration", "1s"])
        .args(["--header", &format!("authorization={TOKEN}\u{7f}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("authorization"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(TOKEN), "{}", stderr(&out));
}

#[test]
fn insecure_skip_verify_in_a_run_is_warned_about_in_its_report() {
    let pki = Pki::new();
    let serve = tls_serve(&pki, &[]);
    let dir = pki.dir.path();
    // The shortest run: one 2 s baseline; only its report's warnings matter here.
    let profile = dir.join("short.toml");
    std::fs::write(
        &profile,
        "[[phases]]\nname = \"baseline\"\nkind = \"baseline\"\nduration = \"2s\"\n",
    )
    .unwrap();
    let report = dir.join("run.json");
    let out = bin()
        .arg("run")
        .arg(&profile)
        .args(["--target", &format!("grpcs://{}", serve.grpc)])
        .args(["--query-url", &format!("https://{}", serve.http)])
        .args(["--insecure-skip-verify", "--quiet", "--json"])
        .arg(&report)
        .output()
        .unwrap();
    // Not trusted, yet reached: the run went through its phase and wrote its report.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let r = read_json(&report);
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("--insecure-skip-verify"), "{r:#}");
    assert!(warnings.contains("NOT verified"), "{r:#}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT verified"));
}

/// `serve`'s log is read from its file until the line naming its addresses appears.
// The caller kills and waits for the child it is handed; the panics here end the test.
#[allow(clippy::zombie_processes)]
fn serve_logging_to(log: &Path) -> (std::process::Child, String, String) {
    let mut child = bin()
        .args(["serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(["--settle-window", "1s", "--alert-interval", "250ms"])
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("API on")) {
            let addr = |after: &str| {
                let rest = line.split(after).nth(1).unwrap();
                let addr = rest.split([',', ' ']).find(|s| !s.is_empty()).unwrap();
                addr.trim().to_owned()
            };
            return (child, addr("OTLP/gRPC on "), addr("API on "));
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no address line in {text}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Issue 28 point 14: the header values sent to a target appear neither in what that target
/// shows (`serve`'s log and `/metrics`) nor in what `watch` writes (its log and report).
#[test]
fn header_values_appear_in_no_log_and_not_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(&file, format!("x-api-key={FILE_TOKEN}\n")).unwrap();
    let (mut serve, grpc, http) = serve_logging_to(&dir.path().join("serve.log"));
    let auth = format!("authorization={TOKEN}");
    let header_flags = ["--header", &auth, "--header-file", file.to_str().unwrap()];
    let json = dir.path().join("watch.json");
    let watch = bin()
        .arg("watch")
        .args(["--target", &format!("grpc://{grpc}")])
        .args(["--query-url", &format!("http://{http}")])
        .args(["--duration", "4s", "--window", "2s"])
        .args(header_flags)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        watch.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&watch)
    );
    let url = format!("http://{http}/metrics");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let request = builder("GET", &url, None).body(Default::default()).unwrap();
    let metrics =
        String::from_utf8_lossy(&rt.block_on(send(&http_client(), request)).body).into_owned();
    assert!(metrics.contains("span_sentinel_pipeline"), "{metrics}");
    let _ = serve.kill();
    let _ = serve.wait();
    let text = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(o);
    let outputs = [("watch stdout+stderr", text(&watch)), ("/metrics", metrics)];
    // serve.log, watch.json and the outputs: no token anywhere.
    assert_no_token(dir.path(), &outputs);
    // The watch report was written: the check above read it.
    assert!(json.exists(), "no watch report");
}
