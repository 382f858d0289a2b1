//! Whole rows: normalised values, defaults and derived ids, PayU's rules, and every issue
//! of a row in column order.

use super::*;

#[test]
fn valid_row_is_normalised() {
    let row = ok(vec![
        t(" Asha Rao "),
        t("+91 98765-43210"),
        t("Asha.Rao@Example.com"),
        t("1,500.50"),
        t("INV001"),
        t("2026-03-20"),
        t("sms, Email"),
        t("March incentive"),
    ]);
    assert_eq!(
        row,
        PayoutRow {
            row_no: 7,
            order_id: "INV001".into(),
            name: Some("Asha Rao".into()),
            phone: Some("9876543210".into()),
            email: Some("Asha.Rao@Example.com".into()),
            amount: Amount::from_paise(150_050),
            expiry: ist::parse_iso("2026-03-20"),
            notify: Notify {
                sms: true,
                email: true
            },
            comments: "March incentive".into(),
        }
    );
}

#[test]
fn minimal_row_gets_defaults_and_derived_id() {
    let columns = Columns::from_headers(&headers(&["phone", "amount"]), ProviderKind::Paytm)
        .expect("columns");
    let mut v = Validator::new(
        columns,
        Rules {
            default_comment: Some("Payout".into()),
            ..rules()
        },
    );
    let row = check(&mut v, 12, vec![t("9876543210"), t("10")]).expect("valid");
    assert_eq!(row.order_id, "PR0123456789abcdefN12");
    assert_eq!(row.notify, Notify::default());
    assert_eq!(row.comments, "Payout");
    assert_eq!((row.name, row.email, row.expiry), (None, None, None));
}

#[test]
fn payu_needs_a_name_and_a_phone_or_email_but_not_both() {
    let payu = |h: &[&str]| {
        let columns = Columns::from_headers(&headers(h), ProviderKind::Payu)?;
        Ok::<_, ColumnError>(Validator::new(
            columns,
            Rules {
                provider: ProviderKind::Payu,
                ..rules()
            },
        ))
    };
    // An e-mail column alone is enough for PayU, not for Paytm.
    let mut v = payu(&["Name", "Email", "Amount", "Comments"]).expect("email column");
    let row =
        check(&mut v, 2, vec![t("Asha"), t("a@b.in"), t("10"), t("Bonus")]).expect("email only");
    assert_eq!((row.phone, row.email.as_deref()), (None, Some("a@b.in")));
    assert!(matches!(
        payu(&["Name", "Amount"]).err(),
        Some(ColumnError::Missing { field: "phone", .. })
    ));
    assert!(Columns::from_headers(&headers(&["Email", "Amount"]), ProviderKind::Paytm).is_err());

    let mut v = payu(&HEADERS).expect("columns");
    let codes = |v: &mut Validator, cells| -> Vec<(String, &'static str)> {
        check(v, 3, cells)
            .expect_err("invalid")
            .into_iter()
            .map(|i| (i.column, i.code))
            .collect()
    };
    let mut nameless = good();
    nameless[0] = Cell::Empty;
    assert_eq!(
        codes(&mut v, nameless),
        [("Name".to_string(), "name.required")]
    );
    let mut nowhere = good();
    nowhere[1] = Cell::Empty;
    assert_eq!(
        codes(&mut v, nowhere),
        [("Phone".to_string(), "phone.required")]
    );
    // PayU takes expiries further ahead than Paytm's ten days.
    let mut later = good();
    later[5] = t("2026-04-10");
    assert_eq!(
        check(&mut v, 4, later.clone()).expect("payu").expiry,
        ist::parse_iso("2026-04-10")
    );
    assert_eq!(issue(later).1, "expiry.too_far");
}

#[test]
fn all_issues_of_a_row_are_reported_in_column_order() {
    let cells = vec![
        t(""),
        t("12345"),
        t("nope"),
        t("0"),
        t("A-1"),
        t("yesterday"),
        t("fax"),
        t(""),
    ];
    let issues = check(&mut validator(), 5, cells).expect_err("invalid");
    let got: Vec<(&str, &str)> = issues.iter().map(|i| (i.column.as_str(), i.code)).collect();
    assert_eq!(
        got,
        vec![
            ("Phone", "phone.length"),
            ("Email", "email.format"),
            ("Amount", "amount.too_small"),
            ("Order ID", "order_id.format"),
            ("Expiry", "expiry.format"),
            ("Notify", "notify.format"),
            ("Comments", "comments.required"),
        ]
    );
    assert!(issues.iter().all(|i| i.row_no == 5));
    assert!(
        issues[0]
            .to_string()
            .starts_with("row 5, column Phone: '12345' has 5 digits"),
        "{}",
        issues[0]
    );
}

#[test]
fn excel_errors_are_issues_in_any_mapped_column() {
    for (col, header) in HEADERS.into_iter().enumerate() {
        let issues = check(&mut validator(), 4, with(col, Cell::Error("#N/A".into())))
            .expect_err("error cell");
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            (issues[0].column.as_str(), issues[0].code),
            (header, "cell.excel_error")
        );
        assert!(
            issues[0]
                .message
                .contains("cell holds the Excel error #N/A; fix the formula"),
            "{}",
            issues[0]
        );
    }
}

#[test]
fn short_rows_do_not_panic() {
    let issues = check(&mut validator(), 2, vec![t("Asha")]).expect_err("empty required cells");
    let codes: Vec<&str> = issues.iter().map(|i| i.code).collect();
    assert_eq!(
        codes,
        ["phone.required", "amount.required", "comments.required"]
    );
}
