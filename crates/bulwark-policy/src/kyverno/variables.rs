//! `{{ }}` variables: JMESPath (the `jmespath` crate) over the evaluation context, with the
//! custom functions of Kyverno's pkg/engine/jmespath that policies use.

use jmespath::functions::{ArgumentType as A, CustomFunction, Signature};
use jmespath::{Context, ErrorReason, JmespathError, Rcvar, Runtime, Variable};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::OnceLock;

/// The longest `{{ }}` expression accepted, and the most variables in one string.
const MAX_EXPRESSION: usize = 4096;
const MAX_VARIABLES: usize = 64;
const MAX_NESTING: usize = 64;
/// Regexes from policies: the `regex` crate (linear time), bounded in size.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let mut rt = Runtime::new();
        rt.register_builtin_functions();
        register_custom(&mut rt);
        rt
    })
}

/// The variables an evaluation reads: each top-level variable in JMESPath's form, converted
/// once when it is set rather than at every query (the object may be large and a foreach
/// queries once per element), with its JSON when it was set as JSON. All shared: cloning the
/// variables for a rule or an old object copies no data.
#[derive(Clone, Default)]
pub struct Vars {
    entries: BTreeMap<String, Entry>,
}

/// A variable saved by [`Vars::save`].
pub struct Saved(Option<Entry>);

#[derive(Clone)]
struct Entry {
    /// None for a variable set in JMESPath's form only (the request: its JSON is the
    /// resource, which is not copied).
    json: Option<Rc<Value>>,
    var: Rcvar,
}

/// A JSON value in JMESPath's form (as `Variable::try_from`, without its detour through
/// serde's serializer).
pub fn convert(v: &Value) -> Rcvar {
    Rcvar::new(match v {
        Value::Null => Variable::Null,
        Value::Bool(b) => Variable::Bool(*b),
        Value::Number(n) => Variable::Number(n.clone()),
        Value::String(s) => Variable::String(s.clone()),
        Value::Array(a) => Variable::Array(a.iter().map(convert).collect()),
        Value::Object(o) => Variable::Object(o.iter().map(|(k, v)| (k.clone(), convert(v))).collect()),
    })
}

/// Whether a JSON value and a JMESPath value are the same data.
pub fn same(v: &Value, var: &Variable) -> bool {
    match (v, var) {
        (Value::Null, Variable::Null) => true,
        (Value::Bool(a), Variable::Bool(b)) => a == b,
        (Value::Number(a), Variable::Number(b)) => a == b,
        (Value::String(a), Variable::String(b)) => a == b,
        (Value::Array(a), Variable::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Value::Object(a), Variable::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| same(x, y)))
        }
        _ => false,
    }
}

impl Vars {
    /// `data` is a JSON object (`request`, `images`, context values, ...).
    pub fn new(data: Value) -> Self {
        let mut vars = Vars::default();
        if let Value::Object(o) = data {
            for (k, v) in o {
                vars.set(&k, Some(v));
            }
        }
        vars
    }
    /// A top-level variable as JSON.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.entries.get(key).map(Entry::json)
    }
    /// A top-level variable in JMESPath's form.
    pub fn get_var(&self, key: &str) -> Option<&Rcvar> {
        self.entries.get(key).map(|e| &e.var)
    }
    /// Sets a top-level variable (None removes it).
    pub fn set(&mut self, key: &str, v: Option<Value>) {
        match v {
            Some(v) => {
                let var = convert(&v);
                self.entries.insert(key.to_string(), Entry { json: Some(Rc::new(v)), var });
            }
            None => {
                self.entries.remove(key);
            }
        }
    }
    /// A top-level variable as it is, to be put back with [`Vars::restore`] (no copy).
    pub fn save(&self, key: &str) -> Saved {
        Saved(self.entries.get(key).cloned())
    }
    /// Saves every variable one `foreach` level sets (`element`, `elementIndex`, their
    /// `N`-suffixed forms, and the top-level names of its `context` entries), so that they can
    /// be put back after the loop rather than copying every variable for each element.
    pub fn save_foreach(&self, foreach: &Value, nesting: usize) -> Vec<(String, Saved)> {
        let touched = [
            "element".to_string(),
            "elementIndex".to_string(),
            format!("element{nesting}"),
            format!("elementIndex{nesting}"),
        ]
        .into_iter()
        .chain(
            foreach["context"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["name"].as_str())
                .map(|n| n.split('.').next().unwrap_or(n).to_string()),
        );
        touched
            .map(|k| {
                let saved = self.save(&k);
                (k, saved)
            })
            .collect()
    }
    /// Puts back a variable saved with [`Vars::save`] (absent then: removed).
    pub fn restore(&mut self, key: &str, saved: &Saved) {
        match &saved.0 {
            Some(e) => {
                self.entries.insert(key.to_string(), e.clone());
            }
            None => {
                self.entries.remove(key);
            }
        }
    }
    /// Sets `key` to the same value as `from` (shared, not converted again).
    pub fn alias(&mut self, key: &str, from: &str) {
        if let Some(e) = self.entries.get(from).cloned() {
            self.entries.insert(key.to_string(), e);
        }
    }
    /// Sets a top-level variable already in JMESPath's form.
    pub fn set_var(&mut self, key: &str, var: Rcvar) {
        self.entries.insert(key.to_string(), Entry { json: None, var });
    }
    /// Sets `a.b.c` (creating the objects on the way).
    pub fn set_path(&mut self, path: &str, v: Value) {
        let parts: Vec<&str> = path.split('.').collect();
        let Some((first, rest)) = parts.split_first() else { return };
        if rest.is_empty() {
            self.set(first, Some(v));
            return;
        }
        let mut top = self.entries.remove(*first).map(|e| e.json()).unwrap_or(Value::Null);
        let mut cur = &mut top;
        for (i, p) in rest.iter().enumerate() {
            if !cur.is_object() {
                *cur = Value::Object(serde_json::Map::new());
            }
            let Value::Object(o) = cur else { return };
            if i + 1 == rest.len() {
                o.insert(p.to_string(), v);
                break;
            }
            cur = o.entry(p.to_string()).or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
        self.set(first, Some(top));
    }
    /// Whether `request.operation` is DELETE.
    fn is_delete(&self) -> bool {
        self.get_var("request")
            .and_then(|r| r.as_object())
            .and_then(|r| r.get("operation"))
            .and_then(|o| o.as_string())
            .is_some_and(|o| o == "DELETE")
    }
    /// The JMESPath root.
    fn root(&self) -> Rcvar {
        Rcvar::new(Variable::Object(self.entries.iter().map(|(k, e)| (k.clone(), e.var.clone())).collect()))
    }
}

impl Entry {
    fn json(&self) -> Value {
        match &self.json {
            Some(j) => (**j).clone(),
            None => serde_json::to_value(&*self.var).unwrap_or(Value::Null),
        }
    }
}

/// Evaluates one JMESPath expression over the variables.
pub fn query(expr: &str, vars: &Vars) -> Result<Value, String> {
    run(expr, vars.root())
}

/// Evaluates one JMESPath expression over a JSON value.
pub fn query_value(expr: &str, data: &Value) -> Result<Value, String> {
    run(expr, Rcvar::new(Variable::try_from(data).map_err(|e| format!("JMESPath data: {e}"))?))
}

fn run(expr: &str, data: Rcvar) -> Result<Value, String> {
    let compiled = compiled(expr)?;
    // `interpret` on the converted data: `search` would serialize it again at every call.
    let mut jctx = jmespath::Context::new(expr, runtime());
    let result =
        jmespath::interpret(&data, compiled.as_ast(), &mut jctx).map_err(|e| format!("JMESPath query failed: {e}"))?;
    serde_json::to_value(&*result).map_err(|e| format!("JMESPath result: {e}"))
}

/// The most parsed expressions kept per thread (each at most [`MAX_EXPRESSION`] bytes).
const MAX_CACHED: usize = 1024;

thread_local! {
    /// Parsed expressions by text: a policy's expressions are the same for every resource,
    /// and parsing costs more than most queries.
    static PARSED: std::cell::RefCell<std::collections::HashMap<String, Rc<jmespath::Expression<'static>>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn compiled(expr: &str) -> Result<Rc<jmespath::Expression<'static>>, String> {
    if let Some(e) = PARSED.with(|c| c.borrow().get(expr).cloned()) {
        return Ok(e);
    }
    if expr.len() > MAX_EXPRESSION {
        return Err(format!("JMESPath expression longer than {MAX_EXPRESSION} bytes"));
    }
    // The parser recurses on nesting: a deep expression is refused before it can exhaust
    // the stack.
    let mut depth = 0usize;
    let mut max = 0usize;
    for c in expr.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_NESTING {
        return Err(format!("JMESPath expression nested deeper than {MAX_NESTING} levels"));
    }
    let e = Rc::new(runtime().compile(expr).map_err(|e| format!("incorrect query {expr}: {e}"))?);
    PARSED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CACHED {
            c.clear();
        }
        c.insert(expr.to_string(), e.clone());
    });
    Ok(e)
}

/// The `{{ ... }}` spans of a string: (start, end, inner expression). `\{{` is escaped.
fn spans(s: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'{' && b[i + 1] == b'{' && (i == 0 || b[i - 1] != b'\\') {
            // Kyverno's `\{\{(\{[^{}]*\}|[^{}])*\}\}`: single-brace objects inside are allowed.
            let mut j = i + 2;
            let mut ok = false;
            while j < b.len() {
                match b[j] {
                    b'}' if j + 1 < b.len() && b[j + 1] == b'}' => {
                        // `{{ {a: b} }}`: a `}}` may close an inner brace first.
                        ok = true;
                        break;
                    }
                    b'{' => {
                        let Some(end) = b[j + 1..].iter().position(|c| *c == b'}' || *c == b'{') else { break };
                        if b[j + 1 + end] != b'}' {
                            break;
                        }
                        j += end + 2;
                        continue;
                    }
                    b'}' => break,
                    _ => j += 1,
                }
            }
            if ok {
                out.push((i, j + 2));
                i = j + 2;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Whether a string holds a variable.
pub fn has_variables(s: &str) -> bool {
    !spans(s).is_empty()
}

/// Substitutes the variables of one string. A string that is exactly one variable becomes the
/// variable's value (any JSON type); otherwise values are spliced in as text (JSON for
/// non-strings), as Kyverno's SubstituteAll does. Nested variables are resolved inside out.
/// A variable that resolves to nothing is an error ("variable X not resolved"), as Kyverno's
/// NotFoundVariableErr.
pub fn substitute_str(s: &str, ctx: &Vars) -> Result<Value, String> {
    subst(s, ctx, false)
}

/// As [`substitute_str`], for preconditions and deny conditions: a variable that resolves to
/// nothing is an empty string (Kyverno's preconditions variable resolver).
pub fn substitute_str_in_conditions(s: &str, ctx: &Vars) -> Result<Value, String> {
    subst(s, ctx, true)
}

fn subst(s: &str, ctx: &Vars, empty_for_missing: bool) -> Result<Value, String> {
    let mut current = s.to_string();
    for _ in 0..MAX_VARIABLES {
        let found = spans(&current);
        let Some(&(start, end)) = found.first() else { break };
        let inner = current[start + 2..end - 2].trim().to_string();
        // An inner `{{` resolved first (`images.containers."{{element.name}}".tag`).
        if has_variables(&inner) {
            let resolved = subst(&inner, ctx, empty_for_missing)?;
            let text = as_text(&resolved);
            current = format!("{}{{{{{}}}}}{}", &current[..start], text, &current[end..]);
            continue;
        }
        let value = match resolve(&inner, ctx)? {
            Value::Null if empty_for_missing => Value::String(String::new()),
            Value::Null => return Err(format!("variable {inner} not resolved")),
            v => v,
        };
        if start == 0 && end == current.len() {
            return Ok(value);
        }
        let text = as_text(&value);
        if current.len() - (end - start) + text.len() > MAX_OUTPUT {
            return Err(format!("substituting {inner} would make a string over the {MAX_OUTPUT}-byte limit"));
        }
        current = format!("{}{}{}", &current[..start], text, &current[end..]);
    }
    if has_variables(&current) {
        return Err(format!("more than {MAX_VARIABLES} variables in {s:?}"));
    }
    Ok(Value::String(current.replace("\\{{", "{{")))
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One variable's value: `@` and JMESPath expressions over the context.
fn resolve(expr: &str, ctx: &Vars) -> Result<Value, String> {
    if expr.is_empty() {
        return Err("empty variable {{ }}".into());
    }
    // A DELETE has no object: Kyverno reads the old object instead.
    if ctx.is_delete() && expr.contains("request.object") {
        return query(&expr.replace("request.object", "request.oldObject"), ctx)
            .map_err(|e| format!("failed to resolve {expr}: {e}"));
    }
    query(expr, ctx).map_err(|e| format!("failed to resolve {expr}: {e}"))
}

/// Every variable of a JSON value substituted (keys unchanged, as Kyverno). A value without
/// variables (most patterns) is returned as it is, not copied.
pub fn substitute_all<'a>(v: &'a Value, ctx: &Vars) -> Result<Cow<'a, Value>, String> {
    if !any_variables(v) {
        return Ok(Cow::Borrowed(v));
    }
    walk(v, ctx, false).map(Cow::Owned)
}

/// [`substitute_all`] for conditions (unresolved variables are empty strings).
pub fn substitute_all_in_conditions<'a>(v: &'a Value, ctx: &Vars) -> Result<Cow<'a, Value>, String> {
    if !any_variables(v) {
        return Ok(Cow::Borrowed(v));
    }
    walk(v, ctx, true).map(Cow::Owned)
}

/// Whether any string of a value holds a variable.
fn any_variables(v: &Value) -> bool {
    match v {
        Value::String(s) => has_variables(s),
        Value::Array(a) => a.iter().any(any_variables),
        Value::Object(o) => o.values().any(any_variables),
        _ => false,
    }
}

fn walk(v: &Value, ctx: &Vars, empty: bool) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if has_variables(s) => subst(s, ctx, empty)?,
        Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, ctx, empty)).collect::<Result<_, _>>()?),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| Ok((k.clone(), walk(x, ctx, empty)?))).collect::<Result<_, String>>()?)
        }
        other => other.clone(),
    })
}

/// The longest string a replacing function may produce (a policy and a resource together could
/// otherwise ask for gigabytes: every character of a long text replaced by a long text).
const MAX_OUTPUT: usize = 16 << 20;

/// How many times `from` occurs in `s` (an empty `from` matches between every character).
fn occurrences(s: &str, from: &str) -> usize {
    if from.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(from).count()
    }
}

fn within_output_limit(ctx: &Context<'_>, len: usize, count: usize, with: usize) -> Result<(), JmespathError> {
    if count.saturating_mul(with).saturating_add(len) > MAX_OUTPUT {
        return Err(err(ctx, format!("the result would be over the {MAX_OUTPUT}-byte limit")));
    }
    Ok(())
}

fn err(ctx: &Context<'_>, msg: impl Into<String>) -> JmespathError {
    JmespathError::from_ctx(ctx, ErrorReason::Parse(msg.into()))
}

fn var(v: Variable) -> Rcvar {
    Rcvar::new(v)
}

fn string(s: impl Into<String>) -> Rcvar {
    var(Variable::String(s.into()))
}

fn str_arg(args: &[Rcvar], i: usize) -> &str {
    args.get(i).and_then(|a| a.as_string()).map(String::as_str).unwrap_or_default()
}

fn to_json(v: &Rcvar) -> Value {
    serde_json::to_value(&**v).unwrap_or(Value::Null)
}

fn from_json(v: &Value) -> Rcvar {
    convert(v)
}

fn regex(ctx: &Context<'_>, pattern: &str) -> Result<regex::Regex, JmespathError> {
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| err(ctx, e.to_string()))
}

fn number(f: f64) -> Rcvar {
    match serde_json::Number::from_f64(f) {
        Some(n) => var(Variable::Number(n)),
        None => var(Variable::Null),
    }
}

/// A number or a quantity/duration string, for Kyverno's arithmetic functions.
fn num_arg(v: &Rcvar) -> Option<f64> {
    v.as_number().or_else(|| v.as_string().and_then(|s| s.parse().ok()))
}

fn arith(name: &'static str, op: fn(f64, f64) -> Option<f64>) -> Box<CustomFunction> {
    Box::new(CustomFunction::new(
        Signature::new(vec![A::Any, A::Any], None),
        Box::new(move |args, ctx| {
            let (Some(a), Some(b)) = (num_arg(&args[0]), num_arg(&args[1])) else {
                return Err(err(ctx, format!("{name}: arguments must be numbers")));
            };
            match op(a, b) {
                Some(r) => Ok(number(r)),
                None => Err(err(ctx, format!("{name}: division by zero"))),
            }
        }),
    ))
}

fn register_custom(rt: &mut Runtime) {
    let s1 = || Signature::new(vec![A::String], None);
    let s2 = || Signature::new(vec![A::String, A::String], None);
    let s3 = || Signature::new(vec![A::String, A::String, A::String], None);
    rt.register_function(
        "to_upper",
        Box::new(CustomFunction::new(s1(), Box::new(|a, _| Ok(string(str_arg(a, 0).to_uppercase()))))),
    );
    rt.register_function(
        "to_lower",
        Box::new(CustomFunction::new(s1(), Box::new(|a, _| Ok(string(str_arg(a, 0).to_lowercase()))))),
    );
    rt.register_function(
        "trim",
        Box::new(CustomFunction::new(
            s2(),
            Box::new(|a, _| {
                let cut: Vec<char> = str_arg(a, 1).chars().collect();
                Ok(string(str_arg(a, 0).trim_matches(|c| cut.contains(&c))))
            }),
        )),
    );
    rt.register_function(
        "trim_prefix",
        Box::new(CustomFunction::new(
            s2(),
            Box::new(|a, _| {
                let s = str_arg(a, 0);
                Ok(string(s.strip_prefix(str_arg(a, 1)).unwrap_or(s)))
            }),
        )),
    );
    rt.register_function(
        "split",
        Box::new(CustomFunction::new(
            s2(),
            Box::new(|a, _| {
                let sep = str_arg(a, 1);
                let s = str_arg(a, 0);
                // Go's strings.Split with an empty separator splits into characters.
                let parts: Vec<Rcvar> = if sep.is_empty() {
                    s.chars().map(|c| string(c.to_string())).collect()
                } else {
                    s.split(sep).map(string).collect()
                };
                Ok(var(Variable::Array(parts)))
            }),
        )),
    );
    rt.register_function(
        "replace",
        Box::new(CustomFunction::new(
            Signature::new(vec![A::String, A::String, A::String, A::Number], None),
            Box::new(|a, ctx| {
                let n = a[3].as_number().unwrap_or(-1.0);
                let (s, from, to) = (str_arg(a, 0), str_arg(a, 1), str_arg(a, 2));
                let count = occurrences(s, from).min(if n < 0.0 { usize::MAX } else { n as usize });
                within_output_limit(ctx, s.len(), count, to.len())?;
                Ok(string(if n < 0.0 { s.replace(from, to) } else { s.replacen(from, to, n as usize) }))
            }),
        )),
    );
    rt.register_function(
        "replace_all",
        Box::new(CustomFunction::new(
            s3(),
            Box::new(|a, ctx| {
                let (s, from, to) = (str_arg(a, 0), str_arg(a, 1), str_arg(a, 2));
                within_output_limit(ctx, s.len(), occurrences(s, from), to.len())?;
                Ok(string(s.replace(from, to)))
            }),
        )),
    );
    rt.register_function(
        "equal_fold",
        Box::new(CustomFunction::new(
            s2(),
            Box::new(|a, _| Ok(var(Variable::Bool(str_arg(a, 0).to_lowercase() == str_arg(a, 1).to_lowercase())))),
        )),
    );
    rt.register_function(
        "compare",
        Box::new(CustomFunction::new(
            s2(),
            Box::new(|a, _| {
                Ok(number(match str_arg(a, 0).cmp(str_arg(a, 1)) {
                    std::cmp::Ordering::Less => -1.0,
                    std::cmp::Ordering::Equal => 0.0,
                    std::cmp::Ordering::Greater => 1.0,
                }))
            }),
        )),
    );
    rt.register_function(
        "truncate",
        Box::new(CustomFunction::new(
            Signature::new(vec![A::String, A::Number], None),
            Box::new(|a, ctx| {
                let n = a[1].as_number().unwrap_or(0.0);
                if n < 0.0 {
                    return Err(err(ctx, "truncate: length must be non-negative"));
                }
                Ok(string(str_arg(a, 0).chars().take(n as usize).collect::<String>()))
            }),
        )),
    );
    // regex_match(pattern, value): value may be a number, as in Kyverno.
    rt.register_function(
        "regex_match",
        Box::new(CustomFunction::new(
            Signature::new(vec![A::String, A::Union(vec![A::String, A::Number])], None),
            Box::new(|a, ctx| {
                let re = regex(ctx, str_arg(a, 0))?;
                let text = match a[1].as_string() {
                    Some(s) => s.clone(),
                    None => to_json(&a[1]).to_string(),
                };
                Ok(var(Variable::Bool(re.is_match(&text))))
            }),
        )),
    );
    rt.register_function(
        "pattern_match",
        Box::new(CustomFunction::new(
            Signature::new(vec![A::String, A::Union(vec![A::String, A::Number])], None),
            Box::new(|a, _| {
                let text = match a[1].as_string() {
                    Some(s) => s.clone(),
                    None => to_json(&a[1]).to_string(),
                };
                Ok(var(Variable::Bool(super::pattern::wildcard_match(str_arg(a, 0), &text))))
            }),
        )),
    );
    for (name, literal) in [("regex_replace_all", false), ("regex_replace_all_literal", true)] {
        rt.register_function(
            name,
            Box::new(CustomFunction::new(
                Signature::new(
                    vec![A::String, A::Union(vec![A::String, A::Number]), A::Union(vec![A::String, A::Number])],
                    None,
                ),
                Box::new(move |a, ctx| {
                    let re = regex(ctx, str_arg(a, 0))?;
                    let text = |v: &Rcvar| v.as_string().cloned().unwrap_or_else(|| to_json(v).to_string());
                    let (src, rep) = (text(&a[1]), text(&a[2]));
                    within_output_limit(ctx, src.len(), re.find_iter(&src).count(), rep.len())?;
                    let out = if literal {
                        re.replace_all(&src, regex::NoExpand(&rep)).into_owned()
                    } else {
                        re.replace_all(&src, rep.as_str()).into_owned()
                    };
                    Ok(string(out))
                }),
            )),
        );
    }
    rt.register_function(
        "label_match",
        Box::new(CustomFunction::new(
            Signature::new(vec![A::Object, A::Object], None),
            Box::new(|a, _| {
                let (sel, labels) = (to_json(&a[0]), to_json(&a[1]));
                let ok = sel.as_object().is_some_and(|s| s.iter().all(|(k, v)| labels.get(k) == Some(v)));
                Ok(var(Variable::Bool(ok)))
            }),
        )),
    );
    rt.register_function(
        "parse_json",
        Box::new(CustomFunction::new(
            s1(),
            Box::new(|a, ctx| {
                let v: Value = serde_json::from_str(str_arg(a, 0)).map_err(|e| err(ctx, e.to_string()))?;
                Ok(from_json(&v))
            }),
        )),
    );
    rt.register_function(
        "parse_yaml",
        Box::new(CustomFunction::new(
            s1(),
            Box::new(|a, ctx| {
                let v = crate::yaml::parse_one("parse_yaml", str_arg(a, 0)).map_err(|e| err(ctx, e.to_string()))?;
                Ok(from_json(&v))
            }),
        )),
    );
    rt.register_function(
        "items",
        Box::new(CustomFunction::new(
            Signature::new(vec![A::Object, A::String, A::String], None),
            Box::new(|a, _| {
                let (kn, vn) = (str_arg(a, 1).to_string(), str_arg(a, 2).to_string());
                let out = a[0]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        let mut m = std::collections::BTreeMap::new();
                        m.insert(kn.clone(), string(k.clone()));
                        m.insert(vn.clone(), v.clone());
                        var(Variable::Object(m))
                    })
                    .collect();
                Ok(var(Variable::Array(out)))
            }),
        )),
    );
    rt.register_function(
        "object_from_lists",
        Box::new(CustomFunction::new(
            Signature::new(vec![A::Array, A::Array], None),
            Box::new(|a, _| {
                let keys = a[0].as_array().cloned().unwrap_or_default();
                let vals = a[1].as_array().cloned().unwrap_or_default();
                let mut m = std::collections::BTreeMap::new();
                for (i, k) in keys.iter().enumerate() {
                    if let Some(k) = k.as_string() {
                        m.insert(k.clone(), vals.get(i).cloned().unwrap_or_else(|| var(Variable::Null)));
                    }
                }
                Ok(var(Variable::Object(m)))
            }),
        )),
    );
    rt.register_function("add", arith("add", |a, b| Some(a + b)));
    rt.register_function("subtract", arith("subtract", |a, b| Some(a - b)));
    rt.register_function("multiply", arith("multiply", |a, b| Some(a * b)));
    rt.register_function("divide", arith("divide", |a, b| (b != 0.0).then(|| a / b)));
    rt.register_function("modulo", arith("modulo", |a, b| (a as i64).checked_rem(b as i64).map(|r| r as f64)));
    rt.register_function(
        "base64_decode",
        Box::new(CustomFunction::new(
            s1(),
            Box::new(|a, ctx| {
                let bytes = base64_decode(str_arg(a, 0)).ok_or_else(|| err(ctx, "base64_decode: not base64"))?;
                Ok(string(String::from_utf8_lossy(&bytes).into_owned()))
            }),
        )),
    );
    rt.register_function(
        "base64_encode",
        Box::new(CustomFunction::new(s1(), Box::new(|a, _| Ok(string(base64_encode(str_arg(a, 0).as_bytes())))))),
    );
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = B64.iter().position(|b| *b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_variables_keep_their_type_and_inline_ones_become_text() {
        let ctx = Vars::new(json!({"request": {"object": {"spec": {"n": 3, "s": "x"}}}}));
        assert_eq!(substitute_str("{{ request.object.spec.n }}", &ctx).unwrap(), json!(3));
        assert_eq!(
            substitute_str("a-{{request.object.spec.s}}-{{request.object.spec.n}}", &ctx).unwrap(),
            json!("a-x-3")
        );
        assert_eq!(substitute_str("{{ to_upper('ab') }}", &ctx).unwrap(), json!("AB"));
        assert_eq!(substitute_str("{{ `[]` | length(@) }}", &ctx).unwrap(), json!(0));
    }

    #[test]
    fn conversion_is_jmespaths_and_sameness_is_equality() {
        let a = json!({"k": [1, 2.5, "s", null, true, {"n": {}}], "e": []});
        assert_eq!(*convert(&a), Variable::try_from(&a).unwrap());
        assert!(same(&a, &convert(&a)));
        for b in [
            json!({"k": [1, 2.5, "s", null, true, {"n": {}}]}),
            json!({"k": [1, 2.5, "s", null, true, {"n": {}}], "e": {}}),
            json!({"k": [1.0, 2.5, "s", null, true, {"n": {}}], "e": []}),
            json!({"k": [1, 2.5, "s", null, false, {"n": {}}], "e": []}),
            json!({"k": [1, 2.5, "s", null, true, {"m": {}}], "e": []}),
        ] {
            assert!(!same(&b, &convert(&a)), "{b}");
        }
    }

    #[test]
    fn saved_variables_are_put_back_and_aliases_share_the_value() {
        let mut ctx = Vars::new(json!({"element": "a"}));
        let saved = [ctx.save("element"), ctx.save("element0")];
        ctx.set("element", Some(json!({"x": 1})));
        ctx.alias("element0", "element");
        assert_eq!(substitute_str("{{ element0.x }}", &ctx).unwrap(), json!(1));
        ctx.restore("element", &saved[0]);
        ctx.restore("element0", &saved[1]);
        assert_eq!(ctx.get("element"), Some(json!("a")));
        assert_eq!(ctx.get("element0"), None);
    }

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "abcd"] {
            assert_eq!(base64_decode(&base64_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
    }
}
