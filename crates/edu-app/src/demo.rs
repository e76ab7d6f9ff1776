//! The demo city (in progress).
