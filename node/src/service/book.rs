//! The book: what every role reads of the market as this node sees it. Requests heard
//! on gossip with their awards and acceptances, provers' stakes, the accounts that
//! deposited, the chain's head. The core alone writes it, from gossip and the chain
//! follower; the client's and the prover's rules read it ([`super::roles`]).

use std::collections::{HashMap, HashSet};

use ethers::types::Address as EthAddress;
use provernet_protocol::Address;

use super::{StakeInfo, eth, requests, rules};

/// What every role reads (see the module's documentation).
pub(crate) struct Book {
    /// Requests heard on gossip, with their rounds' awards and acceptances.
    pub(super) requests: requests::RequestTable,
    /// Charges of signers whose messages broke a rule that depends on our view of a
    /// client's jobs (`rules`): over the quota, a signer is not heard on that client's
    /// jobs for a while.
    pub(super) charges: rules::Charges,
    /// Budgets of the gossip kinds that name no job, per signing key: prover adverts and
    /// commitment notices (`gossip`).
    pub(super) signer_budgets: rules::SignerBudgets,
    /// Provers' registered keys and stakes, from the chain's events.
    pub(super) stakes: HashMap<EthAddress, StakeInfo>,
    /// Every account a `Deposited` event named: a request of any other client is not
    /// heard, without a read of the chain (`admission`).
    pub(super) depositors: HashSet<EthAddress>,
    /// The highest block the follower has read to.
    pub(super) head: u64,
    /// The follower has reached the chain's head since the start (the sweep waits:
    /// an event read again may still need a record).
    pub(super) caught_up: bool,
    /// The block the watchtower has applied every event of (`Internal::WatchedTo`).
    pub(super) watched_to: u64,
}

impl Book {
    /// An empty book whose request table holds at most `capacity` requests, those of
    /// `own` (this node's client address, if it is a client) kept apart.
    pub(super) fn new(capacity: usize, own: Option<Address>) -> Self {
        Self {
            requests: requests::RequestTable::new(capacity, own),
            charges: rules::Charges::default(),
            signer_budgets: rules::SignerBudgets::default(),
            stakes: HashMap::new(),
            depositors: HashSet::new(),
            head: 0,
            caught_up: false,
            watched_to: 0,
        }
    }

    /// `prover`'s registered key and stake, if it is staked.
    pub(super) fn stake_of(&self, prover: &Address) -> Option<StakeInfo> {
        self.stakes.get(&eth(prover)).copied()
    }

    /// The follower has read to `block`; `caught_up` if that is the chain's head. It
    /// lags the head read at start while it catches up, so the highest block is kept.
    pub(super) fn read_to(&mut self, block: u64, caught_up: bool) {
        self.head = self.head.max(block);
        self.caught_up |= caught_up;
    }
}
