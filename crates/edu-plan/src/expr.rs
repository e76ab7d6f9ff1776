//! Indicator expressions over metric names: `+ - * /`, parentheses, numbers, unary minus.
//!
//! `100 * kg.pupils / pop.age3_5.resident` parses to an [`Expr`]; [`Expr::ratio_form`] rewrites any expression as
//! `scale × numerator ÷ denominator` so the platform can report the numerator and denominator behind a rate.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Sub => '-',
            BinOp::Mul => '*',
            BinOp::Div => '/',
        }
    }

    fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
        }
    }
}

/// An indicator expression. Metric names are letters, digits, `_` and `.`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expr {
    Number(f64),
    Metric(String),
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

/// A parsed expression with the byte range of every metric name inside the expression text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedExpr {
    pub expr: Expr,
    pub metric_refs: Vec<(String, Range<usize>)>,
}

/// A syntax error at a byte offset of the expression text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at offset {offset})")]
pub struct ExprSyntaxError {
    pub offset: usize,
    pub message: String,
}

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprEvalError {
    #[error("no value for metric `{0}`")]
    MissingMetric(String),
    #[error("division by zero")]
    DivisionByZero,
}

/// `value = scale × numerator ÷ denominator`; a missing numerator or denominator stands for 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatioForm {
    pub scale: f64,
    pub numerator: Option<Expr>,
    pub denominator: Option<Expr>,
}

/// Parses an indicator expression.
pub fn parse_expr(text: &str) -> Result<ParsedExpr, ExprSyntaxError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        position: 0,
        end: text.len(),
        metric_refs: Vec::new(),
    };
    let expr = parser.expression()?;
    if let Some(token) = parser.tokens.get(parser.position) {
        return Err(ExprSyntaxError {
            offset: token.span.start,
            message: format!(
                "unexpected {} after the end of the expression",
                token.kind.describe()
            ),
        });
    }
    Ok(ParsedExpr {
        expr,
        metric_refs: parser.metric_refs,
    })
}

/// Whether `name` is a valid metric name.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    starts_with_letter
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !name.ends_with('.')
        && !name.contains("..")
}

impl Expr {
    /// Evaluates the expression, looking metric values up by name.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> Result<f64, ExprEvalError> {
        match self {
            Expr::Number(value) => Ok(*value),
            Expr::Metric(name) => {
                lookup(name).ok_or_else(|| ExprEvalError::MissingMetric(name.clone()))
            }
            Expr::Neg(inner) => Ok(-inner.eval(lookup)?),
            Expr::Binary { op, left, right } => {
                let left = left.eval(lookup)?;
                let right = right.eval(lookup)?;
                match op {
                    BinOp::Add => Ok(left + right),
                    BinOp::Sub => Ok(left - right),
                    BinOp::Mul => Ok(left * right),
                    BinOp::Div if right == 0.0 => Err(ExprEvalError::DivisionByZero),
                    BinOp::Div => Ok(left / right),
                }
            }
        }
    }

    /// Metric names in order of first appearance, without repeats.
    pub fn metric_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.collect_metric_names(&mut names);
        names
    }

    fn collect_metric_names<'a>(&'a self, names: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Metric(name) => {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
            Expr::Neg(inner) => inner.collect_metric_names(names),
            Expr::Binary { left, right, .. } => {
                left.collect_metric_names(names);
                right.collect_metric_names(names);
            }
        }
    }

    /// Divisions by a constant zero anywhere in the expression (a plan error).
    pub fn divides_by_constant_zero(&self) -> bool {
        match self {
            Expr::Number(_) | Expr::Metric(_) => false,
            Expr::Neg(inner) => inner.divides_by_constant_zero(),
            Expr::Binary { op, left, right } => {
                let constant_zero = *op == BinOp::Div && right.constant_value() == Some(0.0);
                constant_zero || left.divides_by_constant_zero() || right.divides_by_constant_zero()
            }
        }
    }

    fn constant_value(&self) -> Option<f64> {
        self.eval(&|_| None).ok()
    }

    /// Rewrites the expression as `scale × numerator ÷ denominator` with constants gathered into `scale`:
    /// `100 * a / b` → (100, a, b); `(a + b) / (c + d)` → (1, a + b, c + d); `a / b / c` → (1, a, b * c);
    /// `a / b + c / b` → (1, a + c, b); `a / b + c / d` → (1, a * d + c * b, b * d).
    /// Evaluating the parts gives the value of the expression (a property test checks it).
    pub fn ratio_form(&self) -> RatioForm {
        match self {
            Expr::Number(value) => RatioForm {
                scale: *value,
                numerator: None,
                denominator: None,
            },
            Expr::Metric(_) => RatioForm {
                scale: 1.0,
                numerator: Some(self.clone()),
                denominator: None,
            },
            Expr::Neg(inner) => {
                let form = inner.ratio_form();
                RatioForm {
                    scale: -form.scale,
                    ..form
                }
            }
            Expr::Binary { op, left, right } => {
                let a = left.ratio_form();
                let b = right.ratio_form();
                match op {
                    BinOp::Mul => RatioForm {
                        scale: a.scale * b.scale,
                        numerator: multiply(a.numerator, b.numerator),
                        denominator: multiply(a.denominator, b.denominator),
                    },
                    BinOp::Div => RatioForm {
                        scale: a.scale / b.scale,
                        numerator: multiply(a.numerator, b.denominator),
                        denominator: multiply(a.denominator, b.numerator),
                    },
                    BinOp::Add | BinOp::Sub => add_forms(*op, a, b),
                }
            }
        }
    }
}

fn add_forms(op: BinOp, a: RatioForm, b: RatioForm) -> RatioForm {
    if a.denominator == b.denominator {
        if a.scale == b.scale && a.scale != 0.0 {
            let numerator = binary(
                op,
                a.numerator.unwrap_or(Expr::Number(1.0)),
                b.numerator.unwrap_or(Expr::Number(1.0)),
            );
            return RatioForm {
                scale: a.scale,
                numerator: Some(numerator),
                denominator: a.denominator,
            };
        }
        let numerator = binary(
            op,
            scaled(a.scale, a.numerator),
            scaled(b.scale, b.numerator),
        );
        return RatioForm {
            scale: 1.0,
            numerator: Some(numerator),
            denominator: a.denominator,
        };
    }
    let left = scaled(a.scale, multiply(a.numerator, b.denominator.clone()));
    let right = scaled(b.scale, multiply(b.numerator, a.denominator.clone()));
    RatioForm {
        scale: 1.0,
        numerator: Some(binary(op, left, right)),
        denominator: multiply(a.denominator, b.denominator),
    }
}

fn binary(op: BinOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

fn multiply(a: Option<Expr>, b: Option<Expr>) -> Option<Expr> {
    match (a, b) {
        (None, None) => None,
        (Some(a), None) => Some(a),
        (None, Some(b)) => Some(b),
        (Some(a), Some(b)) => Some(binary(BinOp::Mul, a, b)),
    }
}

fn scaled(scale: f64, expr: Option<Expr>) -> Expr {
    match expr {
        None => Expr::Number(scale),
        Some(expr) if scale == 1.0 => expr,
        Some(expr) => binary(BinOp::Mul, Expr::Number(scale), expr),
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(value) => write!(f, "{value}"),
            Expr::Metric(name) => f.write_str(name),
            Expr::Neg(inner) => match inner.as_ref() {
                Expr::Binary { .. } => write!(f, "-({inner})"),
                _ => write!(f, "-{inner}"),
            },
            Expr::Binary { op, left, right } => {
                let wrap_left = matches!(left.as_ref(), Expr::Binary { op: inner, .. } if inner.precedence() < op.precedence());
                // Operators associate to the left, so an equal-precedence right operand keeps its parentheses.
                let wrap_right = matches!(right.as_ref(), Expr::Binary { op: inner, .. } if inner.precedence() <= op.precedence());
                write_operand(f, left, wrap_left)?;
                write!(f, " {} ", op.symbol())?;
                write_operand(f, right, wrap_right)
            }
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, expr: &Expr, wrap: bool) -> fmt::Result {
    if wrap {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Number(f64),
    Name(String),
    Op(BinOp),
    Open,
    Close,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::Number(value) => format!("number `{value}`"),
            TokenKind::Name(name) => format!("metric `{name}`"),
            TokenKind::Op(op) => format!("operator `{}`", op.symbol()),
            TokenKind::Open => "`(`".to_owned(),
            TokenKind::Close => "`)`".to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    span: Range<usize>,
}

fn tokenize(text: &str) -> Result<Vec<Token>, ExprSyntaxError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '+' => Some(TokenKind::Op(BinOp::Add)),
            '-' => Some(TokenKind::Op(BinOp::Sub)),
            '*' => Some(TokenKind::Op(BinOp::Mul)),
            '/' => Some(TokenKind::Op(BinOp::Div)),
            '(' => Some(TokenKind::Open),
            ')' => Some(TokenKind::Close),
            _ => None,
        };
        if let Some(kind) = single {
            chars.next();
            tokens.push(Token {
                kind,
                span: start..start + 1,
            });
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            let mut end = start;
            while let Some(&(offset, c)) = chars.peek() {
                if !(c.is_ascii_digit() || c == '.' || c == '_') {
                    break;
                }
                end = offset + c.len_utf8();
                chars.next();
            }
            let literal: String = text[start..end].chars().filter(|&c| c != '_').collect();
            let value = literal.parse::<f64>().map_err(|_| ExprSyntaxError {
                offset: start,
                message: format!("`{}` is not a number", &text[start..end]),
            })?;
            tokens.push(Token {
                kind: TokenKind::Number(value),
                span: start..end,
            });
            continue;
        }
        if c.is_ascii_alphabetic() {
            let mut end = start;
            while let Some(&(offset, c)) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                    break;
                }
                end = offset + c.len_utf8();
                chars.next();
            }
            let name = &text[start..end];
            if !is_metric_name(name) {
                return Err(ExprSyntaxError {
                    offset: start,
                    message: format!("`{name}` is not a valid metric name"),
                });
            }
            tokens.push(Token {
                kind: TokenKind::Name(name.to_owned()),
                span: start..end,
            });
            continue;
        }
        return Err(ExprSyntaxError {
            offset: start,
            message: format!(
                "unexpected character `{c}` (expressions use metric names, numbers, + - * / and parentheses)"
            ),
        });
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    end: usize,
    metric_refs: Vec<(String, Range<usize>)>,
}

impl Parser {
    fn peek(&self) -> Option<&TokenKind> {
        self.tokens.get(self.position).map(|token| &token.kind)
    }

    fn expression(&mut self) -> Result<Expr, ExprSyntaxError> {
        let mut left = self.term()?;
        while let Some(TokenKind::Op(op @ (BinOp::Add | BinOp::Sub))) = self.peek() {
            let op = *op;
            self.position += 1;
            let right = self.term()?;
            left = binary(op, left, right);
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, ExprSyntaxError> {
        let mut left = self.unary()?;
        while let Some(TokenKind::Op(op @ (BinOp::Mul | BinOp::Div))) = self.peek() {
            let op = *op;
            self.position += 1;
            let right = self.unary()?;
            left = binary(op, left, right);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprSyntaxError> {
        if let Some(TokenKind::Op(BinOp::Sub)) = self.peek() {
            self.position += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ExprSyntaxError> {
        let Some(token) = self.tokens.get(self.position).cloned() else {
            return Err(ExprSyntaxError {
                offset: self.end,
                message: "expression ends too early".to_owned(),
            });
        };
        self.position += 1;
        match token.kind {
            TokenKind::Number(value) => Ok(Expr::Number(value)),
            TokenKind::Name(name) => {
                self.metric_refs.push((name.clone(), token.span));
                Ok(Expr::Metric(name))
            }
            TokenKind::Open => {
                let inner = self.expression()?;
                match self.tokens.get(self.position) {
                    Some(Token {
                        kind: TokenKind::Close,
                        ..
                    }) => {
                        self.position += 1;
                        Ok(inner)
                    }
                    Some(other) => Err(ExprSyntaxError {
                        offset: other.span.start,
                        message: format!("expected `)`, found {}", other.kind.describe()),
                    }),
                    None => Err(ExprSyntaxError {
                        offset: self.end,
                        message: "missing `)`".to_owned(),
                    }),
                }
            }
            other => Err(ExprSyntaxError {
                offset: token.span.start,
                message: format!(
                    "expected a number, a metric or `(`, found {}",
                    other.describe()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn parse(text: &str) -> Expr {
        match parse_expr(text) {
            Ok(parsed) => parsed.expr,
            Err(error) => panic!("{text}: {error}"),
        }
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(parse("1 + 2 * 3").eval(&|_| None), Ok(7.0));
        assert_eq!(parse("(1 + 2) * 3").eval(&|_| None), Ok(9.0));
        assert_eq!(parse("8 / 4 / 2").eval(&|_| None), Ok(1.0));
        assert_eq!(parse("8 - 4 - 2").eval(&|_| None), Ok(2.0));
        assert_eq!(parse("-2 * -3").eval(&|_| None), Ok(6.0));
        assert_eq!(parse("270_000").eval(&|_| None), Ok(270_000.0));
    }

    #[test]
    fn metric_references_carry_their_offsets() {
        let parsed =
            parse_expr("100 * kg.pupils / pop.age3_5.resident").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            parsed.metric_refs,
            vec![
                ("kg.pupils".to_owned(), 6..15),
                ("pop.age3_5.resident".to_owned(), 18..37)
            ]
        );
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let cases = [
            ("a +", 3),
            ("a + * b", 4),
            ("(a + b", 6),
            ("a b", 2),
            ("a % b", 2),
            ("2..3", 0),
            ("a. + b", 0),
        ];
        for (text, offset) in cases {
            match parse_expr(text) {
                Ok(parsed) => panic!("{text} parsed as {:?}", parsed.expr),
                Err(error) => assert_eq!(error.offset, offset, "{text}: {error}"),
            }
        }
    }

    #[test]
    fn ratio_form_of_common_shapes() {
        let form = parse("100 * a / b").ratio_form();
        assert_eq!(
            (form.scale, form.numerator, form.denominator),
            (100.0, Some(parse("a")), Some(parse("b")))
        );
        let form = parse("a / b * 100").ratio_form();
        assert_eq!(
            (form.scale, form.numerator, form.denominator),
            (100.0, Some(parse("a")), Some(parse("b")))
        );
        let form = parse("100 * (a + b) / c").ratio_form();
        assert_eq!(
            (form.scale, form.numerator, form.denominator),
            (100.0, Some(parse("a + b")), Some(parse("c")))
        );
        let form = parse("a / b / c").ratio_form();
        assert_eq!(
            (form.numerator, form.denominator),
            (Some(parse("a")), Some(parse("b * c")))
        );
        let form = parse("a").ratio_form();
        assert_eq!(
            (form.scale, form.numerator, form.denominator),
            (1.0, Some(parse("a")), None)
        );
        let form = parse("a / b + c / b").ratio_form();
        assert_eq!(
            (form.numerator, form.denominator),
            (Some(parse("a + c")), Some(parse("b")))
        );
    }

    #[test]
    fn division_by_constant_zero_is_detected() {
        assert!(parse("a / (2 - 2)").divides_by_constant_zero());
        assert!(!parse("a / (2 - 1)").divides_by_constant_zero());
        assert!(!parse("a / b").divides_by_constant_zero());
    }

    const NAMES: [&str; 4] = ["a", "kg.pupils", "pop.age3_5.resident", "x1"];

    fn arbitrary_expr() -> impl Strategy<Value = Expr> {
        let leaf = prop_oneof![
            (0u32..1000, 0u32..4)
                .prop_map(|(n, d)| Expr::Number(f64::from(n) / f64::from(10u32.pow(d)))),
            (0..NAMES.len()).prop_map(|i| Expr::Metric(NAMES[i].to_owned())),
        ];
        leaf.prop_recursive(5, 40, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
                (inner.clone(), inner, 0..4usize).prop_map(|(l, r, op)| {
                    let op = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div][op];
                    binary(op, l, r)
                }),
            ]
        })
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(expr in arbitrary_expr()) {
            let text = expr.to_string();
            let parsed = parse_expr(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(parsed.expr, expr);
        }

        #[test]
        fn ratio_form_evaluates_to_the_expression(expr in arbitrary_expr(), values in proptest::collection::vec(1u32..50, 4)) {
            let table: BTreeMap<&str, f64> = NAMES.iter().copied().zip(values.iter().map(|&v| f64::from(v))).collect();
            let lookup = |name: &str| table.get(name).copied();
            let direct = expr.eval(&lookup);
            let form = expr.ratio_form();
            let numerator = form.numerator.as_ref().map_or(Ok(1.0), |e| e.eval(&lookup));
            let denominator = form.denominator.as_ref().map_or(Ok(1.0), |e| e.eval(&lookup));
            if let (Ok(direct), Ok(numerator), Ok(denominator)) = (direct, numerator, denominator) {
                let via_form = form.scale * numerator / denominator;
                if direct.is_finite() && via_form.is_finite() && denominator != 0.0 && direct.abs() < 1e9 {
                    prop_assert!(close(direct, via_form), "{} = {} but form gives {}", expr, direct, via_form);
                }
            }
        }

        #[test]
        fn metric_refs_point_at_names(expr in arbitrary_expr()) {
            let text = expr.to_string();
            let parsed = parse_expr(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            for (name, span) in &parsed.metric_refs {
                prop_assert_eq!(&text[span.clone()], name.as_str());
            }
        }

        #[test]
        fn parser_never_panics(text in "[a-z0-9 .+*/()_-]{0,30}") {
            let _ = parse_expr(&text);
        }
    }
}
