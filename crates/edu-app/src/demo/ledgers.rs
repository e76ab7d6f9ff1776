//! Demo data for ledgers: per campus a generated site plan (SVG drawn here), risk points graded by LEC and placed
//! on it, key areas (cameras mostly installed and linked), vetting records, patrol runs and hazards in every state
//! (some overdue, a major one at the district at once); per district tutoring complaints; negative-list requests;
//! kindergarten inspections. Every case is made by the ledger engine step by step, so histories are real; all of
//! it is written in one bulk transaction.

use std::fmt::Write;

use edu_ledger::{
    Actor, Case, LedgerDef, Relation, Role as LedgerRole, Step, apply_action, open_case,
};
use edu_store::ledgers::{
    AttachmentWrite, ChecklistRunWrite, KeyAreaWrite, LedgerBulk, SitePlanRecord, VettingWrite,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::names::person_name;
use super::{DemoContext, DemoInstitution, Rng};
use crate::App;
use crate::audit::{self, Outcome};
use crate::error::AppError;
use crate::ledgers::files;

const CAMPUS: [&str; 8] = [
    "kindergarten",
    "primary",
    "junior",
    "senior",
    "nine_year",
    "twelve_year",
    "vocational",
    "special",
];

/// A place on the generated site plan: key, label, centre (percent of width and height).
struct Anchor {
    key: &'static str,
    x: f64,
    y: f64,
}

/// Draws a campus: wall, gate, buildings and a running track. Returns the SVG and where things are.
fn site_plan(
    rng: &mut Rng,
    name: &str,
    kindergarten: bool,
    boarding: bool,
    rural: bool,
) -> (String, Vec<Anchor>) {
    let (w, h) = (1000.0, 700.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}"><rect width="{w}" height="{h}" fill="#eef3e8"/><rect x="20" y="20" width="960" height="660" fill="none" stroke="#7a8794" stroke-width="6" stroke-dasharray="18 8"/>"##
    );
    let mut anchors = Vec::new();
    let mut building = |svg: &mut String,
                        key: &'static str,
                        label: &str,
                        x: f64,
                        y: f64,
                        bw: f64,
                        bh: f64,
                        fill: &str| {
        let _ = write!(
            svg,
            r##"<rect x="{x:.0}" y="{y:.0}" width="{bw:.0}" height="{bh:.0}" rx="6" fill="{fill}" stroke="#5f6b7a" stroke-width="3"/><text x="{:.0}" y="{:.0}" font-size="26" text-anchor="middle" fill="#1d2330" font-family="sans-serif">{label}</text>"##,
            x + bw / 2.0,
            y + bh / 2.0 + 9.0
        );
        // Points go below the label, so both stay readable.
        anchors.push(Anchor {
            key,
            x: 100.0 * (x + bw / 2.0) / w,
            y: 100.0 * (y + bh * 0.78) / h,
        });
    };
    let jitter = |rng: &mut Rng| rng.range(-15, 15) as f64;
    building(
        &mut svg,
        "teaching",
        if kindergarten {
            "活动楼"
        } else {
            "教学楼"
        },
        90.0 + jitter(rng),
        80.0 + jitter(rng),
        320.0,
        150.0,
        "#dfe7f3",
    );
    building(
        &mut svg,
        "office",
        "综合楼",
        470.0 + jitter(rng),
        80.0 + jitter(rng),
        180.0,
        110.0,
        "#e9e2f3",
    );
    if !kindergarten {
        building(
            &mut svg,
            "lab",
            "实验楼",
            710.0 + jitter(rng),
            80.0 + jitter(rng),
            200.0,
            150.0,
            "#f3e6dc",
        );
    }
    building(
        &mut svg,
        "canteen",
        "食堂",
        90.0 + jitter(rng),
        330.0 + jitter(rng),
        220.0,
        120.0,
        "#f6efd6",
    );
    if boarding {
        building(
            &mut svg,
            "dormitory",
            "宿舍楼",
            730.0 + jitter(rng),
            290.0 + jitter(rng),
            180.0,
            130.0,
            "#dcefe6",
        );
    }
    if rural {
        building(
            &mut svg,
            "boiler",
            "锅炉房",
            90.0 + jitter(rng),
            520.0 + jitter(rng),
            130.0,
            80.0,
            "#eadbd5",
        );
    }
    building(
        &mut svg,
        "ebike",
        "车棚",
        820.0 + jitter(rng),
        520.0 + jitter(rng),
        110.0,
        70.0,
        "#e4e4e4",
    );
    // The track and the gate.
    let _ = write!(
        svg,
        r##"<rect x="360" y="300" width="340" height="230" rx="115" fill="#d98c5f" stroke="#ffffff" stroke-width="4"/><rect x="400" y="340" width="260" height="150" rx="75" fill="#7fb069"/><text x="530" y="424" font-size="26" text-anchor="middle" fill="#ffffff" font-family="sans-serif">操场</text><rect x="455" y="655" width="90" height="30" fill="#1f4e8c"/><text x="500" y="645" font-size="24" text-anchor="middle" fill="#1f4e8c" font-family="sans-serif">校门</text><text x="980" y="60" font-size="20" text-anchor="end" fill="#5f6b7a" font-family="sans-serif">{} · 示意图</text></svg>"##,
        name.replace(['<', '>', '&'], "")
    );
    anchors.push(Anchor {
        key: "playground",
        x: 53.0,
        y: 68.0,
    });
    anchors.push(Anchor {
        key: "gate",
        x: 58.0,
        y: 95.0,
    });
    (svg, anchors)
}

/// A risk-point template: where, what, and an LEC triple per level (major, large, general, low).
struct RiskTemplate {
    anchor: &'static str,
    place: &'static str,
    hazard: &'static str,
    description: &'static str,
    controls: &'static str,
    emergency: &'static str,
}

const RISKS: &[RiskTemplate] = &[
    RiskTemplate {
        anchor: "gate",
        place: "校门口",
        hazard: "traffic",
        description: "上下学时段车辆、接送家长密集，存在交通事故风险",
        controls: "设置护学岗和隔离护栏，错峰放学，禁止车辆在校门口停靠",
        emergency: "立即疏导交通，拨打 122/120，报告学校值班领导",
    },
    RiskTemplate {
        anchor: "gate",
        place: "门卫室",
        hazard: "intrusion",
        description: "外来人员进入校园，存在暴力侵害风险",
        controls: "封闭管理，来访登记核验，配备防暴器械，一键报警与公安联网",
        emergency: "启动防暴预案，拨打 110，组织师生避险",
    },
    RiskTemplate {
        anchor: "teaching",
        place: "教学楼楼梯间",
        hazard: "crowd",
        description: "课间、集会时学生集中上下楼，易发生拥挤踩踏",
        controls: "分时分层疏散，楼梯口教师值守，保持照明和通道畅通",
        emergency: "立即停止人员流动，组织有序疏散，救护伤员",
    },
    RiskTemplate {
        anchor: "teaching",
        place: "教学楼走廊护栏",
        hazard: "fall",
        description: "学生攀爬、倚靠护栏，存在高处坠落风险",
        controls: "护栏高度不低于 1.1 米，定期检查加固，开展安全教育",
        emergency: "立即救护并拨打 120，保护现场",
    },
    RiskTemplate {
        anchor: "office",
        place: "配电室",
        hazard: "electrical",
        description: "配电设备老化、违规操作可能导致触电或电气火灾",
        controls: "持证电工管理，定期检测，上锁，配备绝缘用具和灭火器",
        emergency: "切断电源，使用干粉灭火器，拨打 119/120",
    },
    RiskTemplate {
        anchor: "lab",
        place: "化学实验室危化品柜",
        hazard: "chemical",
        description: "浓酸、易燃试剂存放和使用，存在灼伤、中毒、火灾风险",
        controls: "专柜存放、双人双锁、领用登记，实验时教师全程指导",
        emergency: "疏散人员，冲洗处理，拨打 119/120，报告教育局",
    },
    RiskTemplate {
        anchor: "lab",
        place: "物理实验室",
        hazard: "electrical",
        description: "学生实验用电，存在触电风险",
        controls: "使用安全电压电源，实验前检查线路，教师全程在场",
        emergency: "切断电源，现场急救，拨打 120",
    },
    RiskTemplate {
        anchor: "canteen",
        place: "食堂操作间",
        hazard: "food",
        description: "食品加工储存不当可能导致食物中毒",
        controls: "原料索证索票，留样 48 小时，从业人员持健康证上岗",
        emergency: "停止供餐，封存留样，送医并报告市场监管和卫健部门",
    },
    RiskTemplate {
        anchor: "canteen",
        place: "食堂燃气间",
        hazard: "fire",
        description: "燃气泄漏可能引起火灾爆炸",
        controls: "安装燃气报警和切断装置，每日检查，专人管理",
        emergency: "关闭燃气总阀，开窗通风，疏散人员，拨打 119",
    },
    RiskTemplate {
        anchor: "dormitory",
        place: "学生宿舍",
        hazard: "fire",
        description: "夜间人员集中，违规用电可能引发火灾",
        controls: "宿管 24 小时值班，禁止大功率电器，夜间巡查，疏散通道畅通",
        emergency: "启动疏散预案，组织学生撤离，拨打 119",
    },
    RiskTemplate {
        anchor: "playground",
        place: "操场及体育器材",
        hazard: "sports_injury",
        description: "体育活动和器材使用中可能发生运动伤害",
        controls: "课前检查器材，做好准备活动，体育教师全程指导",
        emergency: "现场急救，联系校医，必要时拨打 120",
    },
    RiskTemplate {
        anchor: "boiler",
        place: "锅炉房",
        hazard: "fire",
        description: "锅炉运行可能发生爆炸、烫伤、一氧化碳中毒",
        controls: "司炉工持证上岗，定期检验，安装一氧化碳报警器",
        emergency: "停炉，疏散人员，拨打 119/120",
    },
    RiskTemplate {
        anchor: "ebike",
        place: "电动车停放充电区",
        hazard: "fire",
        description: "电动车集中充电可能引发火灾",
        controls: "集中停放、定时充电，安装智能充电桩和监控，严禁入楼",
        emergency: "切断电源，使用灭火器，拨打 119",
    },
];

/// LEC triples by level: major, large, general, low.
const LEC: [[(&str, &str, &str); 3]; 4] = [
    [("6", "6", "15"), ("3", "6", "40"), ("10", "6", "7")],
    [("3", "6", "15"), ("6", "3", "15"), ("1", "6", "40")],
    [("3", "6", "7"), ("1", "6", "15"), ("3", "3", "15")],
    [("1", "6", "7"), ("3", "2", "7"), ("1", "3", "15")],
];

fn at(now: Timestamp, days_ago: f64) -> Timestamp {
    now.checked_sub(SignedDuration::from_secs((days_ago * 86_400.0) as i64))
        .unwrap_or(now)
}

fn later(t: Timestamp, hours: f64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs((hours * 3600.0) as i64))
        .unwrap_or(t)
}

/// A tiny PNG (solid colour with a stripe), stored (uncompressed) deflate: evidence photos of the demo.
fn tiny_png(r: u8, g: u8, b: u8) -> Vec<u8> {
    let (w, h) = (24u32, 18u32);
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0u8);
        for x in 0..w {
            if (x + y) % 8 < 2 {
                raw.extend_from_slice(&[255, 255, 255]);
            } else {
                raw.extend_from_slice(&[r, g, b]);
            }
        }
    }
    let mut z = vec![0x78, 0x01, 0x01];
    let len = raw.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    let (mut a, mut bsum) = (1u32, 0u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65_521;
        bsum = (bsum + a) % 65_521;
    }
    z.extend_from_slice(&((bsum << 16) | a).to_be_bytes());
    let crc = |data: &[u8]| {
        let mut c = 0xFFFF_FFFFu32;
        for byte in data {
            c ^= u32::from(*byte);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    };
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        png.extend_from_slice(&body);
        png.extend_from_slice(&crc(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &z);
    chunk(b"IEND", &[]);
    png
}

/// A one-page PDF with a line of ASCII text (inspection records of the demo).
fn tiny_pdf(text: &str) -> Vec<u8> {
    let text: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect();
    let stream = format!("BT /F1 14 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A valid (check digit) ID number of an adult born in Daqing.
fn id_number(rng: &mut Rng) -> String {
    let birth = format!(
        "{}{:02}{:02}",
        rng.range(1965, 2000),
        rng.range(1, 12),
        rng.range(1, 28)
    );
    let body = format!("230602{birth}{:03}", rng.range(100, 999));
    let mut digits = [b'0'; 17];
    for (d, c) in digits.iter_mut().zip(body.bytes()) {
        *d = c;
    }
    format!("{body}{}", edu_model::id_check_digit(&digits))
}

/// Steps a case through the engine; a refused step is a bug in the generator, reported by the caller.
struct Maker<'a> {
    keys: &'a crate::crypto::KeyRing,
    now: Timestamp,
    bulk: LedgerBulk,
    refused: Vec<String>,
}

impl Maker<'_> {
    fn open(
        &mut self,
        def: &LedgerDef,
        school: &str,
        actor: &Actor,
        action: &str,
        supplied: Value,
        at: Timestamp,
    ) -> Option<Case> {
        let step = Step {
            action: action.into(),
            supplied,
            note: None,
        };
        match open_case(def, "demo", school, actor, &step, at.min(self.now)) {
            Ok(c) => Some(c),
            Err(e) => {
                self.refused.push(format!("{} {action}: {e}", def.id));
                None
            }
        }
    }

    fn step(
        &mut self,
        def: &LedgerDef,
        case: &Case,
        actor: &Actor,
        action: &str,
        supplied: Value,
        at: Timestamp,
    ) -> Option<Case> {
        let step = Step {
            action: action.into(),
            supplied,
            note: None,
        };
        match apply_action(def, case, actor, &step, at.min(self.now)) {
            Ok(c) => Some(c),
            Err(e) => {
                self.refused.push(format!("{} {action}: {e}", def.id));
                None
            }
        }
    }

    fn keep(
        &mut self,
        def: &LedgerDef,
        case: &Case,
        institution_id: i64,
        key: String,
    ) -> Result<usize, AppError> {
        let write =
            crate::ledgers::codec_case_write(self.keys, def, case, &key, institution_id, self.now)?;
        self.bulk.cases.push(write);
        Ok(self.bulk.cases.len() - 1)
    }

    fn attach(
        &mut self,
        case_index: usize,
        institution_id: i64,
        field: &str,
        token: &str,
        bytes: Vec<u8>,
        who: &str,
    ) {
        let kind = files::sniff(&bytes).unwrap_or(files::FileKind::Png);
        self.bulk.attachments.push((
            case_index,
            AttachmentWrite {
                token: token.to_owned(),
                institution_id,
                field: field.to_owned(),
                file_name: format!("{token}.{}", kind.extension()),
                content_type: kind.content_type().to_owned(),
                sha256: files::sha256_hex(&bytes),
                uploaded_by: who.to_owned(),
                uploaded_at: self.now.as_millisecond(),
                content: bytes,
            },
        ));
    }
}

fn actor(person: String, role: LedgerRole, relation: Relation) -> Actor {
    Actor {
        person,
        role,
        relation,
    }
}

impl App {
    /// Adds this capability's demo records to a freshly generated city.
    pub(crate) async fn demo_ledgers(&self, demo: &DemoContext<'_>) -> Result<(), AppError> {
        let defs = &self.plan.ledgers;
        let (Some(risk_def), Some(hazard_def)) = (defs.get("risk-points"), defs.get("hazards"))
        else {
            return Ok(());
        };
        let now = Timestamp::from_millisecond(demo.now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut maker = Maker {
            keys: &self.keys,
            now,
            bulk: LedgerBulk::default(),
            refused: Vec::new(),
        };
        let mut rng = demo.rng("ledgers");
        let mut token_counter = 0u64;
        let mut token = |rng: &mut Rng| {
            token_counter += 1;
            let mut bytes = rng.next_u64().to_le_bytes().to_vec();
            bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
            bytes.extend_from_slice(&token_counter.to_le_bytes()[..4]);
            format!("demo{}", crate::ledgers::cases_letters(&bytes))
        };
        let photo_before = tiny_png(0xB3, 0x26, 0x1E);
        let photo_after = tiny_png(0x1B, 0x7F, 0x3B);
        let campuses: Vec<&DemoInstitution> = demo
            .institutions
            .iter()
            .filter(|i| CAMPUS.contains(&i.kind.as_str()))
            .collect();
        let mut first_in_district: std::collections::BTreeSet<String> = Default::default();
        for inst in &campuses {
            let kindergarten = inst.kind == "kindergarten";
            let rural = inst.area == "rural";
            let boarding =
                (rural && !kindergarten && inst.kind != "primary") || inst.kind == "senior";
            let school_admin = actor(
                format!("u:s{}", inst.code),
                LedgerRole::SchoolAdmin,
                Relation::OwnSchool,
            );
            let district = actor(
                format!("u:d{}", inst.district),
                LedgerRole::DistrictAdmin,
                Relation::OwnDistrict,
            );
            let principal = format!("s:T{}0001", inst.code);
            let phone = format!("0459-{}", rng.range(4_600_000, 6_999_999));
            // Site plan.
            let (svg, anchors) = site_plan(&mut rng, &inst.name, kindergarten, boarding, rural);
            maker.bulk.site_plans.push(SitePlanRecord {
                institution_id: inst.id,
                content_type: "image/svg+xml".into(),
                width: 1000,
                height: 700,
                size: svg.len() as i64,
                sha256: files::sha256_hex(svg.as_bytes()),
                uploaded_by: "u:demo".into(),
                uploaded_at: demo.now_ms,
                content: svg.into_bytes(),
            });
            // Risk points on the places of this campus.
            let candidates: Vec<&RiskTemplate> = RISKS
                .iter()
                .filter(|r| anchors.iter().any(|a| a.key == r.anchor))
                .collect();
            let count = (rng.range(4, 7) as usize).min(candidates.len());
            let mut chosen: Vec<&RiskTemplate> = Vec::new();
            while chosen.len() < count {
                let c = *rng.pick(&candidates);
                if !chosen.iter().any(|x| std::ptr::eq(*x, c)) {
                    chosen.push(c);
                }
            }
            for (k, template) in chosen.iter().enumerate() {
                let anchor = anchors
                    .iter()
                    .find(|a| a.key == template.anchor)
                    .map(|a| (a.x, a.y))
                    .unwrap_or((50.0, 50.0));
                let level = *rng.weighted(&[(0usize, 4), (1, 16), (2, 44), (3, 36)]);
                let (l, e, c) = *rng.pick(&LEC[level]);
                let registered = at(now, rng.between(60.0, 200.0));
                // Most points were reviewed recently enough; a few are overdue for review.
                let overdue_review = rng.chance(0.08);
                let supplied = json!({
                    "place": template.place, "hazard_type": template.hazard, "description": template.description,
                    "controls": template.controls, "emergency_steps": template.emergency,
                    "responsible_person": principal, "contact_phone": phone,
                    "lec_l": l, "lec_e": e, "lec_c": c,
                    "map_x": format!("{:.1}", (anchor.0 + rng.between(-6.0, 6.0) + k as f64 * 0.5).clamp(2.0, 98.0)),
                    "map_y": format!("{:.1}", (anchor.1 + rng.between(-2.0, 2.0)).clamp(2.0, 98.0)),
                    "last_reviewed_on": edu_form::china_time::china_date(registered).to_string(),
                });
                let Some(mut case) = maker.open(
                    risk_def,
                    &inst.code,
                    &school_admin,
                    "register",
                    supplied,
                    registered,
                ) else {
                    continue;
                };
                let review_days = [7.0, 30.0, 90.0, 180.0][level];
                let reviewed = if overdue_review {
                    at(now, review_days + rng.between(3.0, 20.0))
                } else {
                    at(now, rng.between(0.5, (review_days - 1.0).max(1.0)))
                };
                if reviewed > later(registered, 1.0)
                    && let Some(next) = maker.step(
                        risk_def,
                        &case,
                        &school_admin,
                        "review",
                        json!({"last_reviewed_on": edu_form::china_time::china_date(reviewed).to_string(), "review_note": "现场复核，管控措施落实到位"}),
                        reviewed,
                    )
                {
                    case = next;
                }
                let key = token(&mut rng);
                maker.keep(risk_def, &case, inst.id, key)?;
            }
            // Key areas.
            let mut areas: Vec<(&str, &str)> = vec![
                ("gate", "校门"),
                ("perimeter", "周界围墙"),
                ("playground", "操场"),
            ];
            if !kindergarten {
                areas.push(("lab", "实验室"));
                areas.push(("storage", "危化品库房"));
            }
            areas.push(("canteen", "食堂"));
            if boarding {
                areas.push(("dormitory", "学生宿舍"));
            }
            if rural {
                areas.push(("boiler", "锅炉房"));
            }
            for (area_type, name) in areas {
                let camera = rng.chance(0.93);
                let police = camera && (area_type == "gate" || rng.chance(0.8));
                maker.bulk.key_areas.push(KeyAreaWrite {
                    institution_id: inst.id,
                    name: name.to_owned(),
                    area_type: area_type.to_owned(),
                    created_on: edu_form::china_time::china_date(at(
                        now,
                        rng.between(200.0, 400.0),
                    ))
                    .to_string(),
                    camera,
                    police_link: police,
                    cameras: if camera { rng.range(1, 6) } else { 0 },
                });
            }
            // Vetting of external staff.
            for _ in 0..rng.range(1, 3) {
                let number = id_number(&mut rng);
                let index = self.keys.blind_index("vetting_id_number", &number);
                let checked = at(now, rng.between(10.0, 300.0));
                let result = *rng.weighted(&[("clear", 90), ("pending", 7), ("flagged", 3)]);
                let male = rng.chance(0.5);
                maker.bulk.vetting.push(VettingWrite {
                    institution_id: inst.id,
                    name: person_name(&mut rng, male),
                    id_number_enc: self.keys.encrypt(
                        &number,
                        "vetting_records",
                        "id_number",
                        &index,
                    )?,
                    id_number_masked: edu_model::mask::mask_middle(&number, 4, 4),
                    id_number_index: index,
                    post: (*rng.pick(&["canteen", "cleaning", "security", "driver", "contractor"]))
                        .to_owned(),
                    employer: (*rng.pick(&[
                        "大庆市安泰保安服务有限公司",
                        "大庆众安餐饮管理有限公司",
                        "大庆洁美物业服务有限公司",
                    ]))
                    .to_owned(),
                    checked_on: edu_form::china_time::china_date(checked).to_string(),
                    result: result.to_owned(),
                    valid_until: Some(
                        edu_form::china_time::add_days(
                            edu_form::china_time::china_date(checked),
                            365,
                        )
                        .to_string(),
                    ),
                    note: String::new(),
                    recorded_by: school_admin.person.clone(),
                    recorded_at: checked.as_millisecond(),
                });
            }
            // Patrol runs: daily patrols on most recent days, a weekly check.
            for days_ago in 1..=3 {
                if rng.chance(0.85) {
                    maker.bulk.runs.push(ChecklistRunWrite {
                        ledger: "hazards".into(),
                        checklist: "daily-patrol".into(),
                        institution_id: inst.id,
                        inspector: school_admin.person.clone(),
                        run_on: edu_form::china_time::china_date(at(now, f64::from(days_ago)))
                            .to_string(),
                        passed: 6,
                        failed: 0,
                        not_applicable: 0,
                        results_json: "[]".into(),
                        created_at: at(now, f64::from(days_ago)).as_millisecond(),
                    });
                }
            }
            // Hazards in every state.
            let first = first_in_district.insert(inst.district.clone());
            let hazard_count = rng.range(0, 3) + i64::from(first);
            for h in 0..hazard_count {
                let major = (first && h == 0) || rng.chance(0.07);
                let template = rng.pick(RISKS);
                let kind = if first && h == 0 {
                    "major_open"
                } else {
                    *rng.weighted(&[
                        ("closed", 45),
                        ("closed_late", 10),
                        ("assigned", 15),
                        ("overdue", 10),
                        ("reported", 5),
                        ("rectified", 6),
                        ("escalated", 5),
                        ("rejected", 4),
                    ])
                };
                let days = match kind {
                    "major_open" => rng.between(0.2, 1.5),
                    "reported" => rng.between(0.05, 0.8),
                    "assigned" => rng.between(0.5, if major { 2.0 } else { 5.0 }),
                    "overdue" => rng.between(9.0, 25.0),
                    "escalated" => rng.between(11.0, 20.0),
                    "rectified" => rng.between(3.0, 6.0),
                    _ => rng.between(12.0, 90.0),
                };
                let t0 = at(now, days);
                let severity = if major { "major" } else { "general" };
                let reporter = if rng.chance(0.2) {
                    actor("u:inspector".into(), LedgerRole::Inspector, Relation::City)
                } else {
                    school_admin.clone()
                };
                let photo = token(&mut rng);
                let supplied = json!({
                    "title": format!("{}存在隐患", template.place), "severity": severity,
                    "category": match template.hazard { "fire" | "electrical" => "fire_electrical", "chemical" => "hazardous_chemicals", "food" => "food", "traffic" => "surroundings", "intrusion" => "security", _ => "buildings" },
                    "location": template.place, "description": format!("巡查发现：{}", template.description),
                    "photos": [photo.clone()], "source": "daily-patrol/facilities-sound",
                });
                let Some(mut case) =
                    maker.open(hazard_def, &inst.code, &reporter, "report", supplied, t0)
                else {
                    continue;
                };
                let mut files: Vec<(String, &str, &Vec<u8>)> =
                    vec![(photo, "photos", &photo_before)];
                let mut t = later(t0, rng.between(1.0, 6.0));
                if kind != "reported" {
                    let plan = json!({"responsible_person": school_admin.person, "rectify_plan": template.controls});
                    if let Some(next) =
                        maker.step(hazard_def, &case, &school_admin, "assign", plan, t)
                    {
                        case = next;
                    }
                }
                if kind == "escalated" {
                    t = later(t0, 24.0 * if major { 4.5 } else { 8.5 });
                    if let Some(next) = maker.step(
                        hazard_def,
                        &case,
                        &district,
                        "escalate",
                        json!({"escalation_note": "逾期未整改，区教育局挂牌督办"}),
                        t,
                    ) {
                        case = next;
                    }
                }
                if matches!(kind, "closed" | "closed_late" | "rectified" | "rejected") {
                    let fix_days = match kind {
                        "closed_late" => {
                            if major {
                                5.0
                            } else {
                                9.5
                            }
                        }
                        _ => rng.between(0.5, if major { 1.8 } else { 4.5 }),
                    };
                    t = later(t0, 24.0 * fix_days);
                    let evidence = token(&mut rng);
                    if let Some(next) = maker.step(
                        hazard_def,
                        &case,
                        &school_admin,
                        "rectify",
                        json!({"rectification_note": "已按整改措施完成整改", "rectification_photos": [evidence.clone()]}),
                        t,
                    ) {
                        case = next;
                        files.push((evidence, "rectification_photos", &photo_after));
                    }
                }
                if matches!(kind, "closed" | "closed_late" | "rejected") {
                    t = later(t, rng.between(6.0, 40.0));
                    let (inspector, result) = if kind == "rejected" {
                        (&district, "fail")
                    } else if rng.chance(0.5) {
                        (&district, "pass")
                    } else {
                        (&school_admin, "pass")
                    };
                    if let Some(next) = maker.step(
                        hazard_def,
                        &case,
                        inspector,
                        "reinspect",
                        json!({"reinspection_result": result, "reinspection_note": if result == "pass" { "复查合格" } else { "整改不彻底" }}),
                        t,
                    ) {
                        case = next;
                    }
                    t = later(t, rng.between(1.0, 20.0));
                    let next = if kind == "rejected" {
                        maker.step(
                            hazard_def,
                            &case,
                            inspector,
                            "reject",
                            json!({"rectify_plan": "重新整改并补充照片"}),
                            t,
                        )
                    } else {
                        maker.step(
                            hazard_def,
                            &case,
                            inspector,
                            "close",
                            json!({"closing_note": "隐患已消除，予以销号"}),
                            t,
                        )
                    };
                    if let Some(next) = next {
                        case = next;
                    }
                }
                let key = token(&mut rng);
                let index = maker.keep(hazard_def, &case, inst.id, key)?;
                for (tok, field, bytes) in files {
                    maker.attach(
                        index,
                        inst.id,
                        field,
                        &tok,
                        bytes.clone(),
                        &school_admin.person,
                    );
                }
            }
        }
        self.demo_other_ledgers(demo, &mut maker, &mut rng, now, &mut token)?;
        if !maker.refused.is_empty() {
            tracing::warn!(count = maker.refused.len(), first = %maker.refused[0], "demo ledger steps refused by the engine");
        }
        let summary = format!(
            "cases={} site_plans={} key_areas={} vetting={} runs={} attachments={} refused={}",
            maker.bulk.cases.len(),
            maker.bulk.site_plans.len(),
            maker.bulk.key_areas.len(),
            maker.bulk.vetting.len(),
            maker.bulk.runs.len(),
            maker.bulk.attachments.len(),
            maker.refused.len()
        );
        self.store
            .insert_ledger_bulk(
                &maker.bulk,
                &audit::entry(
                    demo.now_ms,
                    None,
                    "cli:demo",
                    demo.context,
                    "demo.ledgers",
                    "city",
                    &edu_model::DAQING.to_string(),
                    Outcome::Success,
                    &summary,
                ),
            )
            .await?;
        Ok(())
    }

    /// Complaints per district, negative-list requests, kindergarten inspections.
    fn demo_other_ledgers(
        &self,
        demo: &DemoContext<'_>,
        maker: &mut Maker<'_>,
        rng: &mut Rng,
        now: Timestamp,
        token: &mut dyn FnMut(&mut Rng) -> String,
    ) -> Result<(), AppError> {
        let defs = &self.plan.ledgers;
        if let Some(def) = defs.get("tutoring-complaints") {
            let mut districts: Vec<&str> = demo
                .institutions
                .iter()
                .map(|i| i.district.as_str())
                .collect();
            districts.sort_unstable();
            districts.dedup();
            for d in districts {
                let schools: Vec<&DemoInstitution> = demo
                    .institutions
                    .iter()
                    .filter(|i| {
                        i.district == d
                            && matches!(i.kind.as_str(), "primary" | "junior" | "nine_year")
                    })
                    .collect();
                if schools.is_empty() {
                    continue;
                }
                let clerk = actor(
                    format!("u:d{d}"),
                    LedgerRole::DistrictAdmin,
                    Relation::OwnDistrict,
                );
                let investigator = actor(
                    format!("u:d{d}"),
                    LedgerRole::Investigator,
                    Relation::OwnDistrict,
                );
                let n = ((demo.scale * 6.0).round() as usize).max(2);
                for k in 0..n {
                    let school = schools[k % schools.len()];
                    let t0 = at(now, rng.between(2.0, 45.0));
                    let male = rng.chance(0.4);
                    let supplied = json!({
                        "channel": *rng.pick(&["hotline", "letter", "online", "visit"]),
                        "teacher": format!("s:T{}{:04}", school.code, 2 + rng.range(0, 3)),
                        "allegation": *rng.pick(&["周末在校外租用场地组织本班学生有偿补课", "暗示家长参加其亲属开办的培训班", "寒暑假期间在家中办班收取费用"]),
                        "complainant_name": person_name(rng, male),
                        "complainant_phone": format!("13{}{:08}", rng.range(0, 9), rng.range(0, 99_999_999)),
                        "anonymous": false,
                    });
                    let Some(mut case) =
                        maker.open(def, &school.code, &clerk, "intake", supplied, t0)
                    else {
                        continue;
                    };
                    let stage = k % 4;
                    if stage >= 1
                        && let Some(next) = maker.step(
                            def,
                            &case,
                            &clerk,
                            "assign",
                            json!({"investigator": clerk.person}),
                            later(t0, 20.0),
                        )
                    {
                        case = next;
                    }
                    if stage >= 2
                        && let Some(next) = maker.step(
                            def,
                            &case,
                            &investigator,
                            "submit_findings",
                            json!({"findings": "经走访学生家长、调取相关记录，情况已查明"}),
                            later(t0, 24.0 * 8.0),
                        )
                    {
                        case = next;
                    }
                    if stage >= 3 {
                        let decision = if rng.chance(0.5) {
                            "unsubstantiated"
                        } else {
                            "partly"
                        };
                        if let Some(next) = maker.step(def, &case, &clerk, "decide", json!({"decision": decision, "decision_note": "依据调查情况作出处理决定"}), later(t0, 24.0 * 10.0)) {
                            case = next;
                            if decision == "unsubstantiated"
                                && let Some(next) = maker.step(def, &case, &clerk, "close", json!({"closing_note": "已向投诉人反馈调查结果"}), later(t0, 24.0 * 11.0))
                            {
                                case = next;
                            }
                        }
                    }
                    let key = token(rng);
                    maker.keep(def, &case, school.id, key)?;
                }
            }
        }
        if let Some(def) = defs.get("negative-list")
            && let Some(list) = &def.negative_list
        {
            let requests = [
                (
                    "区创城办",
                    "要求组织学生参加创城志愿活动并拍照留痕上报",
                    None,
                ),
                ("某科技公司", "要求全体家长下载APP并为作品投票点赞", None),
                (
                    "区卫健局",
                    "开展学生常见病和视力监测，学校配合组织",
                    Some("teaching"),
                ),
                ("街道办事处", "抽调两名教师参加征地拆迁入户工作", None),
                ("区教研室", "组织教师参加新课标教学研讨", Some("teaching")),
            ];
            for inst in demo.institutions.iter().filter(|i| {
                matches!(
                    i.kind.as_str(),
                    "primary" | "junior" | "nine_year" | "senior"
                )
            }) {
                if !rng.chance(0.25) {
                    continue;
                }
                let admin = actor(
                    format!("u:s{}", inst.code),
                    LedgerRole::SchoolAdmin,
                    Relation::OwnSchool,
                );
                let (issuer, description, category) = *rng.pick(&requests);
                let t0 = at(now, rng.between(0.5, 60.0));
                let mut supplied = json!({"issuer": issuer, "description": description, "received_on": edu_form::china_time::china_date(t0).to_string()});
                if let (Some(c), Some(map)) = (category, supplied.as_object_mut()) {
                    map.insert("category".into(), Value::String(c.to_owned()));
                }
                let Some(mut case) = maker.open(def, &inst.code, &admin, "register", supplied, t0)
                else {
                    continue;
                };
                if rng.chance(0.85) {
                    let decision = edu_ledger::match_request(
                        list,
                        &edu_ledger::BurdenRequest {
                            issuer: issuer.into(),
                            category: category.map(str::to_owned),
                            description: description.into(),
                            date: edu_form::china_time::china_date(t0),
                        },
                    );
                    let step = if decision.outcome == edu_ledger::BurdenOutcome::Refuse {
                        let matched: Vec<String> = decision
                            .matched
                            .iter()
                            .map(|m| format!("{} {}", m.item, m.title))
                            .collect();
                        maker.step(def, &case, &admin, "refuse", json!({"matched_item": matched.join("；").chars().take(200).collect::<String>(), "decision_reason": decision.explanation, "list_version": decision.list_version}), later(t0, 5.0))
                    } else {
                        maker.step(def, &case, &admin, "approve", json!({"decision_reason": decision.explanation, "list_version": decision.list_version}), later(t0, 5.0))
                    };
                    if let Some(next) = step {
                        case = next;
                    }
                }
                let key = token(rng);
                maker.keep(def, &case, inst.id, key)?;
            }
        }
        if let Some(def) = defs.get("inspections") {
            for inst in demo
                .institutions
                .iter()
                .filter(|i| i.kind == "kindergarten")
            {
                if !rng.chance(0.12) {
                    continue;
                }
                let district = actor(
                    format!("u:d{}", inst.district),
                    LedgerRole::DistrictAdmin,
                    Relation::OwnDistrict,
                );
                let t0 = at(now, rng.between(3.0, 40.0));
                let planned =
                    edu_form::china_time::add_days(edu_form::china_time::china_date(t0), 2);
                let Some(mut case) = maker.open(def, &inst.code, &district, "plan", json!({"inspection_type": "kindergarten_schooling", "planned_date": planned.to_string(), "team": "区教育局督导室"}), t0) else { continue };
                let mut report = None;
                if rng.chance(0.6) {
                    let tok = token(rng);
                    let issues = rng.chance(0.4);
                    let mut supplied = json!({"result": if issues { "issues" } else { "pass" }, "report_file": [tok.clone()]});
                    if issues && let Some(map) = supplied.as_object_mut() {
                        map.insert("findings".into(), json!([{"item": "活动室按小学教室布置", "severity": "general", "note": "桌椅排排坐", "source": "kindergarten-schooling/environment"}]));
                    }
                    if let Some(next) = maker.step(
                        def,
                        &case,
                        &district,
                        "record",
                        supplied,
                        later(t0, 24.0 * 2.5),
                    ) {
                        case = next;
                        report = Some(tok);
                        if issues
                            && let Some(next) = maker.step(
                                def,
                                &case,
                                &district,
                                "require_rectification",
                                json!({"rectify_requirement": "一个月内调整活动区角设置"}),
                                later(t0, 24.0 * 3.0),
                            )
                        {
                            case = next;
                        }
                    }
                }
                let key = token(rng);
                let index = maker.keep(def, &case, inst.id, key)?;
                if let Some(tok) = report {
                    maker.attach(
                        index,
                        inst.id,
                        "report_file",
                        &tok,
                        tiny_pdf("Inspection record kindergarten schooling"),
                        &district.person,
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_are_what_they_claim() {
        let png = tiny_png(1, 2, 3);
        assert_eq!(files::sniff(&png), Ok(files::FileKind::Png));
        assert_eq!(
            files::image_size(files::FileKind::Png, &png),
            Some((24, 18))
        );
        assert_eq!(files::sniff(&tiny_pdf("x")), Ok(files::FileKind::Pdf));
        let mut rng = Rng::new(1);
        for _ in 0..20 {
            assert!(edu_model::IdNumber::parse(&id_number(&mut rng)).is_ok());
        }
        let (svg, anchors) = site_plan(&mut rng, "测试<学校>", false, true, true);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<学校>"));
        for key in [
            "teaching",
            "lab",
            "dormitory",
            "boiler",
            "gate",
            "playground",
        ] {
            assert!(anchors.iter().any(|a| a.key == key), "{key}");
        }
        assert!(
            anchors
                .iter()
                .all(|a| (0.0..=100.0).contains(&a.x) && (0.0..=100.0).contains(&a.y))
        );
    }

    #[test]
    fn lec_triples_grade_to_their_level() {
        let t = edu_ledger::LecThresholds::default();
        let levels = [
            edu_ledger::RiskLevel::Major,
            edu_ledger::RiskLevel::Large,
            edu_ledger::RiskLevel::General,
            edu_ledger::RiskLevel::Low,
        ];
        for (level, triples) in levels.iter().zip(LEC) {
            for (l, e, c) in triples {
                let d = |s: &str| edu_form::Decimal::parse(s).unwrap();
                let grade = edu_ledger::grade_lec(d(l), d(e), d(c), &t).unwrap();
                assert_eq!(grade.level, *level, "{l} {e} {c}");
            }
        }
    }
}
