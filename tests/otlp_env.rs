//! The table of `OTEL_EXPORTER_OTLP_*` variables in docs/targets.md, one test per row: for each setting,
//! a flag beats the traces-specific variable, which beats the generic one, which beats the
//! default.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use span_sentinel::config::load::{LoadOverrides, load_plan_with_env};
use span_sentinel::config::otlp_env::OtlpEnv;
use span_sentinel::encode::Encoding;
use span_sentinel::engine::LoadPlan;

fn env(vars: &[(&str, &str)]) -> OtlpEnv {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (format!("OTEL_EXPORTER_OTLP_{k}"), (*v).to_owned()))
        .collect();
    OtlpEnv::from_vars(|name| map.get(name).cloned()).unwrap()
}

fn plan(flags: &LoadOverrides, vars: &[(&str, &str)]) -> LoadPlan {
    load_plan_with_env(flags, &env(vars)).unwrap()
}

fn target(flags: &LoadOverrides, vars: &[(&str, &str)]) -> String {
    plan(flags, vars).target.to_string()
}

fn with_target() -> LoadOverrides {
    LoadOverrides {
        target: Some("http://127.0.0.1:4318".into()),
        ..LoadOverrides::default()
    }
}

#[test]
fn endpoint_row() {
    let generic = ("ENDPOINT", "https://otlp.example:4318/base/");
    let traces = ("TRACES_ENDPOINT", "https://traces.example/custom/path");
    let flag = LoadOverrides {
        target: Some("http://flag.example:4318".into()),
        ..LoadOverrides::default()
    };
    assert_eq!(
        target(&flag, &[generic, traces]),
        "http://flag.example:4318/v1/traces"
    );
    let none = LoadOverrides::default();
    // The traces variable is the whole URL; a URL without a port takes its scheme's.
    assert_eq!(
        target(&none, &[generic, traces]),
        "https://traces.example:443/custom/path"
    );
    // The generic one is a base: OTLP/HTTP appends /v1/traces.
    assert_eq!(
        target(&none, &[generic]),
        "https://otlp.example:4318/base/v1/traces"
    );
    assert_eq!(
        target(&none, &[("ENDPOINT", "http://collector:4318")]),
        "http://collector:4318/v1/traces"
    );
    // No default endpoint: the tool never sends somewhere nobody named.
    let err = load_plan_with_env(&none, &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{err}");
}

#[test]
fn protocol_row() {
    let none = LoadOverrides::default();
    let generic_grpc = [
        ("ENDPOINT", "https://collector.example:4317"),
        ("PROTOCOL", "grpc"),
    ];
    // grpc takes the endpoint as it is, TLS from the https scheme.
    assert_eq!(
        target(&none, &generic_grpc),
        "grpcs://collector.example:4317"
    );
    let traces_json = [
        generic_grpc[0],
        generic_grpc[1],
        ("TRACES_PROTOCOL", "http/json"),
    ];
    let p = plan(&none, &traces_json);
    assert_eq!(p.transport.encoding, Encoding::Json);
    assert_eq!(
        p.target.to_string(),
        "https://collector.example:4317/v1/traces"
    );
    // The flag (--encoding) beats the variables.
    let flag = LoadOverrides {
        encoding: Some(Encoding::Protobuf),
        ..LoadOverrides::default()
    };
    assert_eq!(
        plan(&flag, &traces_json).transport.encoding,
        Encoding::Protobuf
    );
    // Default: http/protobuf.
    let p = plan(&none, &[generic_grpc[0]]);
    assert_eq!(p.transport.encoding, Encoding::Protobuf);
    assert!(p.target.to_string().ends_with("/v1/traces"));
    let err = OtlpEnv::from_vars(|n| (n == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "http".into()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{err}");
}

fn headers(p: &LoadPlan) -> Vec<(String, String)> {
    p.transport
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn headers_row() {
    let generic = ("HEADERS", "authorization=Bearer%20generic,x-team=core");
    let traces = ("TRACES_HEADERS", "authorization=Bearer%20traces%3D%3D");
    let none = with_target();
    assert!(headers(&plan(&none, &[])).is_empty());
    assert_eq!(
        headers(&plan(&none, &[generic])),
        pairs(&[("authorization", "Bearer generic"), ("x-team", "core")])
    );
    // The traces variable replaces the generic one as a whole, percent-decoded.
    assert_eq!(
        headers(&plan(&none, &[generic, traces])),
        pairs(&[("authorization", "Bearer traces==")])
    );
    let flag = LoadOverrides {
        headers: pairs(&[("Authorization", "Bearer flag")]),
        ..with_target()
    };
    assert_eq!(
        headers(&plan(&flag, &[generic])),
        pairs(&[("x-team", "core"), ("authorization", "Bearer flag")])
    );
}

#[test]
fn compression_row() {
    let none = with_target();
    assert!(!plan(&none, &[]).transport.compression.is_on());
    assert!(
        plan(&none, &[("COMPRESSION", "gzip")])
            .transport
            .compression
            .is_on()
    );
    let both = [("COMPRESSION", "gzip"), ("TRACES_COMPRESSION", "none")];
    assert!(!plan(&none, &both).transport.compression.is_on());
    let flag = LoadOverrides {
        gzip: true,
        ..with_target()
    };
    assert!(plan(&flag, &both).transport.compression.is_on());
}

#[test]
fn timeout_row() {
    let none = with_target();
    assert_eq!(plan(&none, &[]).transport.timeout, Duration::from_secs(10));
    assert_eq!(
        plan(&none, &[("TIMEOUT", "2500")]).transport.timeout,
        Duration::from_millis(2500)
    );
    let both = [("TIMEOUT", "2500"), ("TRACES_TIMEOUT", "700")];
    assert_eq!(
        plan(&none, &both).transport.timeout,
        Duration::from_millis(700)
    );
}

/// The error of a plan whose certificate files do not exist names the file that was used.
fn cert_error(flags: &LoadOverrides, vars: &[(&str, &str)]) -> Option<String> {
    load_plan_with_env(flags, &env(vars))
        .err()
        .map(|e| e.to_string())
}

#[test]
fn certificate_row() {
    let vars = [
        ("CERTIFICATE", "/nonexistent/generic-ca.pem"),
        ("TRACES_CERTIFICATE", "/nonexistent/traces-ca.pem"),
    ];
    let flag = LoadOverrides {
        tls: span_sentinel::transport::TlsOptions {
            ca_file: Some(PathBuf::from("/nonexistent/flag-ca.pem")),
            ..Default::default()
        },
        ..with_target()
    };
    assert!(cert_error(&flag, &vars).unwrap().contains("flag-ca.pem"));
    let none = with_target();
    assert!(cert_error(&none, &vars).unwrap().contains("traces-ca.pem"));
    assert!(
        cert_error(&none, &vars[..1])
            .unwrap()
            .contains("generic-ca.pem")
    );
    // Default: the system roots.
    assert_eq!(cert_error(&none, &[]), None);
}

#[test]
fn client_certificate_and_key_row() {
    let vars = [
        ("CLIENT_CERTIFICATE", "/nonexistent/generic-cert.pem"),
        ("CLIENT_KEY", "/nonexistent/generic-key.pem"),
        ("TRACES_CLIENT_CERTIFICATE", "/nonexistent/traces-cert.pem"),
    ];
    let none = with_target();
    assert!(
        cert_error(&none, &vars)
            .unwrap()
            .contains("traces-cert.pem")
    );
    assert!(
        cert_error(&none, &vars[..2])
            .unwrap()
            .contains("generic-cert.pem")
    );
    let flag = LoadOverrides {
        tls: span_sentinel::transport::TlsOptions {
            client_cert: Some(PathBuf::from("/nonexistent/flag-cert.pem")),
            client_key: Some(PathBuf::from("/nonexistent/flag-key.pem")),
            ..Default::default()
        },
        ..with_target()
    };
    assert!(cert_error(&flag, &vars).unwrap().contains("flag-cert.pem"));
    // A certificate without its key is an error naming the missing one.
    let half = cert_error(&none, &vars[..1]).unwrap();
    assert!(half.contains("--client-key"), "{half}");
    assert_eq!(cert_error(&none, &[]), None);
}
