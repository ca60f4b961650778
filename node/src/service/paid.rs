//! Whether a client's jobs are paid: asked of the chain (`isPaid`) at a confirmed block
//! the watchtower has read past, at waits that double, and again once a claim by the
//! job's prover is that deep; a paid job settles.

use std::collections::HashSet;

use super::overdue::settles_once_paid;
use super::{Core, EthAddress, Internal, eth};
use crate::store::{ClientState, WriteBatch};
use provernet_protocol::{Address, JobId};

/// The first wait before a verified job is asked about again, ms; it doubles at each ask.
const PAID_CHECK_FIRST_MS: u64 = 2_000;
/// The longest wait between two asks about one verified job, ms.
const PAID_CHECK_MAX_MS: u64 = 600_000;

impl Core {
    /// One check in flight at most, one started every 2 s at most.
    pub(super) fn tick_paid(&mut self, now: u64) {
        if now
            >= self
                .client
                .last_paid_check_ms
                .saturating_add(PAID_CHECK_FIRST_MS)
            && !self.client.paid_check_running
        {
            self.client.last_paid_check_ms = now;
            self.check_paid(now);
        }
    }

    /// Asks the chain which verified jobs have been paid: each job after 2 s, then at
    /// twice the last wait, up to [`PAID_CHECK_MAX_MS`] (a prover may claim late, or
    /// never: the calls stay bounded).
    fn check_paid(&mut self, now: u64) {
        // Not before the watchtower has read a block: each ask would find nothing paid
        // and double its job's wait.
        if self.watch.is_some() && self.book.watched_to == 0 {
            return;
        }
        // Claims now read deep enough: their provers' jobs are due at once.
        let at = self.paid_check_block();
        let mut claimed = HashSet::new();
        self.client.claims.retain(|prover, block| {
            let due = *block <= at;
            if due {
                claimed.insert(*prover);
            }
            !due
        });
        if !claimed.is_empty() {
            for job in self.client.jobs.values() {
                if job
                    .award
                    .as_ref()
                    .is_some_and(|award| claimed.contains(&eth(&award.0.prover)))
                {
                    self.client.paid_due.remove(&job.id);
                }
            }
        }
        // Each award is paid once, to the prover it names: ask about the signed one.
        let due = &self.client.paid_due;
        let verified: Vec<(JobId, u64, Address)> = self
            .client
            .jobs
            .values()
            .filter(|j| settles_once_paid(j))
            .filter(|j| due.get(&j.id).is_none_or(|(when, _)| *when <= now))
            .filter_map(|j| {
                let award = &j.award.as_ref()?.0;
                award
                    .is_signed()
                    .then_some((j.id, j.request.0.nonce, award.prover))
            })
            .collect();
        if verified.is_empty() {
            return;
        }
        for (id, ..) in &verified {
            let wait = self
                .client
                .paid_due
                .get(id)
                .map_or(PAID_CHECK_FIRST_MS, |(_, wait)| {
                    wait.saturating_mul(2).min(PAID_CHECK_MAX_MS)
                });
            self.client
                .paid_due
                .insert(*id, (now.saturating_add(wait), wait));
        }
        self.client.paid_check_running = true;
        let market = self.s.market.clone();
        let me = eth(&self.s.address);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let mut paid = Vec::new();
            for (id, nonce, prover) in verified {
                let call = market.contract().is_paid(me, eth(&prover), nonce).block(at);
                if let Ok(true) = call.call().await {
                    paid.push(id);
                }
            }
            let _ = internal.send(Internal::Paid(paid)).await;
        });
    }

    /// The block whose state says which jobs are paid. A payment counts once
    /// `chain.confirmations` blocks are on top of it: a reorg above that depth may still
    /// undo it. And no higher than the watchtower has applied every event of: the
    /// client's own withheld-proof challenge marks its award paid at once, and the word
    /// that it bought the round (which must stay open for the reveal) comes before the
    /// watchtower's block past it.
    fn paid_check_block(&self) -> u64 {
        paid_check_block(
            self.book.head,
            self.s.config.chain.confirmations,
            self.watch.is_some().then_some(self.book.watched_to),
        )
    }

    /// Provers the follower saw claim fees, with their claims' blocks: of those that won a
    /// verified job of this client, the earliest claim not asked about yet is remembered,
    /// and once the block the paid checks read reaches it, their jobs are asked about at
    /// the next check, their waits starting over from 2 s: a payment is seen at its
    /// confirmations, not at a wait grown to minutes. One ask per job per claim at most, one check every 2 s at
    /// most, and only this client's jobs won by a claimer: a claim (a transaction) buys
    /// a prover no more.
    pub(super) fn on_fees_claimed(&mut self, claims: &[(EthAddress, u64)]) {
        // One pass over the jobs, however many claims a poll read (a catch-up reads many).
        let ours: HashSet<EthAddress> = self
            .client
            .jobs
            .values()
            .filter(|j| settles_once_paid(j))
            .filter_map(|j| Some(eth(&j.award.as_ref()?.0.prover)))
            .collect();
        for &(prover, block) in claims {
            if ours.contains(&prover) {
                // The earliest claim not asked about yet: a prover claiming every block
                // still has its jobs asked about as each claim is confirmed.
                let first = self.client.claims.entry(prover).or_insert(block);
                *first = (*first).min(block);
            }
        }
    }

    pub(super) fn on_paid(&mut self, ids: Vec<JobId>) {
        self.client.paid_check_running = false;
        let mut batch = WriteBatch::default();
        let mut paid = Vec::new();
        for id in ids {
            if let Some(job) = self.client.jobs.get_mut(&id)
                && settles_once_paid(job)
            {
                job.state = ClientState::Paid;
                batch.client_job(job);
                paid.push(id);
            }
        }
        for id in &paid {
            self.expire_client_job(&mut batch, *id);
        }
        if !batch.is_empty() && self.write(batch) {
            // Settled: out of memory, on disk for the API until its retention ends.
            self.forget_client_jobs(&paid);
        }
    }
}

/// [`Core::paid_check_block`] over its inputs: the head, the confirmations, and the block
/// the watchtower (if the node runs one) has applied every event of.
fn paid_check_block(head: u64, confirmations: u64, watched_to: Option<u64>) -> u64 {
    let confirmed = head.saturating_sub(confirmations);
    watched_to.map_or(confirmed, |watched| confirmed.min(watched))
}

#[cfg(test)]
mod tests {
    use super::paid_check_block;

    #[test]
    fn a_payment_is_read_no_higher_than_confirmed_and_watched() {
        // Two blocks on top at least.
        assert_eq!(paid_check_block(100, 2, Some(100)), 98);
        // The watchtower behind: no higher than it has said its words.
        assert_eq!(paid_check_block(100, 0, Some(90)), 90);
        assert_eq!(paid_check_block(100, 2, Some(99)), 98);
        // No watchtower: the confirmed block.
        assert_eq!(paid_check_block(100, 0, None), 100);
        assert_eq!(paid_check_block(1, 5, Some(1)), 0);
    }
}
