//! The seeded scheduler of the storm: captures at a steady random pace through real hooks on
//! three DCs, and between them one fault after another — SIGKILL of a client, the server or a
//! hook; the server down for a stretch; the target answering 429 / 503, timing out or dropping
//! connections; one spool full or read-only; a sealed record redelivered. Then it calms
//! everything down and waits until the spools are empty.
//!
//! The schedule (which fault, when, where, for how long) comes from the seed alone; how the
//! processes race each other does not, so a replay repeats the storm, not every interleaving.
//! Must never decide what is correct: it only records what it did, for `verify` to judge.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::common::{pending_records, Deployment};
use crate::emulator::{upn, Emulator, TARGET_TIMEOUT_MS};
use crate::hooks::{HookOutcome, HookRunner, Skew};
use crate::processes::{ClientProcess, ServerProcess};
use crate::settings::Settings;
use crate::spool_fs::SpoolMount;
use crate::tally::Tally;

/// Which client's spool lives on the small filesystem, and which origin's clock is skewed.
pub const MOUNTED_CLIENT: usize = 1;
pub const SKEWED_CLIENT: usize = 2;

/// How often a capture's hook is SIGKILLed mid-way.
const HOOK_KILL_PROBABILITY: f64 = 0.08;

/// Fault kinds and their weights in the draw.
const FAULTS: &[(&str, u32)] = &[
    ("kill_client", 4),
    ("kill_server", 2),
    ("server_down", 1),
    ("target_429", 2),
    ("target_503", 2),
    ("target_timeout", 1),
    ("target_dropped_connection", 1),
    ("spool_full", 1),
    ("spool_read_only", 1),
    ("redeliver", 3),
];

/// One capture the storm made, and what the DC learned.
#[derive(Debug, Clone)]
pub struct Capture {
    pub client: usize,
    pub origin: String,
    pub account: String,
    pub password: String,
    pub outcome: HookOutcome,
    /// A spool fault was in force on this DC when the hook ran.
    pub during_spool_fault: bool,
}

/// A sealed record put back into its spool after it had been captured (and usually delivered).
#[derive(Debug, Clone)]
pub struct Redelivery {
    pub id: String,
    /// The ledger's state of the change when it was redelivered.
    pub state_before: Option<String>,
    /// How often the recorder target had applied it by then.
    pub applications_before: usize,
    pub copies: usize,
}

struct Stashed {
    client: usize,
    name: String,
    id: String,
    copy: PathBuf,
}

pub struct Storm<'a> {
    settings: Settings,
    rng: StdRng,
    deployment: &'a Deployment,
    emulator: &'a Emulator,
    pub server: ServerProcess,
    pub clients: Vec<ClientProcess>,
    mount: Option<SpoolMount>,
    hooks: HookRunner,
    pub skew: Option<Skew>,
    pub accounts: Vec<String>,
    pub captures: Vec<Capture>,
    pub redeliveries: Vec<Redelivery>,
    stash: Vec<Stashed>,
    pub tally: Tally,
    hook_time: Duration,
    server_down_until: Option<Instant>,
    /// No new outage before this: a storm that is mostly one long outage tests little else.
    server_down_not_before: Instant,
    target_latency_until: Option<Instant>,
    spool_fault_until: Option<Instant>,
}

impl<'a> Storm<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: Settings,
        deployment: &'a Deployment,
        emulator: &'a Emulator,
        server: ServerProcess,
        clients: Vec<ClientProcess>,
        mount: Result<SpoolMount, String>,
        accounts: Vec<String>,
    ) -> Storm<'a> {
        let mut rng = StdRng::seed_from_u64(settings.seed);
        let mut tally = Tally::default();
        let mount = match mount {
            Ok(mount) => Some(mount),
            Err(reason) => {
                tally.skip("spool_full", &reason);
                tally.skip("spool_read_only", &reason);
                None
            }
        };
        let skew = match Skew::available() {
            Ok(()) => {
                let minutes = rng.random_range(1..=5i64) * if rng.random_bool(0.5) { 1 } else { -1 };
                tally.count("clock_skew");
                Some(Skew { offset_s: minutes * 60 })
            }
            Err(reason) => {
                tally.skip("clock_skew", &reason);
                None
            }
        };
        std::fs::create_dir_all(deployment.dir.join("stash")).unwrap();
        Storm {
            settings,
            rng,
            deployment,
            emulator,
            server,
            clients,
            mount,
            hooks: HookRunner::new(&deployment.public_key),
            skew,
            accounts,
            captures: Vec::new(),
            redeliveries: Vec::new(),
            stash: Vec::new(),
            tally,
            hook_time: Duration::from_millis(3),
            server_down_until: None,
            server_down_not_before: Instant::now(),
            target_latency_until: None,
            spool_fault_until: None,
        }
    }

    pub fn run(&mut self) {
        let started = Instant::now();
        let end = started + self.settings.storm;
        let mut next_capture = started;
        let mut next_fault = started + Duration::from_millis(500);
        let mut last_progress = started;
        while Instant::now() < end {
            let now = Instant::now();
            self.supervise(now);
            self.end_due_faults(now);
            if now >= next_capture {
                self.capture_one();
                next_capture = now + Duration::from_millis(self.rng.random_range(30..200));
            }
            if now >= next_fault {
                self.inject_one(now);
                next_fault = now + Duration::from_millis(self.rng.random_range(700..2500));
            }
            if now.duration_since(last_progress) >= Duration::from_secs(30) {
                last_progress = now;
                eprintln!(
                    "chaos: {:>4}s  captures {}  faults {}",
                    now.duration_since(started).as_secs(),
                    self.captures.len(),
                    self.tally.total()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn supervise(&mut self, now: Instant) {
        if let Some(note) = self.server.supervise(now) {
            self.tally.notes.push(note);
        }
        for client in &mut self.clients {
            if let Some(note) = client.supervise(now) {
                self.tally.notes.push(note);
            }
        }
    }

    fn end_due_faults(&mut self, now: Instant) {
        if self.server_down_until.is_some_and(|until| until <= now) {
            self.server_down_until = None;
        }
        if self.target_latency_until.is_some_and(|until| until <= now) {
            self.target_latency_until = None;
            self.emulator.faults(json!({ "latency_ms": 0 }));
        }
        if self.spool_fault_until.is_some_and(|until| until <= now) {
            self.spool_fault_until = None;
            self.end_spool_fault();
        }
    }

    fn end_spool_fault(&mut self) {
        if let Some(mount) = &mut self.mount {
            mount.set_read_only(false);
            mount.free();
        }
    }

    fn capture_one(&mut self) {
        let client = self.rng.random_range(0..self.clients.len());
        let account = self.accounts[self.rng.random_range(0..self.accounts.len())].clone();
        let origin = self.clients[client].setup.name.clone();
        let password = crate::common::password();
        let skew = if client == SKEWED_CLIENT { self.skew.clone() } else { None };
        let kill_after = if self.rng.random_bool(HOOK_KILL_PROBABILITY) {
            let micros = self.hook_time.as_micros() as u64 * 6 / 5;
            Some(Duration::from_micros(self.rng.random_range(0..micros.max(1))))
        } else {
            None
        };
        let during_spool_fault = client == MOUNTED_CLIENT && self.spool_fault_until.is_some();
        let spool = self.clients[client].spool().to_path_buf();
        let (outcome, took) = self.hooks.capture(
            &spool,
            &account,
            &upn(&account),
            &password,
            &origin,
            skew.as_ref(),
            kill_after,
        );
        match &outcome {
            HookOutcome::Acknowledged(id) => {
                self.hook_time = (self.hook_time * 7 + took) / 8;
                if kill_after.is_some() {
                    self.tally.observe("hook_finished_before_its_kill");
                }
                if self.stash.len() < 12 && self.rng.random_bool(0.25) {
                    self.stash_record(client, id);
                }
            }
            HookOutcome::Killed => self.tally.count("kill_hook"),
            HookOutcome::Refused(_) => {
                self.tally.observe("capture_refused");
                if !during_spool_fault {
                    self.tally.notes.push(format!("a capture on {origin} was refused outside a spool fault"));
                }
            }
        }
        self.captures.push(Capture { client, origin, account, password, outcome, during_spool_fault });
    }

    /// Keeps a copy of a just-captured sealed record, to redeliver later.
    fn stash_record(&mut self, client: usize, id: &str) {
        let spool = self.clients[client].spool();
        let Ok(entries) = std::fs::read_dir(spool) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.contains(id) && name.ends_with(".pws") {
                let copy = self.deployment.dir.join("stash").join(&name);
                if std::fs::copy(entry.path(), &copy).is_ok() {
                    self.stash.push(Stashed { client, name, id: id.to_string(), copy });
                }
                return;
            }
        }
    }

    fn inject_one(&mut self, now: Instant) {
        let total: u32 = FAULTS.iter().map(|(_, weight)| weight).sum();
        let mut draw = self.rng.random_range(0..total);
        let kind = FAULTS
            .iter()
            .find(|(_, weight)| {
                if draw < *weight {
                    true
                } else {
                    draw -= weight;
                    false
                }
            })
            .unwrap()
            .0;
        let injected = match kind {
            "kill_client" => {
                let index = self.rng.random_range(0..self.clients.len());
                let back = now + Duration::from_millis(self.rng.random_range(0..1500));
                self.clients[index].kill9(back)
            }
            "kill_server" if self.server_down_until.is_none() => {
                let back = now + Duration::from_millis(self.rng.random_range(0..1000));
                self.server.kill9(Some(back))
            }
            "server_down" if self.server_down_until.is_none() && now >= self.server_down_not_before => {
                let (shortest, longest) = self.settings.server_down_range();
                let down = self.rng.random_range(shortest..=longest);
                self.server_down_until = Some(now + down);
                self.server_down_not_before = now + down * 3;
                self.server.kill9(Some(now + down));
                true
            }
            // Queued write failures wait for writes; while the server is down none come, and
            // a pile of them would only stretch the settling, not test anything more.
            "target_429" if self.server_down_until.is_none() => {
                let count = self.rng.random_range(1..=5);
                let failures: Vec<_> = (0..count)
                    .map(|_| json!({ "status": 429, "retry_after_s": self.rng.random_range(1..=2) }))
                    .collect();
                self.emulator.faults(json!({ "fail_writes": failures }));
                true
            }
            "target_503" if self.server_down_until.is_none() => {
                let count = self.rng.random_range(1..=5);
                let failures: Vec<_> = (0..count).map(|_| json!({ "status": 503 })).collect();
                self.emulator.faults(json!({ "fail_writes": failures }));
                true
            }
            "target_timeout" if self.target_latency_until.is_none() => {
                self.emulator.faults(json!({ "latency_ms": TARGET_TIMEOUT_MS + 1000 }));
                self.target_latency_until =
                    Some(now + Duration::from_millis(self.rng.random_range(1500..4000)));
                true
            }
            "target_dropped_connection" => {
                self.emulator.faults(json!({ "drop_requests": self.rng.random_range(1..=5) }));
                true
            }
            "spool_full" | "spool_read_only" if self.spool_fault_until.is_none() => {
                let Some(mount) = &mut self.mount else { return };
                if kind == "spool_full" {
                    mount.fill();
                } else {
                    mount.set_read_only(true);
                }
                self.spool_fault_until = Some(now + Duration::from_millis(self.rng.random_range(1000..4000)));
                true
            }
            "redeliver" => self.redeliver(),
            _ => false,
        };
        if injected {
            self.tally.count(kind);
        }
    }

    /// Puts a stashed record back into its spool (and, every other time, a second copy under
    /// the operator-retry name): the server must answer it from the ledger.
    fn redeliver(&mut self) -> bool {
        if self.stash.is_empty() {
            return false;
        }
        let pick = self.rng.random_range(0..self.stash.len());
        let (client, name, id, copy) = {
            let stashed = &self.stash[pick];
            (stashed.client, stashed.name.clone(), stashed.id.clone(), stashed.copy.clone())
        };
        if client == MOUNTED_CLIENT && self.spool_fault_until.is_some() {
            return false;
        }
        let spool = self.clients[client].spool().to_path_buf();
        let mut names = vec![name.clone()];
        if self.rng.random_bool(0.5) {
            names.push(name.replace(".pws", ".retry.pws"));
        }
        let state_before = self.deployment.ledger_state(&id);
        let applications_before =
            self.deployment.recorded().iter().filter(|(recorded, _, _)| *recorded == id).count();
        let mut copies = 0;
        for name in names {
            let target = spool.join(&name);
            if target.exists() {
                continue;
            }
            // Into place by rename, as the spool itself writes: the client never sees half a file.
            let temporary = spool.join(format!(".tmp-chaos-{}", self.rng.random::<u32>()));
            if std::fs::copy(&copy, &temporary).is_ok() && std::fs::rename(&temporary, &target).is_ok() {
                copies += 1;
            }
        }
        if copies > 0 {
            self.redeliveries.push(Redelivery { id, state_before, applications_before, copies });
        }
        copies > 0
    }

    /// Ends every fault, brings every process up and waits until every spool is empty.
    /// Returns how long settling took.
    pub fn settle(&mut self, timeout: Duration) -> Duration {
        let started = Instant::now();
        self.emulator.faults(json!({ "latency_ms": 0, "drop_requests": 0 }));
        self.target_latency_until = None;
        self.spool_fault_until = None;
        self.end_spool_fault();
        self.server_down_until = None;
        self.server.bring_up();
        for client in &mut self.clients {
            client.bring_up();
        }
        loop {
            self.supervise(Instant::now());
            let pending: Vec<usize> =
                self.clients.iter().map(|client| pending_records(client.spool())).collect();
            if pending.iter().all(|count| *count == 0) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < timeout,
                "the storm did not settle within {timeout:?}: records still pending {pending:?}; replay with {}",
                self.settings.replay_command()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Storm<'_> {
    /// Stops every process (the storm is over and judged); the spool filesystem stays mounted
    /// for the leak scan until the storm is dropped.
    pub fn stop_processes(&mut self) {
        self.server.kill9(None);
        for client in &mut self.clients {
            client.kill9_for_good();
        }
    }

    /// Hands over the spool filesystem, so that it outlives the storm until the leak scan.
    pub fn take_mount(&mut self) -> Option<SpoolMount> {
        self.mount.take()
    }

    pub fn unexpected_exits(&self) -> Vec<String> {
        let mut exits: Vec<String> =
            self.server.unexpected_exits().iter().map(|status| format!("server: {status}")).collect();
        for client in &self.clients {
            exits.extend(
                client.unexpected_exits().iter().map(|status| format!("{}: {status}", client.setup.name)),
            );
        }
        exits
    }
}
