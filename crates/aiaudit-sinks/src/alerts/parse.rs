//! Parsing the condition language into an [`Expr`].
//!
//! Grammar, loosest first (keywords in any case):
//!
//! ```text
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | primary
//! primary := "(" or ")" | operand [cmp operand] | operand "in" (list | field)
//! operand := field | string | number | true | false | null | STATUS
//! list    := "[" [literal ("," literal)*] "]"
//! ```
//!
//! Every error carries the 1-based column (in characters) where the input went wrong; the end of
//! the input is the column after its last character. Nesting (parentheses and `not`) is bounded
//! by [`MAX_DEPTH`], so no input can exhaust the stack.

use aiaudit_core::Status;

use super::expr::{CmpOp, Expr, Field, Lit, Operand};

/// The deepest nesting of parentheses and `not` a condition may have.
pub const MAX_DEPTH: usize = 64;

/// Why a condition did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// 1-based column, in characters, of the offending token (or one past the end).
    pub column: usize,
    /// What was wrong, e.g. `expected a value after >`.
    pub message: String,
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ExprError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Op(CmpOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    col: usize,
    /// The text as written, for messages.
    text: String,
}

fn err<T>(column: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError {
        column,
        message: message.into(),
    })
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '=' | '!' | '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('=', true) => CmpOp::Eq,
                    ('!', true) => CmpOp::Ne,
                    ('<', true) => CmpOp::Le,
                    ('>', true) => CmpOp::Ge,
                    ('<', false) => CmpOp::Lt,
                    ('>', false) => CmpOp::Gt,
                    ('=', false) => return err(col, "unexpected =; compare with =="),
                    _ => return err(col, "unexpected !; negate with not, or compare with !="),
                };
                if eq {
                    i += 1;
                }
                Tok::Op(op)
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return err(col, "unterminated string"),
                        Some('"') => break,
                        Some('\\') => match chars.get(i + 1) {
                            Some(&e @ ('"' | '\\')) => {
                                s.push(e);
                                i += 2;
                            }
                            Some(e) => {
                                return err(
                                    i + 1,
                                    format!("unknown escape \\{e}: only \\\" and \\\\ are allowed"),
                                );
                            }
                            None => return err(col, "unterminated string"),
                        },
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Str(s)
            }
            '-' | '0'..='9' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_ascii_alphanumeric()
                        || chars[j] == '.'
                        || (matches!(chars[j], '+' | '-') && matches!(chars[j - 1], 'e' | 'E')))
                {
                    j += 1;
                }
                let text: String = chars[i..j].iter().collect();
                let n = match parse_number(&text) {
                    Some(n) => n,
                    None if text == "-" => return err(col, "unexpected -"),
                    None => return err(col, format!("invalid number {text}")),
                };
                if !n.is_finite() {
                    return err(col, format!("number {text} is out of range"));
                }
                i = j - 1;
                Tok::Num(n)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len() && is_word_char(chars[j]) {
                    j += 1;
                }
                i = j - 1;
                Tok::Word(chars[start..j].iter().collect())
            }
            '&' | '|' => return err(col, format!("unexpected {c}; use and / or")),
            other => return err(col, format!("unexpected character {other:?}")),
        };
        i += 1;
        out.push(Token {
            tok,
            col,
            text: chars[start..i].iter().collect(),
        });
    }
    out.push(Token {
        tok: Tok::End,
        col: chars.len() + 1,
        text: String::new(),
    });
    Ok(out)
}

/// JSON-style numbers only (`-1`, `0.8`, `1e-3`): Rust's float parser alone would also take
/// `inf`, `nan` and `1.`.
fn parse_number(t: &str) -> Option<f64> {
    let body = t.strip_prefix('-').unwrap_or(t);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(k) => (&body[..k], Some(&body[k + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    (digits(int) && frac.is_none_or(digits) && exp_ok)
        .then(|| t.parse().ok())
        .flatten()
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `lex` always ends the list with `End`, and `bump` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn found(t: &Token) -> String {
        match t.tok {
            Tok::End => "the end".to_owned(),
            _ => t.text.clone(),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut items = vec![self.and(depth)?];
        while self.keyword("or") {
            self.bump();
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut items = vec![self.not(depth)?];
        while self.keyword("and") {
            self.bump();
            items.push(self.not(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if self.keyword("not") {
            let t = self.bump();
            if depth >= MAX_DEPTH {
                return err(t.col, format!("nested deeper than {MAX_DEPTH} levels"));
            }
            return Ok(Expr::Not(Box::new(self.not(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if self.peek().tok == Tok::LParen {
            let open = self.bump();
            if depth >= MAX_DEPTH {
                return err(open.col, format!("nested deeper than {MAX_DEPTH} levels"));
            }
            let e = self.or(depth + 1)?;
            let close = self.bump();
            if close.tok != Tok::RParen {
                return err(
                    close.col,
                    format!(
                        "expected ) to close the ( at column {}, found {}",
                        open.col,
                        Self::found(&close)
                    ),
                );
            }
            return Ok(e);
        }
        let first = self.peek().clone();
        let lhs = self.operand("an expression", None)?;
        let Tok::Op(op) = self.peek().tok else {
            if self.keyword("in") {
                let in_tok = self.bump();
                let rhs = if self.peek().tok == Tok::LBracket {
                    self.list()?
                } else {
                    let t = self.peek().clone();
                    match self.operand("a list or a field", Some(&in_tok))? {
                        Operand::Field(f) => Operand::Field(f),
                        _ => return err(t.col, "expected a list or a field after in"),
                    }
                };
                return Ok(Expr::Cmp {
                    lhs,
                    op: CmpOp::In,
                    rhs,
                });
            }
            // A bare value is a test for `true`: only details and boolean literals can be one.
            return match lhs {
                Operand::Field(Field::Details(_)) | Operand::Lit(Lit::Bool(_)) => {
                    Ok(Expr::Test(lhs))
                }
                _ => err(
                    self.peek().col,
                    format!(
                        "expected a comparison after {}, found {}",
                        first.text,
                        Self::found(self.peek())
                    ),
                ),
            };
        };
        let op_tok = self.bump();
        let rhs_tok = self.peek().clone();
        let rhs = self.operand("a value", Some(&op_tok))?;
        // Strings sort by their bytes, which would put ERROR before WARNING: refuse the trap.
        let str_vs_status = |a: &Operand, b: &Operand| {
            matches!(a, Operand::Field(Field::Status)) && matches!(b, Operand::Lit(Lit::Str(_)))
        };
        if !matches!(op, CmpOp::Eq | CmpOp::Ne)
            && (str_vs_status(&lhs, &rhs) || str_vs_status(&rhs, &lhs))
        {
            let col = if str_vs_status(&lhs, &rhs) {
                rhs_tok.col
            } else {
                first.col
            };
            return err(
                col,
                "status orders by severity: compare it with a bare status name such as WARNING, not a string",
            );
        }
        Ok(Expr::Cmp { lhs, op, rhs })
    }

    /// One operand; `what` names what was expected, `after` the token it follows.
    fn operand(&mut self, what: &str, after: Option<&Token>) -> Result<Operand, ExprError> {
        let t = self.bump();
        let keyword = matches!(&t.tok, Tok::Word(w)
            if ["and", "or", "not", "in"].iter().any(|k| w.eq_ignore_ascii_case(k)));
        match &t.tok {
            Tok::Str(s) => Ok(Operand::Lit(Lit::Str(s.clone()))),
            Tok::Num(n) => Ok(Operand::Lit(Lit::Num(*n))),
            Tok::Word(w) if !keyword => word(w, t.col),
            Tok::LBracket => err(t.col, "a list can only follow in"),
            _ => {
                let mut m = format!("expected {what}");
                if let Some(a) = after {
                    m = format!("{m} after {}", a.text);
                }
                if t.tok != Tok::End {
                    m = format!("{m}, found {}", t.text);
                }
                err(t.col, m)
            }
        }
    }

    fn list(&mut self) -> Result<Operand, ExprError> {
        let open = self.bump();
        let mut items = Vec::new();
        if self.peek().tok == Tok::RBracket {
            self.bump();
            return Ok(Operand::List(items));
        }
        loop {
            let t = self.peek().clone();
            match self.operand("a value", None)? {
                Operand::Lit(l) => items.push(l),
                _ => return err(t.col, "a list holds only literal values"),
            }
            let sep = self.bump();
            match sep.tok {
                Tok::Comma => {}
                Tok::RBracket => return Ok(Operand::List(items)),
                _ => {
                    return err(
                        sep.col,
                        format!(
                            "expected , or ] in the list opened at column {}, found {}",
                            open.col,
                            Self::found(&sep)
                        ),
                    );
                }
            }
        }
    }
}

/// A bare word: a literal keyword, a status name, or a field; anything else is refused here,
/// at parse time, so that a typo never silently makes a rule dead.
fn word(w: &str, col: usize) -> Result<Operand, ExprError> {
    let lit = |l| Ok(Operand::Lit(l));
    if w.eq_ignore_ascii_case("true") {
        return lit(Lit::Bool(true));
    }
    if w.eq_ignore_ascii_case("false") {
        return lit(Lit::Bool(false));
    }
    if w.eq_ignore_ascii_case("null") {
        return lit(Lit::Null);
    }
    if let Some(s) = Status::standard(w) {
        return lit(Lit::Status(s));
    }
    if let Some(f) = Field::from_name(w) {
        return Ok(Operand::Field(f));
    }
    if w == "details" || w.starts_with("details.") {
        return err(
            col,
            format!("{w} is not a details path: write details.<key>.<key>"),
        );
    }
    err(
        col,
        format!(
            "unknown field {w} (known: type, status, name, model, model.version, user, service, \
             subject, operation, operation.name, regulations, seq, details.<path>)"
        ),
    )
}

impl Expr {
    /// Parses a condition. Unknown fields, misplaced lists and comparisons of `status` with a
    /// string by order are refused here, with the column where they start.
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        let mut p = Parser {
            toks: lex(src)?,
            pos: 0,
        };
        let e = p.or(0)?;
        let t = p.peek();
        if t.tok != Tok::End {
            let m = match t.tok {
                Tok::RParen => "unexpected ) without a matching (".to_owned(),
                _ => format!("expected and, or or the end, found {}", t.text),
            };
            return err(t.col, m);
        }
        Ok(e)
    }
}
