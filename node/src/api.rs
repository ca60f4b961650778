//! The node's HTTP JSON API and `/metrics` (axum).
//!
//! | method | path | body / answer |
//! |---|---|---|
//! | `POST` | `/v1/jobs` | [`JobBody`]: a circuit's witness (`circuit`, `input`) or numbers for one of the node's models (`model`, `values`; `client.models`), with `max_price` and `deadline_secs` → `{"id": "0x…"}` |
//! | `GET` | `/v1/jobs?after=0x…&limit=N` | a page of jobs' [`JobStatus`] in id order: at most `limit` (default and most [`MAX_PAGE`]), from the first id after `after` |
//! | `GET` | `/v1/jobs/{id}` | one [`JobStatus`] |
//! | `GET` | `/v1/jobs/{id}/proof` | the proof file (as `provernet prove` writes it) |
//! | `GET` | `/v1/node` | peer id, address, roles, peers |
//! | `GET` | `/metrics` | Prometheus text format |
//! | `POST` | `/v1/dev/slowdown` | `{"factor": f}`: every proof from now on takes `f` (1..=10) times as long (only with `api.dev`) |
//! | `POST` | `/v1/dev/partition` | `{"secs": n}`: cut the node off from every peer for `n` s (only with `api.dev`) |
//! | `POST` | `/v1/dev/kill` | `{"task": "chain follower"}`: kill one of the node's long-lived tasks, which stops the node with that failure (only with `api.dev`) |
//! | `GET` | `/v1/dev/arrivals` | the last 4,096 gossip messages received or published: `[{"id", "at_ms", "own"}]` (only with `api.dev`) |
//!
//! Errors answer with a status code and `{"error": "…"}`. Bodies above 2 MiB are refused
//! before they are read. Every request passes [`guard`] first: the node's token for
//! anything but reads on loopback, and a `Host` that is an IP address or `localhost` for
//! anything but a read with the token.

mod guard;

pub use guard::{Guard, host_allowed};

use std::net::SocketAddr;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use provernet_protocol::JobId;
use serde_json::json;

use crate::service::{JobBody, NO_SLOWDOWN, NodeHandle, SubmitError};

/// The longest request body.
pub const MAX_BODY_BYTES: usize = 2 << 20;

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Parses a 0x-prefixed job id.
pub fn parse_job_id(text: &str) -> Option<JobId> {
    JobId::parse_hex(text)
}

/// A JSON body, or the answer to a body that is not one.
type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

/// The body's value, or the error answer for its rejection.
fn body<T>(body: Body<T>) -> Result<T, Box<Response>> {
    body.map(|Json(value)| value)
        .map_err(|rejection| Box::new(error(rejection.status(), rejection.body_text())))
}

async fn submit(State(node): State<NodeHandle>, request: Body<JobBody>) -> Response {
    let request = match body(request) {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    match node.submit_job(request).await {
        Ok(id) => (
            StatusCode::CREATED,
            Json(json!({ "id": format!("0x{}", provernet_protocol::primitives::to_hex(&id.0)) })),
        )
            .into_response(),
        Err(e @ (SubmitError::Store(_) | SubmitError::Stopped | SubmitError::Chain(_))) => {
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        Err(e @ SubmitError::NotClient) => error(StatusCode::CONFLICT, e.to_string()),
        Err(e @ SubmitError::Unfunded { .. }) => error(StatusCode::PAYMENT_REQUIRED, e.to_string()),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// The most jobs `GET /v1/jobs` answers at once.
pub const MAX_PAGE: usize = 1_000;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    after: Option<String>,
    limit: Option<usize>,
}

async fn jobs(
    State(node): State<NodeHandle>,
    page: Result<axum::extract::Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(page)) = page else {
        return error(
            StatusCode::BAD_REQUEST,
            "the query takes `after` (a job id) and `limit`",
        );
    };
    let after = match page.after.as_deref().map(parse_job_id) {
        None => None,
        Some(Some(id)) => Some(id),
        Some(None) => return error(StatusCode::BAD_REQUEST, "`after` is 32 bytes of hex"),
    };
    let limit = page.limit.unwrap_or(MAX_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return error(
            StatusCode::BAD_REQUEST,
            format!("`limit` must be within 1..={MAX_PAGE}"),
        );
    }
    match node.jobs_page(after.as_ref(), limit) {
        Ok(jobs) => Json(jobs).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn job(State(node): State<NodeHandle>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_job_id(&id) else {
        return error(StatusCode::BAD_REQUEST, "a job id is 32 bytes of hex");
    };
    match node.job(&id) {
        Ok(Some(status)) => Json(status).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such job"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn proof(State(node): State<NodeHandle>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_job_id(&id) else {
        return error(StatusCode::BAD_REQUEST, "a job id is 32 bytes of hex");
    };
    match node.store.client_job(&id) {
        Ok(Some(job)) => match crate::service::client_proof_file(&job) {
            Some(text) => ([("content-type", "application/json")], text).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                format!("job is {}: no verified proof yet", job.state.name()),
            ),
        },
        Ok(None) => error(StatusCode::NOT_FOUND, "no such job"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn node_info(State(node): State<NodeHandle>) -> Response {
    let info = node.net.info().await.unwrap_or_default();
    Json(json!({
        "peer_id": node.net.peer_id().to_string(),
        "address": format!("{:?}", node.address),
        "roles": node.roles,
        "listen": info.listen_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "peers": info.peers.len(),
        "topic_peers": info.topic_peers,
        "banned": info.banned,
        "requests_over_budget": info.requests_over_budget,
        "partitioned": info.isolated,
        "measured_circuits": node.metrics.market.measured_circuits.get(),
    }))
    .into_response()
}

/// The longest partition `/v1/dev/partition` accepts, s.
pub const MAX_PARTITION_SECS: u64 = 3_600;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PartitionRequest {
    secs: u64,
}

async fn partition(State(node): State<NodeHandle>, request: Body<PartitionRequest>) -> Response {
    let request = match body(request) {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    if request.secs == 0 || request.secs > MAX_PARTITION_SECS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("secs must be within 1..={MAX_PARTITION_SECS}"),
        );
    }
    node.net
        .isolate(std::time::Duration::from_secs(request.secs))
        .await;
    Json(json!({ "partitioned_secs": request.secs })).into_response()
}

/// The largest slowdown `/v1/dev/slowdown` accepts.
pub const MAX_SLOWDOWN: f64 = 10.0;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowdownRequest {
    factor: f64,
}

/// Makes every proof from now on take `factor` times as long (1 undoes it): a machine
/// slowing down, for tests of the estimates that follow it.
async fn slowdown(State(node): State<NodeHandle>, request: Body<SlowdownRequest>) -> Response {
    let request = match body(request) {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    if !(1.0..=MAX_SLOWDOWN).contains(&request.factor) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("factor must be within 1..={MAX_SLOWDOWN}"),
        );
    }
    // Within 1..=10, so the thousandths fit.
    let thousandths = (request.factor * f64::from(NO_SLOWDOWN)).round() as u32;
    node.slowdown
        .store(thousandths, std::sync::atomic::Ordering::Relaxed);
    tracing::warn!(target: "api", factor = request.factor, "dev: proving slowed");
    Json(json!({ "slowdown": request.factor })).into_response()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KillRequest {
    task: String,
}

/// Kills one of the node's tasks: the supervisor then stops the node, naming it.
async fn kill(State(node): State<NodeHandle>, request: Body<KillRequest>) -> Response {
    let request = match body(request) {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    if !node.tasks.kill(&request.task) {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "no task `{}`; the node's tasks: {}",
                request.task,
                node.tasks.names().join(", ")
            ),
        );
    }
    Json(json!({ "killed": request.task })).into_response()
}

/// The latest gossip arrivals at this node and its own publications (a testnet
/// matches them across nodes to measure propagation).
async fn arrivals(State(node): State<NodeHandle>) -> Response {
    Json(node.net.arrivals().await).into_response()
}

async fn metrics(State(node): State<NodeHandle>) -> Response {
    if let Some(info) = node.net.info().await {
        node.metrics
            .net
            .peers
            .set(i64::try_from(info.peers.len()).unwrap_or(i64::MAX));
        let held = &node.metrics.held;
        held.entries("dht_provided_keys", info.provided_keys);
        held.entries("dht_remote_provider_keys", info.remote_provider_keys);
    }
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        node.metrics.encode(),
    )
        .into_response()
}

/// The router, behind `guard`; `/v1/dev/*` only when `dev` (config `api.dev`).
pub fn router(node: NodeHandle, dev: bool, guard: Guard) -> Router {
    let mut router = Router::new()
        .route("/v1/jobs", get(jobs).post(submit))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/jobs/{id}/proof", get(proof))
        .route("/v1/node", get(node_info))
        .route("/metrics", get(metrics));
    if dev {
        router = router
            .route("/v1/dev/partition", post(partition))
            .route("/v1/dev/kill", post(kill))
            .route("/v1/dev/slowdown", post(slowdown))
            .route("/v1/dev/arrivals", get(arrivals));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
        .with_state(node)
}

/// Serves the API on `address` until the node shuts down, with `/v1/dev/*` when `dev`,
/// mutating requests (and reads, unless `address` is loopback) needing `token`; returns
/// the bound address.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(
    node: NodeHandle,
    address: SocketAddr,
    dev: bool,
    token: &str,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let shutdown = node.shutdown.clone();
    let supervised = node.clone();
    let app = router(node, dev, Guard::new(token, address.ip().is_loopback()));
    // Supervised: an API server that stops leaves no node running without its API.
    supervised.supervise("API server", async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(target: "api", %error, "API server stopped");
        }
    });
    Ok(bound)
}
