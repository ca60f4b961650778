//! [`NodeHandle`]: a running node as the binary, the API and the tests see it.

use super::*;

/// A running node, as tests and the binary see it.
#[derive(Clone)]
pub struct NodeHandle {
    pub(super) internal: mpsc::Sender<Internal>,
    /// The node's store (read-only use: the API reads jobs from it).
    pub store: Store,
    /// The network.
    pub net: NetworkHandle,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    /// Its Ethereum address.
    pub address: EthAddress,
    /// Its ed25519 key.
    pub peer_key: PeerKey,
    /// Where it listens.
    pub listen_addrs: Vec<Multiaddr>,
    /// Stops it.
    pub shutdown: CancellationToken,
    /// Why it stopped on its own, if it did (`supervise.rs`).
    pub failure: Failure,
    /// Its long-lived tasks, by name.
    pub tasks: Tasks,
    /// The roles it runs.
    pub roles: crate::config::Roles,
    /// The market contract, read-only use (the client's deposit before a submission).
    pub(super) market: Market<ChainClient>,
    /// The client's own models (`client.models`).
    pub(super) models: Arc<ClientModels>,
    /// Test only: how much slower proving is made, thousandths (`POST /v1/dev/slowdown`).
    pub(crate) slowdown: Arc<std::sync::atomic::AtomicU32>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("peer", &self.net.peer_id())
            .field("address", &self.address)
            .finish()
    }
}

impl NodeHandle {
    /// Runs `task` (named `name`) under the node's supervisor, as its own tasks run: if it
    /// ends before the node is asked to stop, the node stops and names it.
    pub fn supervise<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        supervise::Supervisor::joining(
            self.shutdown.clone(),
            self.failure.clone(),
            self.tasks.clone(),
        )
        .spawn(name, tracing::Span::current(), task);
    }

    /// Submits a job as a client; returns its id.
    ///
    /// # Errors
    /// [`SubmitError`].
    pub async fn submit(&self, request: SubmitRequest) -> Result<JobId, SubmitError> {
        // Nodes hear a request only while the client's free deposit pays its maximum
        // price (`admission`): say so now rather than auction in vain. A price that does
        // not parse is refused by the core with the other checks.
        if let (Ok(max_price), true) = (request.max_price.parse::<u128>(), self.roles.client) {
            let free = self
                .market
                .free_deposit(self.address)
                .await
                .map_err(|e| SubmitError::Chain(e.to_string()))?;
            if free < U256::from(max_price) {
                return Err(SubmitError::Unfunded { free, max_price });
            }
        }
        let (reply, answer) = oneshot::channel();
        self.internal
            .send(Internal::Submit(request, reply))
            .await
            .map_err(|_| SubmitError::Stopped)?;
        answer.await.map_err(|_| SubmitError::Stopped)?
    }

    /// Submits the job `body` asks for: a witness, or an inference of one of this node's
    /// models (`client.models`) on numbers, made into its witness here.
    ///
    /// # Errors
    /// [`SubmitError::Model`] for a model submission this node cannot make, else as
    /// [`NodeHandle::submit`].
    pub async fn submit_job(&self, body: JobBody) -> Result<JobId, SubmitError> {
        if !self.roles.client {
            return Err(SubmitError::NotClient);
        }
        self.submit(body.into_request(&self.models)?).await
    }

    /// A client job's status.
    ///
    /// # Errors
    /// The store's.
    pub fn job(&self, id: &JobId) -> Result<Option<JobStatus>, crate::store::StoreError> {
        Ok(self.store.client_job(id)?.map(|job| JobStatus::of(&job)))
    }

    /// Every client job's status.
    ///
    /// # Errors
    /// The store's.
    pub fn jobs(&self) -> Result<Vec<JobStatus>, crate::store::StoreError> {
        self.jobs_page(None, usize::MAX)
    }

    /// At most `limit` client jobs' statuses, in id order from the first id after `after`.
    ///
    /// # Errors
    /// The store's.
    pub fn jobs_page(
        &self,
        after: Option<&JobId>,
        limit: usize,
    ) -> Result<Vec<JobStatus>, crate::store::StoreError> {
        Ok(self
            .store
            .client_jobs_page(after, limit)?
            .iter()
            .map(JobStatus::of)
            .collect())
    }

    /// A `/p2p/`-terminated address to dial this node at.
    pub fn dial_addr(&self) -> Option<Multiaddr> {
        self.listen_addrs.first().map(|a| {
            a.clone()
                .with(libp2p::multiaddr::Protocol::P2p(self.net.peer_id()))
        })
    }
}
