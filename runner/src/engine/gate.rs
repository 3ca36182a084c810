//! [`StartGate`]: the line every worker of a phase waits behind so they
//! start together — a barrier that can also be opened early.
//!
//! A `std::sync::Barrier` sized for every planned worker waits forever when
//! one of them could not be started (a failed thread spawn under a process
//! limit): the phase deadlocked and Ctrl-C could not end it. The gate opens
//! when every expected party has arrived *or* when the orchestrator calls
//! [`StartGate::open`] after a failed spawn; the workers that did start
//! then see the phase's stop flag and return at once.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

/// A start line for `parties` threads that can be opened before all arrive.
#[derive(Debug)]
pub(crate) struct StartGate {
    parties: usize,
    state: Mutex<GateState>,
    opened: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    arrived: usize,
    /// When the gate opened: the phase's time zero for every party.
    opened_at: Option<Instant>,
}

impl StartGate {
    /// A closed gate that opens when `parties` threads have called [`wait`](Self::wait).
    pub(crate) fn new(parties: usize) -> Self {
        StartGate {
            parties,
            state: Mutex::new(GateState::default()),
            opened: Condvar::new(),
        }
    }

    /// Arrives at the gate and blocks until it is open; returns the instant
    /// it opened, the same for every party (the phase's time zero, from
    /// which interval boundaries are counted).
    pub(crate) fn wait(&self) -> Instant {
        // A poisoned lock only means another party panicked while holding
        // it; the counters are still meaningful, so carry on.
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.arrived += 1;
        if s.arrived >= self.parties && s.opened_at.is_none() {
            s.opened_at = Some(Instant::now());
            self.opened.notify_all();
        }
        loop {
            if let Some(at) = s.opened_at {
                return at;
            }
            s = self.opened.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Opens the gate now, releasing every party waiting or yet to come.
    pub(crate) fn open(&self) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.opened_at.get_or_insert_with(Instant::now);
        self.opened.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn opens_when_every_party_has_arrived() {
        let gate = Arc::new(StartGate::new(3));
        let passed = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (g, p) = (Arc::clone(&gate), Arc::clone(&passed));
                std::thread::spawn(move || {
                    g.wait();
                    p.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(passed.load(Ordering::SeqCst), 0, "two of three arrived");
        gate.wait();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(passed.load(Ordering::SeqCst), 2);
    }

    /// Guards issue 18 item 4: a party that never arrives (its thread could
    /// not be spawned) must not keep the others waiting forever.
    #[test]
    fn opening_early_releases_parties_that_would_wait_for_a_missing_one() {
        let gate = Arc::new(StartGate::new(4));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let g = Arc::clone(&gate);
                std::thread::spawn(move || g.wait())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        gate.open();
        for h in handles {
            h.join().unwrap();
        }
        // A late arrival passes straight through an open gate, with the
        // instant it opened.
        let at = gate.wait();
        assert_eq!(gate.wait(), at);
    }
}
