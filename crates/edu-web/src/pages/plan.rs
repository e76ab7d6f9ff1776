//! The plan scorecard (issue 3): targets with drill-down, trends, commitments, exports.

use crate::routes::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
}
