//! CSV input tables: strict header checks, per-row errors with line and column, and the canonical form.

use std::fmt;

/// One problem in an input file: where it is and why it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The input's role (`applicants`, `schools`, `pupils`, `teachers`, `ballots`).
    pub file: String,
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The column concerned (empty when the whole row or file is concerned).
    pub column: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "{}: line {}: {}", self.file, self.line, self.reason)
        } else {
            write!(
                f,
                "{}: line {}, column {}: {}",
                self.file, self.line, self.column, self.reason
            )
        }
    }
}

/// Every problem found in the inputs; nothing is drawn when this is not empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputErrors(pub Vec<RowError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} input error(s)", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputErrors {}

impl InputErrors {
    pub fn push(&mut self, file: &str, line: u64, column: &str, reason: impl Into<String>) {
        self.0.push(RowError {
            file: file.to_string(),
            line,
            column: column.to_string(),
            reason: reason.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, value: T) -> Result<T, InputErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// A parsed CSV file: trimmed header names and trimmed cells, with each row's line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub file: String,
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub line: u64,
    pub cells: Vec<String>,
}

/// What a file may contain.
pub struct Schema<'a> {
    /// The role name used in messages and in the canonical form.
    pub file: &'a str,
    /// The column that identifies a row (`id`, or `code` for schools); always required and unique.
    pub key: &'a str,
    pub required: &'a [&'a str],
    /// Decides whether an optional column name is allowed.
    pub allowed: &'a dyn Fn(&str) -> bool,
}

impl Table {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column == name)
    }

    /// The cell of `row` in column `name`, or `""` when the file has no such column.
    pub fn cell<'t>(&self, row: &'t TableRow, name: &str) -> &'t str {
        match self.column_index(name) {
            Some(index) => row.cells.get(index).map(String::as_str).unwrap_or(""),
            None => "",
        }
    }
}

/// Parses CSV bytes (UTF-8, optional BOM, header row) against `schema`.
///
/// Reports every unknown, duplicate or missing column, every row with the wrong number of
/// fields, every empty or duplicate key, and every non-UTF-8 line.
pub fn parse_table(bytes: &[u8], schema: &Schema<'_>) -> Result<Table, InputErrors> {
    let file = schema.file;
    let mut errors = InputErrors::default();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(Ok(record)) => record,
        Some(Err(error)) => {
            errors.push(file, 1, "", format!("unreadable header: {error}"));
            return Err(errors);
        }
        None => {
            errors.push(file, 1, "", "the file is empty: a header row is required");
            return Err(errors);
        }
    };
    let mut columns = Vec::new();
    for field in header.iter() {
        match std::str::from_utf8(field) {
            Ok(name) => columns.push(name.trim().to_string()),
            Err(_) => {
                errors.push(file, 1, "", "the header is not valid UTF-8");
                return Err(errors);
            }
        }
    }
    for (index, name) in columns.iter().enumerate() {
        if name.is_empty() {
            errors.push(file, 1, &format!("#{}", index + 1), "empty column name");
        } else if columns[..index].contains(name) {
            errors.push(file, 1, name, "duplicate column");
        } else if name != schema.key
            && !schema.required.contains(&name.as_str())
            && !(schema.allowed)(name)
        {
            errors.push(file, 1, name, "unknown column");
        }
    }
    for required in std::iter::once(&schema.key).chain(schema.required.iter()) {
        if !columns.iter().any(|column| column == required) {
            errors.push(file, 1, required, "required column is missing");
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let key_index = columns
        .iter()
        .position(|column| column == schema.key)
        .unwrap_or(0);
    let mut rows = Vec::new();
    let mut line_of_key: std::collections::BTreeMap<String, u64> =
        std::collections::BTreeMap::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error
                    .position()
                    .map(|position| position.line())
                    .unwrap_or(0);
                errors.push(file, line, "", format!("unreadable row: {error}"));
                continue;
            }
        };
        let line = record
            .position()
            .map(|position| position.line())
            .unwrap_or(0);
        if record
            .iter()
            .all(|field| field.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        if record.len() != columns.len() {
            errors.push(
                file,
                line,
                "",
                format!("expected {} fields, found {}", columns.len(), record.len()),
            );
            continue;
        }
        let mut cells = Vec::with_capacity(columns.len());
        let mut bad = false;
        for (index, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(text) => cells.push(text.trim().to_string()),
                Err(_) => {
                    errors.push(file, line, &columns[index], "not valid UTF-8");
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let key = &cells[key_index];
        if key.is_empty() {
            errors.push(file, line, schema.key, "empty identifier");
            continue;
        }
        if let Some(first) = line_of_key.get(key) {
            errors.push(
                file,
                line,
                schema.key,
                format!("duplicate identifier {key:?} (first on line {first})"),
            );
            continue;
        }
        line_of_key.insert(key.clone(), line);
        rows.push(TableRow { line, cells });
    }
    errors.into_result(Table {
        file: file.to_string(),
        columns,
        rows,
    })
}

/// The canonical text of a table, used for `input_digest`.
///
/// Columns: the key column first, then the other columns in byte order of their names. Rows:
/// sorted by key in byte order. Cells: trimmed, written with minimal RFC 4180 quoting (a cell is
/// quoted when it contains `,`, `"`, CR or LF, with `"` doubled). Every line ends with LF.
pub fn canonical_table(table: &Table, key: &str) -> String {
    let key_index = table.column_index(key).unwrap_or(0);
    let mut order: Vec<usize> = (0..table.columns.len())
        .filter(|&index| index != key_index)
        .collect();
    order.sort_by(|&a, &b| table.columns[a].cmp(&table.columns[b]));
    order.insert(0, key_index);
    let mut rows: Vec<&TableRow> = table.rows.iter().collect();
    rows.sort_by(|a, b| a.cells[key_index].cmp(&b.cells[key_index]));
    let mut out = String::new();
    let header: Vec<&str> = order
        .iter()
        .map(|&index| table.columns[index].as_str())
        .collect();
    write_csv_line(&mut out, &header);
    for row in rows {
        let cells: Vec<&str> = order
            .iter()
            .map(|&index| row.cells[index].as_str())
            .collect();
        write_csv_line(&mut out, &cells);
    }
    out
}

/// Appends one CSV line with minimal quoting and a trailing LF.
pub fn write_csv_line(out: &mut String, cells: &[&str]) {
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema<'a>(allowed: &'a dyn Fn(&str) -> bool) -> Schema<'a> {
        Schema {
            file: "pupils",
            key: "id",
            required: &["sex"],
            allowed,
        }
    }

    #[test]
    fn bom_and_whitespace_are_accepted() {
        let allowed = |name: &str| name.starts_with("cat:");
        let table = parse_table(
            "\u{feff}id, sex ,cat:home\n p1 ,M,a\n".as_bytes(),
            &schema(&allowed),
        )
        .unwrap();
        assert_eq!(table.columns, vec!["id", "sex", "cat:home"]);
        assert_eq!(table.rows[0].cells, vec!["p1", "M", "a"]);
        assert_eq!(table.rows[0].line, 2);
    }

    #[test]
    fn unknown_missing_and_duplicate_columns_are_errors() {
        let allowed = |_: &str| false;
        let errors = parse_table(b"id,colour,id\n", &schema(&allowed)).unwrap_err();
        let text = errors.to_string();
        assert!(text.contains("column colour: unknown column"), "{text}");
        assert!(text.contains("column id: duplicate column"), "{text}");
        assert!(
            text.contains("column sex: required column is missing"),
            "{text}"
        );
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let allowed = |_: &str| false;
        let errors = parse_table(b"id,sex\np1,M\np2\np1,F\n,F\n", &schema(&allowed)).unwrap_err();
        let lines: Vec<u64> = errors.0.iter().map(|error| error.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(errors.0[1].reason.contains("first on line 2"));
    }

    #[test]
    fn canonical_form_ignores_row_and_column_order() {
        let allowed = |name: &str| name.starts_with("cat:");
        let a = parse_table(b"id,sex,cat:x\nb,F,\"1,2\"\na,M,3\n", &schema(&allowed)).unwrap();
        let b = parse_table(b"cat:x,sex,id\n3,M,a\n\"1,2\",F,b\n", &schema(&allowed)).unwrap();
        assert_eq!(canonical_table(&a, "id"), canonical_table(&b, "id"));
        assert_eq!(
            canonical_table(&a, "id"),
            "id,cat:x,sex\na,3,M\nb,\"1,2\",F\n"
        );
    }
}
