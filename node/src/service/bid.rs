//! The prover's bid on a request it heard: the checks before it (circuit, keys,
//! measured time, registration, stake, price, the client's funds) and its terms from the
//! schedule (`Schedule::bid`: the time the job is held to, and the promise, with room
//! for a slowdown).

use provernet_market::schedule;
use provernet_protocol::{Bid, EthSignature, JobRequest, PeerKey};
use provernet_slashing::eip712;

use super::prover::{BID_HOLD_GRACE_MS, DRIFT_MS, MAX_BID_WINDOW_MS};
use super::roles::MyBid;
use super::{Core, now_ms, wei};
use crate::metrics::kind;

impl Core {
    pub(super) async fn consider_bidding(&mut self, request: &JobRequest, _client: PeerKey) {
        let id = request.job_id();
        let Some(circuit) = self.s.circuits.get(&request.circuit_id) else {
            return;
        };
        if !self.s.circuits.proves(&circuit) || self.prover.my_bids.contains_key(&id) {
            return;
        }
        if !self.s.engine.proving_keys_loaded(circuit) {
            // Still loading after a start (or being built): no estimate covers the wait.
            tracing::debug!(target: "market::prover", job = %id, circuit = circuit.name(), "not bidding: the proving keys are still loading");
            return;
        }
        if !self.prover.estimates.contains_key(&circuit)
            || self.prover.calibrating.is_some()
            || self.learning.busy.is_some()
        {
            // No promise from a time this machine never measured, nor while a calibration
            // or a circuit's build (`learn`) has cores the schedule does not count
            // (`calibrate`).
            self.s
                .metrics
                .market
                .bids
                .get_or_create(&kind("declined_unmeasured"))
                .inc();
            tracing::debug!(target: "market::prover", job = %id, circuit = circuit.name(), "not bidding: the proving time is not measured yet");
            return;
        }
        if !self.prover.registered.contains(&request.circuit_id) {
            // Its leaf would be slashable whatever the proof (`read_registrations`).
            self.s
                .metrics
                .market
                .bids
                .get_or_create(&kind("declined_unregistered"))
                .inc();
            return;
        }
        let me = self.book.stake_of(&self.s.address);
        if me
            .is_none_or(|s| s.stake < self.s.min_stake || s.peer_key != *self.s.peer_key.as_bytes())
        {
            tracing::debug!(target: "market::prover", "not bidding: not staked under this key (yet)");
            return;
        }
        // A deadline beyond the market's maxDeadline never gets here: the gossip rule
        // (`check_request`) ignores such requests before they are remembered.
        let now = now_ms();
        let policy = self.s.config.prover.price;
        let cost_ms = self.proving_cost_ms(circuit);
        if policy.quote(request.max_price, cost_ms).is_none() {
            tracing::debug!(target: "market::prover", job = %id, max_price = request.max_price, "not bidding: below this prover's price");
            return;
        }
        let Some(price) = policy.quote_capped(request.max_price, self.s.challenge_bond, cost_ms)
        else {
            self.s
                .metrics
                .market
                .bids
                .get_or_create(&kind("declined_above_bond"))
                .inc();
            return;
        };
        if self
            .check_funds(id, &request.client, price, request.proving_deadline, now)
            .is_err()
        {
            return;
        }
        // Proving starts no earlier than the award, which comes when the bid window ends
        // (a far end is bounded: `bid_window_too_long`). The schedule keeps the commit
        // margin between a proof's end and the time it holds the job to, plus
        // [`DRIFT_MS`] for the time between this quote and the award; the promise leaves
        // room for the job and all ahead of it to take twice as long (`Schedule::bid`).
        let start = now.max(request.bid_window_ends.saturating_mul(1_000));
        let latest_ms = request.proving_deadline.saturating_mul(1_000);
        let Some(schedule::Terms { due_ms, promise_ms }) = self.prover.schedule.bid(
            start,
            self.estimate_ms(circuit),
            self.longest_estimate_ms(),
            latest_ms,
            DRIFT_MS,
        ) else {
            tracing::debug!(target: "market::prover", job = %id, held = self.prover.schedule.len(), "not bidding: no capacity by the deadline, with room for a slowdown");
            return;
        };
        let promised = promise_ms.div_ceil(1_000);
        // Hold the capacity while the bid stands, so bids never promise more than the
        // prover can deliver if it wins them all.
        if !self
            .prover
            .schedule
            .admit_by(now, id, self.estimate_ms(circuit), start, due_ms, due_ms)
        {
            tracing::debug!(target: "market::prover", job = %id, held = self.prover.schedule.len(), "not bidding: no capacity for the promise");
            return;
        }
        // Held until the bid window ends, but never longer than any honest client's window
        // (`client.bid_window_ms` ≤ 60 s): the request, which anyone can sign, does not
        // decide how long this prover's capacity stays taken. An award that comes later
        // is admitted again against the schedule then.
        let window_ends_ms = (request.bid_window_ends * 1_000).min(now + MAX_BID_WINDOW_MS);
        self.prover
            .bid_holds
            .insert(id, window_ends_ms + BID_HOLD_GRACE_MS);
        let digest = self.s.domain.bid_digest(&eip712::Bid {
            job_id: id.0,
            price: wei(price),
            deadline: promised,
        });
        let Ok(signature) = eip712::sign(&self.s.wallet, digest) else {
            return;
        };
        let bid = Bid {
            job_id: id,
            round: request.round,
            price,
            promised_deadline: promised,
            prover: self.s.address,
            signature: EthSignature(signature),
        };
        self.prover.my_bids.insert(
            id,
            MyBid {
                bid: bid.clone(),
                due_ms,
            },
        );
        self.s
            .metrics
            .market
            .bids
            .get_or_create(&kind("sent"))
            .inc();
        self.s.publish(&bid).await;
    }
}
