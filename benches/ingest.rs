//! Ingest benchmark: generated CSV and XLSX sheets of N rows, each phase in a child process
//! of its own so its peak RSS is its own:
//! - raw: the `csv` crate's ByteRecord loop / calamine's cell reader, no processing;
//! - validate: `payrun validate`'s path (read + validate, nothing kept);
//! - import: `payrun run`'s intake (read + validate + journal import, one transaction).
//!
//! Run with `cargo bench --bench ingest -- [ROWS]` (default 100000).

use payrun::intake::{self, SheetOptions};
use payrun::journal::Journal;
use payrun::payout::ProviderKind;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "child") {
        let (phase, file) = (&args[i + 1], PathBuf::from(&args[i + 2]));
        return child(phase, &file);
    }
    let rows: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("bench.csv");
    let xlsx = dir.path().join("bench.xlsx");
    write_csv(&csv, rows);
    write_xlsx(&xlsx, rows);
    println!("rows: {rows}");
    for file in [&csv, &xlsx] {
        let run = |phase: &str| -> (f64, u64) {
            let out = Command::new(std::env::current_exe().expect("exe"))
                .args(["child", phase])
                .arg(file)
                .output()
                .expect("child");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let mut parts = text.split_whitespace();
            let secs: f64 = parts.next().and_then(|s| s.parse().ok()).expect("secs");
            let rss: u64 = parts.next().and_then(|s| s.parse().ok()).expect("rss");
            (secs, rss)
        };
        let ext = file
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let (raw, raw_rss) = run("raw");
        let (validate, validate_rss) = run("validate");
        let (import, import_rss) = run("import");
        let per_s = |secs: f64| rows as f64 / secs;
        println!(
            "{ext}: raw read             {:>10.0} rows/s  peak RSS {:>4} MB",
            per_s(raw),
            raw_rss / 1024
        );
        println!(
            "{ext}: read + validate      {:>10.0} rows/s  peak RSS {:>4} MB  ({:.2}x raw)",
            per_s(validate),
            validate_rss / 1024,
            raw / validate
        );
        println!(
            "{ext}: + journal import     {:>10.0} rows/s  peak RSS {:>4} MB  (import alone {:.0} rows/s)",
            per_s(import),
            import_rss / 1024,
            rows as f64 / (import - validate).max(1e-9)
        );
    }
}

/// One phase over `file`; prints seconds and peak RSS in KiB.
fn child(phase: &str, file: &Path) {
    let args = SheetOptions {
        sheet: file.to_path_buf(),
        sheet_name: None,
        provider: ProviderKind::Paytm,
        comment: None,
        columns: Vec::new(),
    };
    let t = Instant::now();
    match phase {
        "raw" if file.extension().is_some_and(|e| e == "csv") => {
            let mut reader = csv::Reader::from_path(file).expect("open");
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).expect("read") {}
        }
        "raw" => {
            use calamine::Reader;
            let mut book: calamine::Xlsx<_> = calamine::open_workbook(file).expect("open");
            let name = book.sheet_names()[0].clone();
            let mut cells = book.worksheet_cells_reader(&name).expect("sheet");
            while cells.next_cell().expect("cell").is_some() {}
        }
        "validate" => {
            let intake = intake::validate(&args, None).expect("validate");
            assert_eq!(intake.invalid_count(), 0, "{:?}", intake.issues.first());
        }
        "import" => {
            let db = file.with_extension(format!("{}.db", std::process::id()));
            let journal = Journal::open(&db).expect("journal");
            let opened = intake::open(&args).expect("open");
            let (intake, batch) =
                intake::import(opened, &args, &journal, &Default::default()).expect("import");
            assert!(batch.is_some(), "{:?}", intake.issues.first());
        }
        other => panic!("unknown phase {other}"),
    }
    let secs = t.elapsed().as_secs_f64();
    println!("{secs} {}", peak_rss_kib());
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Realistic rows: names, ten-digit mobiles, e-mails, amounts with paise, a purpose.
fn row(i: usize) -> [String; 5] {
    [
        format!("Beneficiary {i}"),
        format!("9{:09}", i % 1_000_000_000),
        format!("person{i}@example.com"),
        format!("{}.{:02}", 100 + i % 50_000, i % 100),
        "Monthly payout".to_string(),
    ]
}

const HEADERS: [&str; 5] = ["Name", "Mobile", "Email", "Amount", "Comments"];

fn write_csv(path: &Path, rows: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create sheet"));
    writeln!(f, "{}", HEADERS.join(",")).expect("write");
    for i in 0..rows {
        writeln!(f, "{}", row(i).join(",")).expect("write");
    }
}

/// As Excel saves it: text cells in the shared-string table, amounts as numbers.
fn write_xlsx(path: &Path, rows: usize) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_low_memory().expect("sheet");
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for i in 0..rows {
        let r = (i + 1) as u32;
        let [name, phone, email, amount, comments] = row(i);
        sheet.write_string(r, 0, name).expect("cell");
        sheet.write_string(r, 1, phone).expect("cell");
        sheet.write_string(r, 2, email).expect("cell");
        sheet
            .write_number(r, 3, amount.parse::<f64>().expect("amount"))
            .expect("cell");
        sheet.write_string(r, 4, comments).expect("cell");
    }
    book.save(path).expect("save");
}
