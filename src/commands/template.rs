//! `payrun template FILE`: writes a blank payout sheet and says what to do with it.

use super::Exit;
use crate::cli::TemplateArgs;
use crate::payout::ProviderKind;
use crate::template::{self, Kind, DATA_SHEET, INSTRUCTIONS_SHEET};

pub fn template(args: &TemplateArgs) -> anyhow::Result<Exit> {
    let kind = template::write(&args.file, args.provider)?;
    let headers: Vec<&str> = template::columns(args.provider)
        .iter()
        .map(|c| c.header)
        .collect();
    let path = args.file.display();
    println!(
        "wrote {path}: a {} payout template with the columns {}",
        args.provider.as_str(),
        headers.join(", ")
    );
    match kind {
        Kind::Xlsx => println!(
            "fill the {DATA_SHEET} sheet (phone and order id columns are Text, so leading zeros stay); \
             the {INSTRUCTIONS_SHEET} sheet lists each column's rules"
        ),
        Kind::Csv => eprintln!(
            "note: CSV has no cell formats: phones and order ids keep their leading zeros only if \
             the spreadsheet saves those columns as text (or use an .xlsx template)"
        ),
    }
    let provider = match args.provider {
        ProviderKind::Paytm => String::new(),
        other => format!(" --provider {}", other.as_str()),
    };
    println!("next: fill it, then run: payrun validate {path}{provider}");
    Ok(Exit::Success)
}
