//! The work queue's invariants under concurrency and random schedules:
//! - against a model, over random operation sequences on a manual clock (proptest);
//! - with many producers and consumers (threads and tokio tasks) over seeded random
//!   schedules: no item is processed by two workers at once, no item is lost,
//!   duplicates collapse, and shutdown/drain never hang and never drop queued work.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use proptest::prelude::*;
use rkube_runtime::workqueue::{ManualClock, WorkQueue};

// ---------------------------------------------------------------------------------------
// Model check with a controlled clock.

#[derive(Debug, Clone)]
enum Op {
    Add(u8),
    AddAfter(u8, u64),
    Advance(u64),
    Get,
    Done(usize),
    ShutDown,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..8).prop_map(Op::Add),
        3 => ((0u8..8), 0u64..40).prop_map(|(k, d)| Op::AddAfter(k, d)),
        2 => (0u64..25).prop_map(Op::Advance),
        4 => Just(Op::Get),
        3 => (0usize..8).prop_map(Op::Done),
        1 => Just(Op::ShutDown),
    ]
}

/// The reference: client-go's sets and FIFO, and a waiting map with an explicit clock.
#[derive(Default)]
struct Model {
    fifo: Vec<u8>,
    dirty: HashSet<u8>,
    processing: HashSet<u8>,
    waiting: HashMap<u8, (u64, u64)>,
    now: u64,
    seq: u64,
    shutting_down: bool,
}

impl Model {
    fn add(&mut self, k: u8) {
        if self.shutting_down || self.dirty.contains(&k) {
            return;
        }
        self.dirty.insert(k);
        if !self.processing.contains(&k) {
            self.fifo.push(k);
        }
    }
    fn add_after(&mut self, k: u8, d: u64) {
        if self.shutting_down {
            return;
        }
        if d == 0 {
            return self.add(k);
        }
        let at = self.now + d;
        match self.waiting.get(&k) {
            Some(&(old, _)) if old <= at => {}
            _ => {
                self.waiting.insert(k, (at, self.seq));
                self.seq += 1;
            }
        }
    }
    fn advance(&mut self, d: u64) {
        self.now += d;
        let mut due: Vec<(u64, u64, u8)> =
            self.waiting.iter().filter(|(_, (at, _))| *at <= self.now).map(|(k, (at, seq))| (*at, *seq, *k)).collect();
        due.sort();
        for (_, _, k) in due {
            self.waiting.remove(&k);
            self.add(k);
        }
    }
    fn get(&mut self) -> Option<u8> {
        if self.fifo.is_empty() {
            return None;
        }
        let k = self.fifo.remove(0);
        self.dirty.remove(&k);
        self.processing.insert(k);
        Some(k)
    }
    fn done(&mut self, k: u8) {
        self.processing.remove(&k);
        if self.dirty.contains(&k) {
            self.fifo.push(k);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn queue_with_delays_matches_the_model(ops in proptest::collection::vec(op(), 0..150)) {
        let clock = ManualClock::new();
        let q: WorkQueue<u8> = WorkQueue::builder().clock(clock.clone()).build();
        let mut m = Model::default();
        let mut held: Vec<u8> = Vec::new();
        for op in ops {
            match op {
                Op::Add(k) => { q.add(k); m.add(k); }
                Op::AddAfter(k, d) => {
                    q.add_after(k, Duration::from_millis(d));
                    m.add_after(k, d);
                }
                Op::Advance(d) => {
                    clock.advance(Duration::from_millis(d));
                    m.advance(d);
                }
                Op::Get => {
                    let got = q.try_get();
                    prop_assert_eq!(got, m.get());
                    if let Some(k) = got {
                        prop_assert!(!held.contains(&k), "{} handed out twice", k);
                        held.push(k);
                    }
                }
                Op::Done(i) => {
                    if held.is_empty() { continue; }
                    let k = held.remove(i % held.len());
                    q.done(&k);
                    m.done(k);
                }
                Op::ShutDown => {
                    q.shut_down();
                    m.shutting_down = true;
                    m.waiting.clear();
                }
            }
            prop_assert_eq!(q.len(), m.fifo.len());
            prop_assert_eq!(q.delayed(), m.waiting.len());
            prop_assert_eq!(q.processing(), held.len());
        }
        // Drain: everything queued comes out, in the model's order.
        while let Some(k) = q.try_get() {
            prop_assert_eq!(Some(k), m.get());
            q.done(&k);
            m.done(k);
        }
        prop_assert!(m.fifo.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Many producers and consumers.

/// A small deterministic generator for random schedules.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A random pause: nothing, a yield, or a short spin.
    fn pause(&mut self) {
        match self.below(4) {
            0 => {}
            1 => thread::yield_now(),
            _ => {
                for _ in 0..self.below(200) {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

const KEYS: u64 = 16;

/// Shared bookkeeping: logical time stamps of adds and processing starts.
struct Ledger {
    clock: AtomicU64,
    last_add: Vec<AtomicU64>,
    last_start: Vec<AtomicU64>,
    adds: Vec<AtomicU64>,
    runs: Vec<AtomicU64>,
    in_flight: Mutex<HashSet<u64>>,
    violation: AtomicBool,
}

impl Ledger {
    fn new() -> Self {
        let v = || (0..KEYS).map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
        Ledger {
            clock: AtomicU64::new(1),
            last_add: v(),
            last_start: v(),
            adds: v(),
            runs: v(),
            in_flight: Mutex::new(HashSet::new()),
            violation: AtomicBool::new(false),
        }
    }
    fn stamp(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }
    /// Records an add (before it happens, so any processing that sees it starts later).
    fn add(&self, q: &WorkQueue<u64>, k: u64) {
        self.last_add[k as usize].fetch_max(self.stamp(), Ordering::SeqCst);
        self.adds[k as usize].fetch_add(1, Ordering::SeqCst);
        q.add(k);
    }
    fn start(&self, k: u64) {
        self.last_start[k as usize].fetch_max(self.stamp(), Ordering::SeqCst);
        self.runs[k as usize].fetch_add(1, Ordering::SeqCst);
        if !self.in_flight.lock().unwrap().insert(k) {
            self.violation.store(true, Ordering::SeqCst);
        }
    }
    fn finish(&self, k: u64) {
        self.in_flight.lock().unwrap().remove(&k);
    }
}

/// One worker's processing of an item: random pauses, sometimes re-adding the item
/// while holding it, always `done`.
fn process(q: &WorkQueue<u64>, ledger: &Ledger, rng: &mut XorShift, k: u64) {
    ledger.start(k);
    rng.pause();
    if rng.below(4) == 0 {
        ledger.add(q, k);
    }
    rng.pause();
    ledger.finish(k);
    q.done(&k);
}

/// Runs `f` on a thread and fails the test if it does not finish in `secs` (a hang guard,
/// not a timing check).
fn within(secs: u64, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => h.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => h.join().unwrap(), // re-raises its panic
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung for {secs}s"),
    }
}

fn check(ledger: &Ledger) {
    assert!(!ledger.violation.load(Ordering::SeqCst), "an item was processed by two workers at once");
    for k in 0..KEYS as usize {
        let (add, start) = (ledger.last_add[k].load(Ordering::SeqCst), ledger.last_start[k].load(Ordering::SeqCst));
        assert!(add == 0 || start > add, "key {k}: added at {add}, last processed at {start}: an add was lost");
        let (adds, runs) = (ledger.adds[k].load(Ordering::SeqCst), ledger.runs[k].load(Ordering::SeqCst));
        assert!(runs <= adds, "key {k}: {runs} runs for {adds} adds");
    }
}

/// Producers add random keys while thread consumers process them; then the producers
/// stop, the consumers finish the work, and the queue is shut down with drain.
fn stress_threads(seed: u64, producers: usize, consumers: usize, adds_each: usize) {
    within(120, move || {
        let q: WorkQueue<u64> = WorkQueue::new();
        let ledger = Arc::new(Ledger::new());
        let workers: Vec<_> = (0..consumers)
            .map(|c| {
                let (q, ledger) = (q.clone(), ledger.clone());
                thread::spawn(move || {
                    let mut rng = XorShift(seed * 7919 + c as u64 + 1);
                    while let Some(k) = q.get_blocking() {
                        process(&q, &ledger, &mut rng, k);
                    }
                })
            })
            .collect();
        let prods: Vec<_> = (0..producers)
            .map(|p| {
                let (q, ledger) = (q.clone(), ledger.clone());
                thread::spawn(move || {
                    let mut rng = XorShift(seed * 104_729 + p as u64 + 1);
                    for _ in 0..adds_each {
                        ledger.add(&q, rng.below(KEYS));
                        rng.pause();
                    }
                })
            })
            .collect();
        for p in prods {
            p.join().unwrap();
        }
        // Let the consumers empty the queue, then drain what is in flight.
        while !q.is_idle() {
            thread::yield_now();
        }
        q.shut_down_with_drain_blocking();
        for w in workers {
            w.join().unwrap();
        }
        check(&ledger);
    });
}

#[test]
fn many_threads_random_schedules() {
    for seed in 1..=12 {
        stress_threads(seed, 4, 4, 3_000);
    }
    stress_threads(99, 1, 8, 5_000);
    stress_threads(100, 8, 1, 2_000);
}

#[test]
fn tasks_and_threads_together() {
    within(120, || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        for seed in 1..=6u64 {
            let q: WorkQueue<u64> = WorkQueue::new();
            let ledger = Arc::new(Ledger::new());
            let tasks: Vec<_> = (0..4)
                .map(|c| {
                    let (q, ledger) = (q.clone(), ledger.clone());
                    rt.spawn(async move {
                        let mut rng = XorShift(seed * 31 + c + 1);
                        while let Some(k) = q.get().await {
                            process(&q, &ledger, &mut rng, k);
                            if rng.below(3) == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    })
                })
                .collect();
            let threads: Vec<_> = (0..2)
                .map(|c| {
                    let (q, ledger) = (q.clone(), ledger.clone());
                    thread::spawn(move || {
                        let mut rng = XorShift(seed * 37 + c + 1);
                        while let Some(k) = q.get_blocking() {
                            process(&q, &ledger, &mut rng, k);
                        }
                    })
                })
                .collect();
            let producers: Vec<_> = (0..3)
                .map(|p| {
                    let (q, ledger) = (q.clone(), ledger.clone());
                    thread::spawn(move || {
                        let mut rng = XorShift(seed * 41 + p + 1);
                        for _ in 0..3_000 {
                            ledger.add(&q, rng.below(KEYS));
                            rng.pause();
                        }
                    })
                })
                .collect();
            for p in producers {
                p.join().unwrap();
            }
            while !q.is_idle() {
                thread::yield_now();
            }
            rt.block_on(q.shut_down_with_drain());
            for t in tasks {
                rt.block_on(t).unwrap();
            }
            for t in threads {
                t.join().unwrap();
            }
            check(&ledger);
        }
    });
}

#[test]
fn shutdown_in_the_middle_drops_no_queued_work_and_never_hangs() {
    for seed in 1..=10u64 {
        within(60, move || {
            let q: WorkQueue<u64> = WorkQueue::new();
            let processed = Arc::new(Mutex::new(Vec::new()));
            let workers: Vec<_> = (0..3)
                .map(|c| {
                    let (q, processed) = (q.clone(), processed.clone());
                    thread::spawn(move || {
                        let mut rng = XorShift(seed * 13 + c + 1);
                        while let Some(k) = q.get_blocking() {
                            rng.pause();
                            processed.lock().unwrap().push(k);
                            q.done(&k);
                        }
                    })
                })
                .collect();
            let mut rng = XorShift(seed);
            let mut accepted = HashSet::new();
            let cut = 500 + rng.below(1000);
            for i in 0..2_000u64 {
                if i == cut {
                    q.shut_down_with_drain_blocking();
                }
                // Distinct keys: every add before the shutdown must be processed.
                if !q.is_shutting_down() {
                    accepted.insert(i);
                }
                q.add(i);
                if rng.below(8) == 0 {
                    thread::yield_now();
                }
            }
            for w in workers {
                w.join().unwrap();
            }
            let processed: HashSet<u64> = processed.lock().unwrap().iter().copied().collect();
            assert_eq!(processed, accepted, "seed {seed}");
        });
    }
}

/// Delayed and direct adds from many threads while another thread moves a manual clock;
/// blocking and async consumers. Every add is processed after it was made.
#[test]
fn delayed_adds_under_concurrency_are_never_lost() {
    within(120, || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        for seed in 1..=5u64 {
            let clock = ManualClock::new();
            let q: WorkQueue<u64> = WorkQueue::builder().clock(clock.clone()).build();
            let ledger = Arc::new(Ledger::new());
            let tasks: Vec<_> = (0..2)
                .map(|c| {
                    let (q, ledger) = (q.clone(), ledger.clone());
                    rt.spawn(async move {
                        let mut rng = XorShift(seed * 43 + c + 1);
                        while let Some(k) = q.get().await {
                            process(&q, &ledger, &mut rng, k);
                        }
                    })
                })
                .collect();
            let threads: Vec<_> = (0..3)
                .map(|c| {
                    let (q, ledger) = (q.clone(), ledger.clone());
                    thread::spawn(move || {
                        let mut rng = XorShift(seed * 47 + c + 1);
                        while let Some(k) = q.get_blocking() {
                            process(&q, &ledger, &mut rng, k);
                        }
                    })
                })
                .collect();
            let stop = Arc::new(AtomicBool::new(false));
            let ticker = {
                let (clock, stop) = (clock.clone(), stop.clone());
                thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        clock.advance(Duration::from_millis(1));
                        thread::yield_now();
                    }
                })
            };
            let producers: Vec<_> = (0..3)
                .map(|p| {
                    let (q, ledger) = (q.clone(), ledger.clone());
                    thread::spawn(move || {
                        let mut rng = XorShift(seed * 53 + p + 1);
                        for _ in 0..2_000 {
                            let k = rng.below(KEYS);
                            if rng.below(2) == 0 {
                                ledger.add(&q, k);
                            } else {
                                let d = Duration::from_millis(rng.below(20));
                                ledger.last_add[k as usize].fetch_max(ledger.stamp(), Ordering::SeqCst);
                                ledger.adds[k as usize].fetch_add(1, Ordering::SeqCst);
                                q.add_after(k, d);
                            }
                            rng.pause();
                        }
                    })
                })
                .collect();
            for p in producers {
                p.join().unwrap();
            }
            stop.store(true, Ordering::SeqCst);
            ticker.join().unwrap();
            clock.advance(Duration::from_secs(1)); // every delay has passed
            // `is_idle` (unlike `len`) moves no due item itself: only the getters' wake-ups
            // (clock listener, timers) bring the delayed items in. Shut down only when
            // idle: re-adds made while processing after a shutdown would be ignored.
            while !q.is_idle() {
                thread::yield_now();
            }
            q.shut_down();
            for t in tasks {
                rt.block_on(t).unwrap();
            }
            for t in threads {
                t.join().unwrap();
            }
            check(&ledger);
        }
    });
}

/// The same with tokio's real clock: getters sleep on timers for 0-3 ms delays.
#[test]
fn real_time_delays_are_delivered_to_sleeping_getters() {
    within(120, || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let q: WorkQueue<u64> = WorkQueue::new();
        let ledger = Arc::new(Ledger::new());
        let tasks: Vec<_> = (0..3)
            .map(|c| {
                let (q, ledger) = (q.clone(), ledger.clone());
                rt.spawn(async move {
                    let mut rng = XorShift(c + 7);
                    while let Some(k) = q.get().await {
                        process(&q, &ledger, &mut rng, k);
                    }
                })
            })
            .collect();
        let thread_worker = {
            let (q, ledger) = (q.clone(), ledger.clone());
            thread::spawn(move || {
                let mut rng = XorShift(99);
                while let Some(k) = q.get_blocking() {
                    process(&q, &ledger, &mut rng, k);
                }
            })
        };
        let mut rng = XorShift(5);
        for _ in 0..1_000 {
            let k = rng.below(KEYS);
            ledger.last_add[k as usize].fetch_max(ledger.stamp(), Ordering::SeqCst);
            ledger.adds[k as usize].fetch_add(1, Ordering::SeqCst);
            q.add_after(k, Duration::from_micros(rng.below(3_000)));
            if rng.below(50) == 0 {
                thread::sleep(Duration::from_millis(1)); // let getters fall asleep on timers
            }
        }
        // `is_idle` (unlike `len`) moves no due item: the getters' timers must.
        while !q.is_idle() {
            thread::yield_now();
        }
        q.shut_down();
        for t in tasks {
            rt.block_on(t).unwrap();
        }
        thread_worker.join().unwrap();
        check(&ledger);
    });
}
