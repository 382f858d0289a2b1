//! Reports: one line per sheet row in sheet order (the original cells, then what happened),
//! as CSV or XLSX by extension, plus the per-state summary. Always regenerated from the
//! journal and written to a temporary file that is renamed into place, so a crash never
//! leaves half a report.
//!
//! Formula-like text (`=`, `+`, `-`, `@`, tab, CR first) is neutralised so a spreadsheet
//! never runs it: in XLSX with the cell's quote-prefix format, which keeps the text exact;
//! in CSV, which has no formats, with a leading `'` that `sheet` drops again on reading,
//! so a fixed errors file reads back as the original values.

use crate::ist;
use crate::journal::{ReportRow, Summary};
use crate::money::Amount;
use rust_xlsxwriter::{Chart, ChartType, ExcelDateTime, Format, Workbook, XlsxError};
use std::path::{Path, PathBuf};

pub const EXTRA_COLUMNS: [&str; 9] = [
    "order_id",
    "amount",
    "state",
    "link_url",
    "link_id",
    "provider_code",
    "provider_message",
    "attempts",
    "updated_at",
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the report {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the report {path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("cannot write the report {path}: {source}")]
    Xlsx { path: PathBuf, source: XlsxError },
    #[error("report {path}: unsupported extension; use .csv or .xlsx")]
    Extension { path: PathBuf },
}

/// Writes the report for `rows` to `path` (`.csv` or `.xlsx`).
pub fn write(
    path: &Path,
    headers: &[String],
    rows: &[ReportRow],
    summary: &Summary,
) -> Result<(), ReportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => {
            let bytes = csv_bytes(headers, rows).map_err(|source| ReportError::Csv {
                path: path.into(),
                source,
            })?;
            write_private(path, &bytes)?;
            let summary_bytes = summary_csv(summary).map_err(|source| ReportError::Csv {
                path: path.into(),
                source,
            })?;
            write_private(&summary_path(path), &summary_bytes)
        }
        Some("xlsx") => {
            let bytes = xlsx_bytes(headers, rows, summary).map_err(|source| ReportError::Xlsx {
                path: path.into(),
                source,
            })?;
            write_private(path, &bytes)
        }
        _ => Err(ReportError::Extension { path: path.into() }),
    }
}

/// Writes a plain table (`.csv` or `.xlsx` by extension), every cell as neutralised text:
/// `validate --errors`.
pub fn write_table(
    path: &Path,
    headers: &[String],
    rows: &[Vec<String>],
) -> Result<(), ReportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("csv") => {
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new());
            let csv_err = |source| ReportError::Csv {
                path: path.into(),
                source,
            };
            for line in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
                w.write_record(line.iter().map(|c| neutralise(c).into_owned()))
                    .map_err(csv_err)?;
            }
            w.into_inner()
                .map_err(|e| csv_err(csv::Error::from(e.into_error())))?
        }
        Some("xlsx") => {
            let xlsx = |source| ReportError::Xlsx {
                path: path.into(),
                source,
            };
            let mut book = Workbook::new();
            let bold = Format::new().set_bold();
            let sheet = book.add_worksheet();
            for (c, h) in headers.iter().enumerate() {
                write_text(sheet, 0, c as u16, h, &bold).map_err(xlsx)?;
            }
            let plain = Format::new();
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    write_text(sheet, (r + 1) as u32, c as u16, cell, &plain).map_err(xlsx)?;
                }
            }
            sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
            book.save_to_buffer().map_err(xlsx)?
        }
        _ => return Err(ReportError::Extension { path: path.into() }),
    };
    write_private(path, &bytes)
}

/// Where a CSV report's summary goes: `payouts.report.csv` -> `payouts.report.summary.csv`.
pub fn summary_path(report: &Path) -> PathBuf {
    report.with_extension("summary.csv")
}

/// Whether a spreadsheet would run `cell` as a formula if it were typed in.
fn formula_like(cell: &str) -> bool {
    cell.starts_with(crate::sheet::FORMULA_START)
}

/// Makes a CSV cell safe to open in a spreadsheet: text that a spreadsheet would run as a
/// formula gets a leading apostrophe (which `sheet` drops when the file is read back).
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if formula_like(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Writes `text` exactly as a string cell in `format`; formula-like text also gets the
/// quote prefix, so Excel keeps it as text even when the cell is edited.
fn write_text(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    text: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    if formula_like(text) {
        sheet.write_string_with_format(row, col, text, &format.clone().set_quote_prefix())?;
    } else {
        sheet.write_string_with_format(row, col, text, format)?;
    }
    Ok(())
}

fn line(row: &ReportRow) -> Vec<String> {
    let mut out: Vec<String> = row.cells.clone();
    out.extend([
        row.order_id.clone().unwrap_or_default(),
        row.amount_paise
            .map(|p| Amount::from_paise(p).to_string())
            .unwrap_or_default(),
        row.state.to_string(),
        row.link_url.clone().unwrap_or_default(),
        row.link_id.clone().unwrap_or_default(),
        row.provider_code.clone().unwrap_or_default(),
        row.provider_message.clone().unwrap_or_default(),
        row.attempts.to_string(),
        row.updated_at.clone().unwrap_or_default(),
    ]);
    out
}

fn all_headers(headers: &[String]) -> Vec<String> {
    headers
        .iter()
        .cloned()
        .chain(EXTRA_COLUMNS.iter().map(|s| s.to_string()))
        .collect()
}

fn csv_bytes(headers: &[String], rows: &[ReportRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record(
        all_headers(headers)
            .iter()
            .map(|h| neutralise(h).into_owned()),
    )?;
    for row in rows {
        w.write_record(line(row).iter().map(|c| neutralise(c).into_owned()))?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

fn summary_csv(summary: &Summary) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["state", "rows", "amount"])?;
    for s in &summary.states {
        w.write_record([
            s.state.to_string(),
            s.rows.to_string(),
            Amount::from_paise(s.paise).to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

fn xlsx_bytes(
    headers: &[String],
    rows: &[ReportRow],
    summary: &Summary,
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format(INDIAN_MONEY);
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let sheet = book.add_worksheet().set_name("Report")?;
    let mut titles = all_headers(headers);
    let updated_col = titles.len() - 1;
    titles[updated_col] = format!("updated_at ({})", zone_name(ist::OFFSET));
    let mut widths = Widths::default();
    for (c, h) in titles.iter().enumerate() {
        write_text(sheet, 0, c as u16, h, &bold)?;
        widths.saw(c, h);
    }
    let plain = Format::new();
    let amount_col = headers.len() + 1;
    for (r, row) in rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, cell) in line(row).iter().enumerate() {
            match (c, row.amount_paise) {
                (c, Some(paise)) if c == amount_col => {
                    widths.saw(c, &Amount::from_paise(paise).to_indian())
                }
                _ => widths.saw(c, cell),
            }
            match (c, row.amount_paise) {
                // Display only: the exact amount is the journal's integer paise.
                (c, Some(paise)) if c == amount_col => {
                    sheet.write_number_with_format(r, c as u16, paise as f64 / 100.0, &money)?;
                }
                (c, _) if c == updated_col => match excel_time(cell, ist::OFFSET) {
                    Some(at) => {
                        sheet.write_datetime_with_format(r, c as u16, &at, &when)?;
                    }
                    None => write_text(sheet, r, c as u16, cell, &plain)?,
                },
                // Every other cell as text: identifiers and phones must not become numbers.
                _ => write_text(sheet, r, c as u16, cell, &plain)?,
            }
        }
    }
    widths.saw(updated_col, "2026-03-20 18:30:00");
    widths.apply(sheet)?;
    sheet.set_freeze_panes(1, 0)?;
    sheet.set_landscape().set_print_fit_to_pages(1, 0);
    sheet.autofilter(0, 0, rows.len() as u32, (titles.len() - 1) as u16)?;

    let s = book.add_worksheet().set_name("Summary")?;
    let mut widths = Widths::default();
    for (c, h) in ["state", "rows", "amount"].iter().enumerate() {
        s.write_string_with_format(0, c as u16, *h, &bold)?;
        widths.saw(c, h);
    }
    for (r, t) in summary.states.iter().enumerate() {
        let r = (r + 1) as u32;
        s.write_string(r, 0, t.state.as_str())?;
        s.write_number(r, 1, t.rows as f64)?;
        // Display only: the exact amount stays in the journal as integer paise.
        s.write_number_with_format(r, 2, t.paise as f64 / 100.0, &money)?;
        widths.saw(0, t.state.as_str());
        widths.saw(2, &Amount::from_paise(t.paise).to_indian());
    }
    let total_row = summary.states.len() as u32 + 1;
    s.write_string_with_format(total_row, 0, "total", &bold)?;
    s.write_number_with_format(total_row, 1, summary.total_rows() as f64, &bold)?;
    let total: i64 = summary.states.iter().map(|t| t.paise).sum();
    s.write_number_with_format(
        total_row,
        2,
        total as f64 / 100.0,
        &money.clone().set_bold(),
    )?;
    widths.saw(2, &Amount::from_paise(total).to_indian());
    widths.apply(s)?;
    s.set_landscape().set_print_fit_to_pages(1, 0);
    if !summary.states.is_empty() {
        s.insert_chart(1, 4, &amount_by_state(summary.states.len() as u32))?;
    }
    book.save_to_buffer()
}

/// Two decimals with lakh and crore grouping (`4,78,516.19`), as an Indian finance team reads
/// amounts; the cell keeps the plain number.
const INDIAN_MONEY: &str = r"[>=10000000]##\,##\,##\,##0.00;[>=100000]##\,##\,##0.00;##,##0.00";

/// A bar chart of the Summary sheet's amounts by state (rows 2 to `states + 1`).
fn amount_by_state(states: u32) -> Chart {
    let mut chart = Chart::new(ChartType::Bar);
    chart
        .add_series()
        .set_name("amount (₹)")
        .set_categories(("Summary", 1, 0, states, 0))
        .set_values(("Summary", 1, 2, states, 2));
    chart.title().set_name("Amount by state (₹)");
    chart.legend().set_hidden();
    chart
        .x_axis()
        .set_num_format(r"[>=10000000]##\,##\,##\,##0;[>=100000]##\,##\,##0;##,##0");
    chart
}

/// Column widths sized to the longest text seen in each column (in characters, capped so
/// one long message does not push the rest off the screen).
#[derive(Default)]
struct Widths(Vec<usize>);

impl Widths {
    const MAX: usize = 60;

    fn saw(&mut self, col: usize, text: &str) {
        if self.0.len() <= col {
            self.0.resize(col + 1, 0);
        }
        self.0[col] = self.0[col].max(text.chars().count().min(Self::MAX));
    }

    fn apply(&self, sheet: &mut rust_xlsxwriter::Worksheet) -> Result<(), XlsxError> {
        for (col, chars) in self.0.iter().enumerate() {
            sheet.set_column_width(col as u16, (*chars).max(6) as f64 + 2.0)?;
        }
        Ok(())
    }
}

/// An RFC 3339 time as the date and time a person reads in `offset`'s zone.
fn excel_time(rfc3339: &str, offset: time::UtcOffset) -> Option<ExcelDateTime> {
    let at = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?
        .to_offset(offset);
    ExcelDateTime::from_ymd(at.year().try_into().ok()?, at.month().into(), at.day())
        .ok()?
        .and_hms(at.hour().into(), at.minute(), at.second())
        .ok()
}

/// `IST` for India's offset, `UTC+hh:mm` otherwise.
fn zone_name(offset: time::UtcOffset) -> String {
    if offset == ist::OFFSET {
        return "IST".into();
    }
    let (h, m, _) = offset.as_hms();
    let sign = if h < 0 || m < 0 { '-' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// Writes `bytes` to `path` as a report is written: to a new owner-only (0600) file beside
/// it, synced, then renamed over `path` (a symlink at `path` is replaced, never followed).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.into(),
        source,
    };
    let tmp = crate::staged::staged(path, bytes).map_err(io)?;
    crate::crashpoint::hit(crate::crashpoint::WRITING_REPORT);
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// The summary as printed at the end of a run.
pub fn summary_text(summary: &Summary) -> String {
    let mut out = String::from("state        rows            amount\n");
    for s in &summary.states {
        out.push_str(&format!(
            "{:<10} {:>6} {:>17}\n",
            s.state.as_str(),
            s.rows,
            Amount::from_paise(s.paise).to_indian()
        ));
    }
    let rows: u64 = summary.states.iter().map(|s| s.rows).sum();
    let paise: i64 = summary.states.iter().map(|s| s.paise).sum();
    out.push_str(&format!(
        "{:<10} {:>6} {:>17}\n",
        "total",
        rows,
        Amount::from_paise(paise).to_indian()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::journal::{RowState, StateTotal};
    use calamine::Reader;
    use std::io::Read;

    fn report_row(row_no: u64, state: RowState, paise: i64) -> ReportRow {
        ReportRow {
            row_no,
            cells: vec![format!("Asha {row_no}"), "9876543210".into()],
            order_id: Some(format!("INV{row_no}")),
            state,
            link_url: Some("https://paytm.me/x".into()),
            link_id: Some("L1".into()),
            provider_code: None,
            provider_message: Some("a rather long provider message about the link".into()),
            attempts: 1,
            updated_at: Some("2026-03-20T18:30:05Z".into()),
            amount_paise: Some(paise),
        }
    }

    fn part(xlsx: &[u8], name: &str) -> Option<String> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
        let mut text = String::new();
        zip.by_name(name).ok()?.read_to_string(&mut text).unwrap();
        Some(text)
    }

    #[test]
    fn the_xlsx_report_has_a_chart_a_filter_sized_columns_and_india_times() {
        let rows = [
            report_row(2, RowState::Paid, 150_050),
            report_row(3, RowState::Failed, 99_900),
        ];
        let summary = Summary {
            states: vec![
                StateTotal {
                    state: RowState::Paid,
                    rows: 1,
                    paise: 150_050,
                },
                StateTotal {
                    state: RowState::Failed,
                    rows: 1,
                    paise: 99_900,
                },
            ],
        };
        let headers = ["Name".to_string(), "Mobile".to_string()];
        let bytes = xlsx_bytes(&headers, &rows, &summary).unwrap();
        // The Summary sheet draws amount by state from its own cells.
        let chart = part(&bytes, "xl/charts/chart1.xml").expect("a chart part");
        assert!(chart.contains("<c:barChart>"), "{chart}");
        assert!(chart.contains("Summary!$C$2:$C$3"), "{chart}");
        assert!(chart.contains("Summary!$A$2:$A$3"), "{chart}");
        // The row sheet filters over every column and row, and its columns are sized.
        let report = part(&bytes, "xl/worksheets/sheet1.xml").unwrap();
        assert!(report.contains(r#"<autoFilter ref="A1:K3"/>"#), "{report}");
        assert!(report.contains("<cols>"), "{report}");
        // Amounts are numbers shown with lakh and crore grouping.
        let styles = part(&bytes, "xl/styles.xml").unwrap();
        assert!(styles.contains(r"[&gt;=100000]##\,##\,##0.00"), "{styles}");
        // updated_at is a date-time cell in India's time (18:30:05 UTC is 00:00:05 IST).
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("Report").unwrap();
        assert_eq!(sheet.get((0, 10)).unwrap().to_string(), "updated_at (IST)");
        let cell = sheet.get((1, 10)).unwrap();
        let calamine::Data::DateTime(at) = cell else {
            panic!("updated_at is not a date-time: {cell:?}");
        };
        // Excel's serial for 2026-03-21 00:00:05: days since 1899-12-30, and 5 s of a day.
        assert!(
            (at.as_f64() - (46_102.0 + 5.0 / 86_400.0)).abs() < 1e-9,
            "{}",
            at.as_f64()
        );
        let summary = book.worksheet_range("Summary").unwrap();
        assert_eq!(summary.get((3, 0)).unwrap().to_string(), "total");
        assert_eq!(summary.get((3, 2)), Some(&calamine::Data::Float(2499.5)));
    }

    #[test]
    fn zones_are_named_for_people() {
        assert_eq!(zone_name(ist::OFFSET), "IST");
        assert_eq!(zone_name(time::UtcOffset::UTC), "UTC+00:00");
        let minus = time::UtcOffset::from_hms(-3, -30, 0).unwrap();
        assert_eq!(zone_name(minus), "UTC-03:30");
    }

    #[test]
    fn formula_like_cells_are_neutralised() {
        for bad in ["=1+1", "+91", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("Asha"), "Asha");
        assert_eq!(neutralise(""), "");
    }
}
