//! Masking of personal data for display (SECURITY.md ACL-03): keep a prefix and suffix, star the middle.

/// Keeps `keep_start` leading and `keep_end` trailing characters (counted in chars) and stars the rest.
pub fn mask_middle(text: &str, keep_start: usize, keep_end: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= keep_start + keep_end {
        return "*".repeat(chars.len());
    }
    let mut out = String::with_capacity(text.len());
    out.extend(&chars[..keep_start]);
    out.extend(std::iter::repeat_n(
        '*',
        chars.len() - keep_start - keep_end,
    ));
    out.extend(&chars[chars.len() - keep_end..]);
    out
}

/// A mobile number as `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    mask_middle(phone, 3, 4)
}

/// A person's name with only the surname visible: `张*`, `欧阳**`. Used where names leave the school.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 | 3 => format!("{}{}", chars[0], "*".repeat(chars.len() - 1)),
        n => format!("{}{}{}", chars[0], chars[1], "*".repeat(n - 2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(
            mask_middle("23060220150301214X", 4, 4),
            "2306**********214X"
        );
        assert_eq!(mask_phone("13845678901"), "138****8901");
        assert_eq!(mask_name("张伟"), "张*");
        assert_eq!(mask_name("李小龙"), "李**");
        assert_eq!(mask_name("欧阳娜娜"), "欧阳**");
        assert_eq!(mask_middle("abc", 2, 2), "***");
        // Supplementary-plane characters (GB 18030 Ext-B) count as one character.
        assert_eq!(mask_name("𠀀明"), "𠀀*");
    }
}
