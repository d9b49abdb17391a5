//! The PDF of an invoice or credit note (A4), drawn with the server's PDF
//! primitives (`crate::pdf`: krilla, DejaVu Sans embedded). French formats throughout (« 6 mars 2027 »,
//! « 24,20 € »). What it shows: the régie and its address, the family and its
//! number, the invoice's number, date and period, the lines grouped by child (day,
//! activity and option, kind, quantity, unit price, amount, the QF bracket used), the
//! totals, the due date and how to pay.

use famille_model::api::{InvoiceDetail, InvoiceLine, Regie};
use famille_model::billing::{InvoiceKind, LineKind};
use famille_model::fr;
use krilla::color::rgb;

use crate::pdf::{
    BOTTOM, HEIGHT, LINE, MARGIN, WIDTH, Writer, a4, document, footer, grey, wrap, wrap_in,
};

/// Everything the PDF shows, read beforehand.
pub struct InvoicePdf<'a> {
    pub regie: &'a Regie,
    pub detail: &'a InvoiceDetail,
    /// « TESTBO patricia et TESTBO patrice ».
    pub family: &'a str,
    /// The household's address lines.
    pub address: &'a [String],
    /// For a credit note: the number of the invoice it reduces, and why.
    pub credits_number: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// Columns of the table: left edges, and right edges of the figures.
const COL_DAY: f32 = MARGIN;
const COL_WHAT: f32 = MARGIN + 110.0;
const COL_BRACKET: f32 = MARGIN + 300.0;
const COL_QTY_RIGHT: f32 = MARGIN + 405.0;
const COL_UNIT_RIGHT: f32 = MARGIN + 458.0;
const COL_AMOUNT_RIGHT: f32 = WIDTH - MARGIN;

/// « Journée complète — repas » for a meal line.
fn what(line: &InvoiceLine) -> String {
    match line.kind {
        LineKind::Activity => line.option.clone(),
        LineKind::Meal => format!("{} — repas", line.option),
        LineKind::Surcharge => format!("{} — majoration", line.option),
    }
}

/// A row of the table, grouped by child.
enum Row<'a> {
    Child(&'a str, &'a str),
    Line(&'a InvoiceLine),
    Subtotal(i64),
}

impl Row<'_> {
    fn height(&self) -> f32 {
        match self {
            Row::Child(..) => LINE + 3.0,
            Row::Line(_) => LINE,
            Row::Subtotal(_) => LINE + 4.0,
        }
    }
}

/// Where the first page's table starts: under the régie, the document's number and
/// the family (and, for a credit note, what it credits and why).
fn first_table_y(input: &InvoicePdf<'_>) -> f32 {
    let top = MARGIN + 14.0;
    let regie_bottom = top + LINE + 2.0 + (LINE - 1.0) * input.regie.address.lines().count() as f32;
    let family_top = regie_bottom.max(top + 18.0 + 3.0 * LINE) + 18.0;
    let names = family_lines(input).len() as f32;
    let mut y = family_top + LINE * names + (LINE - 1.0) * input.address.len() as f32 + 2.0 * LINE;
    if input.detail.invoice.kind == InvoiceKind::CreditNote && input.credits_number.is_some() {
        y += LINE;
        if let Some(reason) = input.reason {
            y += LINE * wrap(&format!("Motif : {reason}"), 9.5, WIDTH - 2.0 * MARGIN).len() as f32;
        }
        y += LINE / 2.0;
    }
    y
}

/// « Famille … », on as many lines as the right column needs.
fn family_lines(input: &InvoicePdf<'_>) -> Vec<String> {
    wrap_in(
        &format!("Famille {}", input.family),
        10.5,
        WIDTH - MARGIN - COL_BRACKET,
        true,
    )
}

/// Height of the totals and the payment notice.
fn totals_height(input: &InvoicePdf<'_>) -> f32 {
    let note = wrap(&input.regie.payment_note, 9.0, WIDTH - 2.0 * MARGIN).len() as f32;
    6.0 * LINE + 8.0 + note * (LINE - 1.0)
}

/// Renders the invoice. Errors only if the PDF writer refuses (a bug).
pub fn render(input: &InvoicePdf<'_>) -> Result<Vec<u8>, String> {
    let invoice = &input.detail.invoice;
    let credit = invoice.kind == InvoiceKind::CreditNote;
    let title = if credit { "AVOIR" } else { "FACTURE" };

    let mut rows = Vec::new();
    let mut current: Option<uuid::Uuid> = None;
    let mut subtotal = 0;
    for line in &input.detail.lines {
        if current != Some(line.child_id) {
            if current.is_some() {
                rows.push(Row::Subtotal(subtotal));
            }
            rows.push(Row::Child(&line.child, &line.activity));
            current = Some(line.child_id);
            subtotal = 0;
        }
        subtotal += line.amount_cents;
        rows.push(Row::Line(line));
    }
    if current.is_some() {
        rows.push(Row::Subtotal(subtotal));
    }

    // Pages laid out first, so that each says « Page n/N ».
    let header = LINE + 3.0;
    let mut pages: Vec<Vec<&Row>> = vec![Vec::new()];
    let mut y = first_table_y(input) + header;
    for row in &rows {
        if y > BOTTOM {
            pages.push(Vec::new());
            y = MARGIN + 14.0 + header;
        }
        y += row.height();
        pages.last_mut().expect("a page").push(row);
    }
    let totals_alone = y + totals_height(input) > HEIGHT - 50.0;
    let count = pages.len() + usize::from(totals_alone);

    let mut document = document(format!(
        "{} {}",
        if credit { "Avoir" } else { "Facture" },
        invoice.number
    ));
    let settings = a4;
    for (index, rows) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings());
        let mut w = Writer::new(page.surface(), MARGIN + 14.0);
        if index == 0 {
            head(&mut w, input, title);
            w.y = first_table_y(input);
        }
        // The table's header, on every page.
        w.text(COL_DAY, w.y, "Jour", 8.5, true, grey());
        w.text(COL_WHAT, w.y, "Prestation", 8.5, true, grey());
        w.text(COL_BRACKET, w.y, "Tarif appliqué", 8.5, true, grey());
        w.right(COL_QTY_RIGHT, w.y, "Qté", 8.5, true);
        w.right(COL_UNIT_RIGHT, w.y, "Prix unit.", 8.5, true);
        w.right(COL_AMOUNT_RIGHT, w.y, "Montant", 8.5, true);
        w.rule(w.y + 4.0);
        w.y += header;
        for row in rows {
            match row {
                Row::Child(child, activity) => {
                    w.y += 3.0;
                    w.text(
                        MARGIN,
                        w.y,
                        &format!("{child} — {activity}"),
                        10.0,
                        true,
                        rgb::Color::black(),
                    );
                    w.y += LINE;
                }
                Row::Line(l) => {
                    w.text(
                        COL_DAY,
                        w.y,
                        &fr::day(l.date),
                        8.5,
                        false,
                        rgb::Color::black(),
                    );
                    w.text(COL_WHAT, w.y, &what(l), 8.5, false, rgb::Color::black());
                    if let Some(b) = l.bracket {
                        w.text(
                            COL_BRACKET,
                            w.y,
                            &fr::bracket(b.qf_min, b.qf_max),
                            8.0,
                            false,
                            grey(),
                        );
                    }
                    w.right(COL_QTY_RIGHT, w.y, &l.quantity.to_string(), 8.5, false);
                    w.right(COL_UNIT_RIGHT, w.y, &fr::euros(l.unit_cents), 8.5, false);
                    w.right(
                        COL_AMOUNT_RIGHT,
                        w.y,
                        &fr::euros(l.amount_cents),
                        8.5,
                        false,
                    );
                    w.y += LINE;
                }
                Row::Subtotal(cents) => {
                    w.right(COL_UNIT_RIGHT, w.y, "Sous-total", 8.5, true);
                    w.right(COL_AMOUNT_RIGHT, w.y, &fr::euros(*cents), 8.5, true);
                    w.y += LINE + 4.0;
                }
            }
        }
        let last = index + 1 == pages.len();
        if last && !totals_alone {
            totals(&mut w, input);
        }
        footer(&mut w, index + 1, count);
        // Dropping the surface finishes it.
        drop(w);
        page.finish();
    }
    if totals_alone {
        let mut page = document.start_page_with(settings());
        let mut w = Writer::new(page.surface(), MARGIN + 14.0 + LINE);
        totals(&mut w, input);
        footer(&mut w, count, count);
        // Dropping the surface finishes it.
        drop(w);
        page.finish();
    }
    document.finish().map_err(|e| format!("{e:?}"))
}

/// The régie, top left; the document, top right; the family under it.
fn head(w: &mut Writer<'_>, input: &InvoicePdf<'_>, title: &str) {
    let invoice = &input.detail.invoice;
    let top = w.y;
    w.text(
        MARGIN,
        top,
        &input.regie.name,
        14.0,
        true,
        rgb::Color::black(),
    );
    let mut y = top + LINE + 2.0;
    for l in input.regie.address.lines() {
        w.text(MARGIN, y, l, 9.5, false, grey());
        y += LINE - 1.0;
    }
    w.right(COL_AMOUNT_RIGHT, top, title, 18.0, true);
    w.right(
        COL_AMOUNT_RIGHT,
        top + 18.0,
        &format!("N° {}", invoice.number),
        10.0,
        true,
    );
    w.right(
        COL_AMOUNT_RIGHT,
        top + 18.0 + LINE,
        &format!("Émise le {}", fr::date(invoice.issued_on)),
        9.5,
        false,
    );
    let period = famille_model::validate::billing::month("period", &invoice.period)
        .map(|m| format!("Période : {} {}", fr::month(m), m.format("%Y")))
        .unwrap_or_default();
    w.right(
        COL_AMOUNT_RIGHT,
        top + 18.0 + 2.0 * LINE,
        &period,
        9.5,
        false,
    );
    let mut fy = y.max(top + 18.0 + 3.0 * LINE) + 18.0;
    for l in family_lines(input) {
        w.text(COL_BRACKET, fy, &l, 10.5, true, rgb::Color::black());
        fy += LINE;
    }
    w.text(
        COL_BRACKET,
        fy,
        &format!("Dossier n° {}", input.detail.family_number),
        9.5,
        false,
        grey(),
    );
    for l in input.address {
        fy += LINE - 1.0;
        w.text(COL_BRACKET, fy, l, 9.5, false, rgb::Color::black());
    }
    w.y = fy + 2.0 * LINE;
    if let (InvoiceKind::CreditNote, Some(of)) = (invoice.kind, input.credits_number) {
        w.text(
            MARGIN,
            w.y,
            &format!("Avoir sur la facture N° {of}"),
            10.0,
            true,
            rgb::Color::black(),
        );
        w.y += LINE;
        if let Some(reason) = input.reason {
            for l in wrap(&format!("Motif : {reason}"), 9.5, WIDTH - 2.0 * MARGIN) {
                w.text(MARGIN, w.y, &l, 9.5, false, rgb::Color::black());
                w.y += LINE;
            }
        }
    }
}

fn totals(w: &mut Writer<'_>, input: &InvoicePdf<'_>) {
    let invoice = &input.detail.invoice;
    w.rule(w.y - 6.0);
    w.y += 4.0;
    let label = if invoice.kind == InvoiceKind::CreditNote {
        "Total de l'avoir"
    } else {
        "Total"
    };
    w.right(COL_UNIT_RIGHT, w.y, label, 11.0, true);
    w.right(
        COL_AMOUNT_RIGHT,
        w.y,
        &fr::euros(invoice.total_cents),
        11.0,
        true,
    );
    if invoice.kind == InvoiceKind::Invoice {
        if invoice.credited_cents != 0 {
            w.y += LINE;
            w.right(COL_UNIT_RIGHT, w.y, "Avoirs", 9.0, false);
            w.right(
                COL_AMOUNT_RIGHT,
                w.y,
                &fr::euros(-invoice.credited_cents),
                9.0,
                false,
            );
        }
        w.y += LINE;
        w.right(COL_UNIT_RIGHT, w.y, "Déjà réglé", 9.0, false);
        w.right(
            COL_AMOUNT_RIGHT,
            w.y,
            &fr::euros(invoice.paid_cents),
            9.0,
            false,
        );
        w.y += LINE + 2.0;
        let left = (invoice.total_cents - invoice.credited_cents - invoice.paid_cents).max(0);
        w.right(COL_UNIT_RIGHT, w.y, "Reste à payer", 11.0, true);
        w.right(COL_AMOUNT_RIGHT, w.y, &fr::euros(left), 11.0, true);
        w.y += 2.0 * LINE;
        w.text(
            MARGIN,
            w.y,
            &format!(
                "À régler avant le {}, en indiquant le n° {}.",
                fr::date(invoice.due_on),
                invoice.number
            ),
            10.0,
            true,
            rgb::Color::black(),
        );
        w.y += LINE + 2.0;
        for l in wrap(&input.regie.payment_note, 9.0, WIDTH - 2.0 * MARGIN) {
            w.text(MARGIN, w.y, &l, 9.0, false, rgb::Color::black());
            w.y += LINE - 1.0;
        }
    } else {
        w.y += 2.0 * LINE;
        w.text(
            MARGIN,
            w.y,
            "Ce montant vient en déduction de vos factures ou vous est remboursé par la régie.",
            9.0,
            false,
            rgb::Color::black(),
        );
    }
}
