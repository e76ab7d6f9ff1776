//! Reading a tabular file into header + rows of text, with line numbers, whatever the format and encoding.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde::Serialize;

/// Files larger than this are refused before parsing (SECURITY.md WEB-03).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Caps for .xlsx (a zip): total uncompressed size and number of entries, against zip bombs.
pub const MAX_XLSX_UNCOMPRESSED: u64 = 100 * 1024 * 1024;
pub const MAX_XLSX_ENTRIES: usize = 2_000;

/// A table read from a file. `line` is the file's line (CSV) or sheet row (xlsx) of each row, header = 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    /// "UTF-8", "GBK (GB 18030)" or "xlsx".
    pub encoding: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum TableError {
    #[error("文件过大（上限 {max} 字节）/ file too large (limit {max} bytes)")]
    TooLarge { max: usize },
    #[error("文件为空或没有表头 / the file is empty or has no header row")]
    Empty,
    #[error("无法识别的文件格式：请使用 .csv 或 .xlsx / unrecognised format: use .csv or .xlsx")]
    UnknownFormat,
    #[error(
        "第 {line} 行：文件既不是 UTF-8 也不是 GBK 编码 / line {line}: the file is neither UTF-8 nor GBK"
    )]
    Encoding { line: usize },
    #[error("第 {line} 行：CSV 格式错误：{reason} / line {line}: malformed CSV: {reason}")]
    Csv { line: usize, reason: String },
    #[error("xlsx 文件无法读取：{0} / cannot read the xlsx file: {0}")]
    Xlsx(String),
    #[error(
        "xlsx 文件解压后过大或条目过多（疑似压缩炸弹）/ xlsx expands too much or has too many entries"
    )]
    ZipBomb,
}

/// Reads CSV (UTF-8 with or without BOM, or GBK/GB 18030) or .xlsx (first sheet), chosen by content.
pub fn read_table(bytes: &[u8], file_name: &str) -> Result<Table, TableError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(TableError::TooLarge {
            max: MAX_FILE_BYTES,
        });
    }
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let lower = file_name.to_ascii_lowercase();
    if is_zip {
        return read_xlsx(bytes);
    }
    if lower.ends_with(".xlsx") || lower.ends_with(".xls") {
        // Named like a workbook but not a zip: refuse rather than parse binary as CSV.
        return Err(TableError::UnknownFormat);
    }
    read_csv(bytes)
}

/// Decodes text: BOM or valid UTF-8 is UTF-8; anything else is decoded as GB 18030 (a superset of GBK).
fn decode(bytes: &[u8]) -> Result<(String, &'static str), TableError> {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(without_bom) {
        return Ok((text.to_owned(), "UTF-8"));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        // Find the first line that does not decode, for the report.
        let mut line = 1;
        for chunk in bytes.split(|b| *b == b'\n') {
            let (_, bad) = encoding_rs::GB18030.decode_without_bom_handling(chunk);
            if bad {
                return Err(TableError::Encoding { line });
            }
            line += 1;
        }
        return Err(TableError::Encoding { line });
    }
    Ok((text.into_owned(), "GBK (GB 18030)"))
}

/// The 1-based line of the first non-blank character at or after `offset` (the csv crate's own line count
/// folds blank lines into the next record).
fn line_of(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    let mut start = offset.min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
        start += 1;
    }
    1 + bytes[..start].iter().filter(|b| **b == b'\n').count()
}

fn read_csv(bytes: &[u8]) -> Result<Table, TableError> {
    let (text, encoding) = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| TableError::Csv {
            line: e.position().map(|p| p.line() as usize).unwrap_or(0),
            reason: e.to_string(),
        })?;
        let line = record
            .position()
            .map(|p| line_of(&text, p.byte() as usize))
            .unwrap_or(0);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        match &headers {
            None => headers = Some(cells),
            Some(_) => rows.push((line, cells)),
        }
    }
    let headers = headers.ok_or(TableError::Empty)?;
    Ok(Table {
        headers,
        rows,
        encoding,
    })
}

fn check_zip(bytes: &[u8]) -> Result<(), TableError> {
    let archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
    if archive.len() > MAX_XLSX_ENTRIES {
        return Err(TableError::ZipBomb);
    }
    let mut total: u64 = 0;
    let mut archive = archive;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| TableError::Xlsx(e.to_string()))?;
        total = total.saturating_add(entry.size());
        // A compression ratio above 1000:1 is not a spreadsheet.
        if entry.compressed_size() > 0 && entry.size() / entry.compressed_size().max(1) > 1_000 {
            return Err(TableError::ZipBomb);
        }
    }
    if total > MAX_XLSX_UNCOMPRESSED {
        return Err(TableError::ZipBomb);
    }
    Ok(())
}

/// Text of a cell. Numbers that are whole stay integers ("2230600001", never "2230600001.0" or "2.23E9");
/// dates become YYYY-MM-DD.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => {
            if *b {
                "是".to_owned()
            } else {
                "否".to_owned()
            }
        }
        Data::DateTime(dt) => excel_serial_date(dt.as_f64()),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

/// An Excel serial date (1900 system) as YYYY-MM-DD.
fn excel_serial_date(serial: f64) -> String {
    let days = serial.floor() as i64;
    // Excel counts 1900-02-29 (which did not exist); serials from 61 on are offset from 1899-12-30.
    let epoch = jiff::civil::date(1899, 12, 30);
    let days = if days < 61 { days + 1 } else { days };
    epoch
        .checked_add(jiff::Span::new().days(days))
        .map(|d| d.to_string())
        .unwrap_or_else(|_| serial.to_string())
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    check_zip(bytes)?;
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| TableError::Xlsx(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(TableError::Empty)?
        .map_err(|e| TableError::Xlsx(e.to_string()))?;
    let first_row = range.start().map(|(row, _)| row as usize).unwrap_or(0);
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (offset, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let line = first_row + offset + 1;
        match &headers {
            None => headers = Some(cells),
            Some(_) => rows.push((line, cells)),
        }
    }
    let headers = headers.ok_or(TableError::Empty)?;
    Ok(Table {
        headers,
        rows,
        encoding: "xlsx",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_bom_and_gbk_read_the_same() {
        let text = "学校标识码,学校名称\n2230600001,大庆市第一中学\n";
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let a = read_table(&bom, "a.csv").unwrap();
        let b = read_table(&gbk, "b.csv").unwrap();
        assert_eq!(a.headers, b.headers);
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.encoding, "UTF-8");
        assert_eq!(b.encoding, "GBK (GB 18030)");
        assert_eq!(a.rows[0].0, 2);
    }

    #[test]
    fn line_numbers_skip_blank_lines_but_count_them() {
        let table = read_table("a,b\n\n1,2\n3,4\n".as_bytes(), "x.csv").unwrap();
        assert_eq!(
            table.rows.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    #[test]
    fn excel_dates() {
        assert_eq!(excel_serial_date(44197.0), "2021-01-01");
        assert_eq!(excel_serial_date(1.0), "1900-01-01");
    }

    #[test]
    fn zip_bombs_are_refused() {
        // 50 MiB of zeros compresses to a few KiB: a ratio no spreadsheet has.
        let mut buf = Vec::new();
        {
            let mut writer = zip::ZipWriter::new(Cursor::new(&mut buf));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            writer
                .start_file("xl/worksheets/sheet1.xml", options)
                .unwrap();
            use std::io::Write;
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..50 {
                writer.write_all(&zeros).unwrap();
            }
            writer.finish().unwrap();
        }
        assert_eq!(read_table(&buf, "bomb.xlsx"), Err(TableError::ZipBomb));
    }

    #[test]
    fn binary_named_xlsx_is_refused() {
        assert_eq!(
            read_table(b"not a zip", "x.xlsx"),
            Err(TableError::UnknownFormat)
        );
    }
}
