//! The DHT's record store, with this node's own provider records kept apart from the
//! records other peers announce to it.
//!
//! libp2p's `MemoryStore` bounds all provider keys, its own and others', by one count:
//! a peer announcing (`ADD_PROVIDER`) enough made-up keys filled it, and from then on the
//! node could announce none of its own proofs, the DHT fallback of every audit (issue
//! "hostile peers", item 7). Here:
//! - the node's own records have a bound of their own ([`OWN_KEYS`]): nothing another peer
//!   sends takes their room;
//! - others' records are bounded in all ([`REMOTE_KEYS`] keys) and per announcing peer
//!   ([`PER_PEER`]): one peer fills at most its share; when the bound is reached (at most
//!   once a second) expired records are swept and, if that frees nothing, every record of
//!   the peer holding the most goes, so a flood from many identities cannot keep honest
//!   records out for a record's whole TTL; otherwise a new key is ignored (as kad ignores
//!   a key's 21st provider);
//! - value records (which provernet does not use) stay in a `MemoryStore` with its
//!   default bounds.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::kad::store::{self, MemoryStore, RecordStore};
use libp2p::kad::{ProviderRecord, Record, RecordKey};

/// Keys this node provides at most (a proof each: a prover provides every proof it serves,
/// a client every proof it verified).
pub const OWN_KEYS: usize = 1 << 16;
/// Keys of other peers' provider records held at most.
pub const REMOTE_KEYS: usize = 1 << 16;
/// Provider records one other peer may hold here.
pub const PER_PEER: usize = 1 << 12;
/// Providers kept per key (kad's replication factor).
const PROVIDERS_PER_KEY: usize = 20;
/// Expired remote records are swept at most this often, and only when the bound is hit.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// See the module.
pub struct ProviderStore {
    local: PeerId,
    values: MemoryStore,
    own: HashMap<RecordKey, ProviderRecord>,
    remote: HashMap<RecordKey, Vec<ProviderRecord>>,
    per_peer: HashMap<PeerId, usize>,
    last_sweep: Option<Instant>,
}

impl ProviderStore {
    /// An empty store of the node `local`.
    pub fn new(local: PeerId) -> Self {
        Self {
            local,
            values: MemoryStore::new(local),
            own: HashMap::new(),
            remote: HashMap::new(),
            per_peer: HashMap::new(),
            last_sweep: None,
        }
    }

    /// Keys this node provides.
    pub fn own_keys(&self) -> usize {
        self.own.len()
    }

    /// Keys of other peers' records held.
    pub fn remote_keys(&self) -> usize {
        self.remote.len()
    }

    fn add_remote(&mut self, record: ProviderRecord) {
        let held = self.per_peer.get(&record.provider).copied().unwrap_or(0);
        if let Some(providers) = self.remote.get_mut(&record.key) {
            if let Some(existing) = providers.iter_mut().find(|p| p.provider == record.provider) {
                *existing = record;
            } else if providers.len() < PROVIDERS_PER_KEY && held < PER_PEER {
                *self.per_peer.entry(record.provider).or_default() += 1;
                providers.push(record);
            }
            return;
        }
        if held >= PER_PEER {
            return;
        }
        if self.remote.len() >= REMOTE_KEYS {
            self.sweep(Instant::now());
            if self.remote.len() >= REMOTE_KEYS {
                return;
            }
        }
        *self.per_peer.entry(record.provider).or_default() += 1;
        self.remote.insert(record.key.clone(), vec![record]);
    }

    /// Drops expired remote records, at most once per [`SWEEP_EVERY`].
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_EVERY)
        {
            return;
        }
        self.last_sweep = Some(now);
        let per_peer = &mut self.per_peer;
        self.remote.retain(|_, providers| {
            providers.retain(|p| {
                let keep = !p.is_expired(now);
                if !keep {
                    release(per_peer, &p.provider);
                }
                keep
            });
            !providers.is_empty()
        });
        if self.remote.len() < REMOTE_KEYS {
            return;
        }
        let Some(largest) = self
            .per_peer
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(p, _)| *p)
        else {
            return;
        };
        self.per_peer.remove(&largest);
        self.remote.retain(|_, providers| {
            providers.retain(|p| p.provider != largest);
            !providers.is_empty()
        });
    }
}

fn release(per_peer: &mut HashMap<PeerId, usize>, peer: &PeerId) {
    if let Some(count) = per_peer.get_mut(peer) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            per_peer.remove(peer);
        }
    }
}

type OwnIter<'a> = std::iter::Map<
    std::collections::hash_map::Values<'a, RecordKey, ProviderRecord>,
    fn(&'a ProviderRecord) -> Cow<'a, ProviderRecord>,
>;

impl RecordStore for ProviderStore {
    type RecordsIter<'a> = <MemoryStore as RecordStore>::RecordsIter<'a>;
    type ProvidedIter<'a> = OwnIter<'a>;

    fn get(&self, k: &RecordKey) -> Option<Cow<'_, Record>> {
        self.values.get(k)
    }

    fn put(&mut self, r: Record) -> store::Result<()> {
        self.values.put(r)
    }

    fn remove(&mut self, k: &RecordKey) {
        self.values.remove(k);
    }

    fn records(&self) -> Self::RecordsIter<'_> {
        self.values.records()
    }

    fn add_provider(&mut self, record: ProviderRecord) -> store::Result<()> {
        if record.provider == self.local {
            if !self.own.contains_key(&record.key) && self.own.len() >= OWN_KEYS {
                return Err(store::Error::MaxProvidedKeys);
            }
            self.own.insert(record.key.clone(), record);
        } else {
            self.add_remote(record);
        }
        Ok(())
    }

    fn providers(&self, key: &RecordKey) -> Vec<ProviderRecord> {
        self.own
            .get(key)
            .into_iter()
            .chain(self.remote.get(key).into_iter().flatten())
            .cloned()
            .collect()
    }

    fn provided(&self) -> Self::ProvidedIter<'_> {
        self.own.values().map(Cow::Borrowed)
    }

    fn remove_provider(&mut self, k: &RecordKey, p: &PeerId) {
        if *p == self.local {
            self.own.remove(k);
            return;
        }
        if let Some(providers) = self.remote.get_mut(k) {
            let before = providers.len();
            providers.retain(|r| r.provider != *p);
            if providers.len() < before {
                release(&mut self.per_peer, p);
            }
            if providers.is_empty() {
                self.remote.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64, provider: PeerId, expires: Option<Instant>) -> ProviderRecord {
        ProviderRecord {
            key: RecordKey::new(&n.to_be_bytes()),
            provider,
            expires,
            addresses: Vec::new(),
        }
    }

    #[test]
    fn a_peer_announcing_keys_without_end_leaves_room_for_the_nodes_own() {
        let me = PeerId::random();
        let rogue = PeerId::random();
        let mut store = ProviderStore::new(me);
        for n in 0..(PER_PEER as u64 + 1_000) {
            store
                .add_provider(record(n, rogue, None))
                .expect("ignored, not refused");
        }
        assert_eq!(
            store.remote_keys(),
            PER_PEER,
            "one peer holds at most its share"
        );
        store
            .add_provider(record(1 << 40, me, None))
            .expect("the node's own record");
        assert_eq!(store.provided().count(), 1);
        assert_eq!(
            store
                .providers(&RecordKey::new(&(1u64 << 40).to_be_bytes()))
                .len(),
            1
        );
    }

    #[test]
    fn many_peers_fill_only_the_remote_bound_and_expired_records_make_room() {
        let me = PeerId::random();
        let mut store = ProviderStore::new(me);
        let past = Instant::now().checked_sub(Duration::from_secs(1));
        let mut n = 0u64;
        while store.remote_keys() < REMOTE_KEYS {
            let peer = PeerId::random();
            for _ in 0..PER_PEER {
                store.add_provider(record(n, peer, past)).expect("stored");
                n += 1;
            }
        }
        // Full of expired records: the next key sweeps them.
        let honest = PeerId::random();
        store.add_provider(record(n, honest, None)).expect("stored");
        assert_eq!(store.remote_keys(), 1, "the expired flood was swept");
        assert_eq!(store.providers(&RecordKey::new(&n.to_be_bytes())).len(), 1);
        store
            .add_provider(record(n + 1, me, None))
            .expect("own records are never crowded out");
    }

    #[test]
    fn a_store_full_of_unexpired_records_makes_room_by_the_largest_holder() {
        let me = PeerId::random();
        let mut store = ProviderStore::new(me);
        let mut n = 0u64;
        while store.remote_keys() < REMOTE_KEYS {
            let peer = PeerId::random();
            for _ in 0..PER_PEER {
                store.add_provider(record(n, peer, None)).expect("stored");
                n += 1;
            }
        }
        let honest = PeerId::random();
        store.add_provider(record(n, honest, None)).expect("stored");
        assert_eq!(store.providers(&RecordKey::new(&n.to_be_bytes())).len(), 1);
        assert_eq!(store.remote_keys(), REMOTE_KEYS - PER_PEER + 1);
    }

    #[test]
    fn removing_a_remote_record_gives_its_peer_room_again() {
        let me = PeerId::random();
        let peer = PeerId::random();
        let mut store = ProviderStore::new(me);
        for n in 0..PER_PEER as u64 {
            store.add_provider(record(n, peer, None)).expect("stored");
        }
        store
            .add_provider(record(1 << 50, peer, None))
            .expect("ignored");
        assert!(
            store
                .providers(&RecordKey::new(&(1u64 << 50).to_be_bytes()))
                .is_empty()
        );
        store.remove_provider(&RecordKey::new(&0u64.to_be_bytes()), &peer);
        store
            .add_provider(record(1 << 50, peer, None))
            .expect("stored");
        assert_eq!(
            store
                .providers(&RecordKey::new(&(1u64 << 50).to_be_bytes()))
                .len(),
            1
        );
    }
}
