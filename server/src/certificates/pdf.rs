//! The PDF of a certificate (A4, one page for a family's year; more if it has many
//! rows), drawn with the invoices' primitives (`crate::pdf`): who issues it (the
//! organisation and its régies), the family, the year, what was paid per child
//! (and per activity on the payment certificate), the total, and on the tax
//! certificate what the tax return needs to know (CGI art. 200 quater B).

use chrono::Datelike;
use famille_model::api::{Certificate, Regie};
use famille_model::certificates::{CertificateKind, tax_ceiling_cents};
use famille_model::fr;
use krilla::color::rgb;

use crate::pdf::{BOTTOM, LINE, MARGIN, WIDTH, Writer, a4, document, footer, grey, wrap, wrap_in};

/// Everything the PDF shows, read beforehand.
pub struct CertificatePdf<'a> {
    pub certificate: &'a Certificate,
    /// The organisation that provides the childcare (`organisation_name`).
    pub organisation: &'a str,
    pub regies: &'a [Regie],
    /// « TESTBO patricia et TESTBO patrice ».
    pub family: &'a str,
    pub address: &'a [String],
    pub family_number: i64,
}

const COL_AMOUNT_RIGHT: f32 = WIDTH - MARGIN;
/// The letterhead's width, left of the title.
const LEFT_WIDTH: f32 = WIDTH / 2.0 - MARGIN;

/// Renders the certificate. Errors only if the PDF writer refuses (a bug).
pub fn render(input: &CertificatePdf<'_>) -> Result<Vec<u8>, String> {
    let c = input.certificate;
    let tax = c.kind == CertificateKind::Tax;
    let title = if tax {
        "ATTESTATION FISCALE"
    } else {
        "ATTESTATION DE PAIEMENT"
    };
    let mut doc = document(format!("{} {}", c.kind.label_fr(), c.number));
    // Rows per page: the head takes the first page's top.
    let first_rows = ((BOTTOM - 330.0) / LINE).max(1.0) as usize;
    let other_rows = ((BOTTOM - MARGIN - 40.0) / LINE).max(1.0) as usize;
    let mut chunks: Vec<&[famille_model::certificates::CertificateRow]> = Vec::new();
    let (head_rows, mut rest) = c.rows.split_at(first_rows.min(c.rows.len()));
    chunks.push(head_rows);
    while !rest.is_empty() {
        let (page, more) = rest.split_at(other_rows.min(rest.len()));
        chunks.push(page);
        rest = more;
    }
    let pages = chunks.len();
    for (index, rows) in chunks.iter().enumerate() {
        let mut page = doc.start_page_with(a4());
        let mut w = Writer::new(page.surface(), MARGIN + 14.0);
        if index == 0 {
            head(&mut w, input, title);
        }
        w.text(MARGIN, w.y, "Enfant", 8.5, true, grey());
        if !tax {
            w.text(MARGIN + 170.0, w.y, "Activité", 8.5, true, grey());
        } else {
            w.text(MARGIN + 170.0, w.y, "Né(e) le", 8.5, true, grey());
        }
        w.right(COL_AMOUNT_RIGHT, w.y, "Montant payé", 8.5, true);
        w.rule(w.y + 4.0);
        w.y += LINE + 3.0;
        for r in *rows {
            w.text(MARGIN, w.y, &r.child, 9.0, false, rgb::Color::black());
            let second = if tax {
                fr::date(r.birth_date)
            } else {
                r.activity.clone()
            };
            w.text(
                MARGIN + 170.0,
                w.y,
                &second,
                9.0,
                false,
                rgb::Color::black(),
            );
            w.right(COL_AMOUNT_RIGHT, w.y, &fr::euros(r.cents), 9.0, false);
            w.y += LINE;
        }
        if index + 1 == pages {
            w.rule(w.y - 6.0);
            w.y += 4.0;
            w.right(COL_AMOUNT_RIGHT - 90.0, w.y, "Total payé", 10.0, true);
            w.right(COL_AMOUNT_RIGHT, w.y, &fr::euros(c.total_cents), 10.0, true);
            w.y += 2.0 * LINE;
            closing(&mut w, input);
        }
        footer(&mut w, index + 1, pages);
        drop(w);
        page.finish();
    }
    doc.finish().map_err(|e| format!("{e:?}"))
}

fn head(w: &mut Writer<'_>, input: &CertificatePdf<'_>, title: &str) {
    let c = input.certificate;
    let top = w.y;
    // The organisation's name, wrapped in the left half: a communauté de
    // communes' name is long, and the title holds the right.
    let mut y = top;
    for l in wrap_in(input.organisation, 12.0, LEFT_WIDTH, true) {
        w.text(MARGIN, y, &l, 12.0, true, rgb::Color::black());
        y += LINE + 2.0;
    }
    for regie in input.regies {
        w.text(MARGIN, y, &regie.name, 9.0, true, grey());
        y += LINE - 1.0;
        for l in regie.address.lines() {
            w.text(MARGIN, y, l, 9.0, false, grey());
            y += LINE - 1.0;
        }
    }
    w.right(COL_AMOUNT_RIGHT, top, title, 15.0, true);
    w.right(
        COL_AMOUNT_RIGHT,
        top + 18.0,
        &format!("N° {}", c.number),
        10.0,
        true,
    );
    w.right(
        COL_AMOUNT_RIGHT,
        top + 18.0 + LINE,
        &format!("Émise le {}", fr::date(c.issued_on)),
        9.0,
        false,
    );
    let mut fy = (top + 3.0 * LINE + 18.0).max(y + LINE);
    let x = WIDTH / 2.0 + 20.0;
    w.text(x, fy, input.family, 10.0, true, rgb::Color::black());
    fy += LINE;
    for l in input.address {
        w.text(x, fy, l, 9.5, false, rgb::Color::black());
        fy += LINE;
    }
    w.text(
        x,
        fy,
        &format!("Famille n° {}", input.family_number),
        8.5,
        false,
        grey(),
    );
    w.y = fy + 2.0 * LINE;
    // The year still running: up to the day the certificate was drawn.
    let when = if c.issued_on.year() == c.year {
        format!("du 1er janvier au {}", fr::date(c.issued_on))
    } else {
        format!("en {}", c.year)
    };
    let sentence = match c.kind {
        CertificateKind::Payment => format!(
            "Nous attestons que la famille ci-dessus a payé {when} les sommes suivantes pour les activités de ses enfants :"
        ),
        CertificateKind::Tax => format!(
            "Nous attestons que la famille ci-dessus a payé en {} les frais de garde suivants, hors repas et majorations, pour ses enfants âgés de moins de 6 ans au 1er janvier {} :",
            c.year, c.year
        ),
    };
    for l in wrap(&sentence, 9.5, WIDTH - 2.0 * MARGIN) {
        w.text(MARGIN, w.y, &l, 9.5, false, rgb::Color::black());
        w.y += LINE;
    }
    w.y += LINE;
}

fn closing(w: &mut Writer<'_>, input: &CertificatePdf<'_>) {
    let c = input.certificate;
    let text = match c.kind {
        CertificateKind::Payment => vec![
            "Montants encaissés par les régies ci-dessus au cours de l'année, repas et majorations compris.".to_owned(),
        ],
        CertificateKind::Tax => vec![
            format!(
                "Frais de garde des enfants de moins de 6 ans (article 200 quater B du code général des impôts), à déclarer avec les revenus {} : cases 7GA à 7GC, ou 7GE à 7GG pour un enfant en résidence alternée.",
                c.year
            ),
            format!(
                "Les frais sont retenus dans la limite de {} par enfant ; ce plafond est divisé par deux pour chaque parent lorsque l'enfant est en résidence alternée. Les aides reçues pour cette garde sont à déduire.",
                fr::euros(tax_ceiling_cents(c.year))
            ),
        ],
    };
    for paragraph in text {
        for l in wrap(&paragraph, 8.5, WIDTH - 2.0 * MARGIN) {
            w.text(MARGIN, w.y, &l, 8.5, false, grey());
            w.y += LINE - 1.0;
        }
        w.y += 4.0;
    }
}
