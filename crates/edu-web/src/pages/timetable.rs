//! 选课走班 (issue 6): course choices, combination counts, solving, timetable views and exports.

use crate::routes::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
}
