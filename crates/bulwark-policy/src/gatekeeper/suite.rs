//! gator's test files (`suite.yaml`), run as `gator verify` runs them
//! (gatekeeper `pkg/gator/verify`): for each test, its template and constraint; for each case,
//! the object (or AdmissionReview) under test with the case's inventory; each assertion counts
//! the violations whose message matches its regex.

use super::rego::Violation;
use super::{review_of_admission_review, review_of_object, Constraint, Inventory, Templates};
use crate::error::PolicyError;
use crate::outcome::TestRecord;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Largest compiled size of an assertion's message regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Every assertion of one test file, evaluated. An assertion that cannot be evaluated (a
/// feature we lack, a bad file) is a record with `ok: false` and the reason in `detail`.
pub fn run_file(path: &Path) -> Result<Vec<TestRecord>, PolicyError> {
    let file = path.display().to_string();
    let suite = one_document(path)?;
    if suite["kind"].as_str() != Some("Suite") {
        return Err(PolicyError::input(&file, "not a gator Suite (kind: Suite)"));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let tests = match &suite["tests"] {
        Value::Array(t) => t.as_slice(),
        Value::Null => &[],
        _ => return Err(PolicyError::input(&file, "`tests` must be a list")),
    };
    let suite_skip = suite["skip"].as_bool().unwrap_or(false);
    let mut out = Vec::new();
    for (i, test) in tests.iter().enumerate() {
        run_test(&file, dir, i, test, suite_skip, &mut out);
    }
    Ok(out)
}

/// The one document of a file (templates, constraints and objects under test are one each).
fn one_document(path: &Path) -> Result<Value, PolicyError> {
    let docs: Vec<_> = crate::resource::read_file(path.to_path_buf()).collect::<Result<_, _>>()?;
    let n = docs.len();
    match <[_; 1]>::try_from(docs) {
        Ok([d]) => Ok(d.value),
        Err(_) => Err(PolicyError::input(path.display().to_string(), format!("defines {n} objects, want exactly 1"))),
    }
}

/// What an assertion wants (`violations`: yes, no or a count; unset is yes).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Yes,
    No,
    Exactly(u64),
}

impl Want {
    /// As gator's IntOrString: an integer, or the strings yes/no. A YAML 1.1 reader may have
    /// turned bare `yes`/`no` into booleans; gator reads them as the strings.
    fn parse(v: Option<&Value>) -> Result<Want, String> {
        match v {
            None | Some(Value::Null) => Ok(Want::Yes),
            Some(Value::Bool(true)) => Ok(Want::Yes),
            Some(Value::Bool(false)) => Ok(Want::No),
            Some(Value::String(s)) if s == "yes" => Ok(Want::Yes),
            Some(Value::String(s)) if s == "no" => Ok(Want::No),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(Want::Exactly(n.as_u64().unwrap_or_default())),
            _ => Err("assertion.violation, if set, must be a nonnegative integer, \"yes\", or \"no\"".into()),
        }
    }
    fn holds(self, matching: u64) -> bool {
        match self {
            Want::Yes => matching > 0,
            Want::No => matching == 0,
            Want::Exactly(n) => matching == n,
        }
    }
}

struct Ctx<'a> {
    file: &'a str,
    policy: String,
    rule: String,
}

impl Ctx<'_> {
    fn record(&self, resource: &str, expected: String, got: String, ok: bool, detail: String) -> TestRecord {
        TestRecord {
            test: self.file.to_string(),
            policy: self.policy.clone(),
            rule: self.rule.clone(),
            resource: resource.to_string(),
            expected,
            got,
            ok,
            detail,
        }
    }
}

fn expected_of(a: &Value) -> String {
    let v = match a.get("violations") {
        None | Some(Value::Null) => "yes".to_string(),
        Some(Value::Bool(true)) => "yes".to_string(),
        Some(Value::Bool(false)) => "no".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    match a.get("message").and_then(Value::as_str) {
        Some(m) => format!("violations: {v}, message: {m}"),
        None => format!("violations: {v}"),
    }
}

fn cases_of(test: &Value) -> &[Value] {
    test["cases"].as_array().map(Vec::as_slice).unwrap_or_default()
}

fn assertions_of(case: &Value) -> &[Value] {
    case["assertions"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Every case's every assertion failed with the same reason (the test could not run).
fn fail_all(ctx: &Ctx, test_name: &str, test: &Value, detail: &str, out: &mut Vec<TestRecord>) {
    let cases = cases_of(test);
    if cases.is_empty() {
        out.push(ctx.record(test_name, "run".into(), "error".into(), false, detail.to_string()));
    }
    for case in cases {
        let resource = format!("{test_name}/{}", case["name"].as_str().unwrap_or_default());
        let asserts = assertions_of(case);
        if asserts.is_empty() {
            out.push(ctx.record(&resource, "run".into(), "error".into(), false, detail.to_string()));
        }
        for a in asserts {
            out.push(ctx.record(&resource, expected_of(a), "error".into(), false, detail.to_string()));
        }
    }
}

fn skip_all(ctx: &Ctx, test_name: &str, cases: &[&Value], out: &mut Vec<TestRecord>) {
    for case in cases {
        let resource = format!("{test_name}/{}", case["name"].as_str().unwrap_or_default());
        for a in assertions_of(case) {
            // Not run, so not passed: `bulwark policy test` counts it as skipped.
            out.push(ctx.record(&resource, expected_of(a), "skipped".into(), false, "skip: true in the suite".into()));
        }
    }
}

fn run_test(file: &str, dir: &Path, index: usize, test: &Value, suite_skip: bool, out: &mut Vec<TestRecord>) {
    let test_name = test["name"].as_str().map(str::to_string).unwrap_or_else(|| format!("tests[{index}]"));
    let mut ctx = Ctx { file, policy: test_name.clone(), rule: String::new() };
    if suite_skip || test["skip"].as_bool().unwrap_or(false) {
        skip_all(&ctx, &test_name, &cases_of(test).iter().collect::<Vec<_>>(), out);
        return;
    }
    let constraint = match load(dir, test) {
        Ok(c) => c,
        Err(e) => {
            if test["invalid"].as_bool().unwrap_or(false) {
                // gator wants a schema error here; an error of another kind is a failure too.
                out.push(ctx.record(&test_name, "invalid constraint".into(), "error".into(), false, e));
            } else {
                fail_all(&ctx, &test_name, test, &e, out);
            }
            return;
        }
    };
    ctx.policy = constraint.name.clone();
    ctx.rule = constraint.kind.clone();
    if test["invalid"].as_bool().unwrap_or(false) {
        // Gatekeeper checks parameters against the template's openAPIV3Schema; we do not yet.
        let e = PolicyError::Unsupported {
            policy: constraint.id().to_string(),
            rule: None,
            field: "spec.parameters".into(),
            detail: Some("validation against the template's openAPIV3Schema (invalid: true)".into()),
        };
        out.push(ctx.record(&test_name, "invalid constraint".into(), "error".into(), false, e.to_string()));
        return;
    }
    for case in cases_of(test) {
        let resource = format!("{test_name}/{}", case["name"].as_str().unwrap_or_default());
        if case["skip"].as_bool().unwrap_or(false) {
            skip_all(&ctx, &test_name, &[case], out);
            continue;
        }
        let asserts = assertions_of(case);
        if asserts.is_empty() {
            out.push(ctx.record(&resource, "run".into(), "error".into(), false, "assertions must be non-empty".into()));
            continue;
        }
        match run_case(dir, &constraint, case) {
            Err(e) => {
                for a in asserts {
                    out.push(ctx.record(&resource, expected_of(a), "error".into(), false, e.clone()));
                }
            }
            Ok(violations) => {
                for a in asserts {
                    let expected = expected_of(a);
                    let (got, ok, detail) = match check(a, &violations) {
                        Ok((matching, ok)) => {
                            let msgs: Vec<&str> = violations.iter().map(|v| v.msg.as_str()).collect();
                            let detail = if ok { String::new() } else { format!("got messages {msgs:?}") };
                            (format!("{matching} violations"), ok, detail)
                        }
                        Err(e) => ("error".into(), false, e),
                    };
                    out.push(ctx.record(&resource, expected, got, ok, detail));
                }
            }
        }
    }
}

fn relative(dir: &Path, p: &str) -> PathBuf {
    dir.join(p)
}

/// The test's template and constraint, compiled.
fn load(dir: &Path, test: &Value) -> Result<Constraint, String> {
    let tpath = test["template"].as_str().filter(|s| !s.is_empty()).ok_or("invalid suite: missing template")?;
    let cpath = test["constraint"].as_str().filter(|s| !s.is_empty()).ok_or("invalid suite: missing constraint")?;
    let template = one_document(&relative(dir, tpath)).map_err(|e| e.to_string())?;
    let mut templates = Templates::default();
    templates.add(&template).map_err(|e| e.to_string())?;
    let constraint = one_document(&relative(dir, cpath)).map_err(|e| e.to_string())?;
    templates.constraint(&constraint).map_err(|e| e.to_string())
}

/// The violations of one case (none when the constraint does not match the object).
fn run_case(dir: &Path, constraint: &Constraint, case: &Value) -> Result<Vec<Violation>, String> {
    let opath = case["object"].as_str().filter(|s| !s.is_empty()).ok_or("invalid case: must define object")?;
    let object = one_document(&relative(dir, opath)).map_err(|e| e.to_string())?;
    let mut inventory = Inventory::default();
    if let Some(inv) = case["inventory"].as_array() {
        for p in inv {
            let p = p.as_str().ok_or("`inventory` must be a list of paths")?;
            let path = relative(dir, p);
            let docs: Vec<_> =
                crate::resource::read_file(path.clone()).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
            if docs.is_empty() {
                return Err(format!("path {:?} defines no YAML objects", path.display().to_string()));
            }
            for d in docs {
                inventory.add(&d.value).map_err(|e| format!("adding inventory {}: {e}", path.display()))?;
            }
        }
    }
    let is_review = object["kind"].as_str() == Some("AdmissionReview")
        && object["apiVersion"].as_str().is_some_and(|av| av.starts_with("admission.k8s.io/"));
    let review = if is_review { review_of_admission_review(&object)? } else { review_of_object(&object) };
    let ns_name = review["namespace"].as_str().unwrap_or_default();
    let namespace = inventory.namespaces.get(ns_name).filter(|_| !ns_name.is_empty()).map(|l| (ns_name, l));
    Ok(constraint.review(&review, namespace, inventory.data.as_ref())?.unwrap_or_default())
}

/// (violations counted, whether the assertion holds).
fn check(a: &Value, violations: &[Violation]) -> Result<(u64, bool), String> {
    let want = Want::parse(a.get("violations"))?;
    let matching = match a.get("message") {
        None | Some(Value::Null) => violations.len() as u64,
        Some(Value::String(re)) => {
            let re = regex::RegexBuilder::new(re)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("invalid regex {re:?}: {e}"))?;
            violations.iter().filter(|v| re.is_match(&v.msg)).count() as u64
        }
        Some(_) => return Err("`message` must be a string".into()),
    };
    Ok((matching, want.holds(matching)))
}
