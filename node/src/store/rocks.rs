//! The RocksDB [`KvStore`].
//!
//! Writes go through RocksDB's write-ahead log without `fsync`: a killed process (kill -9)
//! loses nothing, since the log is in the OS's page cache; a power cut may lose the last
//! writes, which the node recovers from the chain (commitments and payments are read
//! back before anything is sent again).

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, DB, IteratorMode, Options};

use super::{Column, Entries, KvStore, Op, StoreError, WriteBatch};

/// A RocksDB database with one column family per [`Column`].
pub struct RocksStore {
    db: DB,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn db_error(error: rocksdb::Error) -> StoreError {
    StoreError::Db(error.into_string())
}

impl RocksStore {
    /// Opens (or creates) the database at `path`.
    ///
    /// # Errors
    /// [`StoreError::Db`], e.g. when another process holds the database.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let families = Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), Options::default()));
        let db = DB::open_cf_descriptors(&options, path, families).map_err(db_error)?;
        Ok(Self { db })
    }

    fn family(&self, column: Column) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(column.name())
            .ok_or_else(|| StoreError::Db(format!("column family {} is missing", column.name())))
    }
}

impl KvStore for RocksStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.family(column)?, key).map_err(db_error)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut write = rocksdb::WriteBatch::default();
        for op in batch.ops {
            match op {
                Op::Put(column, key, value) => write.put_cf(self.family(column)?, key, value),
                Op::Delete(column, key) => write.delete_cf(self.family(column)?, key),
            }
        }
        self.db.write(write).map_err(db_error)
    }

    fn scan_page(
        &self,
        column: Column,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let mode = after.map_or(IteratorMode::Start, |key| {
            IteratorMode::From(key, rocksdb::Direction::Forward)
        });
        self.db
            .iterator_cf(self.family(column)?, mode)
            .filter(|item| !matches!((item, after), (Ok((k, _)), Some(a)) if k.as_ref() == a))
            .take(limit)
            .map(|item| {
                item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(db_error)
            })
            .collect()
    }
}
