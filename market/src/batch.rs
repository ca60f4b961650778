//! The prover's open batch: leaves wait here until the batch is sealed by size or age.

/// Collects items (leaves with what the node needs to claim them) into batches.
#[derive(Clone, Debug)]
pub struct Batcher<T> {
    max_size: usize,
    max_age_ms: u64,
    open: Vec<T>,
    opened_at_ms: u64,
}

impl<T> Batcher<T> {
    /// Seals at `max_size` items (at least 1) or when the oldest is `max_age_ms` old.
    pub fn new(max_size: usize, max_age_ms: u64) -> Self {
        Self {
            max_size: max_size.max(1),
            max_age_ms,
            open: Vec::new(),
            opened_at_ms: 0,
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Adds an item; returns the sealed batch when it reaches the size.
    pub fn push(&mut self, now_ms: u64, item: T) -> Option<Vec<T>> {
        if self.open.is_empty() {
            self.opened_at_ms = now_ms;
        }
        self.open.push(item);
        (self.open.len() >= self.max_size).then(|| std::mem::take(&mut self.open))
    }

    /// The sealed batch when the oldest item has waited `max_age_ms`, or `deadline_ms` (the
    /// earliest deadline among the waiting items, minus the caller's margin) has come.
    pub fn poll(&mut self, now_ms: u64, earliest_deadline_ms: Option<u64>) -> Option<Vec<T>> {
        if self.open.is_empty() {
            return None;
        }
        let aged = now_ms >= self.opened_at_ms.saturating_add(self.max_age_ms);
        let urgent = earliest_deadline_ms.is_some_and(|d| now_ms >= d);
        (aged || urgent).then(|| std::mem::take(&mut self.open))
    }

    /// The waiting items.
    pub fn items(&self) -> &[T] {
        &self.open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_by_size_age_or_deadline() {
        let mut b = Batcher::new(3, 1_000);
        assert_eq!(b.push(0, 1), None);
        assert_eq!(b.push(10, 2), None);
        assert_eq!(b.push(20, 3), Some(vec![1, 2, 3]));
        assert!(b.is_empty());
        assert_eq!(b.push(100, 4), None);
        assert_eq!(b.poll(1_099, None), None);
        assert_eq!(b.poll(1_100, None), Some(vec![4]));
        assert_eq!(b.push(2_000, 5), None);
        assert_eq!(b.poll(2_001, Some(2_001)), Some(vec![5]));
        assert_eq!(b.poll(5_000, None), None);
    }
}
