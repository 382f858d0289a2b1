//! Rows read by the CSV and XLSX readers, and the sample sheets, validated end to end.

use super::*;

#[test]
fn xlsx_cells_validate_end_to_end() -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Formula, Workbook};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cells.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (c, h) in ["Phone", "Amount", "Expiry", "Comments"].iter().enumerate() {
        ws.write_string(1, c as u16, *h)?; // header on row 2
    }
    let rows: [(f64, f64, Option<f64>); 5] = [
        (7777777777.0, 0.29 + 10.01, None),
        (777777777.0, 10.0, None),
        (9876543210.0, 1000.0000000001, None),
        (9876543210.0, 5.0, Some(46100.0)),
        (9876543210.0, 5.0, Some(46200.0)),
    ];
    for (i, (phone, amount, expiry)) in rows.iter().enumerate() {
        let r = i as u32 + 2;
        ws.write_number(r, 0, *phone)?;
        ws.write_number(r, 1, *amount)?;
        if let Some(serial) = expiry {
            ws.write_number_with_format(r, 2, *serial, &date)?;
        }
        ws.write_string(r, 3, "x")?;
    }
    ws.write_number(7, 0, 9876543210.0)?;
    ws.write_formula(7, 1, Formula::new("=NA()").set_result("#N/A"))?;
    ws.write_string(7, 3, "x")?;
    wb.save(&path)?;

    let sheet = sheet::open(&path, None).expect("open");
    let columns = Columns::from_headers(&sheet.headers, ProviderKind::Paytm).expect("columns");
    let mut v = Validator::new(
        columns,
        Rules {
            batch_key: batch_key(&sheet.sha256, ProviderKind::Paytm),
            ..rules()
        },
    );
    let results: Vec<_> = sheet.rows.map(|r| v.check(&r.expect("row"))).collect();

    let first = results[0].as_ref().expect("row 3 valid");
    assert_eq!(
        (
            first.row_no,
            first.phone.as_deref().unwrap_or_default(),
            first.amount.paise()
        ),
        (3, "7777777777", 1030)
    );
    assert_eq!(first.order_id, format!("PR{}N3", &sheet_key(&path)));
    let only = |i: usize| {
        let issues = results[i].as_ref().expect_err("invalid");
        assert_eq!(issues.len(), 1, "{issues:?}");
        (issues[0].row_no, issues[0].column.clone(), issues[0].code)
    };
    assert_eq!(only(1), (4, "Phone".into(), "phone.numeric_cell"));
    assert_eq!(only(2), (5, "Amount".into(), "amount.precision"));
    assert_eq!(
        results[3].as_ref().map(|r| r.expiry).ok(),
        Some(ist::parse_iso("2026-03-19"))
    );
    assert_eq!(only(4), (7, "Expiry".into(), "expiry.too_far"));
    assert_eq!(only(5), (8, "Amount".into(), "cell.excel_error"));
    Ok(())
}

fn sheet_key(path: &std::path::Path) -> String {
    use sha2::Digest;
    batch_key(
        &hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read"))),
        ProviderKind::Paytm,
    )
}

#[test]
fn csv_with_bom_and_aliases_validates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.csv");
    std::fs::write(&path, "\u{feff}Beneficiary Name,Mobile Number,Amount (INR),Remarks\r\nAsha,98765 43210,\"1,500.00\",Bonus\r\n")
        .expect("write");
    let sheet = sheet::open(&path, None).expect("open");
    let mut v = Validator::new(
        Columns::from_headers(&sheet.headers, ProviderKind::Paytm).expect("columns"),
        rules(),
    );
    let rows: Vec<PayoutRow> = sheet
        .rows
        .map(|r| v.check(&r.expect("row")).expect("valid"))
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].row_no,
            rows[0].phone.as_deref().unwrap_or_default(),
            rows[0].amount.paise()
        ),
        (2, "9876543210", 150_000)
    );
    assert_eq!(rows[0].comments, "Bonus");
}

#[test]
fn every_sample_row_validates_for_both_providers() {
    let files = ["payouts.csv", "payouts.xlsx"];
    for (provider, file) in [ProviderKind::Paytm, ProviderKind::Payu]
        .into_iter()
        .flat_map(|p| files.map(|f| (p, f)))
    {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(file);
        let sheet = sheet::open(&path, None).expect("sample opens");
        let columns = Columns::from_headers(&sheet.headers, provider).expect("sample columns");
        let mut v = Validator::new(
            columns,
            Rules {
                provider,
                batch_key: batch_key(&sheet.sha256, provider),
                ..rules()
            },
        );
        let mut total = 0i64;
        let mut count = 0;
        for row in sheet.rows {
            let row = row.expect("sample row reads");
            let payout = v
                .check(&row)
                .unwrap_or_else(|issues| panic!("{file}: {issues:?}"));
            total += payout.amount.paise();
            count += 1;
        }
        assert_eq!(count, 240, "{file}");
        assert!(total > 0);
    }
}

#[test]
fn samples_have_the_same_rows_in_both_formats() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let read = |file: &str| -> Vec<(String, Option<String>, i64)> {
        let sheet = sheet::open(&dir.join(file), None).expect("sample opens");
        let mut v = Validator::new(
            Columns::from_headers(&sheet.headers, ProviderKind::Paytm).expect("columns"),
            Rules {
                batch_key: KEY.into(),
                ..rules()
            },
        );
        sheet
            .rows
            .map(|r| v.check(&r.expect("row")).expect("valid"))
            .map(|p| (p.order_id, p.phone, p.amount.paise()))
            .collect()
    };
    assert_eq!(read("payouts.csv"), read("payouts.xlsx"));
}
