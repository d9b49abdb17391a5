//! `famille-server`: `serve [--demo]` (default), `migrate`, `demo`, `staff add`.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use famille_model::api::NewStaffAccount;
use famille_model::dossier::Role;
use famille_server::{StartError, config::Config, demo};

#[derive(Parser)]
#[command(name = "famille-server", version, about = "Serveur du Portail Famille")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API (the default). Settings: see `server/src/config.rs` or the README.
    Serve {
        /// Loads the demo data if the database is empty and prints the demo logins.
        #[arg(long)]
        demo: bool,
    },
    /// Creates or upgrades the database schema, then exits.
    Migrate,
    /// Loads the demo data into an empty database, then exits.
    Demo,
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Creates an agent or admin. Without --password-stdin, a mail invites them to
    /// choose a password.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        #[arg(long, value_parser = ["agent", "admin"], default_value = "agent")]
        role: String,
        /// Reads the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("famille-server : {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), StartError> {
    let config = Config::load()?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => {
            let listen = config.listen;
            let state = famille_server::start(config).await?;
            if demo {
                load_demo(&state).await?;
            }
            if state.config.fcm_credentials.is_none() {
                tracing::warn!("push notifications are off: FAMILLE_FCM_CREDENTIALS is not set");
            }
            tracing::info!(database = state.db.backend_name(), mail = %state.mailer.describe(), "ready");
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: listen,
                    source,
                })?;
            println!(
                "Portail Famille à l'écoute sur http://{listen} (documentation : http://{listen}/api/v1/docs)"
            );
            famille_server::serve(state.clone(), listener)
                .await
                .map_err(|source| StartError::Listen {
                    addr: listen,
                    source,
                })?;
            state.db.close().await;
        }
        Command::Migrate => {
            let state = famille_server::start(config).await?;
            println!("Base de données à jour ({}).", state.db.backend_name());
        }
        Command::Demo => {
            let state = famille_server::start(config).await?;
            load_demo(&state).await?;
        }
        Command::Staff {
            command:
                StaffCommand::Add {
                    email,
                    first_name,
                    last_name,
                    role,
                    password_stdin,
                },
        } => {
            let state = famille_server::start(config).await?;
            let password = if password_stdin {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .map_err(|e| famille_server::error::AppError::Internal(e.to_string()))?;
                Some(buf.trim_end_matches(['\n', '\r']).to_owned())
            } else {
                None
            };
            let role = if role == "admin" {
                Role::Admin
            } else {
                Role::Agent
            };
            let new = NewStaffAccount {
                email,
                first_name,
                last_name,
                role,
            };
            let id = famille_server::accounts::create_staff(&state, &new, password.clone()).await?;
            println!("Compte {} créé ({id}).", role.label_fr());
            if password.is_none() {
                println!(
                    "Un e-mail l'invite à choisir son mot de passe ({}).",
                    state.mailer.describe()
                );
            }
        }
    }
    Ok(())
}

async fn load_demo(state: &famille_server::state::AppState) -> Result<(), StartError> {
    match demo::load(state).await? {
        demo::Loaded::Created => println!("Données de démonstration chargées."),
        demo::Loaded::AlreadyPopulated => {
            println!("La base contient déjà des comptes : démonstration non rechargée.")
        }
    }
    println!("{}", demo::logins_banner());
    Ok(())
}
