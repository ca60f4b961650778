//! The records a node stores.

use provernet_protocol::primitives::{from_hex, to_hex};
use provernet_protocol::{Acceptance, Award, FieldBytes, JobId, JobLeaf, JobRequest, Payload};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A protocol message stored as its protobuf bytes in hex; loading runs the message's
/// own checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored<P>(pub P);

impl<P: Payload> Serialize for Stored<P> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(&self.0.encode_to_vec()))
    }
}

impl<'de, P: Payload> Deserialize<'de> for Stored<P> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = from_hex(&text).ok_or_else(|| serde::de::Error::custom("not hex"))?;
        P::decode(&bytes)
            .map(Stored)
            .map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

/// Fixed-size bytes as hex.
pub mod hex_array {
    use super::{Deserialize, Deserializer, Serializer, from_hex, to_hex};

    /// Serializes as hex.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(v))
    }

    /// Deserializes from hex.
    ///
    /// # Errors
    /// Not hex, or another length.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        from_hex(&text)
            .and_then(|b| <[u8; N]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| serde::de::Error::custom(format!("expected {N} bytes of hex")))
    }
}

/// Variable-length bytes as hex.
pub mod hex_bytes {
    use super::{Deserialize, Deserializer, Serializer, from_hex, to_hex};

    /// Serializes as hex.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(v))
    }

    /// Deserializes from hex.
    ///
    /// # Errors
    /// Not hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected hex"))
    }
}

/// A job id as hex.
mod job_id_hex {
    use super::{Deserializer, JobId, Serializer, hex_array};

    pub fn serialize<S: Serializer>(v: &JobId, s: S) -> Result<S::Ok, S::Error> {
        hex_array::serialize(&v.0, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<JobId, D::Error> {
        hex_array::deserialize(d).map(JobId)
    }
}

/// A proof with its public inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRecord {
    /// The circuit's name.
    pub circuit: String,
    /// Public inputs, 32 bytes each.
    pub public_inputs: Vec<Hex32>,
    /// The proof.
    #[serde(with = "hex_bytes")]
    pub proof: Vec<u8>,
}

/// 32 bytes as hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hex32(#[serde(with = "hex_array")] pub [u8; 32]);

impl ProofRecord {
    /// The public inputs as protocol values.
    pub fn inputs(&self) -> Vec<FieldBytes> {
        self.public_inputs.iter().map(|x| FieldBytes(x.0)).collect()
    }
}

/// Where a client's job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientState {
    /// Between rounds: no prover bid, and the next round waits for capacity to free up.
    Waiting,
    /// The request is out; bids are being collected.
    Bidding,
    /// A winner was awarded; waiting for its acceptance.
    Awarded,
    /// The winner accepted; waiting for the proof.
    Accepted,
    /// The proof arrived and verified.
    Verified,
    /// The prover was paid on chain for it.
    Paid,
    /// Given up: no round found a prover that delivered.
    Failed,
}

impl ClientState {
    /// Every state, for metrics.
    pub const ALL: [ClientState; 7] = [
        Self::Waiting,
        Self::Bidding,
        Self::Awarded,
        Self::Accepted,
        Self::Verified,
        Self::Paid,
        Self::Failed,
    ];

    /// The name used in the API and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Bidding => "bidding",
            Self::Awarded => "awarded",
            Self::Accepted => "accepted",
            Self::Verified => "verified",
            Self::Paid => "paid",
            Self::Failed => "failed",
        }
    }

    /// Whether nothing more will happen to the job in the market (payment may still
    /// follow a verified proof).
    pub const fn is_done(self) -> bool {
        matches!(self, Self::Verified | Self::Paid | Self::Failed)
    }
}

/// A job this node submitted as a client. Every round of its auction is a request with a
/// fresh nonce (so its own job id): an award of an earlier round can never be claimed for
/// a later round's work.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientJob {
    /// The id given to the user: the first round's job id.
    #[serde(with = "job_id_hex")]
    pub id: JobId,
    /// The circuit's name.
    pub circuit: String,
    /// The current round's request (its job id is the current one).
    pub request: Stored<JobRequest>,
    /// The maximum price of the first round; later rounds raise it up to a cap.
    pub first_max_price: u128,
    /// Seconds from a round's start to its proving deadline.
    pub deadline_secs: u64,
    /// Where it stands.
    pub state: ClientState,
    /// When it was submitted, unix ms.
    pub submitted_ms: u64,
    /// When the current round's request went out, unix ms.
    pub round_started_ms: u64,
    /// The current round's award.
    pub award: Option<Stored<Award>>,
    /// When the award went out.
    pub awarded_ms: Option<u64>,
    /// The winner's acceptance.
    pub acceptance: Option<Stored<Acceptance>>,
    /// When the acceptance arrived.
    pub accepted_ms: Option<u64>,
    /// The verified proof.
    pub proof: Option<ProofRecord>,
    /// When it verified.
    pub verified_ms: Option<u64>,
    /// What happened in earlier rounds, oldest first.
    pub history: Vec<String>,
    /// While waiting: the next round's maximum price; its request goes out at
    /// `round_started_ms`.
    #[serde(default)]
    pub next_max_price: Option<u128>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Provers (addresses) that won an earlier round of this job and did not deliver:
    /// later rounds award to them only when no prover that neither failed nor is at fault
    /// bids.
    #[serde(default)]
    pub failed_provers: Vec<[u8; 20]>,
    /// Provers proven at fault on this job: a round's winner that pushed a proof of it,
    /// under its own key, that does not verify, or was slashed for an invalid proof or an
    /// equivocation of it. Never awarded it again (`provernet_market::auction::eligible`).
    #[serde(default)]
    pub faulty_provers: Vec<[u8; 20]>,
    /// The chain showed the current round's winner committed a leaf of the awarded
    /// statement and price by the deadline: the round will be paid, so it is never
    /// re-auctioned (`service/overdue.rs`).
    #[serde(default)]
    pub committed_in_time: bool,
    /// The client's own withheld-proof challenge bought the current round's proof (its
    /// `ChallengeOpened` seen on chain): the award is paid at once, and the reveal that
    /// answers the challenge (the proof) or the slash that ends it unanswered (the price
    /// back, the round lost) is still to come, so the job stays open though paid.
    #[serde(default)]
    pub bought: bool,
}

impl ClientJob {
    /// A job just submitted with `request` (its first round, bidding), of `circuit`
    /// (its name), each round proven within `deadline_secs`, at `now_ms`.
    pub fn submitted(circuit: &str, request: JobRequest, deadline_secs: u64, now_ms: u64) -> Self {
        Self {
            id: request.job_id(),
            circuit: circuit.to_owned(),
            first_max_price: request.max_price,
            request: Stored(request),
            deadline_secs,
            state: ClientState::Bidding,
            submitted_ms: now_ms,
            round_started_ms: now_ms,
            award: None,
            awarded_ms: None,
            acceptance: None,
            accepted_ms: None,
            proof: None,
            verified_ms: None,
            history: Vec::new(),
            next_max_price: None,
            error: None,
            failed_provers: Vec::new(),
            faulty_provers: Vec::new(),
            committed_in_time: false,
            bought: false,
        }
    }

    /// The current round's job id.
    pub fn current_id(&self) -> JobId {
        self.request.0.job_id()
    }
}

/// Where a prover's job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkState {
    /// Awarded; the inputs are being fetched.
    Awarded,
    /// Inputs checked, acceptance signed and sent: the deadline binds.
    Accepted,
    /// Proven; waiting for its batch.
    Proven,
    /// In a sealed batch.
    Batched,
    /// Let go: the inputs never came or did not match, or the deadline can no longer be met.
    Released,
}

impl WorkState {
    /// Every state, for metrics.
    pub const ALL: [WorkState; 5] = [
        Self::Awarded,
        Self::Accepted,
        Self::Proven,
        Self::Batched,
        Self::Released,
    ];

    /// Whether a job in this state holds proving capacity: it is yet to be proven.
    pub const fn holds_capacity(self) -> bool {
        matches!(self, Self::Awarded | Self::Accepted)
    }

    /// The name used in metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Awarded => "awarded",
            Self::Accepted => "accepted",
            Self::Proven => "proven",
            Self::Batched => "batched",
            Self::Released => "released",
        }
    }
}

/// A job this node was awarded as a prover.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Work {
    /// The job.
    #[serde(with = "job_id_hex")]
    pub job_id: JobId,
    /// The request.
    pub request: Stored<JobRequest>,
    /// The client's award to this node.
    pub award: Stored<Award>,
    /// The client's ed25519 key: where to fetch inputs and deliver the proof.
    pub client_key: Hex32,
    /// Where it stands.
    pub state: WorkState,
    /// This node's acceptance.
    pub acceptance: Option<Stored<Acceptance>>,
    /// The proof.
    pub proof: Option<ProofRecord>,
    /// How long proving took, ms.
    pub prove_ms: Option<u64>,
    /// Whether the client acknowledged the proof.
    pub delivered: bool,
    /// The batch it is in.
    pub batch: Option<u64>,
    /// When the award arrived, unix ms.
    pub awarded_ms: u64,
    /// Why it was released.
    pub error: Option<String>,
}

/// One job of a batch, with what claiming it needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchLeaf {
    /// The leaf.
    #[serde(with = "leaf_serde")]
    pub leaf: JobLeaf,
    /// The client's nonce of the job.
    pub nonce: u64,
    /// The awarded deadline, unix seconds.
    pub deadline: u64,
    /// The client's EIP-712 award signature.
    #[serde(with = "hex_bytes")]
    pub award_signature: Vec<u8>,
}

/// Where a batch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Sealed; its `commitBatch` may or may not have been sent.
    Sealed,
    /// On chain as batch `id` in block `block`.
    Committed {
        /// The contract's batch id.
        id: u64,
        /// The block.
        block: u64,
    },
    /// Fees claimed (or found already paid).
    Claimed {
        /// The contract's batch id.
        id: u64,
    },
}

/// A batch of the prover's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The node's own sequence number.
    pub seq: u64,
    /// The leaves, in tree order.
    pub leaves: Vec<BatchLeaf>,
    /// Where it stands.
    pub state: BatchState,
    /// The chain head when it was sealed: a commitment of it can only be in a later block.
    pub sealed_at_block: u64,
}

impl BatchRecord {
    /// The leaves' contents.
    pub fn job_leaves(&self) -> Vec<JobLeaf> {
        self.leaves.iter().map(|l| l.leaf.clone()).collect()
    }
}

/// What a watchtower holds of one committed leaf: where it is, whether it was sampled,
/// and how far its audit went.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WatchedLeaf {
    /// The batch on chain.
    pub batch_id: u64,
    /// The leaf's position in the batch.
    pub index: u32,
    /// The batch's prover.
    #[serde(with = "hex_array")]
    pub prover: [u8; 20],
    /// The leaf.
    #[serde(with = "leaf_serde")]
    pub leaf: JobLeaf,
    /// Its Merkle path to the batch root.
    pub path: Vec<Hex32>,
    /// How far the audit went.
    pub state: LeafState,
}

impl WatchedLeaf {
    /// Its key: batch id and index, big-endian.
    pub fn key(&self) -> Vec<u8> {
        let mut key = self.batch_id.to_be_bytes().to_vec();
        key.extend_from_slice(&self.index.to_be_bytes());
        key
    }
}

/// The audit of a leaf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeafState {
    /// Not sampled: kept to spot equivocation and to know what was committed.
    Unsampled,
    /// Sampled; its proof is to be fetched and verified.
    Pending,
    /// Its proof was fetched, matches the leaf and verifies.
    Valid,
    /// A challenge of this kind is being sent.
    Challenging {
        /// `invalid_proof`, `withheld_proof` or `equivocation`.
        kind: String,
    },
    /// A withheld-proof challenge is open, answerable until block `respond_by`.
    Challenged {
        /// The challenge id.
        id: u64,
        /// The last block the prover may answer in.
        respond_by: u64,
    },
    /// Settled: `slashed` (by this watchtower), `answered` (the prover showed the proof;
    /// the bond went to it), `taken` (another challenger came first), `window_closed`,
    /// `failed` (the chain refused the challenge).
    Done {
        /// How.
        outcome: String,
    },
}

/// A job whose acceptance and award a watchtower (or the job's client) holds: if the
/// prover does not commit it by the deadline, the two are the evidence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WatchedDeadline {
    /// The client that awarded the job.
    #[serde(with = "hex_array")]
    pub client: [u8; 20],
    /// The client's nonce of the job: the client's node names it to buy the proof with a
    /// withheld-proof challenge. Absent (0) in records written before it existed.
    #[serde(default)]
    pub nonce: u64,
    /// The client's signed award.
    pub award: Stored<Award>,
    /// The prover's signed acceptance.
    pub acceptance: Stored<Acceptance>,
    /// The awarded statement's circuit (from the request).
    #[serde(with = "hex_array")]
    pub circuit_id: [u8; 32],
    /// The awarded statement's public-inputs hash (from the request).
    #[serde(with = "hex_array")]
    pub public_inputs_hash: [u8; 32],
    /// What became of it.
    pub state: DeadlineState,
    /// A client's own round needs nothing more from its leaves: the client holds its
    /// verified proof, or the round was lost or its proof is out of reach. Absent in
    /// records written before it existed.
    #[serde(default)]
    pub owner_done: bool,
    /// A client's own round whose proof this node is buying, or bought, with a
    /// withheld-proof challenge showing its award (set before the challenge is sent,
    /// cleared if it is not): the challenge's end, not another's slash, settles the round.
    #[serde(default)]
    pub purchase: bool,
}

impl WatchedDeadline {
    /// Its key: prover, client, job id.
    pub fn key(&self) -> Vec<u8> {
        let mut key = self.award.0.prover.0.to_vec();
        key.extend_from_slice(&self.client);
        key.extend_from_slice(&self.award.0.job_id.0);
        key
    }
}

/// A watched deadline's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    /// The deadline has not passed, or the commitment is still being looked for.
    Waiting,
    /// A missed-deadline challenge is open until block `respond_by`.
    Challenged {
        /// The challenge id.
        id: u64,
        /// The last block the prover may answer in.
        respond_by: u64,
    },
    /// Settled (as [`LeafState::Done`], plus `met`: committed in time).
    Done {
        /// How.
        outcome: String,
    },
}

/// Where the chain follower stands, stored after each poll whose events were handed
/// on: a restart resumes from here (`service::follow`), on the same market only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerRecord {
    /// The chain this was read from.
    pub chain_id: u64,
    /// The market whose events these are.
    pub market: Hex20,
    /// The first block not read yet.
    pub next_block: u64,
    /// Blocks read and their hashes, oldest first (one per range read).
    pub recent: Vec<(u64, Hex32)>,
    /// The provers seen, as records stored before the accounts had their own column
    /// ([`super::Column::ChainAccounts`]) held them: read at start, never written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provers: Vec<Hex20>,
    /// The depositors seen, likewise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depositors: Vec<Hex20>,
}

/// 20 bytes (an address) as hex.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hex20(#[serde(with = "hex_array")] pub [u8; 20]);

/// A job leaf as its six fields in hex.
mod leaf_serde {
    use provernet_protocol::{Address, CircuitId, Hash32, JobId, JobLeaf};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Hex32, hex_array};

    #[derive(Serialize, Deserialize)]
    struct Fields {
        job_id: Hex32,
        circuit_id: Hex32,
        public_inputs_hash: Hex32,
        proof_hash: Hex32,
        #[serde(with = "hex_array")]
        client: [u8; 20],
        price: String,
    }

    pub fn serialize<S: Serializer>(leaf: &JobLeaf, s: S) -> Result<S::Ok, S::Error> {
        Fields {
            job_id: Hex32(leaf.job_id.0),
            circuit_id: Hex32(leaf.circuit_id.0),
            public_inputs_hash: Hex32(leaf.public_inputs_hash.0),
            proof_hash: Hex32(leaf.proof_hash.0),
            client: leaf.client.0,
            price: leaf.price.to_string(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<JobLeaf, D::Error> {
        let f = Fields::deserialize(d)?;
        Ok(JobLeaf {
            job_id: JobId(f.job_id.0),
            circuit_id: CircuitId(f.circuit_id.0),
            public_inputs_hash: Hash32(f.public_inputs_hash.0),
            proof_hash: Hash32(f.proof_hash.0),
            client: Address(f.client),
            price: f.price.parse().map_err(serde::de::Error::custom)?,
        })
    }
}
