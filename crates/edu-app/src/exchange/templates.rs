//! The import templates: columns with Chinese headers (English accepted), what each holds, and an example row.

use serde::Serialize;

/// What a file imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ImportKind {
    Institutions,
    Pupils,
    Staff,
    Population,
}

impl ImportKind {
    pub const ALL: [ImportKind; 4] = [
        ImportKind::Institutions,
        ImportKind::Pupils,
        ImportKind::Staff,
        ImportKind::Population,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Institutions => "institutions",
            ImportKind::Pupils => "pupils",
            ImportKind::Staff => "staff",
            ImportKind::Population => "population",
        }
    }

    pub fn parse(code: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ImportKind::Institutions => "学校（机构）",
            ImportKind::Pupils => "学生学籍",
            ImportKind::Staff => "教职工",
            ImportKind::Population => "分年龄人口",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            ImportKind::Institutions => INSTITUTION_COLUMNS,
            ImportKind::Pupils => PUPIL_COLUMNS,
            ImportKind::Staff => STAFF_COLUMNS,
            ImportKind::Population => POPULATION_COLUMNS,
        }
    }
}

/// One template column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub required: bool,
    pub help: &'static str,
    pub example: &'static str,
}

const fn col(
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    required: bool,
    help: &'static str,
    example: &'static str,
) -> Column {
    Column {
        key,
        zh,
        en,
        required,
        help,
        example,
    }
}

pub const INSTITUTION_COLUMNS: &[Column] = &[
    col(
        "code",
        "学校标识码",
        "school_code",
        true,
        "10 位数字，教育部颁发，永不复用",
        "2230600001",
    ),
    col(
        "name",
        "学校名称",
        "name",
        true,
        "全称",
        "大庆市萨尔图区第一幼儿园",
    ),
    col(
        "district",
        "区县代码",
        "district_code",
        true,
        "GB/T 2260 区县代码，如 230602",
        "230602",
    ),
    col(
        "kind",
        "办学类型",
        "kind",
        true,
        "幼儿园、小学、初级中学、高级中学、九年一贯制学校、十二年一贯制学校、中等职业学校、特殊教育学校、社区教育学院、社区教育学校、校外培训机构",
        "幼儿园",
    ),
    col(
        "ownership",
        "办学性质",
        "ownership",
        true,
        "公办 / 民办",
        "公办",
    ),
    col(
        "inclusive",
        "普惠性",
        "inclusive",
        false,
        "民办幼儿园是否认定为普惠性：是 / 否",
        "否",
    ),
    col("area", "城乡", "area", true, "城区 / 乡村", "城区"),
    col(
        "authority",
        "举办者",
        "authority",
        false,
        "市属 / 区县属（默认区县属）",
        "区县属",
    ),
    col(
        "status",
        "状态",
        "status",
        false,
        "开办 / 停办（默认开办）",
        "开办",
    ),
    col(
        "address",
        "地址",
        "address",
        false,
        "学校地址",
        "萨尔图区东风路 1 号",
    ),
    col(
        "phone",
        "联系电话",
        "phone",
        false,
        "学校办公电话",
        "0459-4600001",
    ),
    col("capacity", "核定学位数", "capacity", false, "整数", "360"),
    col(
        "education_group",
        "教育集团",
        "education_group",
        false,
        "所属教育集团名称",
        "",
    ),
    col(
        "rural_alliance",
        "农村学校联盟",
        "rural_alliance",
        false,
        "所属农村学校联盟名称",
        "",
    ),
    col(
        "tags",
        "标签",
        "tags",
        false,
        "以分号分隔，如 anji-pilot;labour-base",
        "",
    ),
    col(
        "valid_from",
        "生效日期",
        "valid_from",
        false,
        "状态变化（如转为普惠、回收为公办）的生效日期，默认导入当天",
        "2021-03-01",
    ),
];

pub const PUPIL_COLUMNS: &[Column] = &[
    col(
        "pupil_no",
        "学籍号",
        "pupil_no",
        true,
        "全国学籍号：G+身份证号、J+编码或 L+临时号，校验码须正确",
        "G230602201503012146",
    ),
    col(
        "name",
        "姓名",
        "name",
        true,
        "支持生僻字（GB 18030）",
        "王小明",
    ),
    col("sex", "性别", "sex", true, "男 / 女", "男"),
    col(
        "birth_date",
        "出生日期",
        "birth_date",
        true,
        "YYYY-MM-DD，须与学籍号一致",
        "2015-03-01",
    ),
    col(
        "school_code",
        "学校标识码",
        "school_code",
        true,
        "所在学校的 10 位标识码",
        "2230600001",
    ),
    col(
        "grade",
        "年级",
        "grade",
        true,
        "1–12 或 小班/中班/大班、一年级…、初一…、高一…",
        "一年级",
    ),
    col("class", "班级", "class", false, "班级名称，如 1班", "1班"),
    col(
        "status",
        "学籍状态",
        "status",
        false,
        "在籍 / 转出 / 毕业 / 离校（默认在籍）",
        "在籍",
    ),
    col(
        "enrolled_on",
        "入学日期",
        "enrolled_on",
        false,
        "YYYY-MM-DD（默认导入当天）",
        "2021-09-01",
    ),
    col(
        "special_needs",
        "特殊需要",
        "special_needs",
        false,
        "随班就读等：是 / 否",
        "否",
    ),
    col("boarder", "住校", "boarder", false, "是 / 否", "否"),
    col(
        "guardian_phone",
        "监护人电话",
        "guardian_phone",
        false,
        "11 位手机号，加密存储",
        "13800000000",
    ),
    col("address", "家庭住址", "address", false, "加密存储", ""),
    col(
        "valid_from",
        "生效日期",
        "valid_from",
        false,
        "学籍状态变化的生效日期，默认导入当天",
        "",
    ),
];

pub const STAFF_COLUMNS: &[Column] = &[
    col(
        "staff_no",
        "教职工号",
        "staff_no",
        true,
        "本市唯一的教职工编号",
        "T2230600001001",
    ),
    col("name", "姓名", "name", true, "", "李老师"),
    col("sex", "性别", "sex", true, "男 / 女", "女"),
    col(
        "birth_date",
        "出生日期",
        "birth_date",
        true,
        "YYYY-MM-DD",
        "1985-06-01",
    ),
    col(
        "school_code",
        "学校标识码",
        "school_code",
        true,
        "所在学校的 10 位标识码",
        "2230600001",
    ),
    col(
        "role",
        "岗位",
        "role",
        true,
        "教师、校长、安保人员、校医、保育员、炊事员、校车司机、其他",
        "教师",
    ),
    col(
        "subjects",
        "任教学科",
        "subjects",
        false,
        "以分号分隔",
        "语文;道德与法治",
    ),
    col(
        "hire_date",
        "入职日期",
        "hire_date",
        true,
        "YYYY-MM-DD",
        "2008-09-01",
    ),
    col(
        "special_post",
        "特岗教师",
        "special_post",
        false,
        "是 / 否",
        "否",
    ),
    col(
        "status",
        "在岗状态",
        "status",
        false,
        "在岗 / 退休 / 离职（默认在岗）",
        "在岗",
    ),
    col(
        "phone",
        "联系电话",
        "phone",
        false,
        "11 位手机号，加密存储",
        "",
    ),
    col(
        "certificate_kind",
        "证书类型",
        "certificate_kind",
        false,
        "如 教师资格证、保安员证",
        "教师资格证",
    ),
    col(
        "certificate_no",
        "证书编号",
        "certificate_no",
        false,
        "",
        "20082306001234",
    ),
    col(
        "certificate_expires",
        "证书有效期至",
        "certificate_expires",
        false,
        "YYYY-MM-DD，长期有效留空",
        "",
    ),
];

pub const POPULATION_COLUMNS: &[Column] = &[
    col(
        "district",
        "区县代码",
        "district_code",
        true,
        "GB/T 2260 区县代码",
        "230602",
    ),
    col("year", "年份", "year", true, "统计年份", "2021"),
    col("age", "年龄", "age", true, "周岁，0–120", "3"),
    col("basis", "口径", "basis", true, "户籍 / 常住", "常住"),
    col("count", "人数", "count", true, "非负整数", "4120"),
];

/// Resolves file headers to template columns: Chinese or English, case-insensitive, with or without a `*`.
pub(crate) fn match_headers(
    kind: ImportKind,
    headers: &[String],
) -> Result<Vec<usize>, Vec<(usize, String)>> {
    let columns = kind.columns();
    let mut positions = Vec::with_capacity(headers.len());
    let mut errors = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let clean = header
            .trim()
            .trim_start_matches('\u{feff}')
            .trim_end_matches('*')
            .trim();
        match columns.iter().position(|c| {
            c.zh == clean || c.en.eq_ignore_ascii_case(clean) || c.key.eq_ignore_ascii_case(clean)
        }) {
            Some(p) if positions.contains(&p) => {
                errors.push((i, format!("重复的列“{clean}” / duplicate column “{clean}”")))
            }
            Some(p) => positions.push(p),
            None => {
                let accepted: Vec<&str> = columns.iter().map(|c| c.zh).collect();
                errors.push((
                    i,
                    format!(
                        "未知的列“{clean}”，模板列为：{} / unknown column “{clean}”",
                        accepted.join("、")
                    ),
                ));
            }
        }
    }
    for (p, column) in columns.iter().enumerate() {
        if column.required && !positions.contains(&p) {
            errors.push((
                usize::MAX,
                format!(
                    "缺少必填列“{}” / missing required column “{}”",
                    column.zh, column.en
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(positions)
    } else {
        Err(errors)
    }
}

/// The template as CSV (UTF-8 with BOM so Excel opens it correctly): header plus one example row.
pub fn template_csv(kind: ImportKind) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let mut writer = csv::Writer::from_writer(&mut out);
    let columns = kind.columns();
    let headers: Vec<String> = columns
        .iter()
        .map(|c| {
            if c.required {
                format!("{}*", c.zh)
            } else {
                c.zh.to_owned()
            }
        })
        .collect();
    let _ = writer.write_record(&headers);
    let _ = writer.write_record(columns.iter().map(|c| c.example));
    drop(writer);
    out
}

/// The template as .xlsx: a data sheet (header + example, all cells text) and a sheet explaining each column.
pub fn template_xlsx(kind: ImportKind) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let text = Format::new().set_num_format("@");
    let bold = Format::new().set_bold();
    let columns = kind.columns();
    let sheet = workbook.add_worksheet();
    sheet.set_name(kind.label_zh())?;
    for (c, column) in columns.iter().enumerate() {
        let header = if column.required {
            format!("{}*", column.zh)
        } else {
            column.zh.to_owned()
        };
        sheet.write_string_with_format(0, c as u16, header, &bold)?;
        sheet.write_string_with_format(1, c as u16, column.example, &text)?;
        sheet.set_column_format(c as u16, &text)?;
        sheet.set_column_width(c as u16, 16)?;
    }
    let help = workbook.add_worksheet();
    help.set_name("填写说明")?;
    for (c, h) in ["列名", "英文列名", "必填", "说明"].iter().enumerate() {
        help.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, column) in columns.iter().enumerate() {
        let row = r as u32 + 1;
        help.write_string(row, 0, column.zh)?;
        help.write_string(row, 1, column.en)?;
        help.write_string(row, 2, if column.required { "是" } else { "否" })?;
        help.write_string(row, 3, column.help)?;
    }
    help.set_column_width(3, 80)?;
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_either_language() {
        let headers: Vec<String> = ["学籍号*", "name", "性别", "出生日期", "School_Code", "年级"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let positions = match_headers(ImportKind::Pupils, &headers).unwrap();
        assert_eq!(positions, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn unknown_duplicate_and_missing_columns_are_reported() {
        let headers: Vec<String> = ["学籍号", "姓名", "姓名", "身高"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let errors = match_headers(ImportKind::Pupils, &headers).unwrap_err();
        let text = format!("{errors:?}");
        assert!(text.contains("重复的列"));
        assert!(text.contains("未知的列“身高”"));
        assert!(text.contains("缺少必填列“性别”"));
    }

    #[test]
    fn templates_read_back_with_every_column() {
        for kind in ImportKind::ALL {
            let csv = super::super::read_table(&template_csv(kind), "t.csv").unwrap();
            assert_eq!(
                match_headers(kind, &csv.headers).unwrap().len(),
                kind.columns().len()
            );
            let xlsx = super::super::read_table(&template_xlsx(kind).unwrap(), "t.xlsx").unwrap();
            assert_eq!(xlsx.headers, csv.headers);
            assert_eq!(xlsx.rows[0].1.len(), csv.rows[0].1.len());
        }
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// docs/import.md documents every column of every template (it is written from them; this keeps it current).
    #[test]
    fn every_template_column_is_documented() {
        let doc = include_str!("../../../../docs/import.md");
        for kind in ImportKind::ALL {
            for column in kind.columns() {
                let row = format!("| {} | {} |", column.zh, column.en);
                assert!(
                    doc.contains(&row),
                    "docs/import.md lacks the {} column {}",
                    kind.code(),
                    column.zh
                );
            }
        }
    }
}
