//! Problems found in a plan file, located by line and column.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// How bad a problem is: errors make the plan unusable, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a plan file. `line` and `column` are 1-based; the column counts characters (not bytes), so a
/// Chinese character counts as one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    /// Byte range in the file, when known.
    pub span: Option<Range<usize>>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {severity}: {}",
            self.line, self.column, self.message
        )
    }
}

/// All problems of a plan that failed to load (at least one is an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in plan, first: {}", .0.len(), first_message(.0))]
pub struct PlanErrors(pub Vec<Diagnostic>);

fn first_message(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Converts byte offsets of a text into 1-based line and character column.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(offset, _)| offset + 1));
        LineIndex { text, line_starts }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end map to the end.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(index) => index,
            Err(index) => index - 1,
        };
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line + 1, column + 1)
    }
}

/// Collects diagnostics while checking; positions are resolved against the source text.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    index: LineIndex<'a>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Sink {
            index: LineIndex::new(text),
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.push(Severity::Error, span, message.into());
    }

    pub(crate) fn warning(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.push(Severity::Warning, span, message.into());
    }

    fn push(&mut self, severity: Severity, span: Option<Range<usize>>, message: String) {
        let (line, column) = span
            .as_ref()
            .map_or((1, 1), |span| self.index.line_column(span.start));
        self.diagnostics.push(Diagnostic {
            severity,
            line,
            column,
            span,
            message,
        });
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error)
    }

    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        self.diagnostics
            .sort_by_key(|d| (d.line, d.column, d.severity));
        self.diagnostics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "ab\n学前x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_column(0), (1, 1));
        assert_eq!(index.line_column(1), (1, 2));
        assert_eq!(index.line_column(3), (2, 1));
        let x = text.find('x').unwrap_or_default();
        assert_eq!(index.line_column(x), (2, 3));
        assert_eq!(index.line_column(text.len()), (3, 1));
    }
}
