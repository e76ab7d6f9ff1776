//! The risk notice board and the risk notification card as .xlsx: A4 portrait, fitted to one page, formula-safe,
//! watermarked (who, when) in the header, footer and document properties.

use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::safety::{BoardData, CardData, RiskPointView};
use crate::error::AppError;
use crate::exchange::escape_formula;

/// Excel's paper size code for A4.
const A4: u8 = 9;

fn xlsx(e: XlsxError) -> AppError {
    AppError::Config(format!("xlsx: {e}"))
}

fn colour(level: &str) -> Color {
    match level {
        "major" => Color::RGB(0xD7301F),
        "large" => Color::RGB(0xF28E2B),
        "general" => Color::RGB(0xE8C21B),
        "low" => Color::RGB(0x2F6FD0),
        _ => Color::RGB(0x9AA5B1),
    }
}

fn page(sheet: &mut Worksheet, watermark: &str) {
    sheet.set_paper_size(A4);
    sheet.set_portrait();
    sheet.set_print_fit_to_pages(1, 1);
    sheet.set_print_center_horizontally(true);
    sheet.set_margins(0.4, 0.4, 0.5, 0.5, 0.3, 0.3);
    sheet.set_header(format!("&L{}", watermark.replace('&', "&&")));
    sheet.set_footer(format!("&L{}&R&P / &N", watermark.replace('&', "&&")));
}

fn finish(mut workbook: Workbook, watermark: &str) -> Result<Vec<u8>, AppError> {
    let properties = rust_xlsxwriter::DocProperties::new()
        .set_comment(watermark)
        .set_author("EduPlan");
    workbook.set_properties(&properties);
    workbook.save_to_buffer().map_err(xlsx)
}

fn cell() -> Format {
    Format::new()
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Top)
        .set_num_format("@")
}

fn title() -> Format {
    Format::new()
        .set_bold()
        .set_font_size(18)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
}

/// The board: the school, then one row per risk point (number, place, type, level in its colour, controls,
/// responsible person, phone), then the emergency numbers.
pub(crate) fn board_xlsx(data: &BoardData, watermark: &str) -> Result<Vec<u8>, AppError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("风险公告栏").map_err(xlsx)?;
    page(sheet, watermark);
    for (c, width) in [5.0, 16.0, 10.0, 12.0, 40.0, 10.0, 14.0].iter().enumerate() {
        sheet.set_column_width(c as u16, *width).map_err(xlsx)?;
    }
    sheet
        .merge_range(0, 0, 0, 6, "安全风险公告栏", &title())
        .map_err(xlsx)?;
    sheet.set_row_height(0, 32).map_err(xlsx)?;
    let sub = Format::new().set_align(FormatAlign::Center);
    sheet
        .merge_range(
            1,
            0,
            1,
            6,
            &escape_formula(&format!("{}（{}）  {}", data.name, data.code, data.date)),
            &sub,
        )
        .map_err(xlsx)?;
    let head = cell().set_bold().set_background_color(Color::RGB(0xE8EEF7));
    for (c, h) in [
        "序号",
        "风险点",
        "风险类型",
        "风险等级",
        "管控措施",
        "责任人",
        "应急电话",
    ]
    .iter()
    .enumerate()
    {
        sheet
            .write_string_with_format(3, c as u16, *h, &head)
            .map_err(xlsx)?;
    }
    let mut row = 4u32;
    for p in &data.points {
        write_point_row(sheet, row, p)?;
        row += 1;
    }
    row += 1;
    let note = Format::new().set_text_wrap();
    let mut contacts: Vec<String> = data
        .contacts
        .iter()
        .map(|(who, phone)| format!("{who}：{phone}"))
        .collect();
    contacts.push("报警 110  火警 119  急救 120".into());
    sheet
        .merge_range(
            row,
            0,
            row,
            6,
            &escape_formula(&contacts.join("    ")),
            &note,
        )
        .map_err(xlsx)?;
    finish(workbook, watermark)
}

fn write_point_row(sheet: &mut Worksheet, row: u32, p: &RiskPointView) -> Result<(), AppError> {
    let text = cell();
    let level = cell()
        .set_bold()
        .set_background_color(colour(&p.level))
        .set_font_color(if p.level == "general" {
            Color::Black
        } else {
            Color::White
        });
    let values = [
        p.number.to_string(),
        p.place.clone(),
        p.hazard_type.clone(),
        p.level_label.clone(),
        p.controls.clone(),
        p.responsible.clone(),
        p.contact_phone.clone(),
    ];
    for (c, v) in values.iter().enumerate() {
        let format = if c == 3 { &level } else { &text };
        sheet
            .write_string_with_format(row, c as u16, escape_formula(v), format)
            .map_err(xlsx)?;
    }
    Ok(())
}

/// The card: one risk point, its level in colour, risks, controls, emergency steps and contacts.
pub(crate) fn card_xlsx(data: &CardData, watermark: &str) -> Result<Vec<u8>, AppError> {
    let p = &data.point;
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("风险告知卡").map_err(xlsx)?;
    page(sheet, watermark);
    sheet.set_column_width(0, 18).map_err(xlsx)?;
    sheet.set_column_width(1, 70).map_err(xlsx)?;
    let band = title()
        .set_background_color(colour(&p.level))
        .set_font_color(if p.level == "general" {
            Color::Black
        } else {
            Color::White
        });
    sheet
        .merge_range(0, 0, 0, 1, "岗位（场所）安全风险告知卡", &band)
        .map_err(xlsx)?;
    sheet.set_row_height(0, 36).map_err(xlsx)?;
    let key = cell().set_bold().set_background_color(Color::RGB(0xE8EEF7));
    let value = cell();
    let rows = [
        ("学校", format!("{}（{}）", data.name, data.code)),
        ("风险点", p.place.clone()),
        ("风险类型", p.hazard_type.clone()),
        ("风险等级", p.level_label.clone()),
        ("风险值 D（LEC）", format!("{}（{}）", p.score, p.lec)),
        ("风险描述", p.description.clone()),
        ("管控措施", p.controls.clone()),
        ("应急处置", p.emergency_steps.clone()),
        ("责任人", p.responsible.clone()),
        ("应急电话", p.contact_phone.clone()),
        ("学校电话", data.phone.clone()),
        ("报警求助", "报警 110  火警 119  急救 120".to_owned()),
        ("制卡日期", data.date.clone()),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        sheet
            .write_string_with_format(r, 0, *k, &key)
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(r, 1, escape_formula(v), &value)
            .map_err(xlsx)?;
        let lines = v.chars().count() / 34 + 1;
        sheet
            .set_row_height(r, (lines as f64 * 16.0).max(20.0))
            .map_err(xlsx)?;
    }
    finish(workbook, watermark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(level: &str, controls: &str) -> RiskPointView {
        RiskPointView {
            id: 1,
            number: 1,
            place: "化学实验室".into(),
            hazard_type: "危险化学品".into(),
            hazard_type_en: "Hazardous chemicals".into(),
            description: "浓硫酸存放".into(),
            level: level.into(),
            colour: "red".into(),
            level_label: "重大风险（红）".into(),
            level_label_en: "Major (red)".into(),
            score: "360.00".into(),
            lec: "L=6 E=6 C=10".into(),
            controls: controls.into(),
            emergency_steps: "疏散".into(),
            responsible: "张老师".into(),
            contact_phone: "0459-4600001".into(),
            x: Some(10.0),
            y: Some(20.0),
            next_review: None,
            review_overdue: false,
        }
    }

    #[test]
    fn board_and_card_are_a4_single_page_and_formula_safe() {
        let board = BoardData {
            code: "2230200001".into(),
            name: "大庆市第一小学".into(),
            address: String::new(),
            phone: "0459-4600000".into(),
            site_plan: None,
            points: vec![point("major", "=HYPERLINK(\"http://x\")")],
            contacts: vec![],
            date: "2021-10-11".into(),
        };
        let bytes = board_xlsx(&board, "EduPlan 导出 test").unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert!(sheet.contains("paperSize=\"9\""), "{sheet}");
        assert!(sheet.contains("fitToHeight=\"1\"") || sheet.contains("fitToPage=\"1\""));
        let mut strings = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/sharedStrings.xml").unwrap(),
            &mut strings,
        )
        .unwrap();
        assert!(strings.contains("'=HYPERLINK"), "{strings}");
        let card = CardData {
            code: board.code.clone(),
            name: board.name.clone(),
            phone: board.phone.clone(),
            point: point("low", "专人管理"),
            date: "2021-10-11".into(),
        };
        let bytes = card_xlsx(&card, "wm").unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut sheet,
        )
        .unwrap();
        assert!(sheet.contains("paperSize=\"9\""));
    }
}
