//! The Kubernetes CEL environment shared by every CEL dialect (Kyverno `validate.cel` and
//! ValidatingPolicy, ValidatingAdmissionPolicy, Gatekeeper `K8sNativeValidation`): the
//! variables (`object`, `oldObject`, `request`, `params`, `namespaceObject`, `variables`) and
//! Kubernetes' CEL libraries, with cost limits.
//!
//! Expressions run on the `cel` crate; Kubernetes' libraries (lists, regex, quantity, url) are
//! ours ([`k8s`]). Every expression is instrumented when compiled ([`budget`]): each call, each
//! comprehension iteration and each value it produces is charged to a budget, with a deadline,
//! so that an expression that blows up (nested comprehensions over large lists, strings that
//! double) stops with an error naming it instead of hanging or exhausting memory.

mod budget;
mod k8s;

use budget::Budget;
pub use budget::Limits;
use std::cell::Cell;

use crate::dialect::Request;
use cel::objects::{Key, Map};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use thiserror::Error;

/// The longest expression accepted (Kubernetes refuses more than 5,000 characters of a
/// validation's expression only through its cost estimate; a bound keeps parsing cheap).
pub const MAX_EXPRESSION_BYTES: usize = 64 << 10;

/// A CEL problem, naming the expression.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum CelError {
    /// The expression does not parse.
    #[error("compiling `{expression}`: {message}")]
    Compile { expression: String, message: String },
    /// It failed while running (no such key, no overload, a bad argument).
    #[error("evaluating `{expression}`: {message}")]
    Eval { expression: String, message: String },
    /// It was stopped by a limit (cost, time, size).
    #[error("evaluating `{expression}`: {message}")]
    Limit { expression: String, message: String },
}

/// The environment: CEL's standard library, the cel-go extensions Kubernetes enables
/// (strings, lists, math, encoders) and Kubernetes' own libraries. Built once.
static ENV: LazyLock<Result<Arc<cel::Env>, String>> = LazyLock::new(|| {
    let mut env = cel::Env::stdlib();
    let add = |env: &mut cel::Env| -> Result<(), cel::DeclarationError> {
        env.add_extension(cel::extensions::strings)?;
        env.add_extension(cel::extensions::lists)?;
        env.add_extension(cel::extensions::math)?;
        env.add_extension(cel::extensions::encoders)?;
        k8s::register(env)?;
        budget::register(env)?;
        Ok(())
    };
    add(&mut env).map_err(|e| e.to_string())?;
    Ok(Arc::new(env))
});

fn env() -> Result<&'static Arc<cel::Env>, String> {
    ENV.as_ref().map_err(|e| format!("the CEL environment could not be built: {e}"))
}

/// A compiled expression (parsed, macros expanded, instrumented for the budget).
#[derive(Debug)]
pub struct Expression {
    source: String,
    expr: cel::IdedExpr,
    /// The variables it names (`object`, `variables`, `authorizer`, ...), not counting those
    /// its comprehensions bind.
    variables: Vec<String>,
}

impl Expression {
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Whether it names the top-level variable `name` (to refuse what we do not implement,
    /// such as `authorizer`).
    pub fn uses_variable(&self, name: &str) -> bool {
        self.variables.iter().any(|v| v == name)
    }
}

/// Compiles one expression. Errors name it.
pub fn compile(source: &str) -> Result<Expression, CelError> {
    let err = |message: String| CelError::Compile { expression: source.to_string(), message };
    if source.len() > MAX_EXPRESSION_BYTES {
        return Err(err(format!("longer than {MAX_EXPRESSION_BYTES} bytes")));
    }
    let env = env().map_err(err)?;
    let expr = env.parser().parse(source).map_err(|e| err(e.to_string().trim().to_string()))?;
    let mut variables: Vec<String> = Vec::new();
    collect_idents(&expr, &mut variables);
    let expr = budget::instrument(expr);
    Ok(Expression { source: source.to_string(), expr, variables })
}

/// The free identifiers an expression names (not those a comprehension binds), without
/// recursion: the parser bounds the depth, but the walk need not rely on it.
fn collect_idents(e: &cel::IdedExpr, out: &mut Vec<String>) {
    use cel::common::ast::{EntryExpr, Expr};
    use std::rc::Rc;
    let mut stack: Vec<(&cel::IdedExpr, Rc<Vec<String>>)> = vec![(e, Rc::new(Vec::new()))];
    while let Some((e, bound)) = stack.pop() {
        match &e.expr {
            Expr::Ident(name) => {
                if !bound.contains(name) && !out.contains(name) {
                    out.push(name.clone());
                }
            }
            Expr::Call(c) => {
                stack.extend(c.target.as_deref().map(|t| (t, Rc::clone(&bound))));
                stack.extend(c.args.iter().map(|a| (a, Rc::clone(&bound))));
            }
            Expr::Comprehension(c) => {
                stack.push((&c.iter_range, Rc::clone(&bound)));
                stack.push((&c.accu_init, Rc::clone(&bound)));
                let mut inner = (*bound).clone();
                inner.push(c.iter_var.clone());
                inner.extend(c.iter_var2.iter().cloned());
                inner.push(c.accu_var.clone());
                let inner = Rc::new(inner);
                for x in [&c.loop_cond, &c.loop_step, &c.result] {
                    stack.push((x, Rc::clone(&inner)));
                }
            }
            Expr::List(l) => stack.extend(l.elements.iter().map(|x| (x, Rc::clone(&bound)))),
            Expr::Map(cel::common::ast::MapExpr { entries })
            | Expr::Struct(cel::common::ast::StructExpr { entries, .. }) => {
                for entry in entries {
                    match &entry.expr {
                        EntryExpr::MapEntry(me) => {
                            stack.push((&me.key, Rc::clone(&bound)));
                            stack.push((&me.value, Rc::clone(&bound)));
                        }
                        EntryExpr::StructField(f) => stack.push((&f.value, Rc::clone(&bound))),
                    }
                }
            }
            Expr::Select(s) => stack.push((&s.operand, bound)),
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
}

/// What the variables of one evaluation hold, as JSON (Kubernetes' admission attributes).
#[derive(Clone, Debug, Default)]
pub struct Input {
    pub object: Json,
    pub old_object: Json,
    pub request: Json,
    pub params: Json,
    pub namespace_object: Json,
}

impl Input {
    /// The variables for a request, as the API server (and Kyverno) builds them: `object` null
    /// on DELETE is the caller's business (offline, the object is what we have); `request` is
    /// an AdmissionRequest; `namespaceObject` is the namespace with its labels, when the
    /// object is namespaced (`namespace` given).
    pub fn from_request(request: &Request, resource: &str, namespace: Option<&str>) -> Input {
        let object = request.object;
        let kind = object["kind"].as_str().unwrap_or_default();
        let (group, version) = split_api_version(object["apiVersion"].as_str().unwrap_or_default());
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let mut user = serde_json::Map::new();
        if let Some(u) = request.user {
            user.insert("username".into(), Json::from(u.username.clone()));
            user.insert("groups".into(), Json::from(u.groups.clone()));
        }
        let req = serde_json::json!({
            "uid": "",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": name,
            "namespace": namespace.unwrap_or_default(),
            "operation": request.operation.as_str(),
            "userInfo": Json::Object(user),
            "dryRun": false,
        });
        let namespace_object = match namespace {
            Some(ns) if !ns.is_empty() => {
                let labels: serde_json::Map<String, Json> = request
                    .namespace_labels
                    .map(|l| l.iter().map(|(k, v)| (k.clone(), Json::from(v.clone()))).collect())
                    .unwrap_or_default();
                serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns, "labels": labels},
                })
            }
            _ => Json::Null,
        };
        // On DELETE the API server sends the object as `oldObject`, and `object` is null.
        let (object, old_object) = match request.operation {
            crate::dialect::Operation::Delete => (Json::Null, request.old_object.unwrap_or(object).clone()),
            _ => (object.clone(), request.old_object.cloned().unwrap_or(Json::Null)),
        };
        Input { object, old_object, request: req, params: Json::Null, namespace_object }
    }
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The variables of one evaluation, bound once; expressions (match conditions, variables,
/// validations) are evaluated against it in turn.
pub struct Activation {
    ctx: cel::Context<'static, 'static>,
    /// One budget for every expression evaluated here.
    budget: Cell<Budget>,
    /// Variables whose expression failed: a later expression that names one reports why.
    failed: Vec<(String, CelError)>,
    /// The `variables` map so far: one map variable (not a dotted name per variable), so
    /// that `has(variables.x)` and `variables[...]` work as in Kubernetes.
    variables: std::collections::HashMap<cel::objects::Key, cel::Value>,
}

impl Activation {
    pub fn new(input: &Input, limits: Limits) -> Result<Self, CelError> {
        let env = env().map_err(|message| CelError::Eval { expression: String::new(), message })?;
        let mut ctx = cel::Context::with_env(Arc::clone(env));
        for (name, value) in [
            ("object", &input.object),
            ("oldObject", &input.old_object),
            ("request", &input.request),
            ("params", &input.params),
            ("namespaceObject", &input.namespace_object),
        ] {
            ctx.add_variable_from_value(name, from_json(value));
        }
        ctx.add_variable_from_value(
            "variables",
            cel::Value::Map(cel::objects::Map { map: Arc::new(Default::default()) }),
        );
        Ok(Activation {
            ctx,
            budget: Cell::new(Budget::new(&limits)),
            failed: Vec::new(),
            variables: Default::default(),
        })
    }

    /// Evaluates a composited variable and binds it as `variables.NAME` for the expressions
    /// that follow (Kubernetes evaluates them lazily; in order, a variable sees those before
    /// it). A failing variable is an error only for the expressions that use it.
    pub fn bind_variable(&mut self, name: &str, expression: &Expression) {
        match self.eval(expression) {
            Ok(v) => self.set_variable(name, v),
            Err(e) => self.failed.push((name.to_string(), e)),
        }
    }

    fn set_variable(&mut self, name: &str, value: cel::Value) {
        self.variables.insert(cel::objects::Key::String(Arc::new(name.to_string())), value);
        let map = cel::objects::Map { map: Arc::new(self.variables.clone()) };
        self.ctx.add_variable_from_value("variables", cel::Value::Map(map));
    }

    /// Binds `variables.NAME` to a value of the caller's (Gatekeeper's `variables.params`).
    pub fn bind_value(&mut self, name: &str, value: &Json) {
        self.set_variable(name, from_json(value));
    }

    /// Evaluates an expression within the limits.
    pub fn eval(&self, expression: &Expression) -> Result<cel::Value, CelError> {
        let mut budget = self.budget.get();
        let result = budget::run(&mut budget, || cel::Value::resolve(&expression.expr, &self.ctx));
        self.budget.set(budget);
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                // A variable that failed is reported as itself, not as a missing name.
                for (name, err) in &self.failed {
                    if expression.uses_variable("variables") && names_variable(&expression.source, name) {
                        return Err(CelError::Eval {
                            expression: expression.source.clone(),
                            message: format!("variable `{name}`: {err}"),
                        });
                    }
                }
                Err(CelError::Eval { expression: expression.source.clone(), message: e.to_string() })
            }
            Err(message) => Err(CelError::Limit { expression: expression.source.clone(), message }),
        }
    }

    /// Evaluates an expression that must give a boolean.
    pub fn eval_bool(&self, expression: &Expression) -> Result<bool, CelError> {
        match self.eval(expression)? {
            cel::Value::Bool(b) => Ok(b),
            other => Err(CelError::Eval {
                expression: expression.source.clone(),
                message: format!("expected a bool, got {}", type_name(&other)),
            }),
        }
    }

    /// Evaluates an expression that must give a string (`messageExpression`).
    pub fn eval_string(&self, expression: &Expression) -> Result<String, CelError> {
        match self.eval(expression)? {
            cel::Value::String(s) => Ok(s.to_string()),
            other => Err(CelError::Eval {
                expression: expression.source.clone(),
                message: format!("expected a string, got {}", type_name(&other)),
            }),
        }
    }
}

fn names_variable(source: &str, name: &str) -> bool {
    let needle = format!("variables.{name}");
    source
        .match_indices(&needle)
        .any(|(i, _)| !source[i + needle.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

fn type_name(v: &cel::Value) -> &'static str {
    match v {
        cel::Value::List(_) => "list",
        cel::Value::Map(_) => "map",
        cel::Value::Function(..) => "function",
        cel::Value::Int(_) => "int",
        cel::Value::UInt(_) => "uint",
        cel::Value::Float(_) => "double",
        cel::Value::String(_) => "string",
        cel::Value::Bytes(_) => "bytes",
        cel::Value::Bool(_) => "bool",
        cel::Value::Duration(_) => "duration",
        cel::Value::Timestamp(_) => "timestamp",
        cel::Value::Opaque(_) => "opaque",
        cel::Value::Struct(_) => "struct",
        cel::Value::Null => "null",
    }
}

/// JSON to a CEL value, as Kubernetes converts unstructured objects: integers are `int`
/// (`uint` only past `int`'s range), other numbers `double`. Iterative: the input may be deep.
pub fn from_json(v: &Json) -> cel::Value {
    // Depth is bounded by the YAML reader (128); recursion here is within that bound, but the
    // value may come from elsewhere, so convert without the call stack.
    enum Frame<'a> {
        List(std::slice::Iter<'a, Json>, Vec<cel::Value>),
        Map(serde_json::map::Iter<'a>, HashMap<Key, cel::Value>, Option<String>),
    }
    let scalar = |v: &Json| -> Option<cel::Value> {
        Some(match v {
            Json::Null => cel::Value::Null,
            Json::Bool(b) => cel::Value::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => cel::Value::Int(i),
                (None, Some(u)) => cel::Value::UInt(u),
                _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => cel::Value::String(Arc::new(s.clone())),
            _ => return None,
        })
    };
    if let Some(s) = scalar(v) {
        return s;
    }
    fn open(v: &Json) -> Frame<'_> {
        match v {
            Json::Array(a) => Frame::List(a.iter(), Vec::with_capacity(a.len())),
            Json::Object(o) => Frame::Map(o.iter(), HashMap::with_capacity(o.len()), None),
            _ => Frame::List([].iter(), Vec::new()),
        }
    }
    let mut stack = vec![open(v)];
    loop {
        let Some(top) = stack.last_mut() else { return cel::Value::Null };
        let next: Option<&Json> = match top {
            Frame::List(it, _) => it.next(),
            Frame::Map(it, _, pending) => it.next().map(|(k, v)| {
                *pending = Some(k.clone());
                v
            }),
        };
        let done = match next {
            Some(child) => match scalar(child) {
                Some(s) => Some(s),
                None => {
                    stack.push(open(child));
                    None
                }
            },
            None => {
                let finished = match stack.pop() {
                    Some(Frame::List(_, items)) => cel::Value::List(Arc::new(items)),
                    Some(Frame::Map(_, map, _)) => cel::Value::Map(Map { map: Arc::new(map) }),
                    None => cel::Value::Null,
                };
                if stack.is_empty() {
                    return finished;
                }
                Some(finished)
            }
        };
        if let Some(value) = done {
            match stack.last_mut() {
                Some(Frame::List(_, items)) => items.push(value),
                Some(Frame::Map(_, map, pending)) => {
                    let key = pending.take().unwrap_or_default();
                    map.insert(Key::String(Arc::new(key)), value);
                }
                None => return value,
            }
        }
    }
}

/// A CEL value as JSON (for messages and results); values with no JSON form are strings.
pub fn to_json(v: &cel::Value) -> Json {
    v.json().unwrap_or_else(|_| Json::String(format!("{v:?}")))
}
