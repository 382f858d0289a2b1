//! Ingest benchmark: read + validate a generated CSV sheet, then import it into a fresh
//! journal, and report rows per second for each step next to a raw `csv` read of the same
//! file. Run with `cargo bench --bench ingest -- [ROWS]` (default 100000).

use payrun::cli::SheetArgs;
use payrun::commands::intake;
use payrun::journal::{now_rfc3339, Batch, Journal};
use payrun::payout::ProviderKind;
use std::io::Write;
use std::time::Instant;

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let sheet = dir.path().join("bench.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&sheet).expect("create sheet"));
    writeln!(f, "Name,Mobile,Email,Amount,Comments").expect("write");
    for i in 0..rows {
        writeln!(
            f,
            "Beneficiary {i},9{:09},person{i}@example.com,{}.{:02},Monthly payout",
            i % 1_000_000_000,
            100 + i % 50_000,
            i % 100
        )
        .expect("write");
    }
    drop(f);

    let t = Instant::now();
    let mut reader = csv::Reader::from_path(&sheet).expect("open");
    let mut record = csv::ByteRecord::new();
    let mut raw_rows = 0u64;
    while reader.read_byte_record(&mut record).expect("read") {
        raw_rows += 1;
    }
    let raw = t.elapsed();

    let t = Instant::now();
    let args = SheetArgs {
        sheet: sheet.clone(),
        sheet_name: None,
        provider: ProviderKind::Paytm,
        comment: None,
    };
    let intake = intake::read(&args, None).expect("intake");
    let validate = t.elapsed();
    assert_eq!(intake.invalid_count(), 0, "generated rows are valid");

    let journal = Journal::open(&dir.path().join("bench.db")).expect("journal");
    let batch = Batch {
        id: intake.batch_id.clone(),
        sheet_path: sheet.display().to_string(),
        sheet_name: None,
        sheet_sha256: intake.sheet_sha256.clone(),
        provider: ProviderKind::Paytm,
        headers: intake.headers.clone(),
        created_at: now_rfc3339(),
        row_count: intake.rows.len() as u64,
        valid_count: intake.rows.len() as u64,
        total_paise: intake.total().paise(),
    };
    let t = Instant::now();
    journal
        .import(&batch, &intake.import_rows())
        .expect("import");
    let import = t.elapsed();

    let per_s = |n: u64, d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!("rows: {rows}");
    println!("raw csv read:     {:>12.0} rows/s", per_s(raw_rows, raw));
    println!(
        "read + validate:  {:>12.0} rows/s  ({:.2}x raw)",
        per_s(rows as u64, validate),
        raw.as_secs_f64() / validate.as_secs_f64()
    );
    println!(
        "journal import:   {:>12.0} rows/s",
        per_s(rows as u64, import)
    );
}
