//! Importer of class-level FET files (placeholder until written).

#[derive(Debug)]
pub struct Imported {
    pub instance: crate::format::Instance,
    pub activities: usize,
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetError(pub String);

pub fn import(_text: &str) -> Result<Imported, FetError> {
    Err(FetError("not yet".into()))
}
