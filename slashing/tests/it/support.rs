//! A market on a fresh anvil with a prover, two clients and a watchtower, a real EVM
//! verifier for `poseidon-chain-12`, and a real proof of it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Middleware, Provider};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::{Address, TransactionReceipt, U256};
use ethers::utils::{AnvilInstance, parse_ether};
use provernet_circuits::{Circuit, Proof, Prover, ProverConfig, SrsSource};
use provernet_protocol::{
    Address as PAddress, CircuitId, FieldBytes, Hash32, JobId, JobLeaf, keccak256,
};
use provernet_slashing::eip712::{self, Domain};
use provernet_slashing::{Market, MarketParams, anvil, compile};

pub type Client = SignerMiddleware<Provider<Http>, LocalWallet>;

pub const MIN_STAKE_ETH: &str = "1";
pub const CHALLENGE_WINDOW: u64 = 10;
pub const RESPONSE_WINDOW: u64 = 5;
pub const BOND_ETH: &str = "0.1";
/// What one slash takes, wei (0.01 ETH: the bonded minimum stake covers 100 leaves).
pub const SLASH_PER_JOB_WEI: u64 = 10_000_000_000_000_000;
pub const REWARD_BPS: u64 = 3_000;
pub const REFUND_BPS: u64 = 2_000;

pub fn eth(amount: &str) -> U256 {
    parse_ether(amount).expect("amount")
}

pub fn params() -> MarketParams {
    MarketParams {
        min_stake: eth(MIN_STAKE_ETH),
        challenge_window: CHALLENGE_WINDOW,
        response_window: RESPONSE_WINDOW,
        unbonding_delay: 20,
        deposit_withdrawal_delay: 30,
        challenge_bond: eth(BOND_ETH),
        slash_per_job: U256::from(SLASH_PER_JOB_WEI),
        reward_bps: REWARD_BPS as u16,
        refund_bps: REFUND_BPS as u16,
        max_deadline: 86_400,
        deadline_challenge_period: 3_600,
    }
}

/// A proof of the example witness, its verifier's creation code, made once per process.
pub struct Fixture {
    pub proof: Proof,
    pub verifier_creation: Vec<u8>,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (_, _, solc) = compile::repo_paths();
        let config = ProverConfig {
            solc,
            ..ProverConfig::new(
                SrsSource::DevInsecure,
                std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join("provernet-circuits-cache"),
            )
        };
        let prover = Prover::new(&config).expect("dev SRS");
        let circuit = Circuit::PoseidonChain12;
        let witness = circuit
            .parse_witness(&circuit.example_witness())
            .expect("example witness");
        let proof = prover.prove(&witness).expect("proves");
        let verifier = prover.verifier(circuit).expect("verifier compiles");
        Fixture {
            proof,
            verifier_creation: verifier.creation.clone(),
        }
    })
}

pub struct Actor {
    pub wallet: LocalWallet,
    pub market: Market<Client>,
}

impl Actor {
    pub fn address(&self) -> Address {
        self.wallet.address()
    }

    pub async fn balance(&self) -> U256 {
        self.market
            .client()
            .get_balance(self.address(), None)
            .await
            .expect("balance")
    }

    /// What `receipt`'s challenge cost in fees: its own transaction and the commitment to
    /// its evidence that this actor sent just before it (commit–reveal).
    pub async fn challenge_fees(&self, receipt: &TransactionReceipt) -> U256 {
        gas_cost(&self.commitment_of(receipt).await) + gas_cost(receipt)
    }

    /// The receipt of the commitment to the evidence of the challenge `receipt` is of: the
    /// transaction this actor sent just before it.
    pub async fn commitment_of(&self, receipt: &TransactionReceipt) -> TransactionReceipt {
        let client = self.market.client();
        let tx = client
            .get_transaction(receipt.transaction_hash)
            .await
            .expect("transaction")
            .expect("known");
        let last = receipt.block_number.expect("mined").as_u64();
        for number in (last.saturating_sub(8)..last).rev() {
            let block = client
                .get_block_with_txs(number)
                .await
                .expect("block")
                .expect("known");
            if let Some(commit) = block
                .transactions
                .iter()
                .find(|t| t.from == self.address() && t.nonce + 1 == tx.nonce)
            {
                return client
                    .get_transaction_receipt(commit.hash)
                    .await
                    .expect("receipt")
                    .expect("mined");
            }
        }
        panic!("no commitment sent before the challenge");
    }

    pub async fn nonce(&self) -> U256 {
        self.market
            .client()
            .get_transaction_count(self.address(), None)
            .await
            .expect("nonce")
    }
}

pub struct World {
    /// Kept so the chain lives as long as the world.
    pub _anvil: AnvilInstance,
    pub provider: Provider<Http>,
    pub owner: Actor,
    pub prover: Actor,
    pub client: Actor,
    pub other_client: Actor,
    pub watchtower: Actor,
    pub domain: Domain,
    pub circuit_id: CircuitId,
}

impl World {
    /// Deploys the market and the verifier, registers the circuit, stakes the prover
    /// (1 ETH) and funds the clients' deposits (1 ETH each).
    pub async fn new() -> Self {
        let fixture = fixture();
        let anvil = anvil::spawn();
        let provider = Provider::<Http>::try_from(anvil.endpoint())
            .expect("provider")
            .interval(Duration::from_millis(10));
        let actor = |i: usize| {
            let wallet = LocalWallet::from(anvil.keys()[i].clone()).with_chain_id(anvil.chain_id());
            let client = Arc::new(SignerMiddleware::new(provider.clone(), wallet.clone()));
            (wallet, client)
        };
        let (_, owner_client) = actor(0);
        let market = Market::deploy(owner_client, params())
            .await
            .expect("market deploys");
        let at = |i: usize| {
            let (wallet, client) = actor(i);
            Actor {
                wallet,
                market: Market::at(market.address(), client),
            }
        };
        let owner = at(0);
        let world = Self {
            prover: at(1),
            client: at(2),
            other_client: at(3),
            watchtower: at(4),
            domain: market.domain().await.expect("domain"),
            circuit_id: fixture.proof.circuit_id,
            owner,
            _anvil: anvil,
            provider,
        };
        let verifier = world
            .owner
            .market
            .deploy_code(fixture.verifier_creation.clone())
            .await
            .expect("verifier deploys");
        let registered = world
            .owner
            .market
            .register_circuit(verifier, &fixture.proof.public_inputs, &fixture.proof.proof)
            .await
            .expect("circuit registers");
        assert_eq!(
            registered, world.circuit_id.0,
            "the market derives the id the node computes"
        );
        world
            .prover
            .market
            .register(keccak256(b"prover peer key"), eth(MIN_STAKE_ETH))
            .await
            .expect("prover registers");
        for client in [&world.client, &world.other_client] {
            client.market.deposit(eth("1")).await.expect("deposit");
        }
        world
    }

    pub async fn mine(&self, blocks: u64) {
        let _: serde_json::Value = self
            .provider
            .request("anvil_mine", [U256::from(blocks)])
            .await
            .expect("anvil_mine");
    }

    pub async fn advance_time(&self, seconds: u64) {
        let _: serde_json::Value = self
            .provider
            .request("evm_increaseTime", [U256::from(seconds)])
            .await
            .expect("evm_increaseTime");
        self.mine(1).await;
    }

    pub async fn now(&self) -> u64 {
        self.provider
            .get_block(ethers::types::BlockNumber::Latest)
            .await
            .expect("block")
            .expect("latest block")
            .timestamp
            .as_u64()
    }

    pub async fn market_balance(&self) -> U256 {
        self.provider
            .get_balance(self.prover.market.address(), None)
            .await
            .expect("balance")
    }

    /// A leaf of the client's job `nonce` carrying `proof` (the real one, or not).
    pub fn leaf(
        &self,
        client: &Actor,
        nonce: u64,
        price: u128,
        inputs: &[FieldBytes],
        proof: &[u8],
    ) -> JobLeaf {
        JobLeaf {
            job_id: job_id(client.address(), nonce),
            circuit_id: self.circuit_id,
            public_inputs_hash: JobLeaf::public_inputs_hash(inputs),
            proof_hash: Hash32(keccak256(proof)),
            client: PAddress(client.address().0),
            price,
        }
    }

    /// A leaf of the client's job `nonce` carrying the real, valid proof.
    pub fn good_leaf(&self, nonce: u64, price: u128) -> JobLeaf {
        let fx = fixture();
        self.leaf(
            &self.client,
            nonce,
            price,
            &fx.proof.public_inputs,
            &fx.proof.proof,
        )
    }

    /// The client of the `i`-th job when jobs alternate between the two clients.
    pub fn alternating_client(&self, i: u64) -> &Actor {
        if i.is_multiple_of(2) {
            &self.client
        } else {
            &self.other_client
        }
    }

    /// Commits `leaves` as one batch of the prover; returns the batch id.
    pub async fn commit(&self, leaves: &[JobLeaf]) -> u64 {
        self.prover
            .market
            .commit_batch(leaves)
            .await
            .expect("commits")
            .0
    }

    /// The client's award of `leaf` to the prover, due at `deadline`, signed.
    pub fn award(&self, client: &Actor, leaf: &JobLeaf, deadline: u64) -> (eip712::Award, Vec<u8>) {
        let award = eip712::Award {
            job_id: leaf.job_id.0,
            prover: self.prover.address(),
            price: U256::from(leaf.price),
            deadline,
            circuit_id: leaf.circuit_id.0,
            public_inputs_hash: leaf.public_inputs_hash.0,
        };
        let signature =
            eip712::sign(&client.wallet, self.domain.award_digest(&award)).expect("signs");
        (award, signature.to_vec())
    }

    /// The prover's acceptance of `award` (from the client), signed.
    pub fn accept(&self, award: &eip712::Award) -> (eip712::Acceptance, Vec<u8>) {
        let acceptance = eip712::Acceptance {
            job_id: award.job_id,
            client: self.client.address(),
            input_hash: [0x42; 32],
            price: award.price,
            deadline: award.deadline,
            circuit_id: award.circuit_id,
            public_inputs_hash: award.public_inputs_hash,
        };
        let signature = eip712::sign(
            &self.prover.wallet,
            self.domain.acceptance_digest(&acceptance),
        )
        .expect("signs");
        (acceptance, signature.to_vec())
    }

    /// Rolls past the challenge window of a batch posted now.
    pub async fn close_window(&self) {
        self.mine(CHALLENGE_WINDOW + 1).await;
    }
}

/// The job id peers derive: keccak256("provernet/job-id/v1" ‖ client ‖ nonce BE).
pub fn job_id(client: Address, nonce: u64) -> JobId {
    provernet_protocol::JobRequest {
        circuit_id: CircuitId([0; 32]),
        input_hash: Hash32([0; 32]),
        public_inputs_hash: Hash32([0; 32]),
        input_size: 1,
        max_price: 1,
        bid_window_ends: 1,
        proving_deadline: 2,
        client: PAddress(client.0),
        nonce,
        round: 0,
        client_signature: provernet_protocol::EthSignature([0; 65]),
        circuit_name: String::new(),
    }
    .job_id()
}

/// The real proof with one byte flipped: same length, fails to verify.
pub fn corrupted(proof: &[u8]) -> Vec<u8> {
    let mut bad = proof.to_vec();
    bad[40] ^= 1;
    bad
}

/// A slash of a prover holding `stake` (bonded + unbonding), and its split, as the
/// contract computes them with the test params: (amount, reward, refund, burned).
pub fn split(stake: U256, price: u128) -> (U256, U256, U256, U256) {
    let amount = stake.min(U256::from(SLASH_PER_JOB_WEI));
    let reward = amount * REWARD_BPS / 10_000;
    let refund = (amount * REFUND_BPS / 10_000).min(U256::from(price));
    (amount, reward, refund, amount - reward - refund)
}

pub fn gas_cost(receipt: &TransactionReceipt) -> U256 {
    receipt.gas_used.expect("gas used") * receipt.effective_gas_price.expect("gas price")
}
