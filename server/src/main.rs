//! `famille-server`: `serve [--demo]` (default), `migrate`, `demo`, `staff add`,
//! `fcm-standin`, `api-particulier-standin` (`--demo`, `demo` and the stand-ins
//! come with the `dev-tools` feature, on by default).

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use famille_model::api::NewStaffAccount;
use famille_model::dossier::Role;
#[cfg(feature = "dev-tools")]
use famille_server::dev::demo;
use famille_server::{StartError, config::Config};

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
        #[cfg(feature = "dev-tools")]
        #[arg(long)]
        demo: bool,
    },
    /// Creates or upgrades the database schema, then exits.
    Migrate,
    /// Loads the demo data into an empty database, then exits.
    #[cfg(feature = "dev-tools")]
    Demo,
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Runs a local stand-in for FCM HTTP v1 (token exchange and messages:send) and
    /// writes the service-account file that points the server at it.
    #[cfg(feature = "dev-tools")]
    FcmStandin {
        #[arg(long, default_value = "127.0.0.1:9099")]
        listen: std::net::SocketAddr,
        /// Where to write the service-account JSON for FAMILLE_FCM_CREDENTIALS.
        #[arg(long, default_value = "./data/fcm-standin.json")]
        credentials: std::path::PathBuf,
    },
    /// Runs a local stand-in for API Particulier (the CAF/MSA quotient familial)
    /// with a few known allocataire files, and prints the settings that use it.
    #[cfg(feature = "dev-tools")]
    ApiParticulierStandin {
        #[arg(long, default_value = "127.0.0.1:9098")]
        listen: std::net::SocketAddr,
    },
    /// Runs a local stand-in for PayFiP (its SOAP service and a payment page where
    /// you choose paid, refused or abandoned), and prints the settings that use it.
    #[cfg(feature = "dev-tools")]
    PayfipStandin {
        #[arg(long, default_value = "127.0.0.1:9097")]
        listen: std::net::SocketAddr,
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
    #[cfg(feature = "dev-tools")]
    if let Some(Command::FcmStandin {
        listen,
        credentials,
    }) = &cli.command
    {
        return run_standin(*listen, credentials).await;
    }
    #[cfg(feature = "dev-tools")]
    if let Some(Command::ApiParticulierStandin { listen }) = &cli.command {
        return run_api_particulier_standin(*listen).await;
    }
    #[cfg(feature = "dev-tools")]
    if let Some(Command::PayfipStandin { listen }) = &cli.command {
        return run_payfip_standin(*listen).await;
    }
    let config = Config::load()?;
    let command = cli.command.unwrap_or(Command::Serve {
        #[cfg(feature = "dev-tools")]
        demo: false,
    });
    match command {
        Command::Serve {
            #[cfg(feature = "dev-tools")]
            demo,
        } => {
            let listen = config.listen;
            let state = famille_server::start(config).await?;
            #[cfg(feature = "dev-tools")]
            if demo {
                load_demo(&state).await?;
            }
            match &state.push {
                Some(fcm) => {
                    tracing::info!(project = fcm.project_id(), endpoint = %state.config.fcm_endpoint, "push notifications on (FCM HTTP v1)")
                }
                None => tracing::warn!(
                    "push notifications are off: FAMILLE_FCM_CREDENTIALS is not set; notices go by mail"
                ),
            }
            let dispatcher = famille_server::notifications::dispatcher::spawn(state.clone());
            let payments = famille_server::payments::spawn_checker(state.clone());
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
            // What is not sent yet stays in the outbox for the next start.
            dispatcher.abort();
            payments.abort();
            state.db.close().await;
        }
        Command::Migrate => {
            let state = famille_server::start(config).await?;
            println!("Base de données à jour ({}).", state.db.backend_name());
        }
        #[cfg(feature = "dev-tools")]
        Command::Demo => {
            let state = famille_server::start(config).await?;
            load_demo(&state).await?;
        }
        #[cfg(feature = "dev-tools")]
        Command::FcmStandin { .. }
        | Command::ApiParticulierStandin { .. }
        | Command::PayfipStandin { .. } => {
            unreachable!("handled before the configuration is read")
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

#[cfg(feature = "dev-tools")]
async fn run_standin(
    listen: std::net::SocketAddr,
    credentials: &std::path::Path,
) -> Result<(), StartError> {
    use famille_server::dev::fcm_standin::StandIn;
    let io = |e: std::io::Error| famille_server::error::AppError::Internal(e.to_string());
    let standin = StandIn::start(listen).await.map_err(io)?;
    if let Some(parent) = credentials.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let json = serde_json::to_string_pretty(standin.credentials())
        .map_err(|e| famille_server::error::AppError::Internal(e.to_string()))?;
    std::fs::write(credentials, json).map_err(io)?;
    println!("Remplaçant local de FCM à l'écoute sur {}", standin.url);
    println!("Lancez le serveur avec :");
    println!(
        "  FAMILLE_FCM_CREDENTIALS={} FAMILLE_FCM_ENDPOINT={} famille-server serve --demo",
        credentials.display(),
        standin.url
    );
    println!("Messages reçus : GET {}/_standin/messages", standin.url);
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

#[cfg(feature = "dev-tools")]
async fn run_api_particulier_standin(listen: std::net::SocketAddr) -> Result<(), StartError> {
    use famille_server::dev::api_particulier_standin::{DEMO_FILES, StandIn};
    let standin = StandIn::start(listen)
        .await
        .map_err(|e| famille_server::error::AppError::Internal(e.to_string()))?;
    println!(
        "Remplaçant local d'API Particulier à l'écoute sur {}",
        standin.url
    );
    println!("Lancez le serveur avec :");
    println!(
        "  FAMILLE_API_PARTICULIER_URL={} FAMILLE_API_PARTICULIER_TOKEN={} famille-server serve --demo",
        standin.url,
        standin.key()
    );
    println!("Dossiers connus (numéro d'allocataire, code postal, QF) :");
    for (number, postal_code, quotient) in DEMO_FILES {
        println!("  {number}  {postal_code}  {quotient}");
    }
    println!(
        "Pannes à la demande : POST {}/_standin/next {{\"answers\": [\"unavailable\"]}}",
        standin.url
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

#[cfg(feature = "dev-tools")]
async fn run_payfip_standin(listen: std::net::SocketAddr) -> Result<(), StartError> {
    use famille_server::dev::payfip_standin::StandIn;
    let standin = StandIn::start(listen)
        .await
        .map_err(|e| famille_server::error::AppError::Internal(e.to_string()))?;
    println!("Remplaçant local de PayFiP à l'écoute sur {}", standin.url);
    println!("Lancez le serveur avec :");
    println!(
        "  FAMILLE_PAYFIP_ENDPOINT={} FAMILLE_PAYFIP_PAGE_URL={} famille-server serve --demo",
        standin.endpoint(),
        standin.page_url()
    );
    println!(
        "Scénarios : POST {}/_standin/script {{\"notify\": [\"twice\"], \"calls\": [\"unavailable\"], \"paid_amount\": 100}}",
        standin.url
    );
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

#[cfg(feature = "dev-tools")]
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
