//! `/api/v1/timetable/...`: choices and timetables.

use serde_json::{Map, Value};

use crate::routes::Routes;

pub fn routes(routes: Routes) -> Routes {
    routes
}

/// This module's entries of the OpenAPI `paths` object.
pub fn openapi_paths() -> Map<String, Value> {
    Map::new()
}
