//! Masking of beneficiaries' phone numbers and e-mail addresses in text that is kept or
//! shown beyond the report (the events trail): `98******10`, `a***@example.com`.

/// Standard error with phones and e-mails masked in everything written: log lines can
/// quote a provider's answer, which can quote a beneficiary.
pub struct MaskedStderr;

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(mask_contacts(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `text` with every run of ten or more digits and every e-mail's local part masked.
pub fn mask_contacts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&mask_word(word));
    }
    out
}

fn mask_word(word: &str) -> String {
    if let Some((local, domain)) = word.split_once('@') {
        if !local.is_empty() && domain.contains('.') {
            let first: String = local.chars().take(1).collect();
            return format!("{first}***@{domain}");
        }
    }
    // A phone is a run of ten or more digits standing alone: digits inside an identifier
    // (`PR0123456789abcdefN12`) are kept.
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let end = (i..chars.len())
            .find(|&j| !chars[j].is_ascii_digit())
            .unwrap_or(chars.len());
        let alone = |k: Option<&char>| !k.is_some_and(|c| c.is_alphanumeric());
        let n = end - i;
        if n >= 10 && alone(i.checked_sub(1).and_then(|k| chars.get(k))) && alone(chars.get(end)) {
            out.extend(&chars[i..i + 2]);
            out.extend(std::iter::repeat_n('*', n - 4));
            out.extend(&chars[end - 2..end]);
            i = end;
        } else if n > 0 {
            out.extend(&chars[i..end]);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails_are_masked_other_numbers_kept() {
        assert_eq!(
            mask_contacts(
                "Invalid beneficiaryPhoneNo 9876543210 for asha.rao@example.com, code 1105"
            ),
            "Invalid beneficiaryPhoneNo 98******10 for a***@example.com, code 1105"
        );
        assert_eq!(mask_contacts("+919876543210"), "+91********10");
        assert_eq!(
            mask_contacts("amount 1500.50 row 12"),
            "amount 1500.50 row 12"
        );
        assert_eq!(
            mask_contacts("PR0123456789abcdefN12"),
            "PR0123456789abcdefN12"
        );
    }
}
