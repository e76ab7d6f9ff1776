//! Demo data for timetables: course-choice windows of two senior highs, every grade-10 pupil's 3+1+2 choice in
//! a realistic mix, and one solved, valid timetable.

use edu_store::timetables::ChoiceWindowWrite;
use jiff::Span;

use super::{DemoContext, DemoInstitution, Rng};
use crate::App;
use crate::audit::{self, Outcome};
use crate::error::AppError;
use crate::timetables::{Combination, RULE_HLJ_312, TimetableSettings};

/// Combination shares by short name. The first is a typical 2021 3+1+2 province (physics 58%, 物化生 18%,
/// 物生地 16%); the second the highest 物生地 share reported (46%, physics 63%).
const MIXES: [[(&str, u32); 12]; 2] = [
    [
        ("物化生", 18),
        ("物化地", 6),
        ("物化政", 4),
        ("物生地", 16),
        ("物生政", 6),
        ("物政地", 8),
        ("史政地", 22),
        ("史生地", 6),
        ("史化生", 2),
        ("史生政", 5),
        ("史化地", 2),
        ("史化政", 5),
    ],
    [
        ("物化生", 10),
        ("物化地", 3),
        ("物化政", 1),
        ("物生地", 46),
        ("物生政", 2),
        ("物政地", 1),
        ("史政地", 20),
        ("史生地", 8),
        ("史化生", 1),
        ("史生政", 4),
        ("史化地", 2),
        ("史化政", 2),
    ],
];

/// Below this demo scale no timetable is solved (see `demo_timetables`).
const MIN_SCALE_TO_SOLVE: f64 = 0.05;

/// Exactly `n` choices in the mix's shares (largest remainder), dealt to pupils in a shuffled order.
fn deal(mix: &[(&str, u32); 12], n: usize, rng: &mut Rng) -> Vec<Combination> {
    let all = Combination::all();
    let total: u32 = mix.iter().map(|m| m.1).sum();
    let raw: Vec<f64> = mix
        .iter()
        .map(|m| n as f64 * f64::from(m.1) / f64::from(total))
        .collect();
    let mut counts: Vec<usize> = raw.iter().map(|r| r.floor() as usize).collect();
    let mut order: Vec<usize> = (0..mix.len()).collect();
    order.sort_by(|a, b| {
        (raw[*b] - raw[*b].floor())
            .total_cmp(&(raw[*a] - raw[*a].floor()))
            .then(a.cmp(b))
    });
    let mut left = n.saturating_sub(counts.iter().sum());
    for i in order {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    let mut out = Vec::with_capacity(n);
    for ((short, _), count) in mix.iter().zip(counts) {
        if let Some(c) = all.iter().find(|c| c.short_zh() == *short) {
            out.extend(std::iter::repeat_n(*c, count));
        }
    }
    // Fisher–Yates with the demo's seeded stream.
    for i in (1..out.len()).rev() {
        let j = rng.range(0, i as i64) as usize;
        out.swap(i, j);
    }
    out
}

impl App {
    /// Adds this capability's demo records to a freshly generated city.
    pub(crate) async fn demo_timetables(&self, demo: &DemoContext<'_>) -> Result<(), AppError> {
        let seniors: Vec<&DemoInstitution> = demo
            .institutions
            .iter()
            .filter(|i| i.kind == "senior" && i.classes.iter().any(|c| c.1 == 10 && c.3 > 0))
            .take(2)
            .collect();
        for (number, school) in seniors.iter().enumerate() {
            let mut rng = demo.rng(&format!("timetables-{}", school.code));
            // The first school's window closed a week ago and it has its timetable; the second's is still open.
            let (opens, closes) = if number == 0 { (-21, -7) } else { (-3, 10) };
            let day = |offset: i64| {
                demo.today
                    .checked_add(Span::new().days(offset))
                    .unwrap_or(demo.today)
                    .to_string()
            };
            let write = ChoiceWindowWrite {
                institution_id: school.id,
                grade: 10,
                title: "2021级选科".to_owned(),
                opens_on: day(opens),
                closes_on: day(closes),
                rule: RULE_HLJ_312.to_owned(),
                settings_json: serde_json::to_string(&TimetableSettings::default())
                    .unwrap_or_default(),
                created_by: "cli:demo".to_owned(),
            };
            let entry = audit::entry(
                demo.now_ms,
                None,
                "cli:demo",
                demo.context,
                "timetable.window.open",
                "tt_window",
                "",
                Outcome::Success,
                "demo",
            );
            let window_id = self
                .store
                .insert_choice_window(&write, demo.now_ms, &entry)
                .await?;
            let pupils = self.store.grade_pupils(school.id, 10).await?;
            let combos = deal(&MIXES[number % MIXES.len()], pupils.len(), &mut rng);
            let choices: Vec<(i64, Combination)> = pupils
                .iter()
                .zip(combos)
                .map(|(p, c)| (p.pupil_id, c))
                .collect();
            self.demo_store_choices(window_id, &choices, demo.now_ms, demo.context)
                .await?;
            // The test city (scale < 0.05, a grade of ~50 pupils) stays without a timetable: solving it in a
            // debug build would slow every web test's harness; tests solve explicitly.
            if number == 0 && demo.scale >= MIN_SCALE_TO_SOLVE {
                self.demo_solve_window(window_id, demo).await?;
            }
        }
        Ok(())
    }

    /// Staffs the window's timetable (vacancies where the school's teachers are provably short) and solves it.
    async fn demo_solve_window(
        &self,
        window_id: i64,
        demo: &DemoContext<'_>,
    ) -> Result<(), AppError> {
        let mut window = self.demo_window(window_id).await?;
        for _ in 0..4 {
            let built = self.demo_build_instance(&window).await?;
            let short = self.demo_shortages(&built).await?;
            if short.is_empty() {
                let (_, status) = self
                    .demo_solve(&window, &built, demo.now_ms, demo.context)
                    .await?;
                if status == "valid" {
                    return Ok(());
                }
                // Not proven short but not found either: give every teacher a little more room once.
                let mut settings = window.settings.clone();
                settings.teacher_max_periods += 2;
                self.demo_store_settings(&window, &settings, demo.now_ms, demo.context)
                    .await?;
                window = self.demo_window(window_id).await?;
                continue;
            }
            let mut settings = window.settings.clone();
            for (subject, missing) in short {
                let per_teacher = u64::from(settings.teacher_max_periods.max(1));
                let add = missing.div_ceil(per_teacher).max(1) as u32;
                *settings.vacancies.entry(subject).or_insert(0) += add;
            }
            self.demo_store_settings(&window, &settings, demo.now_ms, demo.context)
                .await?;
            window = self.demo_window(window_id).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dealt_choices_have_the_promised_shares() {
        let mut rng = Rng::new(5);
        for (mix, physics) in [(&MIXES[0], 0.58), (&MIXES[1], 0.63)] {
            let dealt = deal(mix, 437, &mut rng);
            assert_eq!(dealt.len(), 437);
            let share = |f: &dyn Fn(&Combination) -> bool| {
                dealt.iter().filter(|c| f(c)).count() as f64 / 437.0
            };
            let phy = share(&|c| c.track() == "phy");
            assert!((phy - physics).abs() < 0.01, "{phy}");
            assert!((0.51..=0.63 + 0.005).contains(&phy));
            let wuhuasheng = share(&|c| c.short_zh() == "物化生");
            assert!((0.095..=0.245).contains(&wuhuasheng), "{wuhuasheng}");
            let wushengdi = share(&|c| c.short_zh() == "物生地");
            assert!(wushengdi <= 0.465, "{wushengdi}");
        }
        // Every short name of the mixes is a real combination.
        let names: Vec<String> = Combination::all().iter().map(|c| c.short_zh()).collect();
        for mix in &MIXES {
            assert!(mix.iter().all(|(s, _)| names.iter().any(|n| n == s)));
        }
    }
}
