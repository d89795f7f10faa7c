//! Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library), as overloads on the `cel`
//! crate's environment: lists (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`),
//! regex (`find`, `findAll`), `quantity()`, `url()` and cel-go's `sets`. Not here: `ip()`,
//! `cidr()`, `authorizer`, `format.*` and `semver()` (an expression calling them is an error
//! naming the function). cel-go's string extension (which
//! Kubernetes enables) comes from the crate itself.

use cel::common::types::{CelOptional, DYN_TYPE, INT_TYPE, LIST_TYPE, STRING_TYPE};
use cel::common::value::{CowVal, Val};
use cel::objects::Opaque;
use cel::{ExecutionError, Value};
use std::cmp::Ordering;
use std::sync::Arc;

type R<'b, 'v> = Result<CowVal<'b, 'v>, ExecutionError>;

/// The largest regex program accepted from a policy (the `regex` crate is linear-time; this
/// bounds its memory).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) fn register(env: &mut cel::Env) -> Result<(), cel::DeclarationError> {
    // lists
    env.add_member_overload("isSorted", "k8s_list_is_sorted", LIST_TYPE, vec![], is_sorted)?;
    env.add_member_overload("sum", "k8s_list_sum", LIST_TYPE, vec![], sum)?;
    env.add_member_overload("min", "k8s_list_min", LIST_TYPE, vec![], min)?;
    env.add_member_overload("max", "k8s_list_max", LIST_TYPE, vec![], max)?;
    env.add_member_overload("indexOf", "k8s_list_index_of", LIST_TYPE, vec![DYN_TYPE], index_of)?;
    env.add_member_overload("lastIndexOf", "k8s_list_last_index_of", LIST_TYPE, vec![DYN_TYPE], last_index_of)?;
    // sets (cel-go's ext.Sets, which Kubernetes enables)
    env.add_overload("sets.contains", "k8s_sets_contains", vec![LIST_TYPE, LIST_TYPE], sets_contains)?;
    env.add_overload("sets.equivalent", "k8s_sets_equivalent", vec![LIST_TYPE, LIST_TYPE], sets_equivalent)?;
    env.add_overload("sets.intersects", "k8s_sets_intersects", vec![LIST_TYPE, LIST_TYPE], sets_intersects)?;
    // regex
    env.add_member_overload("find", "k8s_string_find", STRING_TYPE, vec![STRING_TYPE], find)?;
    env.add_member_overload("findAll", "k8s_string_find_all", STRING_TYPE, vec![STRING_TYPE], find_all)?;
    env.add_member_overload("findAll", "k8s_string_find_all_n", STRING_TYPE, vec![STRING_TYPE, INT_TYPE], find_all_n)?;
    // quantity
    env.add_overload("quantity", "k8s_quantity", vec![STRING_TYPE], quantity)?;
    env.add_overload("isQuantity", "k8s_is_quantity", vec![STRING_TYPE], is_quantity)?;
    env.add_member_overload("sign", "k8s_quantity_sign", DYN_TYPE, vec![], q_sign)?;
    env.add_member_overload("isInteger", "k8s_quantity_is_integer", DYN_TYPE, vec![], q_is_integer)?;
    env.add_member_overload("asInteger", "k8s_quantity_as_integer", DYN_TYPE, vec![], q_as_integer)?;
    env.add_member_overload("asApproximateFloat", "k8s_quantity_as_float", DYN_TYPE, vec![], q_as_float)?;
    env.add_member_overload("add", "k8s_quantity_add", DYN_TYPE, vec![DYN_TYPE], q_add)?;
    env.add_member_overload("sub", "k8s_quantity_sub", DYN_TYPE, vec![DYN_TYPE], q_sub)?;
    env.add_member_overload("isGreaterThan", "k8s_quantity_gt", DYN_TYPE, vec![DYN_TYPE], q_gt)?;
    env.add_member_overload("isLessThan", "k8s_quantity_lt", DYN_TYPE, vec![DYN_TYPE], q_lt)?;
    env.add_member_overload("compareTo", "k8s_quantity_cmp", DYN_TYPE, vec![DYN_TYPE], q_cmp)?;
    // cel-go up to v0.27 (Kubernetes up to 1.35, Kyverno 1.15/1.16) hands a non-optional
    // receiver of `orValue`/`or` back unchanged; policies rely on it (`x.add.orValue([])`).
    // The crate's optional overloads accept any receiver and refuse a non-optional one, so
    // these calls are rewritten to ours when compiled (see budget.rs).
    env.add_overload(OR_VALUE, "k8s_or_value", vec![DYN_TYPE, DYN_TYPE], or_value)?;
    env.add_overload(OR, "k8s_or", vec![DYN_TYPE, DYN_TYPE], or)?;
    env.add_overload(REPLACE, "k8s_replace", vec![STRING_TYPE, STRING_TYPE, STRING_TYPE], replace)?;
    env.add_overload(REPLACE, "k8s_replace_n", vec![STRING_TYPE, STRING_TYPE, STRING_TYPE, INT_TYPE], replace)?;
    // url
    env.add_overload("url", "k8s_url", vec![STRING_TYPE], url)?;
    env.add_overload("isURL", "k8s_is_url", vec![STRING_TYPE], is_url)?;
    env.add_member_overload("getScheme", "k8s_url_scheme", DYN_TYPE, vec![], url_scheme)?;
    env.add_member_overload("getHost", "k8s_url_host", DYN_TYPE, vec![], url_host)?;
    env.add_member_overload("getHostname", "k8s_url_hostname", DYN_TYPE, vec![], url_hostname)?;
    env.add_member_overload("getPort", "k8s_url_port", DYN_TYPE, vec![], url_port)?;
    env.add_member_overload("getEscapedPath", "k8s_url_path", DYN_TYPE, vec![], url_path)?;
    env.add_member_overload("getQuery", "k8s_url_query", DYN_TYPE, vec![], url_query)?;
    Ok(())
}

fn value(v: &CowVal<'_, '_>) -> Result<Value, ExecutionError> {
    Value::try_from(v.as_ref())
}

fn out<'b, 'v>(v: Value) -> R<'b, 'v> {
    let b: Box<dyn Val> = v.try_into()?;
    Ok(CowVal::Owned(b))
}

fn args<const N: usize>(function: &str, a: Vec<CowVal<'_, '_>>) -> Result<[Value; N], ExecutionError> {
    if a.len() != N {
        return Err(ExecutionError::invalid_argument_count(N, a.len()));
    }
    let v: Vec<Value> = a.iter().map(value).collect::<Result<_, _>>()?;
    v.try_into().map_err(|_| ExecutionError::function_error(function, "bad arguments"))
}

fn err(function: &str, message: impl ToString) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

// ---- lists ----

/// CEL's ordering of comparable values of one kind (numbers across kinds, as cel-go).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (UInt(x), UInt(y)) => Some(x.cmp(y)),
        (Float(x), Float(y)) => x.partial_cmp(y),
        (Int(x), UInt(y)) => Some((*x as i128).cmp(&(*y as i128))),
        (UInt(x), Int(y)) => Some((*x as i128).cmp(&(*y as i128))),
        (Int(x), Float(y)) => (*x as f64).partial_cmp(y),
        (Float(x), Int(y)) => x.partial_cmp(&(*y as f64)),
        (UInt(x), Float(y)) => (*x as f64).partial_cmp(y),
        (Float(x), UInt(y)) => x.partial_cmp(&(*y as f64)),
        (String(x), String(y)) => Some(x.cmp(y)),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Bytes(x), Bytes(y)) => Some(x.cmp(y)),
        (Duration(x), Duration(y)) => Some(x.cmp(y)),
        (Timestamp(x), Timestamp(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn list(function: &str, v: Value) -> Result<Arc<Vec<Value>>, ExecutionError> {
    match v {
        Value::List(l) => Ok(l),
        _ => Err(err(function, "not a list")),
    }
}

fn is_sorted<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [l] = args::<1>("isSorted", a)?;
    let l = list("isSorted", l)?;
    for w in l.windows(2) {
        match compare(&w[0], &w[1]) {
            Some(Ordering::Greater) => return out(Value::Bool(false)),
            Some(_) => {}
            None => return Err(err("isSorted", "list elements are not comparable")),
        }
    }
    out(Value::Bool(true))
}

fn sum<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [l] = args::<1>("sum", a)?;
    let l = list("sum", l)?;
    let overflow = || err("sum", "integer overflow");
    let mut acc = match l.first() {
        None => return out(Value::Int(0)),
        Some(Value::Int(_)) => Value::Int(0),
        Some(Value::UInt(_)) => Value::UInt(0),
        Some(Value::Float(_)) => Value::Float(0.0),
        Some(_) => return Err(err("sum", "list elements are not summable")),
    };
    for v in l.iter() {
        acc = match (&acc, v) {
            (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_add(*y).ok_or_else(overflow)?),
            (Value::UInt(x), Value::UInt(y)) => Value::UInt(x.checked_add(*y).ok_or_else(overflow)?),
            (Value::Float(x), Value::Float(y)) => Value::Float(x + y),
            _ => return Err(err("sum", "list elements are not of one summable type")),
        };
    }
    out(acc)
}

fn extreme<'b, 'v>(function: &str, a: Vec<CowVal<'b, 'v>>, want: Ordering) -> R<'b, 'v> {
    let [l] = args::<1>(function, a)?;
    let l = list(function, l)?;
    let mut best = l.first().ok_or_else(|| err(function, format!("{function} called on an empty list")))?;
    for v in l.iter().skip(1) {
        match compare(v, best) {
            Some(o) if o == want => best = v,
            Some(_) => {}
            None => return Err(err(function, "list elements are not comparable")),
        }
    }
    out(best.clone())
}

fn min<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    extreme("min", a, Ordering::Less)
}

fn max<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    extreme("max", a, Ordering::Greater)
}

/// CEL equality (numbers across kinds).
fn equal(a: &Value, b: &Value) -> bool {
    match compare(a, b) {
        Some(o) => o == Ordering::Equal,
        None => a == b,
    }
}

fn index_of<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [l, x] = args::<2>("indexOf", a)?;
    let l = list("indexOf", l)?;
    out(Value::Int(l.iter().position(|v| equal(v, &x)).map(|i| i as i64).unwrap_or(-1)))
}

fn last_index_of<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [l, x] = args::<2>("lastIndexOf", a)?;
    let l = list("lastIndexOf", l)?;
    out(Value::Int(l.iter().rposition(|v| equal(v, &x)).map(|i| i as i64).unwrap_or(-1)))
}

/// A CEL list, shared.
type List = Arc<Vec<Value>>;

fn two_lists(function: &str, a: Vec<CowVal<'_, '_>>) -> Result<(List, List), ExecutionError> {
    let [x, y] = args::<2>(function, a)?;
    Ok((list(function, x)?, list(function, y)?))
}

/// Whether every element of `sub` is in `set` (CEL equality; quadratic, and charged as the
/// lists were built).
fn contains_all(set: &[Value], sub: &[Value]) -> bool {
    sub.iter().all(|x| set.iter().any(|y| equal(x, y)))
}

fn sets_contains<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = two_lists("sets.contains", a)?;
    out(Value::Bool(contains_all(&x, &y)))
}

fn sets_equivalent<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = two_lists("sets.equivalent", a)?;
    out(Value::Bool(contains_all(&x, &y) && contains_all(&y, &x)))
}

fn sets_intersects<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = two_lists("sets.intersects", a)?;
    out(Value::Bool(x.iter().any(|v| y.iter().any(|w| equal(v, w)))))
}

/// `x.orValue(d)`, compiled as `@bulwark_or_value(x, d)`.
pub(super) const OR_VALUE: &str = "@bulwark_or_value";
/// `x.or(y)`, compiled as `@bulwark_or(x, y)`.
pub(super) const OR: &str = "@bulwark_or";

fn two<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> Result<(CowVal<'b, 'v>, CowVal<'b, 'v>), ExecutionError> {
    let n = a.len();
    let mut it = a.into_iter();
    match (it.next(), it.next()) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(ExecutionError::invalid_argument_count(2, n)),
    }
}

/// An optional's value, or `default` when it is empty; any other receiver unchanged.
fn or_value<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (this, default) = two(a)?;
    let inner = match this.downcast_ref::<CelOptional>() {
        None => return Ok(this),
        Some(opt) => opt.option().map(|v| v.clone_as_boxed()),
    };
    Ok(inner.map(CowVal::Owned).unwrap_or(default))
}

/// An optional with a value, else `other`; any other receiver unchanged.
fn or<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (this, other) = two(a)?;
    match this.downcast_ref::<CelOptional>() {
        Some(opt) if opt.option().is_none() => Ok(other),
        _ => Ok(this),
    }
}

/// `s.replace(old, new[, n])`, compiled as `@bulwark_replace(s, old, new[, n])`: one call
/// can multiply its input's size, so the result is charged before it is built.
pub(super) const REPLACE: &str = "@bulwark_replace";

fn replace<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let n = a.len();
    let v: Vec<Value> = a.iter().map(value).collect::<Result<_, _>>()?;
    let (s, old, new, limit) = match v.as_slice() {
        [Value::String(s), Value::String(o), Value::String(w)] => (s, o, w, -1),
        [Value::String(s), Value::String(o), Value::String(w), Value::Int(k)] => (s, o, w, *k),
        _ => return Err(ExecutionError::invalid_argument_count(3, n)),
    };
    let count = if old.is_empty() { s.chars().count() + 1 } else { s.matches(old.as_str()).count() };
    let count = if limit < 0 { count } else { count.min(limit as usize) };
    let size = (s.len() as u64).saturating_add((count as u64).saturating_mul(new.len() as u64));
    if !super::budget::charge(size / 8) {
        return Err(super::budget::limit_error());
    }
    let out = if limit < 0 { s.replace(old.as_str(), new) } else { s.replacen(old.as_str(), new, limit as usize) };
    string_out(&out)
}

// ---- regex ----

fn regex(function: &str, pattern: &str) -> Result<regex::Regex, ExecutionError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| err(function, format!("'{pattern}' is not a valid regex: {e}")))
}

fn strings<const N: usize>(function: &str, a: Vec<CowVal<'_, '_>>) -> Result<[String; N], ExecutionError> {
    let v = args::<N>(function, a)?;
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (o, v) in out.iter_mut().zip(v) {
        match v {
            Value::String(s) => *o = s.to_string(),
            _ => return Err(err(function, "expected a string")),
        }
    }
    Ok(out)
}

fn find<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [s, re] = strings::<2>("find", a)?;
    let re = regex("find", &re)?;
    out(Value::String(Arc::new(re.find(&s).map(|m| m.as_str().to_string()).unwrap_or_default())))
}

fn find_all_limit<'b, 'v>(s: &str, re: &str, limit: i64) -> R<'b, 'v> {
    let re = regex("findAll", re)?;
    let limit = if limit < 0 { usize::MAX } else { limit as usize };
    let found: Vec<Value> =
        re.find_iter(s).take(limit).map(|m| Value::String(Arc::new(m.as_str().to_string()))).collect();
    out(Value::List(Arc::new(found)))
}

fn find_all<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [s, re] = strings::<2>("findAll", a)?;
    find_all_limit(&s, &re, -1)
}

fn find_all_n<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [s, re, n] = args::<3>("findAll", a)?;
    match (s, re, n) {
        (Value::String(s), Value::String(re), Value::Int(n)) => find_all_limit(&s, &re, n),
        _ => Err(err("findAll", "expected (string, string, int)")),
    }
}

// ---- quantity ----

/// A Kubernetes resource quantity (`500m`, `1Gi`, `1e3`): its exact value as
/// `mantissa × 10^exp`, and the text it was written as.
#[derive(Clone, Debug)]
pub struct Quantity {
    mantissa: i128,
    exp: i32,
    text: String,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }
}
impl Eq for Quantity {}

impl Opaque for Quantity {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.Quantity"
    }
    fn json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.text.clone()))
    }
}

impl Quantity {
    /// Parses a quantity as Kubernetes' `resource.ParseQuantity`: a signed decimal number
    /// and a suffix (binary `Ki`..`Ei`, decimal `n`..`E`, or an exponent `e3`/`E3`).
    pub fn parse(text: &str) -> Option<Quantity> {
        let s = text.trim();
        if s.is_empty() || s.len() > 64 {
            return None;
        }
        let (neg, rest) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 36 {
            return None;
        }
        let mut mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let mut exp: i32 = -(frac_part.len() as i32);
        let (mult2, exp10): (u32, i32) = match suffix {
            "" => (0, 0),
            "Ki" => (10, 0),
            "Mi" => (20, 0),
            "Gi" => (30, 0),
            "Ti" => (40, 0),
            "Pi" => (50, 0),
            "Ei" => (60, 0),
            "n" => (0, -9),
            "u" => (0, -6),
            "m" => (0, -3),
            "k" => (0, 3),
            "M" => (0, 6),
            "G" => (0, 9),
            "T" => (0, 12),
            "P" => (0, 15),
            "E" => (0, 18),
            s if s.starts_with(['e', 'E']) => {
                let e: i32 = s[1..].parse().ok()?;
                if !(-1000..=1000).contains(&e) {
                    return None;
                }
                (0, e)
            }
            _ => return None,
        };
        mantissa = mantissa.checked_mul(1i128.checked_shl(mult2)?)?;
        exp += exp10;
        if neg {
            mantissa = -mantissa;
        }
        Some(Quantity { mantissa, exp, text: s.to_string() })
    }

    fn approx(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exp)
    }

    /// Both at one exponent, when that fits; None when it overflows.
    fn aligned(&self, other: &Quantity) -> Option<(i128, i128, i32)> {
        let exp = self.exp.min(other.exp);
        let scale = |q: &Quantity| -> Option<i128> {
            let d = u32::try_from(q.exp - exp).ok()?;
            q.mantissa.checked_mul(10i128.checked_pow(d)?)
        };
        Some((scale(self)?, scale(other)?, exp))
    }

    fn cmp_value(&self, other: &Quantity) -> Ordering {
        match self.aligned(other) {
            Some((a, b, _)) => a.cmp(&b),
            None => self.approx().partial_cmp(&other.approx()).unwrap_or(Ordering::Equal),
        }
    }

    fn sign(&self) -> i64 {
        self.mantissa.signum() as i64
    }

    /// The value as an integer, when it is one and fits in int64.
    fn as_integer(&self) -> Option<i64> {
        if self.exp >= 0 {
            let m = self.mantissa.checked_mul(10i128.checked_pow(self.exp as u32)?)?;
            return i64::try_from(m).ok();
        }
        let d = 10i128.checked_pow((-self.exp) as u32)?;
        (self.mantissa % d == 0).then(|| i64::try_from(self.mantissa / d).ok()).flatten()
    }

    fn combine(&self, other: &Quantity, sub: bool) -> Option<Quantity> {
        let (a, b, exp) = self.aligned(other)?;
        let m = if sub { a.checked_sub(b)? } else { a.checked_add(b)? };
        let text = if exp >= 0 { format!("{m}e{exp}") } else { Quantity::decimal(m, exp) };
        Some(Quantity { mantissa: m, exp, text })
    }

    fn decimal(m: i128, exp: i32) -> String {
        let neg = m < 0;
        let digits = m.unsigned_abs().to_string();
        let places = (-exp) as usize;
        let s = if digits.len() > places {
            let (i, f) = digits.split_at(digits.len() - places);
            format!("{i}.{f}")
        } else {
            format!("0.{}{digits}", "0".repeat(places - digits.len()))
        };
        let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        if neg {
            format!("-{s}")
        } else {
            s
        }
    }
}

fn quantity_of(function: &str, v: &Value) -> Result<Quantity, ExecutionError> {
    match v {
        Value::Opaque(o) => o.downcast_ref::<Quantity>().cloned().ok_or_else(|| err(function, "not a quantity")),
        Value::Int(i) => Ok(Quantity { mantissa: *i as i128, exp: 0, text: i.to_string() }),
        _ => Err(err(function, "not a quantity")),
    }
}

fn quantity<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [s] = strings::<1>("quantity", a)?;
    let q = Quantity::parse(&s).ok_or_else(|| err("quantity", format!("invalid quantity '{s}'")))?;
    out(Value::Opaque(Arc::new(q)))
}

fn is_quantity<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [s] = strings::<1>("isQuantity", a)?;
    out(Value::Bool(Quantity::parse(&s).is_some()))
}

fn receiver(function: &str, a: Vec<CowVal<'_, '_>>) -> Result<Quantity, ExecutionError> {
    let [q] = args::<1>(function, a)?;
    quantity_of(function, &q)
}

fn pair(function: &str, a: Vec<CowVal<'_, '_>>) -> Result<(Quantity, Quantity), ExecutionError> {
    let [q, o] = args::<2>(function, a)?;
    Ok((quantity_of(function, &q)?, quantity_of(function, &o)?))
}

fn q_sign<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    out(Value::Int(receiver("sign", a)?.sign()))
}

fn q_is_integer<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    out(Value::Bool(receiver("isInteger", a)?.as_integer().is_some()))
}

fn q_as_integer<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let q = receiver("asInteger", a)?;
    let i = q.as_integer().ok_or_else(|| err("asInteger", "cannot convert value to integer"))?;
    out(Value::Int(i))
}

fn q_as_float<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    out(Value::Float(receiver("asApproximateFloat", a)?.approx()))
}

fn q_add<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = pair("add", a)?;
    out(Value::Opaque(Arc::new(x.combine(&y, false).ok_or_else(|| err("add", "quantity overflow"))?)))
}

fn q_sub<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = pair("sub", a)?;
    out(Value::Opaque(Arc::new(x.combine(&y, true).ok_or_else(|| err("sub", "quantity overflow"))?)))
}

fn q_gt<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = pair("isGreaterThan", a)?;
    out(Value::Bool(x.cmp_value(&y) == Ordering::Greater))
}

fn q_lt<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = pair("isLessThan", a)?;
    out(Value::Bool(x.cmp_value(&y) == Ordering::Less))
}

fn q_cmp<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let (x, y) = pair("compareTo", a)?;
    out(Value::Int(match x.cmp_value(&y) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

// ---- url ----

/// A URL as Kubernetes' `url()` parses it (Go's `url.ParseRequestURI`: an absolute URL or an
/// absolute path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    scheme: String,
    host: String,
    path: String,
    query: String,
    text: String,
}

impl Opaque for Url {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.URL"
    }
    fn json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.text.clone()))
    }
}

impl Url {
    pub fn parse(text: &str) -> Option<Url> {
        if text.is_empty() || text.len() > 8192 || text.chars().any(|c| c.is_control() || c == ' ') {
            return None;
        }
        // A fragment is not allowed by ParseRequestURI: it is part of the path or query.
        let (rest, query) = match text.split_once('?') {
            Some((r, q)) => (r, q.to_string()),
            None => (text, String::new()),
        };
        if rest.starts_with('/') {
            return Some(Url {
                scheme: String::new(),
                host: String::new(),
                path: rest.into(),
                query,
                text: text.into(),
            });
        }
        let (scheme, after) = rest.split_once(':')?;
        let mut chars = scheme.chars();
        if !chars.next()?.is_ascii_alphabetic()
            || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return None;
        }
        let (host, path) = match after.strip_prefix("//") {
            Some(a) => match a.find('/') {
                Some(i) => (a[..i].to_string(), a[i..].to_string()),
                None => (a.to_string(), String::new()),
            },
            None if after.starts_with('/') => (String::new(), after.to_string()),
            // `mailto:x` (opaque) is accepted by Go; its path is empty.
            None => (String::new(), String::new()),
        };
        // User info is not part of the host.
        let host = host.rsplit_once('@').map(|(_, h)| h.to_string()).unwrap_or(host);
        Some(Url { scheme: scheme.to_string(), host, path, query, text: text.into() })
    }

    fn hostname(&self) -> &str {
        let h = &self.host;
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split_once(']').map(|(a, _)| a).unwrap_or(rest);
        }
        h.rsplit_once(':').map(|(a, _)| a).unwrap_or(h)
    }

    fn port(&self) -> &str {
        let h = &self.host;
        match h.strip_prefix('[') {
            Some(rest) => rest.split_once("]:").map(|(_, p)| p).unwrap_or(""),
            None => h.rsplit_once(':').map(|(_, p)| p).unwrap_or(""),
        }
    }
}

fn url<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [s] = strings::<1>("url", a)?;
    let u =
        Url::parse(&s).ok_or_else(|| err("url", format!("URL parse error during conversion from string: '{s}'")))?;
    out(Value::Opaque(Arc::new(u)))
}

fn is_url<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let [s] = strings::<1>("isURL", a)?;
    out(Value::Bool(Url::parse(&s).is_some()))
}

fn url_of(function: &str, a: Vec<CowVal<'_, '_>>) -> Result<Url, ExecutionError> {
    let [u] = args::<1>(function, a)?;
    match u {
        Value::Opaque(o) => o.downcast_ref::<Url>().cloned().ok_or_else(|| err(function, "not a URL")),
        _ => Err(err(function, "not a URL")),
    }
}

fn string_out<'b, 'v>(s: &str) -> R<'b, 'v> {
    out(Value::String(Arc::new(s.to_string())))
}

fn url_scheme<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    string_out(&url_of("getScheme", a)?.scheme)
}

fn url_host<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    string_out(&url_of("getHost", a)?.host)
}

fn url_hostname<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    string_out(url_of("getHostname", a)?.hostname())
}

fn url_port<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    string_out(url_of("getPort", a)?.port())
}

fn url_path<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    string_out(&url_of("getEscapedPath", a)?.path)
}

fn url_query<'b, 'v>(a: Vec<CowVal<'b, 'v>>) -> R<'b, 'v> {
    let u = url_of("getQuery", a)?;
    let mut map: std::collections::HashMap<cel::objects::Key, Value> = std::collections::HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for pair in u.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        order.push((k.to_string(), v.to_string()));
    }
    let mut grouped: std::collections::BTreeMap<String, Vec<Value>> = std::collections::BTreeMap::new();
    for (k, v) in order {
        grouped.entry(k).or_default().push(Value::String(Arc::new(v)));
    }
    for (k, v) in grouped {
        map.insert(cel::objects::Key::String(Arc::new(k)), Value::List(Arc::new(v)));
    }
    out(Value::Map(cel::objects::Map { map: Arc::new(map) }))
}
