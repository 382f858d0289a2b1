//! Hostile sheets (issue 12, points 7 to 11), tried through the binary as a user would:
//! each case asserts the exit code, the message naming the file and the row or cell, that
//! nothing panicked, and, where a file is built to exhaust memory, that payrun finishes
//! under a memory limit far below what the file would take.

use super::common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Address space payrun gets in the memory-limited cases: the simulator, the runtime and
/// a journal fit with room to spare; the files below would need gigabytes.
const MEMORY_LIMIT_KIB: u64 = 512 * 1024;

/// `payrun --journal DIR/j.db ARGS...` with a clean environment, optionally under a memory
/// limit (`ulimit -v`, so the limit holds for the binary and nothing else).
fn payrun_cmd(
    dir: &tempfile::TempDir,
    limit_kib: Option<u64>,
    args: &[&std::ffi::OsStr],
) -> Command {
    let mut cmd = match limit_kib {
        Some(kib) => {
            let mut sh = Command::new("sh");
            sh.args(["-c", "ulimit -v \"$1\" && shift && exec \"$@\"", "sh"])
                .arg(kib.to_string())
                .arg(BIN);
            sh
        }
        None => Command::new(BIN),
    };
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("--journal")
        .arg(path(dir, "j.db"))
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Runs the command, killing it after 30 s: a hang is a failure, not a stuck test run.
fn finish(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("payrun still running after 30 s\n{}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn validate(
    dir: &tempfile::TempDir,
    sheet: &Path,
    limit_kib: Option<u64>,
    extra: &[&str],
) -> Output {
    let mut args = vec![std::ffi::OsStr::new("validate"), sheet.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    finish(payrun_cmd(dir, limit_kib, &args))
}

/// `payrun run SHEET --sandbox --poll-for 0s`: the whole path a real run takes, against the
/// built-in simulator.
fn run_sandbox(dir: &tempfile::TempDir, sheet: &Path, limit_kib: Option<u64>) -> Output {
    let report = path(dir, "out.csv");
    let args = [
        "run".as_ref(),
        sheet.as_os_str(),
        "--sandbox".as_ref(),
        "--poll-for".as_ref(),
        "0s".as_ref(),
        "--report".as_ref(),
        report.as_os_str(),
    ];
    finish(payrun_cmd(dir, limit_kib, &args))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The exit code, the one line that must be in stderr, and no panic.
fn assert_refused(out: &Output, want: &str) {
    assert_eq!(code(out), 2, "{}", text(out));
    assert!(stderr(out).contains(want), "wanted {want:?}\n{}", text(out));
    assert!(!stderr(out).contains("panicked"), "{}", text(out));
}

/// Batches in the journal (none when the run was refused before importing).
fn batches(dir: &tempfile::TempDir) -> i64 {
    let journal = path(dir, "j.db");
    if !journal.exists() {
        return 0;
    }
    let conn = rusqlite::Connection::open(journal).unwrap();
    conn.query_row("SELECT count(*) FROM batches", [], |r| r.get(0))
        .unwrap()
}

const HEADERS: [&str; 4] = ["Name", "Phone", "Amount", "Comments"];

/// A valid two-row workbook as rust_xlsxwriter saves it.
fn base_workbook() -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, (name, phone)) in [("Asha", "9876543210"), ("Ravi", "9876543211")]
        .iter()
        .enumerate()
    {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *name).unwrap();
        sheet.write_string(r, 1, *phone).unwrap();
        sheet.write_number(r, 2, 100.0).unwrap();
        sheet.write_string(r, 3, "ok").unwrap();
    }
    book.save_to_buffer().unwrap()
}

/// Writes `base` to `to` with its first worksheet's XML replaced by what `write_sheet`
/// writes, given the original XML: a workbook no spreadsheet program would save.
fn patch_sheet(base: &[u8], to: &Path, write_sheet: impl FnOnce(&str, &mut dyn Write)) {
    const SHEET: &str = "xl/worksheets/sheet1.xml";
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(base)).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for i in 0..archive.len() {
        let file = archive.by_index(i).unwrap();
        if file.name().unwrap() != SHEET {
            out.raw_copy_file(file).unwrap();
        }
    }
    let mut xml = String::new();
    archive
        .by_name(SHEET)
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    out.start_file(SHEET, options).unwrap();
    write_sheet(&xml, &mut out);
    out.finish().unwrap();
}

/// `xml` with `cell` added at the end of row `row`.
fn with_cell(xml: &str, row: u32, cell: &str) -> String {
    let start = xml.find(&format!("<row r=\"{row}\"")).unwrap();
    let end = start + xml[start..].find("</row>").unwrap();
    format!("{}{cell}{}", &xml[..end], &xml[end..])
}

// ---- 7: a cell reference far beyond the header ---------------------------------------------

#[test]
fn p07_a_cell_far_beyond_the_header_is_refused_naming_it_in_bounded_memory() {
    let dir = tempdir();
    let sheet = path(&dir, "pay.xlsx");
    patch_sheet(&base_workbook(), &sheet, |xml, out| {
        let stray = r#"<c r="ZZZZZZ2" t="inlineStr"><is><t>stray</t></is></c>"#;
        out.write_all(with_cell(xml, 2, stray).as_bytes()).unwrap();
    });
    // Before: 321 million columns of room made for one cell, 10 GB asked for, an abort.
    let want = "pay.xlsx: cell ZZZZZZ2 holds 'stray' but its column has no header";
    assert_refused(&validate(&dir, &sheet, Some(MEMORY_LIMIT_KIB), &[]), want);
    assert_refused(&run_sandbox(&dir, &sheet, Some(MEMORY_LIMIT_KIB)), want);
    assert_eq!(batches(&dir), 0);

    // A header cell that far out is beyond any sheet payrun reads.
    let wide = path(&dir, "wide.xlsx");
    patch_sheet(&base_workbook(), &wide, |xml, out| {
        let far = r#"<c r="XFD1" t="inlineStr"><is><t>Note</t></is></c>"#;
        out.write_all(with_cell(xml, 1, far).as_bytes()).unwrap();
    });
    assert_refused(
        &validate(&dir, &wide, Some(MEMORY_LIMIT_KIB), &[]),
        "wide.xlsx: cell XFD1 is beyond column AMJ; a sheet may have at most 1024 columns",
    );

    // The limit leaves a real sheet room: the same workbook without the stray cell is fine.
    let clean = path(&dir, "clean.xlsx");
    std::fs::write(&clean, base_workbook()).unwrap();
    let out = validate(&dir, &clean, Some(MEMORY_LIMIT_KIB), &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
}

// ---- 8: cells, rows and workbook parts over the limits -------------------------------------

#[test]
fn p08_a_cell_over_32_kib_is_refused_in_any_column_and_echoed_short() {
    let dir = tempdir();
    let csv_sheet = path(&dir, "pay.csv");
    let note = "x".repeat(40 * 1024);
    std::fs::write(
        &csv_sheet,
        format!("Name,Phone,Amount,Comments,Note\nAsha,9876543210,100,ok,{note}\n"),
    )
    .unwrap();
    let out = validate(&dir, &csv_sheet, None, &[]);
    assert_refused(
        &out,
        &format!(
            "pay.csv: line 2 (row 2 in Excel), field 5 ('Note') holds 40 KiB of text ('{}…'); \
             a cell may hold at most 32 KiB",
            "x".repeat(40)
        ),
    );
    assert!(
        stderr(&out).len() < 1000,
        "the value is echoed cut: {}",
        text(&out)
    );

    // In a workbook, in a pass-through column too (20,000 characters, 40,000 bytes).
    let xlsx_sheet = path(&dir, "pay.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Name", "Phone", "Amount", "Comments", "Note"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "Asha").unwrap();
    ws.write_string(1, 1, "9876543210").unwrap();
    ws.write_number(1, 2, 100.0).unwrap();
    ws.write_string(1, 3, "ok").unwrap();
    ws.write_string(1, 4, "é".repeat(20_000)).unwrap();
    book.save(&xlsx_sheet).unwrap();
    let out = run_sandbox(&dir, &xlsx_sheet, None);
    assert_refused(
        &out,
        &format!(
            "pay.xlsx: cell E2 holds 40 KiB of text ('{}…'); a cell may hold at most 32 KiB",
            "é".repeat(40)
        ),
    );
    assert_eq!(batches(&dir), 0);
}

#[test]
fn p08_a_row_over_256_kib_or_a_quote_never_closed_is_refused() {
    let dir = tempdir();
    let sheet = path(&dir, "pay.csv");
    let wide = "y".repeat(30 * 1024);
    let extra_headers: Vec<String> = (1..=9).map(|i| format!("Note {i}")).collect();
    let extra_cells = [wide.as_str(); 9];
    std::fs::write(
        &sheet,
        format!(
            "Name,Phone,Amount,Comments,{}\nAsha,9876543210,100,ok,{}\n",
            extra_headers.join(","),
            extra_cells.join(",")
        ),
    )
    .unwrap();
    assert_refused(
        &validate(&dir, &sheet, None, &[]),
        "pay.csv: line 2 (row 2 in Excel) holds more than 256 KiB of text",
    );

    // A quote opened in row 3 and never closed: today the rest of the file became one
    // comment. It is refused once the record passes the row limit, not held whole.
    let mut text = String::from("Name,Phone,Amount,Comments\nAsha,9876543210,100,ok\n");
    text.push_str("Ravi,9876543211,100,\"oops\n");
    for i in 0..200_000 {
        text.push_str(&format!("Row {i},98765{:05},100,ok\n", i % 100_000));
    }
    std::fs::write(&sheet, text).unwrap();
    assert_refused(
        &validate(&dir, &sheet, Some(MEMORY_LIMIT_KIB), &[]),
        "pay.csv: the record from line 3 on is longer than 256 KiB, the most a row may hold; \
         usually a quote (\") opens a field and is never closed",
    );
}

#[test]
fn p08_a_zip_bomb_is_refused_before_it_is_unpacked() {
    let dir = tempdir();
    let sheet = path(&dir, "pay.xlsx");
    // 300 MiB of one cell's text that packs to a few hundred KiB. Before: calamine held
    // it whole, then payrun copied it and printed it (1.25 GB peak).
    patch_sheet(&base_workbook(), &sheet, |xml, out| {
        let (head, tail) = xml.split_at(xml.find("</sheetData>").unwrap());
        out.write_all(head.as_bytes()).unwrap();
        out.write_all(br#"<row r="9"><c r="A9" t="inlineStr"><is><t>"#)
            .unwrap();
        let chunk = vec![b'y'; 1024 * 1024];
        for _ in 0..300 {
            out.write_all(&chunk).unwrap();
        }
        out.write_all(b"</t></is></c></row>").unwrap();
        out.write_all(tail.as_bytes()).unwrap();
    });
    assert!(std::fs::metadata(&sheet).unwrap().len() < 4 * 1024 * 1024);
    let want = "pay.xlsx: part 'xl/worksheets/sheet1.xml' of the workbook would unpack to \
                300.0 MiB, over payrun's limit of 256.0 MiB per part";
    assert_refused(&validate(&dir, &sheet, Some(MEMORY_LIMIT_KIB), &[]), want);
    assert_refused(&run_sandbox(&dir, &sheet, Some(MEMORY_LIMIT_KIB)), want);
    assert_eq!(batches(&dir), 0);

    // Under the size limits, a part that packs far better than spreadsheet XML does.
    patch_sheet(&base_workbook(), &sheet, |xml, out| {
        let (head, tail) = xml.split_at(xml.find("</sheetData>").unwrap());
        out.write_all(head.as_bytes()).unwrap();
        out.write_all(&vec![b' '; 8 * 1024 * 1024]).unwrap();
        out.write_all(tail.as_bytes()).unwrap();
    });
    assert_refused(
        &validate(&dir, &sheet, None, &[]),
        "over 250 times its packed size",
    );
}

// ---- 9: control characters ------------------------------------------------------------------

#[test]
fn p09_control_characters_are_issues_and_escaped_on_the_terminal() {
    let dir = tempdir();
    let sheet = path(&dir, "pay.csv");
    std::fs::write(
        &sheet,
        "Name,Phone,Amount,Comments,Order ID\n\
         As\u{1b}[2Jha,9876543210,100,ok,A1\n\
         Ravi,98765\t43211,100,ok\u{7},A2\n\
         Meena,9876543212,100,ok,A\u{7f}3\n\
         Kiran,9876543213,100,\"two\nlines\",A4\n\
         Ok,9876543214,100,fine \u{202e}txt,A5\n",
    )
    .unwrap();
    let out = validate(&dir, &sheet, None, &[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let printed = stdout(&out);
    for want in [
        "row 2, column Name: name 'As\\u{1b}[2Jha' holds a control character (\\u{1b}) at character 3",
        "row 3, column Phone: phone '98765\\u{9}43211' holds a tab (\\u{9}) at character 6",
        "row 3, column Comments: comments 'ok\\u{7}' holds a control character (\\u{7})",
        "row 4, column Order ID: order id 'A\\u{7f}3' holds a control character (\\u{7f})",
        "row 5, column Comments: comments 'two\\u{a}lines' holds a line break (\\u{a})",
        "valid: 1  invalid: 4",
    ] {
        assert!(printed.contains(want), "wanted {want:?}\n{}", text(&out));
    }
    let raw_controls = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        text.chars()
            .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
            .count()
    };
    assert_eq!(raw_controls(&out.stdout), 0, "{}", text(&out));

    // A run prints the same issues on stderr, escaped the same way, and sends nothing.
    let out = run_sandbox(&dir, &sheet, None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        stderr(&out).contains("name 'As\\u{1b}[2Jha'"),
        "{}",
        text(&out)
    );
    assert_eq!(raw_controls(&out.stderr), 0, "{}", text(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", text(&out));

    // Text outside the rows (a header) is escaped where it is printed too.
    std::fs::write(&sheet, "Na\u{1b}]0;owned\u{7}me,Amount\nAsha,100\n").unwrap();
    let out = validate(&dir, &sheet, None, &[]);
    assert_refused(&out, "'Na\\u{1b}]0;owned\\u{7}me'");
    assert_eq!(raw_controls(&out.stderr), 0, "{}", text(&out));
}

// ---- 10: only regular files, only exact paths -----------------------------------------------

#[test]
fn p10_a_named_pipe_is_refused_not_waited_on() {
    let dir = tempdir();
    let fifo = path(&dir, "pay.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Before: opened for hashing, waited for a writer forever.
    let want = "pay.csv: not a regular file (it is a named pipe); save the sheet as a file";
    assert_refused(&validate(&dir, &fifo, None, &[]), want);
    assert_refused(&run_sandbox(&dir, &fifo, None), want);
    assert_eq!(batches(&dir), 0);

    let folder = path(&dir, "folder.xlsx");
    std::fs::create_dir(&folder).unwrap();
    assert_refused(
        &validate(&dir, &folder, None, &[]),
        "folder.xlsx: not a regular file (it is a directory)",
    );
}

#[test]
fn p10_a_path_that_is_not_utf8_is_refused_never_stored_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let sheet: PathBuf = dir.path().join(std::ffi::OsStr::from_bytes(b"pay\xff.csv"));
    write_csv(&sheet, &rows(2));
    // Before: accepted, and the journal recorded the batch as `pay\u{fffd}.csv`.
    let want = "pay\\xff.csv: the file name is not valid UTF-8 or holds control characters";
    assert_refused(&validate(&dir, &sheet, None, &[]), want);
    assert_refused(&run_sandbox(&dir, &sheet, None), want);
    assert_eq!(batches(&dir), 0);
}

// ---- 11: the errors file round trip ---------------------------------------------------------

/// A sheet with a valid row and an invalid one (too many decimals), both with `+91`
/// phones, and a formula-like comment.
fn sheet_with_a_bad_row(dir: &tempfile::TempDir) -> PathBuf {
    let sheet = path(dir, "pay.csv");
    std::fs::write(
        &sheet,
        "Name,Phone,Amount,Comments\n\
         Asha,+919876543210,100,ok\n\
         Ravi,+919876543211,12.345,=bonus\n",
    )
    .unwrap();
    sheet
}

/// The cells of the first data row of `sheet`, as payrun reads them.
fn first_row(sheet: &Path) -> Vec<String> {
    let mut rows = payrun::sheet::open(sheet, None).unwrap().rows;
    let row = rows.next().unwrap().unwrap();
    row.cells.iter().map(|c| c.to_text()).collect()
}

#[test]
fn p11_a_fixed_errors_file_validates_with_its_values_exact() {
    let dir = tempdir();
    let sheet = sheet_with_a_bad_row(&dir);

    // CSV: the literal guard stays in the file, and is dropped again on reading.
    let errors = path(&dir, "errors.csv");
    let out = validate(&dir, &sheet, None, &["--errors", errors.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let written = std::fs::read_to_string(&errors).unwrap();
    assert!(
        written.contains("Ravi,'+919876543211,12.345,'=bonus,"),
        "{written}"
    );
    let mut reader = csv::Reader::from_path(&errors).unwrap();
    let headers = reader.headers().unwrap().clone();
    let mut record: Vec<String> = reader
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    record[2] = "12.35".into(); // the operator fixes the amount
    let fixed = path(&dir, "fixed.csv");
    let mut w = csv::Writer::from_path(&fixed).unwrap();
    w.write_record(&headers).unwrap();
    w.write_record(&record).unwrap();
    w.flush().unwrap();
    // Before: "row 2, column Phone: ''+919876543211' is not a phone number".
    let out = validate(&dir, &fixed, None, &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        stdout(&out).contains("valid: 1  invalid: 0"),
        "{}",
        text(&out)
    );
    assert_eq!(
        &first_row(&fixed)[..4],
        ["Ravi", "+919876543211", "12.35", "=bonus"]
    );

    // XLSX: the text is exact and the cell carries the quote-prefix format instead.
    let errors = path(&dir, "errors.xlsx");
    let out = validate(&dir, &sheet, None, &["--errors", errors.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    use calamine::Reader as _;
    let mut book = calamine::open_workbook_auto(&errors).unwrap();
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    let cells: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        &cells[1][..4],
        ["Ravi", "+919876543211", "12.345", "=bonus"]
    );
    let mut styles = String::new();
    zip::ZipArchive::new(std::fs::File::open(&errors).unwrap())
        .unwrap()
        .by_name("xl/styles.xml")
        .unwrap()
        .read_to_string(&mut styles)
        .unwrap();
    assert!(styles.contains("quotePrefix=\"1\""), "{styles}");

    // The operator fixes the amount and saves the workbook.
    let fixed = path(&dir, "fixed.xlsx");
    let mut out_book = rust_xlsxwriter::Workbook::new();
    let ws = out_book.add_worksheet();
    for (r, row) in cells.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let value = if (r, c) == (1, 2) { "12.35" } else { value };
            ws.write_string(r as u32, c as u16, value).unwrap();
        }
    }
    out_book.save(&fixed).unwrap();
    let out = validate(&dir, &fixed, None, &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        stdout(&out).contains("valid: 1  invalid: 0"),
        "{}",
        text(&out)
    );
    assert_eq!(
        &first_row(&fixed)[..4],
        ["Ravi", "+919876543211", "12.35", "=bonus"]
    );

    // And it pays: the fixed row goes through a sandbox run.
    let out = run_sandbox(&dir, &fixed, None);
    assert!(!stderr(&out).contains("panicked"), "{}", text(&out));
    assert_eq!(batches(&dir), 1, "{}", text(&out));
}
