//! policy-controller's Rego attestation policies: the module's `data.sigstore.isCompliant`
//! over the verified in-toto statement (its `input`), with a time limit.

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::Engine;
use std::num::NonZeroU32;
use std::time::Duration;

/// The largest policy read; policies are short.
const MAX_POLICY: usize = 256 * 1024;

/// Whether `isCompliant` is true; an error names what failed (parse, evaluation, limits).
pub fn is_compliant(module: &str, statement: &serde_json::Value) -> Result<bool, String> {
    if module.len() > MAX_POLICY {
        return Err(format!("Rego policy: {} bytes, over the limit of {MAX_POLICY}", module.len()));
    }
    let mut engine = Engine::new();
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: Duration::from_secs(2),
        check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
    });
    // policy-controller's OPA reads v0 modules (`isCompliant { … }`); v1 is tried first.
    engine.set_rego_v0(false);
    if engine.add_policy("policy.rego".into(), module.to_string()).is_err() {
        engine.set_rego_v0(true);
        engine.add_policy("policy.rego".into(), module.to_string()).map_err(|e| format!("Rego policy: {e}"))?;
    }
    let input = regorus::Value::from_json_str(&statement.to_string()).map_err(|e| format!("Rego input: {e}"))?;
    engine.set_input(input);
    let v = engine.eval_rule("data.sigstore.isCompliant".into()).map_err(|e| format!("Rego policy: {e}"))?;
    Ok(v == regorus::Value::from(true))
}
