//! What a node keeps across restarts.
//!
//! One key-value trait, [`KvStore`], with one enum of column families ([`Column`]) and two
//! implementations: [`RocksStore`] for nodes and [`MemoryStore`] for unit tests (the
//! shape of Lighthouse's `KeyValueStore` and `memory_store.rs`). [`Store`] puts typed
//! records on top, one concern per column: the client's jobs, the prover's work, the
//! prover's batches, job inputs, and counters. Writes that belong together (a sealed
//! batch and the jobs it holds; a client's job and its input) go in one [`WriteBatch`],
//! which both implementations apply atomically. A prover's fetched input is written
//! before the record that marks its job accepted, by the fetch task off the core.
//!
//! Records are JSON (`serde`), with protocol messages kept as their protobuf bytes in
//! hex, so a record decodes with the same checks as a message from the network.

mod memory;
pub mod records;
mod rocks;

use std::sync::Arc;

pub use memory::MemoryStore;
pub use records::{
    BatchRecord, BatchState, ClientJob, ClientState, DeadlineState, FollowerRecord, LeafState,
    WatchedDeadline, WatchedLeaf, Work, WorkState,
};
pub use rocks::RocksStore;

use provernet_protocol::JobId;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The column families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// The client's jobs, by the job id the user was given.
    ClientJobs,
    /// The prover's accepted work, by job id.
    Work,
    /// The prover's batches, by sequence number (big-endian u64).
    Batches,
    /// Job inputs (the witness bytes), by job id: the client's to serve, the prover's to
    /// prove after a restart.
    Inputs,
    /// Counters (the next nonce, the next batch sequence number), the layout version and
    /// the chain follower's position.
    Meta,
    /// A watchtower's committed leaves, by batch id and index (big-endian).
    WatchLeaves,
    /// The accepted jobs whose deadline a watchtower (or the job's client) watches, by
    /// prover, client and job id.
    WatchDeadlines,
    /// The accounts the chain follower has seen: every registered prover (`p` and the
    /// address) and every depositor (`d` and the address), each written once.
    ChainAccounts,
    /// Settled records and when they may leave the disk, by that time (unix ms,
    /// big-endian) and the record ([`Expiring`]).
    Expiry,
}

impl Column {
    /// Every column.
    pub const ALL: [Column; 9] = [
        Self::ClientJobs,
        Self::Work,
        Self::Batches,
        Self::Inputs,
        Self::Meta,
        Self::WatchLeaves,
        Self::WatchDeadlines,
        Self::ChainAccounts,
        Self::Expiry,
    ];

    /// The column family's name in RocksDB.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ClientJobs => "client_jobs",
            Self::Work => "work",
            Self::Batches => "batches",
            Self::Inputs => "inputs",
            Self::Meta => "meta",
            Self::WatchLeaves => "watch_leaves",
            Self::WatchDeadlines => "watch_deadlines",
            Self::ChainAccounts => "chain_accounts",
            Self::Expiry => "expiry",
        }
    }
}

/// Why the store failed. None of these is a peer's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed (disk, corruption, a lock held by another process).
    #[error("database error: {0}")]
    Db(String),
    /// A record does not decode: the database was written by an incompatible version.
    #[error("record {column}/{key} does not decode: {reason}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// The key, hex.
        key: String,
        /// Why.
        reason: String,
    },
    /// The store was written by a newer build, in a layout this one does not know.
    #[error(
        "the database was written by a newer provernet (schema {found}; this build reads up to {supported}): run that version, or start on a new data dir"
    )]
    Schema {
        /// The store's version.
        found: u64,
        /// The highest this build reads.
        supported: u64,
    },
}

/// The version of the records' layout this build writes and reads. A store from before
/// versions were kept is of version 1; version 2 added the `chain_accounts` and `expiry`
/// columns. A store of a later version (written by a newer build) is refused at start
/// rather than misread; one of an earlier version is brought up to this one.
pub const SCHEMA_VERSION: u64 = 2;
const SCHEMA: &[u8] = b"schema_version";

/// What an account the chain follower has seen is to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainAccount {
    /// A prover that registered: its stake is read again at start.
    Prover,
    /// An account that deposited (`service::admission`).
    Depositor,
}

/// A settled record that leaves the disk after the retention period, with what belongs
/// to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiring {
    /// A client's job (paid or failed) and its input.
    ClientJob(JobId),
    /// A prover's work (released, or in a claimed batch) and its input.
    Work(JobId),
    /// A prover's claimed batch.
    Batch(u64),
}

impl Expiring {
    fn key(self, at_ms: u64) -> Vec<u8> {
        let mut key = at_ms.to_be_bytes().to_vec();
        match self {
            Self::ClientJob(id) => {
                key.push(b'c');
                key.extend_from_slice(&id.0);
            }
            Self::Work(id) => {
                key.push(b'w');
                key.extend_from_slice(&id.0);
            }
            Self::Batch(seq) => {
                key.push(b'b');
                key.extend_from_slice(&seq.to_be_bytes());
            }
        }
        key
    }

    fn parse(key: &[u8]) -> Option<(u64, Self)> {
        let (at, rest) = key.split_at_checked(8)?;
        let at = u64::from_be_bytes(at.try_into().ok()?);
        let (&tag, id) = rest.split_first()?;
        let expiring = match tag {
            b'c' => Self::ClientJob(JobId(id.try_into().ok()?)),
            b'w' => Self::Work(JobId(id.try_into().ok()?)),
            b'b' => Self::Batch(u64::from_be_bytes(id.try_into().ok()?)),
            _ => return None,
        };
        Some((at, expiring))
    }
}

/// A mark in [`Column::Expiry`] whose time has come: its key, and the record it names
/// (`None` for a key of another shape).
pub type Expired = (Vec<u8>, Option<Expiring>);

impl ChainAccount {
    fn key(self, address: [u8; 20]) -> Vec<u8> {
        let mut key = Vec::with_capacity(21);
        key.push(match self {
            Self::Prover => b'p',
            Self::Depositor => b'd',
        });
        key.extend_from_slice(&address);
        key
    }

    fn parse(key: &[u8]) -> Option<(Self, [u8; 20])> {
        let (&kind, address) = key.split_first()?;
        let kind = match kind {
            b'p' => Self::Prover,
            b'd' => Self::Depositor,
            _ => return None,
        };
        Some((kind, address.try_into().ok()?))
    }
}

/// Key-value pairs of a column, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// One change of a [`WriteBatch`].
#[derive(Clone, Debug)]
pub enum Op {
    /// Set `key` to `value`.
    Put(Column, Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Column, Vec<u8>),
}

/// Changes applied all together or not at all.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    ops: Vec<Op>,
}

impl WriteBatch {
    /// Sets a raw value.
    pub fn put_raw(&mut self, column: Column, key: &[u8], value: Vec<u8>) -> &mut Self {
        self.ops.push(Op::Put(column, key.to_vec(), value));
        self
    }

    /// Sets a record.
    pub fn put<T: Serialize>(&mut self, column: Column, key: &[u8], value: &T) -> &mut Self {
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        self.put_raw(column, key, bytes)
    }

    /// Removes a key.
    pub fn delete(&mut self, column: Column, key: &[u8]) -> &mut Self {
        self.ops.push(Op::Delete(column, key.to_vec()));
        self
    }

    /// The changes, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A key-value store with column families and atomic batches.
pub trait KvStore: Send + Sync + 'static {
    /// The value of `key`.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Applies every change of `batch`, atomically.
    ///
    /// # Errors
    /// [`StoreError::Db`]; then nothing was written.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// What the store holds in memory, by kind (bytes, or a count where the kind says
    /// so); nothing for a store that does not report it.
    fn held(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Compacts `column` if it is small: its in-memory table written out and all its
    /// files merged into one sorted run, dropping the versions and deletions they
    /// supersede; whether it did (a large column is left to the store's own merging,
    /// which rewrites a level only when it is full). Blocking; nothing to do for a store
    /// that keeps no such files.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    fn compact(&self, _column: Column) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Every entry of `column` in key order.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    fn scan(&self, column: Column) -> Result<Entries, StoreError> {
        self.scan_page(column, None, usize::MAX)
    }

    /// At most `limit` entries of `column` in key order, from the first key after `after`
    /// (from the first key when `None`): a page, read without the rest of the column.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    fn scan_page(
        &self,
        column: Column,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError>;
}

/// Typed records over a [`KvStore`].
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn KvStore>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

const NEXT_NONCE: &[u8] = b"next_nonce";
const NEXT_BATCH: &[u8] = b"next_batch";
const FOLLOWER: &[u8] = b"follower";
const RETENTION_MARKED: &[u8] = b"retention_marked";

impl Store {
    /// Typed access to `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// An in-memory store.
    pub fn memory() -> Self {
        Self::new(Arc::new(MemoryStore::default()))
    }

    fn decode<T: DeserializeOwned>(
        column: Column,
        key: &[u8],
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
            column: column.name(),
            key: provernet_protocol::primitives::to_hex(key),
            reason: e.to_string(),
        })
    }

    fn get<T: DeserializeOwned>(
        &self,
        column: Column,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.kv
            .get(column, key)?
            .map(|bytes| Self::decode(column, key, &bytes))
            .transpose()
    }

    /// Every record of `column` that decodes. One that does not (a check tightened since
    /// it was written) is logged at ERROR and left out: it never stops a node from
    /// starting on the rest of its records.
    fn all<T: DeserializeOwned>(&self, column: Column) -> Result<Vec<T>, StoreError> {
        Ok(self
            .kv
            .scan(column)?
            .iter()
            .filter_map(|(key, bytes)| match Self::decode(column, key, bytes) {
                Ok(record) => Some(record),
                Err(error) => {
                    tracing::error!(target: "store", %error, "a record that does not decode is left out");
                    None
                }
            })
            .collect())
    }

    /// Checks the store's layout version at start: a new store (or one from before
    /// versions) is marked with [`SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`StoreError::Schema`] for a store written by a newer build; [`StoreError::Db`].
    pub fn check_schema(&self) -> Result<(), StoreError> {
        let raw = self.kv.get(Column::Meta, SCHEMA)?;
        let version = match raw.as_deref().map(<[u8; 8]>::try_from) {
            None => 0,
            Some(Ok(bytes)) => u64::from_be_bytes(bytes),
            Some(Err(_)) => {
                return Err(StoreError::Corrupt {
                    column: Column::Meta.name(),
                    key: provernet_protocol::primitives::to_hex(SCHEMA),
                    reason: "the schema version is not 8 bytes".into(),
                });
            }
        };
        match version {
            // New, or of an earlier layout: the changes since are read as they come
            // (version 2: settled records marked at the first start, `service::resume`;
            // the follower's accounts moved to their own column, `service::cursor`).
            found if found < SCHEMA_VERSION => {
                let mut batch = WriteBatch::default();
                batch.put_raw(Column::Meta, SCHEMA, SCHEMA_VERSION.to_be_bytes().to_vec());
                self.write(batch)
            }
            found if found > SCHEMA_VERSION => Err(StoreError::Schema {
                found,
                supported: SCHEMA_VERSION,
            }),
            _ => Ok(()),
        }
    }

    /// Applies `batch` atomically.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.kv.write(batch)
    }

    /// What the store holds in memory ([`KvStore::held`]).
    pub fn held(&self) -> Vec<(&'static str, u64)> {
        self.kv.held()
    }

    /// See [`KvStore::compact`]. Blocking: run it off the async workers.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn compact(&self, column: Column) -> Result<bool, StoreError> {
        self.kv.compact(column)
    }

    /// A client job by the id its user was given.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn client_job(&self, id: &JobId) -> Result<Option<ClientJob>, StoreError> {
        self.get(Column::ClientJobs, &id.0)
    }

    /// Every client job.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn client_jobs(&self) -> Result<Vec<ClientJob>, StoreError> {
        self.all(Column::ClientJobs)
    }

    /// At most `limit` client jobs in id order, from the first id after `after`.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn client_jobs_page(
        &self,
        after: Option<&JobId>,
        limit: usize,
    ) -> Result<Vec<ClientJob>, StoreError> {
        let column = Column::ClientJobs;
        self.kv
            .scan_page(column, after.map(|id| id.0.as_slice()), limit)?
            .iter()
            .map(|(key, bytes)| Self::decode(column, key, bytes))
            .collect()
    }

    /// Every piece of prover work.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn works(&self) -> Result<Vec<Work>, StoreError> {
        self.all(Column::Work)
    }

    /// Every batch.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        self.all(Column::Batches)
    }

    /// One of the prover's batches, by sequence number.
    ///
    /// # Errors
    /// The database's, or a record that does not decode.
    pub fn batch(&self, seq: u64) -> Result<Option<BatchRecord>, StoreError> {
        self.get(Column::Batches, &seq.to_be_bytes())
    }

    /// Every leaf a watchtower keeps.
    ///
    /// # Errors
    /// The database's, or a record that does not decode.
    pub fn watched_leaves(&self) -> Result<Vec<WatchedLeaf>, StoreError> {
        self.all(Column::WatchLeaves)
    }

    /// Every deadline a watchtower (or client) keeps.
    ///
    /// # Errors
    /// The database's, or a record that does not decode.
    pub fn watched_deadlines(&self) -> Result<Vec<WatchedDeadline>, StoreError> {
        self.all(Column::WatchDeadlines)
    }

    /// One piece of prover work, by job id.
    ///
    /// # Errors
    /// [`StoreError`].
    pub fn work(&self, id: &JobId) -> Result<Option<Work>, StoreError> {
        self.get(Column::Work, &id.0)
    }

    /// A job's inputs.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn input(&self, id: &JobId) -> Result<Option<Vec<u8>>, StoreError> {
        self.kv.get(Column::Inputs, &id.0)
    }

    /// A counter's value (0 when never set).
    fn counter(&self, key: &[u8]) -> Result<u64, StoreError> {
        Ok(self
            .kv
            .get(Column::Meta, key)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// The next unused nonce; `batch` must store [`Store::set_next_nonce`] with it.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn next_nonce(&self) -> Result<u64, StoreError> {
        self.counter(NEXT_NONCE)
    }

    /// The next unused batch sequence number.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn next_batch_seq(&self) -> Result<u64, StoreError> {
        self.counter(NEXT_BATCH)
    }

    /// Where the chain follower stood when it last stored its position.
    ///
    /// # Errors
    /// [`StoreError::Db`], [`StoreError::Corrupt`].
    pub fn follower(&self) -> Result<Option<FollowerRecord>, StoreError> {
        self.get(Column::Meta, FOLLOWER)
    }

    /// Whether the settled records were marked to leave the disk: a store written before
    /// retention was not, and is marked once at start (`service::resume`).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn retention_marked(&self) -> Result<bool, StoreError> {
        Ok(self.kv.get(Column::Meta, RETENTION_MARKED)?.is_some())
    }

    /// Up to `limit` settled records whose time to leave the disk has come by `now_ms`,
    /// after the mark `after` (from the first when `None`), earliest first, each with its
    /// key in [`Column::Expiry`]; a key of another shape is returned as `None`, to be
    /// removed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn expired(
        &self,
        now_ms: u64,
        limit: usize,
        after: Option<&[u8]>,
    ) -> Result<Vec<Expired>, StoreError> {
        Ok(self
            .kv
            .scan_page(Column::Expiry, after, limit)?
            .into_iter()
            .map(|(key, _)| {
                let parsed = Expiring::parse(&key);
                (key, parsed)
            })
            .take_while(|(_, parsed)| parsed.is_none_or(|(at, _)| at <= now_ms))
            .map(|(key, parsed)| (key, parsed.map(|(_, expiring)| expiring)))
            .collect())
    }

    /// Every account the chain follower has seen, by kind; a key of another shape is
    /// left out.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub fn chain_accounts(&self) -> Result<Vec<(ChainAccount, [u8; 20])>, StoreError> {
        Ok(self
            .kv
            .scan(Column::ChainAccounts)?
            .into_iter()
            .filter_map(|(key, _)| ChainAccount::parse(&key))
            .collect())
    }
}

/// Typed puts for a [`WriteBatch`].
impl WriteBatch {
    /// Stores a client job.
    pub fn client_job(&mut self, job: &ClientJob) -> &mut Self {
        self.put(Column::ClientJobs, &job.id.0, job)
    }

    /// Stores prover work.
    pub fn work(&mut self, work: &Work) -> &mut Self {
        self.put(Column::Work, &work.job_id.0, work)
    }

    /// Stores a batch.
    pub fn batch(&mut self, batch: &BatchRecord) -> &mut Self {
        self.put(Column::Batches, &batch.seq.to_be_bytes(), batch)
    }

    /// Stores a job's inputs.
    pub fn input(&mut self, id: &JobId, input: &[u8]) -> &mut Self {
        self.put_raw(Column::Inputs, &id.0, input.to_vec())
    }

    /// Writes a watched leaf.
    pub fn watched_leaf(&mut self, leaf: &WatchedLeaf) -> &mut Self {
        self.put(Column::WatchLeaves, &leaf.key(), leaf)
    }

    /// Writes a watched deadline.
    pub fn watched_deadline(&mut self, watch: &WatchedDeadline) -> &mut Self {
        self.put(Column::WatchDeadlines, &watch.key(), watch)
    }

    /// Moves the nonce counter past `used`.
    pub fn set_next_nonce(&mut self, next: u64) -> &mut Self {
        self.put_raw(Column::Meta, NEXT_NONCE, next.to_be_bytes().to_vec())
    }

    /// Moves the batch counter past `used`.
    pub fn set_next_batch_seq(&mut self, next: u64) -> &mut Self {
        self.put_raw(Column::Meta, NEXT_BATCH, next.to_be_bytes().to_vec())
    }

    /// Stores where the chain follower stands.
    pub fn follower(&mut self, record: &FollowerRecord) -> &mut Self {
        self.put(Column::Meta, FOLLOWER, record)
    }

    /// Marks a settled record to leave the disk at `at_ms` (`service::retention`).
    pub fn expire(&mut self, expiring: Expiring, at_ms: u64) -> &mut Self {
        self.put_raw(Column::Expiry, &expiring.key(at_ms), Vec::new())
    }

    /// Records that the settled records are marked to leave the disk.
    pub fn retention_marked(&mut self) -> &mut Self {
        self.put_raw(Column::Meta, RETENTION_MARKED, vec![1])
    }

    /// Removes a settled record and what belongs to it (not its mark).
    pub fn remove(&mut self, expiring: Expiring) -> &mut Self {
        match expiring {
            Expiring::ClientJob(id) => self
                .delete(Column::ClientJobs, &id.0)
                .delete(Column::Inputs, &id.0),
            Expiring::Work(id) => self
                .delete(Column::Work, &id.0)
                .delete(Column::Inputs, &id.0),
            Expiring::Batch(seq) => self.delete(Column::Batches, &seq.to_be_bytes()),
        }
    }

    /// Removes a settled record (when given), what belongs to it, and its mark (`key`).
    pub fn forget(&mut self, key: &[u8], expiring: Option<Expiring>) -> &mut Self {
        if let Some(expiring) = expiring {
            self.remove(expiring);
        }
        self.delete(Column::Expiry, key)
    }
    /// Stores an account the chain follower has seen.
    pub fn chain_account(&mut self, kind: ChainAccount, address: [u8; 20]) -> &mut Self {
        self.put_raw(Column::ChainAccounts, &kind.key(address), Vec::new())
    }

    /// Forgets an account the chain follower had seen (of another chain or market).
    pub fn forget_chain_account(&mut self, kind: ChainAccount, address: [u8; 20]) -> &mut Self {
        self.delete(Column::ChainAccounts, &kind.key(address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(kv: Arc<dyn KvStore>) {
        let store = Store::new(kv);
        assert_eq!(store.next_nonce().expect("read"), 0);
        let mut batch = WriteBatch::default();
        batch
            .set_next_nonce(7)
            .input(&JobId([1; 32]), b"abc")
            .put_raw(Column::Meta, b"x", vec![1]);
        store.write(batch).expect("write");
        assert_eq!(store.next_nonce().expect("read"), 7);
        assert_eq!(
            store.input(&JobId([1; 32])).expect("read"),
            Some(b"abc".to_vec())
        );
        let mut batch = WriteBatch::default();
        batch.delete(Column::Meta, b"x");
        store.write(batch).expect("write");
        assert_eq!(store.kv.get(Column::Meta, b"x").expect("read"), None);
        assert_eq!(store.kv.scan(Column::Meta).expect("scan").len(), 1);
        // A record that does not decode says where it is, and a load of its column
        // leaves it out.
        let mut batch = WriteBatch::default();
        batch.put_raw(Column::Work, &[9; 32], b"not json".to_vec());
        store.write(batch).expect("write");
        assert!(matches!(
            store.get::<Work>(Column::Work, &[9; 32]),
            Err(StoreError::Corrupt { column: "work", .. })
        ));
        assert!(store.works().expect("loads").is_empty());
        // Pages of a column: in key order, each from the key after the last one read.
        let mut batch = WriteBatch::default();
        for key in [1u8, 3, 5, 7, 9] {
            batch.put_raw(Column::Inputs, &[key; 32], vec![key]);
        }
        store.write(batch).expect("write");
        let page = |after: Option<&[u8]>, limit| {
            store
                .kv
                .scan_page(Column::Inputs, after, limit)
                .expect("page")
                .into_iter()
                .map(|(_, v)| v[0])
                .collect::<Vec<u8>>()
        };
        assert_eq!(page(None, 2), vec![1, 3]);
        assert_eq!(page(Some(&[3; 32]), 2), vec![5, 7]);
        // From a key that is not in the column: the next one.
        assert_eq!(page(Some(&[4; 32]), 10), vec![5, 7, 9]);
        assert_eq!(page(Some(&[9; 32]), 10), Vec::<u8>::new());
        assert_eq!(page(None, 0), Vec::<u8>::new());
    }

    #[test]
    fn memory_store_keeps_what_it_is_given() {
        exercise(Arc::new(MemoryStore::default()));
    }

    #[test]
    fn rocks_store_keeps_what_it_is_given_across_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        exercise(Arc::new(RocksStore::open(dir.path()).expect("open")));
        let store = Store::new(Arc::new(RocksStore::open(dir.path()).expect("reopen")));
        assert_eq!(store.next_nonce().expect("read"), 7);
        // A second process cannot open the same database.
        assert!(RocksStore::open(dir.path()).is_err());
    }

    #[test]
    fn a_newer_schema_is_refused_and_a_record_that_no_longer_decodes_is_left_out() {
        let store = Store::memory();
        store.check_schema().expect("a new store is marked");
        assert_eq!(store.counter(SCHEMA).expect("read"), SCHEMA_VERSION);
        store.check_schema().expect("and opens again");
        // A store of version 1 (before the accounts and expiry columns) is brought up.
        let mut batch = WriteBatch::default();
        batch.put_raw(Column::Meta, SCHEMA, 1u64.to_be_bytes().to_vec());
        store.write(batch).expect("write");
        store.check_schema().expect("an earlier version opens");
        assert_eq!(store.counter(SCHEMA).expect("read"), SCHEMA_VERSION);
        let mut batch = WriteBatch::default();
        batch.put_raw(
            Column::Meta,
            SCHEMA,
            (SCHEMA_VERSION + 1).to_be_bytes().to_vec(),
        );
        store.write(batch).expect("write");
        assert!(matches!(
            store.check_schema(),
            Err(StoreError::Schema { found, .. }) if found == SCHEMA_VERSION + 1
        ));
        // A work record that a later rule refuses: left out, and the load goes on.
        let mut batch = WriteBatch::default();
        batch.put_raw(Column::Work, &[1; 32], b"{\"job_id\": 7}".to_vec());
        store.write(batch).expect("write");
        assert!(store.works().expect("loads").is_empty());
    }
}
