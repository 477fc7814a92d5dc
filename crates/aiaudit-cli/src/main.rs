//! The `aiaudit` command.
#![allow(clippy::print_stdout)]

mod bench;
mod cli;
mod demo;
mod output;
mod proofs;
mod read;
mod write;

use clap::Parser;
use std::process::ExitCode;

use cli::{Cli, Command};

// The writer frees on its own thread what callers allocated on theirs; glibc's allocator
// serialises such cross-thread frees on an arena lock, mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Init { origin } => write::init(cli, origin.clone())?,
        Command::VerifierKey => read::verifier_key(cli)?,
        Command::Log(args) => write::log(cli, args)?,
        Command::Query(args) => read::query(cli, args)?,
        Command::Show { target, format } => read::show(cli, target, *format)?,
        Command::Tail {
            follow,
            lines,
            format,
        } => read::tail(cli, *follow, *lines, *format)?,
        Command::Verify { against, key } => {
            return proofs::verify(cli, against.as_deref(), key.clone());
        }
        Command::Checkpoint => read::checkpoint(cli)?,
        Command::Prove { seq, size } => proofs::prove(cli, *seq, *size)?,
        Command::ProveConsistency { old_size, new_size } => {
            proofs::prove_consistency(cli, *old_size, *new_size)?
        }
        Command::VerifyProof { proof_file, key } => return proofs::verify_proof(proof_file, key),
        Command::Demo { predictions } => demo::run(cli, *predictions)?,
        Command::Bench {
            events,
            dir,
            rounds,
        } => bench::run(*events, dir.as_deref(), *rounds as usize)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("aiaudit: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
