//! The small expression language of cross-field rules: parse once, evaluate over normalised values.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::decimal::Decimal;

/// A comparison between two sums.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    lhs: Sum,
    op: CmpOp,
    rhs: Sum,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum CmpOp {
    Le,
    Lt,
    Ge,
    Gt,
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq)]
struct Sum {
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq)]
struct Term {
    coefficient: Decimal,
    operand: Option<Operand>,
}

/// Something a rule reads from the values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A numeric (or bool: 1/0) field, or a column of the current row in a row rule.
    Field(String),
    /// `sum(list.column)`: the column summed over the rows (absent cells count 0).
    Sum {
        /// The list field.
        list: String,
        /// The numeric column.
        column: String,
    },
    /// `count(list)` or `count(list[column=value])`: number of rows (matching the filter).
    Count {
        /// The list field.
        list: String,
        /// Optional `column = value` filter (for a multiple enum: the value is among the chosen ones).
        filter: Option<(String, String)>,
    },
}

impl Condition {
    /// Every operand the condition reads.
    pub fn operands(&self) -> impl Iterator<Item = &Operand> {
        self.lhs
            .terms
            .iter()
            .chain(&self.rhs.terms)
            .filter_map(|t| t.operand.as_ref())
    }

    /// Evaluates over top-level values and, in a row rule, the row's values (columns shadow top-level fields).
    /// `None` when a scalar field the condition names is absent: the rule does not apply.
    pub fn evaluate(
        &self,
        top: &BTreeMap<String, Value>,
        row: Option<&BTreeMap<String, Value>>,
    ) -> Option<bool> {
        let lhs = self.lhs.evaluate(top, row)?;
        let rhs = self.rhs.evaluate(top, row)?;
        let (Some(a), Some(b)) = (lhs, rhs) else {
            // Arithmetic overflow: the values are far beyond any sensible count; fail the rule rather than pass it.
            return Some(false);
        };
        Some(match self.op {
            CmpOp::Le => a <= b,
            CmpOp::Lt => a < b,
            CmpOp::Ge => a >= b,
            CmpOp::Gt => a > b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        })
    }

    /// The first plain field the condition names (the default field blamed when it fails).
    pub fn first_field(&self) -> Option<&str> {
        self.operands().next().map(|o| match o {
            Operand::Field(id) => id.as_str(),
            Operand::Sum { list, .. } | Operand::Count { list, .. } => list.as_str(),
        })
    }
}

impl Sum {
    /// Outer `None`: a field is absent. Inner `None`: overflow.
    fn evaluate(
        &self,
        top: &BTreeMap<String, Value>,
        row: Option<&BTreeMap<String, Value>>,
    ) -> Option<Option<Decimal>> {
        let mut total = Some(Decimal::ZERO);
        for term in &self.terms {
            let value = match &term.operand {
                None => Some(Decimal::from_int(1)),
                Some(op) => operand_value(op, top, row)?,
            };
            let product = value.and_then(|v| v.checked_mul(term.coefficient));
            total = match (total, product) {
                (Some(t), Some(p)) => t.checked_add(p),
                _ => None,
            };
        }
        Some(total)
    }
}

fn operand_value(
    op: &Operand,
    top: &BTreeMap<String, Value>,
    row: Option<&BTreeMap<String, Value>>,
) -> Option<Option<Decimal>> {
    match op {
        Operand::Field(id) => {
            let v = row.and_then(|r| r.get(id)).or_else(|| top.get(id))?;
            Some(Some(numeric(v)?))
        }
        Operand::Sum { list, column } => {
            let mut total = Some(Decimal::ZERO);
            for r in rows(top, list) {
                let cell = r.get(column).and_then(numeric).unwrap_or(Decimal::ZERO);
                total = total.and_then(|t| t.checked_add(cell));
            }
            Some(total)
        }
        Operand::Count { list, filter } => {
            let n = rows(top, list)
                .filter(|r| match filter {
                    None => true,
                    Some((column, wanted)) => match r.get(column) {
                        Some(Value::String(s)) => s == wanted,
                        Some(Value::Array(items)) => {
                            items.iter().any(|i| i.as_str() == Some(wanted))
                        }
                        Some(Value::Bool(b)) => wanted == if *b { "true" } else { "false" },
                        Some(Value::Number(n)) => n.to_string() == *wanted,
                        _ => false,
                    },
                })
                .count();
            Some(Some(Decimal::from_int(
                i64::try_from(n).unwrap_or(i64::MAX),
            )))
        }
    }
}

fn rows<'a>(
    top: &'a BTreeMap<String, Value>,
    list: &str,
) -> impl Iterator<Item = &'a serde_json::Map<String, Value>> {
    top.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// The numeric reading of a normalised value: integers, decimal strings, bools as 1/0.
pub(crate) fn numeric(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(Decimal::from_int)
            .or_else(|| n.as_f64().and_then(Decimal::from_f64)),
        Value::String(s) => Decimal::parse(s),
        Value::Bool(b) => Some(Decimal::from_int(i64::from(*b))),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Number(Decimal),
    Quoted(String),
    Plus,
    Minus,
    Star,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Assign,
    Cmp(CmpOp),
}

/// Parses a condition such as `absent_ill <= absent_total` or `count(cases) == symptomatic_pupils + symptomatic_staff`.
pub fn parse_condition(text: &str) -> Result<Condition, String> {
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let lhs = p.sum()?;
    let op = match p.next() {
        Some(Token::Cmp(op)) => op,
        other => {
            return Err(format!(
                "expected a comparison (<= < >= > == !=), found {other:?}"
            ));
        }
    };
    let rhs = p.sum()?;
    if p.pos != p.tokens.len() {
        return Err(format!(
            "unexpected {:?} after the condition",
            p.tokens[p.pos]
        ));
    }
    Ok(Condition { lhs, op, rhs })
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let single = match c {
            '+' => Some(Token::Plus),
            '-' => Some(Token::Minus),
            '*' => Some(Token::Star),
            '(' => Some(Token::LParen),
            ')' => Some(Token::RParen),
            '[' => Some(Token::LBracket),
            ']' => Some(Token::RBracket),
            '.' => Some(Token::Dot),
            _ => None,
        };
        if let Some(token) = single {
            out.push(token);
            i += 1;
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '<' | '>' | '=' | '!' => {
                let (token, width) = match (c, next) {
                    ('<', Some('=')) => (Token::Cmp(CmpOp::Le), 2),
                    ('>', Some('=')) => (Token::Cmp(CmpOp::Ge), 2),
                    ('=', Some('=')) => (Token::Cmp(CmpOp::Eq), 2),
                    ('!', Some('=')) => (Token::Cmp(CmpOp::Ne), 2),
                    ('<', _) => (Token::Cmp(CmpOp::Lt), 1),
                    ('>', _) => (Token::Cmp(CmpOp::Gt), 1),
                    ('=', _) => (Token::Assign, 1),
                    _ => return Err("'!' must be followed by '='".into()),
                };
                out.push(token);
                i += width;
            }
            '"' | '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or("unterminated quoted value")?;
                out.push(Token::Quoted(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '0'..='9' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(Token::Number(
                    Decimal::parse(&text).ok_or(format!("bad number {text:?}"))?,
                ));
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: &Token) -> Result<(), String> {
        match self.next() {
            Some(ref t) if t == want => Ok(()),
            other => Err(format!("expected {want:?}, found {other:?}")),
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Ident(s)) => Ok(s),
            other => Err(format!("expected a field id, found {other:?}")),
        }
    }

    fn sum(&mut self) -> Result<Sum, String> {
        let mut terms = Vec::new();
        let mut negative = false;
        if self.peek() == Some(&Token::Minus) {
            self.pos += 1;
            negative = true;
        }
        loop {
            let mut term = self.term()?;
            if negative {
                term.coefficient = Decimal::ZERO
                    .checked_sub(term.coefficient)
                    .ok_or("number too large")?;
            }
            terms.push(term);
            match self.peek() {
                Some(Token::Plus) => negative = false,
                Some(Token::Minus) => negative = true,
                _ => break,
            }
            self.pos += 1;
        }
        Ok(Sum { terms })
    }

    fn term(&mut self) -> Result<Term, String> {
        match self.next() {
            Some(Token::Number(n)) => {
                if self.peek() == Some(&Token::Star) {
                    self.pos += 1;
                    let operand = self.operand()?;
                    Ok(Term {
                        coefficient: n,
                        operand: Some(operand),
                    })
                } else {
                    Ok(Term {
                        coefficient: n,
                        operand: None,
                    })
                }
            }
            Some(_) => {
                self.pos -= 1;
                let operand = self.operand()?;
                Ok(Term {
                    coefficient: Decimal::from_int(1),
                    operand: Some(operand),
                })
            }
            None => Err("expected a term, found the end".into()),
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let name = self.ident()?;
        if self.peek() != Some(&Token::LParen) {
            return Ok(Operand::Field(name));
        }
        self.pos += 1;
        let operand = match name.as_str() {
            "sum" => {
                let list = self.ident()?;
                self.expect(&Token::Dot)?;
                let column = self.ident()?;
                Operand::Sum { list, column }
            }
            "count" => {
                let list = self.ident()?;
                let filter = if self.peek() == Some(&Token::LBracket) {
                    self.pos += 1;
                    let column = self.ident()?;
                    self.expect(&Token::Assign)?;
                    let value = match self.next() {
                        Some(Token::Ident(s)) | Some(Token::Quoted(s)) => s,
                        Some(Token::Number(n)) => n.to_string(),
                        other => return Err(format!("expected a value, found {other:?}")),
                    };
                    self.expect(&Token::RBracket)?;
                    Some((column, value))
                } else {
                    None
                };
                Operand::Count { list, filter }
            }
            other => return Err(format!("unknown function {other:?} (only sum and count)")),
        };
        self.expect(&Token::RParen)?;
        Ok(operand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(v: Value) -> BTreeMap<String, Value> {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn table_of_conditions() {
        let top = values(json!({
            "a": 3, "b": 5, "money": "600.50", "flag": true,
            "cases": [ {"kind": "pupil", "days": 2}, {"kind": "staff", "days": 1}, {"kind": "pupil"} ]
        }));
        let cases = [
            ("a <= b", Some(true)),
            ("a > b", Some(false)),
            ("a + 2 == b", Some(true)),
            ("-a + b == 2", Some(true)),
            ("2 * a - 1 == b", Some(true)),
            ("money >= 600.5", Some(true)),
            ("money < 600.5", Some(false)),
            ("flag == 1", Some(true)),
            ("count(cases) == 3", Some(true)),
            ("count(cases[kind=pupil]) == 2", Some(true)),
            ("count(cases[kind='staff']) == 1", Some(true)),
            ("sum(cases.days) == a", Some(true)),
            ("missing <= a", None),
            ("count(nolist) == 0", Some(true)),
        ];
        for (text, want) in cases {
            let cond = parse_condition(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(cond.evaluate(&top, None), want, "{text}");
        }
    }

    #[test]
    fn row_columns_shadow_top_level() {
        let top = values(json!({"a": 10}));
        let row = values(json!({"a": 1}));
        let cond = parse_condition("a == 1").unwrap();
        assert_eq!(cond.evaluate(&top, Some(&row)), Some(true));
        assert_eq!(cond.evaluate(&top, None), Some(false));
    }

    #[test]
    fn parse_errors_are_explained() {
        for bad in [
            "a",
            "a <=",
            "a <= b c",
            "max(a) < 1",
            "a ! b",
            "count(x[y]) == 1",
            "a <= 'b",
        ] {
            assert!(parse_condition(bad).is_err(), "{bad} should not parse");
        }
    }
}
