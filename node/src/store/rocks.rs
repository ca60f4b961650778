//! The RocksDB [`KvStore`].
//!
//! Writes go through RocksDB's write-ahead log without `fsync`: a killed process (kill -9)
//! loses nothing, since the log is in the OS's page cache; a power cut may lose the last
//! writes, which the node recovers from the chain (commitments and payments are read
//! back before anything is sent again).

use std::path::Path;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, IteratorMode, Options};

use super::{Column, Entries, KvStore, Op, StoreError, WriteBatch};

/// The memtables of all columns together, bytes: past it the largest is flushed.
const WRITE_BUFFERS_BYTES: usize = 16 << 20;
/// One column's memtable, bytes.
const WRITE_BUFFER_BYTES: usize = 4 << 20;
/// Table files RocksDB keeps open at most (the rest are opened when read).
const MAX_OPEN_FILES: i32 = 32;
/// RocksDB's levels (its default `num_levels`).
const LEVELS: usize = 7;
/// The blocks read from table files, kept in memory for all columns together, bytes.
const BLOCK_CACHE_BYTES: usize = 8 << 20;
/// A column whose table files hold more than this, bytes, is not compacted by
/// [`KvStore::compact`]: each compaction rewrites the column whole.
const COMPACT_MAX_BYTES: u64 = 64 << 20;

/// A RocksDB database with one column family per [`Column`].
pub struct RocksStore {
    db: DB,
    /// The block cache all columns share (its usage is reported by [`KvStore::held`]).
    cache: Cache,
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
        // Memory and files bounded whatever the node's age: records are rewritten at
        // each state change, and each version stays in a memtable until it is flushed
        // (64 MiB per column by default, nine columns). One budget for all columns, and
        // table files kept open up to a limit.
        options.set_db_write_buffer_size(WRITE_BUFFERS_BYTES);
        options.set_max_open_files(MAX_OPEN_FILES);
        // Every column the database has, ours and any a newer build added: RocksDB opens
        // none unless all are named, and the schema check then says what is wrong.
        let mut names: Vec<String> = Column::ALL.iter().map(|c| c.name().to_owned()).collect();
        for existing in DB::list_cf(&options, path).unwrap_or_default() {
            if !names.contains(&existing) {
                names.push(existing);
            }
        }
        // A bloom filter per table file: a read of a key that is not there (a peer may
        // name any job) is answered without reading the file's blocks.
        let mut tables = BlockBasedOptions::default();
        tables.set_bloom_filter(10.0, false);
        // One block cache for every column, holding the table files' index and filter
        // blocks too: without it each column gets its own 32 MiB cache, filled as the
        // data grows, and the open files' indexes and filters sit beside it.
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        tables.set_block_cache(&cache);
        tables.set_cache_index_and_filter_blocks(true);
        tables.set_pin_l0_filter_and_index_blocks_in_cache(true);
        let families = names.into_iter().map(|name| {
            let mut column = Options::default();
            column.set_write_buffer_size(WRITE_BUFFER_BYTES);
            column.set_block_based_table_factory(&tables);
            ColumnFamilyDescriptor::new(name, column)
        });
        let db = DB::open_cf_descriptors(&options, path, families).map_err(db_error)?;
        Ok(Self { db, cache })
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

    /// The column's memtable flushed and its files merged into one sorted run (keys are
    /// hashes, so new data overlaps every file below it: the merge rewrites the column
    /// whole, which is why only a column of at most [`COMPACT_MAX_BYTES`] is). A small
    /// column ends with a table file or so, however many versions and deletions were
    /// written since the last time. RocksDB reports no error from a manual compaction:
    /// one that fails leaves the files as they were.
    fn compact(&self, column: Column) -> Result<bool, StoreError> {
        let family = self.family(column)?;
        let size = self
            .db
            .property_int_value_cf(family, rocksdb::properties::LIVE_SST_FILES_SIZE)
            .map_err(db_error)?
            .unwrap_or(u64::MAX);
        if size > COMPACT_MAX_BYTES {
            return Ok(false);
        }
        self.db
            .compact_range_cf(family, None::<&[u8]>, None::<&[u8]>);
        Ok(true)
    }

    fn held(&self) -> Vec<(&'static str, u64)> {
        let mut memtables = 0u64;
        let mut table_readers = 0u64;
        let mut table_files = 0u64;
        let levels: Vec<_> = (0..LEVELS)
            .map(rocksdb::properties::num_files_at_level)
            .collect();
        for column in Column::ALL {
            let Ok(family) = self.family(column) else {
                continue;
            };
            let read = |name: &rocksdb::properties::PropName| {
                self.db
                    .property_int_value_cf(family, name)
                    .ok()
                    .flatten()
                    .unwrap_or(0)
            };
            memtables += read(rocksdb::properties::CUR_SIZE_ALL_MEM_TABLES);
            table_readers += read(rocksdb::properties::ESTIMATE_TABLE_READERS_MEM);
            for level in &levels {
                table_files += read(level);
            }
        }
        vec![
            ("memtables_bytes", memtables),
            ("block_cache_bytes", self.cache.get_usage() as u64),
            ("table_readers_bytes", table_readers),
            ("table_files", table_files),
        ]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn held(store: &RocksStore, kind: &str) -> u64 {
        store
            .held()
            .into_iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| n)
    }

    #[test]
    fn a_compaction_leaves_a_file_per_column_however_many_versions_were_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RocksStore::open(dir.path()).expect("open");
        let columns = [Column::ClientJobs, Column::Work, Column::Inputs];
        // A node's life: the same records rewritten at each change of state, some of them
        // removed after their retention, the memtables flushed now and then.
        for round in 0..6u8 {
            let mut batch = WriteBatch::default();
            for column in columns {
                for key in 0..50u8 {
                    batch.put_raw(column, &[key; 32], vec![round; 256]);
                }
                if round == 5 {
                    for key in 0..25u8 {
                        batch.delete(column, &[key; 32]);
                    }
                }
            }
            store.write(batch).expect("write");
            for column in columns {
                store
                    .db
                    .flush_cf(store.family(column).expect("column"))
                    .expect("flush");
            }
        }
        // At least a file per column (more, unless RocksDB merged the flushes already).
        assert!(held(&store, "table_files") >= columns.len() as u64);
        for column in Column::ALL {
            store.compact(column).expect("compacts");
        }
        assert_eq!(held(&store, "table_files"), columns.len() as u64);
        // Everything kept reads as it was written last; the removed records stay gone.
        for column in columns {
            let entries = store.scan(column).expect("scan");
            assert_eq!(entries.len(), 25);
            assert!(entries.iter().all(|(_, v)| *v == vec![5; 256]));
        }
        // Nothing left in memory but what was written since.
        let mut batch = WriteBatch::default();
        batch.put_raw(Column::Meta, b"after", vec![1]);
        store.write(batch).expect("write");
        for column in Column::ALL {
            store.compact(column).expect("compacts again");
        }
        assert!(held(&store, "memtables_bytes") < 64 << 10);
        assert_eq!(held(&store, "table_files"), columns.len() as u64 + 1);
    }
}
