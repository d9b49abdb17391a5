//! `famille`: the core in a terminal, for newcomers and support agents. Everything it
//! shows comes from the same core the phones use (offline store, queue, sync).
//!
//! ```text
//! famille login parent@famille.example      # password asked, or FAMILLE_PASSWORD
//! famille sync
//! famille calendar Luc --month
//! famille reserve Elena <session-id>        # works offline; `famille sync` sends it
//! famille queue
//! ```

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use famille_core::views::{CellView, ChildView};
use famille_core::{Engine, Error, FileTokenStore};
use famille_model::booking::CellState;
use famille_model::queue::QueueState;

#[derive(Parser)]
#[command(
    name = "famille",
    version,
    about = "Portail Famille dans le terminal (le cœur des applications)"
)]
struct Cli {
    /// Dossier des données locales.
    #[arg(long, env = "FAMILLE_CORE_DATA", default_value = "./famille-data")]
    data: PathBuf,
    /// Adresse du serveur.
    #[arg(long, env = "FAMILLE_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Se connecter (mot de passe demandé, ou FAMILLE_PASSWORD).
    Login { email: String },
    /// Se déconnecter (efface les données locales).
    Logout,
    /// Envoyer les actions en attente puis recevoir les nouveautés.
    Sync,
    /// Les enfants du dossier.
    Children,
    /// Le calendrier d'un enfant (prénom ou identifiant), avec la légende du portail.
    Calendar {
        child: String,
        /// Premier jour (AAAA-MM-JJ), aujourd'hui par défaut.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Le mois entier (sinon la semaine).
        #[arg(long)]
        month: bool,
    },
    /// Réserver une journée (hors ligne possible).
    Reserve { child: String, session_id: String },
    /// Annuler une réservation.
    Cancel { reservation_id: String },
    /// S'inscrire en liste d'attente.
    Waitlist { child: String, session_id: String },
    /// Quitter la liste d'attente.
    Leave { reservation_id: String },
    /// Les actions en attente d'envoi, et celles refusées avec le motif du serveur.
    Queue,
    /// Retirer une action refusée de la liste.
    Dismiss { mutation_id: String },
    /// Le bandeau rouge.
    Alerts,
    /// Les documents déposés et leur état.
    Documents,
}

/// ANSI colours close to the portal's legend.
fn colour(state: CellState) -> &'static str {
    match state {
        CellState::Available => "\x1b[42;30m",
        CellState::Reserved => "\x1b[44;97m",
        CellState::ReservedLocked => "\x1b[34m",
        CellState::Late => "\x1b[45;97m",
        CellState::Cancelled => "\x1b[9;90m",
        CellState::Full => "\x1b[41;97m",
        CellState::Waitlisted => "\x1b[43;30m",
        CellState::PendingApproval => "\x1b[33m",
        CellState::Closed => "\x1b[90m",
        CellState::Blocked => "\x1b[31m",
    }
}

fn find_child(engine: &Engine, name: &str) -> Result<ChildView, Error> {
    let children = engine.children()?;
    children
        .iter()
        .find(|c| c.id == name || c.first_name.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            Error::invalid(format!(
                "enfant « {name} » inconnu (enfants : {}) ; lancez « famille sync » d'abord",
                children
                    .iter()
                    .map(|c| c.first_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn print_cell(c: &CellView, tty: bool) {
    let (on, off) = if tty {
        (colour(c.state), "\x1b[0m")
    } else {
        ("", "")
    };
    let mut extra = Vec::new();
    if c.pending {
        extra.push("en attente d'envoi".to_owned());
    }
    if let Some(r) = &c.reservation_id {
        extra.push(format!("réservation {r}"));
    }
    if !c.missing_documents.is_empty() {
        extra.push(format!("manque : {}", c.missing_documents.join(", ")));
    }
    println!(
        "    {on}{:<34}{off} {} — {} [{}]{}",
        c.state_label,
        c.activity,
        c.option,
        c.session_id,
        if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(" ; "))
        }
    );
}

async fn run(cli: Cli) -> Result<(), Error> {
    let tokens = FileTokenStore::new(cli.data.join("tokens.json"));
    std::fs::create_dir_all(&cli.data)?;
    let engine = Engine::open(&cli.data, &cli.server, tokens, None)?;
    let tty = std::io::stdout().is_terminal();
    match cli.command {
        Command::Login { email } => {
            let password = match std::env::var("FAMILLE_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprint!("Mot de passe : ");
                    std::io::stderr().flush().ok();
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).ok();
                    line.trim_end_matches(['\n', '\r']).to_owned()
                }
            };
            engine.login(&email, &password).await?;
            println!("Connecté. Lancez « famille sync ».");
        }
        Command::Logout => {
            engine.logout(None).await?;
            println!("Déconnecté ; données locales effacées.");
        }
        Command::Sync => {
            let r = engine.sync().await?;
            println!(
                "Envoyé : {} (acceptées {}, refusées {}) ; reçu : {} changements.",
                r.sent, r.applied, r.rejected, r.changes
            );
            if r.rejected > 0 {
                println!("Voir « famille queue » pour les motifs.");
            }
        }
        Command::Children => {
            for c in engine.children()? {
                println!(
                    "{} {} — né(e) le {} — {} [{}]",
                    c.first_name, c.last_name, c.birth_date, c.school_level, c.id
                );
            }
        }
        Command::Calendar { child, from, month } => {
            let child = find_child(&engine, &child)?;
            let today = famille_model::calendar::paris_date(Utc::now());
            let from = from.unwrap_or(if month {
                today.with_day(1).unwrap_or(today)
            } else {
                today
            });
            let to = if month {
                let next = if from.month() == 12 {
                    NaiveDate::from_ymd_opt(from.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(from.year(), from.month() + 1, 1)
                };
                next.map(|n| n - Duration::days(1)).unwrap_or(from)
            } else {
                from + Duration::days(6)
            };
            println!("Calendrier de {} du {from} au {to}", child.first_name);
            for day in engine.calendar(
                child.id.parse().map_err(|_| Error::invalid("enfant"))?,
                from,
                to,
                Utc::now(),
            )? {
                if day.cells.is_empty() {
                    continue;
                }
                println!("  {}", day.date);
                for c in &day.cells {
                    print_cell(c, tty);
                }
            }
        }
        Command::Reserve { child, session_id } => {
            let child = find_child(&engine, &child)?;
            let id = engine.reserve(&child.id, &session_id)?;
            println!("Réservation enregistrée ({id}) ; envoyée à la prochaine synchronisation.");
        }
        Command::Waitlist { child, session_id } => {
            let child = find_child(&engine, &child)?;
            let id = engine.join_waitlist(&child.id, &session_id)?;
            println!("Inscription en liste d'attente enregistrée ({id}).");
        }
        Command::Cancel { reservation_id } => {
            engine.cancel(&reservation_id)?;
            println!("Annulation enregistrée.");
        }
        Command::Leave { reservation_id } => {
            engine.leave_waitlist(&reservation_id)?;
            println!("Départ de la liste d'attente enregistré.");
        }
        Command::Queue => {
            let queue = engine.queue()?;
            if queue.is_empty() {
                println!("Aucune action en attente.");
            }
            for q in queue {
                let state = match q.state {
                    QueueState::Pending => "à envoyer",
                    QueueState::Applied if q.billed => "acceptée, FACTURÉE",
                    QueueState::Applied => "acceptée",
                    QueueState::Rejected => "REFUSÉE",
                };
                println!(
                    "{} {:<15} {state}{}",
                    q.id,
                    q.kind,
                    q.detail.map(|d| format!(" : {d}")).unwrap_or_default()
                );
            }
        }
        Command::Dismiss { mutation_id } => {
            if !engine.dismiss(&mutation_id)? {
                return Err(Error::invalid("aucune action refusée avec cet identifiant"));
            }
        }
        Command::Alerts => {
            let alerts = engine.alerts()?;
            if alerts.is_empty() {
                println!("Aucune alerte.");
            }
            for a in alerts {
                let (on, off) = if tty {
                    ("\x1b[41;97m", "\x1b[0m")
                } else {
                    ("", "")
                };
                println!(
                    "{on} ! {off} {}{}",
                    a.message,
                    if a.blocks.is_empty() {
                        String::new()
                    } else {
                        format!(" (bloque : {})", a.blocks.join(", "))
                    }
                );
            }
        }
        Command::Documents => {
            for d in engine.documents()? {
                println!("{} — {}", d.document_type, d.status_label);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("famille : {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::LoginExpired) => {
            eprintln!(
                "famille : session expirée ; reconnectez-vous avec « famille login <e-mail> »."
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("famille : {e}");
            ExitCode::FAILURE
        }
    }
}
