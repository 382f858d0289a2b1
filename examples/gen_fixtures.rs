//! Writes the corpus of awkward sheets under `tests/fixtures/`: the ways Excel, Google
//! Sheets, ERPs and bank portals mangle payout data. `tests/fixtures.rs` states what payrun
//! must make of each. Deterministic (fixed workbook creation date).
//!
//! Run with `cargo run --example gen_fixtures`.

use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet, XlsxError,
};
use std::path::Path;

const DIR: &str = "tests/fixtures";
const HEADER: &str = "Name,Phone,Amount,Comments";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(DIR)?;
    for (name, bytes) in text_files() {
        std::fs::write(Path::new(DIR).join(name), bytes)?;
    }
    for (name, build) in workbooks() {
        let mut book = Workbook::new();
        let created = ExcelDateTime::from_ymd(2026, 1, 1)?;
        book.set_properties(&DocProperties::new().set_creation_datetime(&created));
        build(&mut book)?;
        book.save(Path::new(DIR).join(name))?;
    }
    Ok(())
}

fn csv(body: &str) -> Vec<u8> {
    format!("{HEADER}\n{body}").into_bytes()
}

fn text_files() -> Vec<(&'static str, Vec<u8>)> {
    let utf16 = |text: &str| {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        bytes
    };
    vec![
        ("bom.csv", [b"\xEF\xBB\xBF".as_slice(), &csv("Asha,9876543210,1500.50,Bonus\n")].concat()),
        (
            "unicode_text.txt",
            utf16("Name\tPhone\tAmount\tComments\r\nJosé Ñúñez,9876543210,100,Bonus\r\n".replace(',', "\t").as_str()),
        ),
        ("windows_1252.csv", [b"Name,Phone,Amount,Comments\nJos\xE9 Fern\xE1ndez,9876543210,250,Caf\xE9 bill\n".as_slice()].concat()),
        ("semicolons.csv", b"Name;Phone;Amount;Comments\nAsha;9876543210;1500.50;Bonus\n".to_vec()),
        ("tabs.txt", b"Name\tPhone\tAmount\tComments\nAsha\t9876543210\t1500.50\tBonus\n".to_vec()),
        ("pipes.csv", b"Name|Phone|Amount|Comments\nAsha|9876543210|1500.50|Bonus\n".to_vec()),
        ("quoted_newlines.csv", csv("Asha,9876543210,100,\"March\nbonus\"\nRavi,9876543211,200,ok\n")),
        ("crlf.csv", b"Name,Phone,Amount,Comments\r\nAsha,9876543210,100,ok\r\nRavi,9876543211,200,ok\r\n".to_vec()),
        ("trailing_empty_columns.csv", b"Name,Phone,Amount,Comments,,\nAsha,9876543210,100,ok,,\n".to_vec()),
        ("ragged_row.csv", csv("Asha,9876543210,100,ok\nRavi,9876543211\n")),
        ("blank_lines.csv", csv("\nAsha,9876543210,100,ok\n\n\nRavi,98765432,200,ok\n")),
        ("scientific_phone.csv", csv("Asha,9.87654E+09,100,ok\n")),
        ("phone_prefixes.csv", csv("Asha,+91 98765 43210,100,ok\nRavi,09876543211,100,ok\nMeena,91-9876543212,100,ok\n")),
        ("short_phone.csv", csv("Asha,987654321,100,ok\n")),
        ("amount_noise.csv", csv("Asha,9876543210,1000.0000000001,ok\n")),
        ("amount_formats.csv", csv("Asha,9876543210,\"1,500.50\",ok\nRavi,9876543211,₹ 200,ok\nMeena,9876543212,12.345,ok\nKiran,9876543213,-5,ok\n")),
        ("duplicate_order_ids.csv", b"Name,Phone,Amount,Comments,Order ID\nAsha,9876543210,100,ok,INV1\nRavi,9876543211,100,ok,inv1\n".to_vec()),
        ("scientific_order_id.csv", b"Name,Phone,Amount,Comments,Order ID\nAsha,9876543210,100,ok,1.23457E+15\n".to_vec()),
        ("missing_amount_column.csv", b"Name,Phone,Comments\nAsha,9876543210,ok\n".to_vec()),
        ("duplicate_headers.csv", b"Name,Phone,Mobile,Amount,Comments\nAsha,9876543210,9876543211,100,ok\n".to_vec()),
        ("empty.csv", b"\n\n".to_vec()),
        ("formula_text.csv", csv("=HYPERLINK(\"http://x\"),9876543210,100,@SUM(A1)\n")),
        ("cr_only.csv", b"Name,Phone,Amount,Comments\r Asha,9876543210,100,ok\r".to_vec()),
        // As payrun's own CSV errors file guards them, and as people type them.
        ("guarded_formulas.csv", csv("Asha,'+919876543210,100,'=ok\nRavi,'9876543211,100,ok\n")),
        ("control_characters.csv", csv("As\x1b[31mha,9876543210,100,ok\nRavi,9876543211,100,\"two\tparts\"\nMeena,9876543212,100,ok\n")),
    ]
}

type Build = fn(&mut Workbook) -> Result<(), XlsxError>;

fn header(sheet: &mut Worksheet, names: &[&str]) -> Result<(), XlsxError> {
    for (c, h) in names.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    Ok(())
}

const H: [&str; 4] = ["Name", "Phone", "Amount", "Comments"];

fn workbooks() -> Vec<(&'static str, Build)> {
    vec![
        ("numbers_as_numbers.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &H)?;
            s.write_string(1, 0, "Asha")?;
            s.write_number(1, 1, 9876543210.0)?;
            s.write_number(1, 2, 1500.5)?;
            s.write_string(1, 3, "ok")?;
            s.write_string(2, 0, "Ravi")?;
            s.write_number(2, 1, 919876543211.0)?;
            s.write_number_with_format(2, 2, 200.0, &Format::new().set_num_format("#,##0.00"))?;
            s.write_string(2, 3, "ok")?;
            Ok(())
        }),
        ("phone_lost_digits.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &H)?;
            s.write_string(1, 0, "Asha")?;
            s.write_number(1, 1, 98765432.0)?; // a leading 9 and a digit lost
            s.write_number(1, 2, 100.0)?;
            s.write_string(1, 3, "ok")?;
            s.write_string(2, 0, "Ravi")?;
            s.write_string(2, 1, "7.77777E+09")?; // pasted as shown
            s.write_number(2, 2, 100.0)?;
            s.write_string(2, 3, "ok")?;
            Ok(())
        }),
        ("long_id_as_number.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &["Name", "Phone", "Amount", "Comments", "Order ID"])?;
            s.write_string(1, 0, "Asha")?;
            s.write_string(1, 1, "9876543210")?;
            s.write_number(1, 2, 100.0)?;
            s.write_string(1, 3, "ok")?;
            s.write_number(1, 4, 1234567890123456.0)?;
            s.write_string(2, 0, "Ravi")?;
            s.write_string(2, 1, "9876543211")?;
            s.write_number(2, 2, 100.0)?;
            s.write_string(2, 3, "ok")?;
            s.write_number(2, 4, 20260315.0)?; // a short numeric reference is exact
            Ok(())
        }),
        ("amount_noise.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &H)?;
            s.write_string(1, 0, "Asha")?;
            s.write_string(1, 1, "9876543210")?;
            s.write_number(1, 2, 1000.0000000001)?;
            s.write_string(1, 3, "ok")?;
            s.write_string(2, 0, "Ravi")?;
            s.write_string(2, 1, "9876543211")?;
            s.write_number(2, 2, 0.1 + 0.2)?; // 0.30000000000000004, shown as 0.3
            s.write_string(2, 3, "ok")?;
            Ok(())
        }),
        ("formulas.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &H)?;
            s.write_string(1, 0, "Asha")?;
            s.write_string(1, 1, "9876543210")?;
            s.write_formula(1, 2, Formula::new("=0.29+10.01").set_result("10.3"))?;
            s.write_string(1, 3, "ok")?;
            s.write_string(2, 0, "Ravi")?;
            s.write_string(2, 1, "9876543211")?;
            s.write_formula(
                2,
                2,
                Formula::new("=VLOOKUP(A3,X:Y,2,0)").set_result("#N/A"),
            )?;
            s.write_string(2, 3, "ok")?;
            Ok(())
        }),
        ("dates.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &["Name", "Phone", "Amount", "Comments", "Expiry"])?;
            s.write_string(1, 0, "Asha")?;
            s.write_string(1, 1, "9876543210")?;
            s.write_number(1, 2, 100.0)?;
            s.write_string(1, 3, "ok")?;
            let date = Format::new().set_num_format("dd/mm/yyyy");
            s.write_datetime_with_format(1, 4, ExcelDateTime::from_ymd(2020, 1, 31)?, &date)?;
            s.write_string(2, 0, "Ravi")?;
            s.write_string(2, 1, "9876543211")?;
            s.write_datetime_with_format(2, 2, ExcelDateTime::from_ymd(2026, 3, 1)?, &date)?; // a date where an amount belongs
            s.write_string(2, 3, "ok")?;
            Ok(())
        }),
        ("hidden_first_sheet.xlsx", |b| {
            let hidden = b.add_worksheet().set_name("Old")?;
            header(hidden, &["Something", "Else"])?;
            hidden.set_hidden(true);
            let s = b.add_worksheet().set_name("Payouts")?;
            // The active sheet cannot be hidden: make the second one active.
            s.set_active(true);
            header(s, &H)?;
            s.write_string(1, 0, "Asha")?;
            s.write_string(1, 1, "9876543210")?;
            s.write_number(1, 2, 100.0)?;
            s.write_string(1, 3, "ok")?;
            Ok(())
        }),
        ("header_below_title.xlsx", |b| {
            let s = b.add_worksheet();
            for (c, h) in H.iter().enumerate() {
                s.write_string(3, c as u16, *h)?;
            }
            s.write_string(4, 0, "Asha")?;
            s.write_string(4, 1, "9876543210")?;
            s.write_number(4, 2, 100.0)?;
            s.write_string(4, 3, "ok")?;
            s.write_string(6, 0, "Ravi")?; // an empty row 6 between
            s.write_string(6, 1, "12345")?;
            s.write_number(6, 2, 100.0)?;
            s.write_string(6, 3, "ok")?;
            Ok(())
        }),
        ("booleans_and_errors.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &H)?;
            s.write_string(1, 0, "Asha")?;
            s.write_boolean(1, 1, true)?;
            s.write_number(1, 2, 100.0)?;
            s.write_string(1, 3, "ok")?;
            s.write_string(2, 0, "Ravi")?;
            s.write_string(2, 1, "9876543211")?;
            s.write_formula(2, 2, Formula::new("=1/0").set_result("#DIV/0!"))?;
            s.write_string(2, 3, "ok")?;
            Ok(())
        }),
        ("value_without_header.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &H)?;
            s.write_string(1, 0, "Asha")?;
            s.write_string(1, 1, "9876543210")?;
            s.write_number(1, 2, 100.0)?;
            s.write_string(1, 3, "ok")?;
            s.write_string(1, 5, "stray")?;
            Ok(())
        }),
        ("only_a_header.xlsx", |b| {
            let s = b.add_worksheet();
            header(s, &H)
        }),
    ]
}
