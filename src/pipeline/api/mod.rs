//! The query API (HTTP JSON, tenant-scoped by the tenant header) and `/metrics`.
//! Every shape is documented in `docs/pipeline-api.md`; keys are snake_case.

pub mod limits;
pub mod metrics;
pub mod query;
pub mod stats;

use std::sync::Arc;

use http::{Method, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use super::response::{ResponseBody, json as json_response, plain};
use super::state::Shared;
use super::tenants::Tenant;

/// A JSON error body: `{"error": "..."}`.
pub fn error(status: StatusCode, message: &str) -> Response<ResponseBody> {
    json_response(status, &json!({ "error": message }))
}

fn tenant_of(
    shared: &Shared,
    req: &http::Request<Incoming>,
) -> Result<Arc<Tenant>, Box<Response<ResponseBody>>> {
    let header = req
        .headers()
        .get(&shared.config.tenant_header)
        .map(|v| v.as_bytes());
    // Reading never registers a tenant, so queries cannot fill the tenant registry.
    let tenant = if req.method() == Method::GET {
        shared.tenants.lookup(header)
    } else {
        shared.tenants.resolve(header)
    };
    tenant.map_err(|err| Box::new(error(StatusCode::BAD_REQUEST, &err.to_string())))
}

/// With an API token configured, a `401` for a request that does not carry it as
/// `Authorization: Bearer <token>` (compared in constant time).
fn unauthorized(shared: &Shared, req: &http::Request<Incoming>) -> Option<Response<ResponseBody>> {
    let token = shared.config.api_token.as_deref()?;
    let sent = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    let same = sent.len() == token.len()
        && sent
            .iter()
            .zip(token.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        return None;
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "this pipeline requires its API token: send Authorization: Bearer <token> (serve --api-token)",
    );
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    Some(response)
}

/// Routes a request that is not ingest.
pub async fn handle(shared: Arc<Shared>, req: http::Request<Incoming>) -> Response<ResponseBody> {
    let path = req.uri().path().to_owned();
    if path == "/metrics" {
        return match *req.method() {
            Method::GET => metrics::render(&shared),
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
        };
    }
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    if let Some(response) = unauthorized(&shared, &req) {
        return response;
    }
    let tenant = match tenant_of(&shared, &req) {
        Ok(t) => t,
        Err(response) => return *response,
    };
    let method = req.method().clone();
    match (method, rest.split_once('/').unwrap_or((rest, ""))) {
        (Method::GET, ("stats", "")) => stats::stats(&shared, &tenant),
        (Method::GET, ("histograms", "")) => query::histograms(&shared, &tenant),
        (Method::GET, ("traces", "")) if shared.config.faults.search_unavailable => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "trace search unavailable (injected fault)",
        ),
        (Method::GET, ("traces", "")) => query::search(&shared, &tenant, req.uri().query()),
        (Method::GET, ("traces", id)) => query::trace(&shared, &tenant, id),
        (Method::GET, ("alerts", "")) => query::alerts(&shared, &tenant),
        (Method::GET, ("alert-rules", "")) => query::rules(&shared, &tenant),
        (Method::POST, ("alert-rules", "")) => query::post_rule(&shared, &tenant, req).await,
        (Method::DELETE, ("alert-rules", name)) if !name.is_empty() => {
            query::delete_rule(&shared, &tenant, name)
        }
        (Method::GET, ("assembly-threshold", "")) => query::get_threshold(&tenant),
        (Method::PUT, ("assembly-threshold", "")) => query::put_threshold(&tenant, req).await,
        (
            _,
            (
                "stats" | "histograms" | "traces" | "alerts" | "alert-rules" | "assembly-threshold",
                _,
            ),
        ) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this path",
        ),
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}
