//! bench/fastpath_rust.rs -- the cost of one get of an already-built (READY)
//! value, Rust peers: the same measurement as bench/fastpath.c (same loop,
//! same kind of sink and barrier, same clock), std only, no crates.
//!
//! Build: rustc --edition 2021 -C opt-level=3 bench/fastpath_rust.rs
//!
//! Every variant runs the same loop in its own #[inline(never)] function:
//!
//!     for _ in 0..n { let v = <get>; write_volatile(&raw SINK, v); barrier(); }
//!
//! SINK is a global written with ptr::write_volatile (the C `void *volatile
//! sink`), and barrier() is an empty asm!("") without `nomem`, which Rust
//! treats as reading and writing any memory: the C empty asm with a "memory"
//! clobber.  The loop functions are #[no_mangle] so their symbols are
//! run_<variant>, as in the C program, for bench/run.sh's disassembly.
//!
//! The plain global load is an AtomicPtr read with Ordering::Relaxed.  That is
//! the honest analogue of the C program's `sink = g_ptr`: a mutable global the
//! compiler must really load every iteration, read without synchronization;
//! on x86-64 and AArch64 a relaxed load is the same single plain load
//! instruction as the C one.  (An immutable `static` would be folded to a
//! constant, which C's external g_ptr is not; a `static mut` read compiles to
//! the same mov but needs `unsafe` for no gain.)
//!
//! Variants: plain, std::sync::OnceLock::get_or_init, std::sync::LazyLock
//! (deref), std::sync::Once::call_once + a global (the pthread_once analogue).
//!
//! Usage (as fastpath.c):
//!   fastpath_rust [N [RUNS]]    time every variant, round-robin (default 100M, 5)
//!   fastpath_rust --one NAME N  run only variant NAME for N gets, print nothing
//!   fastpath_rust --list        the variant names, one a line
//!   fastpath_rust --describe    "name<TAB>description", one variant a line
//! With BENCH_CSV=file, the timed run appends CSV rows
//! (fastpath,<variant>,1,rust,ns_median|ns_min|ns_max|x_plain,<value>).
//! BENCH_COMPILER / BENCH_FLAGS in the environment at compile time are printed.

use std::arch::asm;
use std::io::Write;
use std::process::exit;
use std::ptr::{addr_of_mut, null_mut, write_volatile};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{LazyLock, Once, OnceLock};
use std::time::Instant;

/// The value every getter hands out.
pub struct Obj {
    pub id: i32,
}
static THE_OBJ: Obj = Obj { id: 42 };

/// The sink: one global for all variants, written with write_volatile.
static mut SINK: *const Obj = std::ptr::null();

#[inline(always)]
fn barrier() {
    // No `nomem`: the compiler must assume the asm reads and writes memory.
    unsafe { asm!("", options(nostack, preserves_flags)) };
}

#[inline(always)]
fn sink(v: *const Obj) {
    unsafe { write_volatile(addr_of_mut!(SINK), v) };
}

/// The out-of-line "expensive" constructor (not inlined into the loops).
#[inline(never)]
fn make_raw() -> &'static Obj {
    barrier();
    &THE_OBJ
}

// --- 1. plain global load: the limit ----------------------------------------
static G_PTR: AtomicPtr<Obj> = AtomicPtr::new(null_mut());

#[no_mangle]
#[inline(never)]
pub fn run_plain(n: u64) {
    for _ in 0..n {
        sink(G_PTR.load(Ordering::Relaxed));
        barrier();
    }
}

// --- 2. std::sync::OnceLock -------------------------------------------------
static ONCE_LOCK: OnceLock<&'static Obj> = OnceLock::new();

#[no_mangle]
#[inline(never)]
pub fn run_oncelock(n: u64) {
    for _ in 0..n {
        let v: &'static Obj = ONCE_LOCK.get_or_init(make_raw);
        sink(v);
        barrier();
    }
}

// --- 3. std::sync::LazyLock -------------------------------------------------
static LAZY: LazyLock<&'static Obj> = LazyLock::new(make_raw);

#[no_mangle]
#[inline(never)]
pub fn run_lazylock(n: u64) {
    for _ in 0..n {
        let v: &'static Obj = *LAZY;
        sink(v);
        barrier();
    }
}

// --- 4. std::sync::Once + global (the pthread_once / call_once analogue) ----
static ONCE: Once = Once::new();
static ONCE_PTR: AtomicPtr<Obj> = AtomicPtr::new(null_mut());

#[no_mangle]
#[inline(never)]
pub fn run_once(n: u64) {
    for _ in 0..n {
        ONCE.call_once(|| ONCE_PTR.store(make_raw() as *const Obj as *mut Obj, Ordering::Relaxed));
        // Relaxed: call_once's completion is an acquire, as pthread_once's.
        sink(ONCE_PTR.load(Ordering::Relaxed));
        barrier();
    }
}

// ----------------------------------------------------------------------------

struct Variant {
    name: &'static str,
    what: &'static str,
    run: fn(u64),
}

static VARIANTS: [Variant; 4] = [
    Variant { name: "plain", what: "plain global load (the limit)", run: run_plain },
    Variant { name: "oncelock", what: "std::sync::OnceLock get_or_init", run: run_oncelock },
    Variant { name: "lazylock", what: "std::sync::LazyLock deref", run: run_lazylock },
    Variant { name: "once", what: "std::sync::Once call_once + global", run: run_once },
];
const MAX_RUNS: u64 = 101;

/// Make every getter READY (the constructors run here, outside timing).
fn warm_all() {
    G_PTR.store(&THE_OBJ as *const Obj as *mut Obj, Ordering::Relaxed);
    for v in VARIANTS.iter() {
        (v.run)(1);
    }
    let ok = ONCE_LOCK.get().map_or(false, |p| p.id == 42) && LAZY.id == 42 && ONCE.is_completed();
    if !ok {
        eprintln!("fastpath_rust: a getter is not ready after warm-up");
        exit(1);
    }
}

fn parse_u64(s: &str, what: &str) -> u64 {
    match s.parse::<u64>() {
        Ok(v) if v > 0 => v,
        _ => {
            eprintln!("fastpath_rust: bad {} '{}'", what, s);
            exit(2);
        }
    }
}

/// The "model name" line of /proc/cpuinfo, or "unknown".
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() >= 2 && args[1] == "--list" {
        for v in VARIANTS.iter() {
            println!("{}", v.name);
        }
        return;
    }
    if args.len() >= 2 && args[1] == "--describe" {
        for v in VARIANTS.iter() {
            println!("{}\t{}", v.name, v.what);
        }
        return;
    }
    if args.len() >= 2 && args[1] == "--one" {
        if args.len() != 4 {
            eprintln!("usage: fastpath_rust --one VARIANT N");
            exit(2);
        }
        let n = parse_u64(&args[3], "N");
        match VARIANTS.iter().find(|v| v.name == args[2]) {
            Some(v) => {
                warm_all();
                (v.run)(n);
                return;
            }
            None => {
                eprintln!("fastpath_rust: unknown variant '{}' (see --list)", args[2]);
                exit(2);
            }
        }
    }

    let n = if args.len() >= 2 { parse_u64(&args[1], "N") } else { 100_000_000 };
    let runs = if args.len() >= 3 { parse_u64(&args[2], "RUNS").min(MAX_RUNS) as usize } else { 5 };

    println!("== fastpath: ns per get of a READY value ==");
    println!("program  : rust (bench/fastpath_rust.rs)");
    println!("compiler : {}", option_env!("BENCH_COMPILER").unwrap_or("rustc (version not recorded)"));
    println!("flags    : {}", option_env!("BENCH_FLAGS").unwrap_or("(not recorded)"));
    println!(
        "cpu      : {} ({} online)",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    println!(
        "measured : one thread; each variant's loop does get -> write_volatile global sink,\n\
         \x20          then an empty asm! (memory), {} gets per run; {} runs per\n\
         \x20          variant interleaved round-robin; Instant (CLOCK_MONOTONIC) around the\n\
         \x20          loop; ratio = median / median of this program's plain global load",
        n, runs
    );

    warm_all();
    for v in VARIANTS.iter() {
        (v.run)(n / 20 + 1); // warm-up: caches, frequency
    }

    let mut ns: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); VARIANTS.len()];
    for _ in 0..runs {
        for (i, v) in VARIANTS.iter().enumerate() {
            let t0 = Instant::now();
            (v.run)(n);
            let dt = t0.elapsed();
            ns[i].push(dt.as_nanos() as f64 / n as f64);
        }
    }
    for row in ns.iter_mut() {
        row.sort_by(|a, b| a.total_cmp(b));
    }
    let med: Vec<f64> = ns.iter().map(|r| r[runs / 2]).collect();

    println!();
    println!("{:<36} {:>9} {:>8} {:>8} {:>9}", "variant", "ns/get", "min", "max", "x plain");
    println!("{:<36} {:>9} {:>8} {:>8} {:>9}", "-".repeat(36), "-".repeat(9), "-".repeat(8), "-".repeat(8), "-".repeat(9));
    for (i, v) in VARIANTS.iter().enumerate() {
        println!(
            "{:<36} {:>9.3} {:>8.3} {:>8.3} {:>9.2}",
            v.what, med[i], ns[i][0], ns[i][runs - 1], med[i] / med[0]
        );
    }

    if let Some(path) = std::env::var_os("BENCH_CSV").filter(|p| !p.is_empty()) {
        let mut out = String::new();
        for (i, v) in VARIANTS.iter().enumerate() {
            out += &format!("fastpath,{},1,rust,ns_median,{:.4}\n", v.name, med[i]);
            out += &format!("fastpath,{},1,rust,ns_min,{:.4}\n", v.name, ns[i][0]);
            out += &format!("fastpath,{},1,rust,ns_max,{:.4}\n", v.name, ns[i][runs - 1]);
            out += &format!("fastpath,{},1,rust,x_plain,{:.4}\n", v.name, med[i] / med[0]);
        }
        let res = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut f| f.write_all(out.as_bytes()));
        if let Err(e) = res {
            eprintln!("fastpath_rust: {}: {}", path.to_string_lossy(), e);
            exit(1);
        }
    }
}
