//! Fair allocation (issue 5): class division and admission runs, publication, public verification.

use crate::routes::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
}
