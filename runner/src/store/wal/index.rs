//! The WAL's in-memory per-stream index: for every stream its trim point,
//! its tail, and where each live batch lies (segment and byte position).
//! Rebuilt by recovery on open, extended by the writer, shrunk by trims.
//!
//! One entry per batch, not per record, keeps it small and the append path
//! cheap; a read finds its batch by binary search and skips records inside.

use std::collections::{HashMap, VecDeque};

use crate::store::api::Offset;

/// Where one batch frame lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchLoc {
    /// Offset of the batch's first record.
    pub(crate) first: Offset,
    /// Records in the batch.
    pub(crate) count: u32,
    /// Segment holding the frame.
    pub(crate) seg: u64,
    /// Byte position of the frame in the segment file.
    pub(crate) pos: u64,
    /// Frame length in bytes.
    pub(crate) len: u32,
}

impl BatchLoc {
    /// One past the batch's last offset.
    pub(crate) fn end(&self) -> Offset {
        self.first + u64::from(self.count)
    }
}

/// One stream's visible extent and live batches.
#[derive(Debug, Default, Clone)]
pub(crate) struct StreamIndex {
    /// First visible offset.
    pub(crate) trim_point: Offset,
    /// The offset the next append gets.
    pub(crate) tail: Offset,
    /// Batches that still hold a visible record, in offset order.
    pub(crate) batches: VecDeque<BatchLoc>,
}

/// All streams.
pub(crate) type Index = HashMap<u64, StreamIndex>;

impl StreamIndex {
    /// Adds a batch that starts at the tail; batches wholly below the trim
    /// point (possible during recovery) only move the tail.
    pub(crate) fn push(&mut self, loc: BatchLoc) {
        debug_assert_eq!(loc.first, self.tail, "batches are pushed in offset order");
        self.tail = loc.end();
        if loc.end() > self.trim_point {
            self.batches.push_back(loc);
        }
    }

    /// Moves the trim point to `up_to` clamped to the tail; returns false
    /// when it would not move forward.
    pub(crate) fn trim(&mut self, up_to: Offset) -> bool {
        let up_to = up_to.min(self.tail);
        if up_to <= self.trim_point {
            return false;
        }
        self.set_trim_point(up_to);
        true
    }

    /// Sets the trim point (recovery: may exceed the recovered tail, which
    /// then moves up to it) and drops batches wholly below it.
    pub(crate) fn set_trim_point(&mut self, t: Offset) {
        self.trim_point = self.trim_point.max(t);
        self.tail = self.tail.max(self.trim_point);
        while self
            .batches
            .front()
            .is_some_and(|b| b.end() <= self.trim_point)
        {
            self.batches.pop_front();
        }
    }

    /// Index in `batches` of the batch holding `offset` (which must lie in
    /// `trim_point..tail`).
    pub(crate) fn locate(&self, offset: Offset) -> usize {
        self.batches.partition_point(|b| b.end() <= offset)
    }

    /// The lowest segment a live batch of this stream is in.
    pub(crate) fn first_segment(&self) -> Option<u64> {
        self.batches.front().map(|b| b.seg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(first: Offset, count: u32, seg: u64) -> BatchLoc {
        BatchLoc {
            first,
            count,
            seg,
            pos: 0,
            len: 40,
        }
    }

    #[test]
    fn locate_trim_and_first_segment() {
        let mut s = StreamIndex::default();
        s.push(loc(0, 3, 1));
        s.push(loc(3, 1, 1));
        s.push(loc(4, 5, 2));
        assert_eq!(s.tail, 9);
        assert_eq!(s.locate(0), 0);
        assert_eq!(s.locate(2), 0);
        assert_eq!(s.locate(3), 1);
        assert_eq!(s.locate(8), 2);
        assert!(s.trim(4));
        assert_eq!(s.first_segment(), Some(2));
        assert!(!s.trim(2), "trim never goes back");
        assert!(s.trim(100));
        assert_eq!(
            (s.trim_point, s.tail),
            (9, 9),
            "trim is clamped to the tail"
        );
        assert_eq!(s.first_segment(), None);
        let mut r = StreamIndex::default();
        r.set_trim_point(20);
        assert_eq!(
            (r.trim_point, r.tail),
            (20, 20),
            "recovery: tail never below the trim point"
        );
    }
}
