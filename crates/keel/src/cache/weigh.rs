//! What a decoded value holds on the heap, so the memo of decoded values
//! (`Memo` in `cache`) can be bounded by bytes rather than by entries: a
//! decoded value can weigh several times its JSON (every short string is a
//! 24-byte handle and an allocation), so counting the JSON alone would let
//! the memo hold far more than its bound says.

/// Bytes a value owns on the heap (not counting its own `size_of`).
/// An estimate on the high side is fine; one on the low side is a bug.
pub trait HeapSize {
    fn heap_size(&self) -> usize;
}

/// What the allocator adds to each allocation, on the high side.
const PER_ALLOCATION: usize = 16;

macro_rules! no_heap {
    ($($t:ty),*) => { $(impl HeapSize for $t { fn heap_size(&self) -> usize { 0 } })* };
}
no_heap!(bool, u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, usize, isize);

impl HeapSize for String {
    fn heap_size(&self) -> usize {
        if self.capacity() == 0 {
            0
        } else {
            self.capacity() + PER_ALLOCATION
        }
    }
}

impl<T: HeapSize> HeapSize for Vec<T> {
    fn heap_size(&self) -> usize {
        let own = if self.capacity() == 0 {
            0
        } else {
            self.capacity() * std::mem::size_of::<T>() + PER_ALLOCATION
        };
        own + self.iter().map(HeapSize::heap_size).sum::<usize>()
    }
}

impl<T: HeapSize> HeapSize for Option<T> {
    fn heap_size(&self) -> usize {
        self.as_ref().map_or(0, HeapSize::heap_size)
    }
}

impl HeapSize for serde_json::Value {
    fn heap_size(&self) -> usize {
        use serde_json::Value;
        match self {
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
            Value::String(s) => s.heap_size(),
            Value::Array(items) => items.heap_size(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    // A map node per entry: the key, the value, links.
                    let node = std::mem::size_of::<String>() + std::mem::size_of::<Value>() + 4 * PER_ALLOCATION;
                    node + k.heap_size() + v.heap_size()
                })
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_vectors_count_their_allocations() {
        let cases: &[(Vec<String>, usize, &str)] = &[
            (Vec::new(), 0, "an empty vector owns nothing"),
            (vec![String::new()], 24, "one empty string: its handle"),
            (
                vec!["a".to_owned(); 10],
                240 + 10,
                "ten short strings: handles and bytes",
            ),
        ];
        for (value, at_least, why) in cases {
            assert!(value.heap_size() >= *at_least, "{why}: {}", value.heap_size());
        }
    }

    /// Many distinct decoded values of short strings (the worst ratio of
    /// decoded to encoded size) stay within the memo's byte bound, counted
    /// with their decoded heap, not only their JSON.
    #[test]
    fn the_memo_of_decoded_values_stays_within_its_byte_bound() {
        let memo = super::super::Memo::new();
        let mut weighed_more_than_json = false;
        for i in 0..2_000 {
            let strings: Vec<String> = (0..1_000).map(|j| format!("{i}-{j}")).collect();
            let json = bytes::Bytes::from(serde_json::to_vec(&strings).unwrap());
            let decoded = memo.decode::<Vec<String>>(json.clone(), 0).unwrap();
            assert_eq!(*decoded, strings);
            weighed_more_than_json |= decoded.heap_size() > 2 * json.len();
        }
        memo.0.run_pending_tasks();
        let held = memo.0.weighted_size();
        assert!(held <= super::super::MEMO_CAPACITY_BYTES, "{held} bytes held");
        assert!(weighed_more_than_json, "short strings weigh more decoded than as JSON");
    }
}
