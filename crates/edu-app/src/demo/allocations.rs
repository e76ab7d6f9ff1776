//! Demo data for allocations: a published class division of a primary school's grade 1, and a teacher draw of
//! the same grade prepared but not yet drawn (its secret is the documented demo secret, so it can be drawn).

use edu_store::ScopeFilter;

use super::DemoContext;
use crate::App;
use crate::error::AppError;

/// The secret committed to by the demo's prepared run: the ASCII bytes of `eduplan-demo-2021`, i.e. the hex
/// `656475706c616e2d64656d6f2d32303231` (documented in docs/fair-web.md so a demo user can hold the draw).
pub const DEMO_SECRET: &[u8] = b"eduplan-demo-2021";

impl App {
    /// Adds this capability's demo records to a freshly generated city.
    pub(crate) async fn demo_allocations(&self, demo: &DemoContext<'_>) -> Result<(), AppError> {
        let grade_one = |classes: &[(i64, i64, String, i64)]| -> (i64, i64) {
            classes
                .iter()
                .filter(|c| c.1 == 1)
                .fold((0, 0), |(n, k), c| (n + c.3, k + 1))
        };
        // The primary school with the largest grade 1, preferably in the first district.
        let school = demo
            .institutions
            .iter()
            .filter(|i| i.kind == "primary" && grade_one(&i.classes).0 >= 2)
            .max_by_key(|i| {
                (
                    i.district == "230602",
                    grade_one(&i.classes).0,
                    std::cmp::Reverse(i.id),
                )
            });
        let Some(school) = school else {
            return Ok(());
        };
        let (_, classes) = grade_one(&school.classes);
        let Some(record) = self
            .store
            .institution_by_code(&ScopeFilter::All, &school.code)
            .await?
        else {
            return Ok(());
        };
        let mut rng = demo.rng("allocations");
        let mut bytes =
            |n: usize| -> Vec<u8> { (0..n).map(|_| (rng.next_u64() & 0xff) as u8).collect() };
        let nonce = bytes(16);
        let secret = bytes(32);
        let classes = u32::try_from(classes.max(1)).unwrap_or(1);
        // The public beacon of the demo's draw: a made-up lottery result of the demo's day.
        let beacon = format!("福彩3D {} 开奖号码 3 8 1（演示）", demo.today);
        self.demo_fair_balance_run(
            &record,
            1,
            classes,
            &nonce,
            &secret,
            Some(beacon.as_str()),
            demo.context,
        )
        .await?;
        let nonce = bytes(16);
        self.demo_fair_teachers_run(&record, 1, classes, &nonce, DEMO_SECRET, demo.context)
            .await?;
        Ok(())
    }
}
