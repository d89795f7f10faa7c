//! A template's Rego (and `libs`) through regorus, run as Gatekeeper's hook module runs it:
//! `data.<package>.violation` with `input = {"review": ..., "parameters": ...}` and the
//! inventory at `data.inventory`.
//!
//! Limits: regorus has a cooperative execution timer (`ExecutionTimerConfig`, checked in the
//! interpreter's loops) and policy length limits (`PolicyLengthConfig`); both are always set.
//! It has no allocation budget without replacing the process allocator (its
//! `allocator-memory-limits` feature is mimalloc's), so memory is bounded only through time.

use regorus::utils::limits::{ExecutionTimerConfig, PolicyLengthConfig};
use regorus::Engine;
use serde_json::Value;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Mutex;
use std::time::Duration;

/// Wall-clock budget for one evaluation of one template (Gatekeeper's webhook times out at 3 s
/// in total; a library template takes well under a millisecond).
pub const EVAL_TIME_LIMIT: Duration = Duration::from_secs(2);

/// A compiled template program: an engine with the modules loaded, cloned per evaluation.
pub struct Program {
    engine: Mutex<Engine>,
    /// `data.<package>.violation`.
    rule: String,
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

/// Adds one module, as Gatekeeper parses it: Rego v1 first, then v0.
fn add_module(engine: &mut Engine, name: &str, src: &str) -> Result<String, String> {
    engine.set_rego_v0(false);
    match engine.add_policy(name.to_string(), src.to_string()) {
        Ok(pkg) => Ok(pkg),
        Err(v1) => {
            engine.set_rego_v0(true);
            engine.add_policy(name.to_string(), src.to_string()).map_err(|v0| {
                // The v0 error is the useful one for the old-style templates most libraries hold.
                let _ = v1;
                format!("{name}: {v0}")
            })
        }
    }
}

impl Program {
    /// Compiles the template's Rego and libs. Libraries must be packages under `lib` (as
    /// Gatekeeper's rewriter requires); the entry point must define `violation`.
    pub fn compile(rego: &str, libs: &[String]) -> Result<Program, String> {
        let mut engine = Engine::new();
        engine.set_policy_length_config(length_config());
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: EVAL_TIME_LIMIT,
            check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
        });
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
        // Compile now, so that a bad template is an error when it is read, not per resource.
        let mut probe = engine.clone();
        probe.set_input(regorus::Value::new_object());
        probe.eval_rule(rule.clone()).map_err(|e| format!("`rego`: {e}"))?;
        Ok(Program { engine: Mutex::new(engine), rule })
    }

    /// Every violation for this input. `inventory` becomes `data.inventory` when given.
    pub fn violations(&self, input: &Value, inventory: Option<&Value>) -> Result<Vec<Violation>, String> {
        let mut engine = match self.engine.lock() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if let Some(inv) = inventory {
            let mut data = serde_json::Map::new();
            data.insert("inventory".into(), inv.clone());
            engine.add_data(regorus::Value::from(Value::Object(data))).map_err(|e| format!("data.inventory: {e}"))?;
        }
        engine.set_input(regorus::Value::from(input.clone()));
        let out = engine.eval_rule(self.rule.clone()).map_err(|e| {
            let s = e.to_string();
            if s.contains("TimeLimitExceeded") || s.to_ascii_lowercase().contains("time limit") {
                format!("evaluation stopped: over the {EVAL_TIME_LIMIT:?} time limit ({s})")
            } else {
                s
            }
        })?;
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
}
