//! An in-memory [`KvStore`] for unit tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{Column, Entries, KvStore, Op, StoreError, WriteBatch};

type Columns = HashMap<Column, BTreeMap<Vec<u8>, Vec<u8>>>;

/// Columns of sorted maps behind one lock, so a batch is applied atomically.
#[derive(Debug, Default)]
pub struct MemoryStore {
    columns: Mutex<Columns>,
}

impl KvStore for MemoryStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let columns = self.columns.lock().unwrap_or_else(|p| p.into_inner());
        Ok(columns.get(&column).and_then(|c| c.get(key)).cloned())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut columns = self.columns.lock().unwrap_or_else(|p| p.into_inner());
        for op in batch.ops {
            match op {
                Op::Put(column, key, value) => {
                    columns.entry(column).or_default().insert(key, value);
                }
                Op::Delete(column, key) => {
                    columns.entry(column).or_default().remove(&key);
                }
            }
        }
        Ok(())
    }

    fn scan_page(
        &self,
        column: Column,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        use std::ops::Bound;
        let columns = self.columns.lock().unwrap_or_else(|p| p.into_inner());
        let from = after.map_or(Bound::Unbounded, |key| Bound::Excluded(key.to_vec()));
        Ok(columns
            .get(&column)
            .map(|c| {
                c.range((from, Bound::Unbounded))
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }
}
