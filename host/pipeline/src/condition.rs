//! PikoCI's `condition` language of `if`/`else_if` blocks: comparisons of values over the build's
//! variables, read when the pipeline is loaded (so a typo is an error then) and evaluated when
//! the build reaches the block.
//!
//! `$TASK_TEST_RESULT == 'passed' && ($BUILD_JOB_NAME contains deploy || $GET_REPO_REF != '')`:
//! values are single-quoted strings or bare words, where `$NAME` and `${NAME}` stand for a build
//! variable (empty when the build has none); the operators are `==`, `!=`, `>`, `<` (as numbers
//! when both sides are numbers), `contains`, `!contains`, `&&`, `||` and parentheses. A value on
//! its own is true unless it is empty, `false` or `0`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Lt,
    Contains,
    NotContains,
}

impl CompareOp {
    fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Gt => ">",
            CompareOp::Lt => "<",
            CompareOp::Contains => "contains",
            CompareOp::NotContains => "!contains",
        }
    }
}

/// A parsed condition; values keep their `$NAME` references until evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Value(String),
    Compare { left: String, op: CompareOp, right: String },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Op(CompareOp),
    Value(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                out.push(if c == '(' { Token::Open } else { Token::Close });
            }
            '\'' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => value.push(c),
                        None => return Err(format!("the quote at {} is never closed", at + 1)),
                    }
                }
                out.push(Token::Value(value));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '\'' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(match word.as_str() {
                    "&&" => Token::And,
                    "||" => Token::Or,
                    "==" => Token::Op(CompareOp::Eq),
                    "!=" => Token::Op(CompareOp::Ne),
                    ">" => Token::Op(CompareOp::Gt),
                    "<" => Token::Op(CompareOp::Lt),
                    "contains" => Token::Op(CompareOp::Contains),
                    "!contains" => Token::Op(CompareOp::NotContains),
                    _ => Token::Value(word),
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.next();
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.comparison()?;
        while self.peek() == Some(&Token::And) {
            self.next();
            left = Condition::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Condition, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a `(` is never closed".into()),
                }
            }
            Some(Token::Value(left)) => match self.peek() {
                Some(Token::Op(op)) => {
                    let op = *op;
                    self.next();
                    match self.next() {
                        Some(Token::Value(right)) => Ok(Condition::Compare { left, op, right }),
                        _ => Err(format!("`{}` needs a value on its right", op.symbol())),
                    }
                }
                _ => Ok(Condition::Value(left)),
            },
            Some(Token::Op(op)) => Err(format!("`{}` needs a value on its left", op.symbol())),
            Some(Token::And) | Some(Token::Or) => Err("`&&` and `||` need a condition on each side".into()),
            Some(Token::Close) => Err("a `)` without its `(`".into()),
            None => Err("the condition ends too early".into()),
        }
    }
}

impl std::str::FromStr for Condition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut parser = Parser { tokens: tokens(text)?, at: 0 };
        if parser.tokens.is_empty() {
            return Err("the condition is empty".into());
        }
        let condition = parser.or()?;
        match parser.next() {
            None => Ok(condition),
            Some(Token::Value(v)) => Err(format!("`{v}` follows a complete condition; join conditions with `&&` or `||`")),
            Some(_) => Err("something follows a complete condition; join conditions with `&&` or `||`".into()),
        }
    }
}

fn expand(value: &str, var: &dyn Fn(&str) -> Option<String>) -> String {
    crate::build_vars::expand(value, var, crate::build_vars::Missing::Empty)
}

fn truthy(value: &str) -> bool {
    !(value.is_empty() || value == "false" || value == "0")
}

impl Condition {
    /// Whether it holds, with `var` giving the build's variables.
    pub fn holds(&self, var: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Condition::Value(v) => truthy(&expand(v, var)),
            Condition::Compare { left, op, right } => {
                let (l, r) = (expand(left, var), expand(right, var));
                let numbers = l.trim().parse::<f64>().ok().zip(r.trim().parse::<f64>().ok());
                match op {
                    CompareOp::Eq => l == r,
                    CompareOp::Ne => l != r,
                    CompareOp::Gt => numbers.map_or(l > r, |(a, b)| a > b),
                    CompareOp::Lt => numbers.map_or(l < r, |(a, b)| a < b),
                    CompareOp::Contains => l.contains(&r),
                    CompareOp::NotContains => !l.contains(&r),
                }
            }
            Condition::And(a, b) => a.holds(var) && b.holds(var),
            Condition::Or(a, b) => a.holds(var) || b.holds(var),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(text: &str, vars: &[(&str, &str)]) -> bool {
        let c: Condition = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        c.holds(&|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn comparisons_over_build_variables() {
        let vars = [("TASK_TEST_RESULT", "passed"), ("BUILD_NUMBER", "12"), ("GET_REPO_REF", "refs/heads/main")];
        assert!(holds("$TASK_TEST_RESULT == 'passed'", &vars));
        assert!(holds("${TASK_TEST_RESULT} != failed", &vars));
        assert!(holds("$BUILD_NUMBER > 9", &vars), "numbers compare as numbers");
        assert!(!holds("$BUILD_NUMBER < 9", &vars));
        assert!(holds("$GET_REPO_REF contains main && $GET_REPO_REF !contains 'dev'", &vars));
        assert!(holds("$UNSET == '' || false", &vars), "an unknown variable is empty");
        assert!(holds("($UNSET || $BUILD_NUMBER) && ('a b' == 'a b')", &vars));
        assert!(!holds("0", &vars) && !holds("false", &vars) && !holds("''", &vars) && holds("yes", &vars));
    }

    #[test]
    fn mistakes_are_found_when_the_pipeline_loads() {
        for (text, said) in [
            ("", "empty"),
            ("$A ==", "right"),
            ("== b", "left"),
            ("($A == b", "never closed"),
            ("'open", "never closed"),
            ("a b", "join conditions"),
            ("a && ", "too early"),
        ] {
            let e = text.parse::<Condition>().unwrap_err();
            assert!(e.contains(said), "{text:?}: {e}");
        }
    }
}
