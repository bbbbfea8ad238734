//! The `riptide` binary: parses the command line, then runs the chosen
//! action.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Riptide, a BMP collector.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode a raw BMP stream or a pcap capture and print one JSON object
    /// per BMP message on standard output.
    Decode {
        /// The file: a raw BMP byte stream, or a classic pcap whose TCP
        /// flows carry BMP.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("riptide: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Decode { file }) => {
            let data =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let stdout = std::io::stdout().lock();
            let mut out = BufWriter::new(stdout);
            let summary = riptide::decode::decode_file(&data, &mut out)?;
            out.flush()?;
            eprintln!("{summary}");
            Ok(if summary.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        None => {
            // The collector itself (issue 3) is not built yet: say so
            // rather than pretend to listen.
            eprintln!(
                "riptide: the collector is not available in this build yet; try `riptide decode FILE`"
            );
            Ok(ExitCode::from(2))
        }
    }
}
