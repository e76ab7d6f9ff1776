//! Reporting obligations (issue 4): forms, zero reports, status and follow-up, health alerts.

use crate::routes::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
}
