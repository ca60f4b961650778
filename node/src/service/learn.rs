//! A prover or watchtower learns an imported model's circuit from a request that names
//! it, so a client with a model nobody configured still finds provers and auditors.
//!
//! A model's circuit is named by its architecture (`model-64-32r-10-s15`), and the name
//! is all it takes to build the circuit: the weights are the client's witness. A request
//! carries the name beside the circuit id, unsigned and untrusted. A node that does not
//! know the id builds the circuit from the name (keys, EVM verifier, a sample proof) and
//! uses it only if the id it derives, as the market derives ids, is the request's: a
//! wrong name derives another id and teaches nothing.
//!
//! Building keys takes tens of seconds of every core and memory in proportion to the
//! model, so the rule ([`learnable`]) asks for evidence before any of it and bounds what a
//! liar can cost:
//! - the id must be registered on chain (a registration costs its deployer a verifier's
//!   deployment) with as many public inputs as the architecture has (one call), and the
//!   registered verifier's code must be the one this node compiles from the name's
//!   verifying keys (one more call, a verifying key and a compilation: no proving key is
//!   built for a lie);
//! - a prover learns only from a request whose maximum covers what its price policy asks
//!   for the shortest proof (1 ms), from a funded client (the gossip rules forward no
//!   other), and only while it holds
//!   nothing, as a calibration (`calibrate`); it bids on nothing, calibrates nothing and
//!   takes no award until the learning ends, so a build never slows a promised proof;
//! - one circuit at a time; each (id, name) is built at most once per run; a client whose
//!   name does not derive its id, or whose circuit does not build, teaches this node
//!   nothing more, nor does one that named two unregistered ids; an id is never
//!   blacklisted, so no liar can stop the model registered under it from being learned;
//! - at most `proving.learn_models` circuits per run, of at most
//!   `proving.learn_max_parameters` weights.
//!
//! A restarted prover learns again, at start, the circuits of the jobs it holds (their
//! stored requests name them: [`held_models`]); what it learned without holding a job of
//! it is learned again from the next request that names it.

use std::collections::{HashMap, HashSet};

use provernet_circuits::model::Architecture;
use provernet_protocol::{Address, CircuitId, JobRequest};

use super::*;
use crate::metrics::kind;

/// How long after reading an id unregistered (or failing to read it) a request can make
/// the node read it again, ms.
const REREAD_MS: u64 = 60_000;

/// Names tried, clients with strikes and ids read unregistered (for the next minute),
/// kept at most each: while one is full, the node learns nothing.
const MAX_REMEMBERED: usize = 256;

/// Strikes after which a client teaches this node nothing: a lie, or a circuit that does
/// not build, is all of them; an unregistered id is one.
const MAX_STRIKES: u8 = 2;

/// How long a chain read of a learning may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What the node remembers of its learning.
#[derive(Debug, Default)]
pub(super) struct Learning {
    /// The circuit being learned, and who named it.
    pub busy: Option<(CircuitId, String, Address)>,
    /// Ids and the names built for them (learned or not): each pair at most once per
    /// run. By pair, not by name: a liar naming a popular model for its own id does not
    /// stop this node from learning the model under the model's id.
    tried: HashSet<(CircuitId, String)>,
    /// Clients' strikes: at [`MAX_STRIKES`] a client teaches nothing more.
    strikes: HashMap<Address, u8>,
    /// Ids read unregistered, or not read, until when (ms).
    unread: HashMap<CircuitId, u64>,
    /// How many circuits were learned this run (held jobs' models at start included).
    pub learned: usize,
}

/// Why a request teaches this node nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Skip {
    /// The node learns nothing (`proving.learn_models` is 0, or it neither proves nor
    /// audits), or has learned as many circuits as it may.
    Off,
    /// The node knows the id.
    Known,
    /// The request names no circuit, or no model's.
    NotAModel,
    /// The model has more weights than `proving.learn_max_parameters`.
    TooLarge,
    /// A learning is running, or the prover holds work.
    Busy,
    /// This (id, name) was built already, or the client has its strikes.
    Tried,
    /// The id was read unregistered a moment ago.
    Unregistered,
    /// The node remembers as many names, clients or ids as it may.
    Full,
}

impl Skip {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Known => "known",
            Self::NotAModel => "not_a_model",
            Self::TooLarge => "too_large",
            Self::Busy => "busy",
            Self::Tried => "tried",
            Self::Unregistered => "unregistered",
            Self::Full => "full",
        }
    }
}

/// What the rule reads.
pub(super) struct View<'a> {
    pub learning: &'a Learning,
    /// `proving.learn_models`, 0 when the node neither proves nor audits.
    pub limit: usize,
    /// `proving.learn_max_parameters`.
    pub max_parameters: usize,
    /// Whether the node knows the request's circuit id.
    pub knows: bool,
    /// Whether a learning may start now (a prover: it holds nothing).
    pub idle: bool,
    pub now_ms: u64,
}

/// The architecture the request's circuit name spells, if this node should build it
/// now (the rules in the module's doc), checked in order of cost.
pub(super) fn learnable(view: &View<'_>, request: &JobRequest) -> Result<Architecture, Skip> {
    let learning = view.learning;
    if view.limit == 0 || learning.learned >= view.limit {
        return Err(Skip::Off);
    }
    if view.knows {
        return Err(Skip::Known);
    }
    // Parsed, not interned: a name costs nothing to keep until the node builds it.
    let arch: Architecture = request.circuit_name.parse().map_err(|_| Skip::NotAModel)?;
    if arch.parameters() > view.max_parameters {
        return Err(Skip::TooLarge);
    }
    let id = request.circuit_id;
    if learning.tried.contains(&(id, request.circuit_name.clone()))
        || learning
            .strikes
            .get(&request.client)
            .is_some_and(|n| *n >= MAX_STRIKES)
    {
        return Err(Skip::Tried);
    }
    if learning.unread.get(&id).is_some_and(|at| *at > view.now_ms) {
        return Err(Skip::Unregistered);
    }
    if learning.busy.is_some() || !view.idle {
        return Err(Skip::Busy);
    }
    let unread = learning
        .unread
        .values()
        .filter(|at| **at > view.now_ms)
        .count();
    if learning.tried.len() >= MAX_REMEMBERED
        || learning.strikes.len() >= MAX_REMEMBERED
        || unread >= MAX_REMEMBERED
    {
        return Err(Skip::Full);
    }
    Ok(arch)
}

/// How a learning ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The name derives the id: the node knows the circuit.
    Learned(Circuit),
    /// The id is not registered on chain.
    Unregistered,
    /// The chain could not be read.
    Unread(String),
    /// The name does not derive the id (why).
    Mismatch(&'static str),
    /// The circuit could not be built (keys, verifier).
    Failed(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Learned(_) => "learned",
            Self::Unregistered => "unregistered",
            Self::Unread(_) => "unread",
            Self::Mismatch(_) => "mismatch",
            Self::Failed(_) => "failed",
        }
    }
}

impl Core {
    /// Learns the circuit `request` names, if the rule allows (off the core).
    pub(super) fn learn_from(&mut self, request: &JobRequest) {
        let roles = &self.s.config.roles;
        let prover = roles.prover;
        let limit = if prover || roles.watchtower {
            self.s.config.proving.learn_models
        } else {
            0
        };
        if request.circuit_name.is_empty() || limit == 0 {
            return;
        }
        // A prover learns only what it would bid on.
        // (Its price for the shortest proof: any price the policy could ask fits the
        // maximum.)
        if prover
            && self
                .s
                .config
                .prover
                .price
                .quote(request.max_price, 1)
                .is_none()
        {
            return;
        }
        let view = View {
            learning: &self.learning,
            limit,
            max_parameters: self.s.config.proving.learn_max_parameters,
            knows: self.s.circuits.contains(&request.circuit_id),
            idle: !prover || self.holds_nothing(),
            now_ms: now_ms(),
        };
        let arch = match learnable(&view, request) {
            Ok(arch) => arch,
            Err(Skip::Known | Skip::NotAModel) => return,
            Err(skip) => {
                self.count_learning(skip.label());
                return;
            }
        };
        let (id, name, client) = (
            request.circuit_id,
            request.circuit_name.clone(),
            request.client,
        );
        tracing::info!(target: "market", circuit = %name, %id, "learning a model's circuit from a request");
        self.learning.busy = Some((id, name.clone(), client));
        let shared = Arc::clone(&self.s);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let outcome = derive(&shared, id, arch, prover).await;
            let _ = internal.send(Internal::Learned { id, outcome }).await;
        });
    }

    /// A learning's end: a learned circuit is known (and proved, by a prover) from now
    /// on; a lie is remembered against its (id, name) and its client, never its id.
    pub(super) async fn on_learned(&mut self, id: CircuitId, outcome: Outcome) {
        let Some((_, name, client)) = self.learning.busy.take() else {
            return;
        };
        self.count_learning(outcome.label());
        let now = now_ms();
        let learning = &mut self.learning;
        learning.unread.retain(|_, at| *at > now);
        match outcome {
            Outcome::Learned(circuit) => {
                tracing::info!(target: "market", circuit = %name, %id, "model circuit learned");
                learning.tried.insert((id, name.clone()));
                learning.learned += 1;
                self.s
                    .circuits
                    .learn(id, circuit, self.s.config.roles.prover);
                // A prover measures it next (`calibrate`), then bids on the requests
                // whose windows are still open (`on_calibrated`).
                self.calibrate(now);
                if self.prover.calibrating.is_some() {
                    return;
                }
            }
            Outcome::Unregistered => {
                tracing::debug!(target: "market", circuit = %name, %id, "a request's circuit is not registered: not learning it");
                learning.unread.insert(id, now + REREAD_MS);
                *learning.strikes.entry(client).or_default() += 1;
            }
            Outcome::Unread(error) => {
                tracing::warn!(target: "chain", circuit = %name, %id, %error, "cannot read a request's circuit registration");
                learning.unread.insert(id, now + REREAD_MS);
            }
            Outcome::Mismatch(why) => {
                tracing::warn!(target: "market", circuit = %name, %id, client = %client, why, "a request's circuit name does not derive its id: learning nothing more from its client");
                learning.tried.insert((id, name));
                learning.strikes.insert(client, MAX_STRIKES);
            }
            Outcome::Failed(error) => {
                tracing::error!(target: "market", circuit = %name, %error, "cannot build a model's circuit: learning nothing more from its client");
                learning.tried.insert((id, name));
                learning.strikes.insert(client, MAX_STRIKES);
            }
        }
        self.pump();
        // No bid was made while the build ran: the requests whose windows are open.
        self.reconsider_open_requests().await;
    }

    /// Whether the prover holds nothing: no standing bid, no job awarded, queued or
    /// being proven, no calibration.
    pub(super) fn holds_nothing(&self) -> bool {
        self.prover.running == 0
            && self.prover.calibrating.is_none()
            && self.prover.schedule.is_empty()
            && self.prover.ready.is_empty()
            && self.prover.bid_holds.is_empty()
    }

    fn count_learning(&self, label: &str) {
        self.s
            .metrics
            .market
            .learned
            .get_or_create(&kind(label))
            .inc();
    }
}

/// Reads `id`'s registration and its verifier's code, compares them with what `arch`'s
/// verifying keys compile to, and only then builds the rest (the sample proof, so the
/// proving keys) and derives the id; a prover's proving keys stay loaded.
async fn derive(shared: &Shared, id: CircuitId, arch: Architecture, prover: bool) -> Outcome {
    use ethers::providers::Middleware as _;
    let read = tokio::time::timeout(READ_TIMEOUT, shared.market.registration(id.0)).await;
    let (verifier, inputs) = match read {
        Ok(Ok(registration)) => registration,
        Ok(Err(error)) => return Outcome::Unread(error.to_string()),
        Err(_) => return Outcome::Unread(format!("no answer within {READ_TIMEOUT:?}")),
    };
    if verifier.is_zero() {
        return Outcome::Unregistered;
    }
    if inputs != U256::from(arch.num_public_inputs()) {
        return Outcome::Mismatch("the registration has another number of public inputs");
    }
    let code = tokio::time::timeout(
        READ_TIMEOUT,
        shared.market.client().get_code(verifier, None),
    )
    .await;
    let registered_code = match code {
        Ok(Ok(code)) => Hash32(provernet_protocol::keccak256(&code)),
        Ok(Err(error)) => return Outcome::Unread(error.to_string()),
        Err(_) => return Outcome::Unread(format!("no answer within {READ_TIMEOUT:?}")),
    };
    let circuit = Circuit::Model(arch);
    let engine = Arc::clone(&shared.engine);
    let built = tokio::task::spawn_blocking(move || {
        // The verifier from the verifying keys alone: a lie costs no proving key.
        if engine.verifier_code_hash(circuit)? != registered_code {
            return Ok(None);
        }
        let derived = engine.circuit_id(circuit)?;
        if prover && derived == id {
            engine.keys(circuit)?;
        }
        Ok::<_, provernet_circuits::CircuitError>(Some(derived))
    })
    .await;
    match built {
        Ok(Ok(Some(derived))) if derived == id => Outcome::Learned(circuit),
        Ok(Ok(None)) => Outcome::Mismatch("the registered verifier is another circuit's"),
        Ok(Ok(Some(_))) => Outcome::Mismatch("the circuit's verifier derives another id"),
        Ok(Err(error)) => Outcome::Failed(error.to_string()),
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

/// The model circuits of the held jobs in `works` (awarded or accepted), as their stored
/// requests name them, with their ids: a restarted prover learns again at start those it
/// was not configured with, whatever `proving.learn_models` (its jobs come first).
pub(super) fn held_models(works: &[Work]) -> Vec<(CircuitId, Circuit)> {
    let mut held: Vec<(CircuitId, Circuit)> = works
        .iter()
        .filter(|w| {
            matches!(
                w.state,
                crate::store::WorkState::Awarded | crate::store::WorkState::Accepted
            )
        })
        .filter_map(|w| match w.request.0.circuit_name.parse::<Circuit>() {
            Ok(circuit @ Circuit::Model(_)) => Some((w.request.0.circuit_id, circuit)),
            _ => None,
        })
        .collect();
    held.sort_by_key(|(id, _)| id.0);
    held.dedup();
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use provernet_protocol::{EthSignature, Hash32};

    fn request(name: &str, client: u8) -> JobRequest {
        JobRequest {
            circuit_id: CircuitId([7; 32]),
            input_hash: Hash32([1; 32]),
            public_inputs_hash: Hash32([2; 32]),
            input_size: 10,
            max_price: 1_000,
            bid_window_ends: 10,
            proving_deadline: 100,
            client: Address([client; 20]),
            nonce: 1,
            round: 0,
            client_signature: EthSignature([0; 65]),
            circuit_name: name.into(),
        }
    }

    fn view(learning: &Learning) -> View<'_> {
        View {
            learning,
            limit: 4,
            max_parameters: 4_096,
            knows: false,
            idle: true,
            now_ms: 1_000,
        }
    }

    const NAME: &str = "model-64-32r-10-s15";

    #[test]
    fn a_model_name_for_an_unknown_id_is_learned_when_idle() {
        let learning = Learning::default();
        let arch = learnable(&view(&learning), &request(NAME, 1)).expect("learnable");
        assert_eq!(arch.to_string(), NAME);
        let v = View {
            knows: true,
            ..view(&learning)
        };
        assert_eq!(learnable(&v, &request(NAME, 1)), Err(Skip::Known));
        let v = View {
            idle: false,
            ..view(&learning)
        };
        assert_eq!(learnable(&v, &request(NAME, 1)), Err(Skip::Busy));
        let v = View {
            limit: 0,
            ..view(&learning)
        };
        assert_eq!(learnable(&v, &request(NAME, 1)), Err(Skip::Off));
    }

    #[test]
    fn names_that_are_no_model_or_too_large_are_not_built() {
        let learning = Learning::default();
        for name in ["", "poseidon-chain-12", "model-064-32r-10-s8", "model-64"] {
            assert_eq!(
                learnable(&view(&learning), &request(name, 1)),
                Err(Skip::NotAModel),
                "{name}"
            );
        }
        // 7,510 weights and biases.
        assert_eq!(
            learnable(&view(&learning), &request("model-64-100r-10-s8", 1)),
            Err(Skip::TooLarge)
        );
    }

    #[test]
    fn a_liar_costs_one_build_and_never_blocks_the_id() {
        let mut learning = Learning {
            busy: Some((CircuitId([7; 32]), NAME.into(), Address([1; 20]))),
            ..Learning::default()
        };
        assert_eq!(
            learnable(&view(&learning), &request("model-4-3r-2-s8", 2)),
            Err(Skip::Busy),
            "one at a time"
        );
        // Client 1's name did not derive the id: it has all its strikes.
        learning.busy = None;
        learning.tried.insert((CircuitId([7; 32]), NAME.into()));
        learning.strikes.insert(Address([1; 20]), MAX_STRIKES);
        assert_eq!(
            learnable(&view(&learning), &request(NAME, 2)),
            Err(Skip::Tried),
            "the same name and id, from another client"
        );
        let elsewhere = JobRequest {
            circuit_id: CircuitId([8; 32]),
            ..request(NAME, 2)
        };
        assert!(
            learnable(&view(&learning), &elsewhere).is_ok(),
            "the name under another id: a lie does not poison a model's name"
        );
        assert_eq!(
            learnable(&view(&learning), &request("model-4-3r-2-s8", 1)),
            Err(Skip::Tried),
            "another name, from the same client"
        );
        // However many liars named other architectures for the id, the model
        // registered under it is still built when its own name comes.
        for liar in 2..200u8 {
            learning.tried.insert((
                CircuitId([7; 32]),
                format!("model-4-{}r-2-s8", u16::from(liar) + 10),
            ));
            learning.strikes.insert(Address([liar; 20]), MAX_STRIKES);
        }
        assert!(learnable(&view(&learning), &request("model-4-3r-2-s8", 200)).is_ok());
    }

    #[test]
    fn a_client_naming_two_unregistered_ids_teaches_nothing_more() {
        let mut learning = Learning::default();
        *learning.strikes.entry(Address([1; 20])).or_default() += 1;
        assert!(learnable(&view(&learning), &request(NAME, 1)).is_ok());
        *learning.strikes.entry(Address([1; 20])).or_default() += 1;
        assert_eq!(
            learnable(&view(&learning), &request(NAME, 1)),
            Err(Skip::Tried)
        );
    }

    #[test]
    fn an_unregistered_id_is_read_again_a_minute_later_and_memory_is_bounded() {
        let mut learning = Learning::default();
        learning.unread.insert(CircuitId([7; 32]), 5_000);
        assert_eq!(
            learnable(&view(&learning), &request(NAME, 1)),
            Err(Skip::Unregistered)
        );
        let later = View {
            now_ms: 5_001,
            ..view(&learning)
        };
        assert!(learnable(&later, &request(NAME, 1)).is_ok());
        // Ids read unregistered fill the memory only for their minute.
        let mut learning = Learning::default();
        for i in 0..MAX_REMEMBERED {
            let mut id = [9u8; 32];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            learning.unread.insert(CircuitId(id), 5_000);
        }
        assert_eq!(
            learnable(&view(&learning), &request(NAME, 1)),
            Err(Skip::Full)
        );
        assert!(learnable(&later_view(&learning), &request(NAME, 1)).is_ok());
        let mut learning = Learning::default();
        for i in 0..MAX_REMEMBERED {
            learning
                .tried
                .insert((CircuitId([9; 32]), format!("model-{}-2-s8", i + 1)));
        }
        assert_eq!(
            learnable(&view(&learning), &request(NAME, 1)),
            Err(Skip::Full)
        );
        learning.tried.clear();
        learning.learned = 4;
        assert_eq!(
            learnable(&view(&learning), &request(NAME, 1)),
            Err(Skip::Off)
        );
    }

    fn later_view(learning: &Learning) -> View<'_> {
        View {
            now_ms: 5_001,
            ..view(learning)
        }
    }

    #[test]
    fn a_restart_learns_again_the_models_of_held_jobs_only() {
        use crate::store::WorkState;
        use crate::store::records::{Hex32, Stored, Work};
        let work = |state: WorkState, name: &str, id: u8| Work {
            job_id: JobId([id; 32]),
            request: Stored(JobRequest {
                circuit_id: CircuitId([id; 32]),
                ..request(name, 1)
            }),
            award: Stored(Award {
                job_id: JobId([id; 32]),
                round: 0,
                prover: Address([3; 20]),
                prover_key: PeerKey::from(SigningKey::from_bytes(&[4; 32]).verifying_key()),
                price: 1,
                deadline: 100,
                signature: EthSignature([0; 65]),
            }),
            client_key: Hex32([5; 32]),
            state,
            acceptance: None,
            proof: None,
            prove_ms: None,
            delivered: false,
            batch: None,
            awarded_ms: 0,
            error: None,
        };
        let works = [
            work(WorkState::Accepted, NAME, 1),
            work(WorkState::Awarded, NAME, 1),
            work(WorkState::Released, "model-4-3r-2-s8", 2),
            work(WorkState::Awarded, "", 3),
            work(WorkState::Awarded, "poseidon-chain-12", 4),
        ];
        assert_eq!(
            held_models(&works),
            vec![(
                CircuitId([1; 32]),
                NAME.parse::<Circuit>().expect("a model")
            )]
        );
    }
}
