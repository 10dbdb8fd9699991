//! The command line: clap structs only. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::OutputFormat;
use crate::types::{DatasetRef, Date};

/// Track where AI training data came from and whether it was allowed to be used.
///
/// Exit status: 0 success or pass, 1 blocking findings (gate, verify), 2 usage or runtime
/// error.
#[derive(Debug, Parser)]
#[command(name = "provtrack", version, max_term_width = 100)]
pub struct Cli {
    /// The registry: a SQLite file path.
    #[arg(
        long,
        global = true,
        env = "PROVTRACK_REGISTRY",
        default_value = "provtrack.db"
    )]
    pub registry: String,

    /// Output format for results on stdout (tree, dot and mermaid are for `lineage`;
    /// spdx3 and cyclonedx for `export`).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print more detail on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Colour in tables.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Who is acting, for the event log (default: $USER).
    #[arg(long, global = true, env = "PROVTRACK_ACTOR")]
    pub actor: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the registry (`apply` and `scan` also create it; reading commands never do).
    Init,
    /// Upsert sources, licences, grants, training runs, applications and disclosures from a
    /// policy file, in one transaction.
    Apply {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Fingerprint every file of a dataset directory, attribute records to sources and
    /// register the dataset version.
    Scan(ScanArgs),
    /// Sources in the registry.
    Source {
        #[command(subcommand)]
        /// What to do.
        command: ListOnly,
    },
    /// Licences: the built-in catalogue and those declared by policy files.
    #[command(alias = "license")]
    Licence {
        #[command(subcommand)]
        /// What to do.
        command: ListOnly,
    },
    /// The registry as a whole.
    Registry {
        #[command(subcommand)]
        /// What to do.
        command: RegistryCommand,
    },
    /// Dataset versions in the registry.
    Dataset {
        #[command(subcommand)]
        /// What to do.
        command: DatasetCommand,
    },
    /// Record a training run.
    Train(TrainArgs),
    /// Findings: which trained datasets include content from sources lacking permission.
    Report(ReportArgs),
    /// Everything about one source's content: volume per period against caps, datasets,
    /// models, applications (undisclosed flagged), disclosures and findings.
    Audit(AuditArgs),
    /// The graph sources → datasets → models → applications around a source, dataset
    /// (NAME@VERSION), model, application or shard hash. `--format tree|dot|mermaid|json`.
    Lineage {
        /// What to start from.
        id: String,
        /// Walk towards sources (up), towards applications (down), or both.
        #[arg(long, value_enum, default_value_t = crate::lineage::Direction::Both)]
        direction: crate::lineage::Direction,
    },
    /// Pre-training check of a registered dataset for planned uses: exit 0 pass, 1 blocked,
    /// 2 error.
    Gate(GateArgs),
    /// Which registered dataset versions hold these items (a platform's own posts, as
    /// JSONL/CSV/Parquet records or a .txt list), and which models and applications used them.
    Match(MatchArgs),
    /// Check the event chain and the datasets' root hashes; with --path, re-hash a
    /// directory against a registered dataset; with --expect-head or --checkpoint, check
    /// that the chain still holds a head recorded earlier. Exit 1 on any mismatch.
    Verify(VerifyArgs),
    /// The append-only event log, oldest first; with --checkpoint, a signed checkpoint of
    /// its head instead.
    Log(LogArgs),
    /// Ed25519 keys that sign checkpoints (`log --checkpoint`), kept in files outside the
    /// registry.
    Key {
        #[command(subcommand)]
        /// What to do.
        command: KeyCommand,
    },
    /// A machine-readable provenance bill of materials of one dataset version:
    /// `--format spdx3` (SPDX 3.0 JSON-LD, Dataset profile) or `--format cyclonedx`
    /// (CycloneDX 1.6 JSON).
    Export {
        /// NAME@VERSION.
        dataset: DatasetRef,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Register what a Hugging Face dataset card (README.md YAML front matter) declares —
    /// licences as grants, the card's dataset as the source of the content — for a
    /// registered dataset version, in one transaction.
    ImportCard(ImportCardArgs),
    /// Write one self-contained HTML report for auditors: headline counts, findings,
    /// volume against caps per source, and the lineage graph.
    HtmlReport {
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the bundled sample scenario in a temporary registry and print its findings.
    Demo,
    /// Rights reservations (text-and-data-mining opt-outs) as dated evidence.
    Optout {
        #[command(subcommand)]
        /// What to do.
        command: OptoutCommand,
    },
    /// The EU AI Act public summary of a model's training content (the Commission's July
    /// 2025 template), filled from the registry: `--format md` (default), `json` or `html`.
    Summary(SummaryArgs),
    /// Build a synthetic registry for benchmarks (through the same registry calls as
    /// apply and scan).
    #[command(hide = true)]
    BenchRegistry {
        /// Sources.
        #[arg(long, default_value_t = 200)]
        sources: usize,
        /// Dataset versions.
        #[arg(long, default_value_t = 2000)]
        datasets: usize,
        /// Shards per dataset.
        #[arg(long, default_value_t = 500)]
        shards_per_dataset: usize,
        /// Training runs.
        #[arg(long, default_value_t = 500)]
        runs: usize,
        /// Extra gate events appended to the chain.
        #[arg(long, default_value_t = 0)]
        events: usize,
    },
}

/// Subcommands of `source` and `licence`.
#[derive(Debug, Subcommand)]
pub enum ListOnly {
    /// List them.
    List,
}

/// Subcommands of `dataset`.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// List dataset versions.
    List,
    /// One dataset version: root hash, parents, shards and per-source totals.
    Show {
        /// NAME@VERSION.
        dataset: DatasetRef,
    },
    /// Publish a version scanned in parts (`scan --partition K/N`): checks that all N parts
    /// are staged and consistent, then registers it with the root hash over every part.
    Seal {
        /// NAME@VERSION.
        dataset: DatasetRef,
    },
    /// Withdraw a version registered by mistake: it stays in `dataset list`, `dataset show`
    /// and the log, marked retracted, and leaves every count, cap and verdict. Refused for a
    /// version a training run, a disclosure or a derived version names.
    Retract {
        /// NAME@VERSION.
        dataset: DatasetRef,
        /// Why (kept in the registry and the event log).
        #[arg(long)]
        reason: String,
    },
}

/// Subcommands of `optout`.
#[derive(Debug, Subcommand)]
pub enum OptoutCommand {
    /// Record reservation evidence, in one transaction with its event: robots.txt
    /// snapshots (host and fetch date from `# host:` / `# fetched:` header lines or the
    /// flags), W3C TDMRep files (`*.json`, with --host and --fetched) and CSVs of
    /// host,path,date rows (`*.csv`).
    Import {
        /// The evidence files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The host a robots.txt or TDMRep file is about.
        #[arg(long)]
        host: Option<String>,
        /// The date a robots.txt or TDMRep file was fetched, YYYY-MM-DD.
        #[arg(long)]
        fetched: Option<Date>,
    },
    /// The recorded reservations, with what each covers for the policy's crawlers.
    List,
}

/// Arguments of `summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The model (a training run's model name).
    pub model: String,
    /// The template to fill.
    #[arg(long, value_enum)]
    pub template: SummaryTemplate,
}

/// Templates `summary` fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryTemplate {
    /// The EU AI Act (Art. 53(1)(d)) public summary of training content, July 2025.
    EuAiAct,
}

/// Subcommands of `key`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new Ed25519 private key to FILE (mode 0600) and its public key to FILE.pub.
    /// Never overwrites either; keep FILE outside the registry and give auditors FILE.pub.
    New {
        /// The private key file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only this dataset (needed with --path).
    #[arg(long)]
    pub dataset: Option<DatasetRef>,
    /// Re-hash this directory (or `s3://bucket/prefix`) and compare it with --dataset.
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// A chain head recorded earlier (64 hex digits, or a prefix of at least 8): exit 1
    /// unless it is an event of the intact chain (events after it deleted, or the chain
    /// rewritten, lose it).
    #[arg(long, value_name = "HASH", env = "PROVTRACK_EXPECT_HEAD")]
    pub expect_head: Option<String>,
    /// A signed checkpoint (`log --checkpoint`): exit 1 unless its signature holds and
    /// the chain still has its head at its sequence number. Needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub checkpoint: Option<PathBuf>,
    /// The public key file (`key new` writes FILE.pub) that checks --checkpoint.
    #[arg(long, value_name = "PUB", requires = "checkpoint")]
    pub key: Option<PathBuf>,
}

/// Arguments of `log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only the newest N events.
    #[arg(long, conflicts_with = "checkpoint")]
    pub limit: Option<u64>,
    /// Only the events about one dataset version: the scan or seal that registered it,
    /// every later scan or card import that changed its counts, `train` runs naming it,
    /// its retraction — when its findings changed, and why.
    #[arg(long, value_name = "D@V", conflicts_with = "checkpoint")]
    pub dataset: Option<DatasetRef>,
    /// Print a signed checkpoint of the chain head (JSON: seq, head, state_root, time,
    /// key_id, signature) instead of the log, whatever --format says. Needs --key.
    #[arg(long, requires = "key")]
    pub checkpoint: bool,
    /// The private key file (`key new --out FILE`) that signs the checkpoint.
    #[arg(long, value_name = "PRIV", requires = "checkpoint")]
    pub key: Option<PathBuf>,
}

/// Subcommands of `registry`.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Copy a whole registry into a new, empty one (SQLite file or postgres:// URL, either
    /// way), events and hashes byte-exact: `verify` passes on the copy with the same chain
    /// head. The source is only read.
    Copy {
        /// The registry to copy (path or URL).
        from: String,
        /// The new registry (path or URL); must hold nothing yet.
        to: String,
    },
}

/// Arguments of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The dataset directory, or `s3://bucket/prefix` (read in place; see README, "Object
    /// storage").
    pub dir: PathBuf,
    /// NAME@VERSION to register.
    #[arg(long)]
    pub dataset: DatasetRef,
    /// The org that collected and owns the dataset (or $PROVTRACK_ORG). Required: caps and
    /// grants bind an org, and a version without one could never be judged.
    #[arg(long, env = "PROVTRACK_ORG")]
    pub org: String,
    /// When the content was collected: YYYY-MM-DD, or `today` (UTC) said explicitly.
    /// Required: every grant and cap is judged on this date.
    #[arg(long, value_parser = parse_collected)]
    pub collected: Date,
    /// Declare content no record URL attributes as coming from this source (repeatable).
    #[arg(long = "source")]
    pub sources: Vec<String>,
    /// A dataset version this one was derived from (repeatable).
    #[arg(long)]
    pub derived_from: Vec<DatasetRef>,
    /// Scan only slice K of N of the tree (files chosen by a hash of their relative path),
    /// staged until `dataset seal NAME@VERSION` publishes all N parts as one version.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<crate::scan::Partition>,
    /// How to read DIR.
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How `scan` and `gate DIR` read a directory.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Dotted path of the record URL field (replaces url, meta.url, metadata.url, source_url).
    #[arg(long)]
    pub url_field: Vec<String>,
    /// Dotted path of the record text printed to recognise records without a URL (replaces
    /// text, content, caption, body, raw_content, selftext, document; repeatable).
    #[arg(long)]
    pub text_field: Vec<String>,
    /// Do not print records (faster; the version's records can then not be recognised
    /// after re-packing, nor found by `match`).
    #[arg(long, conflicts_with = "text_field")]
    pub no_prints: bool,
    /// Worker threads (default: one per core); for `s3://`, requests in flight (default:
    /// 16 per core, 16 to 64).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Leave out paths matching this glob, relative to DIR (repeatable): '*.tmp', 'cache/**'.
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Re-read every file even when size, mtime and inode say it is unchanged.
    #[arg(long)]
    pub rehash: bool,
    /// Follow symbolic links (loops are detected and listed as skipped).
    #[arg(long)]
    pub follow_links: bool,
    /// Record unreadable files and directories as skipped instead of failing.
    #[arg(long)]
    pub skip_unreadable: bool,
    /// The longest record kept in memory, in bytes; a longer line, CSV record or JSON
    /// element is counted as malformed and skipped.
    #[arg(long, default_value_t = crate::attribute::DEFAULT_MAX_RECORD_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_record_bytes: u64,
    /// How many times its own size a compressed shard may decompress to (at least 64 MiB);
    /// beyond it the shard's remainder is counted as unattributed, with a problem.
    #[arg(long, default_value_t = crate::attribute::DEFAULT_MAX_EXPANSION,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_expansion: u64,
}

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The model name.
    pub model: String,
    /// The org that trained it.
    #[arg(long)]
    pub org: String,
    /// Training date, YYYY-MM-DD.
    #[arg(long)]
    pub date: Date,
    /// Dataset versions trained on (repeatable).
    #[arg(long = "dataset", required = true)]
    pub datasets: Vec<DatasetRef>,
    /// Uses beyond ai-training (repeatable): commercial, research, ...
    #[arg(long = "use")]
    pub uses: Vec<String>,
}

/// Arguments of `gate`.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// A dataset directory (or `s3://bucket/prefix`) to check as it is (registered or not;
    /// nothing but the gate event is written).
    #[arg(conflicts_with = "dataset")]
    pub dir: Option<PathBuf>,
    /// The registered dataset the run would train on.
    #[arg(long)]
    pub dataset: Option<DatasetRef>,
    /// Planned uses besides ai-training (repeatable).
    #[arg(long = "use")]
    pub uses: Vec<String>,
    /// The training org.
    #[arg(long)]
    pub org: String,
    /// The planned training date (default: today, UTC).
    #[arg(long)]
    pub date: Option<Date>,
    /// Let content of unknown provenance through.
    #[arg(long)]
    pub allow_unknown: bool,
    /// Trust the scan state cache as `scan` does: a file whose size, mtime and inode are
    /// unchanged is not read at all. Faster, but a shard rewritten in place with its size
    /// and mtime kept passes as the registered bytes. By default every file is hashed.
    #[arg(long)]
    pub trust_cache: bool,
    /// Also write JUnit XML (one test case per source) to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// How to read DIR.
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Arguments of `import-card`.
#[derive(Debug, Args)]
pub struct ImportCardArgs {
    /// The dataset card: a README.md with YAML front matter (or the bare YAML).
    pub file: PathBuf,
    /// The registered dataset version the card describes.
    #[arg(long)]
    pub dataset: DatasetRef,
    /// The source the card's content is registered under (default: the dataset's name).
    #[arg(long)]
    pub source: Option<String>,
    /// First day the card's licences are granted from (default: the dataset's collection
    /// date).
    #[arg(long)]
    pub from: Option<Date>,
}

/// Arguments of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The source id.
    pub source: String,
    /// Only datasets owned by this org.
    #[arg(long)]
    pub org: Option<String>,
    /// Only datasets collected on or after this date.
    #[arg(long)]
    pub from: Option<Date>,
    /// Only datasets collected on or before this date.
    #[arg(long)]
    pub to: Option<Date>,
}

/// How `unspecified` is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Unspecified {
    /// A use the licence does not mention is a finding.
    Strict,
    /// A use the licence does not mention is permitted.
    Allow,
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Only this dataset version.
    #[arg(long)]
    pub dataset: Option<DatasetRef>,
    /// Only this use.
    #[arg(long = "use")]
    pub use_: Option<String>,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only this verdict (no-licence, use-denied, expired, ...).
    #[arg(long)]
    pub verdict: Option<String>,
    /// How uses a licence does not mention are judged.
    #[arg(long, value_enum, default_value_t = Unspecified::Strict)]
    pub unspecified: Unspecified,
}

/// `--collected`: a date, or the word `today` (UTC).
fn parse_collected(s: &str) -> Result<Date, String> {
    if s == "today" {
        Ok(Date::today())
    } else {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}

/// `provtrack match FILE...`.
#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Files of items: records of any format `scan` reads, or a .txt/.lst list (one text or
    /// URL per line).
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Compare by the records' normalised text, or by their URL.
    #[arg(long, value_enum, default_value_t = crate::membership::By::Text)]
    pub by: crate::membership::By,
    /// Dotted path of the items' text field (default: text, content, caption, body, …).
    #[arg(long)]
    pub text_field: Vec<String>,
    /// Dotted path of the items' URL field (default: url, meta.url, …).
    #[arg(long)]
    pub url_field: Vec<String>,
    /// List every found item (FILE#N and the versions holding it) instead of the versions.
    #[arg(long)]
    pub items: bool,
}
