//! The condition language of alert rules: its syntax tree, how it is printed, and how it is
//! evaluated against a sealed record.
//!
//! Evaluation never fails: a field the record lacks, or two values of different kinds, make a
//! comparison false (`!=` included), so a rule can only ever miss, never break the engine.
//! The parser (`parse.rs`) guarantees the shapes evaluation relies on: lists appear only on the
//! right of `in`, bare values only where they can be booleans.

use std::cmp::Ordering;
use std::fmt;

use aiaudit_core::Status;
use serde_json::Value;

/// A parsed condition, e.g. `status >= WARNING and type == "drift"`.
///
/// `and` and `or` are n-ary (a chain `a and b and c` is one node of three), so a long chain never
/// nests deeply; only `not` and parentheses add depth, and the parser bounds that.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All of these hold (at least two items).
    And(Vec<Expr>),
    /// Any of these holds (at least two items).
    Or(Vec<Expr>),
    /// The inner condition does not hold.
    Not(Box<Expr>),
    /// A comparison of two operands.
    Cmp {
        /// Left side.
        lhs: Operand,
        /// The operator.
        op: CmpOp,
        /// Right side (a [`Operand::List`] only for [`CmpOp::In`]).
        rhs: Operand,
    },
    /// A bare value, true when it is the JSON value `true` (`details.flagged`, `true`).
    Test(Operand),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`: membership of the left value in the right list.
    In,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::In => "in",
        }
    }

    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
            // `in` is decided by `Expr::eval`; it never reaches an ordering.
            CmpOp::In => false,
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A member of the record.
    Field(Field),
    /// A literal value.
    Lit(Lit),
    /// A list of literals (`["drift", "error"]`), only on the right of `in`.
    List(Vec<Lit>),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// A double-quoted string.
    Str(String),
    /// A number (always finite).
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A bare standard status name (`WARNING`): compared by severity against `status`, as its
    /// name anywhere else.
    Status(Status),
}

/// A member of the sealed record that a condition can read (docs/format.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `type`
    Type,
    /// `status`
    Status,
    /// `name`, the human message
    Name,
    /// `model`: `model.name`
    Model,
    /// `model.version`
    ModelVersion,
    /// `user`: `actor.user`
    User,
    /// `service`: `actor.service`
    Service,
    /// `subject`
    Subject,
    /// `operation`: `operation.id`
    Operation,
    /// `operation.name`
    OperationName,
    /// `regulations`, a list
    Regulations,
    /// `seq`
    Seq,
    /// `details.<key>.<key>…` (a key of digits also indexes an array).
    Details(Vec<String>),
}

impl Field {
    /// The field named `word` as written in a condition (`model.name` and `actor.user` are
    /// accepted as the long forms of `model` and `user`); `None` if no such field exists.
    /// A `details.` path must have only non-empty keys.
    pub fn from_name(word: &str) -> Option<Field> {
        Some(match word {
            "type" => Field::Type,
            "status" => Field::Status,
            "name" => Field::Name,
            "model" | "model.name" => Field::Model,
            "model.version" => Field::ModelVersion,
            "user" | "actor.user" => Field::User,
            "service" | "actor.service" => Field::Service,
            "subject" => Field::Subject,
            "operation" | "operation.id" => Field::Operation,
            "operation.name" => Field::OperationName,
            "regulations" => Field::Regulations,
            "seq" => Field::Seq,
            _ => {
                let path = word.strip_prefix("details.")?;
                let keys: Vec<String> = path.split('.').map(str::to_owned).collect();
                if keys.iter().any(String::is_empty) {
                    return None;
                }
                Field::Details(keys)
            }
        })
    }

    /// The value of this field in `record`, if it has one.
    pub fn get<'a>(&self, record: &'a Value) -> Option<&'a Value> {
        let member = |a: &str, b: &str| record.get(a).and_then(|v| v.get(b));
        match self {
            Field::Type => record.get("type"),
            Field::Status => record.get("status"),
            Field::Name => record.get("name"),
            Field::Model => member("model", "name"),
            Field::ModelVersion => member("model", "version"),
            Field::User => member("actor", "user"),
            Field::Service => member("actor", "service"),
            Field::Subject => record.get("subject"),
            Field::Operation => member("operation", "id"),
            Field::OperationName => member("operation", "name"),
            Field::Regulations => record.get("regulations"),
            Field::Seq => record.get("seq"),
            Field::Details(keys) => keys
                .iter()
                .try_fold(record.get("details")?, |v, k| match v {
                    Value::Object(m) => m.get(k),
                    Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get(i)),
                    _ => None,
                }),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Field::Type => "type",
            Field::Status => "status",
            Field::Name => "name",
            Field::Model => "model",
            Field::ModelVersion => "model.version",
            Field::User => "user",
            Field::Service => "service",
            Field::Subject => "subject",
            Field::Operation => "operation",
            Field::OperationName => "operation.name",
            Field::Regulations => "regulations",
            Field::Seq => "seq",
            Field::Details(keys) => return write!(f, "details.{}", keys.join(".")),
        };
        f.write_str(s)
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            // Rust prints the shortest digits that read back as the same double.
            Lit::Num(n) => write!(f, "{n}"),
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Null => f.write_str("null"),
            Lit::Status(s) => f.write_str(s.as_str()),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(x) => x.fmt(f),
            Operand::Lit(x) => x.fmt(f),
            Operand::List(items) => {
                f.write_str("[")?;
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    x.fmt(f)?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Prints the canonical form, which parses back to an equal tree: nested `and`/`or` are
/// parenthesized, so the printed text keeps the tree's shape exactly.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn child(e: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match e {
                Expr::And(_) | Expr::Or(_) => write!(f, "({e})"),
                _ => e.fmt(f),
            }
        }
        match self {
            Expr::And(items) | Expr::Or(items) => {
                let sep = if matches!(self, Expr::And(_)) {
                    " and "
                } else {
                    " or "
                };
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    child(x, f)?;
                }
                Ok(())
            }
            Expr::Not(inner) => {
                f.write_str("not ")?;
                child(inner, f)
            }
            Expr::Cmp { lhs, op, rhs } => write!(f, "{lhs} {} {rhs}", op.as_str()),
            Expr::Test(x) => x.fmt(f),
        }
    }
}

/// A value being compared: from the record or from a literal.
#[derive(Clone, Copy)]
enum Val<'a> {
    Json(&'a Value),
    Lit(&'a Lit),
}

impl Expr {
    /// Whether `record` (a sealed record as JSON) satisfies the condition. Never fails: missing
    /// fields and values of different kinds make a comparison false.
    pub fn eval(&self, record: &Value) -> bool {
        match self {
            Expr::And(items) => items.iter().all(|e| e.eval(record)),
            Expr::Or(items) => items.iter().any(|e| e.eval(record)),
            Expr::Not(inner) => !inner.eval(record),
            Expr::Test(x) => matches!(
                resolve(x, record),
                Some(Val::Json(Value::Bool(true)) | Val::Lit(Lit::Bool(true)))
            ),
            Expr::Cmp { lhs, op, rhs } => {
                let (Some(l), Some(r)) = (resolve(lhs, record), resolve(rhs, record)) else {
                    return false;
                };
                let l_status = is_status(lhs);
                if *op == CmpOp::In {
                    return match (rhs, r) {
                        (Operand::List(items), _) => items
                            .iter()
                            .any(|x| compare(CmpOp::Eq, l, Val::Lit(x), l_status, false)),
                        (_, Val::Json(Value::Array(items))) => items
                            .iter()
                            .any(|x| compare(CmpOp::Eq, l, Val::Json(x), l_status, false)),
                        _ => false,
                    };
                }
                compare(*op, l, r, l_status, is_status(rhs))
            }
        }
    }
}

fn is_status(o: &Operand) -> bool {
    matches!(o, Operand::Field(Field::Status))
}

/// `None` for a missing field. A list resolves to a placeholder that only `in` reads.
fn resolve<'a>(o: &'a Operand, record: &'a Value) -> Option<Val<'a>> {
    match o {
        Operand::Field(f) => f.get(record).map(Val::Json),
        Operand::Lit(l) => Some(Val::Lit(l)),
        Operand::List(_) => Some(Val::Lit(&Lit::Null)),
    }
}

/// Severity of a record's status text: the standard statuses by their OpenTelemetry number,
/// custom statuses as INFO (docs/format.md §1).
fn severity(status: &str) -> u8 {
    Status::standard(status).map_or(9, |s| s.severity_number())
}

/// `l op r`. `l_status`/`r_status` say which side is the record's `status` field, against which
/// a bare status name compares by severity (`==` by identity of the standard status).
fn compare(op: CmpOp, l: Val<'_>, r: Val<'_>, l_status: bool, r_status: bool) -> bool {
    match (l, r) {
        (Val::Json(Value::String(s)), Val::Lit(Lit::Status(st))) if l_status => {
            status_cmp(op, s, st, false)
        }
        (Val::Lit(Lit::Status(st)), Val::Json(Value::String(s))) if r_status => {
            status_cmp(op, s, st, true)
        }
        _ => match (scalar(l), scalar(r)) {
            (Scalar::Str(a), Scalar::Str(b)) => op.holds(a.cmp(b)),
            (Scalar::Num(a), Scalar::Num(b)) => a.partial_cmp(&b).is_some_and(|o| op.holds(o)),
            (Scalar::Bool(a), Scalar::Bool(b)) => equality(op, a == b),
            (Scalar::Null, Scalar::Null) => equality(op, true),
            (Scalar::Other(a), Scalar::Other(b)) => equality(op, a == b),
            _ => false,
        },
    }
}

/// The record's status `s` against the bare name `st`; `flipped` when `st` was on the left.
fn status_cmp(op: CmpOp, s: &str, st: &Status, flipped: bool) -> bool {
    match op {
        CmpOp::Eq => Status::standard(s).as_ref() == Some(st),
        CmpOp::Ne => Status::standard(s).as_ref() != Some(st),
        _ => {
            let (a, b) = (severity(s), st.severity_number());
            op.holds(if flipped { b.cmp(&a) } else { a.cmp(&b) })
        }
    }
}

/// Booleans, nulls, arrays and objects have no order: only `==` and `!=` hold for them.
fn equality(op: CmpOp, equal: bool) -> bool {
    match op {
        CmpOp::Eq => equal,
        CmpOp::Ne => !equal,
        _ => false,
    }
}

enum Scalar<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Null,
    Other(&'a Value),
}

fn scalar(v: Val<'_>) -> Scalar<'_> {
    match v {
        Val::Json(Value::String(s)) => Scalar::Str(s),
        // A number serde_json cannot hold as a double reads as NaN, which compares false.
        Val::Json(Value::Number(n)) => Scalar::Num(n.as_f64().unwrap_or(f64::NAN)),
        Val::Json(Value::Bool(b)) => Scalar::Bool(*b),
        Val::Json(Value::Null) => Scalar::Null,
        Val::Json(other) => Scalar::Other(other),
        Val::Lit(Lit::Str(s)) => Scalar::Str(s),
        Val::Lit(Lit::Num(n)) => Scalar::Num(*n),
        Val::Lit(Lit::Bool(b)) => Scalar::Bool(*b),
        Val::Lit(Lit::Null) => Scalar::Null,
        Val::Lit(Lit::Status(s)) => Scalar::Str(s.as_str()),
    }
}
