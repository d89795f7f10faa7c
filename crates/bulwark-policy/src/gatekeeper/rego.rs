//! A template's Rego (and `libs`) through regorus, run as Gatekeeper's hook module runs it:
//! `data.<package>.violation` with `input = {"review": ..., "parameters": ...}` and the
//! inventory at `data.inventory`.
//!
//! Limits, always set: an execution timer ([`EVAL_TIME_LIMIT`]), policy length limits
//! (`PolicyLengthConfig`), an instruction budget on the VM, and a memory limit
//! ([`REGO_MEMORY_LIMIT`] by default, [`set_memory_limit`] to change it). regorus' memory
//! accounting comes with its `allocator-memory-limits` feature, which makes its mimalloc the
//! process allocator: on the VM the limit is what one evaluation may allocate; on the
//! interpreter (the fallback) regorus only has a process-wide check, so there it is a ceiling
//! on the process's allocated bytes while Rego runs.

use regorus::utils::limits::{ExecutionTimerConfig, PolicyLengthConfig};
use regorus::Engine;
use serde_json::Value;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Wall-clock budget for one evaluation of one template (Gatekeeper's webhook times out at 3 s
/// in total; a library template takes well under a millisecond).
pub const EVAL_TIME_LIMIT: Duration = Duration::from_secs(2);

/// The default ceiling on the bytes the process has allocated while Rego evaluates. A
/// library template evaluates in kilobytes; what passes this is a template (or an inventory)
/// building values without bound.
pub const REGO_MEMORY_LIMIT: u64 = 2 << 30;

static MEMORY_LIMIT_SET: std::sync::Once = std::sync::Once::new();
static MEMORY_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(REGO_MEMORY_LIMIT);

/// Sets the memory limit for Rego (see the module comment): the bytes one evaluation may
/// allocate on the VM, and the process's allocated bytes above which an interpreter
/// evaluation stops. Applies to the programs compiled from now on.
pub fn set_memory_limit(bytes: u64) {
    MEMORY_LIMIT_SET.call_once(|| {});
    MEMORY_LIMIT.store(bytes, std::sync::atomic::Ordering::Relaxed);
    regorus::set_global_memory_limit(Some(bytes));
}

fn memory_limit() -> u64 {
    MEMORY_LIMIT.load(std::sync::atomic::Ordering::Relaxed)
}

/// A compiled template program.
///
/// Templates run on regorus' bytecode VM (RVM), about three times faster than its tree-walking
/// interpreter on the gatekeeper-library templates; a template the VM compiler cannot take
/// runs on the interpreter. Both are the same maintained engine, with the same builtins.
pub struct Program {
    backend: Backend,
    /// `data.<package>.violation`.
    rule: String,
}

enum Backend {
    Vm(Box<VmProgram>),
    /// `eval_rule` resets the interpreter's evaluation state (data, scopes, caches, timer)
    /// before each evaluation, so one prepared engine serves evaluation after evaluation
    /// without the cost of a clone. A clone is made only when the shared engine is busy
    /// (another thread) or when `data.inventory` must be added (which would make the engine
    /// re-analyse its modules).
    Interpreter {
        /// The prepared engine that evaluations without an inventory run on.
        engine: Box<Mutex<Engine>>,
        /// A pristine copy: replaces `engine` after a panic left it in an unknown state, and
        /// is the base of the clones.
        pristine: Box<Engine>,
    },
}

/// The builtins the VM hands back to us (host calls) instead of running its own: the bounded
/// `numbers.range`/`numbers.range_step` and OPA v0's `re_match` (see [`Program::compile`]).
const HOST_CALLS: &[(&str, usize)] = &[("numbers.range", 2), ("numbers.range_step", 3), ("re_match", 2)];

/// Instructions one evaluation may execute: a backstop behind the time limit (a library
/// template on a large Pod runs tens of thousands).
const MAX_INSTRUCTIONS: usize = 200_000_000;

struct VmProgram {
    policy: regorus::CompiledPolicy,
    program: Arc<regorus::rvm::Program>,
    /// The VM evaluations run on; a fresh one when another thread holds it.
    vm: Mutex<regorus::rvm::RegoVM>,
    /// Whether the program calls a host function (the VM then runs suspendable).
    host_calls: bool,
}

impl VmProgram {
    fn new_vm(&self) -> Result<regorus::rvm::RegoVM, String> {
        use regorus::rvm::vm::ExecutionMode;
        let mut vm = regorus::rvm::RegoVM::new_with_policy(self.policy.clone());
        vm.load_program(self.program.clone());
        vm.set_max_instructions(MAX_INSTRUCTIONS);
        vm.set_execution_timer_config(Some(timer_config()));
        vm.set_memory_budget_config(NonZeroU64::new(memory_limit()).map(|limit| regorus::MemoryBudgetConfig { limit }));
        if self.host_calls {
            vm.set_execution_mode(ExecutionMode::Suspendable);
        }
        vm.set_data(empty_object()).map_err(|e| e.to_string())?;
        Ok(vm)
    }

    fn run(
        &self,
        vm: &mut regorus::rvm::RegoVM,
        rule: &str,
        input: regorus::Value,
        inventory: Option<regorus::Value>,
    ) -> Result<regorus::Value, String> {
        use regorus::rvm::vm::{ExecutionState, SuspendReason};
        let with_inventory = inventory.is_some();
        if let Some(data) = inventory {
            vm.set_data(data).map_err(|e| format!("data.inventory: {e}"))?;
        }
        vm.set_input(input);
        let mut out = vm.execute_entry_point_by_name(rule);
        // Host calls: the VM suspends with the call's arguments; the answer resumes it.
        while let ExecutionState::Suspended { reason: SuspendReason::HostAwait { identifier, argument, .. }, .. } =
            vm.execution_state()
        {
            let args: Vec<regorus::Value> = argument.as_array().map(|a| a.to_vec()).unwrap_or_default();
            let answer = match identifier.as_string().map(|s| s.as_ref()).unwrap_or_default() {
                "numbers.range" | "numbers.range_step" => bounded_range(&args).map_err(|e| e.to_string()),
                "re_match" => re_match(&args).map_err(|e| e.to_string()),
                other => Err(format!("unknown host call {other:?}")),
            };
            match answer {
                Ok(v) => out = vm.resume(Some(v)),
                Err(e) => {
                    // Leave the VM ready for the next evaluation.
                    *vm = self.new_vm()?;
                    return Err(e);
                }
            }
        }
        // The input and inventory are not kept alive until the next evaluation.
        vm.set_input(regorus::Value::Undefined);
        if with_inventory {
            vm.set_data(empty_object()).map_err(|e| e.to_string())?;
        }
        out.map_err(|e| vm_error(&e))
    }
}

fn empty_object() -> regorus::Value {
    regorus::Value::new_object()
}

fn timer_config() -> ExecutionTimerConfig {
    ExecutionTimerConfig { limit: EVAL_TIME_LIMIT, check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN) }
}

/// A VM error as the interpreter's limit errors read.
fn vm_error(e: &regorus::rvm::vm::VmError) -> String {
    use regorus::rvm::vm::VmError;
    match e {
        VmError::MemoryLimitExceeded { usage, limit, .. } => memory_message(*usage, *limit),
        VmError::MemoryBudgetExceeded { usage, budget, .. } => memory_message(*usage, *budget),
        VmError::TimeLimitExceeded { .. } => {
            format!("evaluation stopped: over the {EVAL_TIME_LIMIT:?} time limit ({e})")
        }
        VmError::InstructionLimitExceeded { .. } => {
            format!("evaluation stopped: over the limit of {MAX_INSTRUCTIONS} instructions ({e})")
        }
        other => other.to_string(),
    }
}

fn memory_message(usage: u64, limit: u64) -> String {
    format!("evaluation stopped: {} MiB allocated, over the {} MiB memory limit for Rego", usage >> 20, limit >> 20)
}

/// The most elements `numbers.range` and `numbers.range_step` make (a port range has 65,536).
pub const MAX_RANGE_ELEMENTS: u64 = 1_000_000;

#[derive(Debug, thiserror::Error)]
#[error("numbers.range: {0} elements is over the limit of {MAX_RANGE_ELEMENTS}")]
struct RangeLimit(u128);

/// `numbers.range(a, b)` or `numbers.range_step(a, b, step)`, as regorus computes them (ends
/// included, descending when b < a; a non-integer operand or a step that is not positive is
/// undefined, as builtin errors are), refusing results over [`MAX_RANGE_ELEMENTS`].
fn bounded_range(args: &[regorus::Value]) -> Result<regorus::Value, RangeLimit> {
    let int = |i: usize| args.get(i).and_then(|v| v.as_i64().ok());
    let (Some(a), Some(b)) = (int(0), int(1)) else { return Ok(regorus::Value::Undefined) };
    let step = if args.len() == 3 { int(2) } else { Some(1) };
    let Some(step) = step.filter(|s| *s > 0) else { return Ok(regorus::Value::Undefined) };
    let count = (i128::from(b) - i128::from(a)).unsigned_abs() / step.unsigned_abs() as u128 + 1;
    if count > u128::from(MAX_RANGE_ELEMENTS) {
        return Err(RangeLimit(count));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut v = i128::from(a);
    let (end, incr) = (i128::from(b), if b >= a { i128::from(step) } else { -i128::from(step) });
    while (incr > 0 && v <= end) || (incr < 0 && v >= end) {
        out.push(regorus::Value::from(v as i64));
        v += incr;
    }
    Ok(regorus::Value::from(out))
}

/// Largest compiled size of a regex a template builds (regorus uses the same `regex` crate).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[error("re_match: {0}")]
struct ReMatchError(String);

/// `re_match(pattern, value)`: whether the (unanchored, RE2-syntax) pattern matches. A pattern
/// that does not parse, or an operand that is not a string, is undefined (builtin errors are
/// not strict in Gatekeeper); a pattern over the size limit is an error.
fn re_match(args: &[regorus::Value]) -> Result<regorus::Value, ReMatchError> {
    let s = |i: usize| args.get(i).and_then(|v| v.as_string().ok());
    let (Some(pattern), Some(value)) = (s(0), s(1)) else { return Ok(regorus::Value::Undefined) };
    match regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build() {
        Ok(re) => Ok(regorus::Value::from(re.is_match(value))),
        Err(regex::Error::CompiledTooBig(n)) => Err(ReMatchError(format!("pattern over the {n}-byte size limit"))),
        Err(_) => Ok(regorus::Value::Undefined),
    }
}

/// One violation, as the hook module returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub msg: String,
    pub details: Value,
}

fn length_config() -> PolicyLengthConfig {
    // One template's Rego: regorus' defaults (1 MiB, 20,000 lines) with longer lines, since
    // generated templates carry long string literals.
    PolicyLengthConfig {
        max_col: NonZeroU32::new(16_384).unwrap_or(NonZeroU32::MIN),
        max_file_bytes: NonZeroUsize::new(1 << 20).unwrap_or(NonZeroUsize::MIN),
        max_lines: NonZeroUsize::new(20_000).unwrap_or(NonZeroUsize::MIN),
    }
}

/// The deepest nesting of brackets a module may have. regorus' parser backtracks on `[` and
/// `{` (collection or comprehension), doubling its time with each level (16 levels: 60 ms,
/// 24: 15 s) and overflowing the stack in the thousands; real templates stay under 10.
pub const MAX_NESTING: usize = 16;

/// Where the comment, string or raw string that starts at `b[i]` ends, as Rego lexes them
/// (`#` to the end of the line, `"` with `\` escapes, `` ` `` raw): the index of its last byte
/// (a comment's last byte before its newline; `b.len()` or past it when unterminated). None
/// when `b[i]` starts none of them. The scanners below skip literals with it.
fn literal_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    match b[i] {
        b'#' => {
            while j < b.len() && b[j] != b'\n' {
                j += 1;
            }
            Some(j - 1)
        }
        q @ (b'"' | b'`') => {
            while j < b.len() && b[j] != q {
                if q == b'"' && b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            Some(j)
        }
        _ => None,
    }
}

/// The deepest nesting of `(`, `[` and `{` outside strings and comments.
fn max_nesting(src: &str) -> usize {
    let b = src.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        if let Some(end) = literal_end(b, i) {
            i = end + 1;
            continue;
        }
        match b[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// The widest `sprintf` field a template may ask for: regorus pads to any width it is given
/// (`%4000000000d` is gigabytes) and panics on a width written in non-ASCII digits.
pub const MAX_FORMAT_WIDTH: u64 = 10_000;

/// A `%` width in a string literal that regorus' `sprintf` would mishandle, if any.
fn format_problem(src: &str) -> Option<String> {
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match literal_end(b, i) {
            Some(end) if b[i] != b'#' => {
                let lit = src.get(i + 1..end.min(b.len())).unwrap_or_default();
                i = end;
                for (at, _) in lit.match_indices('%') {
                    let digits: String = lit[at + 1..].chars().take_while(|c| c.is_numeric()).collect();
                    if digits.chars().any(|c| !c.is_ascii_digit()) {
                        return Some(format!("format width {digits:?} is not in ASCII digits"));
                    }
                    if digits.len() > 6 || digits.parse::<u64>().is_ok_and(|w| w > MAX_FORMAT_WIDTH) {
                        return Some(format!("format width {digits} is over the limit of {MAX_FORMAT_WIDTH}"));
                    }
                }
            }
            Some(end) => i = end,
            None => {}
        }
        i += 1;
    }
    None
}

/// Adds one module, as Gatekeeper parses it: Rego v1 first, then v0.
fn add_module(engine: &mut Engine, name: &str, src: &str) -> Result<String, String> {
    let depth = max_nesting(src);
    if depth > MAX_NESTING {
        return Err(format!("{name}: brackets nested {depth} deep, over the limit of {MAX_NESTING}"));
    }
    if let Some(p) = format_problem(src) {
        return Err(format!("{name}: {p}"));
    }
    engine.set_rego_v0(false);
    match engine.add_policy(name.to_string(), src.to_string()) {
        Ok(pkg) => Ok(pkg),
        Err(v1) => {
            engine.set_rego_v0(true);
            let v0 = match engine.add_policy(name.to_string(), src.to_string()) {
                Ok(pkg) => return Ok(pkg),
                Err(v0) => v0,
            };
            // regorus refuses a rule written with several bodies (`p[x] { a } { b }`), which
            // OPA reads as several rules with the same head (the gatekeeper-library has such
            // templates): the same rules, written out, are tried before giving up.
            if let Some(split) = split_rule_bodies(src) {
                if let Ok(pkg) = engine.add_policy(name.to_string(), split) {
                    return Ok(pkg);
                }
            }
            // The v0 error is the useful one for the old-style templates most libraries hold.
            let _ = v1;
            Err(format!("{name}: {v0}"))
        }
    }
}

impl Program {
    /// Compiles the template's Rego and libs. Libraries must be packages under `lib` (as
    /// Gatekeeper's rewriter requires); the entry point must define `violation`.
    pub fn compile(rego: &str, libs: &[String]) -> Result<Program, String> {
        MEMORY_LIMIT_SET.call_once(|| regorus::set_global_memory_limit(Some(REGO_MEMORY_LIMIT)));
        let mut engine = Engine::new();
        engine.set_policy_length_config(length_config());
        engine.set_execution_timer_config(timer_config());
        // `numbers.range` and `numbers.range_step` allocate their whole result in one call,
        // before any time check: one call with a huge bound would exhaust memory. Extensions
        // are looked up before builtins, so these bounded versions (same results up to the
        // limit) take their place.
        engine
            .add_extension("numbers.range".into(), 2, Box::new(|args: Vec<regorus::Value>| Ok(bounded_range(&args)?)))
            .map_err(|e| e.to_string())?;
        engine
            .add_extension(
                "numbers.range_step".into(),
                3,
                Box::new(|args: Vec<regorus::Value>| Ok(bounded_range(&args)?)),
            )
            .map_err(|e| e.to_string())?;
        // OPA's deprecated `re_match` (still accepted for Rego v0, which Gatekeeper parses
        // templates as) is not a regorus builtin; the gatekeeper-library's containerlimits
        // and containerresourceratios call it. It is `regex.match` by another name.
        engine
            .add_extension("re_match".into(), 2, Box::new(|args: Vec<regorus::Value>| Ok(re_match(&args)?)))
            .map_err(|e| e.to_string())?;
        let package = add_module(&mut engine, "rego", rego)?;
        if package == "data.lib" || package.starts_with("data.lib.") {
            return Err(format!("`rego`: package {package} is reserved for libs"));
        }
        for (i, lib) in libs.iter().enumerate() {
            let pkg = add_module(&mut engine, &format!("libs[{i}]"), lib)?;
            if !(pkg == "data.lib" || pkg.starts_with("data.lib.")) {
                return Err(format!("`libs[{i}]`: package {pkg} must be under data.lib"));
            }
        }
        let declares_violation =
            engine.has_declared_rule_rooted_at("rego", "violation").map_err(|e| format!("`rego`: {e}"))?;
        if !declares_violation {
            return Err("`rego`: invalid rego: missing required rules: [violation]".into());
        }
        let rule = format!("{package}.violation");
        // Analyse now, without evaluating: a bad template is an error when it is read, and the
        // clones made per evaluation start prepared.
        let policy =
            engine.compile_with_entrypoint(&Arc::<str>::from(rule.as_str())).map_err(|e| format!("`rego`: {e}"))?;
        let backend = match regorus::languages::rego::compiler::Compiler::compile_from_policy_with_host_await(
            &policy,
            &[rule.as_str()],
            HOST_CALLS,
        ) {
            Ok(program) => {
                let host_calls =
                    program.instructions.iter().any(|i| matches!(i, regorus::rvm::Instruction::HostAwait { .. }));
                let vm = VmProgram { policy, program, vm: Mutex::new(regorus::rvm::RegoVM::new()), host_calls };
                let fresh = vm.new_vm()?;
                *vm.vm.lock().map_err(|_| "the Rego VM lock is poisoned".to_string())? = fresh;
                Backend::Vm(Box::new(vm))
            }
            // A construct the VM compiler does not take yet: the interpreter runs it.
            Err(_) => Backend::Interpreter { engine: Box::new(Mutex::new(engine.clone())), pristine: Box::new(engine) },
        };
        Ok(Program { backend, rule })
    }

    /// Whether the template runs on the bytecode VM (else on the interpreter).
    pub fn on_vm(&self) -> bool {
        matches!(self.backend, Backend::Vm(_))
    }

    /// Every violation for this input. `inventory` becomes `data.inventory` when given.
    pub fn violations(&self, input: &Value, inventory: Option<&Value>) -> Result<Vec<Violation>, String> {
        self.violations_of(to_rego(input), inventory)
    }

    /// [`Program::violations`] for an input already converted (see [`to_rego`]).
    pub fn violations_of(&self, input: regorus::Value, inventory: Option<&Value>) -> Result<Vec<Violation>, String> {
        let inventory = inventory.map(|inv| {
            let mut data = serde_json::Map::new();
            data.insert("inventory".into(), inv.clone());
            regorus::Value::from(Value::Object(data))
        });
        let (engine, pristine) = match &self.backend {
            Backend::Vm(p) => {
                let out = match p.vm.try_lock() {
                    Ok(mut vm) => {
                        let out = catching_panics(|| p.run(&mut vm, &self.rule, input, inventory));
                        if out.as_ref().is_err_and(|e| e.starts_with(PANICKED)) {
                            *vm = p.new_vm()?;
                        }
                        out
                    }
                    Err(_) => {
                        let mut vm = p.new_vm()?;
                        catching_panics(|| p.run(&mut vm, &self.rule, input, inventory))
                    }
                }?;
                return violations_in(out);
            }
            Backend::Interpreter { engine, pristine } => (engine, pristine),
        };
        // With an inventory, or when another thread holds the shared engine: a clone of the
        // pristine engine, dropped after the evaluation.
        let shared = if inventory.is_none() { engine.try_lock().ok() } else { None };
        let Some(mut engine) = shared else {
            let mut engine = pristine.clone();
            return catching_panics(|| {
                if let Some(data) = inventory {
                    engine.add_data(data).map_err(|e| format!("data.inventory: {e}"))?;
                }
                self.evaluate(&mut engine, input)
            });
        };
        // A panic inside regorus (a builtin's `expect` on odd input) must be an error for this
        // evaluation, not the end of the process; the engine it left behind is replaced.
        let result = catching_panics(|| self.evaluate(&mut engine, input));
        if result.as_ref().is_err_and(|e| e.starts_with(PANICKED)) {
            *engine = (**pristine).clone();
        } else {
            // The input is not kept alive until the next evaluation.
            engine.set_input(regorus::Value::Undefined);
        }
        result
    }

    fn evaluate(&self, engine: &mut Engine, input: regorus::Value) -> Result<Vec<Violation>, String> {
        engine.set_input(input);
        let out = engine.eval_rule(self.rule.clone()).map_err(|e| match e.downcast_ref::<regorus::LimitError>() {
            Some(regorus::LimitError::MemoryLimitExceeded { usage, limit }) => memory_message(*usage, *limit),
            Some(regorus::LimitError::TimeLimitExceeded { .. }) => {
                format!("evaluation stopped: over the {EVAL_TIME_LIMIT:?} time limit ({e})")
            }
            _ => {
                let s = e.to_string();
                if s.contains("TimeLimitExceeded") || s.to_ascii_lowercase().contains("time limit") {
                    format!("evaluation stopped: over the {EVAL_TIME_LIMIT:?} time limit ({s})")
                } else if s.contains("memory limit") {
                    format!("evaluation stopped: over the memory limit for Rego ({s})")
                } else {
                    s
                }
            }
        })?;
        violations_in(out)
    }
}

/// The violations in the value of a `violation` rule.
fn violations_in(out: regorus::Value) -> Result<Vec<Violation>, String> {
    if out == regorus::Value::Undefined {
        return Ok(Vec::new());
    }
    let out = serde_json::to_value(&out).map_err(|e| e.to_string())?;
    let items = match out {
        Value::Array(a) => a,
        other => return Err(format!("`violation` is not a set: {other}")),
    };
    items
        .into_iter()
        .map(|r| match r.get("msg") {
            Some(Value::String(msg)) => Ok(Violation {
                msg: msg.clone(),
                details: r.get("details").cloned().unwrap_or_else(|| Value::Object(Default::default())),
            }),
            _ => Err(format!("a violation has no string `msg`: {r}")),
        })
        .collect()
}

const PANICKED: &str = "the Rego engine failed (panicked";

/// Runs `f`, a panic becoming an error.
fn catching_panics<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("{PANICKED}: {what})"))
        }
    }
}

/// A JSON value as regorus reads it (`regorus::Value::from(serde_json::Value)`, which
/// deserialises), without the copy that conversion consumes.
pub fn to_rego(v: &Value) -> regorus::Value {
    serde::Deserialize::deserialize(v).unwrap_or(regorus::Value::Undefined)
}

/// The index of the next byte that is not blank or inside a comment, from `i`.
fn next_significant(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    i
}

/// Rewrites every top-level rule with several bodies (`head { a } { b }`) as one rule per
/// body (`head { a }` and `head { b }`), which is what OPA defines the shorthand to mean.
/// Strings, raw strings and comments are skipped. None when there is nothing to rewrite.
pub fn split_rule_bodies(src: &str) -> Option<String> {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + src.len() / 4);
    let mut depth: usize = 0;
    let mut stmt_start: Option<usize> = None;
    let mut head: Option<(usize, usize)> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = literal_end(b, i) {
            i = end + 1;
            continue;
        }
        let c = b[i];
        match c {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'{' => {
                if depth == 0 && head.is_none() {
                    head = stmt_start.map(|s| (s, i));
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                let j = next_significant(b, i + 1);
                if depth == 0 && j < b.len() && b[j] == b'{' {
                    if let Some((hs, he)) = head {
                        out.push_str(&src[copied..=i]);
                        out.push('\n');
                        out.push_str(&src[hs..he]);
                        copied = j;
                        i = j;
                        continue;
                    }
                }
            }
            b'\n' if depth == 0 => {
                // A statement goes on past a line end only into another body or an `else`.
                let j = next_significant(b, i + 1);
                let goes_on = j < b.len() && (b[j] == b'{' || src[j..].starts_with("else"));
                if !goes_on {
                    stmt_start = None;
                    head = None;
                }
            }
            _ if depth == 0 && stmt_start.is_none() && !c.is_ascii_whitespace() => stmt_start = Some(i),
            _ => {}
        }
        i += 1;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&src[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REGO: &str = r#"package k
violation[{"msg": msg}] {
  c := input.review.object.spec.containers[_]
  not c.ok
  msg := sprintf("%v: %v", [c.name, input.parameters.p])
}
violation[{"msg": msg}] {
  x := data.inventory.cluster.v1.Thing[_]
  msg := sprintf("inventory %v", [x.metadata.name])
}
"#;

    fn input(containers: serde_json::Value, p: &str) -> Value {
        json!({"review": {"object": {"spec": {"containers": containers}}}, "parameters": {"p": p}})
    }

    fn msgs(r: Result<Vec<Violation>, String>) -> Vec<String> {
        let mut m: Vec<String> = r.unwrap().into_iter().map(|v| v.msg).collect();
        m.sort();
        m
    }

    /// The shared engine is reused: nothing of one evaluation (rule values, input, data)
    /// may show in the next, and an inventory given once is not kept.
    #[test]
    fn evaluations_on_the_shared_engine_are_independent() {
        let p = Program::compile(REGO, &[]).unwrap();
        let inv = json!({"cluster": {"v1": {"Thing": {"t": {"metadata": {"name": "t"}}}}}});
        let a = input(json!([{"name": "a"}, {"name": "b", "ok": true}]), "x");
        let b = input(json!([{"name": "c"}]), "y");
        assert_eq!(msgs(p.violations(&a, None)), ["a: x"]);
        assert_eq!(msgs(p.violations(&b, None)), ["c: y"]);
        assert_eq!(msgs(p.violations(&b, Some(&inv))), ["c: y", "inventory t"]);
        assert_eq!(msgs(p.violations(&a, None)), ["a: x"]);
        assert_eq!(msgs(p.violations(&input(json!([]), "z"), None)), Vec::<String>::new());
        // While another evaluation holds the shared VM, a fresh one answers the same.
        let Backend::Vm(vm) = &p.backend else { panic!("not on the VM") };
        let held = vm.vm.lock().unwrap();
        assert_eq!(msgs(p.violations(&b, None)), ["c: y"]);
        drop(held);
        assert_eq!(msgs(p.violations(&b, None)), ["c: y"]);
    }

    /// A panic on the shared engine is an error, and the engine is replaced: the next
    /// evaluation answers as a fresh one would.
    #[test]
    fn the_shared_engine_is_replaced_after_a_panic() {
        let rego = "package k\nviolation[{\"msg\": m}] {\n  m := sprintf(input.parameters.f, [1])\n}\n";
        let p = Program::compile(rego, &[]).unwrap();
        let bad = json!({"review": {}, "parameters": {"f": "%\u{0663}d"}});
        let err = p.violations(&bad, None).unwrap_err();
        assert!(err.starts_with(PANICKED), "{err}");
        let good = json!({"review": {}, "parameters": {"f": "n=%d"}});
        assert_eq!(msgs(p.violations(&good, None)), ["n=1"]);
        assert_eq!(msgs(p.violations(&good, None)), ["n=1"]);
    }
}
