//! The client's HTTP API and the `provernet client` commands against a running node.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

use provernet_circuits::Circuit;

use crate::support::{Testnet, eventually, small_package, witness};

fn provernet(api: &str, args: &[&str]) -> Output {
    crate::support::provernet_command(args)
        .env("PROVERNET_API", api)
        .output()
        .expect("binary runs")
}

fn ok(api: &str, args: &[&str]) -> String {
    let output = provernet(api, args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_submitted_with_the_cli_is_proven_and_its_proof_verifies() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let config = net.config("prover", true, false);
    net.start(config, 3).await;
    net.wait_for_mesh(1).await;
    let dir = net.dir.path().to_owned();
    let (token, bound) = serve_api(&net, &client).await;
    let token_file = dir
        .join("api")
        .join(provernet_node::identity::API_TOKEN_FILE);
    let api = format!("http://{bound}");
    let input = dir.join("witness.json");
    std::fs::write(&input, witness(Circuit::PoseidonChain12, 5)).expect("write");
    let path = |p: &Path| p.to_str().expect("utf-8").to_owned();

    let id = {
        let (api, input, token_file) = (api.clone(), path(&input), path(&token_file));
        tokio::task::spawn_blocking(move || {
            ok(
                &api,
                &[
                    "client",
                    "submit",
                    "--token-file",
                    &token_file,
                    "--circuit",
                    "poseidon-chain-12",
                    "--input",
                    &input,
                    "--max-price",
                    "1000000",
                    "--deadline",
                    "60",
                ],
            )
        })
        .await
        .expect("joined")
        .trim()
        .to_owned()
    };
    assert!(id.starts_with("0x") && id.len() == 66, "{id}");
    eventually(60, "the job verified", || {
        let (api, id) = (api.clone(), id.clone());
        async move {
            let status = tokio::task::spawn_blocking(move || ok(&api, &["client", "status", &id]))
                .await
                .expect("joined");
            let json: serde_json::Value = serde_json::from_str(&status).expect("json");
            matches!(json["state"].as_str(), Some("verified" | "paid")).then_some(())
        }
    })
    .await;
    let out = dir.join("proof.json");
    let (api2, id2, out2) = (api.clone(), id.clone(), path(&out));
    tokio::task::spawn_blocking(move || ok(&api2, &["client", "proof", &id2, "--out", &out2]))
        .await
        .expect("joined");
    // The proof the market delivered verifies with the standalone tool.
    let out2 = path(&out);
    let api2 = api.clone();
    let verified = tokio::task::spawn_blocking(move || {
        ok(
            &api2,
            &[
                "verify",
                "--dev-srs",
                "--circuit",
                "poseidon-chain-12",
                "--proof",
                &out2,
            ],
        )
    })
    .await
    .expect("joined");
    assert!(verified.starts_with("valid"), "{verified}");

    // Bad requests are clear errors with the right status.
    let http = reqwest::Client::new();
    let bad = http
        .post(format!("{api}/v1/jobs"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "circuit": "sha-9000", "input": "{}", "max_price": "1", "deadline_secs": 60
        }))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("unknown circuit"),
        "{body}"
    );
    let bad = http
        .post(format!("{api}/v1/jobs"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "circuit": "poseidon-chain-12", "input": "{\"seed\": \"x\"}", "max_price": "1", "deadline_secs": 60
        }))
        .send()
        .await
        .expect("send");
    assert_eq!(
        bad.status(),
        400,
        "a witness that does not parse is refused at submission"
    );
    let missing = http
        .get(format!("{api}/v1/jobs/0x{}", "00".repeat(32)))
        .send()
        .await
        .expect("send");
    assert_eq!(missing.status(), 404);
    // On a connection of its own: the server answers 413 without reading the body and
    // closes that connection, which a pooled client might otherwise reuse.
    let huge = reqwest::Client::new()
        .post(format!("{api}/v1/jobs"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 3 << 20])
        .send()
        .await
        .expect("send");
    assert_eq!(huge.status(), 413, "bodies over 2 MiB are refused");
    // The job gauges are counted once a second: the verified job shows within one.
    let metrics = eventually(10, "the metrics show the job verified or paid", || {
        let (http, api) = (http.clone(), api.clone());
        async move {
            let metrics = http
                .get(format!("{api}/metrics"))
                .send()
                .await
                .expect("send")
                .text()
                .await
                .expect("text");
            (metrics.contains("provernet_market_jobs{role=\"client\",state=\"verified\"} 1")
                || metrics.contains(
                    "provernet_market_jobs_settled_total{role=\"client\",state=\"paid\"} 1",
                ))
            .then_some(metrics)
        }
    })
    .await;
    assert!(
        metrics.contains("provernet_market_e2e_seconds_count 1"),
        "{metrics}"
    );

    // No fault injection unless the node runs with api.dev.
    let refused = http
        .post(format!("{api}/v1/dev/partition"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "secs": 2 }))
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), 404);
    let refused = http
        .post(format!("{api}/v1/dev/slowdown"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "factor": 2.0 }))
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), 404);

    // With it, a partition cuts the node off from every peer, and it comes back after.
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let dev = provernet_node::api::serve(client.clone(), loopback, true, &token)
        .await
        .expect("dev api");
    let dev = format!("http://{dev}");
    let info = || {
        let (http, dev) = (http.clone(), dev.clone());
        async move {
            http.get(format!("{dev}/v1/node"))
                .send()
                .await
                .expect("send")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    assert!(info().await["peers"].as_u64() >= Some(1));
    for secs in [0, 3_601] {
        let bad = http
            .post(format!("{dev}/v1/dev/partition"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "secs": secs }))
            .send()
            .await
            .expect("send");
        assert_eq!(bad.status(), 400, "secs {secs}");
    }
    // The slowdown takes factors within 1..=10 only, and a token.
    let slowdown = |factor: f64, token: Option<&str>| {
        let mut post = http
            .post(format!("{dev}/v1/dev/slowdown"))
            .json(&serde_json::json!({ "factor": factor }));
        if let Some(token) = token {
            post = post.bearer_auth(token);
        }
        async move { post.send().await.expect("send").status() }
    };
    for factor in [0.5, 10.5, f64::from(u32::MAX)] {
        assert_eq!(slowdown(factor, Some(&token)).await, 400, "factor {factor}");
    }
    assert_eq!(slowdown(2.0, None).await, 401);
    for factor in [2.0, 1.0] {
        assert_eq!(slowdown(factor, Some(&token)).await, 200, "factor {factor}");
    }
    let cut = http
        .post(format!("{dev}/v1/dev/partition"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "secs": 3 }))
        .send()
        .await
        .expect("send");
    assert_eq!(cut.status(), 200);
    let during = info().await;
    assert_eq!(during["partitioned"], true, "{during}");
    eventually(5, "no peers while partitioned", || async {
        (info().await["peers"] == 0).then_some(())
    })
    .await;
    // The prover dials it from the DHT meanwhile; it must stay cut off.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(info().await["peers"], 0);
    eventually(15, "peers back after the partition", || async {
        let now = info().await;
        (now["partitioned"] == false && now["peers"].as_u64() >= Some(1)).then_some(())
    })
    .await;
    // Killing one of its tasks stops the node, naming the task: it never runs half alive.
    // The API server is one of them.
    assert!(
        client.tasks.names().contains(&"API server"),
        "{:?}",
        client.tasks.names()
    );
    let unknown = http
        .post(format!("{dev}/v1/dev/kill"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "task": "nothing" }))
        .send()
        .await
        .expect("send");
    assert_eq!(unknown.status(), 400);
    assert!(!client.shutdown.is_cancelled());
    let killed = http
        .post(format!("{dev}/v1/dev/kill"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "task": "chain follower" }))
        .send()
        .await
        .expect("send");
    assert_eq!(killed.status(), 200);
    eventually(5, "the node stops", || async {
        client.shutdown.is_cancelled().then_some(())
    })
    .await;
    assert_eq!(
        client.failure.get().as_deref(),
        Some("the chain follower task was killed")
    );
}

/// A client node with a 1 ETH deposit and no prover, its API served on loopback behind
/// its token: the testnet, the node, the token and the API's address.
async fn guarded_api() -> (
    Testnet,
    provernet_node::service::NodeHandle,
    String,
    SocketAddr,
) {
    let (net, client) = Testnet::with_client(&[]).await;
    let (token, api) = serve_api(&net, &client).await;
    (net, client, token, api)
}

/// `client`'s API served on loopback behind its token: the token and the API's address.
async fn serve_api(
    net: &Testnet,
    client: &provernet_node::service::NodeHandle,
) -> (String, SocketAddr) {
    let token = provernet_node::identity::load_or_create_api_token(&net.dir.path().join("api"))
        .expect("api token");
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let api = provernet_node::api::serve(client.clone(), loopback, false, &token)
        .await
        .expect("api");
    (token, api)
}

/// A web page the operator opens attacks the node's API: a cross-site POST of a job (no
/// token: a page cannot read the node's data dir), and DNS rebinding (the page's own name
/// resolved to 127.0.0.1, so the browser sends that name as `Host`). Both are refused
/// before any handler runs, and no job is created, so the deposit spends nothing. Reads
/// stay open on loopback to requests that name the machine by address; an API listening
/// elsewhere asks the token of reads too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_submit_jobs_through_the_api() {
    let (_net, client, token, api) = guarded_api().await;
    let http = reqwest::Client::new();
    let job = serde_json::json!({
        "circuit": "poseidon-chain-12",
        "input": witness(Circuit::PoseidonChain12, 1),
        "max_price": "1000",
        "deadline_secs": 60,
    });
    let url = format!("http://{api}/v1/jobs");
    let status = |request: reqwest::RequestBuilder| async move {
        request.send().await.expect("send").status().as_u16()
    };
    // Cross-site: no token, or a wrong one.
    assert_eq!(status(http.post(&url).json(&job)).await, 401);
    assert_eq!(
        status(http.post(&url).bearer_auth("00".repeat(32)).json(&job)).await,
        401
    );
    // DNS rebinding: the page's own name as Host. No change passes under it, even with
    // the token, nor a read without it; a read with the token (a scraper naming the node)
    // does.
    let rebound = |request: reqwest::RequestBuilder| request.header("host", "evil.example:8645");
    assert_eq!(status(rebound(http.post(&url).json(&job))).await, 403);
    assert_eq!(
        status(rebound(http.post(&url).bearer_auth(&token).json(&job))).await,
        403
    );
    assert_eq!(status(rebound(http.get(&url))).await, 403, "reads too");
    assert_eq!(
        status(rebound(http.get(&url).bearer_auth(&token))).await,
        200
    );
    assert!(
        client.jobs().expect("store").is_empty(),
        "no job was created"
    );
    // Reads are open on loopback; with the token, the job goes in.
    assert_eq!(status(http.get(&url)).await, 200);
    assert_eq!(
        status(http.post(&url).bearer_auth(&token).json(&job)).await,
        201
    );
    assert_eq!(client.jobs().expect("store").len(), 1);

    // Listening beyond loopback, reads need the token too.
    let open = provernet_node::api::serve(
        client.clone(),
        SocketAddr::from(([0, 0, 0, 0], 0)),
        false,
        &token,
    )
    .await
    .expect("api");
    let url = format!("http://127.0.0.1:{}/v1/jobs", open.port());
    assert_eq!(status(http.get(&url)).await, 401);
    assert_eq!(status(http.get(&url).bearer_auth(&token)).await, 200);

    // The API server is one of the node's supervised tasks: if it ends, the node stops
    // and says why, rather than running on with nobody able to reach it.
    assert!(client.tasks.kill("API server"));
    eventually(5, "the node stops", || async {
        client.shutdown.is_cancelled().then_some(())
    })
    .await;
    assert_eq!(
        client.failure.get().as_deref(),
        Some("the API server task was killed")
    );
}

/// `GET /v1/jobs` answers a page at a time, in id order, each from the id after the last
/// one read: a node with many jobs never reads them all for one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_listed_a_page_at_a_time() {
    let (_net, _client, token, api) = guarded_api().await;
    let http = reqwest::Client::new();
    let url = format!("http://{api}/v1/jobs");
    for n in 0..5 {
        let job = serde_json::json!({
            "circuit": "poseidon-chain-12",
            "input": witness(Circuit::PoseidonChain12, n),
            "max_price": "1000",
            "deadline_secs": 60,
        });
        let answer = http.post(&url).bearer_auth(&token).json(&job).send();
        assert_eq!(answer.await.expect("send").status(), 201);
    }
    let page = |query: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let answer = http
                .get(format!("{url}{query}"))
                .send()
                .await
                .expect("send");
            let status = answer.status().as_u16();
            let ids: Vec<String> = if status == 200 {
                answer
                    .json::<Vec<serde_json::Value>>()
                    .await
                    .expect("json")
                    .iter()
                    .map(|j| j["id"].as_str().expect("id").to_owned())
                    .collect()
            } else {
                Vec::new()
            };
            (status, ids)
        }
    };
    let (_, all) = page(String::new()).await;
    assert_eq!(all.len(), 5);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "in id order");
    let (_, first) = page("?limit=2".into()).await;
    assert_eq!(first, all[..2]);
    let (_, second) = page(format!("?limit=2&after={}", first[1])).await;
    assert_eq!(second, all[2..4]);
    let (_, last) = page(format!("?limit=2&after={}", second[1])).await;
    assert_eq!(last, all[4..]);
    for bad in ["?limit=0", "?limit=1001", "?after=0x12", "?page=2"] {
        assert_eq!(page(bad.into()).await.0, 400, "{bad}");
    }
}

/// A client node that holds a model package (`client.models`) takes inferences of it as
/// numbers: the node makes the witness and the job is the model's. An unknown model, the
/// wrong count of values, values out of the model's range and a body with both forms are
/// 400s that name the fault, and make no job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_node_submits_inferences_of_its_own_models_from_numbers() {
    let mut net = Testnet::new().await;
    let package = net.dir.path().join("model");
    let circuit = small_package(&package);
    let client = net
        .start_client(&[], |c| c.client.models = vec![package.clone()])
        .await;
    let (token, api) = serve_api(&net, &client).await;
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        http.post(format!("http://{api}/v1/jobs"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let answer = post(serde_json::json!({
        "model": circuit.name(), "values": [0.5, -1.0, 2.0, 0.25],
        "max_price": "1000", "deadline_secs": 60
    }))
    .await
    .expect("send");
    assert_eq!(answer.status(), 201);
    let body: serde_json::Value = answer.json().await.expect("json");
    let id = provernet_node::api::parse_job_id(body["id"].as_str().expect("an id")).expect("id");
    let job = client.job(&id).expect("store").expect("the job");
    assert_eq!(job.circuit, circuit.name());
    let refused = [
        (
            serde_json::json!({"model": "0x1234", "values": vec![1.0; 4], "max_price": "1000", "deadline_secs": 60}),
            "none of this node's models",
        ),
        (
            serde_json::json!({"model": circuit.name(), "values": vec![1.0; 5], "max_price": "1000", "deadline_secs": 60}),
            "5 values",
        ),
        (
            serde_json::json!({"model": circuit.name(), "values": [1e9, 0.0, 0.0, 0.0], "max_price": "1000", "deadline_secs": 60}),
            "does not fit",
        ),
        (
            serde_json::json!({"model": circuit.name(), "values": vec![1.0; 4], "circuit": circuit.name(), "input": "{}", "max_price": "1000", "deadline_secs": 60}),
            "either",
        ),
    ];
    for (request, want) in refused {
        let answer = post(request.clone()).await.expect("send");
        assert_eq!(answer.status(), 400, "{request}");
        let body: serde_json::Value = answer.json().await.expect("json");
        let error = body["error"].as_str().expect("an error");
        assert!(error.contains(want), "{request}: {error}");
    }
    assert_eq!(
        client.jobs().expect("store").len(),
        1,
        "no job but the first"
    );
    client.shutdown.cancel();
}
