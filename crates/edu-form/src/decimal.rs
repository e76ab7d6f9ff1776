//! An exact decimal number for form values (money, minutes with fractions): no floating-point drift.

use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest number of digits after the decimal point that a [`Decimal`] keeps.
pub const MAX_SCALE: u32 = 9;

/// Largest number of significant digits a [`Decimal`] accepts (keeps every product of two values in `i128`).
const MAX_DIGITS: usize = 18;

/// An exact decimal: `units × 10^-scale`. Equality and order are numeric (`1.0 == 1.00`).
///
/// Serialised as a string (`"600.00"`), deserialised from a string or a JSON/TOML number.
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal { units: 0, scale: 0 };

    /// A whole number.
    pub fn from_int(value: i64) -> Decimal {
        Decimal {
            units: i128::from(value),
            scale: 0,
        }
    }

    /// Parses `[-+]digits[.digits]` (at most 18 significant digits and 9 after the point). No exponent, no spaces.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = match body.split_once('.') {
            Some((w, f)) => (w, f),
            None => (body, ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        if !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        if body.ends_with('.') && fraction.is_empty() && body.contains('.') {
            return None;
        }
        let fraction = fraction.trim_end_matches('0');
        let whole = whole.trim_start_matches('0');
        if fraction.len() > MAX_SCALE as usize || whole.len() + fraction.len() > MAX_DIGITS {
            return None;
        }
        let mut units: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            units = units * 10 + i128::from(b - b'0');
        }
        if negative {
            units = -units;
        }
        Some(Decimal {
            units,
            scale: fraction.len() as u32,
        })
    }

    /// Converts a finite `f64` through its shortest round-trip text (`0.1` → `0.1`, not `0.1000000000000000055…`).
    pub fn from_f64(value: f64) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        let text = format!("{value}");
        if text.contains('e') || text.contains('E') {
            return None;
        }
        Decimal::parse(&text)
    }

    /// Number of digits after the point needed to write this value exactly.
    pub fn scale(self) -> u32 {
        self.normalised().scale
    }

    /// True when the value is below zero.
    pub fn is_negative(self) -> bool {
        self.units < 0
    }

    /// True when the value is zero.
    pub fn is_zero(self) -> bool {
        self.units == 0
    }

    /// The value as an `i64` when it is a whole number in range.
    pub fn to_i64(self) -> Option<i64> {
        let n = self.normalised();
        if n.scale != 0 {
            return None;
        }
        i64::try_from(n.units).ok()
    }

    /// Nearest `f64` (for statistics and display only).
    pub fn to_f64(self) -> f64 {
        self.units as f64 / 10f64.powi(self.scale as i32)
    }

    /// Sum, or `None` on overflow.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let a = self.units_at(scale)?;
        let b = other.units_at(scale)?;
        Some(
            Decimal {
                units: a.checked_add(b)?,
                scale,
            }
            .normalised(),
        )
    }

    /// Difference, or `None` on overflow.
    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        self.checked_add(Decimal {
            units: other.units.checked_neg()?,
            scale: other.scale,
        })
    }

    /// Product, or `None` on overflow or when the exact result needs more than [`MAX_SCALE`] decimals.
    pub fn checked_mul(self, other: Decimal) -> Option<Decimal> {
        let units = self.units.checked_mul(other.units)?;
        let product = Decimal {
            units,
            scale: self.scale + other.scale,
        }
        .normalised();
        (product.scale <= MAX_SCALE * 2).then_some(product)
    }

    /// Writes the value with exactly `scale` decimals (pads with zeros; never rounds — callers check the scale first).
    pub fn to_string_with_scale(self, scale: u32) -> String {
        let n = self.normalised();
        let shown = if n.scale >= scale {
            n
        } else {
            Decimal {
                units: n.units * 10i128.pow(scale - n.scale),
                scale,
            }
        };
        shown.to_string()
    }

    fn units_at(self, scale: u32) -> Option<i128> {
        self.units
            .checked_mul(10i128.checked_pow(scale.checked_sub(self.scale)?)?)
    }

    fn normalised(self) -> Decimal {
        let mut n = self;
        while n.scale > 0 && n.units % 10 == 0 {
            n.units /= 10;
            n.scale -= 1;
        }
        n
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = self.normalised();
        let b = other.normalised();
        let scale = a.scale.max(b.scale);
        match (a.units_at(scale), b.units_at(scale)) {
            (Some(x), Some(y)) => x.cmp(&y),
            // Overflow only happens for magnitudes far beyond MAX_DIGITS, which `parse` never produces; compare
            // approximately rather than panic.
            _ => a.to_f64().total_cmp(&b.to_f64()),
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let magnitude = self.units.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{magnitude}");
        }
        let divisor = 10u128.pow(self.scale);
        write!(
            f,
            "{sign}{}.{:0width$}",
            magnitude / divisor,
            magnitude % divisor,
            width = self.scale as usize
        )
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DecimalVisitor;
        impl Visitor<'_> for DecimalVisitor {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number or a string such as \"600.00\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal::from_int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal {
                    units: i128::from(v),
                    scale: 0,
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                Decimal::from_f64(v)
                    .ok_or_else(|| E::custom(format!("{v} is not a representable decimal")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
                Decimal::parse(v.trim())
                    .ok_or_else(|| E::custom(format!("{v:?} is not a decimal number")))
            }
        }
        deserializer.deserialize_any(DecimalVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for (text, shown) in [
            ("600", "600"),
            ("600.50", "600.5"),
            ("-0.25", "-0.25"),
            ("007", "7"),
            (".5", "0.5"),
        ] {
            assert_eq!(
                Decimal::parse(text).map(|d| d.to_string()).as_deref(),
                Some(shown),
                "{text}"
            );
        }
        for bad in [
            "",
            "-",
            "1e3",
            "1.2.3",
            "abc",
            " 1",
            "1.",
            "1234567890123456789",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn numeric_equality_and_order() {
        let a = Decimal::parse("1.0").unwrap();
        let b = Decimal::parse("1.00").unwrap();
        assert_eq!(a, b);
        assert!(Decimal::parse("0.1").unwrap() < Decimal::parse("0.11").unwrap());
        assert!(Decimal::parse("-2").unwrap() < Decimal::ZERO);
        assert_eq!(
            Decimal::parse("600").unwrap().to_string_with_scale(2),
            "600.00"
        );
        let sum = Decimal::parse("0.1")
            .unwrap()
            .checked_add(Decimal::parse("0.2").unwrap())
            .unwrap();
        assert_eq!(sum, Decimal::parse("0.3").unwrap());
        assert_eq!(Decimal::from_f64(0.1), Decimal::parse("0.1"));
    }
}
