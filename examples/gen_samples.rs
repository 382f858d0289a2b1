//! Writes the sample payout sheets `samples/payouts.csv` and `samples/payouts.xlsx`: the same
//! 240 rows in both, deterministic (fixed seed, fixed workbook creation date), every row valid.
//!
//! Run with `cargo run --example gen_samples`.
//!
//! Half the rows carry a reference (`INV20260315001`, ...) and half leave it empty so payrun
//! derives the order id. The expiry column is present but empty, so the samples stay valid
//! whatever the date. In the workbook, phones and references are text cells (as finance
//! should keep them) and amounts are numbers shown with two decimals.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};
use std::path::Path;

const ROWS: usize = 240;
const HEADERS: [&str; 8] = [
    "Name",
    "Phone",
    "Email",
    "Amount (INR)",
    "Order ID",
    "Expiry Date",
    "Notify",
    "Comments",
];

const FIRST_NAMES: &[&str] = &[
    "Aarav",
    "Vivaan",
    "Aditya",
    "Arjun",
    "Sai",
    "Ishaan",
    "Rohan",
    "Karthik",
    "Nikhil",
    "Rahul",
    "Amit",
    "Suresh",
    "Ramesh",
    "Venkatesh",
    "Manoj",
    "Farhan",
    "Imran",
    "Joseph",
    "Harpreet",
    "Gurpreet",
    "Ananya",
    "Diya",
    "Priya",
    "Kavya",
    "Saanvi",
    "Aadhya",
    "Meera",
    "Lakshmi",
    "Fatima",
    "Deepika",
    "Pooja",
    "Sneha",
    "Anjali",
    "Sunita",
    "Nandini",
    "Bhavana",
    "Shreya",
    "Tanvi",
    "Ritu",
    "Zoya",
];

const LAST_NAMES: &[&str] = &[
    "Sharma",
    "Verma",
    "Patel",
    "Reddy",
    "Iyer",
    "Nair",
    "Singh",
    "Gupta",
    "Khan",
    "Das",
    "Banerjee",
    "Chatterjee",
    "Mukherjee",
    "Joshi",
    "Kulkarni",
    "Deshpande",
    "Menon",
    "Pillai",
    "Rao",
    "Naidu",
    "Yadav",
    "Mishra",
    "Pandey",
    "Agarwal",
    "Mehta",
    "Shah",
    "Desai",
    "Fernandes",
    "Gill",
    "Sandhu",
    "Bose",
    "Ghosh",
];

/// Amounts in paise: round incentives, reimbursements with paise, a few large ones.
const AMOUNTS: &[i64] = &[
    150_000, 24_950, 1_200_000, 75_000, 50_000, 99_900, 325_000, 18_000, 500_000, 210_050, 87_500,
    100_000, 45_075, 260_000, 12_500, 640_000, 33_333, 1_000,
];

const COMMENTS: &[&str] = &[
    "March incentive",
    "Travel reimbursement",
    "Referral bonus",
    "Field visit allowance",
    "Festival bonus",
    "Store audit payout",
    "Delivery partner incentive",
    "Survey participation",
    "Sales contest prize",
    "Mobile data reimbursement",
];

/// A small LCG (Knuth's MMIX constants): deterministic and dependency-free.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

struct Row {
    name: String,
    phone: String,
    email: String,
    /// Rupees with two decimals, e.g. `1500.00`.
    amount: String,
    order_id: String,
    notify: &'static str,
    comments: &'static str,
}

impl Row {
    fn cells(&self) -> [&str; 8] {
        [
            &self.name,
            &self.phone,
            &self.email,
            &self.amount,
            &self.order_id,
            "",
            self.notify,
            self.comments,
        ]
    }
}

fn rows() -> Vec<Row> {
    let mut rng = Lcg(20_260_315);
    let mut references = 0;
    (0..ROWS)
        .map(|i| {
            let (first, last) = (rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
            let mut phone = (6 + rng.below(4)).to_string();
            for _ in 0..9 {
                phone.push_str(&rng.below(10).to_string());
            }
            let has_email = rng.below(3) == 0;
            let email = if has_email {
                let domain = ["example.com", "example.in", "mail.example.org"][rng.below(3)];
                format!(
                    "{}.{}{}@{domain}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    rng.below(100)
                )
            } else {
                String::new()
            };
            let notify = match (has_email, rng.below(10)) {
                (true, 0..=6) => "SMS,EMAIL",
                (false, 0..=2) => "SMS",
                _ => "",
            };
            let paise = AMOUNTS[rng.below(AMOUNTS.len())];
            let order_id = if i % 2 == 0 {
                references += 1;
                format!("INV20260315{references:03}")
            } else {
                String::new()
            };
            Row {
                name: format!("{first} {last}"),
                phone,
                email,
                amount: format!("{}.{:02}", paise / 100, paise % 100),
                order_id,
                notify,
                comments: COMMENTS[rng.below(COMMENTS.len())],
            }
        })
        .collect()
}

fn write_csv(path: &Path, rows: &[Row]) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(HEADERS)?;
    for row in rows {
        w.write_record(row.cells())?;
    }
    w.flush()?;
    Ok(())
}

fn write_xlsx(path: &Path, rows: &[Row]) -> Result<(), Box<dyn std::error::Error>> {
    let mut wb = Workbook::new();
    // A fixed creation date keeps the file's bytes, and so its batch hash, reproducible.
    let created = ExcelDateTime::from_ymd(2026, 3, 15)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let ws = wb.add_worksheet().set_name("Payouts")?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let text = Format::new().set_num_format("@");
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (c, width) in [22, 14, 34, 14, 18, 12, 12, 28].into_iter().enumerate() {
        ws.set_column_width(c as u16, width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (i, row) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &row.name)?;
        ws.write_string_with_format(r, 1, &row.phone, &text)?;
        write_if_any(ws, r, 2, &row.email)?;
        ws.write_number_with_format(r, 3, row.amount.parse::<f64>()?, &money)?;
        if !row.order_id.is_empty() {
            ws.write_string_with_format(r, 4, &row.order_id, &text)?;
        }
        write_if_any(ws, r, 6, row.notify)?;
        ws.write_string(r, 7, row.comments)?;
    }
    wb.save(path)?;
    Ok(())
}

fn write_if_any(
    ws: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    value: &str,
) -> Result<(), XlsxError> {
    if !value.is_empty() {
        ws.write_string(row, col, value)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::create_dir_all(&dir)?;
    let rows = rows();
    write_csv(&dir.join("payouts.csv"), &rows)?;
    write_xlsx(&dir.join("payouts.xlsx"), &rows)?;
    println!(
        "wrote {} rows to {}/payouts.csv and payouts.xlsx",
        rows.len(),
        dir.display()
    );
    Ok(())
}
