//! The `aiaudit` command.

/// Writes a line to standard output, returning the error (a closed pipe, say) to the caller
/// instead of panicking as `println!` does.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// Like [`say!`] without the newline.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        write!(out, $($arg)*)?;
        out.flush()?;
    }};
}

mod age;
mod archive;
mod bench;
mod bench_archive;
mod bench_http;
mod bench_otlp;
mod bench_reports;
mod bench_scale;
mod bench_witness;
mod cli;
mod demo;
mod export;
mod keys;
mod migrate;
mod output;
mod proofs;
mod read;
mod redact;
mod report;
mod safe_text;
mod serve;
mod subjects;
mod witness;
mod write;

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
            raw_csv,
        } => read::tail(cli, *follow, *lines, *format, *raw_csv)?,
        Command::Verify { quick: true, .. } => return proofs::verify_quick(cli),
        Command::Verify {
            against,
            key,
            policy,
            archive,
            ..
        } => {
            return proofs::verify(
                cli,
                against.as_deref(),
                key.clone(),
                policy.as_deref(),
                *archive,
            );
        }
        Command::Archive {
            older_than,
            to,
            force,
        } => archive::run(cli, *older_than, to, force.as_deref())?,
        Command::DeleteArchives { older_than, force } => {
            archive::delete(cli, *older_than, force.as_deref())?
        }
        Command::Checkpoint => read::checkpoint(cli)?,
        Command::Migrate { to_v2: true, .. } => return migrate::upgrade(&cli.db),
        Command::Migrate {
            from: Some(from),
            to: Some(to),
            ..
        } => {
            return migrate::run(from, to, cli.signing_key.as_deref());
        }
        Command::Migrate { .. } => anyhow::bail!("migrate: give --from and --to, or --to-v2"),
        Command::Export {
            what: Some(cli::ExportWhat::Tiles { dir }),
            ..
        } => proofs::export_tiles(cli, dir)?,
        Command::Export { what: None, args } => export::run(cli, args)?,
        Command::Witness { cmd } => witness::run(cli, cmd)?,
        Command::Key { cmd } => keys::run(cli, cmd)?,
        Command::BenchWitness { logs, seconds } => bench_witness::run(*logs, *seconds)?,
        Command::Lineage {
            target,
            upstream,
            downstream,
            format,
            per_artifact,
            prove,
        } => proofs::lineage(
            cli,
            target,
            (*upstream, *downstream),
            *format,
            *per_artifact,
            prove.as_deref(),
        )?,
        Command::Prove {
            seq,
            size,
            checkpoint,
        } => proofs::prove(cli, *seq, *size, checkpoint.as_deref())?,
        Command::ProveConsistency { old_size, new_size } => {
            proofs::prove_consistency(cli, *old_size, *new_size)?
        }
        Command::VerifyProof {
            proof_file,
            key,
            policy,
        } => return proofs::verify_proof(proof_file, key, policy.as_deref()),
        Command::Redact { json, explain } => redact::run(cli, *json, *explain)?,
        Command::Forget { subject, reason } => subjects::forget(cli, subject, reason.as_deref())?,
        Command::Subject { id, format } => subjects::access(cli, id, *format)?,
        Command::Serve(args) => serve::serve(cli, args)?,
        Command::Report {
            kind,
            format,
            lang,
            output,
        } => report::run(cli, kind, *format, lang, output.as_deref())?,
        Command::BenchHttp(a) => {
            let o = bench_http::Options {
                batched_events: a.batched_events,
                rate: a.rate,
                seconds: a.seconds,
                queries: a.queries,
                connections: a.connections,
                query_connections: a.query_connections,
                otlp_spans: a.otlp_spans,
            };
            match a.witnesses {
                0 => bench_http::run(a.dir.as_deref(), &o)?,
                n => bench_http::witnessed(a.dir.as_deref(), &o, n)?,
            }
        }
        Command::BenchArchive { events, dir, runs } => {
            bench_archive::run(*events, dir.as_deref(), *runs as usize)?
        }
        Command::BenchReports { events, dir, runs } => {
            bench_reports::run(*events, dir.as_deref(), *runs as usize)?
        }
        Command::BenchScale {
            events,
            nats_events,
            pg,
            nats,
        } => bench_scale::run(*events, *nats_events, pg, nats)?,
        Command::Sinks { config, command } => serve::sinks(cli, config, command)?,
        Command::Token { config, command } => serve::token(cli, config.as_deref(), command)?,
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
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // A configuration file's `db` gives way only to a --db (or AIAUDIT_DB) actually given.
    cli.db_given = matches.value_source("db") != Some(clap::parser::ValueSource::DefaultValue);
    match run(&cli) {
        Ok(code) => code,
        // A reader that went away (`aiaudit query | head`) is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aiaudit: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: many errors already include their
/// source's text in their own (`{path}: {source}`), and a cause whose text the line already
/// holds is left out rather than repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let text = text.trim();
        // A driver's error often prefixes what the line already said (`Error code 11: database
        // disk image is malformed`): its last part decides.
        let last = text.rsplit(": ").next().unwrap_or(text);
        if text.is_empty() || line.contains(text) || line.contains(last) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line.replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
