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

    fn held(&self) -> Vec<(&'static str, u64)> {
        let mut memtables = 0u64;
        let mut table_readers = 0u64;
        let mut table_files = 0u64;
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
            for level in 0..LEVELS {
                let name = rocksdb::properties::num_files_at_level(level);
                table_files += read(&name);
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
