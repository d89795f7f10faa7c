//! The cost limit of CEL evaluations. Kubernetes estimates an expression's cost statically and
//! also counts it at run time (`PerCallLimit`, `RuntimeCELCostBudget`); the `cel` crate counts
//! nothing, so every compiled expression is rewritten: each call, each comprehension iteration
//! and each element a comprehension appends goes through `@bulwark_cost(x)`, which charges one
//! unit plus the size of `x` (string bytes / 8, one per list or map entry, deeply) and checks a
//! deadline. Charging the size of what is produced bounds memory as well as time: a string
//! that doubles, or a list of copies of a large value, runs out of budget long before memory.
//!
//! The budget lives in a thread-local set for the duration of one evaluation (evaluation is
//! synchronous and the overload has no other way to reach its caller).

use cel::common::ast::{operators, CallExpr, EntryExpr, Expr, IdedExpr};
use cel::common::types::{CelBytes, CelString, DYN_TYPE};
use cel::common::value::{CowVal, Val};
use cel::ExecutionError;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// The name of the charging function: `@` cannot be written in CEL source.
const COST: &str = "@bulwark_cost";

/// Limits of one expression's evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Cost units (see the module documentation). Kubernetes' per-expression runtime limit is
    /// 1,000,000 of its own units, its per-policy budget 10,000,000.
    pub max_cost: u64,
    /// Wall-clock time of one policy evaluation (Kyverno's webhook timeout is 10 s by
    /// default; the cost limit stops hostile expressions long before, in release builds).
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_cost: 10_000_000, max_time: Duration::from_secs(10) }
    }
}

/// What is left of one evaluation's limits: an [`Activation`](super::Activation) spends one
/// budget on all its expressions (Kubernetes' budget is per policy evaluation too).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    remaining: u64,
    max_cost: u64,
    deadline: Instant,
    max_time: Duration,
}

impl Budget {
    pub fn new(limits: &Limits) -> Budget {
        Budget {
            remaining: limits.max_cost,
            max_cost: limits.max_cost,
            deadline: Instant::now() + limits.max_time,
            max_time: limits.max_time,
        }
    }
}

#[derive(Clone, Copy)]
struct State {
    budget: Budget,
    /// Charges since the clock was last read.
    ticks: u32,
    /// Set once exceeded, with which limit (0 cost, 1 time).
    exceeded: Option<u8>,
}

thread_local! {
    static STATE: Cell<Option<State>> = const { Cell::new(None) };
}

/// Runs `f` (one evaluation) on `budget`, which it spends. `Err` is the limit's message when
/// one was hit (whatever `f` then returned: the error it saw is ours).
pub fn run<T>(budget: &mut Budget, f: impl FnOnce() -> T) -> Result<T, String> {
    let outer = STATE.with(|s| s.get());
    let exceeded = if Instant::now() > budget.deadline { Some(1) } else { None };
    STATE.with(|s| s.set(Some(State { budget: *budget, ticks: 0, exceeded })));
    let out = if exceeded.is_none() { Some(f()) } else { None };
    let state = STATE.with(|s| s.replace(outer));
    if let Some(s) = state {
        *budget = s.budget;
        match s.exceeded {
            Some(0) => return Err(format!("cost limit exceeded (over {} units)", s.budget.max_cost)),
            Some(_) => return Err(format!("time limit exceeded ({:?})", s.budget.max_time)),
            None => {}
        }
    }
    out.ok_or_else(|| format!("time limit exceeded ({:?})", budget.max_time))
}

pub(super) fn limit_error() -> ExecutionError {
    ExecutionError::function_error("cost", "evaluation limit exceeded")
}

/// Charges `units`; false once the budget or the time is gone.
pub(super) fn charge(units: u64) -> bool {
    STATE.with(|cell| {
        let Some(mut s) = cell.get() else { return true };
        if s.exceeded.is_some() {
            return false;
        }
        if units > s.budget.remaining {
            s.budget.remaining = 0;
            s.exceeded = Some(0);
        } else {
            s.budget.remaining -= units;
            s.ticks += 1;
            if s.ticks >= 256 {
                s.ticks = 0;
                if Instant::now() > s.budget.deadline {
                    s.exceeded = Some(1);
                }
            }
        }
        cell.set(Some(s));
        s.exceeded.is_none()
    })
}

/// What is left of the budget (a size walk stops there).
fn remaining() -> u64 {
    STATE.with(|s| s.get().map(|s| s.budget.remaining).unwrap_or(u64::MAX))
}

/// The size of a value in cost units, walked at most up to `cap` units (so that walking
/// costs no more than what it charges).
fn size(v: &dyn Val, cap: u64) -> u64 {
    let mut total: u64 = 0;
    let mut stack: Vec<&dyn Val> = vec![v];
    while let Some(v) = stack.pop() {
        if total > cap {
            break;
        }
        if let Some(s) = v.downcast_ref::<CelString>() {
            total += s.inner().len() as u64 / 8;
        } else if let Some(b) = v.downcast_ref::<CelBytes>() {
            total += b.inner().len() as u64 / 8;
        } else if let Some(it) = v.as_iterable() {
            let indexer = v.as_indexer();
            let mut items = it.iter();
            while let Some(item) = items.next() {
                total += 1;
                if total > cap {
                    break;
                }
                match indexer {
                    // A map iterates its keys: charge the values too.
                    Some(ix) if v.get_type().name() == "map" => {
                        if let Ok(value) = ix.get(item) {
                            total += size(value.as_ref(), cap.saturating_sub(total));
                        }
                    }
                    _ => stack.push(item),
                }
            }
        }
    }
    total
}

fn cost<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let Some(v) = args.into_iter().next() else {
        return Err(ExecutionError::invalid_argument_count(1, 0));
    };
    let units = 1 + size(v.as_ref(), remaining());
    if charge(units) {
        Ok(v)
    } else {
        Err(limit_error())
    }
}

pub(super) fn register(env: &mut cel::Env) -> Result<(), cel::DeclarationError> {
    env.add_overload(COST, "bulwark_cost_dyn", vec![DYN_TYPE], cost)
}

/// Rewrites an expression so that its work is charged (see the module documentation).
pub(super) fn instrument(e: IdedExpr) -> IdedExpr {
    let mut next_id = max_id(&e) + 1;
    walk(e, &mut next_id)
}

fn max_id(e: &IdedExpr) -> u64 {
    let mut max = 0;
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        max = max.max(e.id);
        match &e.expr {
            Expr::Call(c) => {
                stack.extend(c.target.as_deref());
                stack.extend(c.args.iter());
            }
            Expr::Comprehension(c) => {
                stack.extend([&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result])
            }
            Expr::List(l) => stack.extend(l.elements.iter()),
            Expr::Map(m) => stack.extend(m.entries.iter().flat_map(entry_exprs)),
            Expr::Struct(s) => stack.extend(s.entries.iter().flat_map(entry_exprs)),
            Expr::Select(s) => stack.push(&s.operand),
            _ => {}
        }
    }
    max
}

fn entry_exprs(e: &cel::common::ast::IdedEntryExpr) -> Vec<&IdedExpr> {
    match &e.expr {
        EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
        EntryExpr::StructField(f) => vec![&f.value],
    }
}

fn wrap(e: IdedExpr, next_id: &mut u64) -> IdedExpr {
    let id = *next_id;
    *next_id += 1;
    IdedExpr { id, expr: Expr::Call(CallExpr { func_name: COST.to_string(), target: None, args: vec![e] }) }
}

/// Instruments the children of `e`, and wraps `e` if it is a call. Depth is bounded by the
/// parser's recursion limit.
fn walk(e: IdedExpr, next_id: &mut u64) -> IdedExpr {
    let id = e.id;
    match e.expr {
        Expr::Call(mut c)
            if c.args.len() == 1 && c.target.is_some() && matches!(c.func_name.as_str(), "orValue" | "or") =>
        {
            // Ours, which also take a non-optional receiver (see k8s.rs).
            let target = c.target.take().map(|t| walk_operand(*t, next_id));
            let arg = c.args.pop().map(|a| walk(a, next_id));
            let func_name = if c.func_name == "orValue" { super::k8s::OR_VALUE } else { super::k8s::OR };
            let call = CallExpr {
                func_name: func_name.to_string(),
                target: None,
                args: target.into_iter().chain(arg).collect(),
            };
            wrap(IdedExpr { id, expr: Expr::Call(call) }, next_id)
        }
        Expr::Call(mut c) if matches!(c.args.len(), 2 | 3) && c.target.is_some() && c.func_name == "replace" => {
            // Ours, which charges the result's size before building it (see k8s.rs).
            let target = c.target.take().map(|t| walk_operand(*t, next_id));
            let args = c.args.into_iter().map(|a| walk(a, next_id));
            let call = CallExpr {
                func_name: super::k8s::REPLACE.to_string(),
                target: None,
                args: target.into_iter().chain(args).collect(),
            };
            wrap(IdedExpr { id, expr: Expr::Call(call) }, next_id)
        }
        Expr::Call(mut c) => {
            c.target = c.target.map(|t| Box::new(walk_operand(*t, next_id)));
            c.args = c.args.into_iter().map(|a| walk(a, next_id)).collect();
            wrap(IdedExpr { id, expr: Expr::Call(c) }, next_id)
        }
        Expr::Select(mut s) => {
            s.operand = Box::new(walk_operand(*s.operand, next_id));
            IdedExpr { id, expr: Expr::Select(s) }
        }
        Expr::List(mut l) => {
            // Each element is copied into the list: charged before it is.
            l.elements = l.elements.into_iter().map(|x| wrap(walk(x, next_id), next_id)).collect();
            IdedExpr { id, expr: Expr::List(l) }
        }
        Expr::Map(mut m) => {
            for entry in &mut m.entries {
                walk_entry(entry, next_id);
            }
            IdedExpr { id, expr: Expr::Map(m) }
        }
        Expr::Struct(mut s) => {
            for entry in &mut s.entries {
                walk_entry(entry, next_id);
            }
            IdedExpr { id, expr: Expr::Struct(s) }
        }
        Expr::Comprehension(mut c) => {
            let accu = c.accu_var.clone();
            c.iter_range = walk(std::mem::take(&mut c.iter_range), next_id);
            // A literal condition (map, filter) stays literal: the interpreter recognises
            // that shape and appends in place; their iterations are charged in the step.
            if !matches!(c.loop_cond.expr, Expr::Literal(_)) {
                c.loop_cond = wrap(walk(std::mem::take(&mut c.loop_cond), next_id), next_id);
            }
            c.loop_step = walk_step(std::mem::take(&mut c.loop_step), &accu, next_id);
            c.result = walk(std::mem::take(&mut c.result), next_id);
            IdedExpr { id, expr: Expr::Comprehension(c) }
        }
        other => IdedExpr { id, expr: other },
    }
}

/// A call's target or a select's operand: a qualified name (`variables.x`, `optional.none`)
/// is resolved by its spelling, so identifiers and selects on them stay as written.
fn walk_operand(e: IdedExpr, next_id: &mut u64) -> IdedExpr {
    match &e.expr {
        Expr::Ident(_) => e,
        Expr::Select(_) => walk(e, next_id),
        _ => walk(e, next_id),
    }
}

fn walk_entry(entry: &mut cel::common::ast::IdedEntryExpr, next_id: &mut u64) {
    match &mut entry.expr {
        EntryExpr::MapEntry(m) => {
            m.key = walk(std::mem::take(&mut m.key), next_id);
            m.value = wrap(walk(std::mem::take(&mut m.value), next_id), next_id);
        }
        EntryExpr::StructField(f) => f.value = walk(std::mem::take(&mut f.value), next_id),
    }
}

/// A comprehension's loop step keeps the shape the interpreter recognises (`@result && p`,
/// `@result + [x]`, `g ? @result + [x] : @result`); what each iteration computes is charged.
fn walk_step(e: IdedExpr, accu: &str, next_id: &mut u64) -> IdedExpr {
    let id = e.id;
    match e.expr {
        Expr::Ident(ref name) if name == accu => e,
        Expr::Call(mut c) if c.target.is_none() => {
            if c.func_name == operators::CONDITIONAL && c.args.len() == 3 {
                let mut args = c.args.into_iter();
                let (g, s, o) = (args.next(), args.next(), args.next());
                c.args = [
                    g.map(|g| wrap(walk(g, next_id), next_id)),
                    s.map(|s| walk_step(s, accu, next_id)),
                    o.map(|o| walk_step(o, accu, next_id)),
                ]
                .into_iter()
                .flatten()
                .collect();
            } else {
                c.args = c
                    .args
                    .into_iter()
                    .map(|a| match a.expr {
                        Expr::Ident(ref name) if name == accu => a,
                        Expr::List(mut l) => {
                            l.elements = l.elements.into_iter().map(|x| wrap(walk(x, next_id), next_id)).collect();
                            IdedExpr { id: a.id, expr: Expr::List(l) }
                        }
                        _ => wrap(walk(a, next_id), next_id),
                    })
                    .collect();
            }
            IdedExpr { id, expr: Expr::Call(c) }
        }
        other => wrap(walk(IdedExpr { id, expr: other }, next_id), next_id),
    }
}
