//! Header mapping: aliases, missing, duplicate and repeated columns.

use super::*;

#[test]
fn header_aliases_ignore_case_spaces_and_underscores() {
    let h = headers(&[
        "Beneficiary Name",
        " MOBILE NUMBER ",
        "E-Mail",
        "Amount(INR)",
        "order_id",
        "ExpiryDate",
        "Notify Mode",
        "Purpose",
        "Something else",
    ]);
    let c = Columns::from_headers(&h, ProviderKind::Paytm).expect("columns");
    for (field, want) in [
        (Field::Name, "Beneficiary Name"),
        (Field::Phone, " MOBILE NUMBER "),
        (Field::Email, "E-Mail"),
        (Field::Amount, "Amount(INR)"),
        (Field::OrderId, "order_id"),
        (Field::Expiry, "ExpiryDate"),
        (Field::Notify, "Notify Mode"),
        (Field::Comments, "Purpose"),
    ] {
        assert_eq!(c.header(field), Some(want), "{field:?}");
    }
    let c = Columns::from_headers(
        &headers(&["beneficiaryphoneno", "Amount INR", "Ref"]),
        ProviderKind::Paytm,
    )
    .expect("columns");
    assert_eq!(c.index(Field::Phone), Some(0));
    assert_eq!(c.header(Field::OrderId), Some("Ref"));
    assert_eq!(c.header(Field::Name), None);
}

#[test]
fn each_template_header_names_its_own_field() {
    let h: Vec<String> = Field::ALL.iter().map(|f| f.header().to_string()).collect();
    let c = Columns::from_headers(&h, ProviderKind::Paytm).expect("columns");
    for (i, field) in Field::ALL.into_iter().enumerate() {
        assert_eq!(c.index(field), Some(i), "{field:?}");
    }
}

#[test]
fn missing_and_duplicate_columns() {
    let err = Columns::from_headers(&headers(&["Name", "Amount"]), ProviderKind::Paytm)
        .expect_err("no phone");
    assert_eq!(
        err,
        ColumnError::Missing {
            field: "phone",
            headers: headers(&["Name", "Amount"])
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("no phone column (its headers are: 'Name', 'Amount')"),
        "{msg}"
    );
    assert!(
        msg.contains("mobile number") && msg.contains("--sheet"),
        "{msg}"
    );

    let err = Columns::from_headers(&headers(&["Phone", "Name"]), ProviderKind::Paytm)
        .expect_err("no amount");
    assert!(matches!(
        err,
        ColumnError::Missing {
            field: "amount",
            ..
        }
    ));

    let err = Columns::from_headers(
        &headers(&["Phone", "Mobile", "Amount"]),
        ProviderKind::Paytm,
    )
    .expect_err("two phones");
    assert_eq!(
        err,
        ColumnError::Duplicate {
            field: "phone",
            first: "Phone".into(),
            second: "Mobile".into()
        }
    );
    assert!(err.to_string().contains("rename or delete one"), "{err}");
    let err = Columns::from_headers(
        &headers(&["Phone", "Amount", "Branch", "BRANCH"]),
        ProviderKind::Paytm,
    )
    .expect_err("same header twice");
    assert_eq!(
        err.to_string(),
        "columns 3 and 4 have the same header 'BRANCH'; rename one of them so the report can tell them apart"
    );
}
