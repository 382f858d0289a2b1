//! Each field parser's rules, through a row with one cell changed.

use super::*;

// ---- amount ----

#[test]
fn amount_rules() {
    assert_eq!(ok(with(3, t("249.5"))).amount.paise(), 24_950);
    assert_eq!(ok(with(3, t("₹ 1,00,000"))).amount.paise(), 10_000_000);
    assert_eq!(ok(with(3, Cell::Int(12000))).amount.paise(), 1_200_000);
    assert_eq!(ok(with(3, Cell::Float(0.29 + 10.01))).amount.paise(), 1030);
    assert_eq!(ok(with(3, t("1.00"))).amount.paise(), 100);

    let cases = [
        (t(""), "amount.required", "amount is required"),
        (
            t("0.99"),
            "amount.too_small",
            "amount 0.99 is below the Paytm minimum of 1.00",
        ),
        (
            t("12.345"),
            "amount.precision",
            "'12.345' has more than two decimals",
        ),
        (
            Cell::Float(1000.0000000001),
            "amount.precision",
            "the cell holds 1000.0000000001",
        ),
        (
            t("1500/-"),
            "amount.format",
            "'1500/-' is not an amount in rupees",
        ),
        (t("-500"), "amount.format", "'-500' is not an amount"),
        (Cell::Int(-5), "amount.format", "'-5' is not an amount"),
        (
            t("99999999999999"),
            "amount.too_large",
            "'99999999999999' is too large",
        ),
        (
            Cell::Bool(true),
            "amount.format",
            "'TRUE' (a TRUE/FALSE value) is not an amount",
        ),
        (
            Cell::Date(46096.0),
            "amount.format",
            "'2026-03-15' (a date) is not an amount",
        ),
        (
            Cell::Float(f64::NAN),
            "amount.format",
            "'NaN' is not an amount",
        ),
    ];
    for (cell, code, text) in cases {
        let (column, got, message) = issue(with(3, cell));
        assert_eq!((column.as_str(), got), ("Amount", code), "{message}");
        assert!(message.contains(text), "{message}");
    }
}

// ---- phone ----

#[test]
fn phone_text_rules() {
    for written in [
        "9876543210",
        "98765 43210",
        "98765-43210",
        "(987) 654-3210",
        "+919876543210",
        "+91 98765 43210",
        "919876543210",
        "09876543210",
    ] {
        assert_eq!(
            ok(with(1, t(written))).phone.as_deref(),
            Some("9876543210"),
            "{written}"
        );
    }
    let cases = [
        ("", "phone.required", "phone is required"),
        (
            "5876543210",
            "phone.not_mobile",
            "'5876543210' is not an Indian mobile number",
        ),
        ("987654321", "phone.length", "'987654321' has 9 digits"),
        ("98765432101", "phone.length", "has 11 digits"),
        (
            "+14155550100",
            "phone.country",
            "'+14155550100' is not an Indian number",
        ),
        (
            "98765x4321",
            "phone.format",
            "'98765x4321' is not a phone number",
        ),
        ("9.87654E+09", "phone.scientific", "scientific notation"),
    ];
    for (written, code, text) in cases {
        let (column, got, message) = issue(with(1, t(written)));
        assert_eq!(
            (column.as_str(), got),
            ("Phone", code),
            "{written}: {message}"
        );
        assert!(message.contains(text), "{message}");
    }
}

#[test]
fn phone_number_cells_must_be_exact_integers_of_valid_length() {
    assert_eq!(
        ok(with(1, Cell::Float(7777777777.0))).phone.as_deref(),
        Some("7777777777")
    );
    assert_eq!(
        ok(with(1, Cell::Int(7777777777))).phone.as_deref(),
        Some("7777777777")
    );
    assert_eq!(
        ok(with(1, Cell::Float(917777777777.0))).phone.as_deref(),
        Some("7777777777")
    );
    let cases = [
        (
            Cell::Float(777777777.0),
            "phone.numeric_cell",
            "with 9 digits",
        ),
        (
            Cell::Int(777777777),
            "phone.numeric_cell",
            "format the phone column as Text",
        ),
        (
            Cell::Float(7777777777.5),
            "phone.numeric_cell",
            "not a whole number",
        ),
        (
            Cell::Float(5555555555.0),
            "phone.not_mobile",
            "'5555555555'",
        ),
        (Cell::Date(46096.0), "phone.format", "(a date)"),
    ];
    for (cell, code, text) in cases {
        let (column, got, message) = issue(with(1, cell));
        assert_eq!((column.as_str(), got), ("Phone", code), "{message}");
        assert!(message.contains(text), "{message}");
    }
}

// ---- email and notify ----

#[test]
fn email_rules() {
    assert_eq!(
        ok(with(2, t("a.b+c@mail.example.co.in"))).email.as_deref(),
        Some("a.b+c@mail.example.co.in")
    );
    for bad in [
        "asha",
        "asha@",
        "@example.com",
        "asha@example",
        "asha rao@example.com",
        "a@b@example.com",
        ".asha@example.com",
        "asha@example.com.",
        "asha@example..com",
    ] {
        let (column, code, message) = issue(with(2, t(bad)));
        assert_eq!((column.as_str(), code), ("Email", "email.format"), "{bad}");
        assert!(
            message.contains(&format!("'{bad}' is not an email address")),
            "{message}"
        );
    }
}

#[test]
fn email_is_required_when_notify_includes_email() {
    let (column, code, message) = issue(with(6, t("SMS,EMAIL")));
    assert_eq!((column.as_str(), code), ("Email", "email.required"));
    assert!(message.contains("set notify to SMS"), "{message}");

    let columns = Columns::from_headers(
        &headers(&["phone", "amount", "notify", "comments"]),
        ProviderKind::Paytm,
    )
    .expect("columns");
    let issues = check(
        &mut Validator::new(columns, rules()),
        3,
        vec![t("9876543210"), t("5"), t("email"), t("x")],
    )
    .expect_err("no email column");
    assert_eq!(issues[0].column, "email");
    assert_eq!(issues[0].code, "email.required");
}

#[test]
fn notify_rules() {
    let mut cells = with(2, t("asha@example.com"));
    for (written, sms, email) in [
        ("", true, false),
        ("sms", true, false),
        ("EMAIL", false, true),
        ("SMS;EMAIL", true, true),
        ("email | sms", true, true),
        ("SMS+EMAIL", true, true),
        ("SMS/EMAIL", true, true),
    ] {
        cells[6] = t(written);
        assert_eq!(ok(cells.clone()).notify, Notify { sms, email }, "{written}");
    }
    // The template's drop-down offers exactly these; each must read back.
    let read: Vec<Notify> = NOTIFY_MODES
        .into_iter()
        .map(|offered| {
            cells[6] = t(offered);
            ok(cells.clone()).notify
        })
        .collect();
    let both = Notify {
        sms: true,
        email: true,
    };
    let email_only = Notify {
        sms: false,
        email: true,
    };
    assert_eq!(read, [Notify::default(), email_only, both]);
    for bad in ["WhatsApp", "SMS,push", ","] {
        let (column, code, message) = issue(with(6, t(bad)));
        assert_eq!(
            (column.as_str(), code),
            ("Notify", "notify.format"),
            "{bad}"
        );
        assert!(
            message.contains(&format!("'{bad}' is not a notify mode")),
            "{message}"
        );
    }
}

// ---- expiry ----

#[test]
fn expiry_rules() {
    // today is 2026-03-15; Paytm allows up to 10 days ahead.
    for (written, want) in [
        ("2026-03-16", "2026-03-16"),
        ("25/03/2026", "2026-03-25"),
        ("20-3-2026", "2026-03-20"),
        ("2026/03/20", "2026-03-20"),
        ("2026-03-20 00:00:00", "2026-03-20"),
    ] {
        assert_eq!(
            ok(with(5, t(written))).expiry,
            ist::parse_iso(want),
            "{written}"
        );
    }
    assert_eq!(
        ok(with(5, Cell::Date(46100.0))).expiry,
        ist::parse_iso("2026-03-19")
    );
    assert_eq!(
        ok(with(5, Cell::Date(46100.75))).expiry,
        ist::parse_iso("2026-03-19")
    );

    let cases = [
        (t("2026-03-15"), "expiry.past", "expiry 2026-03-15 is not after today (2026-03-15 in India); Paytm accepts 2026-03-16 to 2026-03-25"),
        (t("2026-03-26"), "expiry.too_far", "expiry 2026-03-26 is too far ahead"),
        (Cell::Date(46080.0), "expiry.past", "expiry 2026-02-27"),
        (t("2026-02-30"), "expiry.format", "'2026-02-30' is not a date"),
        (t("03/20/2026"), "expiry.format", "'03/20/2026' is not a date"),
        (t("next week"), "expiry.format", "'next week' is not a date"),
        (t("2026-03-20 10:30"), "expiry.format", "is not a date"),
        (Cell::Int(46100), "expiry.format", "'46100' is not a date"),
    ];
    for (cell, code, text) in cases {
        let (column, got, message) = issue(with(5, cell));
        assert_eq!((column.as_str(), got), ("Expiry", code), "{message}");
        assert!(message.contains(text), "{message}");
    }
}

// ---- comments and name ----

#[test]
fn comments_rules() {
    let (column, code, message) = issue(with(7, t("")));
    assert_eq!((column.as_str(), code), ("Comments", "comments.required"));
    assert!(
        message.contains("add a comments column or pass --comment"),
        "{message}"
    );

    let columns = Columns::from_headers(&headers(&HEADERS), ProviderKind::Paytm).expect("columns");
    let mut v = Validator::new(
        columns,
        Rules {
            default_comment: Some("Default".into()),
            ..rules()
        },
    );
    assert_eq!(
        check(&mut v, 2, with(7, t(""))).expect("valid").comments,
        "Default"
    );
    assert_eq!(
        check(&mut v, 3, with(7, t("Own"))).expect("valid").comments,
        "Own"
    );
    assert_eq!(ok(with(7, Cell::Int(2026))).comments, "2026");

    let (column, code, message) = issue(with(7, t(&"x".repeat(201))));
    assert_eq!((column.as_str(), code), ("Comments", "comments.too_long"));
    assert!(message.contains("201 characters"), "{message}");
    assert_eq!(
        ok(with(7, t(&"₹".repeat(200)))).comments.chars().count(),
        200
    );
}

#[test]
fn name_rules() {
    assert_eq!(ok(with(0, t(""))).name, None);
    assert_eq!(
        ok(with(0, t(&"अ".repeat(100))))
            .name
            .map(|n| n.chars().count()),
        Some(100)
    );
    let (column, code, _) = issue(with(0, t(&"a".repeat(101))));
    assert_eq!((column.as_str(), code), ("Name", "name.too_long"));
    let (column, code, message) = issue(with(0, Cell::Float(1500.0)));
    assert_eq!((column.as_str(), code), ("Name", "name.format"));
    assert!(message.contains("'1500' is not a name"), "{message}");
}

// ---- order id ----

#[test]
fn order_id_rules() {
    assert_eq!(ok(with(4, t("INV2026031501"))).order_id, "INV2026031501");
    assert_eq!(
        ok(with(4, Cell::Float(123456789012345.0))).order_id,
        "123456789012345"
    );
    assert_eq!(ok(with(4, Cell::Int(42))).order_id, "42");
    assert_eq!(ok(with(4, t(&"A".repeat(40)))).order_id.len(), 40);
    let cases = [
        (
            t("INV-001"),
            "order_id.format",
            "'INV-001' may contain only letters A-Z and digits",
        ),
        (t("INV 001"), "order_id.format", "no spaces or symbols"),
        (t("ÄBC"), "order_id.format", "'ÄBC'"),
        (t(&"A".repeat(41)), "order_id.too_long", "41 characters"),
        (
            Cell::Float(1234567890123456.0),
            "order_id.numeric_cell",
            "Excel keeps only 15 digits",
        ),
        (
            Cell::Float(12.5),
            "order_id.numeric_cell",
            "not a whole number",
        ),
        (
            t("1.23457E+15"),
            "order_id.scientific",
            "scientific notation",
        ),
        (Cell::Bool(false), "order_id.format", "'FALSE'"),
    ];
    for (cell, code, text) in cases {
        let (column, got, message) = issue(with(4, cell));
        assert_eq!((column.as_str(), got), ("Order ID", code), "{message}");
        assert!(message.contains(text), "{message}");
    }
}

#[test]
fn order_ids_are_unique_in_the_sheet_ignoring_case() {
    let mut v = validator();
    assert!(check(&mut v, 2, with(4, t("INV1"))).is_ok());
    // An invalid row still claims its id.
    let mut bad = with(4, t("INV2"));
    bad[3] = t("abc");
    assert!(check(&mut v, 3, bad).is_err());
    let issues = check(&mut v, 9, with(4, t("inv1"))).expect_err("duplicate");
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].row_no, issues[0].column.as_str(), issues[0].code),
        (9, "Order ID", "order_id.duplicate")
    );
    assert!(
        issues[0]
            .message
            .contains("'inv1' is already used by row 2"),
        "{}",
        issues[0].message
    );
    let issues = check(&mut v, 10, with(4, t("INV2"))).expect_err("duplicate of invalid row");
    assert!(issues[0].message.contains("row 3"), "{}", issues[0].message);
    // A reference that equals another row's derived id is caught too.
    assert!(check(&mut v, 11, good()).is_ok());
    let issues =
        check(&mut v, 12, with(4, t("PR0123456789abcdefN11"))).expect_err("collides with derived");
    assert_eq!(issues[0].code, "order_id.duplicate");
}
