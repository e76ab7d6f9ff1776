//! Domain types and code validators (学籍号, 学校标识码, 身份证号), org tree, China-time dates. No I/O.
