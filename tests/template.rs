//! `payrun template`: the headers it writes read back through `payrun validate`, a filled
//! XLSX template validates clean, its columns carry the formats that keep phones and
//! references as text, and an existing file is never replaced.

mod common;

use calamine::Reader;
use common::*;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

const PAYTM: [&str; 8] = [
    "Name",
    "Phone",
    "Email",
    "Amount (INR)",
    "Order ID",
    "Expiry Date",
    "Notify",
    "Comments",
];
const PAYU: [&str; 7] = [
    "Name",
    "Phone",
    "Email",
    "Amount (INR)",
    "Order ID",
    "Expiry Date",
    "Comments",
];

fn template(file: &Path, provider: &str) -> Output {
    Command::new(BIN)
        .args(["template"])
        .arg(file)
        .args(["--provider", provider])
        .output()
        .unwrap()
}

fn validate(file: &Path, provider: &str, dir: &tempfile::TempDir) -> Output {
    Command::new(BIN)
        .arg("--journal")
        .arg(path(dir, "none.db"))
        .arg("validate")
        .arg(file)
        .args(["--provider", provider])
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A worksheet's cells as text, row by row.
fn sheet_rows(file: &Path, sheet: &str) -> Vec<Vec<String>> {
    let mut book = calamine::open_workbook_auto(file).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// A file inside the XLSX zip, as text.
fn part(file: &Path, name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// The value of `attr="..."` in a tag's attributes (the text after its name).
fn attr<'a>(attrs: &'a str, attr: &str) -> Option<&'a str> {
    let key = format!("{attr}=\"");
    let at = if attrs.starts_with(&key) {
        key.len()
    } else {
        attrs.find(&format!(" {key}"))? + key.len() + 1
    };
    Some(&attrs[at..at + attrs[at..].find('"')?])
}

/// For each column (1-based) of the first sheet, the number format id of its column style.
fn column_formats(file: &Path) -> Vec<(u32, u32)> {
    let styles = part(file, "xl/styles.xml");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..styles.find("</cellXfs>").unwrap()];
    let fmt_of_style: Vec<u32> = xfs
        .split("<xf ")
        .skip(1)
        .map(|xf| attr(xf, "numFmtId").unwrap().parse().unwrap())
        .collect();
    let sheet = part(file, "xl/worksheets/sheet1.xml");
    sheet
        .split("<col ")
        .skip(1)
        .filter_map(|col| {
            let style: usize = attr(col, "style")?.parse().unwrap();
            Some((
                attr(col, "min").unwrap().parse().unwrap(),
                fmt_of_style[style],
            ))
        })
        .collect()
}

fn format_of(formats: &[(u32, u32)], headers: &[&str], header: &str) -> Option<u32> {
    let col = headers.iter().position(|h| *h == header).unwrap() as u32 + 1;
    formats.iter().find(|(c, _)| *c == col).map(|(_, f)| *f)
}

#[test]
fn a_filled_xlsx_template_validates_clean_for_each_provider() {
    let in_3_days = payrun::ist::today() + time::Duration::days(3);
    for (provider, want) in [("paytm", &PAYTM[..]), ("payu", &PAYU[..])] {
        let dir = tempdir();
        let blank = path(&dir, "blank.xlsx");
        let out = template(&blank, provider);
        assert_eq!(code(&out), 0, "{provider}: {}", text(&out));
        assert!(stdout(&out).contains("payrun validate"), "{}", text(&out));
        let headers = sheet_rows(&blank, "Payouts").remove(0);
        assert_eq!(headers, want, "{provider}");

        // rust_xlsxwriter cannot edit a file: write a copy under the template's headers, as
        // a person types into it (phones and references as text, amounts as numbers).
        let filled = path(&dir, "filled.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("Payouts").unwrap();
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let expiry = rust_xlsxwriter::ExcelDateTime::from_ymd(
            in_3_days.year() as u16,
            in_3_days.month() as u8,
            in_3_days.day(),
        )
        .unwrap();
        // 000123 and 123 are two references only while both stay text.
        let rows: [[&str; 8]; 3] = [
            [
                "Asha Rao",
                "9876543210",
                "asha@example.com",
                "1500",
                "000123",
                "date",
                "SMS+EMAIL",
                "March incentive",
            ],
            [
                "Ravi Kumar",
                "09876543211",
                "",
                "249.50",
                "123",
                "",
                "SMS",
                "March incentive",
            ],
            [
                "Meena Iyer",
                "+91 98765 43212",
                "meena@example.com",
                "100",
                "",
                "",
                "",
                "March incentive",
            ],
        ];
        for (c, header) in headers.iter().enumerate() {
            let c16 = c as u16;
            sheet.write_string(0, c16, header).unwrap();
            let field = PAYTM.iter().position(|h| h == header).unwrap();
            for (r, row) in rows.iter().enumerate() {
                let (r32, value) = ((r + 1) as u32, row[field]);
                match (header.as_str(), value) {
                    (_, "") => {}
                    ("Amount (INR)", v) => {
                        sheet
                            .write_number(r32, c16, v.parse::<f64>().unwrap())
                            .unwrap();
                    }
                    ("Expiry Date", _) => {
                        sheet
                            .write_datetime_with_format(r32, c16, &expiry, &date)
                            .unwrap();
                    }
                    (_, v) => {
                        sheet.write_string(r32, c16, v).unwrap();
                    }
                }
            }
        }
        book.save(&filled).unwrap();

        let out = validate(&filled, provider, &dir);
        let said = stdout(&out);
        assert_eq!(code(&out), 0, "{provider}: {}", text(&out));
        assert!(
            said.contains("rows: 3  valid: 3  invalid: 0"),
            "{provider}: {said}"
        );
        assert!(
            !said.contains("row "),
            "{provider}: no issues expected: {said}"
        );
    }
}

#[test]
fn the_xlsx_template_formats_its_columns() {
    let dir = tempdir();
    let file = path(&dir, "t.xlsx");
    assert_eq!(code(&template(&file, "paytm")), 0);
    let formats = column_formats(&file);
    let fmt = |h| format_of(&formats, &PAYTM, h);
    // Excel's built-in formats: 49 is Text (`@`), 4 is `#,##0.00`.
    assert_eq!(fmt("Phone"), Some(49), "{formats:?}");
    assert_eq!(fmt("Order ID"), Some(49), "{formats:?}");
    assert_eq!(fmt("Amount (INR)"), Some(4), "{formats:?}");
    assert_eq!(fmt("Name"), None, "{formats:?}");
    let styles = part(&file, "xl/styles.xml");
    let expiry = fmt("Expiry Date").unwrap();
    assert!(
        styles.contains(&format!(
            "<numFmt numFmtId=\"{expiry}\" formatCode=\"yyyy-mm-dd\"/>"
        )),
        "{styles}"
    );

    let sheet1 = part(&file, "xl/worksheets/sheet1.xml");
    assert!(
        sheet1.contains(
            "<dataValidation type=\"list\" allowBlank=\"1\" showInputMessage=\"1\" \
             showErrorMessage=\"1\" sqref=\"G2:G10001\"><formula1>\"SMS,EMAIL,SMS+EMAIL\"</formula1>"
        ),
        "{sheet1}"
    );
    assert!(sheet1.contains("type=\"date\""), "{sheet1}");
    assert!(
        sheet1.contains("<pane ySplit=\"1\""),
        "header row frozen: {sheet1}"
    );
    let workbook = part(&file, "xl/workbook.xml");
    let payouts = workbook.find("<sheet name=\"Payouts\"").unwrap();
    let instructions = workbook.find("<sheet name=\"Instructions\"").unwrap();
    assert!(
        payouts < instructions,
        "Payouts is the first sheet: {workbook}"
    );

    let payu = path(&dir, "payu.xlsx");
    assert_eq!(code(&template(&payu, "payu")), 0);
    assert!(
        !part(&payu, "xl/worksheets/sheet1.xml").contains("type=\"list\""),
        "PayU has no Notify column"
    );
}

#[test]
fn the_instructions_sheet_gives_each_columns_rules_for_the_provider() {
    let dir = tempdir();
    for (provider, want) in [("paytm", &PAYTM[..]), ("payu", &PAYU[..])] {
        let file = path(&dir, &format!("{provider}.xlsx"));
        assert_eq!(code(&template(&file, provider)), 0);
        let rows = sheet_rows(&file, "Instructions");
        assert_eq!(rows[0], ["Column", "Required", "Format", "Limits"]);
        let columns: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(columns, want, "one row per column");
        let rule = |column: &str| rows.iter().find(|r| r[0] == column).unwrap().clone();
        let (name, phone, expiry) = (rule("Name"), rule("Phone"), rule("Expiry Date"));
        match provider {
            "paytm" => {
                assert_eq!(name[1], "optional");
                assert_eq!(phone[1], "required");
                assert!(expiry[3].contains("at most 10 days ahead"), "{expiry:?}");
                assert!(rule("Notify")[3].contains("SMS or EMAIL or SMS+EMAIL"));
            }
            _ => {
                assert_eq!(name[1], "required");
                assert_eq!(phone[1], "required unless Email is filled");
                assert!(expiry[3].contains("at most 60 days ahead"), "{expiry:?}");
            }
        }
        assert!(rule("Amount (INR)")[3].contains("at least 1.00 rupees"));
        assert!(rule("Comments")[3].contains("at most 200 characters"));
        assert!(rule("Order ID")[3].contains("at most 40 characters"));
    }
}

#[test]
fn an_empty_template_validates_as_having_no_rows() {
    let dir = tempdir();
    for (file, provider) in [("t.xlsx", "paytm"), ("t.csv", "paytm"), ("u.xlsx", "payu")] {
        let file = path(&dir, file);
        assert_eq!(code(&template(&file, provider)), 0);
        let out = validate(&file, provider, &dir);
        let said = stdout(&out);
        // An empty sheet is an input error: nothing to check, nothing to pay.
        assert_eq!(code(&out), 2, "{}", text(&out));
        assert!(
            said.contains("no payout rows below the header"),
            "{}",
            text(&out)
        );
        assert!(said.contains("rows: 0  valid: 0  invalid: 0"), "{said}");
    }
}

#[test]
fn the_csv_template_is_one_header_line() {
    let dir = tempdir();
    for (provider, want) in [("paytm", &PAYTM[..]), ("payu", &PAYU[..])] {
        let file = path(&dir, &format!("{provider}.csv"));
        let out = template(&file, provider);
        assert_eq!(code(&out), 0, "{}", text(&out));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{}\n", want.join(","))
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("CSV has no cell formats"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn an_existing_file_or_an_unknown_extension_is_refused_with_exit_2() {
    let dir = tempdir();
    for name in ["sheet.xlsx", "sheet.csv"] {
        let file = path(&dir, name);
        std::fs::write(&file, "keep me").unwrap();
        let out = template(&file, "paytm");
        assert_eq!(code(&out), 2, "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("already exists"),
            "{}",
            text(&out)
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    }
    let odd = path(&dir, "sheet.ods");
    let out = template(&odd, "paytm");
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(!odd.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_sheet_is_not_paid_as_a_finished_batch() {
    let sb = sandbox(quick_config(61)).await;
    let dir = tempdir();
    let sheet = path(&dir, "blank.csv");
    assert_eq!(code(&template(&sheet, "paytm")), 0);
    let (journal, report) = (path(&dir, "j.db"), path(&dir, "out.csv"));
    let out = output(run_cmd(&sb, &journal, &sheet, &report, &[])).await;
    // Exit 0 would tell a scheduler that every row was paid.
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("has no valid payout row below its header"),
        "{}",
        text(&out)
    );
    assert!(sb.ledger().is_empty());
    assert!(journal_rows(&journal).is_empty(), "no batch was journaled");
}
